/*
 * http.c - one OTLP/HTTP export request with libcurl, and what the answer
 * means (OTLP specification, "OTLP/HTTP Response"):
 *
 *   2xx              success; a partial_success in the body is counted (its
 *                    message reported); a body that is not a valid
 *                    Export*ServiceResponse is counted as an error
 *   429 502 503 504  retryable: back off, honouring Retry-After
 *   413              too large: the runtime splits the batch
 *   other 4xx / 5xx  not retryable: dropped and counted with the reason
 *   no answer        (refused, reset, timed out) retryable
 *
 * The easy handle lives on the worker thread and is reused (keep-alive). It
 * runs on a multi handle polled every SL__HTTP_CANCEL_POLL_MS, so close's deadline
 * cancels a request the server never answers. Header values (credentials)
 * never appear in any text: error texts come from libcurl's error buffer
 * (host and port only) or the server's body.
 */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

#include "adapters/http/curl_util.h"
#include "adapters/otlp/otlp_exporter.h"

struct sl__otlp_http {
    sl__http_client c;
    const sl__otlp_config *cfg;
};

sl__otlp_http *sl__otlp_http_new(const sl__otlp_config *cfg)
{
    sl__otlp_http *h = sl__calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->cfg = cfg;
    bool ok = true;
    struct curl_slist *l = NULL, *nl;
    const char *fixed[3] = {cfg->json ? "Content-Type: application/json"
                                      : "Content-Type: application/x-protobuf",
                            "Expect:", cfg->gzip ? "Content-Encoding: gzip" : NULL};
    for (int i = 0; i < 3 && ok; i++) {
        if (fixed[i] != NULL) {
            ok = (nl = curl_slist_append(l, fixed[i])) != NULL;
            l = ok ? nl : l;
        }
    }
    for (size_t i = 0; i < cfg->nheaders && ok; i++) {
        ok = (nl = curl_slist_append(l, cfg->headers[i])) != NULL;
        l = ok ? nl : l;
    }
    ok = sl__http_client_init(&h->c, cfg->url, l, "spanlog-otlp/" SPANLOG_VERSION_STRING,
                              cfg->tls_verify, cfg->ca) &&
         ok;
    if (!ok) {
        sl__otlp_http_free(h);
        return NULL;
    }
    if (cfg->cert != NULL) {
        curl_easy_setopt(h->c.curl, CURLOPT_SSLCERT, cfg->cert);
    }
    if (cfg->key != NULL) {
        curl_easy_setopt(h->c.curl, CURLOPT_SSLKEY, cfg->key);
    }
    return h;
}

void sl__otlp_http_free(sl__otlp_http *h)
{
    if (h == NULL) {
        return;
    }
    sl__http_client_free(&h->c);
    sl__free(h);
}

sl__deliver_kind sl__otlp_classify(int status)
{
    if (status >= 200 && status < 300) {
        return SL__DELIVER_SENT;
    }
    if (status == 429 || status == 502 || status == 503 || status == 504 || status == 0) {
        return SL__DELIVER_RETRY;
    }
    if (status == 413) {
        return SL__DELIVER_TOO_LARGE;
    }
    return SL__DELIVER_REJECTED;
}

/* The message of a google.rpc.Status body (field 2), when it is one. */
static bool status_message(const char *b, size_t n, char *out, size_t cap)
{
    const uint8_t *p = (const uint8_t *)b, *end = p + n;
    while (p < end) {
        uint64_t tag = 0, len = 0;
        int shift = 0;
        while (p < end && (*p & 0x80)) {
            tag |= (uint64_t)(*p++ & 0x7f) << shift;
            shift += 7;
        }
        if (p == end || shift > 28) {
            return false;
        }
        tag |= (uint64_t)*p++ << shift;
        if ((tag & 7) == 0) {
            while (p < end && (*p & 0x80)) {
                p++;
            }
            p++;
            continue;
        }
        if ((tag & 7) != 2) {
            return false;
        }
        shift = 0;
        while (p < end && (*p & 0x80)) {
            len |= (uint64_t)(*p++ & 0x7f) << shift;
            shift += 7;
        }
        if (p == end || shift > 28) {
            return false;
        }
        len |= (uint64_t)*p++ << shift;
        if (len > (uint64_t)(end - p)) {
            return false;
        }
        if ((tag >> 3) == 2) {
            sl__http_sanitise((const char *)p, (size_t)len, out, cap);
            return true;
        }
        p += len;
    }
    return false;
}

void sl__otlp_http_post(sl__otlp_http *h, const char *body, size_t len, sl__deliver *d,
                        sl__deliver_verdict *v, sl__otlp_answer *a)
{
    memset(a, 0, sizeof *a);
    a->retry_after_ms = -1;
    /* The connect phase gets the same bound as the whole request. */
    curl_easy_setopt(h->c.curl, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cfg->timeout_ms);
    bool cancelled = false;
    long status = sl__http_client_post(&h->c, body, len, d, h->cfg->timeout_ms,
                                       &cancelled, v->text, sizeof v->text);
    if (status == 0) {
        v->kind = cancelled ? SL__DELIVER_CANCELLED : SL__DELIVER_RETRY;
        return;
    }
    a->status = (int)status;
    v->status = (int)status;
    v->kind = sl__otlp_classify((int)status);
    if (v->kind == SL__DELIVER_SENT) {
        char msg[256];
        int64_t rej = 0;
        sl_status st =
            h->c.body_cut
                ? SL_EPROTO
                : sl__otlp_response_parse(h->cfg->signal, h->cfg->json, h->c.body,
                                          h->c.body_len, &rej, msg, sizeof msg);
        if (st != SL_OK) {
            a->bad_body = true;
            snprintf(v->text, sizeof v->text,
                     "HTTP %ld with a body that is not an OTLP export response", status);
        } else if (rej > 0) {
            a->rejected = rej;
            char clean[256];
            sl__http_sanitise(msg, strlen(msg), clean, sizeof clean);
            snprintf(v->text, sizeof v->text, "partial success: server rejected %lld: %s",
                     (long long)rej, clean[0] ? clean : "(no message)");
        }
        return;
    }
    char reason[400];
    if (h->cfg->json ||
        !status_message(h->c.body, h->c.body_len, reason, sizeof reason)) {
        sl__http_sanitise(h->c.body, h->c.body_len, reason, sizeof reason);
    }
    snprintf(v->text, sizeof v->text, "HTTP %ld%s%s", status, reason[0] ? ": " : "",
             reason);
    if (v->kind == SL__DELIVER_RETRY) {
        v->retry_after_ms = h->c.retry_after_ms;
        a->retry_after_ms = h->c.retry_after_ms;
    }
}
