#!/usr/bin/env python3
"""Self-test of loki_receiver.py: drives it over real loopback HTTP.

The receiver is the strict peer that proves the Loki sink right, so each of
its rules is checked here from the outside: what is stored, what status and
text come back, what the counters and the request log say.

Run: python3 loki_receiver_selftest.py   (ctest runs it as loki_receiver_selftest)
"""

import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER = os.path.join(HERE, "loki_receiver.py")

NS = 10**9
HOUR = 3600 * NS
DAY = 24 * HOUR


def wait_for(predicate, timeout=10.0, what="condition"):
    """Poll a condition until a deadline; fail the test when it never holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(0.02)


class Receiver:
    """One receiver process on a free loopback port."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="lokirecv-")
        self.port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                RECEIVER,
                "--port-file",
                self.port_file,
                "--parent-pid",
                str(os.getpid()),
                "--lifetime",
                "600",
                *extra,
            ]
        )

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("receiver exited with %s" % self.proc.returncode)
            try:
                with open(self.port_file) as f:
                    return f.read()
            except FileNotFoundError:
                return None

        self.port_text = wait_for(ready, 20, "the port file")
        self.port = int(self.port_text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- HTTP helpers -----------------------------------------------------

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def push(self, body, ctype="application/json", encoding=None, headers=None, conn=None,
             compress=None):
        """POST a push. body: an object (JSON-encoded, then gzipped when encoding is
        gzip) or bytes (sent as given unless compress=True). -> (status, response, text)"""
        if compress is None:
            compress = encoding == "gzip" and not isinstance(body, (bytes, bytearray))
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode("utf-8")
        if compress:
            body = gzip.compress(body)
        hdrs = {}
        if ctype is not None:
            hdrs["Content-Type"] = ctype
        if encoding is not None:
            hdrs["Content-Encoding"] = encoding
        hdrs.update(headers or {})
        own = conn is None
        c = self.conn() if own else conn
        try:
            c.request("POST", "/loki/api/v1/push", body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, r, data.decode("utf-8")
        finally:
            if own:
                c.close()

    def control(self, method, path, obj=None):
        data = None if obj is None else json.dumps(obj).encode("utf-8")
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path), data=data, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8")

    def faults(self, **kw):
        status, body = self.control("POST", "/control/faults", kw)
        assert status == 200, (status, body)
        return body

    def entries(self):
        status, body = self.control("GET", "/control/entries")
        assert status == 200, (status, body)
        return body

    def stored(self):
        """{sorted label tuple: [(ts, line, metadata), ...]}"""
        out = {}
        for s in self.entries()["streams"]:
            key = tuple(sorted(s["labels"].items()))
            out[key] = [(e["ts"], e["line"], e["metadata"]) for e in s["entries"]]
        return out

    def counters(self):
        return self.entries()["counters"]


def now():
    return time.time_ns()


def body(*streams):
    return {"streams": list(streams)}


def stream(labels, *values):
    return {"stream": labels, "values": [list(v) for v in values]}


def key(**labels):
    return tuple(sorted(labels.items()))


class ReceiverCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.r.stop()

    def setUp(self):
        status, _ = self.r.control("POST", "/control/reset", {})
        self.assertEqual(status, 200)

    def assertPush(self, expect, payload, **kw):
        status, resp, text = self.r.push(payload, **kw)
        self.assertEqual(status, expect, "answer text: %r" % text)
        return resp, text


class GoodPushes(ReceiverCase):
    def test_good_push_is_stored_exactly(self):
        t = now()
        payload = body(
            stream(
                {"service_name": "api", "env": "test"},
                (str(t), '{"msg":"one","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}',
                 {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}),
                (str(t + 1), "two \u00e9\u20ac\U0001f600 \"quoted\" \\ back"),
                (str(t + 2), "", {}),
            ),
            stream({"service_name": "worker"}, (str(t), "w")),
        )
        resp, text = self.assertPush(204, payload)
        self.assertEqual(text, "")
        self.assertIsNone(resp.getheader("Content-Length"))
        got = self.r.stored()
        self.assertEqual(
            got[key(service_name="api", env="test")],
            [
                (str(t), '{"msg":"one","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}',
                 {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}),
                (str(t + 1), "two \u00e9\u20ac\U0001f600 \"quoted\" \\ back", None),
                (str(t + 2), "", {}),
            ],
        )
        self.assertEqual(got[key(service_name="worker")], [(str(t), "w", None)])
        c = self.r.counters()
        self.assertEqual(c, {"accepted": 4, "rejected_entries": 0, "duplicates_dropped": 0, "pushes": 1})

    def test_stream_identity_is_the_sorted_label_set(self):
        t = now()
        self.assertPush(204, body(stream({"a": "1", "b": "2"}, (str(t), "x"))))
        self.assertPush(204, body(stream({"b": "2", "a": "1"}, (str(t + 1), "y"))))
        got = self.r.stored()
        self.assertEqual(list(got), [key(a="1", b="2")])
        self.assertEqual([e[1] for e in got[key(a="1", b="2")]], ["x", "y"])

    def test_valid_label_names_and_limits(self):
        t = now()
        fifteen = {"l%02d" % i: "v" for i in range(15)}
        cases = [
            {":a": "x"},
            {"_x": "y"},
            {"a:b_9Z": "z"},
            fifteen,
            {"n" * 1024: "x"},
            {"v": "x" * 2048},
            {"u": "\u00e9\u20ac"},
        ]
        for i, labels in enumerate(cases):
            with self.subTest(labels=list(labels)[:2]):
                self.assertPush(204, body(stream(labels, (str(t + i), "ok"))))
                self.assertIn(tuple(sorted(labels.items())), self.r.stored())

    def test_keep_alive_serves_several_pushes(self):
        c = self.r.conn()
        t = now()
        for i in range(3):
            status, _, text = self.r.push(body(stream({"a": "b"}, (str(t + i), str(i)))), conn=c)
            self.assertEqual(status, 204, text)
        c.close()
        self.assertEqual([e[1] for e in self.r.stored()[key(a="b")]], ["0", "1", "2"])

    def test_chunked_body(self):
        t = now()
        raw = json.dumps(body(stream({"a": "b"}, (str(t), "chunked")))).encode()
        c = self.r.conn()
        c.request(
            "POST",
            "/loki/api/v1/push",
            body=iter([raw[:10], raw[10:]]),
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 204)
        self.assertEqual(self.r.stored()[key(a="b")], [(str(t), "chunked", None)])

    def test_expect_100_continue(self):
        t = now()
        raw = json.dumps(body(stream({"a": "b"}, (str(t), "expect")))).encode()
        s = socket.create_connection(("127.0.0.1", self.r.port), timeout=10)
        s.sendall(
            b"POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(raw)
        )
        first = s.recv(4096)
        self.assertTrue(first.startswith(b"HTTP/1.1 100"), first)
        s.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        s.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 204"), answer)
        self.assertEqual(self.r.stored()[key(a="b")], [(str(t), "expect", None)])

    def test_concurrent_pushes_all_stored_in_order(self):
        t = now()
        errors = []

        def worker(n):
            try:
                for i in range(40):
                    status, _, text = self.r.push(
                        body(stream({"w": str(n)}, (str(t + i), "line %d" % i)))
                    )
                    if status != 204:
                        errors.append((n, i, status, text))
            except Exception as e:  # reported below, in the test thread
                errors.append((n, repr(e)))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        got = self.r.stored()
        for n in range(6):
            self.assertEqual([e[1] for e in got[key(w=str(n))]], ["line %d" % i for i in range(40)])
        c = self.r.counters()
        self.assertEqual((c["accepted"], c["pushes"]), (240, 240))


class ContentTypeAndEncoding(ReceiverCase):
    def payload(self, line="x"):
        return body(stream({"a": "b"}, (str(now()), line)))

    def test_content_types(self):
        cases = [
            (None, 400, "no media type"),
            ("text/plain", 400, "protobuf"),
            ("application/x-protobuf", 400, "protobuf"),
            ("application/jsonx", 400, "protobuf"),
            ("application/json; charset", 400, "invalid media type"),
            ("application/json", 204, None),
            ("application/json; charset=utf-8", 204, None),
            ("Application/JSON", 204, None),
            ("application/json;", 204, None),
        ]
        for ctype, status, text in cases:
            with self.subTest(ctype=ctype):
                before = len(self.r.stored().get(key(a="b"), []))
                _, got = self.assertPush(status, self.payload(), ctype=ctype)
                after = len(self.r.stored().get(key(a="b"), []))
                if text:
                    self.assertIn(text, got)
                    self.assertEqual(after, before)
                else:
                    self.assertEqual(after, before + 1)

    def test_gzip_is_decoded_and_logged(self):
        p = self.payload("compressed")
        raw = json.dumps(p).encode()
        self.assertPush(204, p, encoding="gzip")
        e = self.r.entries()
        self.assertEqual(e["streams"][0]["entries"][0]["line"], "compressed")
        req = e["requests"][-1]
        self.assertEqual(req["encoding"], "gzip")
        self.assertEqual(req["bytes"], len(gzip.compress(raw)))
        self.assertEqual(req["decoded_bytes"], len(raw))
        self.assertEqual(req["status"], 204)

    def test_gzip_members_concatenated(self):
        raw = json.dumps(self.payload("two members")).encode()
        wire = gzip.compress(raw[:7]) + gzip.compress(raw[7:])
        self.assertPush(204, wire, encoding="gzip")
        self.assertEqual(self.r.stored()[key(a="b")][0][1], "two members")

    def test_deflate(self):
        raw = json.dumps(self.payload("deflated")).encode()
        co = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        self.assertPush(204, co.compress(raw) + co.flush(), encoding="deflate")
        self.assertEqual(self.r.stored()[key(a="b")][0][1], "deflated")

    def test_bad_encodings(self):
        raw = json.dumps(self.payload()).encode()
        good = gzip.compress(raw)
        cases = [
            ("gzip", b"\x1f\x8b\x08\x00garbage-not-deflate-data", "corrupt"),
            ("gzip", b"not gzip at all", "corrupt"),
            ("gzip", raw, "corrupt"),
            ("gzip", good[: len(good) // 2], "truncated"),
            ("gzip", good + b"trailing junk", "corrupt"),
            ("br", raw, "not supported"),
            ("identity", raw, "not supported"),
        ]
        for enc, wire, text in cases:
            with self.subTest(enc=enc, text=text, n=len(wire)):
                _, got = self.assertPush(400, wire, encoding=enc)
                self.assertIn(text, got)
        self.assertEqual(self.r.stored(), {})

    def exact_size_body(self, size):
        """A valid push whose JSON is exactly `size` bytes (padded with spaces)."""
        t = now()
        values = [(str(t + i), "x" * 200000) for i in range(20)]
        raw = json.dumps(body(stream({"a": "big"}, *values))).encode()
        self.assertLess(len(raw), size)
        return raw + b" " * (size - len(raw))

    def test_decoded_size_limit(self):
        at = self.exact_size_body(4194304)
        self.assertPush(204, at)
        self.assertEqual(len(self.r.stored()[key(a="big")]), 20)
        self.r.control("POST", "/control/reset", {})
        for enc in (None, "gzip"):
            with self.subTest(encoding=enc):
                _, text = self.assertPush(500, self.exact_size_body(4194305), encoding=enc,
                                              compress=enc == "gzip")
                self.assertIn("exceeds the limit", text)
                self.assertEqual(self.r.stored(), {})
        self.assertEqual(self.r.entries()["requests"][-1]["decoded_bytes"], 4194305)


def bad_shapes(t):
    """(name, body) pairs the JSON decoder refuses: 400, nothing stored."""
    ok = {"stream": {"svc": "good"}, "values": [[t, "good"]]}

    def with_ok(*streams):
        return {"streams": [ok, *streams]}

    def entry(*e):
        return with_ok({"stream": {"a": "b"}, "values": [list(e)]})

    okj = json.dumps(ok)
    return [
        ("not json", b"{"),
        ("empty body", b""),
        ("top array", b"[]"),
        ("top string", b'"streams"'),
        ("streams missing", {}),
        ("streams object", {"streams": {}}),
        ("streams null", {"streams": None}),
        ("stream not object", with_ok([])),
        ("stream key missing", with_ok({"values": [[t, "x"]]})),
        ("labels string", with_ok({"stream": '{a="b"}', "values": [[t, "x"]]})),
        ("label value number", with_ok({"stream": {"a": 1}, "values": [[t, "x"]]})),
        ("label value null", with_ok({"stream": {"a": None}, "values": [[t, "x"]]})),
        ("label value object", with_ok({"stream": {"a": {}}, "values": [[t, "x"]]})),
        ("values missing", with_ok({"stream": {"a": "b"}})),
        ("values object", with_ok({"stream": {"a": "b"}, "values": {}})),
        ("entry string", with_ok({"stream": {"a": "b"}, "values": ["x"]})),
        ("entry one element", entry(t)),
        ("entry four elements", entry(t, "x", {}, "y")),
        ("entry empty", entry()),
        ("ts number", entry(int(t), "x")),
        ("ts float", entry(float(t), "x")),
        ("ts letters", entry(t + "a", "x")),
        ("ts empty", entry("", "x")),
        ("ts negative", entry("-" + t, "x")),
        ("ts plus", entry("+" + t, "x")),
        ("ts decimal", entry(t + ".5", "x")),
        ("ts space", entry(" " + t, "x")),
        ("ts arabic digits", entry("\u0661\u0662\u0663", "x")),
        ("ts overflows int64", entry("9223372036854775808", "x")),
        ("line number", entry(t, 5)),
        ("line null", entry(t, None)),
        ("line object", entry(t, {"msg": "x"})),
        ("metadata string", entry(t, "x", "trace_id=1")),
        ("metadata array", entry(t, "x", [["trace_id", "1"]])),
        ("metadata null", entry(t, "x", None)),
        ("metadata number value", entry(t, "x", {"trace_id": 1})),
        ("metadata nested", entry(t, "x", {"trace": {"id": "1"}})),
        ("NaN", ('{"streams":[%s,{"stream":{"a":"b"},"values":[["%s","x",{"k":NaN}]]}]}' % (okj, t)).encode()),
        ("invalid UTF-8", ('{"streams":[%s,{"stream":{"a":"b"},"values":[["%s","x\xff"]]}]}' % (okj, t)).encode("latin-1")),
        ("lone surrogate", ('{"streams":[%s,{"stream":{"a":"b"},"values":[["%s","x\\ud800"]]}]}' % (okj, t)).encode()),
        ("lone surrogate label", ('{"streams":[%s,{"stream":{"a":"\\udc00"},"values":[["%s","x"]]}]}' % (okj, t)).encode()),
    ]


class Shapes(ReceiverCase):
    def test_malformed_shapes_rejected_whole(self):
        t = str(now())
        for name, payload in bad_shapes(t):
            with self.subTest(name=name):
                status, _, text = self.r.push(payload)
                self.assertEqual(status, 400, text)
                self.assertTrue(text.strip(), "error body must say why")
                self.assertEqual(self.r.stored(), {})
        c = self.r.counters()
        self.assertEqual(c["accepted"], 0)
        self.assertEqual(c["pushes"], len(bad_shapes(t)))

    def test_bad_labels_reject_their_stream_only(self):
        t = now()
        sixteen = {"l%02d" % i: "v" for i in range(16)}
        cases = [
            ("no labels", {}, "at least one label"),
            ("leading digit", {"1a": "x"}, "invalid label name"),
            ("dash", {"a-b": "x"}, "invalid label name"),
            ("dot", {"service.name": "x"}, "invalid label name"),
            ("empty name", {"": "x"}, "invalid label name"),
            ("non-ASCII name", {"\u00e9": "x"}, "invalid label name"),
            ("space", {"a b": "x"}, "invalid label name"),
            ("sixteen names", sixteen, "label names; limit 15"),
            ("name too long", {"n" * 1025: "x"}, "too long"),
            ("value too long", {"v": "x" * 2049}, "too long"),
        ]
        for i, (name, labels, text) in enumerate(cases):
            with self.subTest(name=name):
                self.r.control("POST", "/control/reset", {})
                good = stream({"svc": "good"}, (str(t + i), "kept"))
                bad = stream(labels, (str(t + i), "lost"), (str(t + i + 1), "lost too"))
                _, got = self.assertPush(400, body(good, bad))
                self.assertIn(text, got)
                self.assertEqual(self.r.stored(), {key(svc="good"): [(str(t + i), "kept", None)]})
                c = self.r.counters()
                self.assertEqual((c["accepted"], c["rejected_entries"]), (1, 2))

    def test_duplicate_label_name_rejected(self):
        t = now()
        raw = ('{"streams":[{"stream":{"a":"1","a":"2"},"values":[["%d","x"]]}]}' % t).encode()
        _, text = self.assertPush(400, raw)
        self.assertIn("twice", text)
        self.assertEqual(self.r.stored(), {})


class EntryRules(ReceiverCase):
    def check_entry_rejected(self, bad, text, labels=None):
        """`bad` between two good entries of one stream: only `bad` is refused."""
        t = now()
        labels = labels or {"a": "b"}
        before = (str(t - 2 * NS), "before")
        after = (str(t + 2 * NS), "after")
        _, got = self.assertPush(400, body(stream(labels, before, bad, after)))
        self.assertIn(text, got)
        self.assertEqual(
            self.r.stored()[tuple(sorted(labels.items()))],
            [(before[0], before[1], None), (after[0], after[1], None)],
        )
        self.assertEqual(self.r.counters()["rejected_entries"], 1)

    def test_line_size_limit_counts_utf8_bytes(self):
        t = now()
        ok_cases = ["x" * 262144, "\u20ac" * 87381 + "x"]  # 262144 bytes each
        for i, line in enumerate(ok_cases):
            self.assertPush(204, body(stream({"ok": str(i)}, (str(t), line))))
            self.assertEqual(self.r.stored()[key(ok=str(i))][0][1], line)
        for name, line in [("ascii", "x" * 262145), ("euro", "\u20ac" * 87382)]:
            with self.subTest(name=name):
                self.r.control("POST", "/control/reset", {})
                self.check_entry_rejected((str(now()), line), "Max entry size '262144' bytes exceeded")

    def test_too_old_and_too_new(self):
        t = now()
        with self.subTest("older than 7 days"):
            self.check_entry_rejected((str(t - 7 * DAY - 60 * NS), "old"), "timestamp too old", {"s": "1"})
        with self.subTest("10 minutes in the future and more"):
            self.r.control("POST", "/control/reset", {})
            self.check_entry_rejected((str(t + HOUR), "future"), "timestamp too new", {"s": "2"})
        with self.subTest("6 days old, alone in its stream"):
            self.assertPush(204, body(stream({"s": "3"}, (str(t - 6 * DAY), "oldish"))))
            self.assertPush(204, body(stream({"s": "4"}, (str(t + 5 * 60 * NS), "soonish"))))

    def test_far_behind_newest_rejected_out_of_order_within_hour_kept(self):
        t = now() - 3 * HOUR
        s = {"svc": "order"}
        self.assertPush(204, body(stream(s, (str(t), "newest"))))
        _, text = self.assertPush(400, body(stream(s, (str(t - HOUR - 1), "too far behind"))))
        self.assertIn("too far behind", text)
        self.assertPush(204, body(stream(s, (str(t - HOUR), "exactly one hour behind"))))
        self.assertPush(204, body(stream(s, (str(t - 30 * 60 * NS), "half an hour behind"))))
        self.assertEqual(
            [e[1] for e in self.r.stored()[key(svc="order")]],
            ["newest", "exactly one hour behind", "half an hour behind"],
        )
        # Another stream has its own window.
        self.assertPush(204, body(stream({"svc": "other"}, (str(t - 2 * HOUR), "own window"))))

    def test_metadata_rules(self):
        t = now()
        ok = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "_x:y": "z"}
        self.assertPush(204, body(stream({"a": "ok"}, (str(t), "m", ok))))
        self.assertEqual(self.r.stored()[key(a="ok")][0][2], ok)
        cases = [
            ("dot", {"trace.id": "1"}, "invalid structured metadata name"),
            ("dash", {"trace-id": "1"}, "invalid structured metadata name"),
            ("digit first", {"1x": "1"}, "invalid structured metadata name"),
            ("empty key", {"": "1"}, "invalid structured metadata name"),
            ("129 entries", {"k%d" % i: "v" for i in range(129)}, "limit 128"),
            ("over 64 KiB", {"big": "v" * 65536}, "exceeds limit"),
        ]
        for name, md, text in cases:
            with self.subTest(name=name):
                self.r.control("POST", "/control/reset", {})
                self.check_entry_rejected((str(t), "bad md", md), text)
        with self.subTest("duplicate key"):
            self.r.control("POST", "/control/reset", {})
            raw = ('{"streams":[{"stream":{"a":"b"},"values":[["%d","x",{"k":"1","k":"2"}]]}]}' % t).encode()
            _, text = self.assertPush(400, raw)
            self.assertIn("twice", text)

    def test_duplicates_dropped_silently(self):
        t = now()
        s = {"svc": "dup"}
        self.assertPush(204, body(stream(s, (str(t), "a"), (str(t), "a"))))
        self.assertPush(204, body(stream(s, (str(t), "a", {"trace_id": "other"}))))
        self.assertPush(204, body(stream(s, (str(t), "b"))))  # same ts, new line
        self.assertPush(204, body(stream(s, (str(t + 1), "b"))))  # same line, new ts
        self.assertPush(204, body(stream(s, (str(t + 2), "c"), (str(t + 3), "d"), (str(t + 2), "c"))))
        self.assertPush(204, body(stream({"svc": "other"}, (str(t), "a"))))  # per stream
        got = self.r.stored()
        self.assertEqual(
            got[key(svc="dup")],
            [(str(t), "a", None), (str(t), "b", None), (str(t + 1), "b", None),
             (str(t + 2), "c", None), (str(t + 3), "d", None), (str(t + 2), "c", None)],
        )
        self.assertEqual(got[key(svc="other")], [(str(t), "a", None)])
        c = self.r.counters()
        self.assertEqual((c["accepted"], c["duplicates_dropped"], c["rejected_entries"]), (7, 2, 0))


class Faults(ReceiverCase):
    def tearDown(self):
        self.r.control("POST", "/control/reset", {})

    def good(self, line, labels=None):
        return body(stream(labels or {"f": "x"}, (str(now()), line)))

    def test_fail_run_with_retry_after(self):
        self.r.faults(fail=[{"status": 503, "count": 3}], retry_after="2")
        for i in range(3):
            resp, text = self.assertPush(503, self.good("lost %d" % i))
            self.assertEqual(resp.getheader("Retry-After"), "2")
            self.assertTrue(text)
        self.assertPush(204, self.good("kept"))
        e = self.r.entries()
        self.assertEqual([q["status"] for q in e["requests"]], [503, 503, 503, 204])
        self.assertEqual([x["line"] for x in e["streams"][0]["entries"]], ["kept"])
        self.assertEqual(e["counters"]["pushes"], 4)

    def test_fail_sequence_and_retry_after_only_on_429_503(self):
        self.r.faults(
            fail=[{"status": 500, "count": 1}, {"status": 429, "count": 2, "body": "slow down"}],
            retry_after="7",
        )
        resp, _ = self.assertPush(500, self.good("a"))
        self.assertIsNone(resp.getheader("Retry-After"))
        resp, text = self.assertPush(429, self.good("b"))
        self.assertEqual((resp.getheader("Retry-After"), text), ("7", "slow down"))
        self.r.faults(retry_after=None)
        resp, _ = self.assertPush(429, self.good("c"))
        self.assertIsNone(resp.getheader("Retry-After"))
        self.assertPush(204, self.good("d"))
        self.assertEqual([e[1] for e in self.r.stored()[key(f="x")]], ["d"])

    def test_reject_next(self):
        self.r.faults(reject_next=2)
        for i in range(2):
            _, text = self.assertPush(400, self.good("r%d" % i))
            self.assertEqual(text, "rejected by test")
        self.assertPush(204, self.good("kept"))
        self.assertEqual([e[1] for e in self.r.stored()[key(f="x")]], ["kept"])
        self.assertEqual(self.r.counters()["rejected_entries"], 2)

    def test_delay_then_normal(self):
        self.r.faults(delay_ms=400, delay_count=1)
        start = time.monotonic()
        self.assertPush(204, self.good("slow"))
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        _, view = self.r.control("GET", "/control/faults")
        self.assertEqual(view["delay_count"], 0)
        self.assertPush(204, self.good("fast"))
        self.assertEqual([e[1] for e in self.r.stored()[key(f="x")]], ["slow", "fast"])

    def test_delay_without_count_lasts_until_cleared(self):
        view = self.r.faults(delay_ms=50)
        self.assertEqual(view["delay_count"], -1)
        view = self.r.faults(delay_ms=None)
        self.assertEqual((view["delay_ms"], view["delay_count"]), (0, 0))

    def test_client_that_gives_up_stores_nothing(self):
        self.r.faults(delay_ms=5000, delay_count=1)
        c = self.r.conn(timeout=0.3)
        with self.assertRaises(socket.timeout):
            self.r.push(self.good("abandoned"), conn=c)
        c.close()
        reqs = wait_for(lambda: self.r.entries()["requests"], 10, "the abandoned request's record")
        self.assertEqual(reqs[0]["status"], 499)
        self.assertEqual(self.r.stored(), {})

    def test_refuse_then_accept_again(self):
        self.assertPush(204, self.good("before"))
        held = self.r.conn()
        status, _, _ = self.r.push(self.good("on held connection"), conn=held)
        self.assertEqual(status, 204)
        start = time.monotonic()  # before the request: the refusal starts after it
        view = self.r.faults(refuse_for_ms=800)
        self.assertEqual(view["refusing_ms"], 800)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.r.port), timeout=5).close()
        with self.assertRaises(ConnectionError):
            self.r.push(self.good("lost"), conn=held)
        held.close()

        def accepting():
            try:
                socket.create_connection(("127.0.0.1", self.r.port), timeout=5).close()
                return True
            except ConnectionRefusedError:
                return False

        wait_for(accepting, 15, "the port to accept again")
        self.assertGreaterEqual(time.monotonic() - start, 0.8)
        self.assertPush(204, self.good("after"))
        self.assertEqual(
            [e[1] for e in self.r.stored()[key(f="x")]], ["before", "on held connection", "after"]
        )

    def test_loki29_rejects_structured_metadata(self):
        self.r.faults(loki29=True)
        t = now()
        payload = body(
            stream({"a": "plain"}, (str(t), "no metadata")),
            stream({"a": "md"}, (str(t), "x", {"trace_id": "1"}), (str(t + 1), "y")),
        )
        _, text = self.assertPush(400, payload)
        self.assertIn("structured metadata is not allowed", text)
        self.assertIn("disallowed", text)
        self.assertEqual(self.r.stored(), {})
        self.assertEqual(self.r.counters()["rejected_entries"], 3)
        self.assertPush(204, body(stream({"a": "md"}, (str(t), "x"), (str(t + 1), "y", {}))))
        self.assertEqual(len(self.r.stored()[key(a="md")]), 2)
        self.r.faults(loki29=False)
        self.assertPush(204, body(stream({"a": "md"}, (str(t + 2), "z", {"trace_id": "1"}))))

    def test_tenant_required(self):
        self.r.faults(require_tenant="acme")
        for hdrs in ({}, {"X-Scope-OrgID": "other"}, {"X-Scope-OrgID": ""}):
            with self.subTest(headers=hdrs):
                _, text = self.assertPush(401, self.good("no"), headers=hdrs)
                self.assertEqual(text, "no org id")
        self.assertPush(204, self.good("yes"), headers={"X-Scope-OrgID": "acme"})
        e = self.r.entries()
        self.assertEqual([e_["line"] for e_ in e["streams"][0]["entries"]], ["yes"])
        self.assertEqual([q["tenant"] for q in e["requests"]], [None, "other", "", "acme"])

    def test_auth_required(self):
        self.r.faults(require_auth="Bearer xyz", require_tenant="acme")
        for hdrs in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "bearer xyz"}):
            with self.subTest(headers=hdrs):
                hdrs = dict(hdrs, **{"X-Scope-OrgID": "acme"})
                self.assertPush(401, self.good("no"), headers=hdrs)
        self.assertPush(401, self.good("no"), headers={"Authorization": "Bearer xyz"})
        self.assertPush(204, self.good("yes"), headers={"Authorization": "Bearer xyz", "X-Scope-OrgID": "acme"})
        self.assertEqual([e[1] for e in self.r.stored()[key(f="x")]], ["yes"])

    def test_fault_settings_merge_and_validate(self):
        self.r.faults(reject_next=1)
        view = self.r.faults(loki29=True)
        self.assertEqual((view["reject_next"], view["loki29"]), (1, True))
        bad = [
            {"nonsense": 1},
            {"fail": {"status": 503}},
            {"fail": [{"status": 200, "count": 1}]},
            {"fail": [{"status": 503, "count": -1}]},
            {"fail": [{"status": 503, "extra": 1}]},
            {"reject_next": -1},
            {"reject_next": True},
            {"delay_ms": "100"},
            {"loki29": "yes"},
            {"retry_after": 2},
            {"require_tenant": 5},
            [],
        ]
        for b in bad:
            with self.subTest(body=b):
                status, _ = self.r.control("POST", "/control/faults", b)
                self.assertEqual(status, 400)
        status, _ = self.r.control("GET", "/control/faults")
        self.assertEqual(status, 200)
        req = urllib.request.Request(
            "http://127.0.0.1:%d/control/faults" % self.r.port, data=b"{not json", method="POST"
        )
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(cm.exception.code, 400)


class Control(ReceiverCase):
    def test_reset_clears_everything(self):
        t = now()
        self.r.faults(reject_next=5, loki29=True, fail=[{"status": 503, "count": 9}])
        self.r.control("POST", "/control/reset", {})
        self.assertPush(204, body(stream({"a": "b"}, (str(t), "x"), (str(t), "x"))))
        self.r.control("POST", "/control/reset", {})
        e = self.r.entries()
        self.assertEqual(e, {"streams": [], "requests": [],
                             "counters": {"accepted": 0, "rejected_entries": 0,
                                          "duplicates_dropped": 0, "pushes": 0}})
        _, view = self.r.control("GET", "/control/faults")
        self.assertEqual((view["reject_next"], view["loki29"], view["fail"]), (0, False, []))
        # After a reset the same entry is new again (the duplicate memory is gone).
        self.assertPush(204, body(stream({"a": "b"}, (str(t), "x"))))
        self.assertEqual(len(self.r.stored()[key(a="b")]), 1)

    def test_request_log(self):
        before = time.monotonic()
        t = now()
        raw = json.dumps(body(stream({"a": "b"}, (str(t), "x")))).encode()
        self.assertPush(204, raw, headers={"X-Scope-OrgID": "t1"})
        self.assertPush(400, b"{", encoding="gzip", compress=True)
        after = time.monotonic()
        reqs = self.r.entries()["requests"]
        self.assertEqual(len(reqs), 2)
        self.assertEqual(
            {k: reqs[0][k] for k in ("status", "bytes", "decoded_bytes", "encoding", "tenant")},
            {"status": 204, "bytes": len(raw), "decoded_bytes": len(raw),
             "encoding": "identity", "tenant": "t1"},
        )
        self.assertEqual((reqs[1]["status"], reqs[1]["encoding"], reqs[1]["decoded_bytes"]), (400, "gzip", 1))
        self.assertTrue(before <= reqs[0]["t"] <= reqs[1]["t"] <= after, (before, reqs, after))

    def test_misc_endpoints(self):
        status, counters = self.r.control("GET", "/control/counters")
        self.assertEqual((status, set(counters)), (200, {"accepted", "rejected_entries", "duplicates_dropped", "pushes"}))
        c = self.r.conn()
        for method, path, expect in [
            ("GET", "/ready", 200),
            ("GET", "/loki/api/v1/push", 405),
            ("GET", "/nowhere", 404),
            ("POST", "/nowhere", 404),
            ("POST", "/control/nowhere", 404),
        ]:
            with self.subTest(method=method, path=path):
                c.request(method, path, body=b"" if method == "POST" else None)
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, expect)
        c.close()

    def test_port_file_is_complete(self):
        self.assertRegex(self.r.port_text, r"^[0-9]+\n$")
        self.assertEqual(os.listdir(self.r.dir), ["port"])


class Lifecycle(unittest.TestCase):
    def test_control_shutdown(self):
        r = Receiver()
        try:
            status, _ = r.control("POST", "/control/shutdown", {})
            self.assertEqual(status, 200)
            self.assertEqual(r.proc.wait(10), 0)
        finally:
            r.stop()

    def test_sigterm_and_sigint(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig):
                r = Receiver()
                try:
                    r.proc.send_signal(sig)
                    self.assertEqual(r.proc.wait(10), 0)
                finally:
                    r.stop()

    def test_stops_when_parent_pid_is_gone(self):
        sleeper = subprocess.Popen(["sleep", "60"])
        r = Receiver("--parent-pid", str(sleeper.pid))
        try:
            self.assertIsNone(r.proc.poll())
            sleeper.kill()
            sleeper.wait()
            self.assertEqual(r.proc.wait(10), 0)
        finally:
            r.stop()

    def test_count_only_keeps_counts_not_lines(self):
        r = Receiver("--count-only")
        try:
            t = now()
            status, _, _ = r.push(body(stream({"a": "b"}, (str(t), "x"), (str(t), "x"), (str(t + 1), "y"))))
            self.assertEqual(status, 204)
            e = r.entries()
            self.assertEqual(e["counters"]["accepted"], 2)
            self.assertEqual(e["counters"]["duplicates_dropped"], 1)
            self.assertEqual(e["streams"][0]["entries"], [])
        finally:
            r.stop()


if __name__ == "__main__":
    unittest.main(verbosity=1)
