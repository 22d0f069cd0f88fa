/*
 * span_bench.c - figures for the tracing side (issue 3): span start+end
 * (sampled with 2 attributes, unsampled), sampler decisions, baggage parse
 * and format, extract+inject of the three headers, and the trace-context
 * basics. Prints one JSON object per line:
 *
 *   {"bench":NAME,"impl":"spanlog","ns_per_op":MEDIAN,"p99_ns":P99,
 *    "allocs_per_op":A}
 *
 * Each benchmark runs BATCHES batches of BATCH operations; ns_per_op is the
 * median of the batch means and p99_ns their 99th percentile (timing each
 * operation alone would measure the clock more than the operation).
 * allocs_per_op counts spanlog's own allocations through sl_set_allocator.
 * A benchmark, not a test: nothing here passes or fails on time.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "spanlog/spanlog.h"

#define BATCH   64
#define BATCHES 3000
#define WARMUP  200

static atomic_ulong allocs;

static void *count_malloc(size_t n)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    return malloc(n);
}

static void *count_realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    return realloc(p, n);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A sink the compiler cannot see through, so work is not optimised away. */
static volatile uint64_t sink;

typedef void (*op_fn)(void);

static void run(const char *name, op_fn op)
{
    static double means[BATCHES];
    for (int i = 0; i < WARMUP * BATCH; i++) {
        op();
    }
    unsigned long a0 = atomic_load(&allocs);
    for (int b = 0; b < BATCHES; b++) {
        int64_t t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            op();
        }
        means[b] = (double)(now_ns() - t0) / BATCH;
    }
    unsigned long a1 = atomic_load(&allocs);
    qsort(means, BATCHES, sizeof means[0], cmp_double);
    printf("{\"bench\":\"%s\",\"impl\":\"spanlog\",\"ns_per_op\":%.1f,\"p99_ns\":%.1f,"
           "\"allocs_per_op\":%.3f}\n",
           name, means[BATCHES / 2], means[(BATCHES * 99) / 100],
           (double)(a1 - a0) / ((double)BATCHES * BATCH));
    fflush(stdout);
}

/* ---- operations --------------------------------------------------------- */

static void op_span_sampled_2attrs(void)
{
    sl_span *s = sl_span_start("GET /users", SL_SPAN_SERVER);
    sl_span_set(s, SL_STR("http.method", "GET"), SL_INT("http.status_code", 200));
    sl_span_end(s);
}

static void op_span_unsampled_2attrs(void)
{
    sl_span *s = sl_span_start("GET /users", SL_SPAN_SERVER);
    sl_span_set(s, SL_STR("http.method", "GET"), SL_INT("http.status_code", 200));
    sl_span_end(s);
}

static void op_span_start_end(void)
{
    sl_span_end(sl_span_start("op", SL_SPAN_INTERNAL));
}

static sl_sampler ratio_sampler = {SL_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.25};
static sl_trace_id ids[256];
static unsigned id_i;

static void op_sampler_ratio(void)
{
    sink += (uint64_t)sl_sampler_should_sample(&ratio_sampler, NULL, ids[id_i++ & 255]);
}

static const char baggage_hdr[] =
    "userId=alice,serverNode=DF%2028,isProduction=false;ttl=60,tenantId=acme";
static sl_baggage *bag;

static void op_baggage_parse(void)
{
    sl_baggage *b = NULL;
    sl_baggage_parse(baggage_hdr, sizeof baggage_hdr - 1, &b, NULL);
    sink += sl_baggage_count(b);
    sl_baggage_free(b);
}

static void op_baggage_format(void)
{
    char buf[256];
    size_t n;
    sl_baggage_format(bag, buf, sizeof buf, &n);
    sink += n;
}

/* A fixed header store: three incoming headers, three outgoing slots. */
typedef struct hdrs {
    const char *in_names[4];
    const char *in_values[4];
    char out[3][600];
} hdrs;

static hdrs store = {
    {"Host", "traceparent", "tracestate", "baggage"},
    {"example", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
     "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "userId=alice,tenantId=acme"},
    {{0}},
};

static void foreach_hdr(void *ctx, sl_header_visit_fn visit, void *arg)
{
    hdrs *h = ctx;
    for (int i = 0; i < 4; i++) {
        visit(arg, h->in_names[i], strlen(h->in_names[i]), h->in_values[i],
              strlen(h->in_values[i]));
    }
}

static int set_hdr(void *ctx, const char *name, const char *value)
{
    hdrs *h = ctx;
    int slot = name[0] == 'b' ? 2 : name[5] == 'p' ? 0 : 1;
    size_t n = strlen(value);
    if (n >= sizeof h->out[0]) {
        return -1;
    }
    memcpy(h->out[slot], value, n + 1);
    return 0;
}

static const sl_carrier carrier = {.ctx = &store, .foreach = foreach_hdr, .set = set_hdr};

static void op_extract_inject(void)
{
    sl_span_context parent;
    sl_baggage *b = NULL;
    sl_extract(&carrier, &parent, &b);
    sl_inject(&carrier, &parent, b);
    sl_baggage_free(b);
}

static void op_traceparent_parse(void)
{
    sl_span_context c;
    sl_traceparent_parse(store.in_values[1], 55, &c);
    sink += c.flags;
}

static void op_traceparent_format(void)
{
    static sl_span_context c;
    if (!sl_span_context_is_valid(&c)) {
        sl_traceparent_parse(store.in_values[1], 55, &c);
    }
    char buf[SL_TRACEPARENT_LEN + 1];
    sl_traceparent_format(&c, buf, sizeof buf);
    sink += (uint64_t)buf[40];
}

static void op_ids(void)
{
    sl_trace_id t = sl_trace_id_random();
    sl_span_id s = sl_span_id_random();
    sink += t.bytes[3] + s.bytes[5];
}

static sl_span_context attach_ctx;

static void op_attach_detach(void)
{
    sl_context_token t;
    sl_context_attach(&attach_ctx, &t);
    sl_context_detach(t);
}

int main(void)
{
    sl_allocator a = {count_malloc, count_realloc, free};
    if (sl_set_allocator(&a) != SL_OK) {
        fprintf(stderr, "cannot install the counting allocator\n");
        return 1;
    }
    for (int i = 0; i < 256; i++) {
        ids[i] = sl_trace_id_random();
    }
    sl_baggage_parse(baggage_hdr, sizeof baggage_hdr - 1, &bag, NULL);
    attach_ctx.trace_id = sl_trace_id_random();
    attach_ctx.span_id = sl_span_id_random();

    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1}, off = {SL_SAMPLER_ALWAYS_OFF, 1};
    sl_sampler_set(&on);
    run("span_start_end_2attrs_sampled", op_span_sampled_2attrs);
    run("span_start_end_sampled", op_span_start_end);
    sl_sampler_set(&off);
    run("span_start_end_2attrs_unsampled", op_span_unsampled_2attrs);
    run("span_start_end_unsampled", op_span_start_end);
    sl_sampler_set(&on);
    run("sampler_decision_traceidratio", op_sampler_ratio);
    run("baggage_parse", op_baggage_parse);
    run("baggage_format", op_baggage_format);
    run("extract_inject_3_headers", op_extract_inject);
    run("traceparent_parse", op_traceparent_parse);
    run("traceparent_format", op_traceparent_format);
    run("id_generation", op_ids);
    run("context_attach_detach", op_attach_detach);
    sl_baggage_free(bag);
    return 0;
}
