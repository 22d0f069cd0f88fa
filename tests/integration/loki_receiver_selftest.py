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


# ---- an independent protobuf + snappy writer, for the receiver's decoder -----


def pb_varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_key(field, wt):
    return pb_varint((field << 3) | wt)


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return pb_key(field, 2) + pb_varint(len(data)) + data


def pb_uint(field, v):
    return pb_key(field, 0) + pb_varint(v)


def pb_entry(ts, line, metadata=None, extra=b""):
    sec, nanos = divmod(int(ts), NS)
    stamp = (pb_uint(1, sec) if sec else b"") + (pb_uint(2, nanos) if nanos else b"")
    out = pb_bytes(1, stamp) + pb_bytes(2, line)
    for name, value in (metadata or {}).items():
        out += pb_bytes(3, pb_bytes(1, name) + pb_bytes(2, value))
    return out + extra


def pb_stream(labels, *entries, extra=b""):
    """labels: a Prometheus-form string, or a dict quoted here like Go's strconv.Quote."""
    if isinstance(labels, dict):
        labels = "{" + ", ".join("%s=%s" % (k, go_quote(v)) for k, v in labels.items()) + "}"
    out = pb_bytes(1, labels)
    for e in entries:
        out += pb_bytes(2, e if isinstance(e, bytes) else pb_entry(*e))
    return pb_bytes(1, out + extra)


def pb_push(*streams):
    return b"".join(streams)


def go_quote(value):
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def snappy_literals(data):
    """Snappy block made of literals only (every literal length form used)."""
    out = bytearray(pb_varint(len(data)))
    pos = 0
    sizes = [1, 60, 61, 300, 70000]  # tag forms: inline, 1-, 2- and 3-byte lengths
    k = 0
    while pos < len(data):
        n = min(sizes[k % len(sizes)], len(data) - pos)
        k += 1
        out += _snappy_literal(data[pos : pos + n])
        pos += n
    return bytes(out)


def _snappy_literal(chunk):
    n = len(chunk) - 1
    if n < 60:
        head = bytes([n << 2])
    else:
        nb = (n.bit_length() + 7) // 8
        head = bytes([(59 + nb) << 2]) + n.to_bytes(nb, "little")
    return head + chunk


def snappy_compress(data):
    """A small greedy Snappy block compressor (copies with 1-, 2- and 4-byte offsets)."""
    out = bytearray(pb_varint(len(data)))
    table = {}
    pos = 0
    lit_start = 0
    k = 0
    while pos + 4 <= len(data):
        key = data[pos : pos + 4]
        cand = table.get(key)
        table[key] = pos
        if cand is None or pos - cand > 65535:
            pos += 1
            continue
        ln = 4
        while pos + ln < len(data) and data[cand + ln] == data[pos + ln] and ln < 64:
            ln += 1
        if lit_start < pos:
            out += _snappy_literal(data[lit_start:pos])
        off = pos - cand
        k += 1
        if 4 <= ln <= 11 and off < 2048 and k % 3 != 0:
            out += bytes([1 | ((ln - 4) << 2) | ((off >> 8) << 5), off & 0xFF])
        elif k % 3 == 1:
            out += bytes([3 | ((ln - 1) << 2)]) + off.to_bytes(4, "little")
        else:
            out += bytes([2 | ((ln - 1) << 2)]) + off.to_bytes(2, "little")
        pos += ln
        lit_start = pos
    if lit_start < len(data):
        out += _snappy_literal(data[lit_start:])
    return bytes(out)


PB = "application/x-protobuf"


class ProtobufPushes(ReceiverCase):
    def push_pb(self, expect, raw, compress=snappy_compress, **kw):
        kw.setdefault("ctype", PB)
        return self.assertPush(expect, compress(raw), **kw)

    def test_protobuf_push_stored_exactly(self):
        t = now()
        tricky = 'quo"te\\back\nnew\ttab \u00e9\u20ac\U0001f600'
        md = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
        raw = pb_push(
            pb_stream({"service_name": tricky, "env": "a\"b"},
                      (t, '{"msg":"one"}', md), (t + 1, "two \u00e9 \"q\" \\"), (t + 2, "")),
            pb_stream('{service_name="w", x=`raw \\ "str"`, y="\\u00e9\\xc3\\xa9\\101"}',
                      (t, "w")),
        )
        for compress in (snappy_compress, snappy_literals):
            with self.subTest(compress=compress.__name__):
                self.r.control("POST", "/control/reset", {})
                self.push_pb(204, raw, compress)
                got = self.r.stored()
                self.assertEqual(
                    got[key(service_name=tricky, env='a"b')],
                    [(str(t), '{"msg":"one"}', md), (str(t + 1), "two \u00e9 \"q\" \\", None),
                     (str(t + 2), "", None)],
                )
                self.assertEqual(got[key(service_name="w", x='raw \\ "str"', y="\u00e9\u00e9A")],
                                 [(str(t), "w", None)])
                req = self.r.entries()["requests"][-1]
                self.assertEqual((req["format"], req["decoded_bytes"], req["entries"]),
                                 ("protobuf", len(raw), 4))
                self.assertEqual(self.r.counters()["accepted"], 4)

    def test_snappy_copy_forms_and_overlaps(self):
        t = now()
        line = "abcabcabcabc" + "x" * 300 + "0123456789" * 50 + "abcabc"
        raw = pb_push(pb_stream({"a": "copies"}, (t, line), (t + 1, line)))
        packed = snappy_compress(raw)
        self.assertLess(len(packed), len(raw) // 2)  # copies really were used
        self.assertPush(204, packed, ctype=PB)
        # Hand-made: literal "ab", overlapping copy of 10 at offset 2 (1-byte
        # form), copy of 3 at offset 4 (2-byte form), of 2 at offset 1 (4-byte form).
        line2 = "ab" + "ababababab" + "aba" + "aa"
        body2 = pb_push(pb_stream({"a": "hand"}, (t, line2)))
        prefix = body2[: body2.index(b"ab" + b"abababab")]
        block = bytearray(pb_varint(len(body2)))
        block += _snappy_literal(prefix + b"ab")
        block += bytes([1 | ((10 - 4) << 2), 2])
        block += bytes([2 | ((3 - 1) << 2)]) + (4).to_bytes(2, "little")
        block += bytes([3 | ((2 - 1) << 2)]) + (1).to_bytes(4, "little")
        self.assertPush(204, bytes(block), ctype=PB)
        got = self.r.stored()
        self.assertEqual([e[1] for e in got[key(a="copies")]], [line, line])
        self.assertEqual(got[key(a="hand")], [(str(t), line2, None)])

    def test_protobuf_with_gzip_content_encoding(self):
        t = now()
        raw = pb_push(pb_stream({"a": "gz"}, (t, "zipped")))
        self.assertPush(204, gzip.compress(snappy_literals(raw)), ctype=PB, encoding="gzip")
        self.assertPush(204, snappy_literals(pb_push(pb_stream({"a": "gz"}, (t + 1, "s")))),
                        ctype=PB, encoding="snappy")
        self.assertEqual([e[1] for e in self.r.stored()[key(a="gz")]], ["zipped", "s"])

    def test_corrupt_snappy_refused_whole(self):
        t = now()
        raw = pb_push(pb_stream({"a": "b"}, (t, "x" * 100)))
        good = snappy_compress(raw)
        framed = b"\xff\x06\x00\x00sNaPpY" + b"\x01" + good  # the stream format
        cases = [
            ("framed format", framed),
            ("raw protobuf", raw),
            ("empty", b""),
            ("length too big", pb_varint(len(raw) + 1) + good[len(pb_varint(len(raw))):]),
            ("length too small", pb_varint(len(raw) - 1) + good[len(pb_varint(len(raw))):]),
            ("truncated", good[:-3]),
            ("offset zero", pb_varint(8) + _snappy_literal(b"abcd") + bytes([1, 0])),
            ("offset past start", pb_varint(12) + _snappy_literal(b"abcd") + bytes([1 | (4 << 2), 9])),
            ("bad header varint", b"\xff" * 11),
        ]
        for name, wire in cases:
            with self.subTest(name=name):
                _, text = self.assertPush(400, wire, ctype=PB)
                self.assertIn("snappy: corrupt input", text)
        self.assertEqual(self.r.stored(), {})
        self.assertEqual(self.r.counters()["accepted"], 0)

    def test_malformed_protobuf_refused_whole(self):
        t = now()
        ok = pb_stream({"svc": "good"}, (t, "good"))
        entry_ok = pb_entry(t, "x")
        cases = [
            ("truncated varint", ok + b"\x0a\xff"),
            ("length past end", ok + b"\x0a\x7f\x0a"),
            ("group wire type", ok + pb_key(1, 3)),
            ("field zero", ok + pb_key(0, 0) + b"\x00"),
            ("streams as varint", ok + pb_uint(1, 5)),
            ("labels as varint", ok + pb_bytes(1, pb_uint(1, 7))),
            ("entry as varint", ok + pb_bytes(1, pb_bytes(1, '{a="b"}') + pb_uint(2, 1))),
            ("line not UTF-8", ok + pb_stream({"a": "b"}, pb_bytes(1, b"") + pb_bytes(2, b"x\xff"))),
            ("metadata not UTF-8", ok + pb_stream({"a": "b"}, entry_ok + pb_bytes(3, pb_bytes(1, "k") + pb_bytes(2, b"\xc3")))),
            ("nanos negative", ok + pb_stream({"a": "b"}, pb_bytes(1, pb_uint(1, t // NS) + pb_uint(2, -1)) + pb_bytes(2, "x"))),
            ("nanos 1e9", ok + pb_stream({"a": "b"}, pb_bytes(1, pb_uint(1, t // NS) + pb_uint(2, NS)) + pb_bytes(2, "x"))),
            ("seconds overflow", ok + pb_stream({"a": "b"}, pb_bytes(1, pb_uint(1, 2**62)) + pb_bytes(2, "x"))),
            ("varint 11 bytes", ok + pb_bytes(1, pb_bytes(1, '{a="b"}') + pb_key(3, 0) + b"\xff" * 10 + b"\x01")),
        ]
        for name, raw in cases:
            with self.subTest(name=name):
                _, text = self.assertPush(400, snappy_literals(raw), ctype=PB)
                self.assertIn("protobuf", text)
        self.assertEqual(self.r.stored(), {})

    def test_unknown_fields_and_hash_skipped(self):
        t = now()
        raw = pb_push(
            pb_stream({"a": "u"}, pb_entry(t, "x", extra=pb_uint(9, 1) + pb_bytes(10, "?")),
                      extra=pb_uint(3, 12345) + pb_bytes(7, "unknown")),
            pb_uint(5, 1),
        )
        self.assertPush(204, snappy_compress(raw), ctype=PB)
        self.assertEqual(self.r.stored()[key(a="u")], [(str(t), "x", None)])

    def test_label_strings_parsed_as_loki_does(self):
        t = now()
        good = [
            ('{a="b"}', {"a": "b"}),
            ('  { a = "b" , c="d", }  ', {"a": "b", "c": "d"}),
            ('{a="\\"\\\\\\n\\t\\a\\b\\f\\r\\v"}', {"a": '"\\\n\t\a\b\f\r\v'}),
            ('{a="\\U0001F600\\u20ac\\342\\202\\254"}', {"a": "\U0001f600\u20ac\u20ac"}),
            ('{a=`multi\nline \\n`}', {"a": "multi\nline \\n"}),
            ('{:x="1", _y="2"}', {":x": "1", "_y": "2"}),
        ]
        for i, (text, labels) in enumerate(good):
            with self.subTest(text=text):
                self.assertPush(204, snappy_literals(pb_stream(text, (t + i, "ok"))), ctype=PB)
                self.assertIn(tuple(sorted(labels.items())), self.r.stored())
        bad = [
            ("invalid UTF-8 byte", b'{service_name="caf\xe9"}', "invalid UTF-8 rune"),
            ("invalid UTF-8 escape", b'{a="\\xff"}', "invalid UTF-8 rune"),
            ("surrogate escape", b'{a="\\ud800"}', "not a valid rune"),
            ("single quote escape", b'{a="\\\'"}', "unknown escape"),
            ("unknown escape", b'{a="\\q"}', "unknown escape"),
            ("raw newline", b'{a="x\ny"}', "newline"),
            ("unterminated", b'{a="x}', "unterminated"),
            ("no braces", b'a="x"', "expected {"),
            ("missing close", b'{a="x"', "missing }"),
            ("trailing text", b'{a="x"} junk', "text after"),
            ("not equals", b'{a!="x"}', "expected ="),
            ("regex op", b'{a=~"x"}', "expected ="),
            ("unquoted value", b"{a=x}", "quoted value"),
            ("bad name", b'{1a="x"}', "invalid label name"),
            ("dotted name", b'{service.name="x"}', "expected ="),
            ("twice", b'{a="1", a="2"}', "twice"),
            ("empty", b"{}", "at least one label"),
            ("empty string", b"", "expected {"),
            ("sixteen names", ("{" + ", ".join('l%02d="v"' % i for i in range(16)) + "}").encode(), "limit 15"),
            ("value too long", ('{v="%s"}' % ("x" * 2049)).encode(), "too long"),
        ]
        for i, (name, text, why) in enumerate(bad):
            with self.subTest(name=name):
                self.r.control("POST", "/control/reset", {})
                raw = pb_push(pb_stream({"svc": "good"}, (t + i, "kept")),
                              pb_stream(text, (t + i, "lost"), (t + i + 1, "lost too")))
                _, got = self.assertPush(400, snappy_compress(raw), ctype=PB)
                self.assertIn(why, got)
                self.assertEqual(self.r.stored(), {key(svc="good"): [(str(t + i), "kept", None)]})
                c = self.r.counters()
                self.assertEqual((c["accepted"], c["rejected_entries"]), (1, 2))

    def test_entry_rules_apply_to_protobuf(self):
        t = now()
        s = {"svc": "rules"}
        md_bad = {"trace.id": "1"}
        raw = pb_push(pb_stream(
            s,
            (t, "first"),
            (t, "first"),  # duplicate: dropped silently
            (t + 1, "y" * 262145),  # over max_line_size
            (t + 2, "md", md_bad),
            (t - 2 * HOUR, "too far behind"),
            (t - 8 * DAY, "too old"),
            (t + 3, "last"),
        ))
        _, text = self.push_pb(400, raw)
        for why in ("Max entry size '262144'", "invalid structured metadata name",
                    "too far behind", "too old"):
            self.assertIn(why, text)
        self.assertEqual([e[1] for e in self.r.stored()[key(**s)]], ["first", "last"])
        c = self.r.counters()
        self.assertEqual((c["accepted"], c["duplicates_dropped"], c["rejected_entries"]), (2, 1, 4))

    def test_metadata_rules_and_loki29_on_protobuf(self):
        t = now()
        raw = pb_stream({"a": "m"}, (t, "x", {"k": "1"}), pb_entry(t + 1, "y") +
                        pb_bytes(3, pb_bytes(1, "k") + pb_bytes(2, "1")) +
                        pb_bytes(3, pb_bytes(1, "k") + pb_bytes(2, "2")))
        _, text = self.push_pb(400, raw)
        self.assertIn("twice", text)
        self.assertEqual([e[1] for e in self.r.stored()[key(a="m")]], ["x"])
        self.r.faults(loki29=True)
        try:
            _, text = self.push_pb(400, pb_stream({"a": "m29"}, (t, "x", {"trace_id": "1"})))
            self.assertIn("structured metadata is not allowed", text)
            self.push_pb(204, pb_stream({"a": "m29"}, (t, "x")))
        finally:
            self.r.faults(loki29=False)
        self.assertEqual(self.r.stored()[key(a="m29")], [(str(t), "x", None)])

    def test_decoded_size_limit_protobuf(self):
        t = now()
        raw = pb_push(pb_stream({"a": "big"}, *[(t + i, "x" * 200000) for i in range(21)]))
        self.assertGreater(len(raw), 4194304)
        _, text = self.push_pb(500, raw, snappy_literals)
        self.assertIn("exceeds the limit", text)
        self.assertEqual(self.r.stored(), {})


class MoreFaults(ReceiverCase):
    def tearDown(self):
        self.r.control("POST", "/control/reset", {})

    def test_burst_limit_429_with_lokis_text(self):
        self.r.faults(burst_bytes=100)
        t = now()
        big = body(stream({"b": "x"}, (str(t), "a" * 60), (str(t + 1), "\u20ac" * 20)))
        resp, text = self.assertPush(429, big, headers={"X-Scope-OrgID": "acme"})
        self.assertEqual(
            text,
            "ingestion rate limit exceeded for user acme (limit: 100 bytes/sec) while "
            "attempting to ingest '2' lines totaling '120' bytes, reduce log volume or "
            "contact your Loki administrator to see if the limit can be increased",
        )
        raw = pb_push(pb_stream({"b": "x"}, (t, "a" * 101)))
        _, text = self.assertPush(429, snappy_compress(raw), ctype=PB)
        self.assertIn("user fake", text)
        self.assertIn("'1' lines totaling '101' bytes", text)
        self.assertEqual(self.r.stored(), {})
        self.assertEqual(self.r.counters()["rejected_entries"], 3)
        self.assertPush(204, body(stream({"b": "x"}, (str(t), "a" * 100))))  # at the burst
        self.r.faults(burst_bytes=None)
        self.assertPush(204, big)
        self.assertEqual(len(self.r.stored()[key(b="x")]), 3)

    def test_partial_400_with_max_line_size(self):
        view = self.r.faults(max_line_size=10)
        self.assertEqual(view["max_line_size"], 10)
        t = now()
        for fmt in ("json", "protobuf"):
            with self.subTest(format=fmt):
                self.r.control("POST", "/control/reset", {})
                self.r.faults(max_line_size=10)
                lines = [(t, "0123456789"), (t + 1, "0123456789x"), (t + 2, "short")]
                if fmt == "json":
                    _, text = self.assertPush(400, body(stream({"p": "x"}, *[(str(a), b) for a, b in lines])))
                else:
                    _, text = self.assertPush(400, snappy_compress(pb_stream({"p": "x"}, *lines)), ctype=PB)
                self.assertIn("Max entry size '10' bytes exceeded", text)
                self.assertIn("length '11' bytes", text)
                self.assertEqual([e[1] for e in self.r.stored()[key(p="x")]], ["0123456789", "short"])
                req = self.r.entries()["requests"][-1]
                self.assertEqual((req["status"], req["stored"], req["entries"]), (400, 2, 3))
        self.r.faults(max_line_size=0)  # Loki 2.9's default: no limit
        self.assertPush(204, body(stream({"p": "big"}, (str(t), "z" * (1 << 20)))))
        self.assertEqual(len(self.r.stored()[key(p="big")][0][1]), 1 << 20)

    def test_hang_never_answers(self):
        self.r.faults(hang=True)
        c = self.r.conn(timeout=0.4)
        with self.assertRaises(socket.timeout):
            self.r.push(body(stream({"h": "x"}, (str(now()), "never"))), conn=c)
        c.close()
        reqs = wait_for(lambda: self.r.entries()["requests"], 10, "the abandoned request's record")
        self.assertEqual(reqs[0]["status"], 499)
        # A push waiting in a hang is processed once the hang is cleared.
        result = {}

        def later():
            result["status"] = self.r.push(body(stream({"h": "x"}, (str(now()), "late"))))[0]

        th = threading.Thread(target=later)
        th.start()
        wait_for(lambda: self.r.counters()["pushes"] == 2, 10, "the second push to arrive")
        self.assertNotIn("status", result)
        self.r.faults(hang=False)
        th.join(10)
        self.assertEqual(result.get("status"), 204)
        self.assertEqual([e[1] for e in self.r.stored()[key(h="x")]], ["late"])

    def test_loki29_json_labels_kept_escaped(self):
        t = now()
        tricky = 'quo"te\\back\nnl'
        self.r.faults(loki29_json_labels=True)
        self.assertPush(204, body(stream({"service_name": tricky}, (str(t), "json"))))
        self.assertPush(204, snappy_compress(pb_stream({"service_name": tricky}, (t, "pb"))), ctype=PB)
        got = self.r.stored()
        self.assertEqual([e[1] for e in got[key(service_name='quo\\"te\\\\back\\nnl')]], ["json"])
        self.assertEqual([e[1] for e in got[key(service_name=tricky)]], ["pb"])

    def test_new_fault_settings_validated(self):
        for b in ({"hang": 1}, {"burst_bytes": -1}, {"burst_bytes": "1"}, {"max_line_size": None},
                  {"max_line_size": -5}, {"loki29_json_labels": "yes"}):
            with self.subTest(body=b):
                status, _ = self.r.control("POST", "/control/faults", b)
                self.assertEqual(status, 400)
        view = self.r.faults(hang=False, burst_bytes=5, max_line_size=0, loki29_json_labels=True)
        self.assertEqual((view["hang"], view["burst_bytes"], view["max_line_size"],
                          view["loki29_json_labels"]), (False, 5, 0, True))
        self.r.control("POST", "/control/reset", {})
        _, view = self.r.control("GET", "/control/faults")
        self.assertEqual((view["burst_bytes"], view["max_line_size"]), (None, 262144))


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
