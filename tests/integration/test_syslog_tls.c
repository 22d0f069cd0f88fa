/*
 * test_syslog_tls.c - the syslog sink over TLS (RFC 5425) against a real
 * rsyslogd with its OpenSSL stream driver: fields arrive as sent, volume,
 * certificate verification (wrong CA, wrong name: nothing is sent), and a
 * daemon restart under the TLS stream.
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "integration/rsyslog_harness.h"
#include "integration/syslog_suite.h"
#include "internal.h"
#include "unit/syslog_parse.h"

/* Filled on the sink's worker thread, read by the test: under a lock. */
typedef struct errors {
    pthread_mutex_t mu;
    int tls_errors;
    char last[256];
} errors;

#define ERRORS_INIT                                                                      \
    {                                                                                    \
        PTHREAD_MUTEX_INITIALIZER, 0, ""                                                 \
    }

static int tls_errors(errors *e, char *last, size_t cap)
{
    pthread_mutex_lock(&e->mu);
    int n = e->tls_errors;
    if (last != NULL) {
        snprintf(last, cap, "%s", e->last);
    }
    pthread_mutex_unlock(&e->mu);
    return n;
}

static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    (void)sink;
    (void)suppressed;
    errors *e = user;
    pthread_mutex_lock(&e->mu);
    if (code == SL_EPROTO) {
        e->tls_errors++;
        snprintf(e->last, sizeof e->last, "%s", text);
    }
    pthread_mutex_unlock(&e->mu);
}

static sl_logger *tls_logger(sl_syslog_options *so, sl_sink **sink, errors *e)
{
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = "tlsapp";
    lo.max_record_bytes = 256 * 1024;
    sl_logger *lg;
    assert_int_equal(sl_logger_new(&lo, &lg), SL_OK);
    assert_int_equal(sl_syslog_sink_new(so, sink, NULL), SL_OK);
    sl_sink_set_error_callback(*sink, on_error, e);
    assert_int_equal(sl_logger_add_sink(lg, *sink, SL_LEVEL_TRACE), SL_OK);
    return lg;
}

static void base_options(sl_syslog_options *so)
{
    sl_syslog_options_init(so);
    so->transport = SL_SYSLOG_TLS;
    so->host = "127.0.0.1";
    so->port = (uint16_t)g_rsl.tls_port;
    so->tls_ca_file = g_rsl.ca;
    so->hostname = "web-1";
    so->timeout_ms = 5000;
    so->reconnect_min_ms = 50;
    so->reconnect_max_ms = 400;
}

static void log_seq(sl_logger *lg, const char *marker, size_t seq, const char *extra)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s#%zu", marker, seq);
    sl_info(lg, msg, SL_UINT("seq", seq), SL_STR("extra", extra));
}

/* Every field arrives as sent; trace ids as SD; a 100 KiB record whole. */
static void test_tls_fields_and_volume(void **state)
{
    (void)state;
    enum { N = 20000 };
    char marker[64];
    snprintf(marker, sizeof marker, "tls-vol-%d", (int)getpid());
    sl_syslog_options so;
    base_options(&so);
    sl_sink *sink;
    errors e = ERRORS_INIT;
    sl_logger *lg = tls_logger(&so, &sink, &e);
    sl_span *span = sl_span_start("tls", SL_SPAN_SERVER);
    char tid[33], sid[17];
    sl_trace_id_to_hex(sl_span_get_context(span)->trace_id, tid);
    sl_span_id_to_hex(sl_span_get_context(span)->span_id, sid);
    char *big = malloc(100 * 1024 + 1);
    memset(big, 'x', 100 * 1024);
    big[100 * 1024] = '\0';
    log_seq(lg, marker, 0, big);
    sl_span_end(span);
    for (size_t i = 1; i < N; i++) {
        log_seq(lg, marker, i, "\"quoted\" ]\\ h\xc3\xa9llo");
    }
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_counter c;
    rsl_expect_counter(&c, marker, N);
    rsl_wait_count(&c, N, 120000);
    printf("tls: sent %d written %llu dropped %llu received %zu\n", N,
           (unsigned long long)st.written, (unsigned long long)st.dropped, c.received);
    assert_int_equal(st.written, N);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(c.received, N);
    assert_int_equal(c.duplicates, 0);
    assert_int_equal(tls_errors(&e, NULL, 0), 0);

    /* The first record: header, SD and the whole 100 KiB JSON MSG. */
    assert_non_null(c.first);
    json_t *o = json_loads(c.first, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "host")), "web-1");
    assert_string_equal(json_string_value(json_object_get(o, "app")), "tlsapp");
    assert_string_equal(json_string_value(json_object_get(o, "pri")), "14");
    const char *sd = json_string_value(json_object_get(o, "sd"));
    char buf[512];
    snprintf(buf, sizeof buf, "<14>1 - - - - - %s", sd);
    sp_msg m;
    assert_true(sp_parse(buf, strlen(buf), &m));
    assert_string_equal(m.elems[0].id, "opentelemetry");
    assert_string_equal(sp_find(&m.elems[0], "trace_id")->value, tid);
    assert_string_equal(sp_find(&m.elems[0], "span_id")->value, sid);
    json_t *rec = json_loads(json_string_value(json_object_get(o, "msg")), 0, NULL);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "extra")), big);
    assert_string_equal(json_string_value(json_object_get(rec, "traceId")), tid);
    json_decref(rec);
    json_decref(o);
    rsl_counter_free(&c);
    free(big);
    sl_logger_free(lg);
}

/* A server the client cannot verify gets nothing; the reason is reported. */
static void verify_fails(const char *ca, const char *name, const char *what)
{
    char marker[64];
    snprintf(marker, sizeof marker, "tls-bad-%s-%d", what, (int)getpid());
    sl_syslog_options so;
    base_options(&so);
    so.tls_ca_file = ca;
    so.tls_server_name = name;
    so.timeout_ms = 0;
    sl_sink *sink;
    errors e = ERRORS_INIT;
    sl_logger *lg = tls_logger(&so, &sink, &e);
    for (size_t i = 0; i < 50; i++) {
        log_seq(lg, marker, i, "secret");
    }
    /* Wait (bounded) for the worker's first refused handshake. */
    int64_t deadline = rsl_now_ms() + 10000;
    char last[256];
    while (tls_errors(&e, NULL, 0) == 0 && rsl_now_ms() < deadline) {
        sl_logger_flush(lg, 20);
    }
    assert_true(tls_errors(&e, last, sizeof last) > 0);
    printf("%s: %s\n", what, last);
    assert_non_null(strstr(last, "verif"));
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, 0);
    /* A correctly verified record sent afterwards on another sink marks the
     * point up to which rsyslog's output is complete. */
    sl_syslog_options good;
    base_options(&good);
    sl_sink *gs;
    errors ge = ERRORS_INIT;
    sl_logger *glg = tls_logger(&good, &gs, &ge);
    log_seq(glg, marker, 1000, "fence");
    assert_int_equal(sl_logger_flush(glg, 10000), SL_OK);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 2000);
    rsl_wait_count(&c, 1, 20000);
    assert_int_equal(c.received, 1); /* the fence only */
    assert_true(c.seen[1000]);
    rsl_counter_free(&c);
    sl_logger_free(glg);
    sl_logger_free(lg);
}

static void test_tls_wrong_ca(void **state)
{
    (void)state;
    verify_fails(g_rsl.other_ca, NULL, "ca");
}

static void test_tls_wrong_name(void **state)
{
    (void)state;
    verify_fails(g_rsl.ca, "not-the-server.example", "name");
}

/* rsyslog stops and starts again under the TLS stream: the sink reconnects
 * (new handshake) by itself and every record is accounted for. */
static void test_tls_restart(void **state)
{
    (void)state;
    enum { PHASE = 1000 };
    char marker[64];
    snprintf(marker, sizeof marker, "tls-restart-%d", (int)getpid());
    sl_syslog_options so;
    base_options(&so);
    so.timeout_ms = 0;
    sl_sink *sink;
    errors e = ERRORS_INIT;
    sl_logger *lg = tls_logger(&so, &sink, &e);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 3 * PHASE);
    size_t seq = 0;
    for (; seq < PHASE; seq++) {
        log_seq(lg, marker, seq, "one");
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_wait_count(&c, (size_t)st.written, 30000);
    assert_int_equal(c.received, st.written);
    rsl_stop(&g_rsl);
    for (; seq < 2 * PHASE; seq++) {
        log_seq(lg, marker, seq, "two");
    }
    assert_int_equal(rsl_restart(&g_rsl), 0);
    for (; seq < 3 * PHASE; seq++) {
        log_seq(lg, marker, seq, "three");
    }
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_sink_get_stats(sink, &st);
    rsl_wait_count(&c, (size_t)st.written, 30000);
    printf("tls restart: sent %zu written %llu dropped %llu received %zu\n", seq,
           (unsigned long long)st.written, (unsigned long long)st.dropped, c.received);
    assert_int_equal(st.written + st.dropped, seq);
    assert_int_equal(c.received, st.written);
    assert_int_equal(c.duplicates, 0);
    assert_true(c.received > PHASE);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_fields_and_volume),
        cmocka_unit_test(test_tls_wrong_ca),
        cmocka_unit_test(test_tls_wrong_name),
        cmocka_unit_test(test_tls_restart),
    };
    if (getenv("SPANLOG_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("SPANLOG_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, rsl_group_setup_tls, rsl_group_teardown);
}
