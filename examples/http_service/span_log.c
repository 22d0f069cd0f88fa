/*
 * span_log.c - with --log-spans, one "span ended" record per sampled span.
 *
 * A span processor (span.h) receives every ended sampled span on the thread
 * that ends it. Writing it as a record with the span's own context makes the
 * span tree readable from the logs alone: the record's spanId is the span,
 * parentSpanId its parent, so a reader (or a test) can check that each
 * CLIENT span hangs under the SERVER span of its request, and that the
 * SERVER span hangs under the caller's span.
 */
#include "service.h"

static const char *kind_name(sl_span_kind kind)
{
    static const char *const names[] = {"internal", "server", "client", "producer",
                                        "consumer"};
    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static const char *status_name(sl_span_status_code code)
{
    return code == SL_SPAN_STATUS_OK      ? "ok"
           : code == SL_SPAN_STATUS_ERROR ? "error"
                                          : "unset";
}

static void log_span_end(const sl_span_data *d, void *user)
{
    sl_logger *lg = user;
    char parent[SL_SPAN_ID_HEX_LEN + 1];
    bool has_parent = sl_span_id_is_valid(d->parent_span_id);
    if (has_parent) {
        sl_span_id_to_hex(d->parent_span_id, parent);
    }
    sl_log_ctx(lg, d->status == SL_SPAN_STATUS_ERROR ? SL_LEVEL_WARN : SL_LEVEL_INFO,
               d->context, "span ended", SL_STR("span.name", d->name),
               SL_STR("span.kind", kind_name(d->kind)),
               SL_STR("parentSpanId", has_parent ? parent : NULL),
               SL_BOOL("parentRemote", d->parent_remote != 0),
               SL_DOUBLE("durationMs", (double)(d->end_ns - d->start_ns) / 1e6),
               SL_STR("status", status_name(d->status)),
               SL_STR("statusMessage", d->status_message),
               SL_UINT("attributes", d->attribute_count),
               SL_UINT("events", d->event_count));
}

sl_status svc_span_log_start(sl_logger *lg)
{
    return sl_span_processor_add(log_span_end, lg);
}

void svc_span_log_stop(sl_logger *lg)
{
    (void)sl_span_processor_remove(log_span_end, lg);
}
