/*
 * downstream.c - one outgoing call of the W3C interop protocol.
 *
 * Each call gets its own CLIENT span, so each carries a fresh parent-id on
 * the wire, and the records logged around the call carry that span's id:
 * a reader can match a record with the traceparent the peer received.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service.h"

/* The answer's body is not used; it is read and counted so the peer can finish. */
static size_t discard_body(char *data, size_t size, size_t nmemb, void *user)
{
    size_t *total = user;
    (void)data;
    *total += size * nmemb;
    return size * nmemb;
}

int64_t svc_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double svc_ms_since(int64_t start_ns)
{
    return (double)(svc_monotonic_ns() - start_ns) / 1e6;
}

static CURLcode post_json(const svc *s, const char *url, const char *body,
                          struct curl_slist *headers, long *status)
{
    size_t received = 0;
    CURLcode rc;
    CURL *h = curl_easy_init();
    if (h == NULL) {
        return CURLE_OUT_OF_MEMORY;
    }
    /* Only plain HTTP(S): the body names the URL, so it must not reach file:// etc. */
    rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(h, CURLOPT_URL, url);
    }
    if (rc == CURLE_OK) {
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->cfg.downstream_timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->cfg.downstream_timeout_ms);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &received);
        rc = curl_easy_perform(h);
    }
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(h);
    return rc;
}

long svc_call_downstream(const svc *s, sl_logger *req_log, size_t index, const char *url,
                         const json_t *arguments)
{
    char server_span[SL_SPAN_ID_HEX_LEN + 1] = "";
    const sl_span_context *server = sl_context_current();
    struct curl_slist *headers = NULL;
    long status = 0;
    int64_t start = svc_monotonic_ns();
    char *body;
    sl_span *span;
    CURLcode rc;

    /* Copied now: the pointer is only valid until the next attach. */
    bool in_server = server != NULL;
    if (in_server) {
        sl_span_id_to_hex(server->span_id, server_span);
    }
    span = sl_span_start("POST", SL_SPAN_CLIENT);
    sl_span_set(span, SL_STR("http.request.method", "POST"), SL_STR("url.full", url));
    sl_info(req_log, "calling downstream", SL_UINT("call", index), SL_STR("url", url),
            SL_STR("parentSpanId", in_server ? server_span : NULL));

    body = json_dumps(arguments, JSON_COMPACT | JSON_ENCODE_ANY);
    /* No "Expect: 100-continue" round trip for larger bodies. */
    if (body == NULL || !svc_header_append(&headers, "Content-Type: application/json") ||
        !svc_header_append(&headers, "Expect:") || !svc_inject_current(&headers)) {
        sl_error(req_log, "downstream call not made", SL_UINT("call", index),
                 SL_STR("url", url), SL_STR("error", "out of memory"));
    } else {
        rc = post_json(s, url, body, headers, &status);
        if (rc != CURLE_OK) {
            status = 0;
            sl_span_record_error(span, "curl", curl_easy_strerror(rc));
            sl_span_set_status(span, SL_SPAN_STATUS_ERROR, curl_easy_strerror(rc));
            sl_error(req_log, "downstream failed", SL_UINT("call", index),
                     SL_STR("url", url), SL_STR("error", curl_easy_strerror(rc)),
                     SL_DOUBLE("durationMs", svc_ms_since(start)));
        } else if (status >= 400) {
            sl_span_set(span, SL_INT("http.response.status_code", status));
            sl_span_set_status(span, SL_SPAN_STATUS_ERROR, "HTTP error status");
            sl_warn(req_log, "downstream answered", SL_UINT("call", index),
                    SL_STR("url", url), SL_INT("status", status),
                    SL_DOUBLE("durationMs", svc_ms_since(start)));
        } else {
            sl_span_set(span, SL_INT("http.response.status_code", status));
            sl_info(req_log, "downstream answered", SL_UINT("call", index),
                    SL_STR("url", url), SL_INT("status", status),
                    SL_DOUBLE("durationMs", svc_ms_since(start)));
        }
    }
    curl_slist_free_all(headers);
    free(body);
    sl_span_end(span);
    return status;
}
