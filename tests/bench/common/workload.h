/*
 * workload.h - the one record every implementation writes, and the trace
 * context the peers (spdlog, jansson) read it from.
 *
 * The record (key order differs between implementations; the set of keys
 * and their values must not, and tests/bench/driver.py checks that):
 *
 *   {"time":"2026-11-22T01:02:03.456789Z","level":"info","msg":"card charged",
 *    "service":"checkout","traceId":"<32 hex>","spanId":"<16 hex>",
 *    "correlationId":"<8 hex>-<8 hex>","cents":1299,"route":"/pay",
 *    "ratio":0.25,"retry":false}
 *
 * The peers get the current span from a thread-local that holds the ids
 * already in hex, which is the cheapest thing a hand-rolled integration can
 * do (spanlog formats its ids per record). That favours the peers.
 */
#ifndef SPANLOG_BENCH_WORKLOAD_H
#define SPANLOG_BENCH_WORKLOAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WL_MSG     "card charged"
#define WL_SERVICE "checkout"
#define WL_CENTS   1299
#define WL_ROUTE   "/pay"
#define WL_RATIO   0.25
#define WL_RETRY   0

typedef struct wl_span {
    int valid;
    char trace_hex[33];
    char span_hex[17];
    char corr[18]; /* first 8 of trace, '-', first 8 of span */
} wl_span;

/* Starts a span on the calling thread: fresh random ids (getrandom). */
void wl_span_start(void);
/* Ends it: the thread has no current span afterwards. */
void wl_span_end(void);
/* The calling thread's span (valid == 0 when none). Never NULL. */
const wl_span *wl_current(void);

/*
 * RFC 3339 UTC with microseconds ("YYYY-MM-DDTHH:MM:SS.uuuuuuZ", 27 bytes)
 * into out (at least 32 bytes); returns the length. The date part is cached
 * per second and per thread, as spdlog does, so that the jansson baseline
 * pays for JSON building, not for gmtime.
 */
size_t wl_time_rfc3339_us(char *out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_BENCH_WORKLOAD_H */
