/*
 * harness.c - statistics, clock calibration, RSS and the JSON output of the
 * benchmark harness (see harness.h).
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int bench_batches_init(bench_batches *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->ns = calloc(cap, sizeof(*b->ns));
    b->cap = b->ns != NULL ? cap : 0;
    return b->ns != NULL ? 0 : -1;
}

void bench_batches_free(bench_batches *b)
{
    free(b->ns);
    memset(b, 0, sizeof(*b));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_batches_median(const bench_batches *b)
{
    if (b->n == 0) {
        return -1;
    }
    double *tmp = malloc(b->n * sizeof(*tmp));
    if (tmp == NULL) {
        return -1;
    }
    memcpy(tmp, b->ns, b->n * sizeof(*tmp));
    qsort(tmp, b->n, sizeof(*tmp), cmp_double);
    double m = b->n % 2 ? tmp[b->n / 2] : (tmp[b->n / 2 - 1] + tmp[b->n / 2]) / 2;
    free(tmp);
    return m;
}

int bench_batches_merge(bench_batches *into, const bench_batches *from)
{
    if (into->n + from->n > into->cap) {
        double *p = realloc(into->ns, (into->n + from->n) * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        into->ns = p;
        into->cap = into->n + from->n;
    }
    memcpy(into->ns + into->n, from->ns, from->n * sizeof(*from->ns));
    into->n += from->n;
    into->ops += from->ops;
    into->total_ns += from->total_ns;
    return 0;
}

int bench_samples_init(bench_samples *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    s->ns = calloc(cap, sizeof(*s->ns));
    s->cap = s->ns != NULL ? cap : 0;
    return s->ns != NULL ? 0 : -1;
}

void bench_samples_free(bench_samples *s)
{
    free(s->ns);
    memset(s, 0, sizeof(*s));
}

int bench_samples_merge(bench_samples *into, const bench_samples *from)
{
    if (into->n + from->n > into->cap) {
        uint32_t *p = realloc(into->ns, (into->n + from->n) * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        into->ns = p;
        into->cap = into->n + from->n;
    }
    memcpy(into->ns + into->n, from->ns, from->n * sizeof(*from->ns));
    into->n += from->n;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

double bench_samples_quantile(bench_samples *s, double q)
{
    if (s->n == 0) {
        return -1;
    }
    qsort(s->ns, s->n, sizeof(*s->ns), cmp_u32);
    /* Nearest rank: the smallest sample with at least q of them at or below it. */
    size_t rank = (size_t)ceil(q * (double)s->n);
    if (rank == 0) {
        rank = 1;
    }
    if (rank > s->n) {
        rank = s->n;
    }
    return (double)s->ns[rank - 1];
}

uint64_t bench_timer_overhead_ns(void)
{
    static uint64_t cached;
    if (cached != 0) {
        return cached;
    }
    enum { N = 20001 };
    static uint32_t d[N];
    for (size_t i = 0; i < N; i++) {
        uint64_t t0 = bench_now_ns();
        BENCH_CLOBBER();
        uint64_t t1 = bench_now_ns();
        d[i] = (uint32_t)(t1 - t0);
    }
    qsort(d, N, sizeof(d[0]), cmp_u32);
    cached = d[N / 2] > 0 ? d[N / 2] : 1;
    return cached;
}

long bench_peak_rss_kb(void)
{
    /*
     * VmHWM, not getrusage(): on Linux ru_maxrss survives exec, so a program
     * started by a big parent (the Python driver) would report the parent's
     * peak instead of its own.
     */
    FILE *f = fopen("/proc/self/status", "r");
    if (f != NULL) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof(line), f) != NULL) {
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) {
                break;
            }
        }
        fclose(f);
        if (kb >= 0) {
            return kb;
        }
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return -1;
    }
    return ru.ru_maxrss;
}

void bench_result_init(bench_result *r, const char *bench, const char *impl, int threads)
{
    r->bench = bench;
    r->impl = impl;
    r->threads = threads;
    r->ns_per_op = -1;
    r->p50_ns = -1;
    r->p99_ns = -1;
    r->p999_ns = -1;
    r->allocs_per_op = -1;
    r->records_per_s = -1;
    r->bytes_per_record = -1;
    r->peak_rss_kb = -1;
}

void bench_result_fill(bench_result *r, const bench_batches *b, bench_samples *s,
                       int threads, uint64_t wall_ns)
{
    r->threads = threads;
    if (b != NULL && b->n > 0) {
        r->ns_per_op = bench_batches_median(b);
        uint64_t t = wall_ns != 0 ? wall_ns : b->total_ns;
        if (t > 0) {
            r->records_per_s = (double)b->ops * 1e9 / (double)t;
        }
    }
    if (s != NULL && s->n > 0) {
        r->p50_ns = bench_samples_quantile(s, 0.50);
        r->p99_ns = bench_samples_quantile(s, 0.99);
        r->p999_ns = bench_samples_quantile(s, 0.999);
    }
}

static void put_num(FILE *f, const char *key, double v, int decimals)
{
    if (v < 0 || isnan(v) || isinf(v)) {
        return;
    }
    fprintf(f, ",\"%s\":%.*f", key, decimals, v);
}

void bench_result_print(void *file, const bench_result *r)
{
    FILE *f = file;
    /* bench and impl names are ASCII identifiers chosen by the programs. */
    fprintf(f, "{\"bench\":\"%s\",\"impl\":\"%s\",\"threads\":%d", r->bench, r->impl,
            r->threads);
    put_num(f, "ns_per_op", r->ns_per_op, 2);
    put_num(f, "p50_ns", r->p50_ns, 0);
    put_num(f, "p99_ns", r->p99_ns, 0);
    put_num(f, "p999_ns", r->p999_ns, 0);
    put_num(f, "allocs_per_op", r->allocs_per_op, 3);
    put_num(f, "records_per_s", r->records_per_s, 0);
    put_num(f, "bytes_per_record", r->bytes_per_record, 1);
    put_num(f, "peak_rss_kb", (double)r->peak_rss_kb, 0);
    fputs("}\n", f);
    fflush(f);
}
