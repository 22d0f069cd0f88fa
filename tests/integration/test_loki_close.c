/*
 * test_loki_close.c - sl_logger_free() keeps its deadline while a Loki push
 * is in flight and the server never answers: a listener that accepts the
 * connection (the kernel's backlog does) and never replies. Before the
 * delivery runtime the close deadline was read once when a request started,
 * so the free waited for the whole request timeout (10 s by default, and the
 * 30 s configured here). The bound allows scheduler slack, not the timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"
#include "spanlog/spanlog.h"
#include "unit/loopback.h"

#define CLOSE_MS 2000 /* what log.h and docs/loki.md promise */

static void test_free_cancels_request_in_flight(void **state)
{
    (void)state;
    int port;
    int ls = loopback_socket(SOCK_STREAM, &port);
    assert_int_equal(listen(ls, 16), 0); /* never accepted, never answered */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = url;
    o.request_timeout_ms = 30000;
    o.service_name = "close-test";
    sl_sink *sink;
    assert_int_equal(sl_loki_sink_new(&o, &sink, NULL), SL_OK);
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    sl_logger *log;
    assert_int_equal(sl_logger_new(&lo, &log), SL_OK);
    assert_int_equal(sl_logger_add_sink(log, sink, SL_LEVEL_TRACE), SL_OK);

    sl_info(log, "one record that the server never acknowledges");
    /* The flush starts the push and gives up; the request stays in flight. */
    assert_int_equal(sl_logger_flush(log, 100), SL_ETIMEDOUT);
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(sink, &st), SL_OK);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.pending_records, 1);

    int64_t t0 = sl__monotonic_ns();
    sl_logger_free(log);
    int64_t ms = (sl__monotonic_ns() - t0) / 1000000;
    printf("sl_logger_free with a push in flight: %lld ms (deadline %d ms, request "
           "timeout %d ms)\n",
           (long long)ms, CLOSE_MS, o.request_timeout_ms);
    assert_true(ms >= CLOSE_MS - 50); /* it did try to deliver until the deadline */
    assert_true(ms < CLOSE_MS + 1000);
    close(ls);
}

typedef struct report {
    int timed_out;
    char text[512];
} report;

static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    (void)sink;
    (void)suppressed;
    report *r = user;
    if (code == SL_ETIMEDOUT) {
        r->timed_out++;
        snprintf(r->text, sizeof r->text, "%s", text);
    }
}

/* What close could not deliver is counted and reported, none silently. */
static void test_close_reports_closed(void **state)
{
    (void)state;
    int port;
    int ls = loopback_socket(SOCK_STREAM, &port);
    assert_int_equal(listen(ls, 16), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = url;
    sl_sink *sink;
    assert_int_equal(sl_loki_sink_new(&o, &sink, NULL), SL_OK);
    report r = {0, ""};
    sl_sink_set_error_callback(sink, on_error, &r);
    for (int i = 0; i < 10; i++) {
        char line[64];
        int n =
            snprintf(line, sizeof line, "{\"msg\":\"never acknowledged\",\"i\":%d}\n", i);
        sl_record rec;
        memset(&rec, 0, sizeof rec);
        rec.level = SL_LEVEL_INFO;
        rec.msg = "never acknowledged";
        rec.msg_len = strlen(rec.msg);
        /* Straight to the sink, as a logger would. */
        sl__sink_write(sink, &rec, line, (size_t)n);
    }
    assert_int_equal(sl_sink_flush(sink, 50), SL_ETIMEDOUT);
    int64_t t0 = sl__monotonic_ns();
    sl_sink_free(sink, 300);
    int64_t ms = (sl__monotonic_ns() - t0) / 1000000;
    printf("sl_sink_free(300 ms) with a push in flight: %lld ms; reported: %s\n",
           (long long)ms, r.text);
    assert_true(ms >= 250 && ms < 300 + 1000);
    assert_int_equal(r.timed_out, 1);
    assert_non_null(strstr(r.text, "10 records not delivered"));
    close(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_cancels_request_in_flight),
        cmocka_unit_test(test_close_reports_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
