/*
 * deliver.h - the delivery runtime: what every background (network) sink
 * plugs into. Internal (sl__), shared by the core and the adapters.
 *
 * An adapter formats a record on the caller's thread and pushes the bytes;
 * the runtime owns everything after that:
 *
 *   caller ──push(parts)──▶ bounded byte ring ──▶ worker thread (one per runtime)
 *            drop-newest /     (one allocation,      gather into a batch by
 *            drop-oldest /      never grows)         size (cost) and age
 *            block(timeout)                               │
 *                                                         ▼
 *                              ops.send(batch view, cancel) ─▶ verdict
 *        SENT ─────────────▶ settled: sent
 *        RETRY(delay) ─────▶ backoff: exponential, full jitter, cap, Retry-After
 *                            floor, max age per batch (then retries_exhausted)
 *        REJECTED(reason) ─▶ settled: rejected (the server's text kept)
 *        REJECTED_PARTIAL ─▶ settled: rejected_partial (the server may have stored some)
 *        TOO_LARGE ────────▶ split in halves, each sent on its own; a single
 *                            entry that is still too large: dropped too_large
 *        CANCELLED ────────▶ close's deadline stopped it: settled closed
 *
 * Every record pushed is settled exactly once, under exactly one counter.
 * Batches are settled in queue order, so flush waits on one sequence
 * number: "everything pushed before this call is settled, or the timeout
 * passed" (SL_OK / SL_ETIMEDOUT). Close has one deadline, which also cancels
 * the request in flight: the transport must poll sl__deliver_cancelled() (a
 * libcurl xferinfo callback, a poll() loop with a bounded timeout) or bound
 * its waits by sl__deliver_deadline_ns().
 *
 * Lifecycle: a runtime registers itself in the core's one registry (src/
 * lifecycle). Around fork() its lock is held by the one pthread_atfork
 * handler; in the child the queue is emptied (the parent delivers those
 * records), the counters restart, ops.fork_child runs, and a new worker
 * starts on the next push. At exit, a runtime with flush_at_exit set is
 * flushed within the one exit budget (a sink's runtime is flushed through
 * its sink instead: leave it false there).
 *
 * Threads: push, flush, close and stats from any thread; the ops callbacks
 * (except fork_child) run on the worker thread only, never with the
 * runtime's lock held, so they may block (bounded by the cancel check).
 */
#ifndef SPANLOG_DELIVER_H
#define SPANLOG_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "spanlog/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl__deliver sl__deliver;

/* ---- what a transport answers --------------------------------------------- */

typedef enum sl__deliver_kind {
    SL__DELIVER_SENT = 0,         /* delivered: settled as sent */
    SL__DELIVER_RETRY,            /* transient: back off and send the same batch again */
    SL__DELIVER_REJECTED,         /* permanent: dropped under `rejected` */
    SL__DELIVER_REJECTED_PARTIAL, /* permanent, some may be stored: `rejected_partial` */
    SL__DELIVER_TOO_LARGE,        /* split in halves and send each */
    SL__DELIVER_CANCELLED         /* stopped by close's deadline: `closed` */
} sl__deliver_kind;

typedef struct sl__deliver_verdict {
    sl__deliver_kind kind;
    /* RETRY only: the first `settled` entries of the batch were delivered
     * before the failure (a stream transport's acknowledged frames); they are
     * settled as sent and only the rest is sent again. 0 otherwise. */
    size_t settled;
    int64_t retry_after_ms; /* RETRY: the server's delay (a floor), -1: none */
    int status;             /* transport status (HTTP code), 0: none */
    char text[512];         /* the server's text or the transport error, "" */
    /* The code the runtime reports the failure with (sl_sink_report_error);
     * SL_OK: its default for the kind (SL_EIO for RETRY, SL_EPROTO for
     * REJECTED). */
    sl_status code;
} sl__deliver_verdict;

/* Resets v to SENT, no delay, no text (the runtime does it before send). */
void sl__deliver_verdict_init(sl__deliver_verdict *v);

/*
 * RFC 9110 Retry-After: delta-seconds or an HTTP-date (IMF-fixdate, RFC 850,
 * asctime), relative to now_s (Unix seconds). Returns the delay in ms (>= 0),
 * or -1 when the value is not valid. Surrounding whitespace is ignored.
 */
int64_t sl__deliver_retry_after_ms(const char *value, size_t len, int64_t now_s);

/*
 * The delay before retry number `attempt` (0: the first retry) with full
 * jitter: cap = min(max_ms, min_ms * 2^attempt), delay = cap * r, r in [0, 1).
 * `jitter` 0: none (cap), 1: equal (cap/2 + cap/2 * r), 2: full (default).
 */
typedef enum sl__deliver_jitter {
    SL__JITTER_NONE = 0,
    SL__JITTER_EQUAL = 1,
    SL__JITTER_FULL = 2
} sl__deliver_jitter;
int64_t sl__deliver_backoff_ms(int attempt, int min_ms, int max_ms,
                               sl__deliver_jitter jitter, double r);

/* ---- the batch a transport is asked to send ------------------------------- */

typedef struct sl__deliver_entry {
    const char *data; /* the bytes pushed (all parts, concatenated); 8-byte aligned */
    uint32_t len;
    uint32_t weight; /* what push counted for it (e.g. line bytes) */
} sl__deliver_entry;

/* Valid during ops.send only. Entries are in push order. */
typedef struct sl__deliver_batch {
    const sl__deliver_entry *entries;
    size_t n;
    unsigned attempt; /* 0 on the first try of these entries, then 1, 2 ... */
} sl__deliver_batch;

/* ---- the adapter's callbacks ---------------------------------------------- */

typedef struct sl__deliver_ops {
    /* Optional. What an entry adds to a batch (encoded bytes, estimated), for
     * batch_bytes; default: its length. Worker thread, lock held: be quick. */
    size_t (*cost)(void *user, const char *data, size_t len);
    /* Optional. Worker start: per-worker transport state (a curl handle, a
     * socket), returned as `conn` to the calls below. NULL is allowed (then
     * send receives NULL). */
    void *(*open)(void *user);
    /* Optional. Worker exit: release conn. Not called in a fork child for
     * the parent's worker (its connection belongs to the parent). */
    void (*close)(void *user, void *conn);
    /* Required. Encode and send the batch; fill v. Must return within the
     * close deadline once it is set: poll sl__deliver_cancelled(d) at least
     * every few tens of ms while waiting, or bound waits by
     * sl__deliver_deadline_ns(d), and answer CANCELLED when it fired. */
    void (*send)(void *user, void *conn, const sl__deliver_batch *batch,
                 sl__deliver_verdict *v);
    /* Optional. Called after every settled batch with the verdict that
     * settled it (kind SENT for the sent part), so the adapter can keep its
     * own counters or text. Worker thread, lock not held. */
    void (*settled)(void *user, const sl__deliver_verdict *v, size_t n, uint64_t weight);
    /* Optional. In the fork child, from the atfork handler (single thread, no
     * malloc): forget the parent's connection state without closing a TLS
     * session the parent still uses. */
    void (*fork_child)(void *user);
} sl__deliver_ops;

/* ---- options ---------------------------------------------------------------- */

typedef enum sl__deliver_overflow {
    SL__OVERFLOW_DROP_NEWEST = 0, /* the new record is dropped (queue_full) */
    SL__OVERFLOW_DROP_OLDEST = 1, /* the oldest queued records make room (queue_full) */
    SL__OVERFLOW_BLOCK = 2 /* the caller waits up to block_timeout_ms, then drops */
} sl__deliver_overflow;

typedef struct sl__deliver_options {
    const char *name;   /* for error texts ("loki", "syslog", "otlp"); static */
    size_t queue_bytes; /* ring size; default 4 MiB, minimum 64 KiB */
    sl__deliver_overflow overflow;
    int block_timeout_ms;     /* BLOCK: the longest wait; default 100 */
    size_t batch_bytes;       /* send when the batch's cost reaches this; default 1 MiB */
    size_t batch_max_entries; /* 0: no limit */
    int batch_age_ms; /* send a batch this old at the latest; default 1000; 0: at once */
    int backoff_min_ms;        /* default 100 */
    int backoff_max_ms;        /* the cap; default 10000 */
    sl__deliver_jitter jitter; /* default full */
    int max_batch_age_ms; /* give up on a batch retried this long; default 60000; 0: never
                           */
    bool flush_at_exit;   /* flushed by the exit handler itself (not through a sink) */
} sl__deliver_options;

void sl__deliver_options_init(sl__deliver_options *o);

/* ---- life cycle ----------------------------------------------------------------- */

/*
 * Creates a runtime and starts its worker. `sink` (may be NULL) receives
 * sl_sink_count_written/_dropped for every settled record and the runtime's
 * error reports; `user` is passed to every op. ops and opts are copied.
 * SL_EINVAL (bad options, no send), SL_ENOMEM, SL_EIO (no thread).
 */
sl_status sl__deliver_new(const sl__deliver_options *opts, const sl__deliver_ops *ops,
                          void *user, sl_sink *sink, sl__deliver **out);

/*
 * Queues one entry: the parts concatenated (at most 8). weight is what the
 * stats count for it (queued/sent/pending bytes). Never blocks except under
 * SL__OVERFLOW_BLOCK. Returns SL_OK (queued), SL_EINVAL (more than 8 parts:
 * counted too_large), SL_EAGAIN (queue full: counted
 * queue_full and dropped), SL_ERANGE (larger than the queue: counted
 * too_large), SL_ECLOSED (after close: counted closed). A drop
 * is already counted on the sink when this returns: the caller counts
 * nothing.
 */
typedef struct sl__deliver_part {
    const void *data;
    size_t len;
} sl__deliver_part;
sl_status sl__deliver_push(sl__deliver *d, const sl__deliver_part *parts, size_t nparts,
                           uint32_t weight);

/*
 * The same in two steps, for a sink that writes its entry in place instead
 * of gathering parts: sl__deliver_begin reserves `len` bytes and returns
 * where to write them, with the runtime's lock held; the caller fills all
 * `len` bytes, touches nothing else of the runtime, and calls
 * sl__deliver_commit, which queues the entry and releases the lock. NULL
 * (with *st as sl__deliver_push would return, the drop already counted)
 * when the entry cannot be queued: then the lock is not held and there is
 * nothing to commit. The returned pointer is 8-byte aligned.
 */
char *sl__deliver_begin(sl__deliver *d, size_t len, sl_status *st);
void sl__deliver_commit(sl__deliver *d, uint32_t weight);

/* Queue bytes an entry of `len` data bytes takes (header and alignment). */
size_t sl__deliver_entry_size(size_t len);

/*
 * Waits until every entry pushed before this call is settled (sent or
 * dropped and counted), or timeout_ms passed (negative: no bound). SL_OK or
 * SL_ETIMEDOUT. Wakes the worker to send a partial batch at once.
 */
sl_status sl__deliver_flush(sl__deliver *d, int timeout_ms);

/*
 * Drains within timeout_ms (negative: no bound), then cancels the request in
 * flight and drops (counted closed) what is left; joins the worker. Pushes
 * after close are dropped and counted closed. SL_OK, or SL_ETIMEDOUT when
 * something was dropped. Idempotent.
 */
sl_status sl__deliver_close(sl__deliver *d, int timeout_ms);

/* Closes (timeout 0 when not closed yet) and frees. NULL: no-op. */
void sl__deliver_free(sl__deliver *d);

/* ---- for transports, on the worker thread ----------------------------------- */

/* True once close's deadline passed: stop and answer CANCELLED. Any thread. */
bool sl__deliver_cancelled(sl__deliver *d);

/* Close's deadline (CLOCK_MONOTONIC ns), or INT64_MAX while none is set. A
 * transport bounds each blocking wait by it (re-reading it: close may set
 * it while the request runs). */
int64_t sl__deliver_deadline_ns(sl__deliver *d);

/* ---- statistics -------------------------------------------------------------- */

typedef struct sl__deliver_stats {
    uint64_t queued_records, queued_bytes;   /* accepted, ever (bytes: weights) */
    uint64_t pending_records, pending_bytes; /* queued or in flight now */
    uint64_t sent_records, sent_bytes;
    uint64_t requests; /* send calls */
    uint64_t retries;  /* send calls that repeated a failed one */
    uint64_t splits;   /* TOO_LARGE batches split in halves */
    uint64_t dropped_queue_full;
    uint64_t dropped_rejected;
    uint64_t dropped_rejected_partial;
    uint64_t dropped_too_large;
    uint64_t dropped_retries_exhausted;
    uint64_t dropped_closed;
    int last_status;      /* the last verdict's status */
    char last_error[256]; /* the last failed verdict's text, "" */
} sl__deliver_stats;

/* A consistent snapshot (taken under the lock). Any thread. */
void sl__deliver_get_stats(sl__deliver *d, sl__deliver_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_DELIVER_H */
