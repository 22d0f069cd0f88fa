#!/usr/bin/env python3
"""Runs every benchmark implementation on every scenario (issue 2 section 12,
issue 6) and writes their raw JSON lines to docs/bench/results.jsonl.

Called by tests/bench/run.sh after the build; see docs/performance.md.

Every (bench, impl, threads) runs --repeat times in separate processes (so
peak RSS belongs to one scenario), interleaved across implementations so that
a noisy moment on a shared machine does not land on one implementation only.
results.jsonl keeps every line; report.py reports, per (bench, impl, threads),
each figure's median over the repetitions.

Before timing anything, one record of each implementation is parsed and
compared: the same set of keys and the same values, except `time` (spanlog,
spdlog and jansson write RFC 3339 with microseconds, pino epoch milliseconds)
and the ids themselves (random per process), for which the format and the
correlationId = traceId[:8] + "-" + spanId[:8] rule are checked instead.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PINO_DIR = os.path.join(ROOT, "tests", "bench", "pino")

# (bench, threads, [impls]) in the order they run. Within a repetition the
# implementations of a scenario run one after the other, and the repetitions
# repeat the whole matrix: A B A B, so a slow moment of the shared machine
# spreads over every implementation instead of landing on one.
FILE_IMPLS = ["spanlog", "spanlog-buffered", "spanlog-buffered-4k", "spanlog-async", "spdlog",
              "spdlog-async-block", "spdlog-async-overrun", "jansson", "pino", "pino-async"]
FILE_IMPLS_MANY = ["spanlog", "spanlog-buffered", "spanlog-async", "spdlog", "spdlog-async-block"]
MATRIX = [
    ("disabled", 1, ["spanlog", "spdlog", "pino"]),
    ("null", 1, ["spanlog", "spdlog", "spdlog-async-block", "spdlog-async-overrun", "jansson",
                 "pino", "zerolog"]),
    ("null", 2, ["spanlog", "spdlog", "spdlog-async-block", "spdlog-async-overrun", "jansson",
                 "pino"]),
    ("devnull", 1, ["spanlog", "spanlog-buffered", "spanlog-async", "spdlog", "jansson", "pino",
                    "pino-async"]),
    ("file", 1, FILE_IMPLS),
    ("file", 2, FILE_IMPLS),
    ("file", 4, FILE_IMPLS_MANY),
    ("file", 8, FILE_IMPLS_MANY),
]

# Instructions per record (callgrind: they do not move with the machine's
# load): the loop is run at N and 2N records, the difference over N is one
# record; the 2N run's profile gives the functions' shares.
INSTR_RECORDS = 20000

SAMPLE_IMPLS = ["spanlog", "spdlog", "jansson", "pino", "zerolog"]

LOKI_IMPLS = ["spanlog", "spanlog-nogzip", "pino-loki"]
LOKI_RECORDS = 100000


def node_ok():
    """pino 10's thread-stream and pino-loki 3 require Node.js 20 or later
    (Debian 12's own nodejs is 18: use NodeSource's, or skip the JS peers)."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        v = subprocess.run([node, "--version"], stdout=subprocess.PIPE, text=True,
                           check=False).stdout.strip().lstrip("v")
        return node if int(v.split(".")[0]) >= 20 else None
    except (OSError, ValueError):
        return None


def program(build, impl, bench=None):
    """The command that runs `impl`, or None when it was not built."""
    if bench == "loki":
        if impl.startswith("spanlog"):
            exe = os.path.join(build, "tests", "bench", "bench_cmp_spanlog_loki")
            return [exe] if os.access(exe, os.X_OK) else None
        node = node_ok()
        if node is None or not os.path.isdir(os.path.join(PINO_DIR, "node_modules",
                                                          "pino-loki")):
            return None
        return [node, os.path.join(PINO_DIR, "loki.js")]
    if impl.startswith("spanlog"):
        exe = os.path.join(build, "tests", "bench", "bench_cmp_spanlog")
    elif impl.startswith("spdlog"):
        exe = os.path.join(build, "tests", "bench", "bench_cmp_spdlog")
    elif impl == "jansson":
        exe = os.path.join(build, "tests", "bench", "bench_cmp_jansson")
    elif impl == "zerolog":
        exe = os.path.join(build, "tests", "bench", "bench_zerolog")
    elif impl.startswith("pino"):
        node = node_ok()
        if node is None or not os.path.isdir(os.path.join(PINO_DIR, "node_modules", "pino")):
            return None
        return [node, os.path.join(PINO_DIR, "bench.js")]
    else:
        return None
    return [exe] if os.access(exe, os.X_OK) else None


def run(cmd, timeout=120):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                  p.stderr.strip()[-500:]))
    if p.stderr.strip():
        sys.stderr.write(p.stderr)
    return p.stdout


# ---- the identical-record check ---------------------------------------------

EXPECTED = {"level": "info", "msg": "card charged", "service": "checkout", "cents": 1299,
            "route": "/pay", "ratio": 0.25, "retry": False}
RFC3339_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def check_record(impl, line):
    """Returns a list of problems with one implementation's record."""
    problems = []
    try:
        rec = json.loads(line)
    except ValueError as e:
        return ["not JSON (%s): %r" % (e, line[:200])]
    keys = set(EXPECTED) | {"time", "traceId", "spanId", "correlationId"}
    if set(rec) != keys:
        problems.append("keys differ: extra %s, missing %s" % (sorted(set(rec) - keys),
                                                              sorted(keys - set(rec))))
    for k, v in EXPECTED.items():
        if k in rec and (rec[k] != v or type(rec[k]) is not type(v)):
            problems.append("%s = %r, expected %r" % (k, rec.get(k), v))
    t = rec.get("time")
    if impl.startswith("pino"):
        if not isinstance(t, int) or abs(t / 1000 - time.time()) > 600:
            problems.append("time %r is not epoch milliseconds of now" % (t,))
    elif not isinstance(t, str) or not RFC3339_US.match(t):
        problems.append("time %r is not RFC 3339 UTC with microseconds" % (t,))
    tid, sid, cid = rec.get("traceId", ""), rec.get("spanId", ""), rec.get("correlationId", "")
    if not re.fullmatch(r"[0-9a-f]{32}", str(tid)) or not re.fullmatch(r"[0-9a-f]{16}", str(sid)):
        problems.append("bad ids %r %r" % (tid, sid))
    elif cid != tid[:8] + "-" + sid[:8]:
        problems.append("correlationId %r does not match the ids" % (cid,))
    return problems


def key_check(build):
    report = {}
    ok = True
    for impl in SAMPLE_IMPLS:
        cmd = program(build, impl)
        if cmd is None:
            report[impl] = {"skipped": "not built / not installed"}
            continue
        try:
            line = run(cmd + ["--impl", impl, "--bench", "sample"]).strip().splitlines()[-1]
            problems = check_record(impl, line)
        except (RuntimeError, IndexError, subprocess.TimeoutExpired) as e:
            line, problems = "", ["no sample line: %s" % str(e)[:200]]
        ok = ok and not problems
        report[impl] = {"line": line, "problems": problems}
        print("record check %-8s %s" % (impl, "ok" if not problems else "; ".join(problems)),
              flush=True)
    return ok, report


# ---- Loki: spanlog's sink and pino-loki into one receiver ---------------------

class Receiver:
    """bench_loki_recv on a loopback port it picks; it exits when our pipe
    to its stdin closes, so it never outlives the driver."""

    def __init__(self, build):
        exe = os.path.join(build, "tests", "bench", "bench_loki_recv")
        self.proc = subprocess.Popen([exe, "--lifetime", "900"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.url = "http://127.0.0.1:%d" % int(self.proc.stdout.readline())

    def call(self, method, path):
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def loki_runs(build, receiver, first, check):
    """One run of each Loki client; returns their lines, bytes filled in."""
    lines = []
    for impl in LOKI_IMPLS:
        cmd = program(build, impl, "loki")
        if cmd is None:
            continue
        receiver.call("POST", "/reset")
        out = run(cmd + ["--impl", impl, "--bench", "loki", "--url", receiver.url,
                         "--records", str(LOKI_RECORDS)])
        r = json.loads(out.strip().splitlines()[-1])
        st = receiver.call("GET", "/stats")
        if st["entries"] != LOKI_RECORDS or st["errors"] != 0:
            raise RuntimeError("%s: the receiver counted %d entries of %d, %d errors" % (
                impl, st["entries"], LOKI_RECORDS, st["errors"]))
        # Bytes on the wire: request line, headers and body, as the receiver saw them.
        r["bytes_per_record"] = round(st["wire_bytes"] / st["entries"], 1)
        if first:
            problems = check_record("pino" if impl == "pino-loki" else impl,
                                    st.get("sample_line") or "")
            check[impl] = {"line": st.get("sample_line"), "problems": problems,
                           "requests": st["requests"], "wire_bytes": st["wire_bytes"],
                           "decoded_bytes": st["decoded_bytes"], "streams": st["streams"],
                           "entries": st["entries"]}
            print("loki record check %-14s %s" % (
                impl, "ok" if not problems else "; ".join(problems)), flush=True)
        line = json.dumps(r, separators=(",", ":"))
        lines.append(line)
        if first:
            print(line, flush=True)
    return lines


# ---- instructions per record (callgrind) ----------------------------------------

def callgrind_total(cmd, out):
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600,
                       check=False)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode != 0 or m is None:
        raise RuntimeError("callgrind failed: " + p.stderr.strip()[-300:])
    return int(m.group(1))


def instructions(build, tmp):
    """{"bench":"instr",...}: spanlog's instructions per benchmark record and
    the functions that execute them (self cost, per record)."""
    exe = os.path.join(build, "tests", "bench", "bench_cmp_spanlog")
    if shutil.which("valgrind") is None or not os.access(exe, os.X_OK):
        return None
    n = INSTR_RECORDS
    base = [exe, "--impl", "spanlog", "--bench", "loop", "--records"]
    out1, out2 = os.path.join(tmp, "cg.1"), os.path.join(tmp, "cg.2")
    a = callgrind_total(base + [str(n)], out1)
    b = callgrind_total(base + [str(2 * n)], out2)
    funcs = []
    if shutil.which("callgrind_annotate"):
        p = subprocess.run(["callgrind_annotate", "--inclusive=no", out2],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           check=False)
        for line in p.stdout.splitlines():
            m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\S+?):(\S+)", line)
            if m and "PROGRAM TOTALS" not in line:
                ir = int(m.group(1).replace(",", "")) / (2 * n)
                if ir >= 5:
                    funcs.append({"file": os.path.basename(m.group(2)), "func": m.group(3),
                                  "instr": round(ir, 1)})
    for f in (out1, out2):
        if os.path.exists(f):
            os.unlink(f)
    return {"bench": "instr", "impl": "spanlog", "threads": 1,
            "instr_per_record": round((b - a) / n, 1), "functions": funcs[:16]}


# ---- the machine --------------------------------------------------------------

def first_line(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False).stdout
        return out.strip().splitlines()[0] if out.strip() else ""
    except OSError:
        return ""


def machine():
    lscpu = {}
    try:
        for line in subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True,
                                   check=False).stdout.splitlines():
            k, _, v = line.partition(":")
            lscpu[k.strip()] = v.strip()
    except OSError:
        pass
    pino_version = ""
    lock = os.path.join(PINO_DIR, "package-lock.json")
    if os.path.exists(lock):
        with open(lock, encoding="utf-8") as f:
            pino_version = json.load(f).get("packages", {}).get("node_modules/pino", {}).get(
                "version", "")
    return {
        "cpu": lscpu.get("Model name", platform.processor()),
        "cpus": lscpu.get("CPU(s)", str(os.cpu_count())),
        "threads_per_core": lscpu.get("Thread(s) per core", ""),
        "hypervisor": lscpu.get("Hypervisor vendor", ""),
        "kernel": platform.release(),
        "os": first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "cc": first_line(["cc", "--version"]),
        "cxx": first_line(["c++", "--version"]),
        "node": first_line(["node", "--version"]),
        "pino": pino_version,
        "spdlog": first_line(["dpkg-query", "-W", "-f=${Version}", "libspdlog-dev"]),
        "zerolog": first_line(["dpkg-query", "-W", "-f=${Version}",
                               "golang-github-rs-zerolog-dev"]),
        "go": first_line(["go", "version"]),
        "jansson": first_line(["pkg-config", "--modversion", "jansson"]),
        "spanlog_commit": first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": os.getloadavg()[0],
    }


# ---- the runs -----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="the CMake build directory")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "bench", "results.jsonl"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies each run's time budget and sample count")
    args = ap.parse_args()

    started = time.time()
    tmp = os.path.join(args.build, "bench-tmp")  # on disk, not tmpfs: the "file" scenarios
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    info = machine()
    ok, records = key_check(args.build)
    lines = []
    skipped = set()
    failures = []

    micro = os.path.join(args.build, "tests", "bench", "bench_spanlog_micro")
    receiver = None
    loki_check = {}
    if os.access(os.path.join(args.build, "tests", "bench", "bench_loki_recv"), os.X_OK):
        receiver = Receiver(args.build)
    try:
        ins = instructions(args.build, tmp)
        if ins is not None:
            line = json.dumps(ins, separators=(",", ":"))
            lines.append(line)
            print("callgrind: %.1f instructions per record" % ins["instr_per_record"],
                  flush=True)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        failures.append("callgrind: " + str(e)[:300])
    for rep in range(args.repeat):
        if receiver is not None:
            try:
                lines += loki_runs(args.build, receiver, rep == 0, loki_check)
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
                failures.append("loki: " + str(e)[:300])
                print("FAILED: loki: %s" % str(e)[:300], file=sys.stderr, flush=True)
        if os.access(micro, os.X_OK):
            try:
                out = run([micro, "--scale", str(args.scale)])
                lines += [l for l in out.splitlines() if l.startswith("{")]
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                failures.append(str(e)[:300])
                print("FAILED: %s" % str(e)[:300], file=sys.stderr, flush=True)
        for bench, threads, impls in MATRIX:
            for impl in impls:
                cmd = program(args.build, impl)
                if cmd is None:
                    skipped.add(impl)
                    continue
                try:
                    out = run(cmd + ["--impl", impl, "--bench", bench, "--threads",
                                     str(threads), "--dir", tmp, "--scale", str(args.scale)])
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    # One peer failing must not lose the others' figures.
                    failures.append(str(e)[:300])
                    print("FAILED: %s" % str(e)[:300], file=sys.stderr, flush=True)
                    continue
                for l in out.splitlines():
                    if l.startswith("{"):
                        lines.append(l)
                        if rep == 0:
                            print(l, flush=True)
        print("repetition %d of %d done (%.0f s)" % (rep + 1, args.repeat, time.time() - started),
              flush=True)

    if receiver is not None:
        receiver.close()
    with open(args.out, "w", encoding="utf-8") as f:
        for l in lines:
            json.loads(l)  # every line must be JSON
            f.write(l + "\n")
    info["duration_s"] = round(time.time() - started)
    info["repeat"] = args.repeat
    info["scale"] = args.scale
    info["skipped"] = sorted(skipped)
    info["failures"] = failures
    info["record_check"] = records
    info["record_check_ok"] = ok and all(not c["problems"] for c in loki_check.values())
    info["loki_check"] = loki_check
    info["loki_records"] = LOKI_RECORDS
    with open(os.path.join(os.path.dirname(args.out), "machine.json"), "w",
              encoding="utf-8") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d lines to %s in %d s" % (len(lines), args.out, info["duration_s"]))
    if skipped:
        print("skipped (not built or not installed): " + ", ".join(sorted(skipped)))
    if failures:
        print("%d run(s) FAILED; see machine.json" % len(failures), file=sys.stderr)
        return 1
    if not ok:
        print("RECORD CHECK FAILED: the implementations do not write the same record",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
