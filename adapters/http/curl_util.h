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

/* Server text made safe to pass on: one line, printable ASCII kept (other
 * bytes become spaces), trailing blanks dropped, NUL-terminated. */
void sl__http_sanitise(const char *in, size_t n, char *out, size_t cap);

#endif /* SPANLOG_CURL_UTIL_H */
