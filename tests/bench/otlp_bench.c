/*
 * otlp_bench.c - figures for OTLP export (issue 10 section 5). A benchmark,
 * not a test: nothing here passes or fails on time. Prints one JSON object
 * per line:
 *
 *   caller cost (median of batch means, ns per operation, on the caller's
 *   thread) of a sampled span start+end with 2 attributes: without an
 *   exporter, with the OTLP exporter (protobuf, JSON); of a record with 2
 *   fields through a null sink and through the otlp: sink;
 *   encode throughput: spans/s and bytes/span, protobuf and JSON (the Span
 *   message alone, and a 512-span request around it);
 *   end to end: N spans started, ended and exported into a sink-hole
 *   receiver, in spans per CPU-second of the whole process (callers and the
 *   exporter's worker); and the same for OpenTelemetry JS (tests/bench/
 *   otel-js, if its node_modules are installed) into the same receiver.
 *
 * The receiver runs in a child process (libmicrohttpd, answers 200 with an
 * empty ExportTraceServiceResponse), so its CPU is not counted.
 *
 *   otlp_bench [--spans N] [--js DIR] [--caller-only]
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/otlp/otlp_internal.h"
#include "common/harness.h"

#define BATCH   64
#define BATCHES 2000
#define BUDGET  (2 * 1000000000ull) /* per caller-cost figure */

static int64_t now_ns(void)
{
    return (int64_t)bench_now_ns();
}

/* User + system CPU of the whole process (callers and workers). */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- the sink-hole receiver (child process) ------------------------------------ */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **ptr)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (*ptr == NULL) {
        *ptr = (void *)1;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* discard */
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/x-protobuf");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static pid_t sinkhole(int *port)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        struct MHD_Daemon *d = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request,
            NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
        const union MHD_DaemonInfo *info =
            d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
        int p = info ? info->port : 0;
        if (write(fds[1], &p, sizeof p) != sizeof p) {
            _exit(1);
        }
        close(fds[1]);
        pause();
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], port, sizeof *port) != sizeof *port || *port == 0) {
        return -1;
    }
    close(fds[0]);
    return pid;
}

/* ---- caller cost ------------------------------------------------------------------ */

static double span_cost(void)
{
    bench_batches b;
    bench_batches_init(&b, BATCHES);
    int i = 0;
    BENCH_BATCHES(&b, BATCH, BUDGET, {
        sl_span *s = sl_span_start("bench.span", SL_SPAN_INTERNAL);
        sl_span_set(s, SL_STR("http.method", "GET"), SL_INT("i", i++));
        sl_span_end(s);
    });
    double m = bench_batches_median(&b);
    bench_batches_free(&b);
    return m;
}

static double record_cost(sl_logger *lg)
{
    bench_batches b;
    bench_batches_init(&b, BATCHES);
    BENCH_BATCHES(&b, BATCH, BUDGET, {
        sl_info(lg, "request done", SL_STR("route", "/pay"), SL_INT("status", 200));
    });
    double m = bench_batches_median(&b);
    bench_batches_free(&b);
    return m;
}

static void options(sl_otlp_options *o, sl_otlp_signal sig, const char *base, bool json)
{
    sl_otlp_options_init(o, sig);
    o->base_endpoint = base;
    o->protocol = json ? SL_OTLP_HTTP_JSON : SL_OTLP_HTTP_PROTOBUF;
    o->max_queue_size = 1u << 20;
    o->queue_bytes = 512u << 20;
    o->schedule_delay_ms = 200;
    o->service_name = "bench";
}

static void print_drops(const char *bench, const sl_otlp_stats *st)
{
    printf("{\"bench\":\"%s\",\"exported\":%llu,\"dropped_queue_full\":%llu}\n", bench,
           (unsigned long long)st->exported, (unsigned long long)st->dropped_queue_full);
}

static void caller_costs(const char *base)
{
    printf(
        "{\"bench\":\"span_start_end_2attrs\",\"export\":\"none\",\"ns_per_op\":%.1f}\n",
        span_cost());
    for (int json = 0; json < 2; json++) {
        sl_otlp_options o;
        options(&o, SL_OTLP_TRACES, base, json);
        sl_otlp_exporter *e = NULL;
        if (sl_otlp_exporter_new(&o, &e, NULL) != SL_OK) {
            fprintf(stderr, "otlp_bench: exporter failed\n");
            exit(1);
        }
        double ns = span_cost();
        sl_otlp_exporter_flush(e, 30000);
        printf("{\"bench\":\"span_start_end_2attrs\",\"export\":\"%s\",\"ns_per_op\":%."
               "1f}\n",
               json ? "otlp http/json" : "otlp http/protobuf", ns);
        sl_otlp_stats st;
        st.size = sizeof st;
        sl_otlp_exporter_get_stats(e, &st);
        print_drops(json ? "span_export_json" : "span_export_protobuf", &st);
        sl_otlp_exporter_free(e, 5000);
    }
    sl_logger *lg = NULL;
    sl_sink *null = NULL;
    sl_logger_new(NULL, &lg);
    sl_null_sink_new(&null);
    sl_logger_add_sink(lg, null, SL_LEVEL_TRACE);
    printf("{\"bench\":\"record_2fields\",\"sink\":\"null\",\"ns_per_op\":%.1f}\n",
           record_cost(lg));
    sl_logger_free(lg);
    sl_otlp_options o;
    options(&o, SL_OTLP_LOGS, base, false);
    sl_sink *sink = NULL;
    sl_otlp_log_sink_new(&o, &sink, NULL);
    sl_logger_new(NULL, &lg);
    sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE);
    double ns = record_cost(lg);
    sl_logger_flush(lg, 30000);
    printf("{\"bench\":\"record_2fields\",\"sink\":\"otlp "
           "http/protobuf\",\"ns_per_op\":%.1f}\n",
           ns);
    sl_otlp_stats st;
    st.size = sizeof st;
    sl_otlp_sink_get_stats(sink, &st);
    print_drops("log_export_protobuf", &st);
    sl_logger_free(lg);
}

/* ---- encode throughput ------------------------------------------------------------- */

static sl_span_data sample_span(sl_span_context *ctx, sl_field *attrs)
{
    *ctx = sl_span_context_empty();
    ctx->trace_id = sl_trace_id_random();
    ctx->span_id = sl_span_id_random();
    ctx->flags = 1;
    attrs[0] = SL_STR("http.method", "GET");
    attrs[1] = SL_INT("i", 12345);
    sl_span_data d;
    memset(&d, 0, sizeof d);
    d.name = "bench.span";
    d.kind = SL_SPAN_INTERNAL;
    d.context = ctx;
    d.parent_span_id = sl_span_id_random();
    d.start_ns = 1764000000000000000;
    d.end_ns = d.start_ns + 12345;
    d.attributes = attrs;
    d.attribute_count = 2;
    return d;
}

static void encode_throughput(void)
{
    sl_span_context ctx;
    sl_field attrs[2];
    sl_span_data d = sample_span(&ctx, attrs);
    sl__otlp_limits lim;
    sl__otlp_limits_default(&lim);
    sl__otlp_resource r;
    sl__otlp_resource_build(&r, "bench", NULL, "", NULL);
    const int n = 2000000;
    for (int json = 0; json < 2; json++) {
        uint8_t buf[1024];
        size_t bytes = 0;
        int64_t t0 = now_ns();
        for (int i = 0; i < n; i++) {
            if (json) {
                sl__jw w;
                sl__jw_init(&w, (char *)buf, sizeof buf);
                sl__otlp_span_json(&w, &d, &lim);
                bytes += w.len;
            } else {
                sl__pb b;
                sl__pb_init(&b, buf, sizeof buf, 1u << 20);
                sl__otlp_span_pb(&b, &d, &lim);
                bytes += b.len;
            }
        }
        double s = (double)(now_ns() - t0) / 1e9;
        /* a full 512-span request around encoded items */
        sl__otlp_envelope env;
        sl__otlp_envelope_init(&env, SL__OTLP_TRACES, json, &r);
        const void *items[512];
        size_t lens[512];
        for (int i = 0; i < 512; i++) {
            items[i] = buf;
            lens[i] = bytes / (size_t)n;
        }
        sl__pb out;
        sl__pb_init(&out, NULL, 0, 1u << 30);
        int reqs = 2000;
        int64_t t1 = now_ns();
        for (int i = 0; i < reqs; i++) {
            out.len = 0;
            sl__otlp_request(&env, items, lens, 512, &out);
        }
        double rs = (double)(now_ns() - t1) / 1e9;
        printf(
            "{\"bench\":\"encode_span\",\"protocol\":\"%s\",\"spans_per_s\":%.0f,"
            "\"bytes_per_span\":%.1f,\"request_512_us\":%.1f,\"request_bytes_per_span\":"
            "%.1f}\n",
            json ? "http/json" : "http/protobuf", n / s, (double)bytes / n,
            rs / reqs * 1e6, (double)out.len / 512);
        sl__pb_free(&out);
        sl__otlp_envelope_free(&env);
    }
    sl__otlp_resource_free(&r);
}

/* ---- end to end: spans per CPU-second ------------------------------------------------
 */

static double end_to_end(const char *base, int spans)
{
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES, base, false);
    sl_otlp_exporter *e = NULL;
    sl_otlp_exporter_new(&o, &e, NULL);
    double c0 = cpu_s();
    int64_t t0 = now_ns();
    for (int i = 0; i < spans; i++) {
        sl_span *s = sl_span_start("bench.span", SL_SPAN_INTERNAL);
        sl_span_set(s, SL_STR("http.method", "GET"), SL_INT("i", i));
        sl_span_end(s);
    }
    sl_otlp_exporter_flush(e, 60000);
    double wall = (double)(now_ns() - t0) / 1e9;
    double cpu = cpu_s() - c0;
    sl_otlp_stats st;
    st.size = sizeof st;
    sl_otlp_exporter_get_stats(e, &st);
    printf(
        "{\"bench\":\"export_end_to_end\",\"impl\":\"spanlog\",\"spans\":%d,\"exported\":"
        "%llu,\"cpu_s\":%.3f,\"wall_s\":%.3f,\"spans_per_cpu_s\":%.0f}\n",
        spans, (unsigned long long)st.exported, cpu, wall, spans / cpu);
    sl_otlp_exporter_free(e, 5000);
    return spans / cpu;
}

static void otel_js(const char *dir, const char *base, int spans)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node %s/bench.js %s/v1/traces %d", dir, base, spans);
    FILE *p = popen(cmd, "r");
    char line[1024];
    if (p != NULL && fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        /* {"impl":"otel-js",...} -> {"bench":"export_end_to_end","impl":...} */
        printf("{\"bench\":\"export_end_to_end\",%s\n", line + 1);
    } else {
        fprintf(stderr, "otlp_bench: OpenTelemetry JS did not run (npm install in %s)\n",
                dir);
    }
    if (p != NULL) {
        pclose(p);
    }
}

int main(int argc, char **argv)
{
    int spans = 200000;
    const char *js = NULL;
    bool caller_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--spans") == 0 && i + 1 < argc) {
            spans = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--js") == 0 && i + 1 < argc) {
            js = argv[++i];
        } else if (strcmp(argv[i], "--caller-only") == 0) {
            caller_only = true; /* for profiling the caller's side */
        }
    }
    setenv("NO_PROXY", "127.0.0.1", 1);
    int port = 0;
    pid_t srv = sinkhole(&port);
    if (srv < 0) {
        fprintf(stderr, "otlp_bench: no receiver\n");
        return 1;
    }
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1.0};
    sl_sampler_set(&on);
    caller_costs(base);
    if (caller_only) {
        kill(srv, SIGTERM);
        waitpid(srv, NULL, 0);
        return 0;
    }
    encode_throughput();
    double ours = end_to_end(base, spans);
    (void)ours;
    if (js != NULL) {
        otel_js(js, base, spans);
    }
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    return 0;
}
