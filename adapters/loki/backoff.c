/*
 * backoff.c - how long the worker waits before retrying a batch.
 *
 * Exponential backoff with jitter: the cap doubles per attempt from min to
 * max, and full jitter spreads a fleet of clients that all failed at the
 * same moment over [0, cap], so they do not come back in lockstep and
 * cause the next 429 themselves. A server's Retry-After, when given, is a
 * floor (the worker never comes back sooner than asked).
 */
#include <curl/curl.h>
#include <string.h>

#include "adapters/loki/loki_internal.h"

int64_t sl__loki_backoff_ms(int attempt, int min_ms, int max_ms, sl_loki_jitter jitter,
                            double r)
{
    if (attempt < 0) {
        attempt = 0;
    }
    int64_t cap = min_ms;
    for (int i = 0; i < attempt && cap < max_ms; i++) {
        cap *= 2;
    }
    if (cap > max_ms) {
        cap = max_ms;
    }
    if (r < 0.0) {
        r = 0.0;
    }
    if (r >= 1.0) {
        r = 0.999999;
    }
    switch (jitter) {
    case SL_LOKI_JITTER_NONE:
        return cap;
    case SL_LOKI_JITTER_EQUAL:
        return cap / 2 + (int64_t)((double)(cap - cap / 2) * r);
    case SL_LOKI_JITTER_FULL:
    default:
        return (int64_t)((double)cap * r);
    }
}

int64_t sl__loki_retry_after_ms(const char *value, size_t len, int64_t now_s)
{
    char buf[64];
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
                       value[len - 1] == '\r' || value[len - 1] == '\n')) {
        len--;
    }
    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, value, len);
    buf[len] = '\0';
    if (buf[0] >= '0' && buf[0] <= '9') {
        /* delta-seconds (RFC 9110 10.2.3): 1*DIGIT */
        int64_t s = 0;
        for (size_t i = 0; i < len; i++) {
            if (buf[i] < '0' || buf[i] > '9') {
                return -1;
            }
            if (s < 100000000) {
                s = s * 10 + (buf[i] - '0');
            }
        }
        return s * 1000;
    }
    /* An HTTP-date; libcurl parses all three historical formats. */
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1) {
        return -1;
    }
    int64_t d = (int64_t)t - now_s;
    return d > 0 ? d * 1000 : 0;
}
