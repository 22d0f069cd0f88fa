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
    # libFuzzer exits at once on a corpus directory that does not exist, so
    # only those that do are named (a target may have no regressions yet).
    dirs=("$work")
    for d in "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    echo "== fuzz_$t for ${secs}s"
    log="build-fuzz/fuzz-$t.log"
    rc=0
    build-fuzz/tests/"fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$PWD/build-fuzz/crash-$t-" "${dirs[@]}" >"$log" 2>&1 || rc=$?
    grep -E "DONE|stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|property failed|SUMMARY" "$log" || true
    # A run that ended without libFuzzer's final statistics did not fuzz.
    if [ "$rc" -ne 0 ] || ! grep -q "stat::number_of_executed_units" "$log"; then
        tail -20 "$log" >&2
        echo "fuzz_$t failed (exit $rc; log $log)" >&2
        exit 1
    fi
done
