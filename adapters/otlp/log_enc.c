/*
 * log_enc.c - one record as an OTLP LogRecord: the entry `log_records`
 * (field 2) of ScopeLogs in protobuf, or one object of "logRecords" in JSON.
 *
 * Attributes are the logger's bound fields, then the call's fields, then
 * the configured baggage keys present in the calling thread's baggage.
 * OTLP wants unique keys, and the JSON line lets the last of two equal keys
 * win (what JSON parsers keep), so a key given again later replaces the
 * earlier one here too. The span context goes into trace_id, span_id and
 * flags, never into attributes.
 */
#include "adapters/otlp/otlp_internal.h"

/* LogRecord field numbers (logs.proto). */
enum {
    LR_TIME = 1,
    LR_SEVERITY = 2,
    LR_SEVERITY_TEXT = 3,
    LR_BODY = 5,
    LR_ATTRS = 6,
    LR_DROPPED_ATTRS = 7,
    LR_FLAGS = 8,
    LR_TRACE_ID = 9,
    LR_SPAN_ID = 10,
    LR_OBSERVED = 11,
};

/* Attributes looked at per record; more are dropped and counted (a record
 * with thousands of fields would make the duplicate check quadratic). */
#define MAX_ATTRS   256
#define STACK_ATTRS 32

int sl__otlp_severity_number(sl_level level)
{
    /* SEVERITY_NUMBER_TRACE, DEBUG, INFO, WARN, ERROR, FATAL: 1, 5, 9, ... 21 */
    return (unsigned)level <= SL_LEVEL_FATAL ? 1 + 4 * (int)level : 0;
}

/* The record's attributes, in order, duplicates resolved (last wins). */
typedef struct attr_list {
    sl_field *f;
    size_t n, cap;
    uint32_t dropped; /* beyond cap */
    sl_field local[STACK_ATTRS];
} attr_list;

static void add_attr(attr_list *a, const sl_field *f)
{
    const char *k = f->key != NULL ? f->key : "";
    if (k[0] == '\0') {
        a->dropped++; /* OpenTelemetry: attribute keys are non-empty */
        return;
    }
    size_t kl = strlen(k);
    for (size_t i = 0; i < a->n; i++) {
        const char *o = a->f[i].key != NULL ? a->f[i].key : "";
        if (sl__otlp_key_eq(o, strlen(o), k, kl)) { /* equal as written (keys.c) */
            /* keep the position of the first, the value of the last */
            a->f[i] = *f;
            return;
        }
    }
    if (a->n == a->cap) {
        a->dropped++;
        return;
    }
    a->f[a->n++] = *f;
}

/* Fills a; false when memory ran out. */
static bool gather(attr_list *a, const sl_record *r, const sl__otlp_log_extra *x)
{
    size_t want = r->nbound + r->nfields + x->nbaggage_keys;
    a->n = 0;
    a->dropped = 0;
    a->f = a->local;
    a->cap = STACK_ATTRS;
    if (want > STACK_ATTRS) {
        a->cap = want < MAX_ATTRS ? want : MAX_ATTRS;
        a->f = sl__malloc(a->cap * sizeof(sl_field));
        if (a->f == NULL) {
            return false;
        }
    }
    for (size_t i = 0; i < r->nbound; i++) {
        add_attr(a, &r->bound[i]);
    }
    for (size_t i = 0; i < r->nfields; i++) {
        add_attr(a, &r->fields[i]);
    }
    if (x->nbaggage_keys > 0) {
        const sl_baggage *bg = sl__baggage_current();
        for (size_t i = 0; bg != NULL && i < x->nbaggage_keys; i++) {
            size_t vlen = 0;
            const char *k = x->baggage_keys[i];
            const char *v = sl__baggage_value(bg, k, strlen(k), &vlen);
            if (v != NULL) {
                sl_field f = SL_STRN(k, v, vlen);
                add_attr(a, &f);
            }
        }
    }
    return true;
}

static void release(attr_list *a)
{
    if (a->f != a->local) {
        sl__free(a->f);
    }
}

void sl__otlp_log_pb(sl__pb *b, const sl_record *r, const sl__otlp_log_extra *x,
                     const sl__otlp_limits *lim)
{
    attr_list al, *a = &al;
    if (!gather(a, r, x)) {
        b->failed = true;
        return;
    }
    size_t m = sl__pb_begin(b, 2);
    sl__pb_fixed64(b, LR_TIME, r->time_ns > 0 ? (uint64_t)r->time_ns : 0);
    sl__pb_uint(b, LR_SEVERITY, (uint64_t)sl__otlp_severity_number(r->level));
    const char *lv = sl_level_name(r->level);
    sl__pb_string(b, LR_SEVERITY_TEXT, lv, strlen(lv));
    size_t bm = sl__pb_begin(b, LR_BODY);
    sl__pb_string(b, 1, r->msg, r->msg_len);
    sl__pb_end(b, bm);
    size_t keep = a->n < lim->attr_count ? a->n : lim->attr_count;
    for (size_t i = 0; i < keep; i++) {
        sl__otlp_keyvalue_pb(b, LR_ATTRS, &a->f[i], lim->value_len);
    }
    sl__pb_uint(b, LR_DROPPED_ATTRS, a->dropped + (a->n - keep));
    if (r->ctx != NULL) {
        sl__pb_fixed32(b, LR_FLAGS, r->ctx->flags);
        sl__pb_bytes(b, LR_TRACE_ID, r->ctx->trace_id.bytes, 16);
        sl__pb_bytes(b, LR_SPAN_ID, r->ctx->span_id.bytes, 8);
    }
    sl__pb_fixed64(b, LR_OBSERVED, x->observed_ns > 0 ? (uint64_t)x->observed_ns : 0);
    sl__pb_end(b, m);
    release(a);
}

void sl__otlp_log_json(sl__jw *w, const sl_record *r, const sl__otlp_log_extra *x,
                       const sl__otlp_limits *lim)
{
    attr_list al, *a = &al;
    if (!gather(a, r, x)) {
        w->overflow = true;
        return;
    }
    bool first = true;
    sl__jw_char(w, '{');
    sl__otlp_json_key(w, "timeUnixNano", &first);
    sl__otlp_json_u64str(w, r->time_ns > 0 ? (uint64_t)r->time_ns : 0);
    sl__otlp_json_key(w, "observedTimeUnixNano", &first);
    sl__otlp_json_u64str(w, x->observed_ns > 0 ? (uint64_t)x->observed_ns : 0);
    sl__otlp_json_key(w, "severityNumber", &first);
    sl__jw_int(w, sl__otlp_severity_number(r->level));
    sl__otlp_json_key(w, "severityText", &first);
    const char *lv = sl_level_name(r->level);
    sl__jw_string(w, lv, strlen(lv));
    sl__otlp_json_key(w, "body", &first);
    SL__JW_LIT(w, "{\"stringValue\":");
    sl__jw_string(w, r->msg, r->msg_len);
    sl__jw_char(w, '}');
    size_t keep = sl__otlp_attrs_json(w, "attributes", a->f, a->n, lim->attr_count,
                                      lim->value_len, &first);
    if (a->dropped + (a->n - keep) > 0) {
        sl__otlp_json_key(w, "droppedAttributesCount", &first);
        sl__jw_uint(w, a->dropped + (a->n - keep));
    }
    if (r->ctx != NULL) {
        sl__otlp_json_key(w, "flags", &first);
        sl__jw_uint(w, r->ctx->flags);
        sl__otlp_json_key(w, "traceId", &first);
        sl__otlp_json_hex(w, r->ctx->trace_id.bytes, 16);
        sl__otlp_json_key(w, "spanId", &first);
        sl__otlp_json_hex(w, r->ctx->span_id.bytes, 8);
    }
    sl__jw_char(w, '}');
    release(a);
}
