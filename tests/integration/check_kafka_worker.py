#!/usr/bin/env python3
"""Reads kafka_worker --mock's records from stdin: each must be one valid
JSON line, and each produced request's trace id must be the trace id of
exactly one "job received" record, with its own (new) span id."""
import json
import sys

recs = [json.loads(line) for line in sys.stdin]
reqs = [r for r in recs if r["msg"] == "request"]
jobs = [r for r in recs if r["msg"] == "job received"]
ok = len(reqs) == 3 and len(jobs) == 3
ok = ok and sorted(r["traceId"] for r in reqs) == sorted(j["traceId"] for j in jobs)
ok = ok and not {r["spanId"] for r in reqs} & {j["spanId"] for j in jobs}
ok = ok and all(j["messaging.system"] == "kafka" and j["messaging.destination.name"] == "orders"
                for j in jobs)
print("kafka_worker: trace ids carried" if ok else f"kafka_worker: MISMATCH {recs}")
sys.exit(0 if ok else 1)
