/*
 * worker.c - the Loki sink's worker thread: gather records from the queue
 * into a batch, send it, retry what can be retried, settle every record.
 *
 *        ┌──────────── gather (mu held) ◀───────────────┐
 *        ▼                                              │
 *   batch full / old / flush / close? ── no ──▶ sleep ──┘
 *        │ yes
 *        ▼
 *   build body ─▶ gzip ─▶ POST ─┬─ 2xx ───────────▶ settle: sent
 *        ▲                      ├─ 400 metadata ──▶ metadata off, rebuild ─┐
 *        └──────────────────────┼──────────────────────────────────────────┘
 *                               ├─ 4xx ───────────▶ settle: rejected (next batch flows)
 *                               └─ 429/5xx/error ─▶ backoff (Retry-After floor), again;
 *                                                   too old: settle retries_exhausted
 *
 * One batch is settled before the next is taken, so records are settled in
 * queue order and flush can wait on a single sequence number.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adapters/loki/loki_internal.h"

/* Bytes moved from the queue per hold of the lock (a few microseconds). */
#define GATHER_HOLD_BYTES (16u << 10)

typedef struct worker {
    sl__loki *L;
    sl__loki_batch batch;
    sl__jw body;
    char *gz;
    size_t gz_cap, gz_len;
    sl__loki_http *http;
    uint64_t rng;
    bool metadata; /* as sent: mirrors L->metadata_on */
} worker;

typedef enum settle_kind {
    SETTLE_SENT,
    SETTLE_REJECTED,
    SETTLE_PARTIAL,
    SETTLE_EXHAUSTED,
    SETTLE_CLOSED
} settle_kind;

static double rand01(worker *w)
{
    /* xorshift64*: jitter needs spread, not secrecy. */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return (double)((w->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void timed_wait(sl__loki *L, int64_t deadline)
{
    if (deadline == INT64_MAX) {
        pthread_cond_wait(&L->work_cv, &L->mu);
    } else {
        struct timespec dl = sl__loki_abs_mono(deadline);
        pthread_cond_timedwait(&L->work_cv, &L->mu, &dl);
    }
}

static bool close_expired(const sl__loki *L, int64_t now)
{
    return L->closing && now >= L->close_deadline;
}

/* Accounts for the whole batch; mu held. */
static void settle_locked(worker *w, settle_kind kind)
{
    sl__loki *L = w->L;
    sl__loki_batch *b = &w->batch;
    switch (kind) {
    case SETTLE_SENT:
        L->st.sent_records += b->n;
        L->st.sent_bytes += b->line_bytes;
        break;
    case SETTLE_REJECTED:
        L->st.dropped_rejected += b->n;
        break;
    case SETTLE_PARTIAL:
        L->st.dropped_rejected_partial += b->n;
        break;
    case SETTLE_EXHAUSTED:
        L->st.dropped_retries_exhausted += b->n;
        break;
    case SETTLE_CLOSED:
        L->st.dropped_closed += b->n;
        break;
    }
    /* The wrapper's counters move before done_seq, so a flush that returns
     * sees them final. */
    if (kind == SETTLE_SENT) {
        sl_sink_count_written(L->sink, b->n);
    } else {
        sl_sink_count_dropped(L->sink, b->n);
    }
    L->done_seq += b->n;
    L->inflight_n = 0;
    L->pending_bytes -= b->line_bytes;
    pthread_cond_broadcast(&L->done_cv);
}

static void settle(worker *w, settle_kind kind)
{
    pthread_mutex_lock(&w->L->mu);
    settle_locked(w, kind);
    pthread_mutex_unlock(&w->L->mu);
    sl__loki_batch_clear(&w->batch);
}

static void note_error(worker *w, const sl__loki_answer *ans)
{
    sl__loki *L = w->L;
    pthread_mutex_lock(&L->mu);
    L->st.last_http_status = ans->status;
    size_t n = strnlen(ans->text, sizeof(L->st.last_error) - 1);
    memcpy(L->st.last_error, ans->text, n);
    L->st.last_error[n] = '\0';
    pthread_mutex_unlock(&L->mu);
}

/* Body for the current metadata setting; false when it cannot be built. */
static bool build(worker *w, const char **data, size_t *len)
{
    sl__loki *L = w->L;
    if (L->cfg.encoding == SL_LOKI_ENCODING_PROTOBUF) {
        if (!sl__loki_proto_build(&w->batch, L->cfg.labels_prom, w->metadata, &w->body)) {
            return false;
        }
        size_t bound = sl__loki_snappy_bound(w->body.len);
        if (bound > w->gz_cap) {
            char *np = sl__realloc(w->gz, bound);
            if (np == NULL) {
                return false;
            }
            w->gz = np;
            w->gz_cap = bound;
        }
        *data = w->gz;
        *len = sl__loki_snappy(w->body.buf, w->body.len, w->gz);
        return true;
    }
    if (!sl__loki_body_build(&w->batch, L->cfg.labels_json, w->metadata, &w->body)) {
        return false;
    }
    if (!L->cfg.gzip) {
        *data = w->body.buf;
        *len = w->body.len;
        return true;
    }
    if (sl__loki_gzip(w->body.buf, w->body.len, &w->gz, &w->gz_cap, &w->gz_len) !=
        SL_OK) {
        return false;
    }
    *data = w->gz;
    *len = w->gz_len;
    return true;
}

/* Waits until `until` or until close's deadline; false when close expired. */
static bool backoff_wait(sl__loki *L, int64_t until)
{
    pthread_mutex_lock(&L->mu);
    for (;;) {
        int64_t now = sl__monotonic_ns();
        if (close_expired(L, now)) {
            pthread_mutex_unlock(&L->mu);
            return false;
        }
        if (now >= until) {
            break;
        }
        int64_t dl = until;
        if (L->closing && L->close_deadline < dl) {
            dl = L->close_deadline;
        }
        timed_wait(L, dl);
    }
    pthread_mutex_unlock(&L->mu);
    return true;
}

static void send_batch(worker *w)
{
    sl__loki *L = w->L;
    const sl__loki_config *cfg = &L->cfg;
    int64_t first = sl__monotonic_ns();
    int attempt = 0;
    bool repeat = false;
    const char *data = NULL;
    size_t len = 0;
    if (!build(w, &data, &len)) {
        sl_sink_report_error(L->sink, SL_ENOMEM,
                             "loki: cannot build a push body for %zu records (dropped)",
                             w->batch.n);
        settle(w, SETTLE_REJECTED);
        return;
    }
    for (;;) {
        if (w->http == NULL) {
            w->http = sl__loki_http_new(cfg);
        }
        sl__loki_answer ans;
        pthread_mutex_lock(&L->mu);
        int64_t deadline =
            L->closing && L->close_deadline != INT64_MAX ? L->close_deadline : 0;
        L->st.requests++;
        L->st.wire_bytes += len;
        if (repeat) {
            L->st.retries++;
        }
        pthread_mutex_unlock(&L->mu);
        if (w->http != NULL) {
            sl__loki_http_post(w->http, data, len, deadline, &ans);
        } else {
            memset(&ans, 0, sizeof(ans));
            ans.outcome = SL__LOKI_RETRY;
            ans.retry_after_ms = -1;
            snprintf(ans.text, sizeof(ans.text), "cannot create a libcurl handle");
        }
        repeat = true;
        if (ans.outcome != SL__LOKI_SENT) {
            note_error(w, &ans);
        }
        if (ans.outcome == SL__LOKI_NO_METADATA && !w->metadata) {
            ans.outcome = SL__LOKI_REJECTED; /* already off: an ordinary rejection */
        }
        switch (ans.outcome) {
        case SL__LOKI_SENT:
            pthread_mutex_lock(&L->mu);
            L->st.last_http_status = ans.status;
            pthread_mutex_unlock(&L->mu);
            settle(w, SETTLE_SENT);
            return;
        case SL__LOKI_NO_METADATA:
            w->metadata = false;
            pthread_mutex_lock(&L->mu);
            L->metadata_on = false;
            L->st.metadata_disabled = true;
            pthread_mutex_unlock(&L->mu);
            sl_sink_report_error(L->sink, SL_EPROTO,
                                 "loki: the server does not accept structured metadata "
                                 "(%s); sending trace_id/span_id in the line only from "
                                 "now on",
                                 ans.text);
            if (!build(w, &data, &len)) {
                settle(w, SETTLE_REJECTED);
                return;
            }
            continue;
        case SL__LOKI_TOO_LARGE:
            /* Splitting belongs to the delivery runtime (src/deliver/); until
             * then a 429 is retried and a 413/500 rejected, as before. */
            if (ans.status == 429) {
                break;
            }
            /* fall through */
        case SL__LOKI_REJECTED:
            sl_sink_report_error(L->sink, SL_EPROTO,
                                 "loki: batch of %zu records rejected, dropped: %s",
                                 w->batch.n, ans.text);
            settle(w, SETTLE_REJECTED);
            return;
        case SL__LOKI_REJECTED_PARTIAL:
            sl_sink_report_error(L->sink, SL_EPROTO,
                                 "loki: batch of %zu records partly rejected (Loki may "
                                 "have stored some of these; not resent): %s",
                                 w->batch.n, ans.text);
            settle(w, SETTLE_PARTIAL);
            return;
        case SL__LOKI_AUTH:
            sl_sink_report_error(
                L->sink, SL_EPROTO,
                "loki: authentication problem (check tenant, user/password "
                "or token); batch of %zu records dropped: %s",
                w->batch.n, ans.text);
            settle(w, SETTLE_REJECTED);
            return;
        case SL__LOKI_ABORTED:
            settle(w, SETTLE_CLOSED);
            return;
        case SL__LOKI_RETRY:
            break;
        }
        int64_t now = sl__monotonic_ns();
        int64_t max_age = (int64_t)cfg->max_batch_age_ms * 1000000;
        if (max_age > 0 && now - first >= max_age) {
            sl_sink_report_error(
                L->sink, SL_ETIMEDOUT,
                "loki: batch of %zu records dropped after retrying for %d ms: "
                "%s",
                w->batch.n, cfg->max_batch_age_ms, ans.text);
            settle(w, SETTLE_EXHAUSTED);
            return;
        }
        sl_sink_report_error(L->sink, SL_EIO, "loki: push failed, will retry: %s",
                             ans.text);
        int64_t delay = sl__loki_backoff_ms(attempt++, cfg->backoff_min_ms,
                                            cfg->backoff_max_ms, cfg->jitter, rand01(w));
        if (ans.retry_after_ms >= 0) {
            int64_t ra = ans.retry_after_ms < cfg->backoff_max_ms ? ans.retry_after_ms
                                                                  : cfg->backoff_max_ms;
            if (ra > delay) {
                delay = ra;
            }
        }
        int64_t until = now + delay * 1000000;
        if (max_age > 0 && until > first + max_age) {
            until = first + max_age;
        }
        if (!backoff_wait(L, until)) {
            settle(w, SETTLE_CLOSED);
            return;
        }
    }
}

/* Moves queued records into the batch until it is full; mu held. */
static void gather(worker *w)
{
    sl__loki *L = w->L;
    sl__loki_batch *b = &w->batch;
    bool popped = false;
    size_t held = 0;
    sl__loki_slot *s;
    while ((s = sl__loki_ring_peek(&L->q)) != NULL) {
        if (held >= GATHER_HOLD_BYTES) {
            /* Let waiting callers in: they never wait for more than one
             * chunk's worth of copying. */
            if (L->space_waiters > 0) {
                pthread_cond_broadcast(&L->space_cv);
            }
            pthread_mutex_unlock(&L->mu);
            pthread_mutex_lock(&L->mu);
            held = 0;
            continue;
        }
        held += s->size;
        const char *line = sl__loki_slot_line(s);
        size_t cost = sl__loki_entry_cost(line, s->line_len, s->has_ctx);
        if (b->n > 0 && b->cost + cost > L->cfg.batch_bytes) {
            break;
        }
        if (sl__loki_batch_add(b, sl__loki_slot_service(s), s->service_len,
                               L->cfg.level_label ? s->level : -1, s->ts, line,
                               s->line_len, s->has_ctx ? s->trace_id : NULL,
                               s->has_ctx ? s->span_id : NULL,
                               sl__monotonic_ns()) != SL_OK) {
            break; /* out of memory: send what we have, try again after */
        }
        if (L->inflight_n == 0) {
            L->inflight_first = L->enq_seq - L->q.records; /* the head's sequence */
        }
        L->inflight_n++;
        sl__loki_ring_pop(&L->q);
        popped = true;
        if (b->cost >= L->cfg.batch_bytes) {
            break;
        }
    }
    if (popped && L->space_waiters > 0) {
        pthread_cond_broadcast(&L->space_cv);
    }
}

/* Drops the batch and the queue when close ran out of time; mu held. */
static void drop_all_closed(worker *w)
{
    sl__loki *L = w->L;
    settle_locked(w, SETTLE_CLOSED);
    sl_sink_count_dropped(L->sink, L->q.records);
    L->st.dropped_closed += L->q.records;
    L->done_seq += L->q.records;
    L->pending_bytes -= L->q.line_bytes;
    sl__loki_ring_clear(&L->q);
    sl__loki_batch_clear(&w->batch);
    pthread_cond_broadcast(&L->done_cv);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sl__loki *L = w->L;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        gather(w);
        sl__loki_batch *b = &w->batch;
        int64_t now = sl__monotonic_ns();
        if (close_expired(L, now)) {
            if (b->n > 0 || L->q.records > 0) {
                drop_all_closed(w);
            }
            break;
        }
        int64_t due = b->opened_ns + (int64_t)L->cfg.batch_age_ms * 1000000;
        bool ready = b->n > 0 && (b->cost >= L->cfg.batch_bytes || now >= due ||
                                  L->flush_target > sl__loki_unsettled(L) || L->closing ||
                                  L->q.records > 0);
        if (ready) {
            pthread_mutex_unlock(&L->mu);
            send_batch(w);
            pthread_mutex_lock(&L->mu);
            continue;
        }
        if (L->closing && b->n == 0 && L->q.records == 0) {
            break;
        }
        L->worker_asleep = true;
        L->wake_bytes = b->n == 0 ? 1 : L->cfg.batch_bytes - b->cost;
        int64_t dl = b->n > 0 ? due : INT64_MAX;
        if (L->closing && L->close_deadline < dl) {
            dl = L->close_deadline;
        }
        timed_wait(L, dl);
        L->worker_asleep = false;
    }
    L->worker_exited = true;
    pthread_cond_broadcast(&L->done_cv);
    pthread_mutex_unlock(&L->mu);

    sl__loki_http_free(w->http);
    sl__loki_batch_free(&w->batch);
    sl__jw_free(&w->body);
    sl__free(w->gz);
    sl__free(w);
    return NULL;
}

sl_status sl__loki_worker_start(sl__loki *L)
{
    worker *w = sl__calloc(1, sizeof(*w));
    if (w == NULL) {
        return SL_ENOMEM;
    }
    w->L = L;
    w->metadata = L->metadata_on;
    w->rng = (uint64_t)sl__now_ns() ^ ((uint64_t)(uintptr_t)w << 16) ^ (uint64_t)getpid();
    if (w->rng == 0) {
        w->rng = 0x9E3779B97F4A7C15ull;
    }
    sl__loki_batch_init(&w->batch);
    sl__jw_init_growable(&w->body, 64u << 10,
                         2 * SL__LOKI_MAX_BATCH + SL__LOKI_MAX_LINE * 2);
    L->worker_exited = false;
    L->worker_asleep = false;
    if (pthread_create(&L->thread, NULL, worker_main, w) != 0) {
        sl__jw_free(&w->body);
        sl__free(w);
        return SL_EIO;
    }
    L->worker_running = true;
    return SL_OK;
}
