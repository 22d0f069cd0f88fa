/*
 * sink.c - the Loki sink as callers see it: write copies into the queue,
 * flush waits for settled sequence numbers, close drains, fork restarts.
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

static int init_cond(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) {
        return -1;
    }
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
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
    size_t slen = sl__utf8_cut(service, strlen(service), SL__LOKI_MAX_SERVICE);

    bool truncate = false;
    size_t reserve_len = len;
    if (len > L->cfg.line_limit) {
        if (!L->cfg.truncate_long_lines) {
            pthread_mutex_lock(&L->mu);
            L->st.dropped_too_long++;
            pthread_mutex_unlock(&L->mu);
            sl_sink_count_dropped(sink, 1);
            return;
        }
        truncate = true;
        reserve_len = L->cfg.line_limit;
    }
    size_t size = sl__loki_slot_size(slen, reserve_len);

    pthread_mutex_lock(&L->mu);
    if (L->closed) {
        L->st.dropped_closed++;
        pthread_mutex_unlock(&L->mu);
        sl_sink_count_dropped(sink, 1);
        return;
    }
    if (!L->worker_running && sl__loki_worker_start(L) != SL_OK) {
        /* Queue anyway: the next write tries to start it again. */
        pthread_mutex_unlock(&L->mu);
        sl_sink_report_error(sink, SL_EIO, "loki: cannot start the worker thread");
        pthread_mutex_lock(&L->mu);
    }
    sl__loki_slot *slot = sl__loki_ring_reserve(&L->q, size);
    uint64_t evicted = 0;
    if (slot == NULL && L->cfg.overflow == SL_LOKI_DROP_OLDEST) {
        while (slot == NULL && sl__loki_ring_peek(&L->q) != NULL) {
            L->pending_bytes -= sl__loki_ring_peek(&L->q)->line_len;
            sl__loki_ring_pop(&L->q);
            L->st.dropped_queue_full++;
            sl_sink_count_dropped(sink, 1);
            L->done_seq++;
            evicted++;
            slot = sl__loki_ring_reserve(&L->q, size);
        }
        if (evicted > 0) {
            pthread_cond_broadcast(&L->done_cv);
        }
    } else if (slot == NULL && L->cfg.overflow == SL_LOKI_BLOCK &&
               L->cfg.block_timeout_ms > 0) {
        struct timespec dl = sl__loki_abs_mono(
            sl__monotonic_ns() + (int64_t)L->cfg.block_timeout_ms * 1000000);
        while (slot == NULL && !L->closed) {
            L->space_waiters++;
            int rc = pthread_cond_timedwait(&L->space_cv, &L->mu, &dl);
            L->space_waiters--;
            slot = L->closed ? NULL : sl__loki_ring_reserve(&L->q, size);
            if (rc == ETIMEDOUT) {
                break;
            }
        }
    }
    if (slot == NULL) {
        L->st.dropped_queue_full++;
        pthread_mutex_unlock(&L->mu);
        sl_sink_count_dropped(sink, 1);
        return;
    }

    slot->ts = rec != NULL ? rec->time_ns : sl__now_ns();
    slot->level = (uint8_t)(rec != NULL ? rec->level : SL_LEVEL_INFO);
    slot->service_len = (uint8_t)slen;
    slot->has_ctx = rec != NULL && rec->ctx != NULL && sl_span_context_is_valid(rec->ctx);
    if (slot->has_ctx) {
        memcpy(slot->trace_id, rec->ctx->trace_id.bytes, 16);
        memcpy(slot->span_id, rec->ctx->span_id.bytes, 8);
    }
    char *dst = (char *)(slot + 1);
    memcpy(dst, service, slen);
    if (truncate) {
        slot->line_len =
            (uint32_t)sl__loki_truncate(line, len, L->cfg.line_limit, dst + slen);
        L->st.truncated++;
    } else {
        slot->line_len = (uint32_t)len;
        memcpy(dst + slen, line, len);
    }
    sl__loki_ring_commit(&L->q, slot);
    L->enq_seq++;
    L->st.queued_records++;
    L->st.queued_bytes += slot->line_len;
    L->pending_bytes += slot->line_len;
    if (L->worker_asleep &&
        (L->q.line_bytes >= L->wake_bytes || L->q.used >= L->q.cap / 2)) {
        L->worker_asleep = false;
        pthread_cond_signal(&L->work_cv);
    }
    pthread_mutex_unlock(&L->mu);
}

/* ---- flush / close --------------------------------------------------------- */

static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX
                          : sl__monotonic_ns() + (int64_t)timeout_ms * 1000000;
}

static sl_status wait_done(sl__loki *L, uint64_t target, int64_t deadline)
{
    while (sl__loki_unsettled(L) < target && !L->worker_exited) {
        if (deadline == INT64_MAX) {
            pthread_cond_wait(&L->done_cv, &L->mu);
        } else {
            if (sl__monotonic_ns() >= deadline) {
                break;
            }
            struct timespec dl = sl__loki_abs_mono(deadline);
            pthread_cond_timedwait(&L->done_cv, &L->mu, &dl);
        }
    }
    return sl__loki_unsettled(L) >= target ? SL_OK : SL_ETIMEDOUT;
}

static sl_status loki_flush(sl_sink *sink, int timeout_ms)
{
    sl__loki *L = sl_sink_state(sink);
    int64_t deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&L->mu);
    uint64_t target = L->enq_seq;
    if (L->flush_target < target) {
        L->flush_target = target;
    }
    L->worker_asleep = false;
    pthread_cond_signal(&L->work_cv);
    sl_status st = wait_done(L, target, deadline);
    pthread_mutex_unlock(&L->mu);
    return st;
}

/* Drops everything still queued as closed; mu held. */
static void drop_queue_closed(sl__loki *L)
{
    uint64_t n = L->q.records;
    sl_sink_count_dropped(L->sink, n);
    L->pending_bytes -= L->q.line_bytes;
    sl__loki_ring_clear(&L->q);
    L->st.dropped_closed += n;
    L->done_seq += n;
}

static sl_status loki_close(sl_sink *sink, int timeout_ms)
{
    sl__loki *L = sl_sink_state(sink);
    pthread_mutex_lock(&L->mu);
    if (L->closed) {
        pthread_mutex_unlock(&L->mu);
        return SL_OK;
    }
    uint64_t dropped_before = L->st.dropped_closed;
    if (L->worker_running) {
        L->closing = true;
        L->close_deadline = deadline_after(timeout_ms);
        L->worker_asleep = false;
        pthread_cond_broadcast(&L->work_cv);
        pthread_mutex_unlock(&L->mu);
        pthread_join(L->thread, NULL);
        pthread_mutex_lock(&L->mu);
        L->worker_running = false;
    }
    drop_queue_closed(L);
    L->closed = true;
    pthread_cond_broadcast(&L->space_cv);
    pthread_cond_broadcast(&L->done_cv);
    bool lost = L->st.dropped_closed != dropped_before;
    pthread_mutex_unlock(&L->mu);
    return lost ? SL_ETIMEDOUT : SL_OK;
}

static void free_state(sl__loki *L)
{
    sl__loki_ring_free(&L->q);
    sl__loki_config_free(&L->cfg);
    pthread_cond_destroy(&L->work_cv);
    pthread_cond_destroy(&L->space_cv);
    pthread_cond_destroy(&L->done_cv);
    pthread_mutex_destroy(&L->mu);
    sl__free(L);
}

static void loki_destroy(sl_sink *sink)
{
    sl__loki *L = sl_sink_state(sink);
    if (L == NULL) {
        return;
    }
    if (!L->closed) {
        loki_close(sink, 0);
    }
    free_state(L);
}

/* ---- fork ------------------------------------------------------------------- */

/*
 * Holding mu across fork() means the child never inherits it locked by a
 * thread that does not exist there. The parent's worker does not exist in the
 * child either: its records are the parent's to send (the child would send
 * them twice), so the child starts with an empty queue and fresh counters,
 * and a new worker starts on its first record. The old worker's memory and
 * connection are left alone: closing a TLS connection from the child would
 * break the parent's.
 */
static void loki_atfork_prepare(sl_sink *sink)
{
    sl__loki *L = sl_sink_state(sink);
    pthread_mutex_lock(&L->mu);
}

static void loki_atfork_parent(sl_sink *sink)
{
    sl__loki *L = sl_sink_state(sink);
    pthread_mutex_unlock(&L->mu);
}

static void loki_atfork_child(sl_sink *sink)
{
    sl__loki *L = sl_sink_state(sink);
    init_cond(&L->work_cv);
    init_cond(&L->space_cv);
    init_cond(&L->done_cv);
    sl__loki_ring_clear(&L->q);
    memset(&L->st, 0, sizeof(L->st));
    L->st.metadata_disabled = !L->metadata_on && L->cfg.structured_metadata;
    L->enq_seq = L->done_seq = L->flush_target = 0;
    L->inflight_first = L->inflight_n = 0;
    L->pending_bytes = 0;
    L->space_waiters = 0;
    L->worker_asleep = false;
    L->worker_running = false;
    L->worker_exited = false;
    if (L->closing) {
        L->closed = true;
    }
    pthread_mutex_unlock(&L->mu);
}

static const sl_sink_vtable loki_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = SINK_NAME,
    .write = loki_write,
    .flush = loki_flush,
    .close = loki_close,
    .destroy = loki_destroy,
    .atfork_prepare = loki_atfork_prepare,
    .atfork_parent = loki_atfork_parent,
    .atfork_child = loki_atfork_child,
};

/* ---- construction and stats ------------------------------------------------ */

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
    if (sl__loki_ring_init(&L->q, L->cfg.queue_bytes) != SL_OK) {
        sl__loki_config_free(&L->cfg);
        sl__free(L);
        return sl__error_set(err, SL_ENOMEM, "queue_bytes", NULL, -1,
                             "loki: cannot allocate the %zu-byte queue",
                             opts->queue_bytes);
    }
    pthread_mutex_init(&L->mu, NULL);
    init_cond(&L->work_cv);
    init_cond(&L->space_cv);
    init_cond(&L->done_cv);
    sl_sink *sink = NULL;
    st = sl_sink_new(&loki_vtable, L, &sink);
    if (st != SL_OK) {
        free_state(L);
        return sl__error_set(err, st, NULL, NULL, -1, "loki: %s", sl_strerror(st));
    }
    L->sink = sink;
    pthread_mutex_lock(&L->mu);
    st = sl__loki_worker_start(L);
    pthread_mutex_unlock(&L->mu);
    if (st != SL_OK) {
        sl__error_set(err, st, NULL, NULL, -1, "loki: cannot start the worker thread");
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
    pthread_mutex_lock(&L->mu);
    *out = L->st;
    out->pending_records = L->enq_seq - L->done_seq;
    out->pending_bytes = L->pending_bytes;
    pthread_mutex_unlock(&L->mu);
    return SL_OK;
}
