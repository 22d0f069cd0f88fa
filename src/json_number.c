/*
 * json_number.c - integers, doubles and literals for the JSON writer.
 *
 * Doubles are written in the shortest form that reads back to the same
 * value (strtod(out) == v), always with a '.' or an exponent so that a
 * reader keeps them as reals (3.0, not 3). NaN and the infinities are not
 * JSON numbers: they are written as the strings "NaN", "Infinity" and
 * "-Infinity". Negative zero is written as -0.0 (it round-trips).
 *
 * Values that are a whole number of millionths and below 1e9 in magnitude
 * (prices, durations, ratios: most logged doubles) take an exact integer
 * path; the rest go through printf's %.15g, %.16g then %.17g, keeping the
 * first that reads back exactly. printf and strtod follow LC_NUMERIC, so the
 * decimal point is normalised to '.' and strtod runs in the "C" locale.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* "00".."99" back to back: two digits a lookup (shared with clock.c). */
const char sl__digits2[201] = "00010203040506070809"
                              "10111213141516171819"
                              "20212223242526272829"
                              "30313233343536373839"
                              "40414243444546474849"
                              "50515253545556575859"
                              "60616263646566676869"
                              "70717273747576777879"
                              "80818283848586878889"
                              "90919293949596979899";

/* Writes v in decimal so that it ends just before `end`; returns the start. */
static inline char *u64_backwards(uint64_t v, char *end)
{
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        p[0] = sl__digits2[2 * r];
        p[1] = sl__digits2[2 * r + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = sl__digits2[2 * v];
        p[1] = sl__digits2[2 * v + 1];
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

void sl__jw_uint(sl__jw *w, uint64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    char *p = u64_backwards(v, end);
    sl__jw_raw(w, p, (size_t)(end - p));
}

void sl__jw_int(sl__jw *w, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    /* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_backwards(u, end);
    if (v < 0) {
        *--p = '-';
    }
    sl__jw_raw(w, p, (size_t)(end - p));
}

void sl__jw_bool(sl__jw *w, bool v)
{
    if (v) {
        sl__jw_raw(w, "true", 4);
    } else {
        sl__jw_raw(w, "false", 5);
    }
}

void sl__jw_null(sl__jw *w)
{
    sl__jw_raw(w, "null", 4);
}

/* ---- doubles ------------------------------------------------------------------ */

static locale_t sl_c_locale;
static pthread_once_t sl_c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    sl_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s)
{
    pthread_once(&sl_c_locale_once, c_locale_init);
    if (sl_c_locale != (locale_t)0) {
        return strtod_l(s, NULL, sl_c_locale);
    }
    return strtod(s, NULL); /* newlocale failed: the "C" locale is the default */
}

/*
 * printf's %.Ng of v into out, in the "C" form: a locale's decimal point
 * (any run of bytes that are not digits, sign or exponent) becomes '.'.
 * Returns the length.
 */
static size_t format_g(double v, int prec, char *out, size_t cap)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        n = 0;
    }
    size_t len = 0;
    for (int i = 0; i < n && len + 1 < cap;) {
        char c = tmp[i];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
            out[len++] = c;
            i++;
        } else {
            out[len++] = '.';
            while (i < n && !((tmp[i] >= '0' && tmp[i] <= '9') || tmp[i] == 'e')) {
                i++;
            }
        }
    }
    out[len] = '\0';
    return len;
}

/*
 * Exact path: v == m / 10^6 for an integer m with |v| < 1e9. Below 1e9 a
 * double's spacing is under 1.2e-7, so two different multiples of 1e-6 are
 * always different doubles: the trimmed decimal of m / 10^6 is the only
 * (hence the shortest) one with at most six decimals that reads back as v,
 * and a shorter one would have fewer decimals. Returns 0 when it does not apply.
 */
static size_t format_micro(double v, char *out)
{
    double a = fabs(v);
    if (!(a < 1e9)) {
        return 0;
    }
    double m = a * 1e6;
    if (m != floor(m) || m / 1e6 != a) {
        return 0;
    }
    uint64_t um = (uint64_t)m;
    uint64_t ip = um / 1000000;
    unsigned fp = (unsigned)(um % 1000000);
    char tmp[40];
    char *end = tmp + sizeof tmp;
    char *p;
    /* fraction: at least one digit ("3.0"), trailing zeros trimmed */
    int fd = 6;
    while (fd > 1 && fp % 10 == 0) {
        fp /= 10;
        fd--;
    }
    p = end;
    for (int i = 0; i < fd; i++) {
        *--p = (char)('0' + fp % 10);
        fp /= 10;
    }
    *--p = '.';
    p = u64_backwards(ip, p);
    if (signbit(v)) {
        *--p = '-';
    }
    size_t len = (size_t)(end - p);
    memcpy(out, p, len);
    return len;
}

/*
 * %g-style text of the decimal 0.d[0]d[1]..d[n-1] x 10^(exp+1), as printf's
 * %.{prec}g would print it: fixed notation when -4 <= exp < prec, else
 * d.ddde+XX; trailing zeros dropped. Returns the length.
 */
static size_t render_g(bool neg, const char *d, int n, int exp, int prec, char *out)
{
    size_t len = 0;
    while (n > 1 && d[n - 1] == '0') {
        n--;
    }
    if (neg) {
        out[len++] = '-';
    }
    if (exp >= -4 && exp < prec) {
        if (exp < 0) {
            out[len++] = '0';
            out[len++] = '.';
            for (int i = -1; i > exp; i--) {
                out[len++] = '0';
            }
            memcpy(out + len, d, (size_t)n);
            len += (size_t)n;
        } else {
            for (int i = 0; i <= exp; i++) {
                out[len++] = i < n ? d[i] : '0';
            }
            if (n > exp + 1) {
                out[len++] = '.';
                memcpy(out + len, d + exp + 1, (size_t)(n - exp - 1));
                len += (size_t)(n - exp - 1);
            }
        }
    } else {
        out[len++] = d[0];
        if (n > 1) {
            out[len++] = '.';
            memcpy(out + len, d + 1, (size_t)(n - 1));
            len += (size_t)(n - 1);
        }
        out[len++] = 'e';
        out[len++] = exp < 0 ? '-' : '+';
        unsigned e = (unsigned)(exp < 0 ? -exp : exp);
        if (e >= 100) {
            out[len++] = (char)('0' + e / 100);
        }
        out[len++] = (char)('0' + e / 10 % 10);
        out[len++] = (char)('0' + e % 10);
    }
    out[len] = '\0';
    return len;
}

/*
 * Shortest round-trip text of a normal double with one printf call: the 17
 * significant digits of %.16e are rounded to 15 and 16 digits here, and the
 * first that reads back wins. Rounding an already rounded digit string can
 * differ from rounding the exact value only when the dropped digits are
 * exactly "5" or "50" (the 17-digit rounding may have hidden which side of
 * the half the value lies); then printf is asked for that precision itself.
 * So the result is always what %.15g, %.16g, %.17g in turn would give.
 */
static size_t format_shortest(double v, char *out, size_t cap)
{
    char e[48];
    int n = snprintf(e, sizeof e, "%.16e", v);
    if (n <= 0 || (size_t)n >= sizeof e) {
        return 0;
    }
    /* sign, 17 digits around a locale's decimal point, exponent */
    const char *p = e;
    bool neg = *p == '-';
    if (neg) {
        p++;
    }
    char d[17];
    int nd = 0;
    while (*p != '\0' && *p != 'e' && nd < 17) {
        if (*p >= '0' && *p <= '9') {
            d[nd++] = *p;
        }
        p++;
    }
    while (*p != '\0' && *p != 'e') {
        p++;
    }
    if (nd != 17 || *p != 'e') {
        return 0;
    }
    int exp = atoi(p + 1);

    for (int prec = 15; prec <= 16; prec++) {
        size_t len;
        bool tie = d[prec] == '5' && (prec == 16 || d[16] == '0');
        if (tie) {
            len = format_g(v, prec, out, cap);
        } else {
            char r[17];
            int rexp = exp;
            memcpy(r, d, (size_t)prec);
            if (d[prec] >= '5') {
                int i = prec - 1;
                while (i >= 0 && r[i] == '9') {
                    r[i--] = '0';
                }
                if (i >= 0) {
                    r[i]++;
                } else {
                    r[0] = '1'; /* 999.. rounded up: 1000.., one decade up */
                    rexp++;
                }
            }
            len = render_g(neg, r, prec, rexp, prec, out);
        }
        if (strtod_c(out) == v) {
            return len;
        }
    }
    return render_g(neg, d, 17, exp, 17, out);
}

void sl__jw_double(sl__jw *w, double v)
{
    if (isnan(v)) {
        sl__jw_raw(w, "\"NaN\"", 5);
        return;
    }
    if (isinf(v)) {
        if (v > 0) {
            sl__jw_raw(w, "\"Infinity\"", 10);
        } else {
            sl__jw_raw(w, "\"-Infinity\"", 11);
        }
        return;
    }
    char out[48];
    size_t len = format_micro(v, out);
    if (len == 0) {
        /* 15 significant digits always read back uniquely for normal values
         * (DBL_DIG), so %.15g is shortest when it round-trips; subnormals
         * have fewer bits, so for them shorter precisions are tried too
         * (and printf is the fallback if its output is not as expected). */
        if (fabs(v) >= DBL_MIN) {
            len = format_shortest(v, out, sizeof out - 3);
        }
        for (int prec = 1; len == 0 && prec <= 17; prec++) {
            len = format_g(v, prec, out, sizeof out - 3);
            if (prec < 17 && strtod_c(out) != v) {
                len = 0;
            }
        }
        /* Keep it a real for readers that tell 3 from 3.0. */
        if (strpbrk(out, ".e") == NULL) {
            out[len++] = '.';
            out[len++] = '0';
        }
    }
    sl__jw_raw(w, out, len);
}
