/*
 * fuzz_extract.c - sl_extract_report_get over a carrier of header pairs cut
 * from the input (lines "name:value", value bytes by length, NUL
 * included). Properties: the report agrees with the outcome (used
 * traceparent <=> SL_OK and a valid parent; no tracestate without a
 * parent), the tracestate kept is a valid list of at most 512 characters,
 * and extract then inject round-trips the trace context.
 */
#include <string.h>

#include "fuzz.h"
#include "spanlog/spanlog.h"

#define MAX_PAIRS 16

typedef struct out_headers {
    char tp[64], ts[SL_TRACESTATE_MAX + 1];
    int has_tp, has_ts;
} out_headers;

static int set(void *ctx, const char *name, const char *value)
{
    out_headers *o = ctx;
    if (strcmp(name, "traceparent") == 0) {
        snprintf(o->tp, sizeof o->tp, "%s", value);
        o->has_tp = 1;
    } else if (strcmp(name, "tracestate") == 0) {
        FUZZ_CHECK(strlen(value) <= SL_TRACESTATE_MAX);
        snprintf(o->ts, sizeof o->ts, "%s", value);
        o->has_ts = 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"traceparent", "tracestate", "baggage",
                                        "TraceParent", "x-other"};
    sl_header_pair pairs[MAX_PAIRS];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end && n < MAX_PAIRS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        /* First byte picks the name; the rest is the value. */
        if (line_end == p) {
            p = nl + 1; /* an empty line */
            continue;
        }
        pairs[n].name = names[(unsigned char)*p % 5];
        pairs[n].value = p + 1;
        pairs[n].value_len = (size_t)(line_end - p) - 1;
        n++;
        p = nl ? nl + 1 : end;
    }
    sl_header_pairs hp = {pairs, n};
    sl_carrier c;
    sl_span_context parent;
    sl_baggage *bag = NULL;
    sl_extract_report r;
    sl_status st = sl_extract_report_get(sl_carrier_pairs(&c, &hp), &parent, &bag, &r);
    FUZZ_CHECK(st == SL_OK || st == SL_ENOENT || st == SL_EPARSE || st == SL_ENOMEM);
    FUZZ_CHECK((r.traceparent == SL_HEADER_USED) == (st == SL_OK));
    FUZZ_CHECK((st == SL_OK) == sl_span_context_is_valid(&parent));
    if (st != SL_OK) {
        FUZZ_CHECK(parent.tracestate_len == 0);
    }
    FUZZ_CHECK(parent.tracestate_len <= SL_TRACESTATE_MAX);
    if (parent.tracestate_len > 0) {
        sl_span_context again;
        FUZZ_CHECK(sl_tracestate_parse(parent.tracestate, parent.tracestate_len,
                                       &again) == SL_OK);
    }
    if (st == SL_OK) {
        out_headers o = {0};
        sl_carrier out = {.ctx = &o, .set = set};
        FUZZ_CHECK(sl_inject(&out, &parent, NULL) == SL_OK);
        FUZZ_CHECK(o.has_tp);
        sl_span_context back;
        FUZZ_CHECK(sl_traceparent_parse(o.tp, strlen(o.tp), &back) == SL_OK);
        FUZZ_CHECK(memcmp(&back.trace_id, &parent.trace_id, sizeof back.trace_id) == 0);
        FUZZ_CHECK(memcmp(&back.span_id, &parent.span_id, sizeof back.span_id) == 0);
        FUZZ_CHECK(o.has_ts == (parent.tracestate_len > 0));
        if (o.has_ts) {
            FUZZ_CHECK(strcmp(o.ts, parent.tracestate) == 0);
        }
    }
    sl_baggage_free(bag);
    return 0;
}
