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

# The version is defined once, in common.h.
ver() { sed -n "s/^#define SPANLOG_VERSION_$1 \([0-9]*\)$/\1/p" "$src/include/spanlog/common.h"; }
major=$(ver MAJOR) minor=$(ver MINOR) patch=$(ver PATCH)
version=$major.$minor.$patch
test -n "$major" -a -n "$minor" -a -n "$patch"

# 0.x: the soname carries the minor, so the dynamic linker refuses a library
# of another 0.MINOR; the symbols carry the matching version node.
soname=$(readelf -d "$libdir/libspanlog.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$major" = 0 ]; then want_so=libspanlog.so.0.$minor; else want_so=libspanlog.so.$major; fi
test "$soname" = "$want_so" || { echo "soname $soname, expected $want_so" >&2; exit 1; }
node=SPANLOG_${want_so#libspanlog.so.}
syms=$(readelf --dyn-syms -W "$libdir/libspanlog.so")
grep -q " sl_version@@$node\$" <<<"$syms" ||
    { echo "sl_version is not in version node $node" >&2; exit 1; }
# Nothing but sl_ symbols is exported (the version script's local: *).
others=$(awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $8 != "" {print $8}' <<<"$syms" | grep -v '^sl_' |
    grep -v "^$node\$" || true)
test -z "$others" || { echo "libspanlog.so exports more than sl_*: $others" >&2; exit 1; }

# The installed spanlog-pipe runs from this non-system prefix as it is: its
# RUNPATH finds the library next to it (no LD_LIBRARY_PATH).
dyn=$(readelf -d "$prefix/bin/spanlog-pipe")
grep -q 'RUNPATH.*\$ORIGIN/\.\./lib' <<<"$dyn" ||
    { echo "spanlog-pipe has no \$ORIGIN RUNPATH" >&2; exit 1; }
out=$(echo "from the prefix" | env -u LD_LIBRARY_PATH "$prefix/bin/spanlog-pipe")
echo "$out" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); assert r["msg"]=="from the prefix", r'

# The CMake package: this 0.MINOR is found, an older one is refused.
if [ "$major" = 0 ] && [ "$minor" -gt 0 ]; then
    if cmake -S "$here/consumer" -B "$tmp/oldbuild" -DCMAKE_PREFIX_PATH="$prefix" \
        -DSL_WANT_VERSION="0.$((minor - 1))" >/dev/null 2>&1; then
        echo "find_package(spanlog 0.$((minor - 1))) accepted $version" >&2
        exit 1
    fi
fi
cmake -S "$here/consumer" -B "$tmp/cbuild" -DCMAKE_PREFIX_PATH="$prefix" \
    -DSL_WANT_VERSION="$major.$minor" >/dev/null
cmake --build "$tmp/cbuild" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/cbuild/consumer" | python3 "$here/check_record.py" cmake-shared
"$tmp/cbuild/consumer_static" | python3 "$here/check_record.py" cmake-static
if ldd "$tmp/cbuild/consumer_static" | grep -q libspanlog; then
    echo "consumer_static links libspanlog dynamically" >&2
    exit 1
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
test "$(pkg-config --modversion spanlog)" = "$version"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags spanlog) \
    "$here/consumer/main.c" -o "$tmp/pc_consumer" $(pkg-config --libs spanlog)
LD_LIBRARY_PATH=$libdir "$tmp/pc_consumer" | python3 "$here/check_record.py" pkg-config
echo "install: 3 consumers built and checked; soname $soname; spanlog-pipe runs from the prefix"
