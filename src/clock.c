/*
 * clock.c - wall and monotonic clocks, and RFC 3339 timestamps.
 *
 * The timestamp is on the per-record hot path, so it is computed with plain
 * integer arithmetic (days -> civil date, the proleptic Gregorian calendar)
 * instead of gmtime_r(), which takes a lock and consults the time zone.
 */
#include <time.h>

#include "internal.h"

int64_t sl__monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void put2(char *out, unsigned v)
{
    out[0] = sl__digits2[2 * v];
    out[1] = sl__digits2[2 * v + 1];
}

/*
 * Days since 1970-01-01 to year/month/day. The year is shifted to start in
 * March so that the leap day is the last day of the shifted year; then a
 * 400-year era holds exactly 146097 days and everything is integer division.
 */
static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468; /* 0000-03-01 to 1970-01-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097); /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2);
}

size_t sl__format_rfc3339_utc(int64_t ns, int digits, char *out)
{
    /* Floor division, so that times before 1970 keep a positive fraction. */
    int64_t sec = ns / 1000000000;
    int64_t frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec -= 1;
    }
    int64_t days = sec / 86400;
    int64_t sod = sec % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }

    int64_t year;
    unsigned month, day;
    civil_from_days(days, &year, &month, &day);
    /* int64 nanoseconds span 1677..2262, always four digits. */
    unsigned y = (unsigned)year;
    put2(out, y / 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, month);
    out[7] = '-';
    put2(out + 8, day);
    out[10] = 'T';
    unsigned s = (unsigned)sod;
    put2(out + 11, s / 3600);
    out[13] = ':';
    put2(out + 14, s / 60 % 60);
    out[16] = ':';
    put2(out + 17, s % 60);

    size_t len = 19;
    if (digits > 0) {
        /* Other widths are rounded up to 3, 6 or 9; digits are truncated, not rounded. */
        int width = digits <= 3 ? 3 : digits <= 6 ? 6 : 9;
        unsigned f = (unsigned)frac;
        char tmp[9];
        for (int i = 8; i >= 0; i--) {
            tmp[i] = (char)('0' + f % 10);
            f /= 10;
        }
        out[len++] = '.';
        for (int i = 0; i < width; i++) {
            out[len++] = tmp[i];
        }
    }
    out[len++] = 'Z';
    out[len] = '\0';
    return len;
}
