#!/usr/bin/python3
"""A strict OTLP/HTTP receiver (collector stand-in) for spanlog's tests.

POST /v1/traces, /v1/logs and /otlp/v1/logs (Loki 3's path) are decoded by
otlp_decode.py (protoc-generated classes; see its checks) and stored; a
request that breaks the protocol gets 400 (415 for a content type or
encoding it does not speak), with a google.rpc.Status-like body, as a
collector answers. Answers carry the request's Content-Type and an
Export*ServiceResponse body.

Usage: /usr/bin/python3 otlp_receiver.py --port-file PATH [--port 0]
           [--tls-cert PEM --tls-key PEM [--client-ca PEM]]
With --tls-cert it speaks HTTPS; with --client-ca it requires a client
certificate signed by that CA (mutual TLS).
Writes "<port>\\n" to PATH once listening (temp file + rename). Serves until
POST /control/shutdown, SIGTERM, its parent exiting, or --lifetime seconds.

Control API (JSON):
  GET  /control/spans, /control/logs   everything stored (otlp_decode's plain data)
  GET  /control/counters   {"requests": N, "statuses": {"200": n, ...},
                            "headers": {...last request's headers...}}
  POST /control/reset      forget everything, clear faults
  POST /control/faults     merged into the current faults:
     fail: [{"status": 503, "count": 2, "retry_after": "1"}]  next requests get
           these answers in order (nothing stored)
     partial: {"rejected": N, "message": "..."}  the next request answers 200
           with partial_success; the first N items are not stored
     bad_body: N            the next N requests store and answer 200 with a
                            body that is not a valid response
     delay_ms: MS           every request waits MS before being processed
     require_header: "k: v" requests without this header get 401
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import otlp_decode  # noqa: E402

PATHS = {"/v1/traces": "traces", "/v1/logs": "logs", "/otlp/v1/logs": "logs"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.spans, self.logs = [], []
        self.requests = 0
        self.statuses = {}
        self.headers = {}
        self.faults = {"fail": [], "partial": None, "bad_body": 0, "delay_ms": 0,
                       "require_header": None}


STATE = State()
SERVER = None


def response_body(signal_name, ctype, rejected=0, message=""):
    m = otlp_decode.pb2()
    if signal_name == "traces":
        msg = m.ExportTraceServiceResponse()
        if rejected:
            msg.partial_success.rejected_spans = rejected
            msg.partial_success.error_message = message
    else:
        msg = m.ExportLogsServiceResponse()
        if rejected:
            msg.partial_success.rejected_log_records = rejected
            msg.partial_success.error_message = message
    if ctype == "application/json":
        from google.protobuf import json_format
        return json.dumps(json_format.MessageToDict(msg)).encode()
    return msg.SerializeToString()


def status_body(ctype, code, text):
    if ctype == "application/json":
        return json.dumps({"code": code, "message": text}).encode()
    # google.rpc.Status: 1 code (int32), 2 message (string)
    raw = text.encode()
    out = bytes([0x08, code & 0x7F, 0x12])
    n = len(raw)
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n]) + raw


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def reply(self, status, body, ctype, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        with STATE.lock:
            STATE.statuses[str(status)] = STATE.statuses.get(str(status), 0) + 1

    def reply_json(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()  # what OpenTelemetry JS sends
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return out
            out += self.rfile.read(size)
            self.rfile.readline()  # CRLF after the chunk

    def do_GET(self):
        with STATE.lock:
            if self.path == "/control/spans":
                obj = list(STATE.spans)
            elif self.path == "/control/logs":
                obj = list(STATE.logs)
            elif self.path == "/control/counters":
                obj = {"requests": STATE.requests, "statuses": dict(STATE.statuses),
                       "headers": dict(STATE.headers)}
            else:
                obj = None
        if obj is None:
            self.reply_json({"error": "not found"}, 404)
        else:
            self.reply_json(obj)

    def do_POST(self):
        if self.path.startswith("/control/"):
            return self.control(self.path, self.read_body())
        sig = PATHS.get(self.path)
        body = self.read_body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        rtype = ctype if ctype in ("application/json", "application/x-protobuf") \
            else "application/x-protobuf"
        with STATE.lock:
            STATE.requests += 1
            STATE.headers = {k.lower(): v for k, v in self.headers.items()}
            f = STATE.faults
            delay = f["delay_ms"]
        if delay:
            time.sleep(delay / 1000.0)
        if sig is None:
            return self.reply(404, status_body(rtype, 5, f"no such path {self.path}"), rtype)
        with STATE.lock:
            need = f["require_header"]
            fail = None
            if f["fail"]:
                fail = f["fail"][0]
                fail["count"] = fail.get("count", 1) - 1
                if fail["count"] <= 0:
                    f["fail"].pop(0)
            partial, f["partial"] = f["partial"], None
            bad = f["bad_body"] > 0
            if bad:
                f["bad_body"] -= 1
        if fail is not None:
            hdrs = [("Retry-After", fail["retry_after"])] if fail.get("retry_after") else []
            return self.reply(fail["status"], status_body(rtype, 14, "injected by test"),
                              rtype, hdrs)
        if need:
            k, v = [x.strip() for x in need.split(":", 1)]
            if self.headers.get(k) != v:
                return self.reply(401, status_body(rtype, 16, "unauthenticated"), rtype)
        try:
            items = otlp_decode.decode(sig, body, self.headers.get("Content-Type"),
                                       self.headers.get("Content-Encoding"))
        except otlp_decode.Reject as e:
            sys.stderr.write(f"otlp_receiver: rejected: {e.text}\n")
            return self.reply(e.status, status_body(rtype, 3, e.text), rtype)
        rejected = min(partial["rejected"], len(items)) if partial else 0
        with STATE.lock:
            (STATE.spans if sig == "traces" else STATE.logs).extend(items[rejected:])
        if bad:
            return self.reply(200, b"\xff\xff\xff not a response", rtype)
        self.reply(200, response_body(sig, rtype, rejected,
                                      partial.get("message", "") if partial else ""), rtype)

    def control(self, path, body):
        if path == "/control/reset":
            with STATE.lock:
                STATE.reset()
            return self.reply_json({"ok": True})
        if path == "/control/shutdown":
            self.reply_json({"ok": True})
            threading.Thread(target=SERVER.shutdown, daemon=True).start()
            return None
        if path == "/control/faults":
            upd = json.loads(body or b"{}")
            with STATE.lock:
                STATE.faults.update(upd)
            return self.reply_json({"ok": True})
        return self.reply_json({"error": "not found"}, 404)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that gave up (its timeout, close's deadline) is expected.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)



def main():
    global SERVER
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=900)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    a = ap.parse_args()
    otlp_decode.pb2()  # compile before answering anything
    SERVER = Server(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.client_ca)
        SERVER.socket = ctx.wrap_socket(SERVER.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{SERVER.server_address[1]}\n")
    os.rename(tmp, a.port_file)
    parent = os.getppid()

    def watchdog():
        start = time.time()
        while True:
            time.sleep(0.5)
            if os.getppid() != parent or time.time() - start > a.lifetime:
                SERVER.shutdown()
                return

    threading.Thread(target=watchdog, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=SERVER.shutdown).start())
    # Refused connections: the tests stop the receiver and start it again on
    # the same port (--port).
    SERVER.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
