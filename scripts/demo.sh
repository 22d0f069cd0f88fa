#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, run the quickstart example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target quickstart >/dev/null
exec ./build/examples/quickstart
