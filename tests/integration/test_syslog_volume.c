/*
 * test_syslog_volume.c - the syslog sink against a real rsyslogd under load
 * and faults: 100,000 records over TCP and over the local socket (received +
 * dropped == sent, nothing dropped over TCP), rsyslog stopped and restarted
 * under a TCP stream (the sink reconnects by itself, no call waits past its
 * bound), the daemon absent, several threads sharing a sink, and fork.
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "integration/rsyslog_harness.h"
#include "integration/syslog_suite.h"
#include "internal.h"

/* Under ThreadSanitizer, let the fork test's child start its worker thread
 * (TSan refuses threads after a multi-threaded fork unless told otherwise).
 * Ignored by other builds. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}

/* ---- volume, faults, absence --------------------------------------------- */

/* Sink errors, printed for the log of a failing run (rate-limited by the sink). */
static void print_sink_error(void *user, const sl_sink *sink, sl_status code,
                             const char *text, uint64_t suppressed)
{
    (void)user;
    (void)sink;
    fprintf(stderr, "[%lld ms] sink error %d: %s (+%llu suppressed)\n",
            (long long)rsl_now_ms(), (int)code, text, (unsigned long long)suppressed);
}

static sl_logger *volume_logger(const sl_syslog_options *so, sl_sink **sink)
{
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = "volume";
    sl_logger *lg;
    assert_int_equal(sl_logger_new(&lo, &lg), SL_OK);
    assert_int_equal(sl_syslog_sink_new(so, sink, NULL), SL_OK);
    sl_sink_set_error_callback(*sink, print_sink_error, NULL);
    assert_int_equal(sl_logger_add_sink(lg, *sink, SL_LEVEL_TRACE), SL_OK);
    return lg;
}

static int64_t log_seq(sl_logger *lg, const char *marker, size_t seq)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s#%zu", marker, seq);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sl_info(lg, msg, SL_UINT("seq", seq),
            SL_STR("pad", "some payload to make the record a realistic size"));
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}

/* Records carry "<marker>#<seq>" as their message; count_line reads seq. */
static void make_marker(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "vol-%s-%d", what, (int)getpid());
}

static void test_volume_tcp(void **state)
{
    (void)state;
    enum { N = 100000 };
    char marker[80];
    make_marker(marker, sizeof marker, "tcp");
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.transport = SL_SYSLOG_TCP;
    so.port = (uint16_t)g_rsl.tcp_port;
    so.timeout_ms = 5000; /* a slow daemon makes callers wait, not drop */
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    for (size_t i = 0; i < N; i++) {
        log_seq(lg, marker, i);
    }
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_counter c;
    rsl_expect_counter(&c, marker, N);
    rsl_wait_count(&c, N, 120000);
    printf("tcp volume: sent %d written %llu dropped %llu received %zu\n", N,
           (unsigned long long)st.written, (unsigned long long)st.dropped, c.received);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.written, N);
    assert_int_equal(c.received, N);
    assert_int_equal(c.duplicates, 0);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

static void volume_unix(int timeout_ms, size_t queue_bytes)
{
    enum { N = 100000 };
    char marker[80];
    snprintf(marker, sizeof marker, "vol-unix%d-%zu-%d", timeout_ms, queue_bytes,
             (int)getpid());
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.path = g_rsl.local_sock; /* stock local format */
    so.timeout_ms = timeout_ms;
    if (queue_bytes > 0) {
        so.queue_bytes = queue_bytes;
    }
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    for (size_t i = 0; i < N; i++) {
        log_seq(lg, marker, i);
    }
    sl_sink_stats st;
    /* Delivery is the worker's: settle what was logged before counting. */
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_get_stats(sink, &st);
    rsl_counter c;
    rsl_expect_counter(&c, marker, N);
    /* Every datagram the kernel accepted reaches rsyslog's file. */
    rsl_wait_count(&c, (size_t)st.written, 120000);
    printf(
        "unix volume (timeout %d ms): sent %d written %llu dropped %llu received %zu\n",
        timeout_ms, N, (unsigned long long)st.written, (unsigned long long)st.dropped,
        c.received);
    assert_int_equal(st.written + st.dropped, N);
    assert_int_equal(c.received, st.written);
    assert_int_equal(c.duplicates, 0);
    if (timeout_ms >= 1000 || queue_bytes > 0) {
        /* Waiting for room, or a queue that holds the burst: nothing lost. */
        assert_int_equal(st.dropped, 0);
    }
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

/* The default never waits: a burst beyond the daemon's pace is dropped, counted. */
static void test_volume_unix(void **state)
{
    (void)state;
    volume_unix(0, 0);
}

/* As fast as possible, never waiting, into a queue that holds the burst:
 * every record arrives. The caller never waits for the socket (the kernel
 * queues 10 datagrams on a unix socket); the worker does. */
static void test_volume_unix_burst(void **state)
{
    (void)state;
    volume_unix(0, 64u << 20);
}

/* The fault as reported: 200 records into the local socket with the default
 * options (no waiting, default queue) lost 189 on the first EAGAIN. A burst
 * far below the queue's size loses nothing. */
static void test_burst_200_default(void **state)
{
    (void)state;
    char marker[80];
    make_marker(marker, sizeof marker, "burst200");
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.path = g_rsl.local_sock;
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    for (size_t i = 0; i < 200; i++) {
        log_seq(lg, marker, i);
    }
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 200);
    rsl_wait_count(&c, 200, 30000);
    printf("unix burst of 200: written %llu dropped %llu received %zu\n",
           (unsigned long long)st.written, (unsigned long long)st.dropped, c.received);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.written, 200);
    assert_int_equal(c.received, 200);
    assert_int_equal(c.duplicates, 0);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

/* With a bound on the wait, a burst is delivered whole. */
static void test_volume_unix_waiting(void **state)
{
    (void)state;
    volume_unix(2000, 0);
}

static void test_tcp_daemon_restart(void **state)
{
    (void)state;
    enum { PHASE = 2000, DOWN = 1500 };
    const int timeout_ms = 10;
    char marker[80];
    make_marker(marker, sizeof marker, "restart");
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.transport = SL_SYSLOG_TCP;
    so.port = (uint16_t)g_rsl.tcp_port;
    so.timeout_ms = timeout_ms;
    so.queue_bytes = 65536; /* small, so that the outage overflows it */
    so.reconnect_min_ms = 50;
    so.reconnect_max_ms = 400;
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 2 * PHASE + DOWN);
    int64_t max_ns = 0, ns;
    size_t seq = 0;

    /* 1: connected; wait until rsyslog has written all of it. */
    for (int i = 0; i < PHASE; i++) {
        ns = log_seq(lg, marker, seq++);
        max_ns = ns > max_ns ? ns : max_ns;
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_wait_count(&c, (size_t)st.written, 30000);
    assert_int_equal(c.received, st.written);
    assert_int_equal(st.written + st.dropped, PHASE);
    uint64_t dropped_before = st.dropped;

    /* 2: the daemon stops under the open connection; logging goes on. */
    rsl_stop(&g_rsl);
    for (int i = 0; i < DOWN; i++) {
        ns = log_seq(lg, marker, seq++);
        max_ns = ns > max_ns ? ns : max_ns;
    }
    sl_sink_get_stats(sink, &st);
    assert_true(st.dropped >
                dropped_before); /* the queue overflowed while nobody listened */

    /* 3: the daemon is back on the same port: the sink reconnects by itself. */
    assert_int_equal(rsl_restart(&g_rsl), 0);
    for (int i = 0; i < PHASE; i++) {
        ns = log_seq(lg, marker, seq++);
        max_ns = ns > max_ns ? ns : max_ns;
    }
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_sink_get_stats(sink, &st);
    rsl_wait_count(&c, (size_t)st.written, 30000);
    printf(
        "tcp restart: sent %zu written %llu dropped %llu received %zu max call %.3f ms "
        "(timeout %d ms)\n",
        seq, (unsigned long long)st.written, (unsigned long long)st.dropped, c.received,
        (double)max_ns / 1e6, timeout_ms);
    assert_int_equal(st.written + st.dropped, seq);
    assert_int_equal(c.received, st.written);
    assert_int_equal(c.duplicates, 0);
    assert_true(c.received > PHASE); /* after the restart, records flow again */
    /* No call waited longer than its bound (plus scheduling slack on a busy
     * machine; the failure this catches is a wait for connect or backoff). */
    assert_true(max_ns < (int64_t)(timeout_ms + 250) * 1000000);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

static void test_daemon_absent(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/absent.sock", g_rsl.dir);
    char marker[80];
    make_marker(marker, sizeof marker, "absent");

    /* Local socket missing: every record is dropped and counted. */
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.path = path;
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    for (int i = 0; i < 100; i++) {
        log_seq(lg, marker, (size_t)i);
    }
    sl_sink_stats st;
    /* Delivery is the worker's: settle what was logged before counting. */
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.dropped, 100);
    assert_true(st.errors > 0);
    sl_logger_free(lg);

    /* TCP port closed: records wait in the bounded queue, the overflow is
     * dropped and counted, and no call waits. */
    sl_syslog_options_init(&so);
    so.transport = SL_SYSLOG_TCP;
    so.port = (uint16_t)rsl_free_port(SOCK_STREAM); /* nothing listens there */
    so.queue_bytes = 65536;
    lg = volume_logger(&so, &sink);
    int64_t max_ns = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t ns = log_seq(lg, marker, (size_t)i);
        max_ns = ns > max_ns ? ns : max_ns;
    }
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, 0);
    assert_true(st.dropped > 0 && st.dropped < 1000);
    assert_int_equal(sl_logger_flush(lg, 50), SL_ETIMEDOUT);
    assert_true(max_ns < 250 * 1000000);
    sl_logger_free(lg);

    /* A local sink made before the daemon: it connects once the daemon is there. */
    rsl_stop(&g_rsl);
    sl_syslog_options_init(&so);
    so.path = g_rsl.local_sock;
    so.reconnect_min_ms = 20;
    so.reconnect_max_ms = 100;
    lg = volume_logger(&so, &sink);
    size_t seq = 0;
    for (; seq < 10; seq++) {
        log_seq(lg, marker, seq);
    }
    assert_int_equal(rsl_restart(&g_rsl), 0);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 100000);
    int64_t deadline = rsl_now_ms() + 20000;
    while (c.received == 0 && rsl_now_ms() < deadline && seq < 100000) {
        log_seq(lg, marker, seq++);
        rsl_read(&g_rsl, rsl_counter_line, &c);
    }
    /* Delivery is the worker's: settle what was logged before counting. */
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_get_stats(sink, &st);
    rsl_wait_count(&c, (size_t)st.written, 20000);
    assert_true(c.received > 0);
    assert_true(st.dropped >= 10);
    assert_int_equal(st.written + st.dropped, seq);
    assert_int_equal(c.received, st.written);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

/* The daemon restarts under a connected local sink: its old socket is gone
 * (ECONNREFUSED/ENOTCONN), the sink connects to the new one by itself, and
 * what was logged meanwhile is counted as dropped. */
static void test_unix_daemon_restart(void **state)
{
    (void)state;
    enum { PHASE = 1000 };
    char marker[80];
    make_marker(marker, sizeof marker, "unixrestart");
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.path = g_rsl.local_sock;
    so.timeout_ms = 2000;
    so.reconnect_min_ms = 20;
    so.reconnect_max_ms = 100;
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 100000);
    size_t seq = 0;
    for (; seq < PHASE; seq++) {
        log_seq(lg, marker, seq);
    }
    sl_sink_stats st;
    /* Delivery is the worker's: settle what was logged before counting. */
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, PHASE);
    rsl_wait_count(&c, PHASE, 30000);
    assert_int_equal(c.received, PHASE);

    rsl_stop(&g_rsl);
    for (size_t i = 0; i < 100; i++, seq++) {
        log_seq(lg, marker, seq);
    }
    /* Delivery is the worker's: settle what was logged before counting. */
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.dropped, 100); /* nobody there: dropped, counted */

    assert_int_equal(rsl_restart(&g_rsl), 0);
    size_t before = c.received;
    int64_t deadline = rsl_now_ms() + 20000;
    while (c.received == before && rsl_now_ms() < deadline && seq < 100000) {
        log_seq(lg, marker, seq++);
        rsl_read(&g_rsl, rsl_counter_line, &c);
    }
    /* Delivery is the worker's: settle what was logged before counting. */
    assert_int_equal(sl_logger_flush(lg, 60000), SL_OK);
    sl_sink_get_stats(sink, &st);
    rsl_wait_count(&c, (size_t)st.written, 20000);
    printf("unix restart: sent %zu written %llu dropped %llu received %zu\n", seq,
           (unsigned long long)st.written, (unsigned long long)st.dropped, c.received);
    assert_true(c.received > PHASE); /* reconnected by itself */
    assert_int_equal(st.written + st.dropped, seq);
    assert_int_equal(c.received, st.written);
    assert_int_equal(c.duplicates, 0);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

/* ---- many threads, and fork ---------------------------------------------- */

typedef struct producer {
    sl_logger *lg;
    const char *marker;
    size_t from, n;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    for (size_t i = 0; i < p->n; i++) {
        log_seq(p->lg, p->marker, p->from + i);
    }
    return NULL;
}

/* Four threads share one sink: every record is accounted for, none twice. */
static void threads_case(sl_syslog_transport transport)
{
    enum { T = 4, PER = 10000 };
    char marker[80];
    snprintf(marker, sizeof marker, "vol-threads%d-%d", (int)transport, (int)getpid());
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.transport = transport;
    so.path = g_rsl.rfc5424_sock;
    so.format = SL_SYSLOG_FORMAT_RFC5424;
    so.port = (uint16_t)g_rsl.tcp_port;
    so.timeout_ms = 2000;
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    pthread_t th[T];
    producer pr[T];
    for (int i = 0; i < T; i++) {
        pr[i] = (producer){lg, marker, (size_t)i * PER, PER};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(sl_logger_flush(lg, 30000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_counter c;
    rsl_expect_counter(&c, marker, T * PER);
    rsl_wait_count(&c, (size_t)st.written, 60000);
    printf("%d threads over %s: sent %d written %llu dropped %llu received %zu\n", T,
           transport == SL_SYSLOG_TCP ? "tcp" : "unix", T * PER,
           (unsigned long long)st.written, (unsigned long long)st.dropped, c.received);
    assert_int_equal(st.written + st.dropped, T * PER);
    assert_int_equal(c.received, st.written);
    assert_int_equal(c.duplicates, 0);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

static void test_threads_tcp(void **state)
{
    (void)state;
    threads_case(SL_SYSLOG_TCP);
}

static void test_threads_unix(void **state)
{
    (void)state;
    threads_case(SL_SYSLOG_UNIX);
}

/* A forked child logs through the parent's TCP sink: it makes its own
 * connection and worker; parent and child records all arrive. */
static void test_tcp_fork(void **state)
{
    (void)state;
    enum { N = 500 };
    char marker[80];
    snprintf(marker, sizeof marker, "vol-fork-%d", (int)getpid());
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.transport = SL_SYSLOG_TCP;
    so.port = (uint16_t)g_rsl.tcp_port;
    so.timeout_ms = 2000;
    sl_sink *sink;
    sl_logger *lg = volume_logger(&so, &sink);
    for (size_t i = 0; i < N; i++) {
        log_seq(lg, marker, i);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (size_t i = N; i < 2 * N; i++) {
            log_seq(lg, marker, i);
        }
        sl_status fl = sl_logger_flush(lg, 10000);
        sl_sink_stats cst;
        sl_sink_get_stats(sink, &cst);
        _exit(fl == SL_OK && cst.dropped == 0 ? 0 : 1);
    }
    for (size_t i = 2 * N; i < 3 * N; i++) {
        log_seq(lg, marker, i);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    rsl_counter c;
    rsl_expect_counter(&c, marker, 3 * N);
    rsl_wait_count(&c, 3 * N, 30000);
    assert_int_equal(c.received, 3 * N);
    assert_int_equal(c.duplicates, 0);
    rsl_counter_free(&c);
    sl_logger_free(lg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volume_tcp),
        cmocka_unit_test(test_volume_unix),
        cmocka_unit_test(test_volume_unix_waiting),
        cmocka_unit_test(test_volume_unix_burst),
        cmocka_unit_test(test_burst_200_default),
        cmocka_unit_test(test_tcp_daemon_restart),
        cmocka_unit_test(test_daemon_absent),
        cmocka_unit_test(test_unix_daemon_restart),
        cmocka_unit_test(test_threads_tcp),
        cmocka_unit_test(test_threads_unix),
        cmocka_unit_test(test_tcp_fork),
    };
    if (getenv("SPANLOG_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("SPANLOG_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, rsl_group_setup, rsl_group_teardown);
}
