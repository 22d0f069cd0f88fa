/*
 * sink.c - the Loki sink as callers see it: write pushes the record into
 * the delivery runtime's queue; flush, close and fork are the runtime's.
 *
 * The caller's cost is one uncontended lock, one memcpy of the line and a
 * rare condition signal (only when the worker asked to be woken): no
 * allocation, no I/O, and no waiting unless SL_LOKI_BLOCK was chosen.
 */
#include <errno.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/loki/loki_internal.h"

static const char SINK_NAME[] = "loki";

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- write -------------------------------------------------------------- */

static void loki_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    sl__loki *L = sl_sink_state(sink);
    if (len > 0 && line[len - 1] == '\n') {
        len--;
    }
    const char *service = L->cfg.service_name;
    if (service == NULL && rec != NULL) {
        service = rec->service;
    }
    if (service == NULL || service[0] == '\0') {
        service = "unknown_service";
    }
    /* Never cuts a record's service: the logger refuses one longer than
     * SL__LOKI_MAX_SERVICE bytes, and service_name is checked at creation. */
    size_t slen = sl__utf8_cut(service, strlen(service), SL__LOKI_MAX_SERVICE);

    if (len > L->cfg.line_limit) {
        /* The logger cut the line to the limit this sink declares; a line
         * written to the sink by other means and still too long is dropped. */
        __atomic_fetch_add(&L->dropped_too_long, 1, __ATOMIC_RELAXED);
        sl_sink_count_dropped(sink, 1);
        return;
    }
    if (rec != NULL && rec->truncated) {
        __atomic_fetch_add(&L->truncated, 1, __ATOMIC_RELAXED);
    }
    /* Written in place in the queue: one reservation, two copies. */
    sl_status st;
    char *dst = sl__deliver_begin(L->d, sizeof(sl__loki_rec) + slen + len, &st);
    if (dst == NULL) {
        return; /* the drop is counted */
    }
    sl__loki_rec *r = (sl__loki_rec *)(void *)dst;
    r->ts = rec != NULL ? rec->time_ns : sl__now_ns();
    r->level = (uint8_t)(rec != NULL ? rec->level : SL_LEVEL_INFO);
    r->service_len = (uint16_t)slen;
    r->has_ctx = rec != NULL && rec->ctx != NULL && sl_span_context_is_valid(rec->ctx);
    memset(r->pad, 0, sizeof(r->pad));
    if (r->has_ctx) {
        memcpy(r->trace_id, rec->ctx->trace_id.bytes, 16);
        memcpy(r->span_id, rec->ctx->span_id.bytes, 8);
    } else {
        memset(r->trace_id, 0, sizeof(r->trace_id));
        memset(r->span_id, 0, sizeof(r->span_id));
    }
    memcpy(dst + sizeof(*r), service, slen);
    memcpy(dst + sizeof(*r) + slen, line, len);
    sl__deliver_commit(L->d, (uint32_t)len);
}

/* ---- flush / close: the runtime's ------------------------------------------------ */

static sl_status loki_flush(sl_sink *sink, int timeout_ms)
{
    sl__loki *L = sl_sink_state(sink);
    return sl__deliver_flush(L->d, timeout_ms);
}

static sl_status loki_close(sl_sink *sink, int timeout_ms)
{
    sl__loki *L = sl_sink_state(sink);
    return sl__deliver_close(L->d, timeout_ms);
}

static void free_state(sl__loki *L)
{
    sl__deliver_free(L->d);
    sl__loki_config_free(&L->cfg);
    sl__free(L);
}

static void loki_destroy(sl_sink *sink)
{
    sl__loki *L = sl_sink_state(sink);
    if (L != NULL) {
        free_state(L);
    }
}

static const sl_sink_vtable loki_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = SINK_NAME,
    .write = loki_write,
    .flush = loki_flush,
    .close = loki_close,
    .destroy = loki_destroy,
};

/* ---- construction and stats ------------------------------------------------ */

static void deliver_options(const sl__loki_config *cfg, sl__deliver_options *o)
{
    sl__deliver_options_init(o);
    o->name = SINK_NAME;
    o->queue_bytes = cfg->queue_bytes;
    o->overflow = (sl__deliver_overflow)cfg->overflow;
    o->block_timeout_ms = cfg->block_timeout_ms;
    o->batch_bytes = cfg->batch_bytes;
    o->batch_age_ms = cfg->batch_age_ms;
    o->backoff_min_ms = cfg->backoff_min_ms;
    o->backoff_max_ms = cfg->backoff_max_ms;
    o->jitter = cfg->jitter == SL_LOKI_JITTER_NONE    ? SL__JITTER_NONE
                : cfg->jitter == SL_LOKI_JITTER_EQUAL ? SL__JITTER_EQUAL
                                                      : SL__JITTER_FULL;
    o->max_batch_age_ms = cfg->max_batch_age_ms;
}

sl_status sl_loki_sink_new(const sl_loki_options *opts, sl_sink **out, sl_error *err)
{
    if (out == NULL) {
        return sl__error_set(err, SL_EINVAL, "out", NULL, -1, "loki: out is NULL");
    }
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        return sl__error_set(err, SL_EIO, NULL, NULL, -1,
                             "loki: libcurl failed to initialise");
    }
    /* The caller's struct, as far as its size reaches, over our defaults. */
    sl_loki_options sized;
    sl_loki_options_init(&sized);
    if (opts != NULL) {
        if (!sl__abi_options(&sized, sizeof(sized), opts, SL__LOKI_OPTIONS_V1)) {
            return sl__error_set(err, SL_EINVAL, "opts", NULL, -1,
                                 "loki: options not prepared by sl_loki_options_init");
        }
        opts = &sized;
    }
    sl__loki *L = sl__calloc(1, sizeof(*L));
    if (L == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "loki: out of memory");
    }
    sl_status st = sl__loki_config_build(opts, &L->cfg, err);
    if (st != SL_OK) {
        sl__free(L);
        return st;
    }
    L->metadata_on = L->cfg.structured_metadata;
    sl_sink *sink = NULL;
    st = sl_sink_new(&loki_vtable, L, &sink);
    if (st != SL_OK) {
        sl__loki_config_free(&L->cfg);
        sl__free(L);
        return sl__error_set(err, st, NULL, NULL, -1, "loki: %s", sl_strerror(st));
    }
    L->sink = sink;
    if (L->cfg.truncate_long_lines) {
        /* The logger cuts every record to the line limit (+ '\n'): the line
         * arrives here whole and valid, and is never parsed again. */
        sl_sink_set_max_line_bytes(sink, L->cfg.line_limit + 1);
    }
    sl__deliver_options dopt;
    deliver_options(&L->cfg, &dopt);
    st = sl__deliver_new(&dopt, &sl__loki_deliver_ops, L, sink, &L->d);
    if (st != SL_OK) {
        sl__error_set(err, st, NULL, NULL, -1,
                      st == SL_ENOMEM ? "loki: out of memory for the queue"
                                      : "loki: cannot start the worker thread");
        sl_sink_free(sink, 0);
        return st;
    }
    *out = sink;
    return SL_OK;
}

sl_status sl_loki_sink_from_url(const char *url, sl_sink **out, sl_error *err)
{
    if (url == NULL || out == NULL) {
        return sl__error_set(err, SL_EINVAL, NULL, NULL, -1, "loki: url or out is NULL");
    }
    return sl__loki_open_url(url, false, out, err);
}

sl_status sl_loki_get_stats(const sl_sink *sink, sl_loki_stats *out)
{
    if (sink == NULL || out == NULL || sl_sink_name(sink) != SINK_NAME) {
        return SL_EINVAL;
    }
    sl__loki *L = sl_sink_state(sink);
    sl__deliver_stats d;
    sl__deliver_get_stats(L->d, &d);
    sl_loki_stats t;
    memset(&t, 0, sizeof(t));
    t.queued_records = d.queued_records;
    t.queued_bytes = d.queued_bytes;
    t.pending_records = d.pending_records;
    t.pending_bytes = d.pending_bytes;
    t.sent_records = d.sent_records;
    t.sent_bytes = d.sent_bytes;
    t.requests = d.requests;
    t.retries = d.retries;
    t.dropped_queue_full = d.dropped_queue_full;
    t.dropped_rejected = d.dropped_rejected;
    t.dropped_rejected_partial = d.dropped_rejected_partial;
    t.dropped_too_long =
        __atomic_load_n(&L->dropped_too_long, __ATOMIC_RELAXED) + d.dropped_too_large;
    t.dropped_retries_exhausted = d.dropped_retries_exhausted;
    t.dropped_closed = d.dropped_closed;
    t.truncated = __atomic_load_n(&L->truncated, __ATOMIC_RELAXED);
    t.wire_bytes = __atomic_load_n(&L->wire_bytes, __ATOMIC_RELAXED);
    t.last_http_status = d.last_status;
    t.metadata_disabled = L->cfg.structured_metadata &&
                          __atomic_load_n(&L->metadata_on, __ATOMIC_RELAXED) == 0;
    snprintf(t.last_error, sizeof(t.last_error), "%s", d.last_error);
    /* Only as much as the caller's struct holds (its size, from _init). */
    t.size = sl__abi_size(out->size, SL__LOKI_STATS_V1, sizeof(t));
    memcpy(out, &t, t.size);
    return SL_OK;
}

void sl_loki_stats_init_size(sl_loki_stats *stats, size_t size)
{
    sl_loki_stats d;
    memset(&d, 0, sizeof(d));
    sl__abi_init(stats, size, &d, sizeof(d));
}
