#!/bin/sh
# tests/bench/run.sh - the one command behind docs/performance.md.
#
# Builds the benchmark programs (Release-like: RelWithDebInfo, -O2 -g, so
# perf can read symbols) in build-bench/, installs pino from the committed
# lock file (npm ci, into tests/bench/pino/node_modules) when it is missing,
# runs every implementation on every scenario (tests/bench/driver.py), writes
# docs/bench/results.jsonl and docs/bench/machine.json, then regenerates the
# tables of docs/performance.md and docs/performance.png (tests/bench/report.py).
#
#   tests/bench/run.sh [--repeat N] [--scale X]     (driver options)
#
# Environment: SPANLOG_BENCH_BUILD overrides the build directory.
# Takes about 3 minutes on a 2-core machine; needs cmake, a C compiler,
# libjansson-dev and python3; optional: a C++ compiler and libspdlog-dev (the
# spdlog peer), node+npm (pino, pino-loki), libmicrohttpd-dev (the Loki
# comparison's receiver), gnuplot (the plot), golang-go and
# golang-github-rs-zerolog-dev (the zerolog peer), valgrind (instructions per
# record).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SPANLOG_BENCH_BUILD:-$root/build-bench}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPANLOG_BUILD_TESTS=OFF \
      -DSPANLOG_BUILD_EXAMPLES=OFF -DSPANLOG_BUILD_BENCH=ON >/dev/null
targets="bench_cmp_spanlog bench_spanlog_micro bench_cmp_jansson"
# Optional programs are configured only when their dependencies exist (C++
# and spdlog; libmicrohttpd and the Loki adapter).
help=$(cmake --build "$build" --target help)
for t in bench_cmp_spdlog bench_loki_recv bench_cmp_spanlog_loki; do
    if printf '%s\n' "$help" | grep -q "$t"; then
        targets="$targets $t"
    fi
done
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets

# zerolog (Go), built offline against Debian's golang-github-rs-zerolog-dev
# (scripts/deps.sh --bench): no module download, GOPATH is Debian's tree.
if command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/github.com/rs/zerolog ]; then
    (cd "$root/tests/bench/zerolog" &&
     GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$build/go-cache" \
         go build -o "$build/tests/bench/bench_zerolog" .)
fi

# pino 10 and pino-loki 3 need Node.js 20 or later (Debian 12 ships 18; the
# driver then skips the JavaScript peers and says so in the report).
pino="$root/tests/bench/pino"
if command -v npm >/dev/null 2>&1 &&
   node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null &&
   { [ ! -d "$pino/node_modules/pino" ] || [ ! -d "$pino/node_modules/pino-loki" ]; }; then
    (cd "$pino" && npm ci --no-audit --no-fund --loglevel=error)
fi

python3 "$root/tests/bench/driver.py" --build "$build" "$@"
python3 "$root/tests/bench/report.py" "$root/docs/bench/results.jsonl"
