/*
 * fuzz_traceparent.c - sl_traceparent_parse on any bytes. Property: a
 * parsed header formats back to the canonical version-00 form, which
 * parses to the same ids and flags and formats to itself.
 */
#include <string.h>

#include "fuzz.h"
#include "spanlog/spanlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_span_context a, b;
    if (sl_traceparent_parse((const char *)data, size, &a) != SL_OK) {
        FUZZ_CHECK(!sl_span_context_is_valid(&a));
        return 0;
    }
    FUZZ_CHECK(sl_span_context_is_valid(&a) && a.remote == 1 && a.tracestate_len == 0);
    char t1[SL_TRACEPARENT_LEN + 1], t2[SL_TRACEPARENT_LEN + 1];
    FUZZ_CHECK(sl_traceparent_format(&a, t1, sizeof t1) == SL_OK);
    FUZZ_CHECK(strlen(t1) == SL_TRACEPARENT_LEN);
    FUZZ_CHECK(sl_traceparent_parse(t1, strlen(t1), &b) == SL_OK);
    FUZZ_CHECK(memcmp(&a.trace_id, &b.trace_id, sizeof a.trace_id) == 0);
    FUZZ_CHECK(memcmp(&a.span_id, &b.span_id, sizeof a.span_id) == 0);
    FUZZ_CHECK(a.flags == b.flags);
    FUZZ_CHECK(sl_traceparent_format(&b, t2, sizeof t2) == SL_OK);
    FUZZ_CHECK(strcmp(t1, t2) == 0);
    return 0;
}
