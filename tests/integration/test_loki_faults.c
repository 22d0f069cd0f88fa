/*
 * test_loki_faults.c - the Loki sink when Loki misbehaves: a 5-second outage
 * with a queue large enough (nothing lost) and with a small one (received +
 * dropped == logged, exactly, by reason, for both drop policies); 429 storms
 * with and without Retry-After (waits grow, everything arrives); 5xx runs;
 * a batch that outlives its maximum age; a stalled server (log calls keep
 * returning quickly, drops are counted instead of the caller blocking).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/loki_harness.h"

static sl_logger *make_logger(const sl_loki_options *o, sl_sink **loki)
{
    sl_logger *lg = lk_logger(o, "faulty", NULL, loki);
    assert_non_null(lg);
    return lg;
}

/* Every received line is a distinct record "i" in [0, n); returns how many. */
static size_t check_unique(json_t *snap, int n, int *last_i)
{
    char *seen = calloc((size_t)n, 1);
    size_t count = 0;
    *last_i = -1;
    json_t *streams = json_object_get(snap, "streams");
    for (size_t s = 0; s < json_array_size(streams); s++) {
        json_t *ents = json_object_get(json_array_get(streams, s), "entries");
        for (size_t k = 0; k < json_array_size(ents); k++) {
            const char *line =
                json_string_value(json_object_get(json_array_get(ents, k), "line"));
            json_t *rec = json_loads(line, 0, NULL);
            assert_non_null(rec);
            json_int_t i = json_integer_value(json_object_get(rec, "i"));
            assert_true(i >= 0 && i < n);
            assert_int_equal(seen[i], 0); /* exactly once */
            seen[i] = 1;
            if (i > *last_i) {
                *last_i = (int)i;
            }
            count++;
            json_decref(rec);
        }
    }
    free(seen);
    return count;
}

/* Pauses the logging thread briefly: spreads records over the outage. */
static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- outages ----------------------------------------------------------------- */

static void test_outage_big_queue(void **state)
{
    (void)state;
    sl_loki_options o;
    lk_options(&LK, &o);
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    enum { N = 1000 };
    int64_t t0 = lk_now_ms();
    /* The receiver closes its listening socket for 5 s. */
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"refuse_for_ms\":5000}"), 200);
    for (int i = 0; i < N; i++) {
        sl_info(lg, "during outage", SL_INT("i", i));
        if (i % 100 == 99) {
            pause_ms(200); /* records keep coming while pushes fail */
        }
    }
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_true(st.pending_records > 0);
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_loki_get_stats(loki, &st);
    assert_true(lk_now_ms() - t0 >= 4000);
    assert_int_equal(st.sent_records, N);
    assert_int_equal(lk_dropped_total(&st), 0);
    assert_true(st.retries > 0);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, N, 10000);
    int last;
    assert_int_equal(check_unique(snap, N, &last), N);
    json_decref(snap);
}

static void outage_small_queue(sl_loki_overflow policy)
{
    sl_loki_options o;
    lk_options(&LK, &o);
    o.queue_bytes = 64 << 10;
    o.line_limit = 4096;
    o.overflow = policy;
    o.batch_bytes = 16 << 10; /* the failing batch holds few records: the queue fills */
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    lk_errors errs = {0};
    sl_sink_set_error_callback(loki, lk_on_error, &errs);
    enum { N = 3000 };
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"refuse_for_ms\":2000}"), 200);
    for (int i = 0; i < N; i++) {
        sl_info(lg, "small queue outage", SL_INT("i", i),
                SL_STR("pad", "0123456789abcdef"));
    }
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    sl_sink_stats ss;
    sl_sink_get_stats(loki, &ss);
    sl_logger_free(lg);
    /* The queue held ~64 KiB: most records were dropped, each one counted. */
    assert_true(st.dropped_queue_full > 0);
    assert_int_equal(lk_dropped_total(&st), st.dropped_queue_full);
    assert_int_equal(st.sent_records + st.dropped_queue_full, N);
    assert_int_equal(ss.written + ss.dropped, N);
    json_t *snap = lk_wait_count(&LK, st.sent_records, 10000);
    int last;
    size_t got = check_unique(snap, N, &last);
    assert_int_equal(got, st.sent_records);
    assert_int_equal(got + st.dropped_queue_full, N); /* received + dropped == logged */
    if (policy == SL_LOKI_DROP_OLDEST) {
        assert_int_equal(last, N - 1); /* the newest survive */
    }
    json_decref(snap);
}

static void test_outage_small_queue_drop_newest(void **state)
{
    (void)state;
    outage_small_queue(SL_LOKI_DROP_NEWEST);
}

static void test_outage_small_queue_drop_oldest(void **state)
{
    (void)state;
    outage_small_queue(SL_LOKI_DROP_OLDEST);
}

/* ---- 429 storms and 5xx runs -------------------------------------------------- */

/* Monotonic arrival times (ms) of the pushes, and their statuses. */
static size_t push_times(json_t *snap, double *t, int *status, size_t max)
{
    json_t *reqs = json_object_get(snap, "requests");
    size_t n = json_array_size(reqs);
    for (size_t i = 0; i < n && i < max; i++) {
        json_t *rq = json_array_get(reqs, i);
        t[i] = json_real_value(json_object_get(rq, "t")) * 1000.0;
        status[i] = (int)json_integer_value(json_object_get(rq, "status"));
    }
    return n < max ? n : max;
}

static void storm(const char *faults, sl_loki_jitter jitter, int min_ms, int fails,
                  double *gaps)
{
    assert_int_equal(lk_control(&LK, "/control/faults", faults), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.backoff_min_ms = min_ms;
    o.backoff_max_ms = 5000;
    o.jitter = jitter;
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    for (int i = 0; i < 10; i++) {
        sl_info(lg, "storm", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    sl_logger_free(lg);
    assert_int_equal(st.sent_records, 10);
    assert_int_equal(st.retries, (uint64_t)fails);
    json_t *snap = lk_wait_count(&LK, 10, 5000);
    int last;
    assert_int_equal(check_unique(snap, 10, &last), 10);
    double t[32];
    int status[32];
    size_t n = push_times(snap, t, status, 32);
    assert_int_equal(n, (size_t)fails + 1);
    for (int i = 0; i < fails; i++) {
        assert_true(status[i] == 429 || status[i] >= 500);
    }
    assert_int_equal(status[fails], 204);
    for (int i = 0; i < fails; i++) {
        gaps[i] = t[i + 1] - t[i];
    }
    json_decref(snap);
}

static void test_429_storm_backoff_grows(void **state)
{
    (void)state;
    /* Equal jitter keeps each wait within [cap/2, cap] while the cap doubles
     * (40, 80, ... 640 ms), so the shortest possible wait doubles too: the
     * growth is certain, not just likely. A measured gap is the wait plus the
     * request's own time, so only the lower bounds are exact; the upper ones
     * get slack for a slow (sanitizer) run. Full jitter is checked below. */
    double gaps[5];
    storm("{\"fail\":[{\"status\":429,\"count\":5}]}", SL_LOKI_JITTER_EQUAL, 40, 5, gaps);
    double cap = 40.0;
    for (int i = 0; i < 5; i++) {
        if (gaps[i] < cap / 2 - 2.0 || gaps[i] > cap + 300.0) {
            fail_msg("wait %d is %.1f ms, outside [%.0f, %.0f] (+slack)", i, gaps[i],
                     cap / 2, cap);
        }
        cap *= 2;
    }
    assert_true(gaps[4] > 2.0 * gaps[0]);

    /* Full jitter (the default): every wait within its cap, all delivered. */
    lk_reset(NULL);
    storm("{\"fail\":[{\"status\":429,\"count\":5}]}", SL_LOKI_JITTER_FULL, 40, 5, gaps);
    cap = 40.0;
    for (int i = 0; i < 5; i++) {
        if (gaps[i] > cap + 300.0) {
            fail_msg("full-jitter wait %d is %.1f ms, above its cap %.0f", i, gaps[i],
                     cap);
        }
        cap *= 2;
    }
}

static void test_429_retry_after(void **state)
{
    (void)state;
    /* Retry-After: 1 is a floor under the backoff (caps 400, 800, 1600,
     * 3200 ms, equal jitter): the first waits are held at 1 s, the last one
     * has grown past it. */
    double gaps[4];
    storm("{\"fail\":[{\"status\":429,\"count\":2},{\"status\":503,\"count\":1},"
          "{\"status\":429,\"count\":1}],\"retry_after\":\"1\"}",
          SL_LOKI_JITTER_EQUAL, 400, 4, gaps);
    for (int i = 0; i < 4; i++) {
        if (gaps[i] < 950.0) {
            fail_msg("retry %d came after %.1f ms, before Retry-After: 1", i, gaps[i]);
        }
    }
    if (gaps[3] < 1550.0) {
        fail_msg("the last wait (%.1f ms) did not grow past the Retry-After floor",
                 gaps[3]);
    }
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"retry_after\":null}"), 200);
}

static void test_5xx_run(void **state)
{
    (void)state;
    double gaps[4];
    storm("{\"fail\":[{\"status\":500,\"count\":2},{\"status\":503,\"count\":2}]}",
          SL_LOKI_JITTER_FULL, 40, 4, gaps);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    assert_int_equal(lk_control(&LK, "/control/faults",
                                "{\"fail\":[{\"status\":503,\"count\":100000}]}"),
                     200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.max_batch_age_ms = 300;
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    lk_errors errs = {0};
    sl_sink_set_error_callback(loki, lk_on_error, &errs);
    for (int i = 0; i < 8; i++) {
        sl_info(lg, "doomed", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.dropped_retries_exhausted, 8);
    assert_int_equal(st.last_http_status, 503);
    assert_true(st.retries >= 1);
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"fail\":[]}"), 200);
    for (int i = 8; i < 12; i++) {
        sl_info(lg, "fine", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.sent_records, 4);
    assert_int_equal(st.sent_records + lk_dropped_total(&st), 12);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 4, 5000);
    int last;
    assert_int_equal(check_unique(snap, 12, &last), 4);
    json_decref(snap);
}

/* ---- a stalled server ------------------------------------------------------- */

/*
 * Ends a stalled-server test: the server answers at once again, every record
 * logged was sent or counted as dropped, and each one that arrived is one of
 * the n logged and arrived once. Frees lg; returns the sink's final stats.
 */
static sl_loki_stats heal_and_check(sl_logger *lg, sl_sink *loki, uint64_t logged, int n)
{
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"delay_ms\":0}"), 200);
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.sent_records + lk_dropped_total(&st), logged);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, st.sent_records, 10000);
    int last;
    assert_int_equal(check_unique(snap, n, &last), st.sent_records);
    json_decref(snap);
    return st;
}

static void test_stalled_server(void **state)
{
    (void)state;
    /* Every answer takes 3 s; the sink gives up after 1 s and retries. */
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"delay_ms\":3000}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.request_timeout_ms = 1000;
    o.queue_bytes = 64 << 10;
    o.line_limit = 4096;
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    enum { N = 20000 };
    int64_t worst_ns = 0;
    int64_t t_start = lk_now_ms();
    for (int i = 0; i < N; i++) {
        int64_t d = lk_timed_info(lg, "stalled", i);
        if (d > worst_ns) {
            worst_ns = d;
        }
    }
    int64_t spent = lk_now_ms() - t_start;
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    /* Behaviour, not a benchmark: the caller never waited for the server
     * (one 1 s request timeout would show), the queue filled and drops were
     * counted instead. The bound is generous for loaded sanitizer runs. */
    if (worst_ns > 500 * 1000000LL) {
        fail_msg("a log call took %.1f ms while the server stalled",
                 (double)worst_ns / 1e6);
    }
    assert_true(spent < 5000);
    assert_true(st.dropped_queue_full > 0);
    assert_int_equal(st.sent_records, 0);

    /* Let at least one request time out and be retried before the server
     * recovers. */
    int64_t deadline = lk_now_ms() + 10000;
    while (st.retries == 0 && lk_now_ms() < deadline) {
        pause_ms(10);
        sl_loki_get_stats(loki, &st);
    }
    assert_true(st.retries > 0);
    assert_int_equal(st.last_http_status, 0); /* a transport error: the timeout */
    st = heal_and_check(lg, loki, N, N);
    assert_true(st.retries > 0);
}

/* ---- SL_LOKI_BLOCK: callers wait, but only up to their bound ------------------ */

static void test_block_policy(void **state)
{
    (void)state;
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"delay_ms\":3000}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.request_timeout_ms = 300;
    o.queue_bytes = 64 << 10;
    o.line_limit = 4096;
    o.overflow = SL_LOKI_BLOCK;
    o.block_timeout_ms = 40;
    o.batch_bytes = 16 << 10; /* the worker stops taking records while it waits */
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    enum { N = 20000 };
    int64_t worst_ns = 0;
    for (int i = 0; i < N; i++) {
        int64_t d = lk_timed_info(lg, "blocking", i);
        if (d > worst_ns) {
            worst_ns = d;
        }
        sl_loki_stats st;
        sl_loki_get_stats(loki, &st);
        if (st.dropped_queue_full >= 3) {
            break; /* a few timed-out waits are enough */
        }
    }
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    /* It waited (the queue was full) and gave up at its bound, counting the drop. */
    assert_true(st.dropped_queue_full >= 3);
    assert_true(worst_ns >= 35 * 1000000LL);
    if (worst_ns > 1000 * 1000000LL) {
        fail_msg("a blocking log call took %.1f ms with a 40 ms bound",
                 (double)worst_ns / 1e6);
    }
    uint64_t logged = st.queued_records + st.dropped_queue_full;
    heal_and_check(lg, loki, logged, N);
}

/* ---- flush waits for the batch in flight, whatever drop_oldest settles ---- */

typedef struct writer {
    sl_logger *lg;
    int n;
} writer;

static void *writer_main(void *p)
{
    writer *wr = p;
    for (int i = 0; i < wr->n; i++) {
        sl_info(wr->lg, "after flush", SL_INT("i", i));
    }
    return NULL;
}

static void test_flush_waits_for_inflight(void **state)
{
    (void)state;
    /* The first push takes 1.5 s; meanwhile drop_oldest evicts (settles)
     * newer records, also ones logged after the flush began. The flush must
     * still wait for the slow batch: it holds the oldest records. */
    assert_int_equal(
        lk_control(&LK, "/control/faults", "{\"delay_ms\":1500,\"delay_count\":1}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.queue_bytes = 64 << 10;
    o.line_limit = 4096;
    o.batch_bytes = 16 << 10;
    o.overflow = SL_LOKI_DROP_OLDEST;
    sl_sink *loki;
    sl_logger *lg = make_logger(&o, &loki);
    for (int i = 0; i < 1500; i++) {
        sl_info(lg, "before flush", SL_INT("i", i));
    }
    /* Wait until the slow first push is on the wire. */
    sl_loki_stats st;
    int64_t deadline = lk_now_ms() + 10000;
    do {
        sl_loki_get_stats(loki, &st);
    } while (st.requests == 0 && lk_now_ms() < deadline);
    assert_true(st.requests >= 1);
    writer wr = {lg, 20000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, &wr), 0);
    assert_int_equal(sl_logger_flush(lg, 20000), SL_OK);
    /* Acknowledged means answered: the receiver has finished the slow push
     * (it records a request before it answers). */
    json_t *snap = lk_entries(&LK);
    json_t *reqs = json_object_get(snap, "requests");
    assert_true(json_array_size(reqs) >= 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(reqs, 0), "status")), 204);
    json_decref(snap);
    pthread_join(th, NULL);
    assert_int_equal(sl_logger_flush(lg, 20000), SL_OK);
    sl_loki_get_stats(loki, &st);
    assert_true(st.dropped_queue_full > 0);
    assert_int_equal(st.sent_records + lk_dropped_total(&st), 1500 + 20000);
    sl_logger_free(lg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_outage_big_queue, lk_reset),
        cmocka_unit_test_setup(test_outage_small_queue_drop_newest, lk_reset),
        cmocka_unit_test_setup(test_outage_small_queue_drop_oldest, lk_reset),
        cmocka_unit_test_setup(test_429_storm_backoff_grows, lk_reset),
        cmocka_unit_test_setup(test_429_retry_after, lk_reset),
        cmocka_unit_test_setup(test_5xx_run, lk_reset),
        cmocka_unit_test_setup(test_retries_exhausted, lk_reset),
        cmocka_unit_test_setup(test_stalled_server, lk_reset),
        cmocka_unit_test_setup(test_block_policy, lk_reset),
        cmocka_unit_test_setup(test_flush_waits_for_inflight, lk_reset),
    };
    return cmocka_run_group_tests(tests, lk_setup, lk_teardown);
}
