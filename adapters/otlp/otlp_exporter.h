/*
 * otlp_exporter.h - the moving parts of the OTLP exporters: the copied
 * configuration, the pipe (one delivery runtime with its envelope and
 * counters) shared by the span exporter and the log sink, and the HTTP
 * transport.
 *
 *   config.c    options, OTEL_* variables, the copy (sl__otlp_config)
 *   http.c      one export POST with libcurl, and what its answer means
 *   pipe.c      runtime + envelope + counters; push, send, stats
 *   exporter.c  the span processor and the process-wide exporter
 *   sink.c      the otlp: log sink
 */
#ifndef SPANLOG_OTLP_EXPORTER_H
#define SPANLOG_OTLP_EXPORTER_H

#include <stdatomic.h>

#include "adapters/otlp/otlp_internal.h"
#include "config.h"
#include "deliver/deliver.h"

typedef struct sl__otlp_config {
    sl__otlp_signal signal;
    bool json, gzip, console, tls_verify;
    char *url;      /* NULL for console */
    char **headers; /* "Name: value" lines; secret */
    size_t nheaders;
    int timeout_ms;
    char *ca, *cert, *key;
    size_t max_queue, batch, queue_bytes;
    int schedule_delay_ms, export_timeout_ms, backoff_min_ms, backoff_max_ms;
    sl__otlp_limits lim;
    char **bkeys;
    size_t nbkeys;
} sl__otlp_config;

sl_status sl__otlp_config_init(sl__otlp_config *c, const sl_otlp_options *o,
                               sl_error *err);
void sl__otlp_config_free(sl__otlp_config *c);
/* OTEL_SDK_DISABLED, in the one bool grammar (unset: false). */
sl_status sl__otlp_sdk_disabled(bool *out, sl_error *err);

/* The OTEL_* variables of each signal (config.c), for the registry entry. */
extern const sl__opt_table sl__otlp_traces_options;
extern const sl__opt_table sl__otlp_logs_options;

/* One exporter's pipe. */
typedef struct sl__otlp_pipe {
    sl__otlp_config cfg;
    sl__otlp_envelope env;
    sl__deliver *d;
    sl_sink *sink;     /* counts and error reports (the log sink, or a private one) */
    atomic_size_t inq; /* entries pushed and not settled: the max_queue_size check */
    atomic_uint_fast64_t full;     /* dropped by the count limit */
    atomic_uint_fast64_t encode;   /* dropped: could not encode */
    atomic_uint_fast64_t partial;  /* partial_success rejections */
    atomic_uint_fast64_t bad_resp; /* invalid response bodies */
    void *conn; /* the worker's connection (pipe.c), kept for the fork child */
} sl__otlp_pipe;

/* Builds cfg, resource, envelope and runtime. `sink` gets the counts. */
sl_status sl__otlp_pipe_init(sl__otlp_pipe *p, const sl_otlp_options *o, sl_sink *sink,
                             bool flush_at_exit, sl_error *err);
void sl__otlp_pipe_close(sl__otlp_pipe *p, int timeout_ms);
void sl__otlp_pipe_free(sl__otlp_pipe *p);
/* Queues one encoded item (drops counted). */
void sl__otlp_pipe_push(sl__otlp_pipe *p, const void *item, size_t len);
void sl__otlp_pipe_stats(const sl__otlp_pipe *p, sl_otlp_stats *out);

/* OTEL_TRACES_EXPORTER / OTEL_LOGS_EXPORTER: 0 none, 1 otlp, 2 console. */
sl_status sl__otlp_exporter_choice(const char *var, const char *endpoint_var, int *choice,
                                   sl_error *err);

/* ---- transport (http.c) ---------------------------------------------------------- */

typedef struct sl__otlp_http sl__otlp_http;

sl__otlp_http *sl__otlp_http_new(const sl__otlp_config *cfg);
void sl__otlp_http_free(sl__otlp_http *h);

/* What an answer means, as the OTLP/HTTP specification says. */
typedef struct sl__otlp_answer {
    int status;             /* HTTP status; 0: no answer (transport error) */
    int64_t retry_after_ms; /* -1: none */
    int64_t rejected;       /* partial_success count (200 only) */
    bool bad_body;          /* a 2xx whose body is not an Export*ServiceResponse */
} sl__otlp_answer;

/* POSTs body, fills v (kind, text, delay) and a. Worker thread. */
void sl__otlp_http_post(sl__otlp_http *h, const char *body, size_t len, sl__deliver *d,
                        sl__deliver_verdict *v, sl__otlp_answer *a);

/* The verdict for an HTTP status (pure; tested). */
sl__deliver_kind sl__otlp_classify(int status);

#endif /* SPANLOG_OTLP_EXPORTER_H */
