/*
 * httpsvc_harness.h - peers for the http_service integration test: the
 * service process itself, a downstream receiver that records what reaches
 * it, and a small HTTP client. Everything binds 127.0.0.1 on ports the
 * kernel picks, and every wait has a deadline.
 */
#ifndef SPANLOG_TEST_HTTPSVC_HARNESS_H
#define SPANLOG_TEST_HTTPSVC_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* ---- downstream receiver ------------------------------------------------ */

typedef struct hs_header {
    char *name;
    char *value;
} hs_header;

/* One request that reached the receiver. Never freed before hs_receiver_stop. */
typedef struct hs_hit {
    char *method;
    char *path;
    hs_header *headers;
    size_t nheaders;
    char *body;
    size_t body_len;
} hs_hit;

typedef struct hs_receiver {
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t mu;
    hs_hit **hits;
    size_t nhits;
    size_t cap;
} hs_receiver;

/* Starts it on 127.0.0.1:0. A path "/status/NNN/..." is answered NNN, others 200. */
int hs_receiver_start(hs_receiver *r);
void hs_receiver_stop(hs_receiver *r);

/* The hits whose path starts with prefix, in arrival order (up to max). */
size_t hs_receiver_find(hs_receiver *r, const char *prefix, const hs_hit **out,
                        size_t max);

/* How many headers of the hit are named `name` (case-insensitive); *value: the first. */
size_t hs_hit_header(const hs_hit *hit, const char *name, const char **value);

/* ---- the service process ------------------------------------------------- */

typedef struct hs_service {
    pid_t pid;
    uint16_t port;
    char dir[64];       /* private temporary directory */
    char out_path[96];  /* the service's stdout */
    char fifo_path[96]; /* its --port-file */
    bool reaped;
    int exit_status; /* waitpid status once reaped */
} hs_service;

/*
 * Starts `binary --port 0 --port-file FIFO [extra...]` with stdout to a file
 * and SPANLOG_ and OTEL_ variables removed from its environment, waits
 * (at most timeout_ms) for the port and for GET /health to answer 200.
 * Returns 0, or -1 with a message on stderr (the process is then stopped).
 */
int hs_service_start(hs_service *s, const char *binary, const char *const *extra,
                     int timeout_ms);

/* "NAME=value" strings added to the service's environment after the
 * SPANLOG_/OTEL_ clean-up (NULL-terminated; NULL: none). */
extern const char *const *hs_service_env;

/* Sends sig (0: none) and waits at most timeout_ms for the exit. 0 when it exited. */
int hs_service_stop(hs_service *s, int sig, int timeout_ms);

/* Kills (SIGKILL) if still running, reaps, removes the temporary files. */
void hs_service_cleanup(hs_service *s);

/*
 * Every line the service has written to stdout, each parsed with jansson,
 * as a JSON array. NULL (and a message on stderr) when a line is not a JSON
 * object or the output does not end with a newline.
 */
json_t *hs_service_records(const hs_service *s);

/* The records whose "requestId" equals request_id, in order (new reference). */
json_t *hs_records_for(const json_t *records, const char *request_id);

/* The first record in `records` with this msg (borrowed), NULL if none. */
json_t *hs_record_find(const json_t *records, const char *msg, size_t nth);

/* ---- HTTP client ------------------------------------------------------------ */

typedef struct hs_response {
    long status;
    char *body;
    size_t len;
    char request_id[64]; /* the X-Request-Id answer header, "" if none */
} hs_response;

/*
 * One request with libcurl, at most timeout_ms. headers: NULL-terminated
 * "Name: value" lines (may be NULL). body NULL: no body. Returns 0 when an
 * answer came, -1 otherwise (message on stderr).
 */
int hs_http(const char *method, const char *url, const char *const *headers,
            const char *body, int timeout_ms, hs_response *out);
void hs_response_free(hs_response *r);

/* Monotonic milliseconds. */
int64_t hs_now_ms(void);

#endif /* SPANLOG_TEST_HTTPSVC_HARNESS_H */
