/*
 * test_loki_split.c - a batch larger than the server's ingestion burst is
 * split in halves by the delivery runtime until each part fits, and every
 * record arrives (before: retried whole until its age ran out, then dropped:
 * with a 0.5 MB burst, 345 of 10,000 records arrived against a real Loki).
 * A single record that still cannot fit is dropped and counted, and the
 * records around it are delivered. Against the strict receiver's burst_bytes
 * fault (429 with Loki's "ingestion rate limit exceeded" text).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/loki_harness.h"

/* Every received line is a record "i" in [0, n), each at most once; the
 * count of distinct ones. */
static size_t count_unique(json_t *snap, int n)
{
    char *seen = calloc((size_t)n, 1);
    size_t count = 0;
    json_t *streams = json_object_get(snap, "streams");
    for (size_t s = 0; s < json_array_size(streams); s++) {
        json_t *ents = json_object_get(json_array_get(streams, s), "entries");
        for (size_t k = 0; k < json_array_size(ents); k++) {
            const char *line =
                json_string_value(json_object_get(json_array_get(ents, k), "line"));
            json_t *rec = json_loads(line, 0, NULL);
            assert_non_null(rec);
            assert_string_equal(json_string_value(json_object_get(rec, "msg")), "burst");
            json_int_t i = json_integer_value(json_object_get(rec, "i"));
            assert_true(i >= 0 && i < n);
            assert_int_equal(seen[i], 0);
            seen[i] = 1;
            count++;
            json_decref(rec);
        }
    }
    free(seen);
    return count;
}

static void test_over_burst_batch_split(void **state)
{
    (void)state;
    enum { N = 10000 };
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"burst_bytes\":524288}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.batch_bytes = 3u << 20; /* one batch of ~3 MB: six times the burst */
    o.batch_age_ms = 500;
    o.queue_bytes = 16u << 20;
    sl_sink *loki;
    sl_logger *lg = lk_logger(&o, "burst", NULL, &loki);
    assert_non_null(lg);
    char pad[201];
    memset(pad, 'p', 200);
    pad[200] = '\0';
    for (int i = 0; i < N; i++) {
        sl_info(lg, "burst", SL_INT("i", i), SL_STR("pad", pad));
    }
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    printf("over-burst: sent %llu of %d, requests %llu, dropped %llu\n",
           (unsigned long long)st.sent_records, N, (unsigned long long)st.requests,
           (unsigned long long)lk_dropped_total(&st));
    assert_int_equal(st.sent_records, N);
    assert_int_equal(lk_dropped_total(&st), 0);
    assert_true(st.requests > 6); /* the halves went out one by one */
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, N, 20000);
    assert_int_equal(count_unique(snap, N), N);
    json_decref(snap);
}

static void test_single_record_over_burst_dropped(void **state)
{
    (void)state;
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"burst_bytes\":1500}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.batch_age_ms = 200;
    lk_errors e;
    memset(&e, 0, sizeof e);
    sl_sink *loki;
    sl_logger *lg = lk_logger(&o, "burst", NULL, &loki);
    assert_non_null(lg);
    sl_sink_set_error_callback(loki, lk_on_error, &e);
    char big[3001];
    memset(big, 'b', 3000);
    big[3000] = '\0';
    for (int i = 0; i < 20; i++) {
        if (i == 7) {
            sl_info(lg, "burst", SL_INT("i", i), SL_STR("pad", big));
        } else {
            sl_info(lg, "burst", SL_INT("i", i));
        }
    }
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    sl_sink_stats ss;
    sl_sink_get_stats(loki, &ss);
    assert_int_equal(st.sent_records, 19);
    assert_int_equal(lk_dropped_total(&st), 1);
    assert_int_equal(ss.written, 19);
    assert_int_equal(ss.dropped, 1);
    assert_true(lk_errors_have(&e, "too large"));
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 19, 10000);
    assert_int_equal(count_unique(snap, 20), 19);
    json_decref(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_over_burst_batch_split, lk_reset),
        cmocka_unit_test_setup(test_single_record_over_burst_dropped, lk_reset),
    };
    return cmocka_run_group_tests(tests, lk_setup, lk_teardown);
}
