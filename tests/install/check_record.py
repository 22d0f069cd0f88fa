#!/usr/bin/env python3
"""Checks the one record the installed consumer writes (stdin), key by key."""
import json
import re
import sys

lines = sys.stdin.read().splitlines()
assert len(lines) == 1, f"expected one line, got {len(lines)}: {lines!r}"
rec = json.loads(lines[0])
keys = list(rec)
assert keys[:3] == ["time", "level", "msg"], keys
assert rec["level"] == "info" and rec["msg"] == "installed consumer", rec
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rec["time"]), rec["time"]
assert re.fullmatch(r"[0-9a-f]{32}", rec["traceId"]) and rec["traceId"] != "0" * 32, rec
assert re.fullmatch(r"[0-9a-f]{16}", rec["spanId"]) and rec["spanId"] != "0" * 16, rec
assert rec["correlationId"] == rec["traceId"][:8] + "-" + rec["spanId"][:8], rec
assert rec["answer"] == 42 and type(rec["answer"]) is int, rec
print("record ok:", sys.argv[1] if len(sys.argv) > 1 else "")
