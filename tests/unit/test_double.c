/*
 * test_double.c - the shortest double formatter (src/json_number.c, the
 * Ryu method) on millions of values: every output reads back bit for bit
 * through strtod, no decimal with one digit fewer reads back (both
 * neighbours at that length are tried, not only printf's rounding), and the
 * text is what the printf-based writer produced before (the first of %.15g,
 * %.16g, %.17g that reads back, with the exact-millionths fixed form): the
 * records must not change. The one allowed difference: at a power of two
 * the interval that reads back is lopsided, so a shorter decimal than
 * printf's rounding may exist; then the output must be shorter and still
 * read back.
 *
 * SPANLOG_TEST_DOUBLES sets how many random values (default 3,000,000).
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t fmt(double v, char *out, size_t cap)
{
    sl__jw w;
    sl__jw_init(&w, out, cap - 1);
    sl__jw_double(&w, v);
    assert_false(w.overflow);
    out[w.len] = '\0';
    return w.len;
}

/* Significant digits of a decimal text ("-1.250e+03" -> 3). */
static int sig_digits(const char *s)
{
    char d[64];
    int n = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s >= '0' && *s <= '9' && n < 64) {
            d[n++] = *s;
        }
    }
    int lo = 0;
    while (lo < n && d[lo] == '0') {
        lo++;
    }
    while (n > lo && d[n - 1] == '0') {
        n--;
    }
    return n - lo;
}

/* The writer's text before this formatter (printf and strtod). */
static void reference(double v, char *out, size_t cap)
{
    double a = fabs(v);
    double m = a * 1e6;
    if (a < 1e9 && m == floor(m) && m / 1e6 == a) {
        /* exact millionths: fixed, trailing zeros trimmed, at least "x.0" */
        snprintf(out, cap, "%.6f", v);
        size_t n = strlen(out);
        while (out[n - 1] == '0' && out[n - 2] != '.') {
            out[--n] = '\0';
        }
        return;
    }
    for (int prec = a < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            break;
        }
    }
    if (strpbrk(out, ".e") == NULL) {
        strcat(out, ".0");
    }
}

static unsigned long long n_lopsided;

static void check(double v, int full)
{
    char got[64];
    fmt(v, got, sizeof got);
    double back = strtod(got, NULL);
    if (memcmp(&back, &v, sizeof v) != 0) {
        fail_msg("%a -> %s -> %a", v, got, back);
    }
    if (!full) {
        return;
    }
    char want[64];
    reference(v, want, sizeof want);
    int k = sig_digits(got);
    if (strcmp(got, want) != 0) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        if ((bits & ((UINT64_C(1) << 52) - 1)) != 0 || k >= sig_digits(want)) {
            fail_msg("%a: got %s, before %s", v, got, want);
        }
        n_lopsided++;
    }
    /* shortest: neither neighbour with k - 1 digits reads back */
    if (k > 1 && v != 0) {
        char lo[64], hi[64];
        double a = fabs(v);
        int e = (int)floor(log10(a));
        /* digits at k - 1: a = c * 10^(e - k + 2), c = floor/ceil */
        long double scale = powl(10.0L, (long double)(e - (k - 1) + 1));
        long double c = floorl((long double)a / scale);
        snprintf(lo, sizeof lo, "%.0Lfe%d", c, e - (k - 1) + 1);
        snprintf(hi, sizeof hi, "%.0Lfe%d", c + 1, e - (k - 1) + 1);
        if (sig_digits(lo) <= k - 1 && strtod(lo, NULL) == a) {
            fail_msg("%s is not shortest: %s reads back", got, lo);
        }
        if (sig_digits(hi) <= k - 1 && strtod(hi, NULL) == a) {
            fail_msg("%s is not shortest: %s reads back", got, hi);
        }
    }
}

static void test_double_edges(void **state)
{
    (void)state;
    char out[64];
    fmt(0.0, out, sizeof out);
    assert_string_equal(out, "0.0");
    fmt(-0.0, out, sizeof out);
    assert_string_equal(out, "-0.0");
    fmt(NAN, out, sizeof out);
    assert_string_equal(out, "\"NaN\"");
    fmt(-NAN, out, sizeof out);
    assert_string_equal(out, "\"NaN\"");
    fmt(INFINITY, out, sizeof out);
    assert_string_equal(out, "\"Infinity\"");
    fmt(-INFINITY, out, sizeof out);
    assert_string_equal(out, "\"-Infinity\"");
    fmt(5e-324, out, sizeof out);
    assert_string_equal(out, "5e-324");
    fmt(-DBL_MAX, out, sizeof out);
    assert_string_equal(out, "-1.7976931348623157e+308");
    fmt(0x1p53, out, sizeof out);
    assert_string_equal(out, "9007199254740992.0");
    fmt(0x1p53 + 2, out, sizeof out);
    assert_string_equal(out, "9007199254740994.0");

    /* every power of two, normal and subnormal, and its neighbours */
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        check(p, 1);
        check(-p, 1);
        check(nextafter(p, 0), 1);
        check(nextafter(p, INFINITY), 1);
    }
    /* powers of ten and their neighbours */
    for (int e = -323; e <= 308; e++) {
        char t[16];
        snprintf(t, sizeof t, "1e%d", e);
        double p = strtod(t, NULL);
        check(p, 1);
        check(nextafter(p, 0), 1);
        check(nextafter(p, INFINITY), 1);
        fmt(p, out, sizeof out);
        assert_int_equal(sig_digits(out), 1);
    }
    /* around 2^53, where integers stop being exact, and 2^63, 2^64 */
    for (int i = -2000; i <= 2000; i++) {
        check(0x1p53 + i, 1);
        check(0x1p63 + i * 2048.0, 1);
        check(0x1p64 + i * 4096.0, 1);
    }
    /* subnormal range edges, DBL_MIN, DBL_MAX */
    double sub[] = {
        DBL_MIN,      nextafter(DBL_MIN, 0), DBL_MAX,          nextafter(DBL_MAX, 0),
        DBL_TRUE_MIN, 2 * DBL_TRUE_MIN,      3 * DBL_TRUE_MIN, DBL_MIN - DBL_TRUE_MIN};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        check(sub[i], 1);
        check(-sub[i], 1);
    }
    for (uint64_t m = 1; m < 100000; m++) {
        double v;
        memcpy(&v, &m, sizeof v); /* the smallest subnormals */
        check(v, 1);
    }
}

static void test_double_millions(void **state)
{
    (void)state;
    long n = 3000000;
    const char *env = getenv("SPANLOG_TEST_DOUBLES");
    if (env != NULL && atol(env) > 0) {
        n = atol(env);
    }
    long checked = 0;
    for (long i = 0; i < n; i++) {
        double v;
        switch (i % 3) {
        case 0: { /* any bit pattern: every exponent equally */
            uint64_t bits = rnd();
            memcpy(&v, &bits, sizeof v);
            break;
        }
        case 1: /* short decimals of every size, as logged values are */
            v = (double)(int64_t)(rnd() % 100000000) *
                pow(10.0, (double)((int)(rnd() % 60) - 30));
            break;
        default: /* ordinary magnitudes with 17 significant digits */
            v = (double)(int64_t)rnd() / (double)(1ull << (rnd() % 63)) *
                pow(10.0, (double)((int)(rnd() % 40) - 20));
            break;
        }
        if (!isfinite(v)) {
            continue;
        }
        /* the round trip on all; the comparison with printf and the
         * shortness proof (several printf/strtod calls) on one in four */
        check(v, (i & 3) == 0);
        checked++;
    }
    assert_true(checked > n * 9 / 10);
    print_message("%ld values; %llu lopsided powers of two printed shorter than printf\n",
                  checked, n_lopsided);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_edges),
        cmocka_unit_test(test_double_millions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
