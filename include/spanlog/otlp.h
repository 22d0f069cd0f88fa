/*
 * spanlog/otlp.h - OpenTelemetry export over OTLP/HTTP: a span exporter (a
 * span processor) and an `otlp:` log sink.
 *
 *   sl_span_end() ─▶ exporter: encode the Span (caller's thread) ─▶ queue
 *   sl_info()     ─▶ otlp sink: encode the LogRecord (caller's thread) ─▶ queue
 *                        queue ─▶ worker: batch ─▶ Export*ServiceRequest ─▶ POST
 *
 * Both run on the library's delivery runtime: a bounded queue that never
 * blocks the caller, one worker per exporter, batching by count and age,
 * retries with backoff and Retry-After, flush and close with deadlines, and
 * a fork policy (the child starts a fresh worker; what the parent queued
 * stays the parent's). Every span or record ends up in exactly one of:
 * exported, dropped with a reason, or still pending (sl_otlp_stats).
 *
 * Only sampled spans reach the exporter (span.h): an unsampled span costs
 * what it costs without one.
 *
 * Protocols: http/protobuf (default) and http/json. grpc is not built: asking
 * for it is SL_ENOTSUP with a text that says what is supported.
 * Full reference of every option and variable: docs/otlp.md.
 */
#ifndef SPANLOG_OTLP_H
#define SPANLOG_OTLP_H

#include "sink.h"
#include "span.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sl_otlp_protocol {
    SL_OTLP_HTTP_PROTOBUF = 0, /* application/x-protobuf (default) */
    SL_OTLP_HTTP_JSON = 1      /* application/json, the OTLP/JSON mapping */
} sl_otlp_protocol;

typedef enum sl_otlp_signal {
    SL_OTLP_TRACES = 0, /* /v1/traces, OTEL_EXPORTER_OTLP_TRACES_*, OTEL_BSP_* */
    SL_OTLP_LOGS = 1    /* /v1/logs, OTEL_EXPORTER_OTLP_LOGS_*, OTEL_BLRP_* */
} sl_otlp_signal;

/*
 * Options. Strings are copied by the constructors; the caller keeps what it
 * passes. Durations in milliseconds. sl_otlp_options_init() sets the
 * OpenTelemetry defaults for one signal.
 */
typedef struct sl_otlp_options {
    size_t size; /* sizeof(sl_otlp_options) of the caller, set by _init */
    sl_otlp_signal signal;
    /* The URL requests go to, used as given ("http://host:4318/v1/traces").
     * NULL: base_endpoint with /v1/traces or /v1/logs appended. */
    const char *endpoint;
    const char *base_endpoint; /* default "http://localhost:4318" */
    /* Extra request headers, "k=v,k=v" with percent-encoded values (the
     * OTEL_EXPORTER_OTLP_HEADERS form). Never logged or reported. */
    const char *headers;
    sl_otlp_protocol protocol;      /* default SL_OTLP_HTTP_PROTOBUF */
    bool gzip;                      /* compress request bodies; default false */
    int timeout_ms;                 /* one export request; default 10000 */
    const char *certificate;        /* PEM CA bundle to verify the server; NULL: system */
    const char *client_certificate; /* PEM client certificate (mTLS); NULL: none */
    const char *client_key;         /* its PEM private key */
    bool tls_verify;                /* default true; false disables peer/host checks */
    /* Write each request as one line of OTLP JSON to stderr instead of
     * sending it (OTEL_TRACES_EXPORTER=console). Default false. */
    bool console;

    /* Batching: OTEL_BSP_* for spans, OTEL_BLRP_* for logs. */
    int schedule_delay_ms;        /* a batch waits at most this; 5000 spans, 1000 logs */
    int export_timeout_ms;        /* give up on a batch retried this long; 30000 */
    size_t max_queue_size;        /* spans/records waiting; 2048 */
    size_t max_export_batch_size; /* per request; 512 (at most max_queue_size) */
    size_t queue_bytes;           /* byte limit of the queue too; default 16 MiB */
    int backoff_min_ms;           /* first retry delay cap; default 1000 */
    int backoff_max_ms;           /* default 30000 */

    /* Resource. NULL: from the environment (see docs/otlp.md). */
    const char *service_name;        /* else OTEL_SERVICE_NAME, ... */
    const char *default_service;     /* the logger's service, used after those */
    const char *resource_attributes; /* "k=v,..."; NULL: OTEL_RESOURCE_ATTRIBUTES */

    /* Limits (OpenTelemetry's names, defaults 128; value length 0 means
     * unlimited). spanlog records at most SL_SPAN_MAX_* per span; the
     * smaller of the two applies, and what is left out is counted in the
     * exported dropped_* counts. */
    uint32_t attribute_count_limit;        /* OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT
                                              (logs: OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT) */
    uint32_t attribute_value_length_limit; /* OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT ... */
    uint32_t event_count_limit;            /* OTEL_SPAN_EVENT_COUNT_LIMIT */
    uint32_t link_count_limit;             /* OTEL_SPAN_LINK_COUNT_LIMIT */
    uint32_t event_attribute_count_limit;  /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT */
    uint32_t link_attribute_count_limit;   /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT */

    /* Logs: baggage keys copied into each LogRecord's attributes (like the
     * logger's baggage_keys; SPANLOG_BAGGAGE_KEYS). Copied. */
    const char *const *baggage_keys;
    size_t nbaggage_keys;
} sl_otlp_options;

/* Fills *o with the defaults for `signal`. NULL is a no-op. */
SL_API void sl_otlp_options_init(sl_otlp_options *o, sl_otlp_signal signal);

/*
 * Overrides *o from the OTEL_* variables that are set and non-empty, the
 * signal-specific form (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ...) winning over
 * the general one (OTEL_EXPORTER_OTLP_ENDPOINT ...): ENDPOINT, HEADERS,
 * TIMEOUT, PROTOCOL, COMPRESSION, CERTIFICATE, CLIENT_CERTIFICATE and
 * CLIENT_KEY; OTEL_BSP_* (traces) or OTEL_BLRP_* (logs); the limits;
 * SPANLOG_BAGGAGE_KEYS (logs).
 * String fields then point into the environment. Returns SL_OK, SL_EINVAL
 * (o NULL), SL_EPARSE (a value that does not parse, named in *err),
 * SL_ENOTSUP (protocol grpc, or a compression other than gzip/none).
 * Thread: not concurrently with setenv().
 */
SL_API sl_status sl_otlp_options_from_env(sl_otlp_options *o, sl_error *err);

/* ---- statistics ------------------------------------------------------------ */

typedef struct sl_otlp_stats {
    size_t size;       /* set by the caller: sizeof(sl_otlp_stats) */
    uint64_t queued;   /* spans/records accepted into the queue, ever */
    uint64_t exported; /* accepted by the server (partial rejections excluded) */
    uint64_t pending;  /* queued or in flight now */
    uint64_t requests; /* export requests made */
    uint64_t retries;  /* requests that repeated a failed one */
    uint64_t dropped_queue_full;        /* the queue (count or bytes) was full */
    uint64_t dropped_rejected;          /* 4xx other than 429: dropped with the reason */
    uint64_t dropped_partial;           /* partial_success.rejected_* of 200 answers */
    uint64_t dropped_retries_exhausted; /* still failing after export_timeout_ms */
    uint64_t dropped_too_large; /* one span/record over the queue or request size */
    uint64_t dropped_closed;    /* left when close's deadline passed */
    uint64_t dropped_encode;    /* could not be encoded (out of memory) */
    uint64_t bad_responses;     /* answers that were not a valid response body */
    int last_status;            /* last HTTP status, 0: none yet */
    char last_error[256];       /* last failure text, "" */
} sl_otlp_stats;

/* ---- the span exporter ----------------------------------------------------- */

typedef struct sl_otlp_exporter sl_otlp_exporter;

/*
 * Creates an exporter from *o (signal must be SL_OTLP_TRACES) and registers
 * it as a span processor: from then on every sampled span that ends is
 * exported. o NULL: sl_otlp_options_init + sl_otlp_options_from_env.
 * Returns SL_EINVAL (out NULL, a bad option or URL, described in *err),
 * SL_ENOTSUP (grpc), SL_ERANGE (too many processors), SL_ENOMEM, SL_EIO (no
 * worker thread). err may be NULL. The exporter is owned by the caller
 * until sl_otlp_exporter_free(). Setup-time call, any thread.
 */
SL_API sl_status sl_otlp_exporter_new(const sl_otlp_options *o, sl_otlp_exporter **out,
                                      sl_error *err);

/*
 * Waits until every span ended before this call is exported or dropped, or
 * timeout_ms passed (negative: no bound). SL_OK, SL_ETIMEDOUT, SL_EINVAL
 * (NULL). Any thread.
 */
SL_API sl_status sl_otlp_exporter_flush(sl_otlp_exporter *e, int timeout_ms);

/*
 * Shuts down: unregisters the processor, exports what is queued within
 * timeout_ms, then cancels the request in flight and counts the rest as
 * dropped_closed; frees. Call it when no span can be ending concurrently.
 * NULL is a no-op.
 */
SL_API void sl_otlp_exporter_free(sl_otlp_exporter *e, int timeout_ms);

/*
 * The sink object that carries the exporter's counters (sl_sink_get_stats)
 * and error reports: set an error callback on it with
 * sl_sink_set_error_callback() before spans end. Owned by the exporter.
 */
SL_API sl_sink *sl_otlp_exporter_sink(sl_otlp_exporter *e);

/* Snapshot of the counters; out->size must be set. Any thread. */
SL_API void sl_otlp_exporter_get_stats(const sl_otlp_exporter *e, sl_otlp_stats *out);

/* ---- the log sink ---------------------------------------------------------- */

/*
 * An `otlp:` sink: each record becomes a LogRecord (time, observed time,
 * severity number and text, the message as body, the bound fields, call
 * fields and baggage keys as typed attributes, trace_id / span_id / flags
 * from the span context). o->signal must be SL_OTLP_LOGS; o NULL: defaults
 * and the environment. Errors as sl_otlp_exporter_new. The sink is owned by
 * the caller until added to a logger.
 */
SL_API sl_status sl_otlp_log_sink_new(const sl_otlp_options *o, sl_sink **out,
                                      sl_error *err);

/* Counters of an otlp: sink; zeros (with size kept) for another sink. */
SL_API void sl_otlp_sink_get_stats(const sl_sink *sink, sl_otlp_stats *out);

/* ---- setup from the environment ---------------------------------------------- */

/*
 * The process-wide span exporter from the environment, installed when
 * OTEL_TRACES_EXPORTER is "otlp" or "console", or when it is unset and
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set;
 * nothing when OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is "none".
 * `service` is the default service name (after OTEL_SERVICE_NAME ...).
 * Returns SL_OK (installed, or already installed), SL_ENOENT (nothing asked
 * for: no exporter), SL_EPARSE / SL_ENOTSUP / ... as sl_otlp_exporter_new.
 * sl_logger_from_env() calls it, so a program using that needs nothing
 * else. The exporter lives until sl_otlp_shutdown() or exit (flushed within
 * the library's exit budget). Thread-safe.
 */
SL_API sl_status sl_otlp_setup_from_env(const char *service, sl_error *err);

/* The exporter sl_otlp_setup_from_env installed, or NULL. */
SL_API sl_otlp_exporter *sl_otlp_global_exporter(void);

/* Flushes and frees the exporter of sl_otlp_setup_from_env within
 * timeout_ms. No-op when there is none. */
SL_API void sl_otlp_shutdown(int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_OTLP_H */
