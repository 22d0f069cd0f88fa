/*
 * syslog_bench.c - figures for the syslog adapter, one JSON line each:
 *
 *   syslog_format_5424 / _5424_fields / _3164: the pure formatter, ns per
 *       record (mean over a long loop; p50/p99 from individually timed ops);
 *   syslog_rsyslog_unix / _tcp / _tls: records per second end to end into a real
 *       rsyslogd (started here, as the tests do), counted when rsyslog has
 *       written the last one to its file, and the caller's ns per call.
 *
 * Usage: syslog_bench [records-into-rsyslog, default 200000]. Figures only:
 * nothing here passes or fails on time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/syslog/syslog_format.h"
#include "integration/rsyslog_harness.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static volatile size_t g_sink; /* keeps the formatter's output alive */

static void bench_format(const char *name, sl_syslog_format format, bool fields)
{
    static const char line[] =
        "{\"time\":\"2026-11-21T10:15:30.123456Z\",\"level\":\"info\",\"msg\":\"card "
        "charged\",\"service\":\"checkout\",\"traceId\":"
        "\"0af7651916cd43dd8448eb211c80319c\","
        "\"spanId\":\"b7ad6b7169203331\",\"correlationId\":\"0af76519-b7ad6b71\","
        "\"requestId\":"
        "\"r-42\",\"route\":\"/pay\",\"cents\":1299,\"retry\":false}\n";
    sl_syslog_options o;
    sl_syslog_options_init(&o);
    o.transport = SL_SYSLOG_TCP;
    o.format = format;
    o.hostname = "web-1";
    o.fields_sd = fields;
    sl__syslog_fmt f;
    if (sl__syslog_fmt_init(&f, &o, o.transport) != SL_OK) {
        fprintf(stderr, "bad options\n");
        exit(1);
    }
    sl_span_context ctx = sl_span_context_empty();
    sl_trace_id_from_hex("0af7651916cd43dd8448eb211c80319c", 32, &ctx.trace_id);
    sl_span_id_from_hex("b7ad6b7169203331", 16, &ctx.span_id);
    ctx.flags = 1;
    const sl_field bound[] = {SL_STR("requestId", "r-42"), SL_STR("route", "/pay")};
    sl_record r = {.level = SL_LEVEL_INFO,
                   .time_ns = 1795256130123456789,
                   .msg = "card charged",
                   .msg_len = 12,
                   .service = "checkout",
                   .ctx = &ctx,
                   .bound = bound,
                   .nbound = 2};
    char head[SL__SYSLOG_HEAD_MAX];
    sl__syslog_frame fr;
    enum { LOOP = 2000000, SAMPLES = 200000 };
    for (int i = 0; i < 10000; i++) { /* warm up */
        sl__syslog_format(&f, &r, line, sizeof line - 1, head, &fr);
    }
    int64_t t0 = now_ns();
    for (int i = 0; i < LOOP; i++) {
        r.time_ns += 1000; /* a new timestamp each time, as in real use */
        sl__syslog_format(&f, &r, line, sizeof line - 1, head, &fr);
        g_sink += fr.head_len;
    }
    double mean = (double)(now_ns() - t0) / LOOP;
    int64_t *lat = malloc(sizeof *lat * SAMPLES);
    for (int i = 0; i < SAMPLES; i++) {
        r.time_ns += 1000;
        int64_t a = now_ns();
        sl__syslog_format(&f, &r, line, sizeof line - 1, head, &fr);
        lat[i] = now_ns() - a;
        g_sink += fr.head_len;
    }
    qsort(lat, SAMPLES, sizeof *lat, cmp_i64);
    printf("{\"bench\":\"%s\",\"impl\":\"spanlog\",\"ns_per_op\":%.1f,\"p50_ns\":%lld,"
           "\"p99_ns\":%lld,\"bytes_per_record\":%zu}\n",
           name, mean, (long long)lat[SAMPLES / 2], (long long)lat[SAMPLES * 99 / 100],
           fr.head_len + fr.msg_len);
    free(lat);
}

static int bench_rsyslog(rsl *r, const char *name, sl_syslog_transport transport,
                         size_t n)
{
    char marker[64];
    snprintf(marker, sizeof marker, "bench-%s-%d", name, (int)getpid());
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = "bench";
    sl_logger *lg;
    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.transport = transport;
    so.path = r->local_sock;
    so.port = (uint16_t)(transport == SL_SYSLOG_TLS ? r->tls_port : r->tcp_port);
    so.tls_ca_file = r->ca;
    so.timeout_ms = 5000; /* measure delivery, not drops */
    sl_sink *sink;
    if (sl_logger_new(&lo, &lg) != SL_OK ||
        sl_syslog_sink_new(&so, &sink, NULL) != SL_OK ||
        sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) != SL_OK) {
        fprintf(stderr, "setup failed\n");
        return -1;
    }
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s#%zu", marker, i);
        sl_info(lg, msg, SL_STR("route", "/pay"), SL_INT("cents", 1299));
    }
    int64_t t_calls = now_ns() - t0;
    sl_logger_flush(lg, 60000);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    rsl_counter c;
    if (rsl_counter_init(&c, marker, 0) != 0) {
        return -1;
    }
    rsl_counter_wait(r, &c, (size_t)st.written, 300000);
    int64_t t_all = now_ns() - t0;
    printf(
        "{\"bench\":\"syslog_rsyslog_%s\",\"impl\":\"spanlog\",\"records\":%zu,"
        "\"received\":%zu,\"dropped\":%llu,\"records_per_s\":%.0f,\"ns_per_op\":%.1f}\n",
        name, n, c.received, (unsigned long long)st.dropped,
        (double)c.received / ((double)t_all / 1e9), (double)t_calls / (double)n);
    rsl_counter_free(&c);
    sl_logger_free(lg);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    bench_format("syslog_format_5424", SL_SYSLOG_FORMAT_RFC5424, false);
    bench_format("syslog_format_5424_fields", SL_SYSLOG_FORMAT_RFC5424, true);
    bench_format("syslog_format_3164", SL_SYSLOG_FORMAT_RFC3164, false);
    rsl r;
    if (rsl_start_tls(&r) != 0) {
        return 1;
    }
    int rc = bench_rsyslog(&r, "unix", SL_SYSLOG_UNIX, n);
    rc |= bench_rsyslog(&r, "tcp", SL_SYSLOG_TCP, n);
    rc |= bench_rsyslog(&r, "tls", SL_SYSLOG_TLS, n);
    rsl_destroy(&r);
    return rc == 0 ? 0 : 1;
}
