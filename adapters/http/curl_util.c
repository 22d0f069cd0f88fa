/*
 * curl_util.c - see curl_util.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/http/curl_util.h"
#include "internal.h"

CURLcode sl__http_perform(CURLM *multi, CURL *curl, sl__deliver *d, bool *cancelled)
{
    *cancelled = false;
    if (curl_multi_add_handle(multi, curl) != CURLM_OK) {
        return CURLE_FAILED_INIT;
    }
    CURLcode rc = CURLE_OK;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            rc = CURLE_FAILED_INIT;
            break;
        }
        int left = 0;
        CURLMsg *m;
        bool done = false;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == curl) {
                rc = m->data.result;
                done = true;
            }
        }
        if (done || running == 0) {
            break;
        }
        if (d != NULL && sl__deliver_cancelled(d)) {
            *cancelled = true;
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        (void)curl_multi_poll(multi, NULL, 0, SL__HTTP_CANCEL_POLL_MS, NULL);
    }
    curl_multi_remove_handle(multi, curl);
    return rc;
}

void sl__http_sanitise(const char *in, size_t n, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    while (j > 0 && out[j - 1] == ' ') {
        j--;
    }
    out[j] = '\0';
}

void sl__http_easy_setup(CURL *c, const sl__http_setup *s)
{
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, s->user_agent);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s->on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s->user);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s->on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s->user);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, s->on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s->user);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->tls_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->tls_verify ? 2L : 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (s->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    }
}

/* ---- the shared client ------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    sl__http_client *h = user;
    size_t n = size * nmemb;
    size_t room = sizeof h->body - h->body_len;
    size_t k = n < room ? n : room;
    memcpy(h->body + h->body_len, data, k);
    h->body_len += k;
    h->body_cut |= k < n;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    sl__http_client *h = user;
    size_t n = size * nmemb;
    static const char name[] = "Retry-After:";
    size_t nl = sizeof(name) - 1;
    if (n > nl && strncasecmp(data, name, nl) == 0) {
        h->retry_after_ms =
            sl__deliver_retry_after_ms(data + nl, n - nl, sl__now_ns() / 1000000000);
    }
    return n;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    sl__http_client *h = user;
    return h->d != NULL && sl__deliver_cancelled(h->d);
}

bool sl__http_client_init(sl__http_client *h, const char *url, struct curl_slist *headers,
                          const char *user_agent, bool tls_verify, const char *ca_file)
{
    h->headers = headers;
    h->curl = curl_easy_init();
    h->multi = curl_multi_init();
    if (h->curl == NULL || h->multi == NULL) {
        return false;
    }
    sl__http_setup hs = {.url = url,
                         .headers = headers,
                         .user_agent = user_agent,
                         .errbuf = h->errbuf,
                         .user = h,
                         .on_body = on_body,
                         .on_header = on_header,
                         .on_progress = on_progress,
                         .tls_verify = tls_verify,
                         .ca_file = ca_file};
    sl__http_easy_setup(h->curl, &hs);
    return true;
}

void sl__http_client_free(sl__http_client *h)
{
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
    }
    if (h->multi != NULL) {
        curl_multi_cleanup(h->multi);
    }
    curl_slist_free_all(h->headers);
    h->curl = NULL;
    h->multi = NULL;
    h->headers = NULL;
}

int sl__http_client_post(sl__http_client *h, const char *body, size_t len, sl__deliver *d,
                         long timeout_ms, bool *cancelled, char *text, size_t cap)
{
    h->body_len = 0;
    h->body_cut = false;
    h->errbuf[0] = '\0';
    h->retry_after_ms = -1;
    h->d = d;
    long timeout = timeout_ms;
    int64_t deadline = d != NULL ? sl__deliver_deadline_ns(d) : INT64_MAX;
    if (deadline != INT64_MAX) {
        int64_t left = (deadline - sl__monotonic_ns()) / 1000000;
        left = left < 1 ? 1 : left;
        timeout = left < timeout ? (long)left : timeout;
    }
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = sl__http_perform(h->multi, h->curl, d, cancelled);
    if (rc != CURLE_OK) {
        *cancelled = *cancelled || rc == CURLE_ABORTED_BY_CALLBACK ||
                     (d != NULL && sl__deliver_cancelled(d));
        char tmp[CURL_ERROR_SIZE + 32];
        snprintf(tmp, sizeof tmp, "transport: %s",
                 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        sl__http_sanitise(tmp, strlen(tmp), text, cap);
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    return (int)status;
}
