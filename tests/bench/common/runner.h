/*
 * runner.h - runs one record-writing scenario on N threads, the same way for
 * every implementation (C and C++), and fills a bench_result.
 *
 * Per thread: thread_begin (start a span), warm-up, then together with the
 * other threads a batch phase (ns_per_op = median per-op time of the
 * batches; records_per_s = all threads' records / wall time of the phase,
 * including the drain of an asynchronous logger), then a per-call phase
 * (p50/p99/p99.9 from every call's own time), then thread_end. Afterwards,
 * on the main thread alone, a counting pass gives allocs_per_op.
 *
 * The record is written through a function pointer: the same indirect call
 * (~1 ns) for every implementation.
 */
#ifndef SPANLOG_BENCH_RUNNER_H
#define SPANLOG_BENCH_RUNNER_H

#include <stdint.h>

#include "harness.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_ops {
    void *ctx;
    void (*thread_begin)(void *ctx); /* may be NULL */
    void (*thread_end)(void *ctx);   /* may be NULL */
    void (*one)(void *ctx);          /* writes one record */
    /* Asynchronous loggers: block until every record written so far has
     * been handled (written or dropped by policy). May be NULL. */
    void (*drain)(void *ctx);
    /* Records the sink really handled so far (an asynchronous logger may
     * drop by policy); records_per_s counts these. NULL: every call counts. */
    uint64_t (*handled)(void *ctx);
    int count_allocs; /* 0: the program cannot count them */
} bench_ops;

typedef struct bench_cfg {
    int threads;
    uint64_t warmup_ops; /* per thread */
    uint64_t ops_per_batch;
    size_t max_batches; /* per thread */
    uint64_t budget_ns; /* batch phase, per thread */
    size_t samples;     /* per-call phase, per thread */
    uint64_t alloc_ops; /* counting pass */
} bench_cfg;

/*
 * Defaults for record-writing scenarios (~1 s per scenario), with the time
 * budget and the per-call sample count multiplied by `scale` (--scale).
 */
void bench_cfg_init(bench_cfg *cfg, int threads, double scale);

/*
 * Runs the scenario and fills r (threads, ns_per_op, percentiles,
 * records_per_s, allocs_per_op). bytes_per_record and peak_rss_kb are left
 * to the caller. Returns 0, or -1 when memory or threads ran out.
 */
int bench_run(const bench_ops *ops, const bench_cfg *cfg, bench_result *r);

/* Parses "--name value" style options shared by the programs. */
typedef struct bench_args {
    const char *impl;
    const char *bench;
    const char *dir; /* where "file" scenarios write; default "." */
    int threads;
    double budget_scale; /* multiplies budgets and counts; default 1 */
    const char *url;     /* Loki scenarios: the receiver's base URL */
    long records;        /* Loki scenarios: records to send; default 100000 */
} bench_args;

/* Returns 0, or -1 (and prints usage to stderr) on a bad command line. */
int bench_parse_args(int argc, char **argv, bench_args *a);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_BENCH_RUNNER_H */
