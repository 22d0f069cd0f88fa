/*
 * span_record.c - the optional "span end" log record: one record per ended
 * sampled span, written to a logger chosen with sl_span_set_end_logger().
 *
 * It is an end hook rather than a processor so that it runs after the
 * user's processors and so that a program which never asks for it does not
 * link the logger in through the span code.
 */
#include <stdatomic.h>

#include "trace/trace_internal.h"

static sl_logger *_Atomic end_logger;
static atomic_int end_level;

static const char *kind_name(sl_span_kind k)
{
    switch (k) {
    case SL_SPAN_INTERNAL:
        return "internal";
    case SL_SPAN_SERVER:
        return "server";
    case SL_SPAN_CLIENT:
        return "client";
    case SL_SPAN_PRODUCER:
        return "producer";
    case SL_SPAN_CONSUMER:
        return "consumer";
    }
    return "unknown";
}

static const char *status_name(sl_span_status_code c)
{
    switch (c) {
    case SL_SPAN_STATUS_UNSET:
        return "unset";
    case SL_SPAN_STATUS_OK:
        return "ok";
    case SL_SPAN_STATUS_ERROR:
        return "error";
    }
    return "unknown";
}

static void write_end_record(const sl_span_data *d)
{
    sl_logger *lg = atomic_load_explicit(&end_logger, memory_order_acquire);
    sl_level level = (sl_level)atomic_load_explicit(&end_level, memory_order_relaxed);
    if (!sl_would_log(lg, level)) {
        return;
    }
    sl_field f[5] = {
        SL_STR("span.name", d->name),
        SL_STR("span.kind", kind_name(d->kind)),
        SL_DOUBLE("durationMs", (double)(d->end_ns - d->start_ns) / 1e6),
        SL_STR("status", status_name(d->status)),
        SL_STR("statusMessage", d->status_message),
    };
    size_t n = d->status == SL_SPAN_STATUS_ERROR ? 5 : 4;
    /* The span's own context: the record belongs to the span that ended,
     * whatever is current on this thread now. */
    sl_log_write(lg, level, d->context, NULL, "span end", f, n);
}

void sl_span_set_end_logger(sl_logger *lg, sl_level level)
{
    atomic_store_explicit(&end_level, (int)level, memory_order_relaxed);
    atomic_store_explicit(&end_logger, lg, memory_order_release);
    atomic_store_explicit(&sl__span_end_hook, lg ? write_end_record : NULL,
                          memory_order_release);
}
