/*
 * cmp_jansson.c - the jansson baseline of the side-by-side benchmark: a
 * json_t tree built per record, dumped compact with json_dumpb into a stack
 * buffer, the newline appended, and the line handed to the same kinds of
 * sink as spanlog's (discarded, one write(2) to /dev/null, one write(2) to a
 * file opened with O_APPEND). What a careful C programmer writes by hand
 * with the JSON library spanlog already depends on.
 *
 *   bench_cmp_jansson --impl jansson --bench null|devnull|file|sample
 *                     [--threads N] [--dir DIR] [--scale X]
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/harness.h"
#include "common/runner.h"
#include "common/workload.h"

typedef struct jctx {
    int fd; /* -1: discard */
    uint64_t bytes;
} jctx;

static size_t build_line(char *buf, size_t cap)
{
    char ts[32];
    size_t tlen = wl_time_rfc3339_us(ts);
    json_t *o = json_object();
    json_object_set_new(o, "time", json_stringn(ts, tlen));
    json_object_set_new(o, "level", json_string("info"));
    json_object_set_new(o, "msg", json_string(WL_MSG));
    json_object_set_new(o, "service", json_string(WL_SERVICE));
    const wl_span *sp = wl_current();
    if (sp->valid) {
        json_object_set_new(o, "traceId", json_string(sp->trace_hex));
        json_object_set_new(o, "spanId", json_string(sp->span_hex));
        json_object_set_new(o, "correlationId", json_string(sp->corr));
    }
    json_object_set_new(o, "cents", json_integer(WL_CENTS));
    json_object_set_new(o, "route", json_string(WL_ROUTE));
    json_object_set_new(o, "ratio", json_real(WL_RATIO));
    json_object_set_new(o, "retry", json_boolean(WL_RETRY));
    size_t n = json_dumpb(o, buf, cap - 1, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n > cap - 1) {
        return 0;
    }
    buf[n++] = '\n';
    return n;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void one(void *arg)
{
    jctx *c = arg;
    char buf[1024];
    size_t n = build_line(buf, sizeof(buf));
    if (c->fd >= 0) {
        write_all(c->fd, buf, n);
    } else {
        /* The null sink: the line is produced and dropped. */
        __atomic_fetch_add(&c->bytes, n, __ATOMIC_RELAXED);
    }
}

static void begin(void *arg)
{
    (void)arg;
    wl_span_start();
}

static void end(void *arg)
{
    (void)arg;
    wl_span_end();
}

int main(int argc, char **argv)
{
    bench_args a;
    if (bench_parse_args(argc, argv, &a) != 0 || strcmp(a.impl, "jansson") != 0) {
        return 2;
    }
    jctx c = {.fd = -1};
    char path[4096] = "";
    if (strcmp(a.bench, "sample") == 0) {
        wl_span_start();
        char buf[1024];
        size_t n = build_line(buf, sizeof(buf));
        fwrite(buf, 1, n, stdout);
        return 0;
    } else if (strcmp(a.bench, "devnull") == 0) {
        c.fd = open("/dev/null", O_WRONLY | O_APPEND);
    } else if (strcmp(a.bench, "file") == 0) {
        snprintf(path, sizeof(path), "%s/jansson-%d.log", a.dir, a.threads);
        c.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    } else if (strcmp(a.bench, "null") != 0) {
        fprintf(stderr, "jansson: no bench %s\n", a.bench);
        return 2;
    }
    if (strcmp(a.bench, "null") != 0 && c.fd < 0) {
        perror("open");
        return 1;
    }
    bench_ops ops = {.ctx = &c,
                     .thread_begin = begin,
                     .thread_end = end,
                     .one = one,
                     .count_allocs = 1};
    bench_cfg cfg;
    bench_cfg_init(&cfg, a.threads, a.budget_scale);
    bench_result r;
    bench_result_init(&r, a.bench, "jansson", a.threads);
    if (bench_run(&ops, &cfg, &r) != 0) {
        return 1;
    }
    wl_span_start();
    char buf[1024];
    r.bytes_per_record = (double)build_line(buf, sizeof(buf));
    r.peak_rss_kb = bench_peak_rss_kb();
    if (c.fd >= 0) {
        close(c.fd);
    }
    if (path[0] != '\0') {
        unlink(path);
    }
    bench_result_print(stdout, &r);
    return 0;
}
