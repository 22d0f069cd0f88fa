/*
 * cmp_spanlog_loki.c - spanlog's Loki sink in the side-by-side benchmark:
 * the workload record, N times from one thread, pushed to the benchmark's
 * receiver (loki_recv.c); pino-loki does the same in pino/loki.js.
 *
 *   bench_cmp_spanlog_loki --impl spanlog|spanlog-nogzip --bench loki --url URL
 *                          [--records N]
 *
 * The sink runs with its defaults (protobuf+snappy, structured metadata for
 * the trace ids, 1 MiB batches; spanlog-nogzip: the JSON encoding without
 * gzip, to show what the push body itself costs, since identical benchmark
 * records compress unusually well)
 * except: overflow SL_LOKI_BLOCK (wait rather than drop,
 * so that both clients deliver every record) and batch_age_ms 100 (pino-loki
 * is given the same 100 ms interval). records_per_s is N over the time from
 * the first call to sl_logger_flush() returning, which waits until the
 * receiver has acknowledged every record; ns_per_op is the caller's median
 * cost per record (batches of 500). bytes_per_record is the request bodies
 * per record as the sink counts them; the driver replaces it with the
 * receiver's count, request line and headers included, for both clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/harness.h"
#include "common/runner.h"
#include "common/workload.h"
#include "spanlog/loki.h"
#include "spanlog/spanlog.h"

#define BATCH 500

int main(int argc, char **argv)
{
    bench_args a;
    if (bench_parse_args(argc, argv, &a) != 0 || strcmp(a.bench, "loki") != 0 ||
        a.url == NULL ||
        (strcmp(a.impl, "spanlog") != 0 && strcmp(a.impl, "spanlog-nogzip") != 0)) {
        fprintf(stderr,
                "usage: %s --impl spanlog|spanlog-nogzip --bench loki --url URL "
                "[--records N]\n",
                argv[0]);
        return 2;
    }
    sl_loki_options lo;
    sl_loki_options_init(&lo);
    lo.url = a.url;
    lo.overflow = SL_LOKI_BLOCK;
    lo.block_timeout_ms = 10000;
    lo.batch_age_ms = 100;
    if (strcmp(a.impl, "spanlog-nogzip") == 0) {
        lo.encoding = SL_LOKI_ENCODING_JSON;
        lo.gzip = false;
    }
    sl_error err;
    sl_error_init(&err);
    sl_sink *sink = NULL;
    sl_status st = sl_loki_sink_new(&lo, &sink, &err);
    if (st != SL_OK) {
        fprintf(stderr, "spanlog: loki sink: %s %s\n", sl_strerror(st), err.text);
        return 1;
    }
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = WL_SERVICE;
    sl_logger *lg = NULL;
    if (sl_logger_new(&o, &lg) != SL_OK) {
        sl_sink_free(sink, 0);
        return 1;
    }
    if (sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) != SL_OK) {
        sl_logger_free(lg);
        return 1;
    }
    sl_span *span = sl_span_start("charge", SL_SPAN_SERVER);
    bench_batches b;
    size_t nb = (size_t)(a.records / BATCH) + 1;
    if (bench_batches_init(&b, nb) != 0) {
        return 1;
    }
    long left = a.records;
    uint64_t t0 = bench_now_ns();
    while (left > 0) {
        long n = left < BATCH ? left : BATCH;
        uint64_t b0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            sl_info(lg, WL_MSG, SL_INT("cents", WL_CENTS), SL_STR("route", WL_ROUTE),
                    SL_DOUBLE("ratio", WL_RATIO), SL_BOOL("retry", WL_RETRY));
        }
        uint64_t b1 = bench_now_ns();
        b.ns[b.n++] = (double)(b1 - b0) / (double)n;
        b.ops += (uint64_t)n;
        b.total_ns += b1 - b0;
        left -= n;
    }
    st = sl_logger_flush(lg, 120000);
    uint64_t t1 = bench_now_ns();
    sl_span_end(span);

    sl_loki_stats ls;
    sl_loki_get_stats(sink, &ls);
    if (st != SL_OK || ls.sent_records != (uint64_t)a.records) {
        fprintf(stderr, "spanlog: flush %s, sent %llu of %ld (%s)\n", sl_strerror(st),
                (unsigned long long)ls.sent_records, a.records, ls.last_error);
    }
    bench_result r;
    bench_result_init(&r, "loki", a.impl, 1);
    r.ns_per_op = bench_batches_median(&b);
    r.records_per_s = (double)ls.sent_records * 1e9 / (double)(t1 - t0);
    r.bytes_per_record =
        ls.sent_records > 0 ? (double)ls.wire_bytes / (double)ls.sent_records : -1;
    r.peak_rss_kb = bench_peak_rss_kb();
    sl_logger_free(lg);
    bench_batches_free(&b);
    bench_result_print(stdout, &r);
    return 0;
}
