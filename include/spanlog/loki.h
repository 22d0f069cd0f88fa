/*
 * spanlog/loki.h - the Grafana Loki push sink.
 *
 * The caller's thread only copies the encoded line (and the few values the
 * worker needs: time, level, service, trace ids) into a bounded queue. A
 * worker thread owned by the sink batches records, groups them into streams
 * by label set, encodes the push body (protobuf + snappy by default, or JSON
 * + gzip) and POSTs it to /loki/api/v1/push with libcurl, retrying what can
 * be retried.
 *
 *     write() ──copy──▶ [ bounded queue ] ──▶ worker: batch ─▶ encode ─▶ POST
 *        │ full: drop newest / drop oldest / block up to a timeout (counted)
 *        └ never blocks by default
 *
 * Every record ends up in exactly one of: sent, dropped (with a reason), or
 * still queued / in flight. sl_loki_get_stats() shows all of them.
 *
 * Threading: write may be called from any number of threads. The options and
 * stats functions are thread-safe. After fork() the child can log: its sink
 * starts a fresh worker on the first record (records queued in the parent
 * stay the parent's and are not sent twice).
 */
#ifndef SPANLOG_LOKI_H
#define SPANLOG_LOKI_H

#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A static label. Names match Loki's [a-zA-Z_:][a-zA-Z0-9_:]* (at most 1024
 * bytes) and must not start with "__" (reserved); values are non-empty, at
 * most 2048 bytes, and sent with ill-formed UTF-8 replaced by U+FFFD (as
 * record strings are). */
typedef struct sl_loki_label {
    const char *name;
    const char *value;
} sl_loki_label;

/* What happens when a record does not fit in the queue. */
typedef enum sl_loki_overflow {
    SL_LOKI_DROP_NEWEST = 0, /* default: the new record is dropped (queue_full) */
    SL_LOKI_DROP_OLDEST = 1, /* the oldest queued records make room (queue_full) */
    SL_LOKI_BLOCK = 2        /* the caller waits up to block_timeout_ms, then drops */
} sl_loki_overflow;

/* The push body's format. */
typedef enum sl_loki_encoding {
    /* JSON, gzip-compressed when `gzip` is on. Loki 2.9 stores JSON label
     * values with their escapes: a value holding '"', '\\' or a control
     * character is not found by its real value (docs/loki.md) */
    SL_LOKI_ENCODING_JSON = 0,
    /* the default (sl_loki_options_init): Loki's protobuf PushRequest,
     * snappy-compressed (`gzip` unused); label values stored exactly */
    SL_LOKI_ENCODING_PROTOBUF = 1
} sl_loki_encoding;

/* How the retry delay is spread (see docs/loki.md). */
typedef enum sl_loki_jitter {
    SL_LOKI_JITTER_FULL = 0,  /* default: uniform in [0, cap] */
    SL_LOKI_JITTER_EQUAL = 1, /* uniform in [cap/2, cap]: never shorter than half */
    SL_LOKI_JITTER_NONE = 2   /* exactly cap */
} sl_loki_jitter;

/*
 * Options. Strings are copied by sl_loki_sink_new(); the caller keeps
 * ownership of what it passes. Durations in milliseconds, sizes in bytes.
 */
typedef struct sl_loki_options {
    size_t size;              /* sizeof(sl_loki_options) of the caller: set by _init */
    const char *url;          /* required: base URL ("http://loki:3100") or the full push
                                 URL ending in /loki/api/v1/push; http or https (any
                                 case), a host, no control character or space */
    const char *tenant;       /* X-Scope-OrgID; NULL: none */
    const char *username;     /* basic auth (with password); NULL: none */
    const char *password;     /* never logged or reported */
    const char *bearer_token; /* "Authorization: Bearer ..."; never logged or reported */
    const char *ca_file;      /* PEM bundle to verify the server with; NULL: system */
    bool tls_verify;          /* default true; false disables peer and host checks */

    const sl_loki_label *labels; /* static labels, nlabels of them (copied) */
    size_t nlabels;
    const char *labels_text;  /* more static labels as "k=v,k=v" (SPANLOG_LOKI_LABELS) */
    const char *service_name; /* the service_name label (1 to 300 bytes); NULL: the
                                 record's service, or "unknown_service" when it has
                                 none */
    bool level_label;         /* add a `level` label; default false */
    /* trace_id / span_id as structured metadata; default true */
    bool structured_metadata;

    size_t queue_bytes;        /* queue limit, default 64 MiB, minimum 64 KiB */
    sl_loki_overflow overflow; /* default SL_LOKI_DROP_NEWEST */
    int block_timeout_ms;      /* SL_LOKI_BLOCK: longest wait, default 100 */
    size_t batch_bytes;        /* body bytes per push (JSON-encoded size),
                                  default 1 MiB, at most 3 MiB */
    int batch_age_ms;          /* oldest record waits at most this long, default 1000 */
    size_t line_limit;         /* longest line sent: set it to the server's
                                  max_line_size; default 256 KiB (Loki 3's default;
                                  Loki 2.9 has none), 1 KiB to 1 MiB, at most half of
                                  queue_bytes */
    bool truncate_long_lines;  /* default true: truncate to a valid record; false: drop */
    bool gzip;                 /* default true (JSON only) */
    sl_loki_encoding encoding; /* default SL_LOKI_ENCODING_PROTOBUF */
    int backoff_min_ms;        /* default 500 */
    int backoff_max_ms;        /* default 300000 (5 min) */
    sl_loki_jitter jitter;     /* default SL_LOKI_JITTER_FULL */
    int max_batch_age_ms;      /* a batch retried longer than this is dropped;
                                  default 900000 (15 min); 0: retry forever */
    int request_timeout_ms;    /* whole request, default 10000 */
    int connect_timeout_ms;    /* default 5000 */
    SL__ABI_TEST_TAIL
} sl_loki_options;

/* Fills *opts with the defaults above (url NULL) and sets its size (a
 * macro: the caller's sizeof, see sl_logger_options_init). NULL: no-op. */
SL_API void sl_loki_options_init_size(sl_loki_options *opts, size_t size);
#define sl_loki_options_init(opts)                                                       \
    sl_loki_options_init_size((opts), sizeof(sl_loki_options))

/*
 * Overrides fields of *opts from the environment, for every variable that
 * is set and non-empty: SPANLOG_LOKI_URL, SPANLOG_LOKI_LABELS ("k=v,k=v"),
 * SPANLOG_LOKI_QUEUE_BYTES, ... one per option (the full list, with types,
 * defaults and ranges: docs/configuration.md). Booleans are
 * 1/0/true/false/yes/no/on/off, numbers decimal digits only. String fields
 * then point into the environment (copy them if the environment may change
 * before the sink is created).
 * Returns SL_OK, SL_EINVAL (opts NULL), SL_EPARSE (a value that does not
 * follow its grammar) or SL_ERANGE (a number out of range), with err (may
 * be NULL) naming the variable and the value (never a password or token).
 * *opts may be partly updated on error. Thread-safe if nothing changes the
 * environment meanwhile.
 */
SL_API sl_status sl_loki_options_from_env(sl_loki_options *opts, sl_error *err);

/*
 * Creates the sink and starts its worker. Labels are validated here: an
 * invalid, too long or duplicate name, an empty or too long value, or more
 * than 15 labels is SL_EINVAL with err (may be NULL) naming the label and
 * the reason (err's name is "labels_text" with the label's position, or
 * "labels"); an option out of range names the option (its field name).
 * Other errors: SL_EINVAL (NULL arguments, no URL or one that fails the
 * strict check, an option out of range; a URL's user:password never appears
 * in err), SL_ENOMEM, SL_EIO (the worker thread or libcurl could not start).
 * On success *out belongs to the caller until it is given to a logger
 * (sl_logger_add_sink) or freed with sl_sink_free(); on failure *out is NULL.
 * Thread-safe (libcurl's global init is done once, internally).
 */
SL_API sl_status sl_loki_sink_new(const sl_loki_options *opts, sl_sink **out,
                                  sl_error *err);

/*
 * The options from the environment (sl_loki_options_from_env) with `url`
 * instead of SPANLOG_LOKI_URL: what "loki:URL" sink targets use. Returns what
 * sl_loki_options_from_env or sl_loki_sink_new return, with err (may be NULL) filled; an
 * error of an option read from the environment names its variable.
 */
SL_API sl_status sl_loki_sink_from_url(const char *url, sl_sink **out, sl_error *err);

/* ---- statistics --------------------------------------------------------- */

typedef struct sl_loki_stats {
    size_t size;              /* sizeof(sl_loki_stats) of the caller: set by _init */
    uint64_t queued_records;  /* accepted into the queue, ever */
    uint64_t queued_bytes;    /* their line bytes */
    uint64_t pending_records; /* in the queue or in flight now */
    uint64_t pending_bytes;
    uint64_t sent_records; /* acknowledged by the server (2xx) */
    uint64_t sent_bytes;   /* their line bytes */
    uint64_t wire_bytes;   /* request bodies sent (compressed), retries included */
    uint64_t requests;     /* HTTP requests made */
    uint64_t retries;      /* requests that were repeats of a failed one */
    uint64_t dropped_queue_full;
    uint64_t dropped_rejected; /* 400 and other 4xx answers: none stored */
    /* A 400 naming some entries or streams only (a line over the server's
     * max_line_size, a timestamp too old): Loki may have stored some of these
     * (it keeps the valid ones); they are not resent, to avoid duplicates */
    uint64_t dropped_rejected_partial;
    uint64_t dropped_too_long;          /* lines above line_limit, drop mode */
    uint64_t dropped_retries_exhausted; /* batch older than max_batch_age_ms */
    uint64_t dropped_closed;            /* left when close() timed out */
    uint64_t truncated;                 /* lines shortened to line_limit */
    int last_http_status;               /* 0: none yet or a transport error */
    bool metadata_disabled;             /* the server refused structured metadata */
    char last_error[256];               /* "" when none; never holds a secret */
    SL__ABI_TEST_TAIL
} sl_loki_stats;

/* Zeroes *stats and sets its size (a macro: the caller's sizeof). */
SL_API void sl_loki_stats_init_size(sl_loki_stats *stats, size_t size);
#define sl_loki_stats_init(stats) sl_loki_stats_init_size((stats), sizeof(sl_loki_stats))

/*
 * A snapshot of the counters into *out (prepared by sl_loki_stats_init:
 * only as much as the caller's struct holds is written). Returns SL_EINVAL
 * when sink or out is NULL or when the sink is not a Loki sink. Any thread.
 */
SL_API sl_status sl_loki_get_stats(const sl_sink *sink, sl_loki_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_LOKI_H */
