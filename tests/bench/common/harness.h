/*
 * harness.h - the timing harness shared by the C and C++ benchmark programs.
 *
 * Two ways to time an operation:
 *
 *   batch    the body runs `ops` times between two clock reads; the batch's
 *            time / ops is one sample; the median over many batches is
 *            ns_per_op. Used for everything, and the only honest way to time
 *            operations that take a few nanoseconds (a clock read costs more
 *            than the operation itself).
 *   per-call every call is bracketed by two clock reads; the calibrated cost
 *            of an empty bracket is subtracted; p50/p99/p99.9 come from these
 *            samples. Used for the latency percentiles of the record-writing
 *            scenarios (~100 ns and up), where the bracket's cost is small
 *            beside the call.
 *
 * Clock: clock_gettime(CLOCK_MONOTONIC) through the vDSO; no rdtsc.
 * The bodies are macros so that the timed code is inlined into the loop: an
 * indirect call per operation would cost as much as a disabled log call.
 */
#ifndef SPANLOG_BENCH_HARNESS_H
#define SPANLOG_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Keeps the compiler from proving a value unused. */
#define BENCH_KEEP(x)   __asm__ volatile("" : : "g"(x) : "memory")
#define BENCH_CLOBBER() __asm__ volatile("" : : : "memory")

/* Per-op time of each batch. `ns` has room for `cap` batches. */
typedef struct bench_batches {
    double *ns; /* per-op time of batch i */
    size_t n;   /* batches run */
    size_t cap;
    uint64_t ops; /* total operations run */
    uint64_t total_ns;
} bench_batches;

/*
 * Runs `body` in batches of `ops_per_batch` until `nbatches` batches ran or
 * `budget_ns` elapsed (whichever first, at least 5 batches). `b` must be
 * initialised with bench_batches_init().
 */
#define BENCH_BATCHES(b, ops_per_batch, budget_ns, body)                                 \
    do {                                                                                 \
        uint64_t bench__start = bench_now_ns();                                          \
        while ((b)->n < (b)->cap) {                                                      \
            uint64_t bench__t0 = bench_now_ns();                                         \
            for (uint64_t bench__i = 0; bench__i < (uint64_t)(ops_per_batch);            \
                 bench__i++) {                                                           \
                body;                                                                    \
            }                                                                            \
            uint64_t bench__t1 = bench_now_ns();                                         \
            (b)->ns[(b)->n++] =                                                          \
                (double)(bench__t1 - bench__t0) / (double)(ops_per_batch);               \
            (b)->ops += (uint64_t)(ops_per_batch);                                       \
            (b)->total_ns += bench__t1 - bench__t0;                                      \
            if ((b)->n >= 5 && bench__t1 - bench__start > (uint64_t)(budget_ns)) {       \
                break;                                                                   \
            }                                                                            \
        }                                                                                \
    } while (0)

/* Per-call samples, in nanoseconds, with the bracket's cost removed. */
typedef struct bench_samples {
    uint32_t *ns;
    size_t n;
    size_t cap;
} bench_samples;

#define BENCH_PER_CALL(s, count, body)                                                   \
    do {                                                                                 \
        uint64_t bench__ovh = bench_timer_overhead_ns();                                 \
        for (size_t bench__i = 0; bench__i < (size_t)(count) && (s)->n < (s)->cap;       \
             bench__i++) {                                                               \
            uint64_t bench__t0 = bench_now_ns();                                         \
            body;                                                                        \
            uint64_t bench__t1 = bench_now_ns();                                         \
            uint64_t bench__d = bench__t1 - bench__t0;                                   \
            bench__d = bench__d > bench__ovh ? bench__d - bench__ovh : 0;                \
            (s)->ns[(s)->n++] = bench__d > UINT32_MAX ? UINT32_MAX : (uint32_t)bench__d; \
        }                                                                                \
    } while (0)

int bench_batches_init(bench_batches *b, size_t cap);
void bench_batches_free(bench_batches *b);
double bench_batches_median(const bench_batches *b);
/* Moves every batch of `from` into `into` (for merging threads). */
int bench_batches_merge(bench_batches *into, const bench_batches *from);

int bench_samples_init(bench_samples *s, size_t cap);
void bench_samples_free(bench_samples *s);
int bench_samples_merge(bench_samples *into, const bench_samples *from);
/* Sorts in place, then returns the q-quantile (0..1), nearest rank. */
double bench_samples_quantile(bench_samples *s, double q);

/* Median cost of an empty per-call bracket (two clock reads), cached. */
uint64_t bench_timer_overhead_ns(void);

/* ---- allocation counting -------------------------------------------------
 * alloc_count.c interposes malloc, calloc, realloc, posix_memalign and
 * aligned_alloc for the whole process (every library included, libstdc++'s
 * operator new too) and counts calls while counting is on. Off, the cost is
 * one predictable branch. Only valid in a program linked with alloc_count.c.
 */
int bench_alloc_count_available(void); /* 0 in sanitizer builds */
void bench_alloc_count_start(void);
/* Stops counting and returns the number of allocations since start. */
uint64_t bench_alloc_count_stop(void);

/* Peak resident set size of the process, in KiB (VmHWM of /proc/self/status). */
long bench_peak_rss_kb(void);

/* ---- output ---------------------------------------------------------------
 * One JSON object per line on `out` (a FILE *), keys in the documented order.
 * Negative values (and NaN) mean "does not apply" and are omitted.
 */
typedef struct bench_result {
    const char *bench;
    const char *impl;
    int threads;
    double ns_per_op;
    double p50_ns;
    double p99_ns;
    double p999_ns;
    double allocs_per_op;
    double records_per_s;
    double bytes_per_record;
    long peak_rss_kb;
} bench_result;

/* Every number set to "does not apply". */
void bench_result_init(bench_result *r, const char *bench, const char *impl, int threads);
void bench_result_print(void *file, const bench_result *r);

/* Fills ns_per_op and records_per_s from batches, percentiles from samples (may be NULL).
 */
void bench_result_fill(bench_result *r, const bench_batches *b, bench_samples *s,
                       int threads, uint64_t wall_ns);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_BENCH_HARNESS_H */
