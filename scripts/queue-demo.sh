#!/usr/bin/env bash
# One trace across a queue: HTTP -> NATS -> worker, from the logs alone.
#   scripts/queue-demo.sh                 install what is missing, build, run
#   scripts/queue-demo.sh --bin-dir DIR   use binaries built in DIR (the test)
# Starts nats-server on a free loopback port, examples/queue_worker, and
# examples/http_service --nats; sends two requests (one with a traceparent
# of its own); prints every record; and checks that each request's trace id
# is the one the worker logged its job with. Exits 1 when one is not.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
if [ "${1:-}" = "--bin-dir" ]; then
    bin="${2:?--bin-dir needs a directory}"
else
    scripts/deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)" --target http_service queue_worker >/dev/null
    bin=build
fi
svc="$bin/examples/http_service" worker="$bin/examples/queue_worker"
[ -x "$svc" ] && [ -x "$worker" ] || { echo "queue-demo: build with libnats first" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
nats-server -a 127.0.0.1 -p "$port" >"$tmp/nats.log" 2>&1 &
pids+=($!)

# Polls (bounded) until the file holds the text.
wait_for() {
    for _ in $(seq 1 500); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    echo "queue-demo: timed out waiting for '$2' in $1" >&2
    cat "$1" >&2 || true
    exit 1
}
wait_for "$tmp/nats.log" "Server is ready"

"$worker" --nats "$url" --max-messages 2 --log-spans >"$tmp/worker.jsonl" &
wpid=$!
pids+=($wpid)
wait_for "$tmp/worker.jsonl" '"msg":"subscribed"'

"$svc" --port 0 --port-file "$tmp/port" --nats "$url" --max-requests 2 --log-spans \
    >"$tmp/service.jsonl" &
spid=$!
pids+=($spid)
wait_for "$tmp/port" '[0-9]'
http=$(cat "$tmp/port")

curl -sf -o /dev/null "http://127.0.0.1:$http/orders"
curl -sf -o /dev/null -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
    -H 'baggage: user=alice' -X POST -d '[]' "http://127.0.0.1:$http/orders"
wait "$spid"
wait "$wpid"

echo "== http_service"
cat "$tmp/service.jsonl"
echo "== queue_worker"
cat "$tmp/worker.jsonl"
python3 - "$tmp/service.jsonl" "$tmp/worker.jsonl" <<'PY'
import json, sys
svc = [json.loads(l) for l in open(sys.argv[1])]
wrk = [json.loads(l) for l in open(sys.argv[2])]
requests = {r["requestId"]: r["traceId"] for r in svc if r["msg"] == "request received"}
jobs = {r["requestId"]: r["traceId"] for r in wrk if r["msg"] == "job received"}
consumer = [r for r in wrk if r["msg"] == "span end" and r.get("span.kind") == "consumer"]
ok = len(requests) == 2 and requests == jobs and len(consumer) == 2
ok = ok and "4bf92f3577b34da6a3ce929d0e0e4736" in requests.values()
for rid, trace in requests.items():
    print(f"request {rid}: trace {trace} -> worker {jobs.get(rid, 'MISSING')}")
print("one trace per request across NATS" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
PY
