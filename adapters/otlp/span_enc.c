/*
 * span_enc.c - one ended span as an OTLP Span: the entry `spans` (field 2)
 * of ScopeSpans in protobuf, or one object of its "spans" array in JSON.
 *
 * The OpenTelemetry limits apply here, at export: what spanlog recorded
 * beyond a limit is left out and added to the dropped counts, and string
 * values are cut to OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT bytes.
 */
#include "adapters/otlp/otlp_internal.h"

/* Span field numbers (trace.proto). */
enum {
    SP_TRACE_ID = 1,
    SP_SPAN_ID = 2,
    SP_TRACE_STATE = 3,
    SP_PARENT = 4,
    SP_NAME = 5,
    SP_KIND = 6,
    SP_START = 7,
    SP_END = 8,
    SP_ATTRS = 9,
    SP_DROPPED_ATTRS = 10,
    SP_EVENTS = 11,
    SP_DROPPED_EVENTS = 12,
    SP_LINKS = 13,
    SP_DROPPED_LINKS = 14,
    SP_STATUS = 15,
    SP_FLAGS = 16,
};

#define FLAG_HAS_IS_REMOTE 0x100u
#define FLAG_IS_REMOTE     0x200u

static size_t min_sz(size_t a, uint32_t b)
{
    return a < b ? a : b;
}

static uint32_t span_flags(uint8_t trace_flags, int remote)
{
    return trace_flags | FLAG_HAS_IS_REMOTE | (remote ? FLAG_IS_REMOTE : 0);
}

/* OTLP's SpanKind is ours plus one (0 is UNSPECIFIED there). */
static uint32_t otlp_kind(sl_span_kind k)
{
    return (unsigned)k <= SL_SPAN_CONSUMER ? (uint32_t)k + 1 : 1;
}

static void jstr(sl__jw *w, const char *s)
{
    sl__jw_string(w, s, strlen(s));
}

static uint64_t ns(int64_t t)
{
    return t > 0 ? (uint64_t)t : 0;
}

/*
 * An attribute list in field `field`, keys unique as written (keys.c), at
 * most `limit` of them, then its dropped count (what the span recorded as
 * dropped, plus what is left out here) in the next field number.
 * `distinct`: keys are byte-unique already (the span's own attributes).
 */
static void attrs_pb(sl__pb *b, uint32_t field, const sl_field *f, size_t n,
                     bool distinct, uint32_t limit, uint32_t dropped, uint32_t value_len)
{
    sl__otlp_attrs a;
    if (!sl__otlp_attrs_get(&a, f, n, distinct)) {
        b->failed = true;
        return;
    }
    size_t keep = min_sz(a.n, limit);
    for (size_t i = 0; i < keep; i++) {
        sl__otlp_keyvalue_pb(b, field, &a.f[i], value_len);
    }
    sl__pb_uint(b, field + 1, (uint64_t)dropped + a.dropped + (a.n - keep));
    sl__otlp_attrs_release(&a);
}

void sl__otlp_span_pb(sl__pb *b, const sl_span_data *d, const sl__otlp_limits *lim)
{
    const sl_span_context *c = d->context;
    size_t m = sl__pb_begin(b, 2);
    sl__pb_bytes(b, SP_TRACE_ID, c->trace_id.bytes, 16);
    sl__pb_bytes(b, SP_SPAN_ID, c->span_id.bytes, 8);
    sl__pb_string_opt(b, SP_TRACE_STATE, c->tracestate, c->tracestate_len);
    if (sl_span_id_is_valid(d->parent_span_id)) {
        sl__pb_bytes(b, SP_PARENT, d->parent_span_id.bytes, 8);
    }
    const char *name = d->name != NULL ? d->name : "";
    sl__pb_string(b, SP_NAME, name, strlen(name));
    sl__pb_uint(b, SP_KIND, otlp_kind(d->kind));
    sl__pb_fixed64(b, SP_START, ns(d->start_ns));
    sl__pb_fixed64(b, SP_END, ns(d->end_ns));

    attrs_pb(b, SP_ATTRS, d->attributes, d->attribute_count, true, lim->attr_count,
             d->dropped_attributes, lim->value_len); /* and SP_DROPPED_ATTRS */

    size_t ne = min_sz(d->event_count, lim->event_count);
    for (size_t i = 0; i < ne; i++) {
        const sl_span_event_data *e = &d->events[i];
        size_t em = sl__pb_begin(b, SP_EVENTS);
        sl__pb_fixed64(b, 1, ns(e->time_ns));
        const char *en = e->name != NULL ? e->name : "";
        sl__pb_string(b, 2, en, strlen(en));
        attrs_pb(b, 3, e->attributes, e->attribute_count, false, lim->event_attr_count,
                 e->dropped_attributes, lim->value_len); /* and 4 */
        sl__pb_end(b, em);
    }
    sl__pb_uint(b, SP_DROPPED_EVENTS, d->dropped_events + (d->event_count - ne));

    size_t nl = min_sz(d->link_count, lim->link_count);
    for (size_t i = 0; i < nl; i++) {
        const sl_span_link_data *l = &d->links[i];
        size_t lm = sl__pb_begin(b, SP_LINKS);
        sl__pb_bytes(b, 1, l->trace_id.bytes, 16);
        sl__pb_bytes(b, 2, l->span_id.bytes, 8);
        if (l->tracestate != NULL) {
            sl__pb_string_opt(b, 3, l->tracestate, strlen(l->tracestate));
        }
        attrs_pb(b, 4, l->attributes, l->attribute_count, false, lim->link_attr_count,
                 l->dropped_attributes, lim->value_len); /* and 5 */
        sl__pb_fixed32(b, 6, span_flags(l->flags, l->remote));
        sl__pb_end(b, lm);
    }
    sl__pb_uint(b, SP_DROPPED_LINKS, d->dropped_links + (d->link_count - nl));

    const char *msg = d->status_message != NULL ? d->status_message : "";
    if (d->status != SL_SPAN_STATUS_UNSET || msg[0] != '\0') {
        size_t sm = sl__pb_begin(b, SP_STATUS);
        sl__pb_string_opt(b, 2, msg, strlen(msg));
        sl__pb_uint(b, 3, (uint64_t)d->status);
        sl__pb_end(b, sm);
    }
    sl__pb_fixed32(b, SP_FLAGS, span_flags(c->flags, d->parent_remote));
    sl__pb_end(b, m);
}

/* ---- JSON ------------------------------------------------------------------ */

static void count_json(sl__jw *w, const char *name, uint64_t v, bool *first)
{
    if (v != 0) {
        sl__otlp_json_key(w, name, first);
        sl__jw_uint(w, v);
    }
}

/* The JSON form of attrs_pb: "attributes" and "droppedAttributesCount". */
static void attrs_json(sl__jw *w, const sl_field *f, size_t n, bool distinct,
                       uint32_t limit, uint32_t dropped, uint32_t value_len, bool *first)
{
    sl__otlp_attrs a;
    if (!sl__otlp_attrs_get(&a, f, n, distinct)) {
        w->overflow = true;
        return;
    }
    size_t k = sl__otlp_attrs_json(w, "attributes", a.f, a.n, limit, value_len, first);
    count_json(w, "droppedAttributesCount", (uint64_t)dropped + a.dropped + (a.n - k),
               first);
    sl__otlp_attrs_release(&a);
}

static void times_json(sl__jw *w, const char *name, int64_t t, bool *first)
{
    sl__otlp_json_key(w, name, first);
    sl__otlp_json_u64str(w, ns(t));
}

void sl__otlp_span_json(sl__jw *w, const sl_span_data *d, const sl__otlp_limits *lim)
{
    const sl_span_context *c = d->context;
    bool first = true;
    sl__jw_char(w, '{');
    sl__otlp_json_key(w, "traceId", &first);
    sl__otlp_json_hex(w, c->trace_id.bytes, 16);
    sl__otlp_json_key(w, "spanId", &first);
    sl__otlp_json_hex(w, c->span_id.bytes, 8);
    if (c->tracestate_len > 0) {
        sl__otlp_json_key(w, "traceState", &first);
        sl__jw_string(w, c->tracestate, c->tracestate_len);
    }
    if (sl_span_id_is_valid(d->parent_span_id)) {
        sl__otlp_json_key(w, "parentSpanId", &first);
        sl__otlp_json_hex(w, d->parent_span_id.bytes, 8);
    }
    sl__otlp_json_key(w, "flags", &first);
    sl__jw_uint(w, span_flags(c->flags, d->parent_remote));
    sl__otlp_json_key(w, "name", &first);
    jstr(w, d->name != NULL ? d->name : "");
    sl__otlp_json_key(w, "kind", &first);
    sl__jw_uint(w, otlp_kind(d->kind));
    times_json(w, "startTimeUnixNano", d->start_ns, &first);
    times_json(w, "endTimeUnixNano", d->end_ns, &first);
    attrs_json(w, d->attributes, d->attribute_count, true, lim->attr_count,
               d->dropped_attributes, lim->value_len, &first);

    size_t ne = min_sz(d->event_count, lim->event_count);
    if (ne > 0) {
        sl__otlp_json_key(w, "events", &first);
        sl__jw_char(w, '[');
        for (size_t i = 0; i < ne; i++) {
            const sl_span_event_data *e = &d->events[i];
            bool f2 = true;
            sl__jw_raw(w, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
            times_json(w, "timeUnixNano", e->time_ns, &f2);
            sl__otlp_json_key(w, "name", &f2);
            jstr(w, e->name != NULL ? e->name : "");
            attrs_json(w, e->attributes, e->attribute_count, false, lim->event_attr_count,
                       e->dropped_attributes, lim->value_len, &f2);
            sl__jw_char(w, '}');
        }
        sl__jw_char(w, ']');
    }
    count_json(w, "droppedEventsCount", d->dropped_events + (d->event_count - ne),
               &first);

    size_t nl = min_sz(d->link_count, lim->link_count);
    if (nl > 0) {
        sl__otlp_json_key(w, "links", &first);
        sl__jw_char(w, '[');
        for (size_t i = 0; i < nl; i++) {
            const sl_span_link_data *l = &d->links[i];
            bool f2 = true;
            sl__jw_raw(w, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
            sl__otlp_json_key(w, "traceId", &f2);
            sl__otlp_json_hex(w, l->trace_id.bytes, 16);
            sl__otlp_json_key(w, "spanId", &f2);
            sl__otlp_json_hex(w, l->span_id.bytes, 8);
            if (l->tracestate != NULL && l->tracestate[0] != '\0') {
                sl__otlp_json_key(w, "traceState", &f2);
                jstr(w, l->tracestate);
            }
            attrs_json(w, l->attributes, l->attribute_count, false, lim->link_attr_count,
                       l->dropped_attributes, lim->value_len, &f2);
            sl__otlp_json_key(w, "flags", &f2);
            sl__jw_uint(w, span_flags(l->flags, l->remote));
            sl__jw_char(w, '}');
        }
        sl__jw_char(w, ']');
    }
    count_json(w, "droppedLinksCount", d->dropped_links + (d->link_count - nl), &first);

    const char *msg = d->status_message != NULL ? d->status_message : "";
    if (d->status != SL_SPAN_STATUS_UNSET || msg[0] != '\0') {
        bool f2 = true;
        sl__otlp_json_key(w, "status", &first);
        sl__jw_char(w, '{');
        if (msg[0] != '\0') {
            sl__otlp_json_key(w, "message", &f2);
            jstr(w, msg);
        }
        sl__otlp_json_key(w, "code", &f2);
        sl__jw_uint(w, (uint64_t)d->status);
        sl__jw_char(w, '}');
    }
    sl__jw_char(w, '}');
}
