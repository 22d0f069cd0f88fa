/*
 * backoff.c - the one retry policy: how long the worker waits before sending
 * a batch again, and what a server's Retry-After asks for.
 *
 * Exponential backoff with jitter: the cap doubles per attempt from min to
 * max, and full jitter spreads a fleet of clients that all failed at the
 * same moment over [0, cap], so they do not come back in lockstep and cause
 * the next 429 themselves. A server's Retry-After, when given, is a floor.
 */
#include <string.h>
#include <time.h>

#include "deliver/deliver.h"

int64_t sl__deliver_backoff_ms(int attempt, int min_ms, int max_ms,
                               sl__deliver_jitter jitter, double r)
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
    case SL__JITTER_NONE:
        return cap;
    case SL__JITTER_EQUAL:
        return cap / 2 + (int64_t)((double)(cap - cap / 2) * r);
    case SL__JITTER_FULL:
    default:
        return (int64_t)((double)cap * r);
    }
}

/* ---- HTTP-date (RFC 9110 5.6.7) ------------------------------------------- */

static const char *const MONTHS[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Reads exactly `n` digits at *p (a space first stands for a leading zero when
 * `space_ok`). -1 when they are not there. */
static int digits(const char **p, const char *end, int n, bool space_ok)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end) {
            return -1;
        }
        char c = **p;
        if (c == ' ' && space_ok && i == 0) {
            continue;
        }
        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    return v;
}

static bool lit(const char **p, const char *end, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0) {
        return false;
    }
    *p += n;
    return true;
}

static int month(const char **p, const char *end)
{
    for (int m = 0; m < 12; m++) {
        if (lit(p, end, MONTHS[m])) {
            return m;
        }
    }
    return -1;
}

/* hh:mm:ss into *secs of the day. */
static bool clock_time(const char **p, const char *end, int64_t *secs)
{
    int h = digits(p, end, 2, false);
    if (h < 0 || !lit(p, end, ":")) {
        return false;
    }
    int m = digits(p, end, 2, false);
    if (m < 0 || !lit(p, end, ":")) {
        return false;
    }
    int s = digits(p, end, 2, false);
    if (s < 0 || h > 23 || m > 59 || s > 60) {
        return false;
    }
    *secs = (int64_t)h * 3600 + m * 60 + s;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 0-based). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    m += 1;
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Unix seconds of an HTTP-date, or -1. */
static int64_t http_date(const char *p, const char *end)
{
    const char *comma = memchr(p, ',', (size_t)(end - p));
    int y, m, d;
    int64_t secs;
    if (comma != NULL) {
        p = comma + 1;
        if (!lit(&p, end, " ")) {
            return -1;
        }
        d = digits(&p, end, 2, false);
        if (d < 0) {
            return -1;
        }
        if (lit(&p, end, " ")) {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            if ((m = month(&p, end)) < 0 || !lit(&p, end, " ") ||
                (y = digits(&p, end, 4, false)) < 0) {
                return -1;
            }
        } else if (lit(&p, end, "-")) {
            /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            if ((m = month(&p, end)) < 0 || !lit(&p, end, "-") ||
                (y = digits(&p, end, 2, false)) < 0) {
                return -1;
            }
            y += y < 70 ? 2000 : 1900;
        } else {
            return -1;
        }
        if (!lit(&p, end, " ") || !clock_time(&p, end, &secs) || !lit(&p, end, " GMT") ||
            p != end) {
            return -1;
        }
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if ((size_t)(end - p) < 4) {
            return -1;
        }
        p += 4;
        if ((m = month(&p, end)) < 0 || !lit(&p, end, " ") ||
            (d = digits(&p, end, 2, true)) < 0 || !lit(&p, end, " ") ||
            !clock_time(&p, end, &secs) || !lit(&p, end, " ") ||
            (y = digits(&p, end, 4, false)) < 0 || p != end) {
            return -1;
        }
    }
    if (d < 1 || d > 31) {
        return -1;
    }
    return days_from_civil(y, m, d) * 86400 + secs;
}

int64_t sl__deliver_retry_after_ms(const char *value, size_t len, int64_t now_s)
{
    if (value == NULL) {
        return -1;
    }
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
                       value[len - 1] == '\r' || value[len - 1] == '\n')) {
        len--;
    }
    if (len == 0 || len >= 64) {
        return -1;
    }
    if (value[0] >= '0' && value[0] <= '9') {
        /* delta-seconds (RFC 9110 10.2.3): 1*DIGIT */
        int64_t s = 0;
        for (size_t i = 0; i < len; i++) {
            if (value[i] < '0' || value[i] > '9') {
                return -1;
            }
            if (s < 100000000) {
                s = s * 10 + (value[i] - '0');
            }
        }
        return s * 1000;
    }
    int64_t t = http_date(value, value + len);
    if (t < 0) {
        return -1;
    }
    int64_t d = t - now_s;
    return d > 0 ? d * 1000 : 0;
}
