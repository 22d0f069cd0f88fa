"""Strict decoding of OTLP/HTTP export requests, for spanlog's tests.

Decodes ExportTraceServiceRequest / ExportLogsServiceRequest bodies
(application/x-protobuf or the OTLP/JSON mapping, optionally gzip) with
protoc-generated classes of tests/integration/otlp/otlp.proto, a decoder
independent of spanlog's encoder, and enforces what a collector may rely
on: no unknown fields (a field sent with the wrong wire type shows up as
one), valid UTF-8 strings, 16/8-byte non-zero ids (lowercase hex in JSON),
start <= end, known enum values, unique non-empty attribute keys, 64-bit
integers as strings in JSON, span flags within the defined bits.

The result is plain data (dicts, lists) with ids as hex and attribute values
as: str, int, float, bool, list (array), {"kvlist": {...}}, None (empty
AnyValue), {"double": "NaN"|"Infinity"|"-Infinity"}, {"bytes": hex}.

Needs Debian's python3-protobuf and protoc (run with /usr/bin/python3).
"""

import base64
import binascii
import gzip
import importlib
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
_pb2 = None


class Reject(Exception):
    """A request a collector answers with 400 (or 415)."""

    def __init__(self, text, status=400):
        super().__init__(text)
        self.status = status
        self.text = text


def pb2():
    """The generated module, compiled by protoc on first use."""
    global _pb2
    if _pb2 is None:
        out = os.environ.get("OTLP_PB2_DIR") or tempfile.mkdtemp(prefix="otlp-pb2-")
        os.makedirs(out, exist_ok=True)
        target = os.path.join(out, "otlp_pb2.py")
        if not os.path.exists(target):
            subprocess.run(["protoc", "--proto_path=" + HERE, "--python_out=" + out,
                            "otlp.proto"], check=True)
        sys.path.insert(0, out)
        _pb2 = importlib.import_module("otlp_pb2")
    return _pb2


def _no_unknown(msg, where):
    from google.protobuf import unknown_fields
    if len(unknown_fields.UnknownFieldSet(msg)) > 0:
        raise Reject(f"{where}: unknown field or wrong wire type")
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if fd.label == fd.LABEL_REPEATED:
            for i, v in enumerate(value):
                _no_unknown(v, f"{where}.{fd.name}[{i}]")
        else:
            _no_unknown(value, f"{where}.{fd.name}")


# ---- JSON -> protobuf JSON (ids hex -> base64), with the mapping's rules ----

ID_KEYS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}
INT64_KEYS = {"intValue", "timeUnixNano", "startTimeUnixNano", "endTimeUnixNano",
              "observedTimeUnixNano"}


def _fix_json(node, path):
    if isinstance(node, list):
        return [_fix_json(v, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        where = f"{path}.{k}"
        if k in ID_KEYS and isinstance(v, str):
            if v != v.lower() or len(v) not in (0, 2 * ID_KEYS[k]):
                raise Reject(f"{where}: id must be {2 * ID_KEYS[k]} lowercase hex digits")
            try:
                raw = binascii.unhexlify(v)
            except binascii.Error:
                raise Reject(f"{where}: not hex")
            out[k] = base64.b64encode(raw).decode()
        elif k in INT64_KEYS:
            if not isinstance(v, str):
                raise Reject(f"{where}: 64-bit integer must be a JSON string")
            out[k] = v
        else:
            out[k] = _fix_json(v, where)
    return out


def _bad_constant(name):
    raise Reject(f"JSON constant {name} is not JSON")


def parse(signal, body, content_type, content_encoding=None):
    """Decodes a request body; returns the message. Raises Reject."""
    m = pb2()
    if content_encoding not in (None, "", "identity", "gzip"):
        raise Reject(f"unsupported Content-Encoding {content_encoding}", 415)
    if content_encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as e:
            raise Reject(f"bad gzip body: {e}")
    ctype = (content_type or "").split(";")[0].strip().lower()
    cls = m.ExportTraceServiceRequest if signal == "traces" else m.ExportLogsServiceRequest
    msg = cls()
    if ctype == "application/x-protobuf":
        try:
            msg.ParseFromString(body)
        except Exception as e:  # DecodeError, and UTF-8 errors
            raise Reject(f"protobuf decode: {e}")
        _no_unknown(msg, cls.__name__)
    elif ctype == "application/json":
        from google.protobuf import json_format
        try:
            obj = json.loads(body.decode("utf-8"), parse_constant=_bad_constant)
        except (UnicodeDecodeError, ValueError) as e:
            raise Reject(f"JSON decode: {e}")
        try:
            json_format.ParseDict(_fix_json(obj, "$"), msg, ignore_unknown_fields=False)
        except json_format.ParseError as e:
            raise Reject(f"OTLP/JSON: {e}")
    else:
        raise Reject(f"unsupported Content-Type {content_type!r}", 415)
    return msg


# ---- checks and plain data ---------------------------------------------------

def _id(raw, n, where, optional=False):
    if optional and len(raw) == 0:
        return ""
    if len(raw) != n:
        raise Reject(f"{where}: {len(raw)} bytes, want {n}")
    if raw == bytes(n):
        raise Reject(f"{where}: all-zero id")
    return raw.hex()


def value(av, where, depth=0):
    which = av.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return av.string_value
    if which == "bool_value":
        return av.bool_value
    if which == "int_value":
        return av.int_value
    if which == "double_value":
        d = av.double_value
        if math.isnan(d):
            return {"double": "NaN"}
        if math.isinf(d):
            return {"double": "Infinity" if d > 0 else "-Infinity"}
        return d
    if which == "array_value":
        return [value(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(av.array_value.values)]
    if which == "kvlist_value":
        return {"kvlist": attrs(av.kvlist_value.values, where)}
    if which == "bytes_value":
        return {"bytes": av.bytes_value.hex()}
    raise Reject(f"{where}: unknown AnyValue {which}")


def attrs(kvs, where):
    out = {}
    for i, kv in enumerate(kvs):
        if kv.key == "":
            raise Reject(f"{where}[{i}]: empty attribute key")
        if kv.key in out:
            raise Reject(f"{where}[{i}]: duplicate attribute key {kv.key!r}")
        out[kv.key] = value(kv.value, f"{where}.{kv.key}")
    return out


def _scope(sc):
    return {"name": sc.name, "version": sc.version}


def _flags(f, where):
    if f & ~0x3FF:
        raise Reject(f"{where}: undefined flag bits {f:#x}")
    if f & 0x200 and not f & 0x100:
        raise Reject(f"{where}: is-remote without has-is-remote")
    return f


def spans(msg):
    """Plain spans of an ExportTraceServiceRequest, each with its resource."""
    out = []
    for ri, rs in enumerate(msg.resource_spans):
        res = attrs(rs.resource.attributes, f"resource_spans[{ri}].resource")
        for si, ss in enumerate(rs.scope_spans):
            scope = _scope(ss.scope)
            for pi, s in enumerate(ss.spans):
                w = f"resource_spans[{ri}].scope_spans[{si}].spans[{pi}]"
                if s.kind not in (1, 2, 3, 4, 5):
                    raise Reject(f"{w}: span kind {s.kind}")
                if s.status.code not in (0, 1, 2):
                    raise Reject(f"{w}: status code {s.status.code}")
                if s.start_time_unix_nano == 0 or s.start_time_unix_nano > s.end_time_unix_nano:
                    raise Reject(f"{w}: start {s.start_time_unix_nano} end {s.end_time_unix_nano}")
                events = []
                for ei, e in enumerate(s.events):
                    events.append({"time": e.time_unix_nano, "name": e.name,
                                   "attributes": attrs(e.attributes, f"{w}.events[{ei}]"),
                                   "dropped_attributes": e.dropped_attributes_count})
                links = []
                for li, ln in enumerate(s.links):
                    lw = f"{w}.links[{li}]"
                    links.append({"trace_id": _id(ln.trace_id, 16, lw + ".trace_id"),
                                  "span_id": _id(ln.span_id, 8, lw + ".span_id"),
                                  "trace_state": ln.trace_state,
                                  "flags": _flags(ln.flags, lw + ".flags"),
                                  "attributes": attrs(ln.attributes, lw),
                                  "dropped_attributes": ln.dropped_attributes_count})
                out.append({
                    "resource": res, "scope": scope,
                    "trace_id": _id(s.trace_id, 16, w + ".trace_id"),
                    "span_id": _id(s.span_id, 8, w + ".span_id"),
                    "parent_span_id": _id(s.parent_span_id, 8, w + ".parent_span_id", True),
                    "trace_state": s.trace_state,
                    "flags": _flags(s.flags, w + ".flags"),
                    "name": s.name, "kind": s.kind,
                    "start": s.start_time_unix_nano, "end": s.end_time_unix_nano,
                    "attributes": attrs(s.attributes, w + ".attributes"),
                    "dropped_attributes": s.dropped_attributes_count,
                    "events": events, "dropped_events": s.dropped_events_count,
                    "links": links, "dropped_links": s.dropped_links_count,
                    "status": {"code": s.status.code, "message": s.status.message},
                })
    return out


def logs(msg):
    """Plain log records of an ExportLogsServiceRequest."""
    out = []
    for ri, rl in enumerate(msg.resource_logs):
        res = attrs(rl.resource.attributes, f"resource_logs[{ri}].resource")
        for si, sl in enumerate(rl.scope_logs):
            scope = _scope(sl.scope)
            for li, r in enumerate(sl.log_records):
                w = f"resource_logs[{ri}].scope_logs[{si}].log_records[{li}]"
                if not 0 <= r.severity_number <= 24:
                    raise Reject(f"{w}: severity_number {r.severity_number}")
                if r.flags & ~0xFF:
                    raise Reject(f"{w}: undefined flag bits {r.flags:#x}")
                if (len(r.trace_id) == 0) != (len(r.span_id) == 0):
                    raise Reject(f"{w}: trace_id and span_id must come together")
                out.append({
                    "resource": res, "scope": scope,
                    "time": r.time_unix_nano, "observed_time": r.observed_time_unix_nano,
                    "severity_number": r.severity_number, "severity_text": r.severity_text,
                    "body": value(r.body, w + ".body") if r.HasField("body") else None,
                    "attributes": attrs(r.attributes, w + ".attributes"),
                    "dropped_attributes": r.dropped_attributes_count,
                    "flags": r.flags,
                    "trace_id": _id(r.trace_id, 16, w + ".trace_id", True),
                    "span_id": _id(r.span_id, 8, w + ".span_id", True),
                })
    return out


def decode(signal, body, content_type, content_encoding=None):
    """parse() and the checks: the plain spans or log records."""
    msg = parse(signal, body, content_type, content_encoding)
    return spans(msg) if signal == "traces" else logs(msg)


def main():
    """otlp_decode.py traces|logs FILE [json|protobuf]: prints the plain data."""
    signal, path = sys.argv[1], sys.argv[2]
    ctype = "application/json" if len(sys.argv) > 3 and sys.argv[3] == "json" \
        else "application/x-protobuf"
    with open(path, "rb") as f:
        body = f.read()
    try:
        print(json.dumps(decode(signal, body, ctype)))
    except Reject as e:
        print(json.dumps({"reject": e.text}))
        sys.exit(2)


if __name__ == "__main__":
    main()
