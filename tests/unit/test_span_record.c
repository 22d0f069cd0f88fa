/* test_span_record.c - the optional "span end" record: written with the
 * span's own ids, parsed back with jansson and checked key by key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_capture.h"

static void test_end_record(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_span_set_end_logger(lg, SL_LEVEL_INFO);

    sl_span *outer = sl_span_start("request", SL_SPAN_SERVER);
    sl_span *s = sl_span_start("charge", SL_SPAN_CLIENT);
    assert_int_equal(sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "card \"declined\""),
                     SL_OK);
    char tid[33], sid[17], oid[17];
    sl_trace_id_to_hex(sl_span_get_context(s)->trace_id, tid);
    sl_span_id_to_hex(sl_span_get_context(s)->span_id, sid);
    sl_span_id_to_hex(sl_span_get_context(outer)->span_id, oid);
    sl_span_end(s);
    assert_int_equal(c.n, 1);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "traceId", "spanId", "correlationId",
                "span.name", "span.kind", "durationMs", "status", "statusMessage");
    assert_string_equal(get_str(r, "level"), "info");
    assert_string_equal(get_str(r, "msg"), "span end");
    assert_string_equal(get_str(r, "traceId"), tid);
    assert_string_equal(get_str(r, "spanId"), sid); /* the ended span, not outer */
    assert_string_equal(get_str(r, "span.name"), "charge");
    assert_string_equal(get_str(r, "span.kind"), "client");
    assert_true(json_is_real(json_object_get(r, "durationMs")));
    assert_true(json_real_value(json_object_get(r, "durationMs")) >= 0.0);
    assert_string_equal(get_str(r, "status"), "error");
    assert_string_equal(get_str(r, "statusMessage"), "card \"declined\"");
    json_decref(r);

    assert_int_equal(sl_span_set_status(outer, SL_SPAN_STATUS_OK, NULL), SL_OK);
    sl_span_end(outer);
    assert_int_equal(c.n, 2);
    r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg", "traceId", "spanId", "correlationId",
                "span.name", "span.kind", "durationMs", "status");
    assert_string_equal(get_str(r, "spanId"), oid);
    assert_string_equal(get_str(r, "span.kind"), "server");
    assert_string_equal(get_str(r, "status"), "ok");
    json_decref(r);

    /* Unsampled spans record nothing, so write nothing. */
    sl_sampler off = {SL_SAMPLER_ALWAYS_OFF, 1};
    assert_int_equal(sl_sampler_set(&off), SL_OK);
    sl_span_end(sl_span_start("quiet", SL_SPAN_INTERNAL));
    assert_int_equal(c.n, 2);
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1};
    assert_int_equal(sl_sampler_set(&on), SL_OK);

    /* Below the logger's level: nothing. */
    sl_span_set_end_logger(lg, SL_LEVEL_DEBUG);
    sl_span_end(sl_span_start("debug", SL_SPAN_INTERNAL));
    assert_int_equal(c.n, 2);

    /* Turned off. */
    sl_span_set_end_logger(NULL, SL_LEVEL_INFO);
    sl_span_end(sl_span_start("off", SL_SPAN_INTERNAL));
    assert_int_equal(c.n, 2);
    sl_logger_free(lg);
    capture_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
