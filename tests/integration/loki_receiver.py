#!/usr/bin/env python3
"""A strict stand-in for Grafana Loki's push API, for spanlog's tests.

It speaks both of Loki's push formats: JSON (Content-Type application/json,
optionally gzip/deflate) and protobuf (any other Content-Type, as in Loki: a
logproto.PushRequest in the Snappy *block* format, decoded here by a decoder
of its own, independent of any client's encoder). On both it enforces the
rules a real Loki applies to POST /loki/api/v1/push (content type, encodings,
body shape, nanosecond timestamps, label syntax and count, label strings in
Prometheus form unquoted as Loki's parser does, valid UTF-8 label values,
line size, structured metadata, timestamp windows, silent dropping of
same-timestamp duplicates), keeps every accepted entry, and lets a test
inject the faults a sink must survive (5xx/429 runs, Retry-After, rejected
batches, slow answers, answers that never come, refused connections, Loki
2.9 without structured metadata and with its JSON label decoding, an
ingestion burst limit, a configurable max_line_size, tenant and auth checks).

Usage:
    python3 loki_receiver.py --port-file PATH [--host 127.0.0.1] [--port 0]

Once listening it writes "<port>\\n" to PATH atomically (temp file + rename).
It serves until SIGTERM/SIGINT, POST /control/shutdown, its parent exiting, or
--lifetime seconds (default 900) passing, so a crashed test never leaves it
behind. It writes nothing to stdout; errors go to stderr.

Python 3 standard library only. The control API is described on class
Handler below; loki_receiver_selftest.py shows every rule and fault in use.

Fault settings (POST /control/faults, JSON, each key optional, merged into
the current state; GET /control/faults shows it):
  fail: [{"status": 503, "count": 3, "body": "..."}]  the next pushes get these
      statuses in order, nothing stored (replaces any pending list)
  retry_after: "2" | null     Retry-After header on 429/503 answers while set
  reject_next: N              the next N pushes get 400 "rejected by test"
  delay_ms: MS, delay_count: N  the next N pushes wait MS before being
      processed (no delay_count: every push until delay_ms is 0/null). A
      client that gives up meanwhile is noticed: nothing of its push is
      stored and the request is logged with status 499, as when Loki sees a
      cancelled request. Choose MS well above the client's timeout.
  refuse_for_ms: MS           close the listening socket and every other open
      connection, then answer this request (Connection: close); reopen on
      the same port MS later. Connecting meanwhile is refused.
  loki29: true|false          a push holding any non-empty structured metadata
      gets 400 (Loki 2.9's text, which includes "disallowed", plus
      "structured metadata is not allowed"); nothing of it is stored
  loki29_json_labels: true|false  JSON label values are kept as written, escapes
      and all, as Loki 2.9's JSON decoder does (a value sent as "a\"b" is
      stored as a\"b); protobuf label strings are unquoted properly either way
  require_tenant: "acme"|null X-Scope-OrgID must equal it, else 401 "no org id"
  require_auth: "Bearer x"|null  Authorization must equal it, else 401
  hang: true|false            every push is read and then never answered, until
      the client gives up (logged as 499, nothing stored) or hang is cleared
      (the push is then processed normally): Loki accepting and never replying
  burst_bytes: N|null         a push whose lines total more than N bytes is
      refused whole with 429 and Loki's "ingestion rate limit exceeded ...
      while attempting to ingest 'L' lines totaling 'M' bytes" text (a push
      larger than the rate limiter's burst can never be accepted)
  max_line_size: N            Loki's max_line_size (default 262144, Loki 3's;
      0: no limit, Loki 2.9's default). A longer line is refused; the valid
      lines of its push are stored and the push answered 400 (Loki's partial
      400: "Max entry size ... exceeded ...")
Order on each push: hang, delay, fail, reject_next, auth, tenant, then
decoding, burst, then Loki's rules.

Counters: accepted (entries stored), duplicates_dropped, pushes (push
requests received), rejected_entries (entries of decodable pushes that were
not stored: invalid stream or entry, loki29, reject_next, burst).

Each request in the log holds status, bytes (on the wire), decoded_bytes,
encoding (Content-Encoding), format ("json", "protobuf" or null when the
body was never decoded), tenant, entries (decoded), stored and error.

Where this receiver is deliberately stricter than Loki (a strict peer proves a
sink right; it never excuses a sink):
  * invalid UTF-8 and lone surrogate escapes in the body are a 400 (Loki
    replaces them with U+FFFD);
  * a label name or metadata key given twice in one object is a 400 (Loki
    keeps the last);
  * a stream object must hold "stream" (object) and "values" (array), and a
    value must be [ts, line] or [ts, line, {metadata}] (Loki ignores extras);
  * the top-level object must hold "streams" (array);
  * protobuf: a line or metadata string that is not valid UTF-8 is a 400
    (Loki's gogo decoder stores the bytes); a field with the wrong wire type,
    a truncated field, a group, a timestamp whose nanos are outside
    [0, 1e9) are a 400 (as in Loki); unknown fields are skipped (as in Loki).
"""

import argparse
import json
import os
import queue
import re
import select
import signal
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Loki's defaults (limits_config and server config).
MAX_DECODED_BYTES = 4194304  # grpc_server_max_recv_msg_size: a larger push fails with 500
MAX_LINE_BYTES = 262144  # max_line_size (256 KiB), counted in UTF-8 bytes
MAX_LABEL_NAMES = 15  # max_label_names_per_series
MAX_LABEL_NAME_LEN = 1024  # max_label_name_length
MAX_LABEL_VALUE_LEN = 2048  # max_label_value_length
MAX_METADATA_BYTES = 65536  # max_structured_metadata_size (names + values per entry)
MAX_METADATA_ENTRIES = 128  # max_structured_metadata_entries_count
REJECT_OLDER_NS = 7 * 24 * 3600 * 10**9  # reject_old_samples_max_age 168h
CREATION_GRACE_NS = 10 * 60 * 10**9  # creation_grace_period 10m
BEHIND_NEWEST_NS = 3600 * 10**9  # max_chunk_age 2h / 2: unordered-writes window
MAX_INT64 = 2**63 - 1

# Test-only guards, not Loki rules: they keep a broken client from eating memory.
MAX_WIRE_BYTES = 64 * 1024 * 1024
MAX_INFLATE_BYTES = 64 * 1024 * 1024

LABEL_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")

LOKI29_TEXT = (
    "stream '%s' includes structured metadata, but this feature is disallowed. "
    "Please see `limits_config.allow_structured_metadata` or contact your Loki "
    "administrator to enable it. (structured metadata is not allowed)"
)

RATE_LIMIT_TEXT = (
    "ingestion rate limit exceeded for user %s (limit: %d bytes/sec) while "
    "attempting to ingest '%d' lines totaling '%d' bytes, reduce log volume or "
    "contact your Loki administrator to see if the limit can be increased"
)

FAULT_KEYS = {
    "fail",
    "hang",
    "burst_bytes",
    "max_line_size",
    "loki29_json_labels",
    "retry_after",
    "reject_next",
    "delay_ms",
    "delay_count",
    "refuse_for_ms",
    "loki29",
    "require_tenant",
    "require_auth",
}


class RequestError(Exception):
    """The whole push is refused with this status; nothing is stored."""

    def __init__(self, status, text, entries=0):
        super().__init__(text)
        self.status = status
        self.text = text
        self.entries = entries


def _no_constant(name):
    raise ValueError("JSON constant %s is not allowed" % name)


def _pairs_checked(pairs):
    """object_pairs_hook: keep key order, remember keys given twice."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                return _DupObject(obj, key)
            seen.add(key)
    return obj


class _DupObject(dict):
    """A JSON object in which `dup` appeared twice; rejected where it matters."""

    def __init__(self, obj, dup):
        super().__init__(obj)
        self.dup = dup


# Python decodes a \\uD800-\\uDFFF escape without a partner into a lone
# surrogate; only bodies holding such an escape need the per-string check.
SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89abcdefABCDEF]")

_name_cache = {}


def valid_name(name):
    """Label-name syntax, memoised: the same few names recur in every push."""
    ok = _name_cache.get(name)
    if ok is None:
        ok = LABEL_NAME_RE.match(name) is not None
        if len(_name_cache) < 4096:
            _name_cache[name] = ok
    return ok


def utf8_len(text):
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8"))


def labels_text(labels):
    """Loki's way of naming a stream in error messages: {a="b", c="d"}."""
    return "{" + ", ".join('%s="%s"' % (k, labels[k]) for k in sorted(labels)) + "}"


def parse_push(body):
    """Decode and shape-check a JSON push body.

    Returns a list of (labels dict, [(ts_int, ts_str, line, metadata), ...]).
    Shape errors are RequestErrors (400, nothing stored), as in Loki, where
    they come from the JSON decoder before anything is validated or stored.
    The entry loop is written out flat: it runs for every record a benchmark
    pushes.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, "body is not valid UTF-8: %s" % e)
    try:
        doc = json.loads(
            text, object_pairs_hook=_pairs_checked, parse_constant=_no_constant
        )
    except ValueError as e:
        raise RequestError(400, "invalid JSON: %s" % e)
    if not isinstance(doc, dict):
        raise RequestError(400, "push body must be a JSON object")
    streams = doc.get("streams")
    if not isinstance(streams, list):
        raise RequestError(400, 'push body must hold "streams" as an array')
    out = []
    for si, stream in enumerate(streams):
        if not isinstance(stream, dict):
            raise RequestError(400, "streams[%d] is not an object" % si)
        labels = stream.get("stream")
        values = stream.get("values")
        if not isinstance(labels, dict):
            raise RequestError(400, 'streams[%d] must hold "stream" as an object' % si)
        if not isinstance(values, list):
            raise RequestError(400, 'streams[%d] must hold "values" as an array' % si)
        for name, value in labels.items():
            if type(value) is not str:
                raise RequestError(
                    400, "streams[%d] label %r: value must be a string" % (si, name)
                )
        entries = []
        append = entries.append
        for vi, value in enumerate(values):
            if type(value) is not list or not 2 <= len(value) <= 3:
                raise _entry_shape(si, vi, "must be [ts, line] or [ts, line, {metadata}]")
            ts = value[0]
            line = value[1]
            if type(ts) is not str:
                raise _entry_shape(si, vi, "timestamp must be a string of unix nanoseconds")
            if not (ts.isascii() and ts.isdigit()):
                raise _entry_shape(si, vi, "timestamp %r is not decimal digits" % ts)
            ts_int = int(ts)
            if ts_int > MAX_INT64:
                raise _entry_shape(si, vi, "timestamp %s overflows int64" % ts)
            if type(line) is not str:
                raise _entry_shape(si, vi, "line must be a string")
            metadata = None
            if len(value) == 3:
                metadata = value[2]
                if not isinstance(metadata, dict):
                    raise _entry_shape(si, vi, "structured metadata must be an object")
                for mkey, mval in metadata.items():
                    if type(mval) is not str:
                        raise _entry_shape(
                            si, vi, "structured metadata %r must be a string" % mkey
                        )
            append((ts_int, ts, line, metadata))
        out.append((labels, entries))
    if SURROGATE_ESCAPE_RE.search(text):
        _refuse_lone_surrogates(out)
    return out


def _entry_shape(si, vi, what):
    return RequestError(400, "streams[%d].values[%d]: %s" % (si, vi, what))


def _refuse_lone_surrogates(parsed):
    def check(text, what):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(400, "%s holds a lone surrogate escape (invalid Unicode)" % what)

    for labels, entries in parsed:
        for name, value in labels.items():
            check(name, "label name")
            check(value, "label value")
        for _, _, line, metadata in entries:
            check(line, "line")
            for mkey, mval in (metadata or {}).items():
                check(mkey, "structured metadata name")
                check(mval, "structured metadata value")


# ---- protobuf + snappy ------------------------------------------------------
#
# Loki decodes a push of any Content-Type but application/json as a
# logproto.PushRequest compressed in the Snappy block format (not the framed
# stream format):
#
#   PushRequest      { repeated StreamAdapter streams = 1; }
#   StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2;
#                      uint64 hash = 3; }
#   EntryAdapter     { Timestamp timestamp = 1; string line = 2;
#                      repeated LabelPairAdapter structuredMetadata = 3; }
#   LabelPairAdapter { string name = 1; string value = 2; }
#   Timestamp        { int64 seconds = 1; int32 nanos = 2; }
#
# The labels travel as one string in Prometheus form, {a="b", c="d"}, which
# Loki parses with its LogQL label parser (Go string literals).


class ProtoError(Exception):
    """The body is not a well-formed PushRequest: 400, nothing stored."""


def snappy_decode(data, limit):
    """Snappy block format -> bytes. RequestError 400 when corrupt."""

    def corrupt(why):
        return RequestError(400, "snappy: corrupt input (%s)" % why)

    try:
        n, pos = _varint(data, 0, len(data))
    except ProtoError:
        raise corrupt("bad length header")
    if n > limit:
        raise RequestError(
            400, "snappy: decoded length %d is over this receiver's %d" % (n, limit)
        )
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                if pos + nb > end:
                    raise corrupt("truncated literal length")
                ln = int.from_bytes(data[pos : pos + nb], "little")
                pos += nb
            ln += 1
            if pos + ln > end:
                raise corrupt("truncated literal")
            if len(out) + ln > n:
                raise corrupt("literal past the declared length")
            out += data[pos : pos + ln]
            pos += ln
            continue
        if kind == 1:
            if pos + 1 > end:
                raise corrupt("truncated copy")
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            if pos + 2 > end:
                raise corrupt("truncated copy")
            ln = (tag >> 2) + 1
            off = int.from_bytes(data[pos : pos + 2], "little")
            pos += 2
        else:
            if pos + 4 > end:
                raise corrupt("truncated copy")
            ln = (tag >> 2) + 1
            off = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        if off == 0 or off > len(out):
            raise corrupt("copy offset %d with %d bytes decoded" % (off, len(out)))
        if len(out) + ln > n:
            raise corrupt("copy past the declared length")
        start = len(out) - off
        if off >= ln:
            out += out[start : start + ln]
        else:  # overlapping: the last `off` bytes repeat
            chunk = bytes(out[start:])
            out += (chunk * (ln // off + 1))[:ln]
    if len(out) != n:
        raise corrupt("decoded %d bytes, header says %d" % (len(out), n))
    return bytes(out)


def _varint(buf, pos, end):
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")
    if result >> 64:
        raise ProtoError("varint overflows 64 bits")
    return result, pos


def _fields(buf, pos, end, what):
    """Yields (field, wire type, value): an int, or a (start, end) slice for type 2."""
    # One-byte keys and lengths (nearly all of them) skip the _varint call:
    # this loop runs a dozen times per entry.
    while pos < end:
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        field, wt = key >> 3, key & 7
        if field == 0:
            raise ProtoError("%s: illegal field number 0" % what)
        if wt == 2:
            if pos < end and buf[pos] < 0x80:
                n = buf[pos]
                pos += 1
            else:
                n, pos = _varint(buf, pos, end)
            if n > end - pos:
                raise ProtoError("%s: field %d: length %d past the end" % (what, field, n))
            value = (pos, pos + n)
            pos += n
        elif wt == 0:
            value, pos = _varint(buf, pos, end)
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
            if n > end - pos:
                raise ProtoError("%s: field %d truncated" % (what, field))
            value = int.from_bytes(buf[pos : pos + n], "little")
            pos += n
        else:
            raise ProtoError("%s: field %d: wire type %d not supported" % (what, field, wt))
        yield field, wt, value


def _want(wt, expect, what, field):
    if wt != expect:
        raise ProtoError("%s: wrong wireType = %d for field %d" % (what, wt, field))


def _signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _timestamp(buf, span):
    sec = 0
    nanos = 0
    pos, end = span
    while pos < end:  # flat: one per entry
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        field, wt = key >> 3, key & 7
        if field == 0:
            raise ProtoError("Timestamp: illegal field number 0")
        if field in (1, 2) and wt != 0:
            raise ProtoError("Timestamp: wrong wireType = %d for field %d" % (wt, field))
        if wt == 0:
            v, pos = _varint(buf, pos, end)
        elif wt == 2:
            n, pos = _varint(buf, pos, end)
            if n > end - pos:
                raise ProtoError("Timestamp: field %d: length %d past the end" % (field, n))
            pos += n
            continue
        elif wt == 1 or wt == 5:
            pos += 8 if wt == 1 else 4
            if pos > end:
                raise ProtoError("Timestamp: field %d truncated" % field)
            continue
        else:
            raise ProtoError("Timestamp: field %d: wire type %d not supported" % (field, wt))
        if field == 1:
            sec = _signed64(v)
        elif field == 2:
            nanos = _signed64(v)
            if not -(2**31) <= nanos < 2**31:
                raise ProtoError("Timestamp: nanos overflows int32")
    if not 0 <= nanos < 10**9:
        raise ProtoError("timestamp: nanos not in range [0, 1e9): %d" % nanos)
    ts = sec * 10**9 + nanos
    if not 0 <= ts <= MAX_INT64:
        raise ProtoError("timestamp %d s is outside int64 nanoseconds since 1970" % sec)
    return ts


def _ld_fields(buf, pos, end, what):
    """The fields of a message whose known fields are all length-delimited.

    Returns [(field, start, stop)] for wire type 2; other wire types are
    skipped when the field is unknown (> 3), refused otherwise. Written flat
    (no generator): it runs for every entry and every metadata pair."""
    out = []
    while pos < end:
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        field = key >> 3
        wt = key & 7
        if field == 0:
            raise ProtoError("%s: illegal field number 0" % what)
        if wt == 2:
            n = buf[pos] if pos < end else 0x80
            if n < 0x80:
                pos += 1
            else:
                n, pos = _varint(buf, pos, end)
            if n > end - pos:
                raise ProtoError("%s: field %d: length %d past the end" % (what, field, n))
            out.append((field, pos, pos + n))
            pos += n
        elif field <= 3:
            raise ProtoError("%s: wrong wireType = %d for field %d" % (what, wt, field))
        elif wt == 0:
            _, pos = _varint(buf, pos, end)
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
            if n > end - pos:
                raise ProtoError("%s: field %d truncated" % (what, field))
            pos += n
        else:
            raise ProtoError("%s: field %d: wire type %d not supported" % (what, field, wt))
    return out


def _utf8(buf, start, stop, what):
    try:
        return buf[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtoError("%s is not valid UTF-8" % what)


def _entry(buf, span):
    ts = 0
    line = ""
    pairs = None
    for field, start, stop in _ld_fields(buf, span[0], span[1], "EntryAdapter"):
        if field == 1:
            ts = _timestamp(buf, (start, stop))
        elif field == 2:
            line = _utf8(buf, start, stop, "line")
        elif field == 3:
            name = value = ""
            for f2, s2, e2 in _ld_fields(buf, start, stop, "LabelPairAdapter"):
                if f2 == 1:
                    name = _utf8(buf, s2, e2, "structured metadata name")
                elif f2 == 2:
                    value = _utf8(buf, s2, e2, "structured metadata value")
            if pairs is None:
                pairs = []
            pairs.append((name, value))
    metadata = None
    if pairs is not None:
        metadata = _pairs_checked(pairs)
    return (ts, str(ts), line, metadata)


def parse_push_proto(decoded):
    """A decoded (snappy-inflated) PushRequest -> the shape parse_push returns."""
    out = []
    try:
        for field, wt, v in _fields(decoded, 0, len(decoded), "PushRequest"):
            if field != 1:
                continue
            _want(wt, 2, "PushRequest", 1)
            labels_raw = b""
            entries = []
            for f2, wt2, v2 in _fields(decoded, v[0], v[1], "StreamAdapter"):
                if f2 == 1:
                    _want(wt2, 2, "StreamAdapter", 1)
                    labels_raw = decoded[v2[0] : v2[1]]
                elif f2 == 2:
                    _want(wt2, 2, "StreamAdapter", 2)
                    entries.append(_entry(decoded, v2))
                elif f2 == 3:
                    _want(wt2, 0, "StreamAdapter", 3)
            out.append((parse_label_string(labels_raw), entries))
    except ProtoError as e:
        raise RequestError(400, "decoding the protobuf PushRequest: %s" % e)
    return out


class _BadLabels(dict):
    """A stream whose label string Loki's parser refuses: the stream is skipped."""

    def __init__(self, error):
        super().__init__()
        self.error = error


_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
               "v": "\v", "\\": "\\", '"': '"'}


def _go_unquote(text, i):
    """A Go string literal starting at text[i] (" or `): (bytes, index after)."""
    q = text[i]
    i += 1
    out = bytearray()
    if q == "`":
        j = text.find("`", i)
        if j < 0:
            raise ValueError("unterminated raw string")
        return text[i:j].encode("utf-8", "surrogateescape"), j + 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated quoted string")
        c = text[i]
        if c == '"':
            return bytes(out), i + 1
        if c == "\n":
            raise ValueError("newline in string")
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= len(text):
            raise ValueError("unterminated quoted string")
        e = text[i + 1]
        i += 2
        if e in _GO_ESCAPES:
            out += _GO_ESCAPES[e].encode()
        elif e == "x":
            h = text[i : i + 2]
            if len(h) != 2 or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                raise ValueError("invalid \\x escape")
            out.append(int(h, 16))
            i += 2
        elif e in "01234567":
            o = text[i - 1 : i + 2]
            if len(o) != 3 or not all(ch in "01234567" for ch in o) or int(o, 8) > 255:
                raise ValueError("invalid octal escape")
            out.append(int(o, 8))
            i += 2
        elif e in "uU":
            n = 4 if e == "u" else 8
            h = text[i : i + n]
            if len(h) != n or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                raise ValueError("invalid \\%s escape" % e)
            cp = int(h, 16)
            if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF:
                raise ValueError("escape \\%s%s is not a valid rune" % (e, h))
            out += chr(cp).encode("utf-8")
            i += n
        else:
            raise ValueError("unknown escape sequence \\%s" % e)


def parse_label_string(raw):
    """Loki's label parser on {a="b", c="d"}: a dict, _DupObject or _BadLabels."""
    try:
        text = raw.decode("utf-8", "surrogateescape")
    except UnicodeDecodeError:  # pragma: no cover (surrogateescape never fails)
        return _BadLabels("error parsing labels: invalid UTF-8 rune")

    def bad(why):
        return _BadLabels("error parsing labels %r: %s" % (text[:200], why))

    i = 0
    n = len(text)

    def skip(i):
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(i)
    if i >= n or text[i] != "{":
        return bad("syntax error: expected {")
    i = skip(i + 1)
    pairs = []
    while i < n and text[i] != "}":
        j = i
        while j < n and (text[j].isascii() and (text[j].isalnum() or text[j] in "_:")):
            j += 1
        name = text[i:j]
        if not name:
            return bad("syntax error: expected a label name at offset %d" % i)
        if not LABEL_NAME_RE.match(name):
            return _BadLabels("error parsing labels: invalid label name %r" % name)
        i = skip(j)
        if i >= n or text[i] != "=" or text[i : i + 2] == "=~":
            return bad("syntax error: expected = after %s" % name)
        i = skip(i + 1)
        if i >= n or text[i] not in "\"`":
            return bad("syntax error: expected a quoted value for %s" % name)
        try:
            value_bytes, i = _go_unquote(text, i)
        except ValueError as e:
            return bad(str(e))
        try:
            value = value_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return bad("invalid UTF-8 rune in the value of %s" % name)
        pairs.append((name, value))
        i = skip(i)
        if i < n and text[i] == ",":
            i = skip(i + 1)
        elif i < n and text[i] != "}":
            return bad("syntax error: expected , or } after the value of %s" % name)
    if i >= n:
        return bad("syntax error: missing }")
    if skip(i + 1) != n:
        return bad("syntax error: text after }")
    return _pairs_checked(pairs)


def _json_labels_as_written(labels):
    """Loki 2.9.9's JSON decoder keeps label values escaped as they were sent."""
    if isinstance(labels, (_DupObject, _BadLabels)):
        return labels
    return {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in labels.items()}


def stream_error(labels):
    """Loki's per-stream label validation: a bad stream is skipped entirely."""
    if isinstance(labels, _BadLabels):
        return labels.error
    if isinstance(labels, _DupObject):
        return "stream has label name %r twice" % labels.dup
    if not labels:
        return "error at least one label pair is required per stream"
    if len(labels) > MAX_LABEL_NAMES:
        return "entry for stream '%s' has %d label names; limit %d" % (
            labels_text(labels),
            len(labels),
            MAX_LABEL_NAMES,
        )
    for name, value in labels.items():
        if not LABEL_NAME_RE.match(name):
            return "error parsing labels: invalid label name %r in stream '%s'" % (
                name,
                labels_text(labels),
            )
        if len(name.encode("utf-8")) > MAX_LABEL_NAME_LEN:
            return "label name too long: %r" % name[:64]
        if len(value.encode("utf-8")) > MAX_LABEL_VALUE_LEN:
            return "label value too long for label %r" % name
    return None


def entry_error(stream_name, ts_int, line, metadata, now_ns, max_line=MAX_LINE_BYTES):
    """Loki's per-entry validation in the distributor (entry skipped)."""
    size = len(line) if line.isascii() else len(line.encode("utf-8"))
    if max_line and size > max_line:
        return (
            "Max entry size '%d' bytes exceeded for stream '%s' while adding an "
            "entry with length '%d' bytes" % (max_line, stream_name, size)
        )
    if ts_int < now_ns - REJECT_OLDER_NS:
        return "entry for stream '%s' has timestamp too old: %d, oldest acceptable timestamp is: %d" % (
            stream_name,
            ts_int,
            now_ns - REJECT_OLDER_NS,
        )
    if ts_int > now_ns + CREATION_GRACE_NS:
        return "entry for stream '%s' has timestamp too new: %d" % (stream_name, ts_int)
    if metadata:
        if isinstance(metadata, _DupObject):
            return "structured metadata has name %r twice" % metadata.dup
        if len(metadata) > MAX_METADATA_ENTRIES:
            return "structured metadata has %d entries; limit %d" % (
                len(metadata),
                MAX_METADATA_ENTRIES,
            )
        chars = 0
        for key, value in metadata.items():
            if not valid_name(key):
                return "invalid structured metadata name %r for stream '%s'" % (
                    key,
                    stream_name,
                )
            chars += len(key) + len(value)
        # A character is at most 4 UTF-8 bytes: count bytes only near the limit.
        total = chars
        if chars * 4 > MAX_METADATA_BYTES:
            total = sum(utf8_len(k) + utf8_len(v) for k, v in metadata.items())
        if total > MAX_METADATA_BYTES:
            return "structured metadata size %d bytes exceeds limit %d" % (
                total,
                MAX_METADATA_BYTES,
            )
    return None


class Stream:
    __slots__ = ("labels", "entries", "newest", "last_ts", "last_line")

    def __init__(self, labels):
        self.labels = dict(labels)
        self.entries = []
        self.newest = None
        self.last_ts = None
        self.last_line = None


class Store:
    """Everything a test can read back, behind one lock."""

    def __init__(self, keep_lines=True):
        self.lock = threading.Lock()
        self.keep_lines = keep_lines
        self._clear()

    def _clear(self):
        self.streams = {}  # sorted label tuple -> Stream, in order of first use
        self.requests = []
        self.counters = {
            "accepted": 0,
            "rejected_entries": 0,
            "duplicates_dropped": 0,
            "pushes": 0,
        }
        self.faults = {
            "fail": [],
            "retry_after": None,
            "reject_next": 0,
            "delay_ms": 0,
            "delay_count": 0,
            "loki29": False,
            "loki29_json_labels": False,
            "require_tenant": None,
            "require_auth": None,
            "hang": False,
            "burst_bytes": None,
            "max_line_size": MAX_LINE_BYTES,
        }

    def reset(self):
        with self.lock:
            self._clear()

    def apply(self, parsed, now_ns):
        """Validate and store parsed streams; returns (stored, error texts).

        Runs under the lock so that the per-stream state (newest timestamp,
        previous line) is read and updated atomically with the append.
        """
        errors = []
        stored = 0
        rejected = 0
        max_line = self.faults["max_line_size"]
        for labels, entries in parsed:
            err = stream_error(labels)
            if err:
                errors.append(err)
                rejected += len(entries)
                continue
            key = tuple(sorted(labels.items()))
            stream = self.streams.get(key)
            if stream is None:
                # Listed only once it holds an entry, as in Loki.
                stream = Stream(labels)
            name = labels_text(labels)
            stored_here = 0
            for ts_int, ts_str, line, metadata in entries:
                err = entry_error(name, ts_int, line, metadata, now_ns, max_line)
                if err is None:
                    # Ingester rules: the duplicate check comes first, then
                    # the unordered-writes window behind the newest entry.
                    if ts_int == stream.last_ts and line == stream.last_line:
                        self.counters["duplicates_dropped"] += 1
                        continue
                    if stream.newest is not None and ts_int < stream.newest - BEHIND_NEWEST_NS:
                        err = (
                            "entry with timestamp %d ignored, reason: 'entry too far "
                            "behind, oldest acceptable timestamp is: %d' for stream: %s"
                            % (ts_int, stream.newest - BEHIND_NEWEST_NS, name)
                        )
                if err:
                    errors.append(err)
                    rejected += 1
                    continue
                if self.keep_lines:
                    stream.entries.append((ts_str, line, metadata))
                if stored_here == 0 and key not in self.streams:
                    self.streams[key] = stream
                stored_here += 1
                stream.last_ts = ts_int
                stream.last_line = line
                if stream.newest is None or ts_int > stream.newest:
                    stream.newest = ts_int
                stored += 1
        self.counters["accepted"] += stored
        self.counters["rejected_entries"] += rejected
        return stored, errors

    def snapshot(self):
        with self.lock:
            streams = [
                {
                    "labels": s.labels,
                    "entries": [
                        {"ts": ts, "line": line, "metadata": md}
                        for ts, line, md in s.entries
                    ],
                }
                for s in self.streams.values()
            ]
            return {
                "streams": streams,
                "requests": list(self.requests),
                "counters": dict(self.counters),
            }

    def set_faults(self, update):
        """Validate a /control/faults body and merge it; returns the new state."""
        if not isinstance(update, dict):
            raise RequestError(400, "faults body must be a JSON object")
        unknown = set(update) - FAULT_KEYS
        if unknown:
            raise RequestError(400, "unknown fault keys: %s" % ", ".join(sorted(unknown)))
        clean = {}
        for key, value in update.items():
            clean[key] = _check_fault(key, value)
        with self.lock:
            for key, value in clean.items():
                if key == "refuse_for_ms":
                    continue
                if key == "delay_ms" and "delay_count" not in clean:
                    # A delay without a count applies until cleared.
                    self.faults["delay_count"] = -1 if value else 0
                self.faults[key] = value
            return self.faults_view()

    def faults_view(self):
        view = dict(self.faults)
        view["fail"] = [dict(f) for f in self.faults["fail"]]
        return view


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fault(key, value):
    if key == "fail":
        if not isinstance(value, list):
            raise RequestError(400, "fail must be an array")
        out = []
        for item in value:
            if not isinstance(item, dict) or set(item) - {"status", "count", "body"}:
                raise RequestError(400, "fail items are {status, count[, body]}")
            status = item.get("status")
            count = item.get("count", 1)
            if not _is_int(status) or not 400 <= status <= 599:
                raise RequestError(400, "fail status must be an integer 400..599")
            if not _is_int(count) or count < 0:
                raise RequestError(400, "fail count must be a non-negative integer")
            body = item.get("body")
            if body is not None and not isinstance(body, str):
                raise RequestError(400, "fail body must be a string")
            if count:
                out.append({"status": status, "count": count, "body": body})
        return out
    if key in ("retry_after", "require_tenant", "require_auth"):
        if value is not None and not isinstance(value, str):
            raise RequestError(400, "%s must be a string or null" % key)
        return value
    if key in ("loki29", "loki29_json_labels", "hang"):
        if not isinstance(value, bool):
            raise RequestError(400, "%s must be true or false" % key)
        return value
    if key == "burst_bytes":
        if value is not None and (not _is_int(value) or value < 0):
            raise RequestError(400, "burst_bytes must be a non-negative integer or null")
        return value
    if key == "max_line_size":
        if not _is_int(value) or value < 0:
            raise RequestError(400, "max_line_size must be a non-negative integer (0: none)")
        return value
    if key == "delay_count":
        if not _is_int(value) or value < -1:
            raise RequestError(400, "delay_count must be an integer >= 0 (-1: unlimited)")
        return value
    if key in ("reject_next", "delay_ms", "refuse_for_ms"):
        if value is None:
            return 0
        if not _is_int(value) or value < 0:
            raise RequestError(400, "%s must be a non-negative integer" % key)
        return value
    raise RequestError(400, "unknown fault key %s" % key)


def inflate(body, encoding):
    """Decode Content-Encoding like Loki: "", gzip, deflate (raw), snappy (as is)."""
    if encoding in ("", "snappy"):
        return body
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = -zlib.MAX_WBITS
    else:
        raise RequestError(400, 'Content-Encoding "%s" not supported' % encoding)
    out = []
    total = 0
    data = body
    try:
        # Loop over gzip members: Go's gzip reader reads concatenated members.
        while True:
            d = zlib.decompressobj(wbits)
            chunk = d.decompress(data, MAX_INFLATE_BYTES + 1 - total)
            out.append(chunk)
            total += len(chunk)
            if total > MAX_INFLATE_BYTES:
                break
            if not d.eof:
                raise RequestError(400, "%s body is truncated" % encoding)
            data = d.unused_data
            if encoding != "gzip" or not data:
                break
    except zlib.error as e:
        raise RequestError(400, "%s body is corrupt: %s" % (encoding, e))
    return b"".join(out)


def parse_content_type(value):
    """Media type lowercased, or None when Go's mime.ParseMediaType would fail."""
    if value is None:
        return None
    parts = value.split(";")
    mtype = parts[0].strip().lower()
    if not re.match(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+\Z", mtype):
        return None
    for param in parts[1:]:
        if not param.strip():
            continue
        if not re.match(r"\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+=(\"[^\"]*\"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*\Z", param):
            return None
    return mtype


class BodyError(Exception):
    """The request body cannot be read as HTTP says; answer and close."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


class ClientGone(Exception):
    """The client closed the connection; there is nobody to answer."""


DEFAULT_FAIL_TEXT = {
    429: "Ingestion rate limit exceeded (injected by test)",
    500: "internal server error (injected by test)",
    502: "bad gateway (injected by test)",
    503: "service unavailable: ingester not ready (injected by test)",
    504: "gateway timeout (injected by test)",
}


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive like Loki's Go server.

    Control API (all JSON; a test drives it over loopback HTTP):
      POST /control/faults    merge fault settings (see FAULT_KEYS), answer state
      GET  /control/faults    current fault settings
      POST /control/reset     clear entries, requests, counters and faults
      POST /control/shutdown  answer, then stop the receiver
      GET  /control/entries   {"streams": [...], "requests": [...], "counters": {...}}
      GET  /control/counters  the counters alone (cheap, for benchmarks)
      GET  /ready             200 "ready", like Loki
    While refuse_for_ms is in force the listening socket is closed, so the
    control API is unreachable too: a test waits until the period has ended
    (poll the port with a deadline) before reading entries.
    """

    protocol_version = "HTTP/1.1"
    server_version = "spanlog-loki-receiver/1"
    timeout = 120  # an idle keep-alive connection is closed after this

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.app.track(self.connection, False)

    def log_message(self, format, *args):  # noqa: A002 (base class name)
        pass

    def log_error(self, format, *args):  # noqa: A002
        sys.stderr.write("loki_receiver: %s\n" % (format % args))

    # ---- plumbing ---------------------------------------------------------

    def reply(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)

    def reply_json(self, status, obj):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.reply(status, body, "application/json")

    def read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "Transfer-Encoding %r not supported" % te)
            return self._read_chunked()
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        cl = cl.strip()
        if not (cl.isascii() and cl.isdigit()):
            raise BodyError(400, "bad Content-Length %r" % cl)
        n = int(cl)
        if n > MAX_WIRE_BYTES:
            raise BodyError(413, "body of %d bytes is over this receiver's %d" % (n, MAX_WIRE_BYTES))
        data = self.rfile.read(n)
        if len(data) != n:
            raise ClientGone()
        return data

    def _read_chunked(self):
        parts = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ClientGone()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BodyError(400, "bad chunk size %r" % size_text)
            if size == 0:
                break
            total += size
            if total > MAX_WIRE_BYTES:
                raise BodyError(413, "chunked body is over this receiver's %d" % MAX_WIRE_BYTES)
            data = self.rfile.read(size)
            if len(data) != size:
                raise ClientGone()
            parts.append(data)
            if self.rfile.read(2) != b"\r\n":
                raise BodyError(400, "chunk not followed by CRLF")
        while True:  # trailers up to the blank line
            line = self.rfile.readline(8192)
            if not line:
                raise ClientGone()
            if line in (b"\r\n", b"\n"):
                break
        return b"".join(parts)

    def peer_closed(self):
        # The socket has a timeout, so Python would wait for readability
        # inside recv() whatever the flags: ask select() first.
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            data = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True
        return data == b""

    def wait_delay(self, seconds):
        """Wait like a slow Loki; False when the client gave up meanwhile."""
        app = self.server.app
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return not self.peer_closed()
            if app.stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
            if readable:
                if self.peer_closed():
                    return False
                app.stopping.wait(min(remaining, 0.05))

    def wait_hang(self):
        """Never answer while hang is set; False when the client gave up meanwhile."""
        app = self.server.app
        while True:
            with app.store.lock:
                if not app.store.faults["hang"]:
                    return True
            if app.stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and self.peer_closed():
                return False
            if readable:
                app.stopping.wait(0.05)

    def path_only(self):
        return self.path.split("?", 1)[0]

    # ---- routing ----------------------------------------------------------

    def do_GET(self):
        store = self.server.app.store
        path = self.path_only()
        if path == "/control/entries":
            self.reply_json(200, store.snapshot())
        elif path == "/control/counters":
            with store.lock:
                counters = dict(store.counters)
            self.reply_json(200, counters)
        elif path == "/control/faults":
            with store.lock:
                view = store.faults_view()
            self.reply_json(200, view)
        elif path == "/ready":
            self.reply(200, "ready")
        elif path == "/loki/api/v1/push":
            self.reply(405, "method not allowed")
        else:
            self.reply(404, "404 page not found")

    def do_POST(self):
        path = self.path_only()
        try:
            if path == "/loki/api/v1/push":
                self.handle_push()
            elif path.startswith("/control/"):
                self.handle_control(path)
            else:
                self.read_body()
                self.reply(404, "404 page not found")
        except BodyError as e:
            self.close_connection = True
            self.reply(e.status, e.text)
        except ClientGone:
            self.close_connection = True

    def handle_control(self, path):
        app = self.server.app
        body = self.read_body()
        if path == "/control/reset":
            app.store.reset()
            self.reply_json(200, {"reset": True})
        elif path == "/control/shutdown":
            self.close_connection = True
            self.reply_json(200, {"shutdown": True})
            app.commands.put(("shutdown",))
        elif path == "/control/faults":
            try:
                update = json.loads(body.decode("utf-8") or "null")
                view = app.store.set_faults(update)
            except (ValueError, UnicodeDecodeError) as e:
                self.reply(400, "faults body is not JSON: %s" % e)
                return
            except RequestError as e:
                self.reply(e.status, e.text)
                return
            refuse_ms = update.get("refuse_for_ms") or 0
            if refuse_ms:
                done = threading.Event()
                app.commands.put(("refuse", refuse_ms, self.connection, done))
                done.wait(10)
                view["refusing_ms"] = refuse_ms
                self.close_connection = True
            self.reply_json(200, view)
        else:
            self.reply(404, "unknown control endpoint")

    # ---- the push API -----------------------------------------------------

    def handle_push(self):
        app = self.server.app
        store = app.store
        record = {
            "t": time.monotonic(),
            "status": 0,
            "bytes": 0,
            "decoded_bytes": 0,
            "encoding": (self.headers.get("Content-Encoding") or "").strip().lower() or "identity",
            "format": None,
            "tenant": self.headers.get("X-Scope-OrgID"),
            "entries": 0,
            "stored": 0,
            "error": None,
        }
        try:
            try:
                body = self.read_body()
            except BodyError as e:
                record["status"] = e.status
                record["error"] = e.text
                raise
            record["bytes"] = len(body)
            with store.lock:
                store.counters["pushes"] += 1
                faults = store.faults
                delay_ms = 0
                if faults["delay_ms"] and faults["delay_count"] != 0:
                    delay_ms = faults["delay_ms"]
                    if faults["delay_count"] > 0:
                        faults["delay_count"] -= 1
                hang = faults["hang"]
            if hang and not self.wait_hang():
                raise ClientGone()
            if delay_ms and not self.wait_delay(delay_ms / 1000.0):
                # Like Loki when the client's context is cancelled: nothing
                # is stored, and nobody is left to read an answer.
                raise ClientGone()
            try:
                status, text, headers = self.process_push(body, record)
            except RequestError as e:
                status, text, headers = e.status, e.text, ()
            except Exception as e:  # a receiver bug must show, not hang a test
                import traceback

                traceback.print_exc(file=sys.stderr)
                status, text, headers = 500, "receiver bug: %r" % e, ()
            record["status"] = status
            record["error"] = text or None
        except ClientGone:
            record["status"] = 499
            record["error"] = "client closed the connection before the answer"
            with store.lock:
                store.requests.append(record)
            raise
        except BodyError:
            with store.lock:
                store.requests.append(record)
            raise
        with store.lock:
            store.requests.append(record)
        self.reply(status, text or b"", headers=headers)

    def process_push(self, body, record):
        store = self.server.app.store
        with store.lock:
            faults = store.faults
            fail = None
            if faults["fail"]:
                fail = faults["fail"][0]
                fail["count"] -= 1
                if fail["count"] <= 0:
                    faults["fail"].pop(0)
                retry_after = faults["retry_after"]
            reject = faults["reject_next"] > 0
            if reject:
                faults["reject_next"] -= 1
            loki29 = faults["loki29"]
            need_tenant = faults["require_tenant"]
            need_auth = faults["require_auth"]
        if fail is not None:
            status = fail["status"]
            headers = []
            if status in (429, 503) and retry_after is not None:
                headers.append(("Retry-After", retry_after))
            text = fail["body"] or DEFAULT_FAIL_TEXT.get(status, "error %d (injected by test)" % status)
            return status, text, headers
        if reject:
            try:
                parsed, _ = self.decode(body, record)
                n = sum(len(entries) for _, entries in parsed)
            except RequestError:
                n = 0
            with store.lock:
                store.counters["rejected_entries"] += n
            return 400, "rejected by test", ()
        if need_auth is not None and self.headers.get("Authorization") != need_auth:
            return 401, "authentication failed: Authorization header missing or wrong", ()
        if need_tenant is not None and self.headers.get("X-Scope-OrgID") != need_tenant:
            return 401, "no org id", ()

        parsed, json_labels_raw = self.decode(body, record)
        n = sum(len(entries) for _, entries in parsed)
        record["entries"] = n
        with store.lock:
            burst = store.faults["burst_bytes"]
        if burst is not None:
            total = sum(utf8_len(line) for _, entries in parsed for _, _, line, _ in entries)
            if total > burst:
                with store.lock:
                    store.counters["rejected_entries"] += n
                user = self.headers.get("X-Scope-OrgID") or "fake"
                return 429, RATE_LIMIT_TEXT % (user, burst, n, total), ()
        if json_labels_raw:
            parsed = [(_json_labels_as_written(labels), entries) for labels, entries in parsed]
        if loki29:
            for labels, entries in parsed:
                if any(md for _, _, _, md in entries):
                    with store.lock:
                        store.counters["rejected_entries"] += n
                    return 400, LOKI29_TEXT % labels_text(labels), ()
        now_ns = time.time_ns()
        with store.lock:
            stored, errors = store.apply(parsed, now_ns)
        record["stored"] = stored
        if errors:
            text = "\n".join(errors[:5])
            if len(errors) > 5:
                text += "\n(and %d more errors)" % (len(errors) - 5)
            return 400, text, ()
        return 204, None, ()

    def _encoding(self):
        return (self.headers.get("Content-Encoding") or "").strip().lower()

    def decode(self, body, record):
        """Content-Encoding, then JSON or protobuf+snappy by Content-Type, as Loki does.

        Returns (parsed streams, whether JSON label values are to be kept as
        written, Loki 2.9 style)."""
        store = self.server.app.store
        raw_type = self.headers.get("Content-Type")
        decoded = inflate(body, self._encoding())
        record["decoded_bytes"] = len(decoded)
        mtype = parse_content_type(raw_type)
        if mtype is None:
            if raw_type is None or not raw_type.strip():
                raise RequestError(400, "mime: no media type")
            raise RequestError(400, "mime: invalid media type %r" % raw_type)
        if mtype != "application/json":
            # Loki decodes any other type as snappy-compressed protobuf.
            record["format"] = "protobuf"
            try:
                decoded = snappy_decode(decoded, MAX_INFLATE_BYTES)
            except RequestError as e:
                raise RequestError(
                    e.status, "Content-Type %r is decoded as protobuf: %s" % (raw_type, e.text)
                )
            record["decoded_bytes"] = len(decoded)
        else:
            record["format"] = "json"
        if len(decoded) > MAX_DECODED_BYTES:
            raise RequestError(
                500,
                "rpc error: code = ResourceExhausted desc = grpc: received message "
                "larger than max (%d vs. %d): the push exceeds the limit"
                % (len(decoded), MAX_DECODED_BYTES),
            )
        if record["format"] == "protobuf":
            return parse_push_proto(decoded), False
        with store.lock:
            raw_labels = store.faults["loki29_json_labels"]
        return parse_push(decoded), raw_labels


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never join handler threads (one may be waiting on us)
    allow_reuse_address = True  # reopen on the same port after a refusal
    request_queue_size = 128

    def process_request(self, request, client_address):
        # Tracked here, on the accepting thread, so that once the serving
        # loop has stopped every accepted connection is known and can be cut.
        self.app.track(request, True)
        super().process_request(request, client_address)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (a DNS call that can
        # stall); the name is never used here.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class Server6(Server):
    address_family = socket.AF_INET6


_signalled = False


def _on_signal(signum, frame):
    global _signalled
    _signalled = True


class App:
    """Owns the listening socket; the main thread opens, closes and reopens it."""

    def __init__(self, host, port, keep_lines=True):
        self.store = Store(keep_lines)
        self.host = host
        self.port = port
        self.commands = queue.Queue()
        self.stopping = threading.Event()
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.server = None
        self.thread = None

    def track(self, conn, add):
        with self.conns_lock:
            if add:
                self.conns.add(conn)
            else:
                self.conns.discard(conn)

    def open(self, retry_s=0.0):
        cls = Server6 if ":" in self.host else Server
        deadline = time.monotonic() + retry_s
        while True:
            try:
                server = cls((self.host, self.port), Handler)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                self.stopping.wait(0.05)  # back off before binding again
        server.app = self
        self.port = server.server_address[1]
        self.server = server
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close_listener(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        self.server = None
        self.thread = None

    def drop_connections(self, keep=None):
        """Cut open connections too: a refusing Loki keeps no keep-alive alive."""
        with self.conns_lock:
            conns = [c for c in self.conns if c is not keep]
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self, port_file, lifetime_s, parent_pid):
        self.open()
        write_port_file(port_file, self.port)
        end = time.monotonic() + lifetime_s
        reopen_at = None
        code = 0
        while not _signalled:
            try:
                cmd = self.commands.get(timeout=0.1)
            except queue.Empty:
                cmd = None
            if cmd is not None and cmd[0] == "shutdown":
                break
            if cmd is not None and cmd[0] == "refuse":
                _, ms, keep, done = cmd
                self.close_listener()
                self.drop_connections(keep)
                reopen_at = time.monotonic() + ms / 1000.0
                done.set()
            if reopen_at is not None and time.monotonic() >= reopen_at:
                try:
                    self.open(retry_s=5.0)
                except OSError as e:
                    sys.stderr.write("loki_receiver: cannot reopen port %d: %s\n" % (self.port, e))
                    code = 3
                    break
                reopen_at = None
            if parent_pid and not _alive(parent_pid):
                break
            if time.monotonic() >= end:
                sys.stderr.write("loki_receiver: lifetime of %gs over, stopping\n" % lifetime_s)
                break
        self.stopping.set()
        self.close_listener()
        self.drop_connections()
        return code


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Strict Loki push API receiver for tests")
    ap.add_argument("--port-file", required=True, help="write the bound port here (atomically)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--lifetime", type=float, default=900.0, help="stop after this many seconds")
    ap.add_argument("--parent-pid", type=int, default=0, help="stop when this process is gone")
    ap.add_argument(
        "--count-only",
        action="store_true",
        help="validate and count but keep no lines (for benchmarks)",
    )
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    app = App(args.host, args.port, keep_lines=not args.count_only)
    try:
        return app.run(args.port_file, args.lifetime, args.parent_pid)
    except OSError as e:
        sys.stderr.write("loki_receiver: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
