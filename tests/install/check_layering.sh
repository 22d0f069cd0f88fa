#!/usr/bin/env bash
# The core never reaches into an adapter: nothing under src/ includes a file
# under adapters/ or names an adapter's internal (sl__loki_*, sl__syslog_*,
# sl__otlp_*, sl__fd_*, sl__rotor*) or public (sl_loki_*, sl_syslog_*,
# sl_otlp_*, sl_fd_sink_*) functions, types or macros. Adapters register
# themselves (src/config.h); every dependency runs from an adapter down.
# Usage: check_layering.sh SOURCE_DIR
set -euo pipefail
src=${1:?source dir}/src
pattern='#[[:space:]]*include[[:space:]]*"adapters/|\bsl__(loki|syslog|otlp|fd|rotor)_?[a-z0-9_]*|\bSL__(LOKI|SYSLOG|OTLP|FD)_|\bsl_(loki|syslog|otlp|fd_sink|stdout_sink)_[a-z_]*'
# Comments may name them: strip /* ... */ first (one file at a time).
hits=""
while IFS= read -r -d '' f; do
    found=$(perl -0777 -pe 's{/\*.*?\*/}{}gs' "$f" | grep -nE "$pattern" || true)
    if [ -n "$found" ]; then
        hits+="${f#"$src"/}:"$'\n'"$found"$'\n'
    fi
done < <(find "$src" -name '*.[ch]' -print0)
if [ -n "$hits" ]; then
    echo "src/ reaches into adapters:" >&2
    echo "$hits" >&2
    exit 1
fi
echo "src/: no adapter included or named"
