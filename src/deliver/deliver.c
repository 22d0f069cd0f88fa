/*
 * deliver.c - the delivery runtime (see deliver.h): queue, worker, batching,
 * backoff, verdicts, flush by sequence number, close with one deadline, fork.
 *
 *        ┌──────────── gather (mu held) ◀────────────────┐
 *        ▼                                               │
 *   batch full / old / flush / close? ── no ──▶ sleep ───┘
 *        │ yes
 *        ▼
 *   send_range(all) ─▶ ops.send ─┬─ SENT ─────────────▶ settle: sent
 *        ▲                       ├─ REJECTED(_PARTIAL) ▶ settle: rejected(_partial)
 *        │                       ├─ TOO_LARGE ────────▶ send_range(first half),
 *        │                       │                      send_range(second half);
 *        │                       │                      one entry: settle too_large
 *        │                       ├─ CANCELLED ────────▶ settle: closed
 *        └─ backoff (jitter, ────┴─ RETRY ────────────▶ settle the `settled` prefix;
 *           Retry-After floor)                          too old: retries_exhausted
 *
 * Sequence numbers make flush exact: the k-th accepted entry has sequence k
 * (enq_seq counts them). The queue holds a contiguous run of the newest
 * ones, the worker's batch (in flight) a contiguous run taken earlier from
 * the queue's head, and batches settle from their front, so the oldest
 * unsettled entry is the batch's first, or else the queue's head:
 *
 *   seq: [ settled ... | in flight: batch | (evicted by drop_oldest) | queued ]
 *                       ^ inflight_first                               ^ enq_seq -
 * q.records
 *
 * flush waits until that reaches the enq_seq it saw. done_seq counts settled
 * entries (for pending_records); evictions settle out of order, so it is a
 * count, not a position.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "deliver/ring.h"
#include "lifecycle.h"

/* Bytes moved from the queue per hold of the lock (a few microseconds). */
#define GATHER_HOLD_BYTES (16u << 10)
#define MIN_QUEUE         (64u << 10)
#define MAX_PARTS         8

typedef struct batch_ent {
    size_t off; /* in arena */
    uint32_t len;
    uint32_t weight;
} batch_ent;

struct sl__deliver {
    sl__ring_slot *open_slot; /* between sl__deliver_begin and _commit; mu held */
    sl__deliver_options o;
    sl__deliver_ops ops;
    void *user;
    sl_sink *sink;
    sl__life life;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* the worker waits for entries, flush, close */
    pthread_cond_t space_cv; /* BLOCK callers wait for room */
    pthread_cond_t done_cv;  /* flush and close wait for settled entries */
    sl__ring q;
    uint64_t enq_seq, done_seq, flush_target;
    uint64_t inflight_first; /* sequence of the batch's first unsettled entry */
    uint64_t inflight_n;     /* unsettled entries in the worker's batch; 0: none */
    uint64_t pending_bytes;  /* weights queued or in flight */
    size_t wake_bytes;       /* an asleep worker wants waking at this many queued bytes */
    int space_waiters;
    bool worker_asleep;
    bool worker_running; /* a worker thread exists (to join) */
    bool worker_exited;
    bool closing, closed;
    int64_t close_deadline; /* atomic: monotonic ns; INT64_MAX: none */
    pthread_t thread;
    sl__deliver_stats st; /* pending_* computed when read */

    /* The worker's batch (worker only, except in the fork child). */
    char *arena;
    size_t arena_len, arena_cap;
    batch_ent *ents;
    size_t n, cap; /* entries in the batch, all unsettled until send */
    size_t cost;
    int64_t opened_ns; /* monotonic time the batch got its first entry */
    sl__deliver_entry *view;
    size_t view_cap;
    uint64_t rng;
    void *conn;
};

/* ---- small helpers ------------------------------------------------------- */

void sl__deliver_options_init(sl__deliver_options *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "deliver";
    o->queue_bytes = 4u << 20;
    o->overflow = SL__OVERFLOW_DROP_NEWEST;
    o->block_timeout_ms = 100;
    o->batch_bytes = 1u << 20;
    o->batch_age_ms = 1000;
    o->backoff_min_ms = 100;
    o->backoff_max_ms = 10000;
    o->jitter = SL__JITTER_FULL;
    o->max_batch_age_ms = 60000;
}

void sl__deliver_verdict_init(sl__deliver_verdict *v)
{
    v->kind = SL__DELIVER_SENT;
    v->settled = 0;
    v->retry_after_ms = -1;
    v->status = 0;
    v->text[0] = '\0';
    v->code = SL_OK;
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

static struct timespec abs_mono(int64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    if (deadline == INT64_MAX) {
        pthread_cond_wait(cv, mu);
    } else {
        struct timespec dl = abs_mono(deadline);
        pthread_cond_timedwait(cv, mu, &dl);
    }
}

static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX
                          : sl__monotonic_ns() + (int64_t)timeout_ms * 1000000;
}

static double rand01(sl__deliver *d)
{
    /* xorshift64*: jitter needs spread, not secrecy. */
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return (double)((d->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* The sequence of the oldest entry not yet settled (enq_seq: none); mu held. */
static uint64_t unsettled(const sl__deliver *d)
{
    return d->inflight_n > 0 ? d->inflight_first : d->enq_seq - d->q.records;
}

bool sl__deliver_cancelled(sl__deliver *d)
{
    int64_t dl = __atomic_load_n(&d->close_deadline, __ATOMIC_ACQUIRE);
    return dl != INT64_MAX && sl__monotonic_ns() >= dl;
}

int64_t sl__deliver_deadline_ns(sl__deliver *d)
{
    return __atomic_load_n(&d->close_deadline, __ATOMIC_ACQUIRE);
}

static bool close_expired(const sl__deliver *d, int64_t now)
{
    return d->closing && now >= d->close_deadline;
}

/* Keeps the newest failure's text (cut to fit); mu held. */
static void set_last_error(sl__deliver *d, const char *text)
{
    size_t n = strnlen(text, sizeof(d->st.last_error) - 1);
    memcpy(d->st.last_error, text, n);
    d->st.last_error[n] = '\0';
}

/* ---- settling ------------------------------------------------------------- */

typedef enum settle_kind {
    SETTLE_SENT,
    SETTLE_REJECTED,
    SETTLE_PARTIAL,
    SETTLE_TOO_LARGE,
    SETTLE_EXHAUSTED,
    SETTLE_CLOSED
} settle_kind;

/* Counts `n` entries of weight `w` under `kind`; mu held. */
static void count_locked(sl__deliver *d, settle_kind kind, uint64_t n, uint64_t w)
{
    switch (kind) {
    case SETTLE_SENT:
        d->st.sent_records += n;
        d->st.sent_bytes += w;
        break;
    case SETTLE_REJECTED:
        d->st.dropped_rejected += n;
        break;
    case SETTLE_PARTIAL:
        d->st.dropped_rejected_partial += n;
        break;
    case SETTLE_TOO_LARGE:
        d->st.dropped_too_large += n;
        break;
    case SETTLE_EXHAUSTED:
        d->st.dropped_retries_exhausted += n;
        break;
    case SETTLE_CLOSED:
        d->st.dropped_closed += n;
        break;
    }
    /* The wrapper's counters move before done_seq, so a flush that returns
     * sees them final. */
    static const struct {
        sl_status code;
        const char *why;
    } reasons[] = {
        [SETTLE_REJECTED] = {SL_EPROTO, "rejected by the receiver"},
        [SETTLE_PARTIAL] = {SL_EPROTO, "rejected in part by the receiver"},
        [SETTLE_TOO_LARGE] = {SL_ERANGE, "too large for the receiver"},
        [SETTLE_EXHAUSTED] = {SL_ETIMEDOUT, "retries exhausted"},
        [SETTLE_CLOSED] = {SL_ECLOSED, "not delivered by close"},
    };
    if (kind == SETTLE_SENT) {
        sl_sink_count_written(d->sink, n);
    } else {
        sl_sink_count_dropped_reason(d->sink, n, reasons[kind].code, reasons[kind].why);
    }
    d->done_seq += n;
    d->pending_bytes -= w;
}

/* Settles batch entries [lo, hi), which are the front of what is in flight. */
static void settle(sl__deliver *d, size_t lo, size_t hi, settle_kind kind,
                   const sl__deliver_verdict *v)
{
    if (hi <= lo) {
        return;
    }
    uint64_t w = 0;
    for (size_t i = lo; i < hi; i++) {
        w += d->ents[i].weight;
    }
    pthread_mutex_lock(&d->mu);
    count_locked(d, kind, hi - lo, w);
    d->inflight_first += hi - lo;
    d->inflight_n -= hi - lo;
    if (v != NULL) {
        d->st.last_status = v->status;
        if (kind != SETTLE_SENT && v->text[0] != '\0') {
            set_last_error(d, v->text);
        }
    }
    pthread_cond_broadcast(&d->done_cv);
    pthread_mutex_unlock(&d->mu);
    sl__sink_tell_drops(d->sink); /* the worker, no lock held: a safe point */
    if (d->ops.settled != NULL) {
        sl__deliver_verdict sv;
        if (v != NULL) {
            sv = *v;
        } else {
            sl__deliver_verdict_init(&sv);
            sv.kind = SL__DELIVER_CANCELLED;
        }
        switch (kind) {
        case SETTLE_SENT:
            sv.kind = SL__DELIVER_SENT;
            break;
        case SETTLE_EXHAUSTED:
            sv.kind = SL__DELIVER_RETRY;
            break;
        case SETTLE_CLOSED:
            sv.kind = SL__DELIVER_CANCELLED;
            break;
        case SETTLE_TOO_LARGE:
            sv.kind = SL__DELIVER_TOO_LARGE;
            break;
        default:
            break;
        }
        d->ops.settled(d->user, &sv, hi - lo, w);
    }
}

/* ---- sending ---------------------------------------------------------------- */

/* Waits until `until` or until close's deadline; false when close expired. */
static bool backoff_wait(sl__deliver *d, int64_t until)
{
    pthread_mutex_lock(&d->mu);
    for (;;) {
        int64_t now = sl__monotonic_ns();
        if (close_expired(d, now)) {
            pthread_mutex_unlock(&d->mu);
            return false;
        }
        if (now >= until) {
            break;
        }
        int64_t dl = until;
        if (d->closing && d->close_deadline < dl) {
            dl = d->close_deadline;
        }
        timed_wait(&d->work_cv, &d->mu, dl);
    }
    pthread_mutex_unlock(&d->mu);
    return true;
}

static const char *kind_word(settle_kind k)
{
    switch (k) {
    case SETTLE_REJECTED:
        return "rejected";
    case SETTLE_PARTIAL:
        return "rejected, the server may have stored some of them";
    default:
        return "dropped";
    }
}

/* Sends entries [lo, hi) until each is settled. */
static void send_range(sl__deliver *d, size_t lo, size_t hi)
{
    int64_t first = sl__monotonic_ns();
    int64_t max_age = (int64_t)d->o.max_batch_age_ms * 1000000;
    unsigned attempt = 0; /* sends of these entries so far */
    int backoff_n = 0;    /* retries since the last progress */
    while (lo < hi) {
        size_t n = hi - lo;
        for (size_t i = 0; i < n; i++) {
            d->view[i].data = d->arena + d->ents[lo + i].off;
            d->view[i].len = d->ents[lo + i].len;
            d->view[i].weight = d->ents[lo + i].weight;
        }
        sl__deliver_batch b = {d->view, n, attempt};
        sl__deliver_verdict v;
        sl__deliver_verdict_init(&v);
        pthread_mutex_lock(&d->mu);
        d->st.requests++;
        if (attempt > 0) {
            d->st.retries++;
        }
        pthread_mutex_unlock(&d->mu);
        if (sl__deliver_cancelled(d)) {
            v.kind = SL__DELIVER_CANCELLED;
        } else {
            d->ops.send(d->user, d->conn, &b, &v);
        }
        attempt++;
        switch (v.kind) {
        case SL__DELIVER_SENT:
            settle(d, lo, hi, SETTLE_SENT, &v);
            return;
        case SL__DELIVER_REJECTED:
        case SL__DELIVER_REJECTED_PARTIAL: {
            settle_kind k =
                v.kind == SL__DELIVER_REJECTED ? SETTLE_REJECTED : SETTLE_PARTIAL;
            sl_sink_report_error(d->sink, v.code != SL_OK ? v.code : SL_EPROTO,
                                 "%s: batch of %zu records %s: %s", d->o.name, n,
                                 kind_word(k), v.text);
            settle(d, lo, hi, k, &v);
            return;
        }
        case SL__DELIVER_TOO_LARGE:
            if (n == 1) {
                sl_sink_report_error(d->sink, SL_ERANGE,
                                     "%s: a record too large for the server, dropped: %s",
                                     d->o.name, v.text);
                settle(d, lo, hi, SETTLE_TOO_LARGE, &v);
                return;
            }
            pthread_mutex_lock(&d->mu);
            d->st.splits++;
            pthread_mutex_unlock(&d->mu);
            send_range(d, lo, lo + n / 2);
            send_range(d, lo + n / 2, hi);
            return;
        case SL__DELIVER_CANCELLED:
            settle(d, lo, hi, SETTLE_CLOSED, &v);
            return;
        case SL__DELIVER_RETRY:
            break;
        }
        /* RETRY: what the transport got through is sent. */
        if (v.settled > 0) {
            size_t k = v.settled < n ? v.settled : n;
            settle(d, lo, lo + k, SETTLE_SENT, &v);
            lo += k;
            if (lo == hi) {
                return;
            }
            backoff_n = 0; /* progress: start the backoff again */
            first = sl__monotonic_ns();
        }
        int64_t now = sl__monotonic_ns();
        if (max_age > 0 && now - first >= max_age) {
            sl_sink_report_error(d->sink, SL_ETIMEDOUT,
                                 "%s: batch of %zu records dropped after retrying for "
                                 "%d ms: %s",
                                 d->o.name, hi - lo, d->o.max_batch_age_ms, v.text);
            settle(d, lo, hi, SETTLE_EXHAUSTED, &v);
            return;
        }
        pthread_mutex_lock(&d->mu);
        d->st.last_status = v.status;
        set_last_error(d, v.text);
        pthread_mutex_unlock(&d->mu);
        sl_sink_report_error(d->sink, v.code != SL_OK ? v.code : SL_EIO,
                             "%s: send failed, will retry: %s", d->o.name, v.text);
        int64_t delay =
            sl__deliver_backoff_ms(backoff_n++, d->o.backoff_min_ms, d->o.backoff_max_ms,
                                   d->o.jitter, rand01(d));
        if (v.retry_after_ms >= 0) {
            int64_t ra = v.retry_after_ms < d->o.backoff_max_ms ? v.retry_after_ms
                                                                : d->o.backoff_max_ms;
            if (ra > delay) {
                delay = ra;
            }
        }
        int64_t until = now + delay * 1000000;
        if (max_age > 0 && until > first + max_age) {
            until = first + max_age;
        }
        if (!backoff_wait(d, until)) {
            settle(d, lo, hi, SETTLE_CLOSED, &v);
            return;
        }
    }
}

/* ---- gathering ------------------------------------------------------------- */

static bool batch_reserve(sl__deliver *d, size_t len)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 256;
        batch_ent *ne = sl__realloc(d->ents, nc * sizeof(*ne));
        if (ne == NULL) {
            return false;
        }
        d->ents = ne;
        sl__deliver_entry *nv = sl__realloc(d->view, nc * sizeof(*nv));
        if (nv == NULL) {
            return false;
        }
        d->view = nv;
        d->cap = nc;
        d->view_cap = nc;
    }
    size_t need = d->arena_len + ((len + 7u) & ~(size_t)7u);
    if (need > d->arena_cap) {
        size_t nc = d->arena_cap ? d->arena_cap : 64u << 10;
        while (nc < need) {
            nc *= 2;
        }
        char *na = sl__realloc(d->arena, nc);
        if (na == NULL) {
            return false;
        }
        d->arena = na;
        d->arena_cap = nc;
    }
    return true;
}

static size_t entry_cost(const sl__deliver *d, const char *data, size_t len)
{
    return d->ops.cost != NULL ? d->ops.cost(d->user, data, len) : len;
}

static bool batch_full(const sl__deliver *d)
{
    return d->cost >= d->o.batch_bytes ||
           (d->o.batch_max_entries > 0 && d->n >= d->o.batch_max_entries);
}

/* Moves queued entries into the batch until it is full; mu held. */
static void gather(sl__deliver *d)
{
    bool popped = false;
    size_t held = 0;
    sl__ring_slot *s;
    while (!batch_full(d) && (s = sl__ring_peek(&d->q)) != NULL) {
        if (held >= GATHER_HOLD_BYTES) {
            /* Let waiting callers in: they never wait for more than one
             * chunk's worth of copying. */
            if (d->space_waiters > 0) {
                pthread_cond_broadcast(&d->space_cv);
            }
            pthread_mutex_unlock(&d->mu);
            pthread_mutex_lock(&d->mu);
            held = 0;
            continue;
        }
        held += s->size;
        const char *data = sl__ring_data(s);
        size_t cost = entry_cost(d, data, s->len);
        if (d->n > 0 && d->cost + cost > d->o.batch_bytes) {
            break;
        }
        if (!batch_reserve(d, s->len)) {
            break; /* out of memory: send what we have, try again after */
        }
        batch_ent *e = &d->ents[d->n++];
        e->off = d->arena_len;
        e->len = s->len;
        e->weight = s->weight;
        memcpy(d->arena + d->arena_len, data, s->len);
        d->arena_len += (s->len + 7u) & ~(size_t)7u;
        if (d->n == 1) {
            d->opened_ns = sl__monotonic_ns();
        }
        d->cost += cost;
        if (d->inflight_n == 0) {
            d->inflight_first = d->enq_seq - d->q.records; /* the head's sequence */
        }
        d->inflight_n++;
        sl__ring_pop(&d->q);
        popped = true;
    }
    if (popped && d->space_waiters > 0) {
        pthread_cond_broadcast(&d->space_cv);
    }
}

static void batch_clear(sl__deliver *d)
{
    d->n = 0;
    d->cost = 0;
    d->arena_len = 0;
}

/* Drops the batch and the queue when close ran out of time; mu held. */
static void drop_all_closed(sl__deliver *d)
{
    uint64_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        w += d->ents[i].weight;
    }
    if (d->inflight_n > 0) {
        count_locked(d, SETTLE_CLOSED, d->inflight_n, w);
        d->inflight_n = 0;
    }
    if (d->q.records > 0) {
        count_locked(d, SETTLE_CLOSED, d->q.records, d->q.weight);
        sl__ring_clear(&d->q);
    }
    batch_clear(d);
    pthread_cond_broadcast(&d->done_cv);
}

static void *worker_main(void *arg)
{
    sl__deliver *d = arg;
    void *conn = d->ops.open != NULL ? d->ops.open(d->user) : NULL;
    pthread_mutex_lock(&d->mu);
    d->conn = conn;
    for (;;) {
        gather(d);
        int64_t now = sl__monotonic_ns();
        if (close_expired(d, now)) {
            if (d->n > 0 || d->q.records > 0) {
                drop_all_closed(d);
            }
            break;
        }
        int64_t due = d->opened_ns + (int64_t)d->o.batch_age_ms * 1000000;
        bool ready =
            d->n > 0 && (batch_full(d) || now >= due || d->flush_target > unsettled(d) ||
                         d->closing || d->q.records > 0);
        if (ready) {
            pthread_mutex_unlock(&d->mu);
            sl__sink_tell_drops(d->sink); /* e.g. callers' drops on a full queue */
            send_range(d, 0, d->n);
            batch_clear(d);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        if (d->closing && d->n == 0 && d->q.records == 0) {
            break;
        }
        d->worker_asleep = true;
        d->wake_bytes = d->n == 0 ? 1 : d->o.batch_bytes - d->cost;
        int64_t dl = d->n > 0 ? due : INT64_MAX;
        if (d->closing && d->close_deadline < dl) {
            dl = d->close_deadline;
        }
        timed_wait(&d->work_cv, &d->mu, dl);
        d->worker_asleep = false;
    }
    d->conn = NULL;
    pthread_mutex_unlock(&d->mu);
    if (d->ops.close != NULL) {
        d->ops.close(d->user, conn);
    }
    pthread_mutex_lock(&d->mu);
    d->worker_exited = true;
    pthread_cond_broadcast(&d->done_cv);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Starts the worker; mu held. */
static sl_status worker_start(sl__deliver *d)
{
    d->worker_exited = false;
    d->worker_asleep = false;
    if (pthread_create(&d->thread, NULL, worker_main, d) != 0) {
        return SL_EIO;
    }
    d->worker_running = true;
    return SL_OK;
}

/* ---- the caller's side ---------------------------------------------------------- */

/* Counts one entry dropped before it was queued; mu held. */
static void drop_now_locked(sl__deliver *d, uint64_t *counter)
{
    (*counter)++;
    sl_status code = counter == &d->st.dropped_queue_full ? SL_EAGAIN
                     : counter == &d->st.dropped_closed   ? SL_ECLOSED
                                                          : SL_ERANGE;
    const char *why = code == SL_EAGAIN    ? "queue full"
                      : code == SL_ECLOSED ? "sink closed"
                                           : "too large for the queue";
    sl_sink_count_dropped_reason(d->sink, 1, code, why);
}

char *sl__deliver_begin(sl__deliver *d, size_t len, sl_status *st)
{
    size_t size = sl__ring_slot_size(len);
    pthread_mutex_lock(&d->mu);
    if (d->closed || d->closing) {
        drop_now_locked(d, &d->st.dropped_closed);
        pthread_mutex_unlock(&d->mu);
        *st = SL_ECLOSED;
        return NULL;
    }
    if (size > d->q.cap || len > UINT32_MAX) {
        drop_now_locked(d, &d->st.dropped_too_large);
        pthread_mutex_unlock(&d->mu);
        *st = SL_ERANGE;
        return NULL;
    }
    if (!d->worker_running && worker_start(d) != SL_OK) {
        /* Queue anyway: the next push tries to start it again. */
        pthread_mutex_unlock(&d->mu);
        sl_sink_report_error(d->sink, SL_EIO, "%s: cannot start the worker thread",
                             d->o.name);
        pthread_mutex_lock(&d->mu);
    }
    sl__ring_slot *slot = sl__ring_reserve(&d->q, size);
    if (slot == NULL && d->o.overflow == SL__OVERFLOW_DROP_OLDEST) {
        bool evicted = false;
        sl__ring_slot *old;
        while (slot == NULL && (old = sl__ring_peek(&d->q)) != NULL) {
            d->pending_bytes -= old->weight;
            sl__ring_pop(&d->q);
            drop_now_locked(d, &d->st.dropped_queue_full);
            d->done_seq++;
            evicted = true;
            slot = sl__ring_reserve(&d->q, size);
        }
        if (evicted) {
            pthread_cond_broadcast(&d->done_cv);
        }
    } else if (slot == NULL && d->o.overflow == SL__OVERFLOW_BLOCK &&
               d->o.block_timeout_ms > 0) {
        struct timespec dl =
            abs_mono(sl__monotonic_ns() + (int64_t)d->o.block_timeout_ms * 1000000);
        if (d->worker_asleep) {
            d->worker_asleep = false;
            pthread_cond_signal(&d->work_cv);
        }
        while (slot == NULL && !d->closed && !d->closing) {
            d->space_waiters++;
            int rc = pthread_cond_timedwait(&d->space_cv, &d->mu, &dl);
            d->space_waiters--;
            slot = d->closed || d->closing ? NULL : sl__ring_reserve(&d->q, size);
            if (rc == ETIMEDOUT) {
                break;
            }
        }
    }
    if (slot == NULL) {
        drop_now_locked(d, &d->st.dropped_queue_full);
        pthread_mutex_unlock(&d->mu);
        *st = SL_EAGAIN;
        return NULL;
    }
    slot->len = (uint32_t)len;
    d->open_slot = slot;
    *st = SL_OK;
    return sl__ring_data(slot);
}

void sl__deliver_commit(sl__deliver *d, uint32_t weight)
{
    sl__ring_slot *slot = d->open_slot;
    d->open_slot = NULL;
    slot->weight = weight;
    sl__ring_commit(&d->q, slot);
    d->enq_seq++;
    d->st.queued_records++;
    d->st.queued_bytes += weight;
    d->pending_bytes += weight;
    if (d->worker_asleep && (d->q.used >= d->wake_bytes || d->q.used >= d->q.cap / 2)) {
        d->worker_asleep = false;
        pthread_cond_signal(&d->work_cv);
    }
    pthread_mutex_unlock(&d->mu);
}

sl_status sl__deliver_push(sl__deliver *d, const sl__deliver_part *parts, size_t nparts,
                           uint32_t weight)
{
    if (nparts > MAX_PARTS) {
        /* An adapter's bug, but still no record lost uncounted. */
        pthread_mutex_lock(&d->mu);
        drop_now_locked(d, &d->st.dropped_too_large);
        pthread_mutex_unlock(&d->mu);
        return SL_EINVAL;
    }
    size_t len = 0;
    for (size_t i = 0; i < nparts; i++) {
        len += parts[i].len;
    }
    sl_status st;
    char *dst = sl__deliver_begin(d, len, &st);
    if (dst == NULL) {
        return st;
    }
    for (size_t i = 0; i < nparts; i++) {
        memcpy(dst, parts[i].data, parts[i].len);
        dst += parts[i].len;
    }
    sl__deliver_commit(d, weight);
    return SL_OK;
}

size_t sl__deliver_entry_size(size_t len)
{
    return sl__ring_slot_size(len);
}

static sl_status wait_done(sl__deliver *d, uint64_t target, int64_t deadline)
{
    while (unsettled(d) < target && !d->worker_exited && d->worker_running) {
        if (deadline != INT64_MAX && sl__monotonic_ns() >= deadline) {
            break;
        }
        timed_wait(&d->done_cv, &d->mu, deadline);
    }
    return unsettled(d) >= target ? SL_OK : SL_ETIMEDOUT;
}

sl_status sl__deliver_flush(sl__deliver *d, int timeout_ms)
{
    if (d == NULL) {
        return SL_EINVAL;
    }
    int64_t deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&d->mu);
    uint64_t target = d->enq_seq;
    if (d->flush_target < target) {
        d->flush_target = target;
    }
    d->worker_asleep = false;
    pthread_cond_signal(&d->work_cv);
    sl_status st = wait_done(d, target, deadline);
    pthread_mutex_unlock(&d->mu);
    return st;
}

sl_status sl__deliver_close(sl__deliver *d, int timeout_ms)
{
    if (d == NULL) {
        return SL_EINVAL;
    }
    pthread_mutex_lock(&d->mu);
    if (d->closed) {
        pthread_mutex_unlock(&d->mu);
        return SL_OK;
    }
    uint64_t dropped_before = d->st.dropped_closed;
    if (d->worker_running) {
        d->closing = true;
        __atomic_store_n(&d->close_deadline, deadline_after(timeout_ms),
                         __ATOMIC_RELEASE);
        d->worker_asleep = false;
        pthread_cond_broadcast(&d->work_cv);
        pthread_cond_broadcast(&d->space_cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
        pthread_mutex_lock(&d->mu);
        d->worker_running = false;
    }
    if (d->q.records > 0) {
        count_locked(d, SETTLE_CLOSED, d->q.records, d->q.weight);
        sl__ring_clear(&d->q);
    }
    d->closed = true;
    pthread_cond_broadcast(&d->space_cv);
    pthread_cond_broadcast(&d->done_cv);
    bool lost = d->st.dropped_closed != dropped_before;
    pthread_mutex_unlock(&d->mu);
    if (lost) {
        sl_sink_report_error(d->sink, SL_ETIMEDOUT,
                             "%s: %llu records not delivered by close's deadline, "
                             "dropped",
                             d->o.name,
                             (unsigned long long)(d->st.dropped_closed - dropped_before));
    }
    return lost ? SL_ETIMEDOUT : SL_OK;
}

void sl__deliver_get_stats(sl__deliver *d, sl__deliver_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    out->pending_records = d->enq_seq - d->done_seq;
    out->pending_bytes = d->pending_bytes;
    pthread_mutex_unlock(&d->mu);
}

/* ---- fork and exit ----------------------------------------------------------------- */

static void life_prepare(void *obj)
{
    sl__deliver *d = obj;
    pthread_mutex_lock(&d->mu);
}

static void life_parent(void *obj)
{
    sl__deliver *d = obj;
    pthread_mutex_unlock(&d->mu);
}

/*
 * The parent's worker does not exist in the child, and its entries are the
 * parent's to deliver (the child would send them twice): the child starts
 * with an empty queue and batch and fresh counters, and a new worker starts
 * on its first push. The old worker's connection is left alone (closing a
 * TLS session from the child would break the parent's).
 */
static void life_child(void *obj)
{
    sl__deliver *d = obj;
    init_cond(&d->work_cv);
    init_cond(&d->space_cv);
    init_cond(&d->done_cv);
    sl__ring_clear(&d->q);
    batch_clear(d);
    memset(&d->st, 0, sizeof(d->st));
    d->enq_seq = d->done_seq = d->flush_target = 0;
    d->inflight_first = d->inflight_n = 0;
    d->pending_bytes = 0;
    d->space_waiters = 0;
    d->worker_asleep = false;
    d->worker_running = false;
    d->worker_exited = false;
    d->conn = NULL;
    d->rng ^= (uint64_t)getpid() << 20;
    if (d->closing) {
        d->closed = true;
    }
    if (d->ops.fork_child != NULL) {
        d->ops.fork_child(d->user);
    }
    pthread_mutex_unlock(&d->mu);
}

static void life_exit_flush(void *obj, int timeout_ms)
{
    (void)sl__deliver_flush(obj, timeout_ms);
}

static const sl__life_ops life_ops = {
    .prepare = life_prepare,
    .parent = life_parent,
    .child = life_child,
};

static const sl__life_ops life_ops_exit = {
    .prepare = life_prepare,
    .parent = life_parent,
    .child = life_child,
    .exit_flush = life_exit_flush,
};

/* ---- construction ------------------------------------------------------------------ */

sl_status sl__deliver_new(const sl__deliver_options *opts, const sl__deliver_ops *ops,
                          void *user, sl_sink *sink, sl__deliver **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (opts == NULL || ops == NULL || ops->send == NULL ||
        opts->queue_bytes < MIN_QUEUE || opts->batch_bytes == 0 ||
        opts->batch_age_ms < 0 || opts->backoff_min_ms <= 0 ||
        opts->backoff_max_ms < opts->backoff_min_ms || opts->max_batch_age_ms < 0 ||
        (unsigned)opts->overflow > SL__OVERFLOW_BLOCK ||
        (unsigned)opts->jitter > SL__JITTER_FULL) {
        return SL_EINVAL;
    }
    sl__deliver *d = sl__calloc(1, sizeof(*d));
    if (d == NULL) {
        return SL_ENOMEM;
    }
    d->o = *opts;
    if (d->o.name == NULL) {
        d->o.name = "deliver";
    }
    d->ops = *ops;
    d->user = user;
    d->sink = sink;
    d->close_deadline = INT64_MAX;
    d->rng = (uint64_t)sl__now_ns() ^ ((uint64_t)(uintptr_t)d << 16) ^ (uint64_t)getpid();
    if (d->rng == 0) {
        d->rng = 0x9E3779B97F4A7C15ull;
    }
    if (sl__ring_init(&d->q, d->o.queue_bytes) != SL_OK) {
        sl__free(d);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&d->mu, NULL);
    init_cond(&d->work_cv);
    init_cond(&d->space_cv);
    init_cond(&d->done_cv);
    /* Registered before the worker exists: a fork from now on is handled. */
    sl__life_register(&d->life, d->o.flush_at_exit ? &life_ops_exit : &life_ops, d);
    pthread_mutex_lock(&d->mu);
    sl_status st = worker_start(d);
    pthread_mutex_unlock(&d->mu);
    if (st != SL_OK) {
        sl__life_unregister(&d->life);
        sl__ring_free(&d->q);
        pthread_cond_destroy(&d->work_cv);
        pthread_cond_destroy(&d->space_cv);
        pthread_cond_destroy(&d->done_cv);
        pthread_mutex_destroy(&d->mu);
        sl__free(d);
        return st;
    }
    *out = d;
    return SL_OK;
}

void sl__deliver_free(sl__deliver *d)
{
    if (d == NULL) {
        return;
    }
    /* Out of the registry first: no fork hook may see a half-freed runtime. */
    sl__life_unregister(&d->life);
    (void)sl__deliver_close(d, 0);
    sl__ring_free(&d->q);
    sl__free(d->arena);
    sl__free(d->ents);
    sl__free(d->view);
    pthread_cond_destroy(&d->work_cv);
    pthread_cond_destroy(&d->space_cv);
    pthread_cond_destroy(&d->done_cv);
    pthread_mutex_destroy(&d->mu);
    sl__free(d);
}
