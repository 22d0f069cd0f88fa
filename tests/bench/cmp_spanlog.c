/*
 * cmp_spanlog.c - spanlog in the side-by-side benchmark: the workload record
 * (msg, 4 fields, service, time, and the trace ids of the current span)
 * through the same runner as the peers.
 *
 *   bench_cmp_spanlog --impl spanlog|spanlog-buffered|spanlog-buffered-4k|spanlog-async
 *                     --bench null|devnull|file|disabled|sample
 *                     [--threads N] [--dir DIR] [--scale X]
 *
 *   null      sl_null_sink_new(): the record is encoded, handed to the sink
 *             and dropped (the sink counts it)
 *   devnull   the stdout sink, with stdout redirected to /dev/null (this
 *             program keeps a copy of the real stdout for its result)
 *   file      the fd sink on a file (O_APPEND), one write(2) per record;
 *             spanlog-buffered: the same sink in buffered mode (64 KiB, the
 *             default); spanlog-buffered-4k: with a 4 KiB buffer, the size
 *             of the stdio buffer behind spdlog's file sink; spanlog-async:
 *             the asynchronous mode (1 MiB ring, BLOCK with a 100 ms bound,
 *             a writer thread, writev), drained and counted like spdlog's
 *             async logger
 *   disabled  sl_debug() with the 4 fields on an info logger
 *   sample    one record on stdout, for the driver's key check
 *   loop      --records N records into the null sink on one thread, nothing
 *             timed: run under callgrind twice (N and 2N) by the driver, the
 *             difference over N is the instructions per record
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/harness.h"
#include "common/runner.h"
#include "common/workload.h"
#include "spanlog/spanlog.h"

typedef struct sctx {
    sl_logger *lg;
    sl_sink *sink;
} sctx;

static void drain(void *arg)
{
    sl_logger_flush(((sctx *)arg)->lg, -1);
}

static uint64_t handled(void *arg)
{
    sl_sink_stats st;
    sl_sink_get_stats(((sctx *)arg)->sink, &st);
    return st.written;
}

static _Thread_local sl_span *thread_span;

static void begin(void *arg)
{
    (void)arg;
    thread_span = sl_span_start("charge", SL_SPAN_SERVER);
}

static void end(void *arg)
{
    (void)arg;
    sl_span_end(thread_span);
    thread_span = NULL;
}

static inline void write_record(sl_logger *lg)
{
    sl_info(lg, WL_MSG, SL_INT("cents", WL_CENTS), SL_STR("route", WL_ROUTE),
            SL_DOUBLE("ratio", WL_RATIO), SL_BOOL("retry", WL_RETRY));
}

static void one(void *arg)
{
    write_record(((sctx *)arg)->lg);
}

/* A sink that remembers the length of the last line: bytes_per_record. */
static size_t captured_len;

static void capture_write(sl_sink *sink, const sl_record *rec, const char *line,
                          size_t len)
{
    (void)rec;
    (void)line;
    captured_len = len;
    sl_sink_count_written(sink, 1);
}

static const sl_sink_vtable capture_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "capture",
    .write = capture_write,
};

static sl_logger *new_logger(sl_level level, sl_sink *sink)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = WL_SERVICE;
    o.level = level;
    sl_logger *lg = NULL;
    if (sink == NULL || sl_logger_new(&o, &lg) != SL_OK) {
        sl_sink_free(sink, 0);
        return NULL;
    }
    if (sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) != SL_OK) {
        sl_logger_free(lg);
        return NULL;
    }
    return lg;
}

static double line_bytes(void)
{
    sl_sink *s = NULL;
    if (sl_sink_new(&capture_vtable, NULL, &s) != SL_OK) {
        return -1;
    }
    sl_logger *lg = new_logger(SL_LEVEL_INFO, s);
    if (lg == NULL) {
        return -1;
    }
    begin(NULL);
    write_record(lg);
    end(NULL);
    sl_logger_free(lg);
    return (double)captured_len;
}

static int run_disabled(const bench_args *a, FILE *res)
{
    sl_sink *s = NULL;
    sl_logger *lg = sl_null_sink_new(&s) == SL_OK ? new_logger(SL_LEVEL_INFO, s) : NULL;
    bench_batches b;
    if (lg == NULL || bench_batches_init(&b, 2000) != 0) {
        return 1;
    }
    begin(NULL);
    BENCH_BATCHES(&b, 20000, (uint64_t)(3e8 * a->budget_scale),
                  sl_debug(lg, WL_MSG, SL_INT("cents", WL_CENTS),
                           SL_STR("route", WL_ROUTE), SL_DOUBLE("ratio", WL_RATIO),
                           SL_BOOL("retry", WL_RETRY)));
    bench_result r;
    bench_result_init(&r, "disabled", a->impl, 1);
    bench_result_fill(&r, &b, NULL, 1, 0);
    if (bench_alloc_count_available()) {
        bench_alloc_count_start();
        for (int i = 0; i < 10000; i++) {
            sl_debug(lg, WL_MSG, SL_INT("cents", WL_CENTS));
        }
        r.allocs_per_op = (double)bench_alloc_count_stop() / 10000.0;
    }
    end(NULL);
    r.peak_rss_kb = bench_peak_rss_kb();
    bench_result_print(res, &r);
    bench_batches_free(&b);
    sl_logger_free(lg);
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    if (bench_parse_args(argc, argv, &a) != 0) {
        return 2;
    }
    int buffered4k = strcmp(a.impl, "spanlog-buffered-4k") == 0;
    int buffered = buffered4k || strcmp(a.impl, "spanlog-buffered") == 0;
    int async = strcmp(a.impl, "spanlog-async") == 0;
    if (!buffered && !async && strcmp(a.impl, "spanlog") != 0) {
        fprintf(stderr, "spanlog: unknown impl %s\n", a.impl);
        return 2;
    }
    FILE *res = stdout;
    char path[4096] = "";
    sl_sink *sink = NULL;
    sl_status st = SL_OK;
    if (strcmp(a.bench, "sample") == 0) {
        st = sl_stdout_sink_new(&sink);
        sl_logger *lg = st == SL_OK ? new_logger(SL_LEVEL_INFO, sink) : NULL;
        if (lg == NULL) {
            return 1;
        }
        begin(NULL);
        write_record(lg);
        end(NULL);
        sl_logger_free(lg);
        return 0;
    } else if (strcmp(a.bench, "disabled") == 0) {
        return run_disabled(&a, res);
    } else if (strcmp(a.bench, "loop") == 0) {
        st = sl_null_sink_new(&sink);
        sl_logger *lg = st == SL_OK ? new_logger(SL_LEVEL_INFO, sink) : NULL;
        if (lg == NULL) {
            return 1;
        }
        begin(NULL);
        for (long i = 0; i < a.records; i++) {
            write_record(lg);
        }
        end(NULL);
        sl_logger_free(lg);
        return 0;
    } else if (strcmp(a.bench, "null") == 0 && !async) {
        st = sl_null_sink_new(&sink);
    } else if (strcmp(a.bench, "devnull") == 0 || strcmp(a.bench, "file") == 0) {
        sl_fd_sink_options fo;
        sl_fd_sink_options_init(&fo);
        fo.buffered = buffered;
        fo.async = async;
        fo.overflow = SL_FD_OVERFLOW_BLOCK;
        if (buffered4k) {
            fo.buffer_size = 4096; /* the minimum; what stdio gives spdlog's file sink */
        }
        if (strcmp(a.bench, "devnull") == 0) {
            /* Keep the real stdout for the result; point fd 1 at /dev/null. */
            int keep = dup(1);
            int dn = open("/dev/null", O_WRONLY);
            res = keep >= 0 ? fdopen(keep, "w") : NULL;
            if (res == NULL || dn < 0 || dup2(dn, 1) < 0) {
                perror("redirect stdout");
                return 1;
            }
            close(dn);
            fo.fd = 1;
        } else {
            snprintf(path, sizeof(path), "%s/%s-%d.log", a.dir, a.impl, a.threads);
            unlink(path);
            fo.path = path;
        }
        st = sl_fd_sink_new(&fo, &sink, NULL);
    } else {
        fprintf(stderr, "spanlog: no bench %s\n", a.bench);
        return 2;
    }
    if (st != SL_OK) {
        fprintf(stderr, "spanlog: sink: %s\n", sl_strerror(st));
        return 1;
    }
    sctx c = {.lg = new_logger(SL_LEVEL_INFO, sink), .sink = sink};
    if (c.lg == NULL) {
        return 1;
    }
    bench_ops ops = {.ctx = &c,
                     .thread_begin = begin,
                     .thread_end = end,
                     .one = one,
                     .drain = async ? drain : NULL,
                     .handled = async ? handled : NULL,
                     .count_allocs = 1};
    bench_cfg cfg;
    bench_cfg_init(&cfg, a.threads, a.budget_scale);
    bench_result r;
    bench_result_init(&r, a.bench, a.impl, a.threads);
    if (bench_run(&ops, &cfg, &r) != 0) {
        return 1;
    }
    sl_logger_flush(c.lg, -1);
    sl_sink_stats stats;
    sl_sink_get_stats(sink, &stats);
    if (stats.dropped != 0 || stats.errors != 0) {
        fprintf(stderr, "spanlog: %llu dropped, %llu errors\n",
                (unsigned long long)stats.dropped, (unsigned long long)stats.errors);
    }
    sl_logger_free(c.lg);
    r.bytes_per_record = line_bytes();
    r.peak_rss_kb = bench_peak_rss_kb();
    if (path[0] != '\0') {
        unlink(path);
    }
    bench_result_print(res, &r);
    return 0;
}
