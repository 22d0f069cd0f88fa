#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz, docs/fuzzing.md).
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default: 30 s each, every target
# Builds build-fuzz/ with clang, ASan+UBSan and -DSPANLOG_FUZZ=ON; each target
# starts from its committed seed corpus and regression inputs and grows a
# working corpus in build-fuzz/corpus/<target>. A crash stops the run; its
# input is left as build-fuzz/crash-<target>-*; commit it, minimised, under
# tests/fuzz/regressions/<target>/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(traceparent tracestate baggage extract record syslog loki env otlp sink_uri)
scripts/deps.sh
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSPANLOG_FUZZ=ON \
    -DSPANLOG_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSPANLOG_BUILD_BENCH=OFF -DSPANLOG_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
for t in "${targets[@]}"; do
    work="build-fuzz/corpus/$t"
    mkdir -p "$work"
    echo "== fuzz_$t for ${secs}s"
    build-fuzz/tests/"fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$PWD/build-fuzz/crash-$t-" "$work" "tests/fuzz/corpus/$t" \
        "tests/fuzz/regressions/$t" 2>&1 |
        grep -E "DONE|stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|property failed|SUMMARY" || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz_$t failed" >&2; exit 1; }
done
