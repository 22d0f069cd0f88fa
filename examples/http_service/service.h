/*
 * service.h - what the parts of the example HTTP service share.
 *
 *   main.c         options, logger, daemon, signals, shutdown
 *   handler.c      one HTTP request: body, server span, child logger, answer
 *   propagation.c  W3C headers in (libmicrohttpd) and out (libcurl)
 *   downstream.c   one outgoing POST inside its own client span
 *   span_log.c     --log-spans: a record for every ended sampled span
 *   queue.c        --nats URL: each request published to NATS with its context
 *                  (built only with libspanlog-nats)
 */
#ifndef HTTP_SERVICE_SERVICE_H
#define HTTP_SERVICE_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include <spanlog/spanlog.h>

typedef struct svc_config {
    uint16_t port;              /* 0: the kernel picks one */
    const char *port_file;      /* written with the bound port once listening */
    const char *loki_url;       /* NULL: stdout only */
    unsigned long max_requests; /* stop after this many answered requests; 0: never */
    long downstream_timeout_ms; /* whole transfer, per downstream call */
    size_t max_body;            /* larger request bodies are answered 413 */
    size_t max_calls;           /* more downstream calls in one request: 400 */
    bool log_spans;             /* a "span ended" record for every sampled span */
    const char *nats_url;       /* --nats: publish each request there; NULL: don't */
    const char *nats_subject;   /* --nats-subject (default "requests") */
    sl_level level;             /* --level: overrides SPANLOG_LEVEL */
    bool level_given;
} svc_config;

typedef struct svc {
    svc_config cfg;
    sl_logger *log;
    void *queue; /* queue.c's NATS connection, when --nats was given */

    /* Requests between their first byte and the end of their answer. */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    unsigned inflight;

    atomic_ulong answered;
    atomic_bool max_reached; /* max_requests answered: main is told by SIGTERM */
} svc;

/* ---- handler.c ------------------------------------------------------------ */

/* The libmicrohttpd access handler; cls is the svc. */
enum MHD_Result svc_access(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version,
                           const char *upload_data, size_t *upload_data_size,
                           void **req_cls);

/* MHD_OPTION_NOTIFY_COMPLETED: frees the request and counts it answered. */
void svc_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                   enum MHD_RequestTerminationCode toe);

/* ---- propagation.c ------------------------------------------------------- */

/* How the server span relates to what came in. */
typedef enum svc_origin {
    SVC_ORIGIN_NEW = 0,       /* no traceparent header: a new trace */
    SVC_ORIGIN_CONTINUED = 1, /* a valid traceparent: its trace continues */
    SVC_ORIGIN_RESTARTED = 2  /* a traceparent we must not trust: a new trace */
} svc_origin;

/* "new", "continued", "restarted". */
const char *svc_origin_name(svc_origin origin);

/*
 * Reads traceparent, tracestate and baggage from the request headers (names
 * case-insensitive, repeated fields seen) with sl_extract(). On
 * SVC_ORIGIN_CONTINUED, *parent is the remote parent with its tracestate;
 * otherwise it is the empty context and any incoming tracestate is dropped,
 * as W3C Trace Context requires. *baggage: the incoming baggage or NULL,
 * owned by the caller.
 */
svc_origin svc_extract(struct MHD_Connection *conn, sl_span_context *parent,
                       sl_baggage **baggage);

/* The service's own tracestate key (its value: the calling span's id). */
#define SVC_TRACESTATE_KEY "svc"

/*
 * Appends traceparent, tracestate and baggage of the calling thread's
 * current context to *headers, the tracestate with this service's own entry
 * (SVC_TRACESTATE_KEY) added or updated on the left. Returns false when a
 * header could not be added; *headers is then still a valid list (to be
 * freed by the caller).
 */
bool svc_inject_current(struct curl_slist **headers);

/* curl_slist_append() that leaves *headers valid (and reports) on failure. */
bool svc_header_append(struct curl_slist **headers, const char *line);

/* ---- downstream.c -------------------------------------------------------- */

/*
 * POSTs json(arguments) to url inside a new CLIENT span (a child of the
 * calling thread's current span), logging "calling downstream" and the
 * outcome on req_log. Returns the HTTP status, or 0 when the transfer
 * failed (the reason is logged).
 */
long svc_call_downstream(const svc *s, sl_logger *req_log, size_t index, const char *url,
                         const json_t *arguments);

/* ---- span_log.c ---------------------------------------------------------- */

/* Registers / removes the processor that writes "span ended" records to lg. */
sl_status svc_span_log_start(sl_logger *lg);
void svc_span_log_stop(sl_logger *lg);

/* ---- queue.c ------------------------------------------------------------- */

/* Connects to cfg.nats_url (nothing to do without it). 0, or -1 logged. */
int svc_queue_open(svc *s);
void svc_queue_close(svc *s);

/* Publishes {"requestId","method","path","status"} on cfg.nats_subject in a
 * PRODUCER span under the calling thread's current span, its context in the
 * message headers; logs "request queued" (or why not) on req. */
void svc_queue_request(svc *s, sl_logger *req, const char *request_id, const char *method,
                       const char *path, unsigned status);

/* ---- small helpers --------------------------------------------------------- */

/* Milliseconds between two CLOCK_MONOTONIC readings in ns. */
double svc_ms_since(int64_t start_ns);
int64_t svc_monotonic_ns(void);

#endif /* HTTP_SERVICE_SERVICE_H */
