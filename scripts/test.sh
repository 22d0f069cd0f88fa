#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build with warnings as errors,
# run every test.
#   scripts/test.sh                      the normal build, in build/
#   scripts/test.sh --sanitize address,undefined   in build-address-undefined/
#   scripts/test.sh --sanitize thread    in build-thread/, the threaded tests
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
    sanitize="${2:?--sanitize needs a list, e.g. address,undefined}"
fi
scripts/deps.sh

dir=build
args=(-DSPANLOG_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
ctest_args=(--output-on-failure -j2)
if [ -n "$sanitize" ]; then
    dir="build-${sanitize//,/-}"
    args+=(-DSPANLOG_SANITIZE="$sanitize" -DSPANLOG_BUILD_BENCH=OFF)
    if [ "$sanitize" = "thread" ]; then
        ctest_args+=(-L threads)
        export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
    else
        export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1 ${ASAN_OPTIONS:-}"
        export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
    fi
fi
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest "${ctest_args[@]}"
