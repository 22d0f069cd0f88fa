#!/usr/bin/env bash
# Builds tests/cpp/test_cpp.cpp with every C++ compiler given, at -std=c++17
# and -std=c++20 with -Wall -Wextra -Wpedantic -Werror, against the shared
# library in BUILD_DIR, and runs each binary.
#   run.sh SRC_DIR BUILD_DIR LIBSPANLOG "SANITIZE_FLAGS" CXX...
set -euo pipefail
src=${1:?source dir} build=${2:?build dir} lib=${3:?libspanlog.so} san=${4-}
shift 4
[ $# -gt 0 ] || { echo "run.sh: no C++ compiler given" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
libdir=$(dirname "$lib")
# shellcheck disable=SC2046,SC2086
deps=$(pkg-config --cflags --libs jansson cmocka)
# The C tests' capture helpers, compiled as C: the same parser and checks.
# shellcheck disable=SC2086
"${CC:-cc}" -std=c11 -D_GNU_SOURCE $san -I"$src/include" -I"$build/include" -I"$src/tests" $(pkg-config --cflags jansson cmocka) \
    -c "$src/tests/unit/core_capture.c" -o "$tmp/core_capture.o"
n=0
for cxx in "$@"; do
    for std in c++17 c++20; do
        out="$tmp/test_cpp_$(basename "$cxx")_$std"
        # shellcheck disable=SC2086
        "$cxx" -std="$std" -Wall -Wextra -Wpedantic -Werror $san -I"$src/include" -I"$build/include" \
            -fmacro-prefix-map="$src/"= \
            -I"$src/tests" "$src/tests/cpp/test_cpp.cpp" "$tmp/core_capture.o" -o "$out" \
            -L"$libdir" -lspanlog -Wl,-rpath,"$libdir" $deps -pthread
        echo "== $(basename "$cxx") -std=$std"
        "$out"
        n=$((n + 1))
    done
done
echo "cpp: $n builds ran"
