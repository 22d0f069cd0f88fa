#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds a program
# against libspanlog-nats and libspanlog-kafka through their pkg-config
# files (which require spanlog.pc, libnats and rdkafka), then runs it.
set -euo pipefail
build=${1:?build dir} src=${2:?source dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libspanlog-nats.so' | head -n1)")
test -f "$libdir/libspanlog-kafka.so"
test -f "$tmp/prefix/include/spanlog/nats.h" && test -f "$tmp/prefix/include/spanlog/kafka.h"
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags spanlog-nats spanlog-kafka) \
    "$src/tests/install/messaging/consumer.c" -o "$tmp/consumer" \
    $(pkg-config --libs spanlog-nats spanlog-kafka)
LD_LIBRARY_PATH=$libdir "$tmp/consumer"
