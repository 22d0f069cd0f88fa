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
