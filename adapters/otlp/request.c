/*
 * request.c - the Export*ServiceRequest around a batch of encoded items,
 * and the reader of the Export*ServiceResponse.
 *
 *   ExportTraceServiceRequest            ExportLogsServiceRequest
 *    1 ResourceSpans                      1 ResourceLogs
 *       1 Resource {1 KeyValue...}           1 Resource
 *       2 ScopeSpans                         2 ScopeLogs
 *          1 InstrumentationScope               1 InstrumentationScope
 *          2 Span  (the items)                  2 LogRecord (the items)
 *
 * The two have the same field numbers, so one protobuf envelope serves
 * both; the lengths are known before writing (the items are encoded
 * already), so the request is written front to back without moves.
 */
#include <jansson.h>
#include <stdio.h>

#include "adapters/otlp/otlp_internal.h"

sl_status sl__otlp_envelope_init(sl__otlp_envelope *e, sl__otlp_signal sig, bool json,
                                 const sl__otlp_resource *r)
{
    memset(e, 0, sizeof *e);
    e->signal = sig;
    e->json = json;
    if (!json) {
        sl__pb_init(&e->resource, NULL, 0, SIZE_MAX / 2);
        sl__pb_init(&e->scope, NULL, 0, SIZE_MAX / 2);
        for (size_t i = 0; i < r->n; i++) {
            const char *v = r->attrs[i].value;
            sl__otlp_kv_str_pb(&e->resource, 1, r->attrs[i].key, v, strlen(v));
        }
        sl__otlp_kv_int_pb(&e->resource, 1, "process.pid", r->pid);
        sl__pb_string(&e->scope, 1, "spanlog", 7);
        sl__pb_string(&e->scope, 2, SPANLOG_VERSION_STRING,
                      strlen(SPANLOG_VERSION_STRING));
        if (e->resource.failed || e->scope.failed) {
            sl__otlp_envelope_free(e);
            return SL_ENOMEM;
        }
        return SL_OK;
    }
    sl__jw w;
    sl__jw_init_growable(&w, 512, 1u << 20);
    bool first = true;
    SL__JW_LIT(&w, "{");
    sl__otlp_json_key(&w, sig == SL__OTLP_TRACES ? "resourceSpans" : "resourceLogs",
                      &first);
    SL__JW_LIT(&w, "[{\"resource\":{\"attributes\":[");
    for (size_t i = 0; i < r->n; i++) {
        sl_field f = SL_STR(r->attrs[i].key, r->attrs[i].value);
        sl__otlp_keyvalue_json(&w, &f, 0);
        sl__jw_char(&w, ',');
    }
    sl_field pid = SL_INT("process.pid", r->pid);
    sl__otlp_keyvalue_json(&w, &pid, 0);
    SL__JW_LIT(&w, "]},");
    first = true;
    sl__otlp_json_key(&w, sig == SL__OTLP_TRACES ? "scopeSpans" : "scopeLogs", &first);
    SL__JW_LIT(&w, "[{\"scope\":{\"name\":\"spanlog\",\"version\":");
    sl__jw_string(&w, SPANLOG_VERSION_STRING, strlen(SPANLOG_VERSION_STRING));
    SL__JW_LIT(&w, "},");
    first = true;
    sl__otlp_json_key(&w, sig == SL__OTLP_TRACES ? "spans" : "logRecords", &first);
    sl__jw_char(&w, '[');
    if (w.overflow) {
        sl__jw_free(&w);
        return SL_ENOMEM;
    }
    e->json_head = w.buf;
    e->json_head_len = w.len;
    return SL_OK;
}

void sl__otlp_envelope_free(sl__otlp_envelope *e)
{
    sl__pb_free(&e->resource);
    sl__pb_free(&e->scope);
    sl__free(e->json_head);
    e->json_head = NULL;
}

static size_t field_len(size_t body)
{
    return 1 + sl__pb_varint_len(body) + body;
}

bool sl__otlp_request(const sl__otlp_envelope *e, const void *const *items,
                      const size_t *lens, size_t n, sl__pb *out)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += lens[i];
    }
    if (e->json) {
        sl__pb_raw(out, e->json_head, e->json_head_len);
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                sl__pb_raw(out, ",", 1);
            }
            sl__pb_raw(out, items[i], lens[i]);
        }
        sl__pb_raw(out, "]}]}]}", 6);
        return !out->failed;
    }
    size_t scope_spans = field_len(e->scope.len) + sum;
    size_t resource_spans = field_len(e->resource.len) + field_len(scope_spans);
    sl__pb_tag(out, 1, SL__PB_LEN);
    sl__pb_varint(out, resource_spans);
    sl__pb_tag(out, 1, SL__PB_LEN);
    sl__pb_varint(out, e->resource.len);
    sl__pb_raw(out, e->resource.buf, e->resource.len);
    sl__pb_tag(out, 2, SL__PB_LEN);
    sl__pb_varint(out, scope_spans);
    sl__pb_tag(out, 1, SL__PB_LEN);
    sl__pb_varint(out, e->scope.len);
    sl__pb_raw(out, e->scope.buf, e->scope.len);
    for (size_t i = 0; i < n; i++) {
        sl__pb_raw(out, items[i], lens[i]);
    }
    return !out->failed;
}

/* ---- responses ------------------------------------------------------------- */

/* A bounds-checked protobuf reader: enough to walk a response. */
typedef struct pbr {
    const uint8_t *p, *end;
} pbr;

static bool rd_varint(pbr *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end) {
            return false;
        }
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Reads one field: its number, wire type, and for LEN fields the body. */
static bool rd_field(pbr *r, uint32_t *field, unsigned *wire, uint64_t *v, pbr *body)
{
    uint64_t tag;
    if (!rd_varint(r, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
        return false;
    }
    *field = (uint32_t)(tag >> 3);
    *wire = (unsigned)(tag & 7);
    switch (*wire) {
    case SL__PB_VARINT:
        return rd_varint(r, v);
    case SL__PB_FIXED64:
        if (r->end - r->p < 8) {
            return false;
        }
        r->p += 8;
        return true;
    case SL__PB_FIXED32:
        if (r->end - r->p < 4) {
            return false;
        }
        r->p += 4;
        return true;
    case SL__PB_LEN: {
        uint64_t n;
        if (!rd_varint(r, &n) || n > (uint64_t)(r->end - r->p)) {
            return false;
        }
        body->p = r->p;
        body->end = r->p + n;
        r->p += n;
        return true;
    }
    default:
        return false; /* groups are not part of proto3 */
    }
}

static void copy_msg(char *msg, size_t cap, const void *s, size_t n)
{
    if (cap == 0) {
        return;
    }
    n = sl__utf8_cut(s, n, cap - 1);
    memcpy(msg, s, n);
    msg[n] = '\0';
}

static sl_status parse_pb(const char *body, size_t len, int64_t *rejected, char *msg,
                          size_t cap)
{
    pbr r = {(const uint8_t *)body, (const uint8_t *)body + len};
    while (r.p < r.end) {
        uint32_t f;
        unsigned wire;
        uint64_t v;
        pbr sub;
        if (!rd_field(&r, &f, &wire, &v, &sub)) {
            return SL_EPROTO;
        }
        if (f != 1) {
            continue; /* unknown fields are allowed */
        }
        if (wire != SL__PB_LEN) {
            return SL_EPROTO;
        }
        while (sub.p < sub.end) {
            pbr s2;
            if (!rd_field(&sub, &f, &wire, &v, &s2)) {
                return SL_EPROTO;
            }
            if (f == 1) {
                if (wire != SL__PB_VARINT) {
                    return SL_EPROTO;
                }
                *rejected = (int64_t)v;
            } else if (f == 2) {
                if (wire != SL__PB_LEN) {
                    return SL_EPROTO;
                }
                copy_msg(msg, cap, s2.p, (size_t)(s2.end - s2.p));
            }
        }
    }
    return SL_OK;
}

static sl_status parse_json(sl__otlp_signal sig, const char *body, size_t len,
                            int64_t *rejected, char *msg, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return SL_EPROTO;
    }
    sl_status st = SL_OK;
    json_t *ps = json_object_get(root, "partialSuccess");
    if (ps == NULL) {
        ps = json_object_get(root, "partial_success");
    }
    if (ps != NULL && !json_is_null(ps)) {
        const char *rk = sig == SL__OTLP_TRACES ? "rejectedSpans" : "rejectedLogRecords";
        json_t *rj = json_is_object(ps) ? json_object_get(ps, rk) : NULL;
        json_t *mj = json_is_object(ps) ? json_object_get(ps, "errorMessage") : NULL;
        if (!json_is_object(ps)) {
            st = SL_EPROTO;
        } else if (json_is_integer(rj)) {
            *rejected = json_integer_value(rj);
        } else if (json_is_string(rj)) {
            char *end = NULL;
            long long x = strtoll(json_string_value(rj), &end, 10);
            if (end == json_string_value(rj) || *end != '\0') {
                st = SL_EPROTO;
            } else {
                *rejected = x;
            }
        } else if (rj != NULL) {
            st = SL_EPROTO;
        }
        if (json_is_string(mj)) {
            copy_msg(msg, cap, json_string_value(mj), json_string_length(mj));
        }
    }
    json_decref(root);
    return st;
}

sl_status sl__otlp_response_parse(sl__otlp_signal sig, bool json, const char *body,
                                  size_t len, int64_t *rejected, char *msg, size_t cap)
{
    *rejected = 0;
    if (cap > 0) {
        msg[0] = '\0';
    }
    if (len == 0) {
        return SL_OK;
    }
    return json ? parse_json(sig, body, len, rejected, msg, cap)
                : parse_pb(body, len, rejected, msg, cap);
}
