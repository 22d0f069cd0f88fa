/*
 * workload.c - the peers' thread-local span and their timestamp (see
 * workload.h).
 */
#include "workload.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static _Thread_local wl_span current;
static _Thread_local time_t cached_sec = -1;
static _Thread_local char cached_prefix[20]; /* "YYYY-MM-DDTHH:MM:SS" */

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void wl_span_start(void)
{
    unsigned char ids[24];
    size_t got = 0;
    while (got < sizeof(ids)) {
        ssize_t n = getrandom(ids + got, sizeof(ids) - got, 0);
        if (n > 0) {
            got += (size_t)n;
        }
    }
    ids[0] |= 1; /* never all-zero */
    ids[16] |= 1;
    to_hex(ids, 16, current.trace_hex);
    to_hex(ids + 16, 8, current.span_hex);
    memcpy(current.corr, current.trace_hex, 8);
    current.corr[8] = '-';
    memcpy(current.corr + 9, current.span_hex, 8);
    current.corr[17] = '\0';
    current.valid = 1;
}

void wl_span_end(void)
{
    memset(&current, 0, sizeof(current));
}

const wl_span *wl_current(void)
{
    return &current;
}

size_t wl_time_rfc3339_us(char *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(cached_prefix, sizeof(cached_prefix), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts.tv_sec;
    }
    memcpy(out, cached_prefix, 19);
    out[19] = '.';
    long us = ts.tv_nsec / 1000;
    for (int i = 25; i >= 20; i--) {
        out[i] = (char)('0' + us % 10);
        us /= 10;
    }
    out[26] = 'Z';
    out[27] = '\0';
    return 27;
}
