/*
 * curl_util.h - what the HTTP adapters (Loki, OTLP) share around libcurl:
 * a request run on a multi handle that close's deadline can cancel, and
 * the cleaning of a server's text before it goes into an error report.
 * Built when any HTTP adapter is (adapters/http/sources.cmake).
 */
#ifndef SPANLOG_CURL_UTIL_H
#define SPANLOG_CURL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

#include "deliver/deliver.h"

/* How long one wait for the socket may last: the longest a close deadline
 * can be overrun while the server says nothing. */
#define SL__HTTP_CANCEL_POLL_MS 20

/*
 * Runs the prepared easy handle on multi, waking at least every
 * SL__HTTP_CANCEL_POLL_MS to look at d's close deadline (d may be NULL): a
 * server that accepts and never answers cannot hold close for the whole
 * request timeout. Returns the transfer's result; *cancelled is set (and
 * CURLE_ABORTED_BY_CALLBACK returned) when the deadline stopped it.
 * Worker thread.
 */
CURLcode sl__http_perform(CURLM *multi, CURL *curl, sl__deliver *d, bool *cancelled);

/* What an HTTP adapter's easy handle needs, set once. */
typedef struct sl__http_setup {
    const char *url;
    struct curl_slist *headers;
    const char *user_agent;
    char *errbuf; /* CURL_ERROR_SIZE bytes */
    void *user;   /* passed to the three callbacks */
    curl_write_callback on_body;
    curl_write_callback on_header;
    curl_xferinfo_callback on_progress;
    bool tls_verify;
    const char *ca_file; /* NULL: the system's */
} sl__http_setup;

/* POST to url with the headers and callbacks, no signals, http(s) only,
 * peer and host verification as asked. */
void sl__http_easy_setup(CURL *c, const sl__http_setup *s);

/*
 * One HTTP client on a worker thread: the easy handle (reused, so
 * connections are kept alive) on its multi handle, the request headers,
 * and what the last answer said (its first SL__HTTP_BODY_KEEP bytes and its
 * Retry-After). Loki and OTLP embed one and keep only their headers and the
 * meaning of an answer.
 */
#define SL__HTTP_BODY_KEEP 4096

typedef struct sl__http_client {
    CURLM *multi;
    CURL *curl;
    struct curl_slist *headers; /* owned */
    char errbuf[CURL_ERROR_SIZE];
    /* per request */
    char body[SL__HTTP_BODY_KEEP];
    size_t body_len;
    bool body_cut;          /* the answer had more than body holds */
    int64_t retry_after_ms; /* -1: none */
    sl__deliver *d;         /* the runtime whose close deadline cancels it */
} sl__http_client;

/*
 * Sets up h (zeroed by the caller) to POST to url with `headers` (h owns the
 * list from here on, also on failure), the user agent, and peer and host
 * verification as asked (ca_file NULL: the system's). False when libcurl
 * could not make its handles; sl__http_client_free() then still applies.
 */
bool sl__http_client_init(sl__http_client *h, const char *url, struct curl_slist *headers,
                          const char *user_agent, bool tls_verify, const char *ca_file);
void sl__http_client_free(sl__http_client *h);

/*
 * POSTs body, with timeout_ms shortened to what is left of d's close
 * deadline (d may be NULL), and returns the HTTP status; h->body and
 * h->retry_after_ms hold what the answer said. 0 when no answer came: then
 * text holds "transport: ..." (cleaned, never the URL or a header) and
 * *cancelled says whether close's deadline stopped the request.
 */
int sl__http_client_post(sl__http_client *h, const char *body, size_t len, sl__deliver *d,
                         long timeout_ms, bool *cancelled, char *text, size_t cap);

/* Server text made safe to pass on: one line, printable ASCII kept (other
 * bytes become spaces), trailing blanks dropped, NUL-terminated. */
void sl__http_sanitise(const char *in, size_t n, char *out, size_t cap);

#endif /* SPANLOG_CURL_UTIL_H */
