/*
 * loki_internal.h - the pieces of the Loki sink, shared between its files.
 *
 *   options.c   options, environment, the copied config
 *   labels.c    label validation and their pre-encoded forms
 *   truncate.c  shortening an oversized JSON line to a valid record
 *   body.c      batch, streams, timestamp bumping, JSON body, gzip
 *   proto.c     the same batch as a protobuf PushRequest
 *   snappy.c    Snappy block compression for the protobuf body
 *   http.c      one POST with libcurl and what its answer means
 *   sink.c      the caller side: write (into the delivery runtime), stats
 *   worker.c    the runtime's callbacks: encode, compress, POST, verdict
 *
 * Queue, worker thread, batching, backoff, Retry-After, flush, close and
 * fork are the delivery runtime's (src/deliver/deliver.h).
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

#include "deliver/deliver.h"
#include "internal.h"

/* The first versions of the Loki structs (src/internal.h, "ABI: sized
 * structs"). */
#define SL__LOKI_OPTIONS_V1 SL__V1_SIZE(sl_loki_options, connect_timeout_ms)
#define SL__LOKI_STATS_V1   SL__V1_SIZE(sl_loki_stats, last_error)
#include "spanlog/loki.h"

#define SL__LOKI_MAX_LABELS 15         /* Loki's default max_label_names_per_series */
#define SL__LOKI_MAX_BATCH  (3u << 20) /* far below Loki's 4 MB push limit */
#define SL__LOKI_MIN_QUEUE  (64u << 10)
#define SL__LOKI_MIN_LINE   1024u
#define SL__LOKI_MAX_LINE   (1u << 20) /* escaped, a lone record stays below 4 MB */
/* The service_name label's longest value: the logger refuses a service longer than 300
 * bytes once JSON-escaped, so a record's service always fits whole. */
#define SL__LOKI_MAX_SERVICE      300u
#define SL__LOKI_MAX_LABEL_NAME   1024u /* Loki's default max_label_name_length */
#define SL__LOKI_MAX_LABEL_VALUE  2048u /* Loki's default max_label_value_length */
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

/* Bytes of s once ill-formed UTF-8 and NUL are replaced by U+FFFD, as label values
 * are sent (the rule record strings follow). */
size_t sl__loki_repaired_len(const char *s, size_t n);

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

/* ---- a queued record (sink.c writes it, worker.c reads it) --------------- */

/*
 * What the sink pushes into the delivery runtime's queue for one record:
 * this header, then the service name, then the line.
 */
typedef struct sl__loki_rec {
    int64_t ts;
    uint8_t level;
    uint8_t has_ctx;
    uint16_t service_len; /* at most SL__LOKI_MAX_SERVICE */
    uint8_t pad[4];
    uint8_t trace_id[16];
    uint8_t span_id[8];
    /* service bytes, line bytes */
} sl__loki_rec;

/* Queue bytes one record takes (options.c checks line_limit against it). */
static inline size_t sl__loki_slot_size(size_t service_len, size_t line_len)
{
    return sl__deliver_entry_size(sizeof(sl__loki_rec) + service_len + line_len);
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

/* ---- HTTP (http.c) -------------------------------------------------------- */

typedef enum sl__loki_outcome {
    SL__LOKI_SENT = 0,
    SL__LOKI_RETRY,       /* 429, 5xx, transport error */
    SL__LOKI_REJECTED,    /* 400 and other 4xx: nothing of the push was stored */
    SL__LOKI_AUTH,        /* 401, 403 */
    SL__LOKI_NO_METADATA, /* 400: structured metadata not allowed */
    SL__LOKI_ABORTED,     /* stopped by close's deadline */
    /* 400 for some entries or streams only (a line over max_line_size, a
     * timestamp too old...): Loki stored the others, so the batch may be
     * partly in Loki; resending would duplicate them */
    SL__LOKI_REJECTED_PARTIAL,
    /* 413, or a 429 saying the push alone exceeds the ingestion limit: it can
     * never be accepted whole; split it and send the halves */
    SL__LOKI_TOO_LARGE
} sl__loki_outcome;

typedef struct sl__loki_http sl__loki_http;

typedef struct sl__loki_answer {
    sl__loki_outcome outcome;
    int status;             /* HTTP status, 0 on a transport error */
    int64_t retry_after_ms; /* -1: none */
    char text[512];         /* server text or transport error, sanitised */
} sl__loki_answer;

/*
 * Classifies an HTTP answer (pure): status and the start of the body (the
 * server's text, `len` bytes, not NUL-terminated; NULL when none). Texts of
 * Loki 2.9 and 3 are recognised; see http.c.
 */
sl__loki_outcome sl__loki_classify(int status, const char *body, size_t len);

sl__loki_http *sl__loki_http_new(const sl__loki_config *cfg);
void sl__loki_http_free(sl__loki_http *h);
/*
 * POSTs body (headers as configured), bounded by the request timeout and
 * cancelled within a few tens of ms once the runtime's close deadline
 * passes (sl__deliver_cancelled), even while the server does not answer.
 */
void sl__loki_http_post(sl__loki_http *h, const char *body, size_t len, sl__deliver *d,
                        sl__loki_answer *ans);

/* ---- the sink's state (sink.c, worker.c) ---------------------------------- */

/*
 * The queue, the worker, retries, flush, close and fork belong to the
 * delivery runtime (src/deliver/); what is left here is Loki's: the config
 * and the counters the runtime does not keep (atomics).
 */
typedef struct sl__loki {
    sl_sink *sink;
    sl__loki_config cfg;
    sl__deliver *d;
    int metadata_on; /* atomic; off for good once the server refused it */
    uint64_t dropped_too_long, truncated, wire_bytes; /* atomic */
} sl__loki;

/* The runtime's callbacks (worker.c): encode, compress and POST a batch. */
extern const sl__deliver_ops sl__loki_deliver_ops;

#endif /* SPANLOG_LOKI_INTERNAL_H */
