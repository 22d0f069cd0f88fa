#!/usr/bin/python3
"""Self-test of otlp_receiver.py / otlp_decode.py: valid requests are stored
by value, every protocol rule is enforced, and the faults answer as a
collector would. Builds requests with the generated classes (not spanlog)."""

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import otlp_decode  # noqa: E402

m = otlp_decode.pb2()


def span_request(**over):
    req = m.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "selftest"
    s = rs.scope_spans.add().spans.add()
    s.trace_id = bytes(range(1, 17))
    s.span_id = bytes(range(1, 9))
    s.name, s.kind = "op", 2
    s.start_time_unix_nano, s.end_time_unix_nano = 10, 20
    s.flags = 0x101
    a = s.attributes.add()
    a.key, a.value.int_value = "n", 5
    for k, v in over.items():
        setattr(s, k, v)
    return req.SerializeToString()


def post(base, path, body, ctype="application/x-protobuf", enc=None):
    r = urllib.request.Request(base + path, data=body, method="POST")
    r.add_header("Content-Type", ctype)
    if enc:
        r.add_header("Content-Encoding", enc)
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get(base, path):
    with urllib.request.urlopen(base + path) as resp:
        return json.loads(resp.read())


def main():
    d = tempfile.mkdtemp()
    pf = os.path.join(d, "port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "otlp_receiver.py"),
                          "--port-file", pf])
    try:
        for _ in range(300):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        base = "http://127.0.0.1:%d" % int(open(pf).read())
        os.environ["NO_PROXY"] = "127.0.0.1"
        # accepted, by value; gzip too
        assert post(base, "/v1/traces", span_request())[0] == 200
        assert post(base, "/v1/traces", gzip.compress(span_request()), enc="gzip")[0] == 200
        # a chunked body (what OpenTelemetry JS sends)
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        body = span_request()
        c.putrequest("POST", "/v1/traces")
        c.putheader("Content-Type", "application/x-protobuf")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for part in (body[:7], body[7:]):
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
        assert c.getresponse().status == 200
        c.close()
        spans = get(base, "/control/spans")
        assert len(spans) == 3, spans
        spans = spans[:2]
        assert spans[0]["trace_id"] == bytes(range(1, 17)).hex()
        assert spans[0]["attributes"] == {"n": 5}
        assert spans[0]["resource"]["service.name"] == "selftest"
        # JSON mapping: hex ids and int64 strings accepted, numbers refused
        js = {"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": bytes(range(1, 17)).hex(), "spanId": bytes(range(1, 9)).hex(),
            "name": "j", "kind": 1, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}
        assert post(base, "/v1/traces", json.dumps(js).encode(), "application/json")[0] == 200
        js["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = 1
        assert post(base, "/v1/traces", json.dumps(js).encode(), "application/json")[0] == 400
        # the rules
        bad = [
            span_request(trace_id=bytes(16)),          # zero id
            span_request(span_id=b"\x01" * 7),         # wrong length
            span_request(kind=9),                      # unknown enum
            span_request(start_time_unix_nano=30),     # start > end
            span_request(flags=0x200),                 # remote without has-remote
            span_request() + b"\x2a\x02\xff\xfe",      # invalid UTF-8 (name again)
            span_request() + b"\x08\x01",              # field 1 with a varint: wire type
        ]
        for i, body in enumerate(bad):
            st, _ = post(base, "/v1/traces", body)
            assert st == 400, (i, st)
        assert post(base, "/v1/traces", span_request(), "text/plain")[0] == 415
        assert post(base, "/v1/nope", span_request())[0] == 404
        # faults
        post(base, "/control/faults", json.dumps({"fail": [
            {"status": 429, "count": 1, "retry_after": "2"}, {"status": 503}]}).encode(),
            "application/json")
        r = urllib.request.Request(base + "/v1/traces", data=span_request(), method="POST")
        r.add_header("Content-Type", "application/x-protobuf")
        try:
            urllib.request.urlopen(r)
            raise AssertionError("429 expected")
        except urllib.error.HTTPError as e:
            assert e.code == 429 and e.headers["Retry-After"] == "2"
        assert post(base, "/v1/traces", span_request())[0] == 503
        post(base, "/control/faults", json.dumps({"partial": {"rejected": 1, "message": "x"}})
             .encode(), "application/json")
        st, body = post(base, "/v1/traces", span_request())
        resp = m.ExportTraceServiceResponse.FromString(body)
        assert st == 200 and resp.partial_success.rejected_spans == 1
        assert len(get(base, "/control/spans")) == 4
        # logs
        lr = m.ExportLogsServiceRequest()
        rec = lr.resource_logs.add().scope_logs.add().log_records.add()
        rec.time_unix_nano, rec.severity_number = 5, 9
        rec.body.string_value = "hi"
        rec.trace_id = bytes(range(1, 17))
        st, _ = post(base, "/v1/logs", lr.SerializeToString())
        assert st == 400  # trace_id without span_id
        rec.span_id = bytes(range(1, 9))
        assert post(base, "/otlp/v1/logs", lr.SerializeToString())[0] == 200
        assert get(base, "/control/logs")[0]["body"] == "hi"
        print("otlp_receiver selftest: ok")
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()
