#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a
# consumer against it three ways: CMake package (shared and static) and
# pkg-config. Each program's record is parsed and checked.
set -euo pipefail
build=${1:?build dir} src=${2:?source dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
here=$src/tests/install

cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/spanlog-pipe"
libdir=$(dirname "$(find "$prefix" -name 'libspanlog.so' | head -n1)")
test -n "$libdir"

cmake -S "$here/consumer" -B "$tmp/cbuild" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cbuild" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/cbuild/consumer" | python3 "$here/check_record.py" cmake-shared
"$tmp/cbuild/consumer_static" | python3 "$here/check_record.py" cmake-static
if ldd "$tmp/cbuild/consumer_static" | grep -q libspanlog; then
    echo "consumer_static links libspanlog dynamically" >&2
    exit 1
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
test "$(pkg-config --modversion spanlog)" = "$(sed -n 's/^project(spanlog VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags spanlog) \
    "$here/consumer/main.c" -o "$tmp/pc_consumer" $(pkg-config --libs spanlog)
LD_LIBRARY_PATH=$libdir "$tmp/pc_consumer" | python3 "$here/check_record.py" pkg-config
echo "install: 3 consumers built and checked"
