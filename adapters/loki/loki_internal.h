/*
 * loki_internal.h - the pieces of the Loki sink, shared between its files.
 *
 *   options.c   options, environment, the copied config
 *   labels.c    label validation and their pre-encoded forms
 *   queue.c     the bounded byte ring between callers and the worker
 *   truncate.c  shortening an oversized JSON line to a valid record
 *   body.c      batch, streams, timestamp bumping, JSON body, gzip
 *   proto.c     the same batch as a protobuf PushRequest
 *   snappy.c    Snappy block compression for the protobuf body
 *   backoff.c   retry delays and Retry-After
 *   http.c      one POST with libcurl and what its answer means
 *   sink.c      the caller side: write, flush, close, fork, stats
 *   worker.c    the worker thread: gather, send, retry, settle
 *
 * Everything here is pure (bytes in, bytes out) except sink.c, worker.c and
 * http.c, so the unit tests exercise it without a server.
 */
#ifndef SPANLOG_LOKI_INTERNAL_H
#define SPANLOG_LOKI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"
#include "spanlog/loki.h"

#define SL__LOKI_MAX_LABELS       15 /* Loki's default max_label_names_per_series */
#define SL__LOKI_MAX_BATCH        (3u << 20) /* far below Loki's 4 MB push limit */
#define SL__LOKI_MIN_QUEUE        (64u << 10)
#define SL__LOKI_MIN_LINE         1024u
#define SL__LOKI_MAX_LINE         (1u << 20) /* escaped, a lone record stays below 4 MB */
#define SL__LOKI_MAX_SERVICE      255u
#define SL__LOKI_TRUNC_SUFFIX     ",\"truncated\":true}"
#define SL__LOKI_TRUNC_SUFFIX_LEN (sizeof(SL__LOKI_TRUNC_SUFFIX) - 1)

/* ---- configuration (options.c) ------------------------------------------ */

/* The options after validation, every string owned. */
typedef struct sl__loki_config {
    char *push_url;
    char *tenant, *username, *password, *bearer_token, *ca_file;
    bool tls_verify;
    char *service_name; /* NULL: from the record */
    char *labels_json;  /* the static labels as `,"k":"v"...` (may be "") */
    char *labels_prom;  /* the same as `, k="v"...` (Prometheus form, for protobuf) */
    sl_loki_encoding encoding;
    size_t nlabels; /* static labels, without service_name / level */
    bool level_label;
    bool structured_metadata;
    size_t queue_bytes;
    sl_loki_overflow overflow;
    int block_timeout_ms;
    size_t batch_bytes;
    int batch_age_ms;
    size_t line_limit;
    bool truncate_long_lines;
    bool gzip;
    int backoff_min_ms, backoff_max_ms;
    sl_loki_jitter jitter;
    int max_batch_age_ms;
    int request_timeout_ms, connect_timeout_ms;
} sl__loki_config;

/* vsnprintf into errbuf when it is not NULL. */
void sl__loki_set_err(char *errbuf, size_t errlen, const char *fmt, ...) SL__PRINTF(3, 4);

/*
 * Validates the static labels of o (labels.c) and fills cfg->labels_json,
 * cfg->labels_prom and cfg->nlabels. SL_EINVAL with a message naming the
 * label, or SL_ENOMEM; on error nothing is left allocated in cfg.
 */
sl_status sl__loki_labels_build(const sl_loki_options *o, sl__loki_config *cfg,
                                char *errbuf, size_t errlen);

/* 1 when name matches [a-zA-Z_:][a-zA-Z0-9_:]* (Loki's label and metadata key rule). */
bool sl__loki_label_name_ok(const char *name, size_t len);

/*
 * Validates opts and fills cfg (zeroed first). On error returns SL_EINVAL
 * (or SL_ENOMEM) with err naming the option (its field) or label and why.
 */
sl_status sl__loki_config_build(const sl_loki_options *opts, sl__loki_config *cfg,
                                sl_error *err);
void sl__loki_config_free(sl__loki_config *cfg);

/*
 * "URL[?key=value&...]": the defaults, then SPANLOG_LOKI_*, then url and its
 * query's options (options.c). check_only validates without creating.
 */
sl_status sl__loki_open_url(const char *url, bool check_only, sl_sink **out,
                            sl_error *err);

/* ---- the queue (queue.c) ------------------------------------------------ */

/*
 * One queued record: a fixed header, then the service name, then the line.
 * Slots are 8-byte aligned and contiguous; a slot that does not fit before
 * the end of the ring starts again at offset 0 (the skipped tail is counted
 * as used until the reader passes it).
 *
 *   buf: [ free | slot slot slot | skipped ]      head ─▶ tail
 */
typedef struct sl__loki_slot {
    uint32_t size; /* whole slot, header included, multiple of 8 */
    uint32_t line_len;
    int64_t ts;
    uint8_t level;
    uint8_t has_ctx;
    uint8_t service_len;
    uint8_t pad;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    /* service bytes, line bytes */
} sl__loki_slot;

typedef struct sl__loki_ring {
    char *buf;
    size_t cap;
    size_t head, tail; /* read and write offsets */
    size_t used;       /* bytes taken, skipped ends included */
    size_t records;
    size_t line_bytes; /* line bytes of the queued records */
} sl__loki_ring;

sl_status sl__loki_ring_init(sl__loki_ring *r, size_t cap);
void sl__loki_ring_free(sl__loki_ring *r);
void sl__loki_ring_clear(sl__loki_ring *r);
size_t sl__loki_slot_size(size_t service_len, size_t line_len);
/* Space for a slot of `size` bytes (from sl__loki_slot_size), or NULL when full. */
sl__loki_slot *sl__loki_ring_reserve(sl__loki_ring *r, size_t size);
/* Makes the reserved slot visible; its header (line_len ...) is filled in. */
void sl__loki_ring_commit(sl__loki_ring *r, sl__loki_slot *slot);
/* The oldest slot, or NULL; it stays valid until sl__loki_ring_pop(). */
sl__loki_slot *sl__loki_ring_peek(sl__loki_ring *r);
void sl__loki_ring_pop(sl__loki_ring *r);

static inline const char *sl__loki_slot_service(const sl__loki_slot *s)
{
    return (const char *)(s + 1);
}
static inline const char *sl__loki_slot_line(const sl__loki_slot *s)
{
    return (const char *)(s + 1) + s->service_len;
}

/* ---- truncation (truncate.c) -------------------------------------------- */

/*
 * Writes into out (at least `limit` bytes) a version of the JSON object line
 * that is at most `limit` bytes, still one valid JSON object, and ends with
 * "truncated":true: whole members are kept, and a top-level string value that
 * crosses the limit is cut at a character boundary. A line that is not an
 * object is cut at a UTF-8 boundary. Returns the length written.
 */
size_t sl__loki_truncate(const char *line, size_t len, size_t limit, char *out);

/* ---- batch and body (body.c) -------------------------------------------- */

typedef struct sl__loki_entry {
    int64_t ts; /* after bumping: strictly increasing within its stream */
    size_t line_off;
    uint32_t line_len;
    uint32_t stream;
    uint32_t next; /* next entry of the same stream in this batch, UINT32_MAX: none */
    uint8_t has_ctx;
    uint8_t trace_id[16];
    uint8_t span_id[8];
} sl__loki_entry;

/* A stream: its label values and the newest timestamp sent on it. */
typedef struct sl__loki_stream {
    char *service;
    int level; /* -1 when the level is not a label */
    int64_t last_ts;
    uint32_t first, last; /* entries of the current batch */
} sl__loki_stream;

typedef struct sl__loki_batch {
    sl__loki_entry *entries;
    size_t n, cap;
    char *arena; /* the lines */
    size_t arena_len, arena_cap;
    size_t cost;              /* estimated encoded body bytes */
    size_t line_bytes;        /* raw line bytes */
    int64_t opened_ns;        /* monotonic time of the first entry */
    sl__loki_stream *streams; /* persistent across batches */
    size_t nstreams, streams_cap;
} sl__loki_batch;

void sl__loki_batch_init(sl__loki_batch *b);
void sl__loki_batch_free(sl__loki_batch *b);
void sl__loki_batch_clear(sl__loki_batch *b); /* keeps streams and memory */
/*
 * Appends a record, bumping its timestamp past the newest of its stream.
 * `level` is -1 when the level is not a label. SL_ENOMEM on failure (nothing
 * appended).
 */
sl_status sl__loki_batch_add(sl__loki_batch *b, const char *service, size_t service_len,
                             int level, int64_t ts, const char *line, size_t line_len,
                             const uint8_t *trace_id, const uint8_t *span_id,
                             int64_t now_ns);

/* The entry's trace and span ids as lowercase hex (NUL-terminated). */
void sl__loki_entry_ids(const sl__loki_entry *e, char *trace_hex, char *span_hex);

/* What a record adds to the body (its escaped line plus the entry's JSON). */
size_t sl__loki_entry_cost(const char *line, size_t line_len, bool has_ctx);

/*
 * Writes the push body {"streams":[...]} into w (growable). labels_json is the
 * pre-encoded static labels fragment. Returns false when w overflowed.
 */
bool sl__loki_body_build(const sl__loki_batch *b, const char *labels_json, bool metadata,
                         sl__jw *w);

/*
 * The same batch as a protobuf PushRequest (proto.c), labels_prom being the
 * static labels fragment in Prometheus form. False when w overflowed.
 */
bool sl__loki_proto_build(const sl__loki_batch *b, const char *labels_prom, bool metadata,
                          sl__jw *w);
/* A label value quoted as Go's strconv.Quote does for Loki's label parser. */
void sl__loki_prom_quote(sl__jw *w, const char *s, size_t n);

/* Snappy block compression (snappy.c): out must hold sl__loki_snappy_bound(len). */
size_t sl__loki_snappy_bound(size_t len);
size_t sl__loki_snappy(const char *in, size_t len, char *out);

/* gzip (RFC 1952) of in into *out (reallocated through sl__realloc). */
sl_status sl__loki_gzip(const char *in, size_t len, char **out, size_t *out_cap,
                        size_t *out_len);

/* ---- backoff (backoff.c) ------------------------------------------------- */

/*
 * The delay before retry number `attempt` (0 for the first retry):
 * cap = min(max_ms, min_ms * 2^attempt), spread by jitter using the random
 * value r in [0, 1).
 */
int64_t sl__loki_backoff_ms(int attempt, int min_ms, int max_ms, sl_loki_jitter jitter,
                            double r);

/*
 * Parses a Retry-After value: delta-seconds or an HTTP date, relative to
 * now_s (Unix seconds). Returns the delay in ms (>= 0) or -1 when invalid.
 */
int64_t sl__loki_retry_after_ms(const char *value, size_t len, int64_t now_s);

/* ---- HTTP (http.c) -------------------------------------------------------- */

typedef enum sl__loki_outcome {
    SL__LOKI_SENT = 0,
    SL__LOKI_RETRY,       /* 429, 5xx, transport error */
    SL__LOKI_REJECTED,    /* 400 and other 4xx */
    SL__LOKI_AUTH,        /* 401, 403 */
    SL__LOKI_NO_METADATA, /* 400: structured metadata not allowed */
    SL__LOKI_ABORTED      /* stopped by close's deadline */
} sl__loki_outcome;

typedef struct sl__loki_http sl__loki_http;

typedef struct sl__loki_answer {
    sl__loki_outcome outcome;
    int status;             /* HTTP status, 0 on a transport error */
    int64_t retry_after_ms; /* -1: none */
    char text[512];         /* server text or transport error, sanitised */
} sl__loki_answer;

/* Classifies an HTTP answer (pure). */
sl__loki_outcome sl__loki_classify(int status, const char *body, size_t len);

sl__loki_http *sl__loki_http_new(const sl__loki_config *cfg);
void sl__loki_http_free(sl__loki_http *h);
/*
 * POSTs body (headers as configured). deadline_ns (monotonic, 0: none)
 * shortens the request and aborts it when reached.
 */
void sl__loki_http_post(sl__loki_http *h, const char *body, size_t len,
                        int64_t deadline_ns, sl__loki_answer *ans);

/* ---- the sink's shared state (sink.c, worker.c) -------------------------- */

/*
 * Everything below `mu` is guarded by it. Sequence numbers make flush exact:
 * the k-th accepted record has sequence k (enq_seq counts them). The queue
 * always holds a contiguous run of the newest ones, and the worker's batch
 * (in flight) a contiguous run taken from the queue's head earlier:
 *
 *   seq: [ settled ... | in flight: batch | (evicted by drop_oldest) | queued ]
 *                       ^ inflight_first                              ^ enq_seq -
 * q.records
 *
 * so the oldest unsettled record is the batch's first, or else the queue's
 * head: flush waits until that reaches the enq_seq it saw. done_seq counts
 * settled records (for pending_records); evictions can settle records out
 * of order, so it is a count, not a position.
 */
typedef struct sl__loki {
    sl_sink *sink;
    sl__loki_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* the worker waits for records, flush, close */
    pthread_cond_t space_cv; /* SL_LOKI_BLOCK callers wait for room */
    pthread_cond_t done_cv;  /* flush and close wait for settled records */
    sl__loki_ring q;
    uint64_t enq_seq, done_seq, flush_target;
    uint64_t inflight_first; /* sequence of the batch's first record */
    uint64_t inflight_n;     /* records in the worker's batch; 0: none */
    uint64_t pending_bytes;  /* line bytes queued or in flight */
    size_t wake_bytes; /* an asleep worker wants waking at this many queued line bytes */
    int space_waiters;
    bool worker_asleep;
    bool worker_running; /* a worker thread exists (to join) */
    bool worker_exited;
    bool closing, closed;
    int64_t close_deadline; /* monotonic ns; INT64_MAX: no bound */
    bool metadata_on;       /* off for good once the server refused it */
    pthread_t thread;
    sl_loki_stats st; /* pending_* computed when read */
} sl__loki;

/* The sequence of the oldest record not yet settled (enq_seq: none); mu held. */
static inline uint64_t sl__loki_unsettled(const sl__loki *L)
{
    return L->inflight_n > 0 ? L->inflight_first : L->enq_seq - L->q.records;
}

/*
 * A CLOCK_MONOTONIC time in ns as the absolute deadline that
 * pthread_cond_timedwait takes (the sink's condition variables are made with
 * pthread_condattr_setclock(CLOCK_MONOTONIC)).
 */
static inline struct timespec sl__loki_abs_mono(int64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* Starts the worker; mu held. SL_EIO when the thread cannot start. */
sl_status sl__loki_worker_start(sl__loki *L);

#endif /* SPANLOG_LOKI_INTERNAL_H */
