#!/usr/bin/env bash
# Fails when clang-format would change any C source or header.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format not installed" >&2; exit 1; }
files=$(git ls-files '*.c' '*.h')
clang-format --dry-run -Werror $files
echo "clang-format: $(echo "$files" | wc -l) files clean"
