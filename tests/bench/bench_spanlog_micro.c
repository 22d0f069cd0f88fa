/*
 * bench_spanlog_micro.c - spanlog's own operations, one JSON line each
 * (issue 2, section 12). The record-writing benchmarks (disabled call, info
 * record with 4 fields and a current span into the null sink, into stdout
 * redirected to /dev/null, into a file) are in cmp_spanlog.c, where they run
 * beside the same scenarios of the peers.
 *
 *   child3_create_free   a child logger with 3 bound fields, made and freed
 *   traceparent_parse    a valid version-00 header into a span context
 *   traceparent_format   a span context into a header
 *   trace_id_random      one random trace id
 *   span_id_random       one random span id
 *   span_start_end       a span started (child of the current one) and ended
 *   root_span_start_end  the same with no current span: a new trace
 *   span_start_end_observed  span_start_end with a (no-op) span processor
 *                        registered: the end time is read and the span
 *                        reported (with none, sl_span_end skips both)
 *
 * Every operation is timed in batches (ns_per_op is the batch median); when
 * it takes 10 ns or more, each call is also timed alone for p50/p99/p99.9.
 * allocs_per_op comes from a counting pass after a warm-up.
 *
 *   bench_spanlog_micro [--scale X]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/harness.h"
#include "spanlog/spanlog.h"

#define OPS       1000
#define SAMPLES   50000
#define ALLOC_OPS 2000

static double scale = 1.0;

/*
 * Runs `body` through the three passes and prints the result. `body` is
 * pasted into the loops, so nothing but the operation itself is timed.
 */
#define MICRO(name, body)                                                                \
    do {                                                                                 \
        bench_batches b__;                                                               \
        bench_samples s__;                                                               \
        bench_result r__;                                                                \
        if (bench_batches_init(&b__, 4000) != 0 ||                                       \
            bench_samples_init(&s__, (size_t)(SAMPLES * scale)) != 0) {                  \
            return 1;                                                                    \
        }                                                                                \
        bench_result_init(&r__, (name), "spanlog", 1);                                   \
        for (int w__ = 0; w__ < 1000; w__++) {                                           \
            body;                                                                        \
        }                                                                                \
        BENCH_BATCHES(&b__, OPS, (uint64_t)(3e8 * scale), body);                         \
        bench_result_fill(&r__, &b__, NULL, 1, 0);                                       \
        if (r__.ns_per_op >= 10) {                                                       \
            BENCH_PER_CALL(&s__, s__.cap, body);                                         \
            bench_result_fill(&r__, &b__, &s__, 1, 0);                                   \
        }                                                                                \
        if (bench_alloc_count_available()) {                                             \
            bench_alloc_count_start();                                                   \
            for (int a__ = 0; a__ < ALLOC_OPS; a__++) {                                  \
                body;                                                                    \
            }                                                                            \
            r__.allocs_per_op = (double)bench_alloc_count_stop() / ALLOC_OPS;            \
        }                                                                                \
        r__.peak_rss_kb = bench_peak_rss_kb();                                           \
        bench_result_print(stdout, &r__);                                                \
        bench_batches_free(&b__);                                                        \
        bench_samples_free(&s__);                                                        \
    } while (0)

static const char header[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/* The observed-span row's processor: reads the end time, as an exporter
 * would, and keeps it. */
static volatile int64_t last_end;
static void on_end(const sl_span_data *d, void *user)
{
    (void)user;
    last_end = d->end_ns;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--scale") == 0) {
            scale = atof(argv[i + 1]);
        }
    }
    if (!(scale > 0)) {
        fprintf(stderr, "usage: %s [--scale X]\n", argv[0]);
        return 2;
    }

    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "checkout";
    sl_logger *lg = NULL;
    sl_sink *sink = NULL;
    if (sl_logger_new(&o, &lg) != SL_OK || sl_null_sink_new(&sink) != SL_OK ||
        sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) != SL_OK) {
        fprintf(stderr, "spanlog: logger setup failed\n");
        return 1;
    }

    /* A current span, as a request handler would have. */
    sl_span *outer = sl_span_start("request", SL_SPAN_SERVER);

    MICRO("child3_create_free", {
        sl_logger *c = sl_child(lg, SL_STR("requestId", "r-42"), SL_STR("route", "/pay"),
                                SL_INT("userId", 7));
        BENCH_KEEP(c);
        sl_logger_free(c);
    });

    sl_span_context ctx;
    MICRO("traceparent_parse", {
        sl_status st = sl_traceparent_parse(header, sizeof(header) - 1, &ctx);
        BENCH_KEEP(st);
        BENCH_CLOBBER();
    });

    char buf[SL_TRACEPARENT_LEN + 1];
    MICRO("traceparent_format", {
        sl_status st = sl_traceparent_format(&ctx, buf, sizeof(buf));
        BENCH_KEEP(st);
        BENCH_CLOBBER();
    });

    MICRO("trace_id_random", {
        sl_trace_id id = sl_trace_id_random();
        BENCH_KEEP(id.bytes[0]);
    });

    MICRO("span_id_random", {
        sl_span_id id = sl_span_id_random();
        BENCH_KEEP(id.bytes[0]);
    });

    MICRO("span_start_end", {
        sl_span *s = sl_span_start("charge", SL_SPAN_CLIENT);
        BENCH_KEEP(s);
        sl_span_end(s);
    });

    if (sl_span_processor_add(on_end, NULL) == SL_OK) {
        MICRO("span_start_end_observed", {
            sl_span *s = sl_span_start("charge", SL_SPAN_CLIENT);
            BENCH_KEEP(s);
            sl_span_end(s);
        });
        (void)sl_span_processor_remove(on_end, NULL);
    }

    sl_span_end(outer);
    MICRO("root_span_start_end", {
        sl_span *s = sl_span_start("charge", SL_SPAN_SERVER);
        BENCH_KEEP(s);
        sl_span_end(s);
    });

    sl_logger_free(lg);
    return 0;
}
