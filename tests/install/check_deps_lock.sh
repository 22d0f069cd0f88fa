#!/usr/bin/env bash
# scripts/deps.sh waits for a held dpkg lock, with a bound: a stand-in lock
# file (DEPS_LOCK_FILES) held open by a helper process, as dpkg holds its own.
#   check_deps_lock.sh SRC_DIR
set -euo pipefail
src=${1:?source dir}
command -v fuser >/dev/null || { echo "fuser (psmisc) is required" >&2; exit 1; }
tmp=$(mktemp -d)
holder=""
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
lock=$tmp/lock
: >"$lock"

# Polls (every 50 ms, at most 10 s) until the file $1 contains $2.
wait_for() {
    for _ in $(seq 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "timed out waiting for '$2' in $1" >&2
    exit 1
}

# A process holding the lock open until killed; it says when it holds it.
hold() {
    bash -c 'exec 8<>"$1"; echo held >"$2"; exec sleep 600' _ "$lock" "$tmp/held" &
    holder=$!
    wait_for "$tmp/held" held
}

# 1. Held for longer than the bound: give up, say so, exit 1.
hold
if DEPS_LOCK_FILES=$lock DEPS_LOCK_TIMEOUT=2 bash "$src/scripts/deps.sh" --wait-lock \
    2>"$tmp/err1"; then
    echo "deps.sh did not fail on a lock held past its bound" >&2
    exit 1
fi
grep -q "deps: waiting for another apt/dpkg to finish" "$tmp/err1"
grep -q "deps: the dpkg lock is still held after 2s; giving up" "$tmp/err1"

# 2. Released while it waits: it goes on (exit 0).
DEPS_LOCK_FILES=$lock DEPS_LOCK_TIMEOUT=60 bash "$src/scripts/deps.sh" --wait-lock \
    2>"$tmp/err2" &
waiter=$!
wait_for "$tmp/err2" "waiting for another"
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=""
wait "$waiter"

# 3. Not held: no wait at all.
DEPS_LOCK_FILES=$lock bash "$src/scripts/deps.sh" --wait-lock 2>"$tmp/err3"
test ! -s "$tmp/err3"
echo "deps lock: gives up after its bound, goes on when released, no wait when free"
