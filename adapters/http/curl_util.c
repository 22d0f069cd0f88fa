/*
 * curl_util.c - see curl_util.h.
 */
#include "adapters/http/curl_util.h"

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
