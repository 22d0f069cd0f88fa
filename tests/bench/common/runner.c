/*
 * runner.c - the multi-threaded scenario runner (see runner.h).
 */
#include "runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_cfg_init(bench_cfg *cfg, int threads, double scale)
{
    cfg->threads = threads < 1 ? 1 : threads;
    cfg->warmup_ops = 5000;
    cfg->ops_per_batch = 500;
    cfg->max_batches = 1000;
    cfg->budget_ns = 600000000u; /* 0.6 s */
    cfg->samples = 100000;
    cfg->alloc_ops = 2000;
    cfg->budget_ns = (uint64_t)((double)cfg->budget_ns * scale);
    cfg->samples = (size_t)((double)cfg->samples * scale);
}

typedef struct worker {
    const bench_ops *ops;
    const bench_cfg *cfg;
    pthread_barrier_t *barrier;
    bench_batches b;
    bench_samples s;
    pthread_t tid;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    const bench_ops *ops = w->ops;
    if (ops->thread_begin != NULL) {
        ops->thread_begin(ops->ctx);
    }
    for (uint64_t i = 0; i < w->cfg->warmup_ops; i++) {
        ops->one(ops->ctx);
    }
    pthread_barrier_wait(w->barrier); /* 0: warmed up; the main thread drains */
    pthread_barrier_wait(w->barrier); /* 1: batch phase starts */
    BENCH_BATCHES(&w->b, w->cfg->ops_per_batch, w->cfg->budget_ns, ops->one(ops->ctx));
    pthread_barrier_wait(w->barrier); /* 2: batch phase over */
    pthread_barrier_wait(w->barrier); /* 3: drained; per-call phase starts */
    BENCH_PER_CALL(&w->s, w->cfg->samples, ops->one(ops->ctx));
    if (ops->thread_end != NULL) {
        ops->thread_end(ops->ctx);
    }
    return NULL;
}

int bench_run(const bench_ops *ops, const bench_cfg *cfg, bench_result *r)
{
    int n = cfg->threads;
    worker *ws = calloc((size_t)n, sizeof(*ws));
    pthread_barrier_t barrier;
    if (ws == NULL || pthread_barrier_init(&barrier, NULL, (unsigned)n + 1) != 0) {
        free(ws);
        return -1;
    }
    (void)bench_timer_overhead_ns(); /* calibrate before any thread runs */
    int rc = 0;
    int started = 0;
    for (int i = 0; i < n; i++) {
        ws[i].ops = ops;
        ws[i].cfg = cfg;
        ws[i].barrier = &barrier;
        if (bench_batches_init(&ws[i].b, cfg->max_batches) != 0 ||
            bench_samples_init(&ws[i].s, cfg->samples) != 0) {
            rc = -1;
            break;
        }
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        if (pthread_create(&ws[i].tid, NULL, work, &ws[i]) != 0) {
            /* The barrier counts on every thread: without them all, give up. */
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(2);
        }
        started++;
    }
    uint64_t wall = 0;
    uint64_t handled = UINT64_MAX;
    if (rc == 0) {
        pthread_barrier_wait(&barrier);
        if (ops->drain != NULL) {
            ops->drain(ops->ctx);
        }
        uint64_t h0 = ops->handled != NULL ? ops->handled(ops->ctx) : 0;
        pthread_barrier_wait(&barrier);
        uint64_t t0 = bench_now_ns();
        pthread_barrier_wait(&barrier);
        if (ops->drain != NULL) {
            ops->drain(ops->ctx);
        }
        wall = bench_now_ns() - t0;
        if (ops->handled != NULL) {
            handled = ops->handled(ops->ctx) - h0;
        }
        pthread_barrier_wait(&barrier);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ws[i].tid, NULL);
    }
    if (ops->drain != NULL) {
        ops->drain(ops->ctx);
    }
    bench_batches all_b;
    bench_samples all_s;
    if (rc == 0 && bench_batches_init(&all_b, 1) == 0 &&
        bench_samples_init(&all_s, 1) == 0) {
        for (int i = 0; i < n; i++) {
            bench_batches_merge(&all_b, &ws[i].b);
            bench_samples_merge(&all_s, &ws[i].s);
        }
        bench_result_fill(r, &all_b, &all_s, n, wall);
        if (handled != UINT64_MAX && wall > 0) {
            r->records_per_s = (double)handled * 1e9 / (double)wall;
        }
        bench_batches_free(&all_b);
        bench_samples_free(&all_s);
    } else {
        rc = -1;
    }
    for (int i = 0; i < n; i++) {
        bench_batches_free(&ws[i].b);
        bench_samples_free(&ws[i].s);
    }
    free(ws);
    pthread_barrier_destroy(&barrier);

    if (rc == 0 && ops->count_allocs && cfg->alloc_ops > 0 &&
        bench_alloc_count_available()) {
        if (ops->thread_begin != NULL) {
            ops->thread_begin(ops->ctx);
        }
        for (uint64_t i = 0; i < 100; i++) {
            ops->one(ops->ctx); /* steady state: per-thread buffers exist */
        }
        bench_alloc_count_start();
        for (uint64_t i = 0; i < cfg->alloc_ops; i++) {
            ops->one(ops->ctx);
        }
        if (ops->drain != NULL) {
            ops->drain(ops->ctx); /* an async worker's allocations count too */
        }
        uint64_t allocs = bench_alloc_count_stop();
        if (ops->thread_end != NULL) {
            ops->thread_end(ops->ctx);
        }
        r->allocs_per_op = (double)allocs / (double)cfg->alloc_ops;
    }
    return rc;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --impl NAME --bench NAME [--threads N] [--dir DIR] [--scale X]\n"
            "          [--url URL] [--records N]\n",
            prog);
}

int bench_parse_args(int argc, char **argv, bench_args *a)
{
    memset(a, 0, sizeof(*a));
    a->dir = ".";
    a->threads = 1;
    a->budget_scale = 1.0;
    a->records = 100000;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage(argv[0]);
            return -1;
        }
        if (strcmp(argv[i], "--impl") == 0) {
            a->impl = v;
        } else if (strcmp(argv[i], "--bench") == 0) {
            a->bench = v;
        } else if (strcmp(argv[i], "--dir") == 0) {
            a->dir = v;
        } else if (strcmp(argv[i], "--threads") == 0) {
            a->threads = atoi(v);
        } else if (strcmp(argv[i], "--scale") == 0) {
            a->budget_scale = atof(v);
        } else if (strcmp(argv[i], "--url") == 0) {
            a->url = v;
        } else if (strcmp(argv[i], "--records") == 0) {
            a->records = atol(v);
        } else {
            usage(argv[0]);
            return -1;
        }
        i++;
    }
    if (a->impl == NULL || a->bench == NULL || a->threads < 1 || a->threads > 64 ||
        !(a->budget_scale > 0) || a->records < 1) {
        usage(argv[0]);
        return -1;
    }
    return 0;
}
