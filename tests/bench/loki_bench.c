/*
 * loki_bench.c - figures for the Loki sink (issue 5, section 4). Prints one
 * JSON object per line:
 *
 *   {"bench":"loki_caller","impl":"spanlog","ns_per_op":..,"p99_ns":..,"allocs_per_op":..}
 *       a log call (logger + Loki sink) on the caller's thread, while the
 *       worker pushes to the sink-hole receiver; ns_per_op is the median of
 *       batch means (64 calls per batch), p99_ns the 99th percentile of them.
 *       allocs_per_op counts spanlog's allocations made on the caller's thread.
 *       Every 64,000 calls an untimed flush lets the worker catch up, so the
 *       figure is the cost of queueing, never of dropping on a full queue.
 *   {"bench":"loki_caller_null_baseline",...}  the same call into a null sink,
 *       so the difference is the Loki sink's own share.
 *   {"bench":"loki_e2e_gzip"|"loki_e2e_identity"|"loki_e2e_protobuf_snappy",
 *    "receiver":"sinkhole"|"python",
 *    "records_per_s":..,"records_per_cpu_s":..,"bytes_per_record":..,"line_bytes":..}
 *       log N records and flush: records over wall time (first call to the
 *       flush returning), over this process's CPU time (callers + worker),
 *       and the request bytes on the wire per record.
 *       receiver "sinkhole": a libmicrohttpd server inside this program that
 *       counts bytes and answers 204 - the sink's own send rate.
 *       receiver "python": tests/integration/loki_receiver.py --count-only,
 *       which parses and validates every push: usually the bottleneck there,
 *       so that figure is the receiver's rate more than the sink's. It
 *       decodes protobuf+snappy in Python too, so all three encodings run
 *       against both receivers.
 *
 * A benchmark, not a test: nothing here passes or fails on time.
 * Usage: loki_bench [--quick] [--no-python]
 */
#include <microhttpd.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spanlog/spanlog.h"

extern char **environ;

#define BATCH 64

static _Thread_local bool counting;
static atomic_ulong allocs;

static void *count_malloc(size_t n)
{
    if (counting) {
        atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    }
    return malloc(n);
}

static void *count_realloc(void *p, size_t n)
{
    if (counting) {
        atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    }
    return realloc(p, n);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- the sink-hole receiver --------------------------------------------- */

static atomic_ullong hole_bytes, hole_requests;

static enum MHD_Result hole_access(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    static int marker;
    if (*con_cls == NULL) {
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        atomic_fetch_add(&hole_bytes, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&hole_requests, 1);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_queue_response(conn, 204, r);
    MHD_destroy_response(r);
    return ok;
}

static struct MHD_Daemon *hole_start(int *port)
{
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                         hole_access, NULL, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    if (d == NULL) {
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info != NULL ? info->port : 0;
    return d;
}

/* ---- the Python receiver ---------------------------------------------------- */

static pid_t py_start(int *port)
{
    char dir[] = "/tmp/spanlog-lokibench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    char port_file[64];
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    char *argv[] = {"python3",      SL_SOURCE_DIR "/tests/integration/loki_receiver.py",
                    "--port-file",  port_file,
                    "--count-only", NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "python3", NULL, NULL, argv, environ) != 0) {
        return -1;
    }
    int64_t deadline = now_ns() + 10 * 1000000000LL;
    *port = 0;
    while (*port == 0 && now_ns() < deadline) {
        FILE *f = fopen(port_file, "r");
        char buf[32] = "";
        if (f != NULL) {
            if (fgets(buf, sizeof(buf), f) != NULL && strchr(buf, '\n') != NULL) {
                *port = atoi(buf);
            }
            fclose(f);
        }
        if (*port == 0) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    unlink(port_file);
    rmdir(dir);
    if (*port == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void py_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* ---- the workload ------------------------------------------------------------- */

static sl_span_context ctx;

/* About 200 bytes of line with the trace ids of a current span. */
static const char *const routes[] = {"/api/pay", "/api/cart", "/api/login",
                                     "/api/search"};

/* About 250 bytes of line with the trace ids of a current span; the request
 * id, route and amount vary so that gzip is not flattered by repetition. */
static void log_one(sl_logger *lg, int i)
{
    uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    char rid[20];
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++) {
        rid[k] = hex[(h >> (k * 4)) & 15];
    }
    rid[16] = '\0';
    if ((i & 15) == 0) {
        ctx.span_id = sl_span_id_random();
    }
    sl_log_ctx(lg, SL_LEVEL_INFO, &ctx, "card charged", SL_STR("requestId", rid),
               SL_STR("route", routes[h >> 62]),
               SL_INT("cents", (int64_t)(h >> 40) % 100000));
}

static sl_logger *make_logger(sl_sink *sink)
{
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = "checkout";
    sl_logger *lg = NULL;
    if (sl_logger_new(&lo, &lg) != SL_OK ||
        sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE)) {
        fprintf(stderr, "loki_bench: cannot make a logger\n");
        exit(1);
    }
    return lg;
}

static sl_sink *make_loki(int port, bool gzip, size_t queue_bytes, sl_loki_encoding enc)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = url;
    o.gzip = gzip;
    o.encoding = enc;
    o.queue_bytes = queue_bytes;
    o.request_timeout_ms = 60000;
    sl_sink *s = NULL;
    sl_error err;
    sl_error_init(&err);
    if (sl_loki_sink_new(&o, &s, &err) != SL_OK) {
        fprintf(stderr, "loki_bench: %s\n", err.text);
        exit(1);
    }
    return s;
}

static void bench_caller(const char *name, sl_sink *sink, int batches)
{
    sl_logger *lg = make_logger(sink);
    double *means = malloc(sizeof(double) * (size_t)batches);
    for (int i = 0; i < 2000; i++) {
        log_one(lg, i); /* warm up: thread scratch, queue pages, worker */
    }
    atomic_store(&allocs, 0);
    counting = true;
    for (int b = 0; b < batches; b++) {
        if (b % 1000 == 999) {
            /* Untimed: let the worker catch up, so the figure is the cost of
             * queueing a record, not of dropping one on a full queue. */
            counting = false;
            sl_logger_flush(lg, 60000);
            counting = true;
        }
        int64_t t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            log_one(lg, i);
        }
        means[b] = (double)(now_ns() - t0) / BATCH;
    }
    counting = false;
    uint64_t n_allocs = atomic_load(&allocs);
    qsort(means, (size_t)batches, sizeof(double), cmp_double);
    sl_loki_stats st = {0};
    bool is_loki = sl_loki_get_stats(sink, &st) == SL_OK;
    printf("{\"bench\":\"%s\",\"impl\":\"spanlog\",\"ns_per_op\":%.1f,\"p99_ns\":%.1f,"
           "\"allocs_per_op\":%.4f,\"ops\":%d",
           name, means[batches / 2], means[(int)(batches * 0.99)],
           (double)n_allocs / ((double)batches * BATCH), batches * BATCH);
    if (is_loki) {
        printf(",\"dropped\":%llu", (unsigned long long)st.dropped_queue_full);
    }
    printf("}\n");
    fflush(stdout);
    free(means);
    sl_logger_flush(lg, 60000);
    sl_logger_free(lg);
}

static void bench_e2e(const char *receiver, int port, bool gzip, int n,
                      sl_loki_encoding enc)
{
    /* Room for every record: the rate is of records sent, none dropped. */
    sl_sink *sink = make_loki(port, gzip, (size_t)n * 400, enc);
    sl_logger *lg = make_logger(sink);
    double c0 = cpu_s();
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        log_one(lg, i);
    }
    sl_status fs = sl_logger_flush(lg, 300000);
    int64_t t1 = now_ns();
    double c1 = cpu_s();
    sl_loki_stats st;
    sl_loki_get_stats(sink, &st);
    double secs = (double)(t1 - t0) / 1e9;
    printf("{\"bench\":\"%s\",\"impl\":\"spanlog\",\"receiver\":\"%s\",\"records\":%d,"
           "\"records_per_s\":%.0f,\"records_per_cpu_s\":%.0f,\"bytes_per_record\":%.1f,"
           "\"line_bytes\":%.1f,\"requests\":%llu,\"sent\":%llu,\"dropped\":%llu,"
           "\"flush\":\"%s\"}\n",
           enc == SL_LOKI_ENCODING_PROTOBUF ? "loki_e2e_protobuf_snappy"
           : gzip                           ? "loki_e2e_gzip"
                                            : "loki_e2e_identity",
           receiver, n, (double)st.sent_records / secs,
           (double)st.sent_records / (c1 - c0),
           st.sent_records ? (double)st.wire_bytes / (double)st.sent_records : 0.0,
           st.sent_records ? (double)st.sent_bytes / (double)st.sent_records : 0.0,
           (unsigned long long)st.requests, (unsigned long long)st.sent_records,
           (unsigned long long)(st.dropped_queue_full + st.dropped_rejected +
                                st.dropped_rejected_partial + st.dropped_too_long +
                                st.dropped_retries_exhausted + st.dropped_closed),
           sl_strerror(fs));
    fflush(stdout);
    sl_logger_free(lg);
}

int main(int argc, char **argv)
{
    bool quick = false, python = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[i], "--no-python")) {
            python = false;
        }
    }
    sl_allocator a = {count_malloc, count_realloc, free};
    sl_set_allocator(&a);
    signal(SIGPIPE, SIG_IGN);
    ctx = sl_span_context_empty();
    ctx.trace_id = sl_trace_id_random();
    ctx.span_id = sl_span_id_random();
    ctx.flags = SL_TRACE_FLAG_SAMPLED;

    int port = 0;
    struct MHD_Daemon *hole = hole_start(&port);
    if (hole == NULL) {
        fprintf(stderr, "loki_bench: cannot start the sink-hole receiver\n");
        return 1;
    }
    int batches = quick ? 2000 : 20000;
    sl_sink *null_sink = NULL;
    sl_null_sink_new(&null_sink);
    bench_caller("loki_caller_null_baseline", null_sink, batches);
    bench_caller("loki_caller", make_loki(port, true, 64u << 20, SL_LOKI_ENCODING_JSON),
                 batches);

    int n = quick ? 50000 : 500000;
    bench_e2e("sinkhole", port, true, n, SL_LOKI_ENCODING_JSON);
    bench_e2e("sinkhole", port, false, n, SL_LOKI_ENCODING_JSON);
    bench_e2e("sinkhole", port, false, n, SL_LOKI_ENCODING_PROTOBUF);
    MHD_stop_daemon(hole);

    if (python) {
        pid_t pid = py_start(&port);
        if (pid < 0) {
            fprintf(stderr, "loki_bench: cannot start the Python receiver; skipped\n");
        } else {
            int pn = quick ? 20000 : 200000;
            bench_e2e("python", port, true, pn, SL_LOKI_ENCODING_JSON);
            bench_e2e("python", port, false, pn, SL_LOKI_ENCODING_JSON);
            bench_e2e("python", port, false, pn, SL_LOKI_ENCODING_PROTOBUF);
            py_stop(pid);
        }
    }
    return 0;
}
