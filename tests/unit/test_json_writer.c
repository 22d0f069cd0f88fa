/*
 * test_json_writer.c - the streaming JSON writer: escaping tables, UTF-8
 * repair, numbers, overflow accounting, growable mode, utf8_cut. Every
 * output is parsed back with jansson (flags 0, strict) and compared.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "internal.h"

#define FFFD "\xef\xbf\xbd"

/* A small deterministic generator, so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Writes s as a JSON string inside [ ], parses it, returns the decoded
 * string (caller frees) and its length; fails the test if jansson rejects it. */
static char *roundtrip(const char *s, size_t n, size_t *out_len, char **encoded,
                       size_t *enc_len)
{
    sl__jw w;
    sl__jw_init_growable(&w, 16, 0);
    sl__jw_char(&w, '[');
    sl__jw_string(&w, s, n);
    sl__jw_char(&w, ']');
    assert_false(w.overflow);
    /* the escaped length helper agrees with what was written */
    assert_int_equal(sl__json_escaped_len(s, n), w.len - 4);

    json_error_t err;
    json_t *root = json_loadb(w.buf, w.len, 0, &err);
    if (root == NULL) {
        fail_msg("jansson rejected %.*s: %s", (int)w.len, w.buf, err.text);
    }
    assert_true(json_is_array(root));
    json_t *str = json_array_get(root, 0);
    assert_true(json_is_string(str));
    size_t len = json_string_length(str);
    char *copy = malloc(len + 1);
    memcpy(copy, json_string_value(str), len + 1);
    json_decref(root);
    *out_len = len;
    if (encoded != NULL) {
        *encoded = malloc(w.len - 4 + 1);
        memcpy(*encoded, w.buf + 2, w.len - 4);
        (*encoded)[w.len - 4] = '\0';
        *enc_len = w.len - 4;
    }
    sl__jw_free(&w);
    return copy;
}

static void check_string(const char *in, size_t n, const char *want_enc,
                         const char *want_dec, size_t want_dec_len)
{
    size_t dec_len, enc_len;
    char *enc;
    char *dec = roundtrip(in, n, &dec_len, &enc, &enc_len);
    if (want_enc != NULL) {
        if (strcmp(enc, want_enc) != 0) {
            fail_msg("encoded '%s', want '%s'", enc, want_enc);
        }
    }
    assert_int_equal(dec_len, want_dec_len);
    assert_memory_equal(dec, want_dec, want_dec_len);
    free(enc);
    free(dec);
}

static void test_escape_table(void **state)
{
    (void)state;
    check_string("plain", 5, "plain", "plain", 5);
    /* NULL is written as an empty string, whatever length comes with it */
    char out[8];
    sl__jw w;
    sl__jw_init(&w, out, sizeof out);
    sl__jw_string(&w, NULL, 5);
    assert_int_equal(w.len, 2);
    assert_memory_equal(out, "\"\"", 2);
    assert_int_equal(sl__json_escaped_len(NULL, 5), 0);
    check_string("", 0, "", "", 0);
    check_string("a\"b", 3, "a\\\"b", "a\"b", 3);
    check_string("\\", 1, "\\\\", "\\", 1);
    check_string("/", 1, "/", "/", 1);
    check_string("\x7f", 1, "\x7f", "\x7f", 1);
    check_string("\xe2\x80\xa8", 3, "\\u2028", "\xe2\x80\xa8", 3);
    check_string("x\xe2\x80\xa9y", 5, "x\\u2029y", "x\xe2\x80\xa9y", 5);
    /* every control character, alone and between plain text */
    for (int c = 0; c < 0x20; c++) {
        char in[3] = {'a', (char)c, 'b'};
        char want[16];
        const char *shortf = NULL;
        switch (c) {
        case '\b':
            shortf = "\\b";
            break;
        case '\t':
            shortf = "\\t";
            break;
        case '\n':
            shortf = "\\n";
            break;
        case '\f':
            shortf = "\\f";
            break;
        case '\r':
            shortf = "\\r";
            break;
        default:
            break;
        }
        if (c == 0) {
            /* NUL becomes U+FFFD: strict readers refuse \u0000 */
            check_string(in, 3, "a" FFFD "b", "a" FFFD "b", 5);
            continue;
        }
        if (shortf != NULL) {
            snprintf(want, sizeof want, "a%sb", shortf);
        } else {
            snprintf(want, sizeof want, "a\\u%04xb", (unsigned)c);
        }
        check_string(in, 3, want, in, 3);
    }
    /* a long plain run with specials at every offset of the 8-byte scan */
    for (size_t pos = 0; pos < 40; pos++) {
        char in[40];
        memset(in, 'x', sizeof in);
        in[pos] = '"';
        char want[48];
        memset(want, 'x', pos);
        want[pos] = '\\';
        want[pos + 1] = '"';
        memset(want + pos + 2, 'x', 40 - pos - 1);
        want[41] = '\0';
        check_string(in, 40, want, in, 40);
    }
}

typedef struct utf8_case {
    const char *in;
    size_t n;
    const char *want; /* decoded, NUL-terminated */
    const char *enc;  /* encoded, when it differs from want */
} utf8_case;

#define U(in, want)                                                                      \
    {                                                                                    \
        in, sizeof(in) - 1, want, NULL                                                   \
    }
#define UE(in, want, enc)                                                                \
    {                                                                                    \
        in, sizeof(in) - 1, want, enc                                                    \
    }

static const utf8_case utf8_cases[] = {
    /* well-formed, at each boundary of table 3-7 */
    U("\xc2\x80", "\xc2\x80"),
    U("\xc3\xa9", "\xc3\xa9"),
    U("\xdf\xbf", "\xdf\xbf"),
    U("\xe0\xa0\x80", "\xe0\xa0\x80"),
    U("\xe2\x82\xac", "\xe2\x82\xac"),
    U("\xed\x9f\xbf", "\xed\x9f\xbf"),
    U("\xee\x80\x80", "\xee\x80\x80"),
    U("\xef\xbf\xbf", "\xef\xbf\xbf"),
    U("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"),
    U("\xf0\x9d\x84\x9e", "\xf0\x9d\x84\x9e"),
    U("\xf3\xbf\xbf\xbf", "\xf3\xbf\xbf\xbf"),
    U("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),
    /* stray continuation bytes */
    U("\x80", FFFD),
    U("\xbf", FFFD),
    U("a\x80\xbf", "a" FFFD FFFD),
    /* overlong 2-byte leads */
    U("\xc0\x80", FFFD FFFD),
    U("\xc1\xbf", FFFD FFFD),
    /* overlong 3 and 4 byte forms */
    U("\xe0\x80\x80", FFFD FFFD FFFD),
    U("\xe0\x9f\xbf", FFFD FFFD FFFD),
    U("\xf0\x80\x80\x80", FFFD FFFD FFFD FFFD),
    U("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD),
    /* surrogates */
    U("\xed\xa0\x80", FFFD FFFD FFFD),
    U("\xed\xbf\xbf", FFFD FFFD FFFD),
    U("\xed\xa0\xbd\xed\xb2\xa9", FFFD FFFD FFFD FFFD FFFD FFFD),
    /* above U+10FFFF */
    U("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD),
    U("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD),
    U("\xf7\xbf\xbf\xbf", FFFD FFFD FFFD FFFD),
    U("\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD),
    U("\xfe", FFFD),
    U("\xff", FFFD),
    /* truncated at the end of the input: one U+FFFD per maximal subpart */
    U("\xc3", FFFD),
    U("\xe2\x82", FFFD),
    U("\xe2", FFFD),
    U("\xf0\x9d\x84", FFFD),
    U("\xf0\x9d", FFFD),
    /* truncated by an unexpected byte */
    U("\xc3\x41", FFFD "A"),
    U("\xe2\x82\x41", FFFD "A"),
    U("\xf0\x9d\x84\x41", FFFD "A"),
    UE("\xe2\x82\"", FFFD "\"", FFFD "\\\""),
    U("\xc3\xc3\xa9", FFFD "\xc3\xa9"),
    UE("\xe2\x0a", FFFD "\n", FFFD "\\n"),
    /* Unicode's own example of maximal subparts (chapter 3) */
    U("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
      "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d"),
};

static void test_utf8_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const utf8_case *c = &utf8_cases[i];
        check_string(c->in, c->n, NULL, c->want, strlen(c->want));
        /* the repaired bytes appear raw in the output; only ASCII is escaped */
        size_t dl, el;
        char *enc;
        char *dec = roundtrip(c->in, c->n, &dl, &enc, &el);
        assert_string_equal(enc, c->enc != NULL ? c->enc : c->want);
        free(enc);
        free(dec);
    }
}

/* Random hostile bytes: jansson must accept every output, and the lengths agree. */
static void test_utf8_random(void **state)
{
    (void)state;
    static const unsigned char pool[] = {0x00, 0x01, 0x0a, 0x1f, 0x20, '"',  '\\', 'a',
                                         0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xa8, 0xa9,
                                         0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe2, 0xed,
                                         0xef, 0xf0, 0xf4, 0xf5, 0xff};
    unsigned char buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            buf[i] = (rnd() & 1) ? pool[rnd() % sizeof pool] : (unsigned char)rnd();
        }
        size_t dl;
        char *dec = roundtrip((const char *)buf, n, &dl, NULL, NULL);
        free(dec);
    }
}

/* Random well-formed UTF-8 decodes back to exactly the input. */
static size_t put_cp(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static uint32_t random_cp(void)
{
    static const uint32_t tops[] = {0x80, 0x800, 0x10000, 0x110000};
    for (;;) {
        uint32_t cp = (uint32_t)(rnd() % tops[rnd() % 4]);
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }
        if (cp == 0) {
            continue; /* jansson refuses \u0000 in strings by default */
        }
        return cp;
    }
}

static size_t random_valid(unsigned char *buf, size_t cap, size_t *bounds, size_t *nb)
{
    size_t n = 0;
    *nb = 0;
    bounds[(*nb)++] = 0;
    while (n + 4 <= cap && rnd() % 32 != 0) {
        n += put_cp(random_cp(), buf + n);
        bounds[(*nb)++] = n;
    }
    return n;
}

static void test_utf8_valid_random(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t bounds[260], nb;
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = random_valid(buf, sizeof buf, bounds, &nb);
        size_t dl;
        char *dec = roundtrip((const char *)buf, n, &dl, NULL, NULL);
        assert_int_equal(dl, n);
        assert_memory_equal(dec, buf, n);
        free(dec);
    }
}

static void test_utf8_cut(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t bounds[260], nb;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = random_valid(buf, sizeof buf, bounds, &nb);
        for (size_t max = 0; max <= n + 2; max++) {
            size_t cut = sl__utf8_cut((const char *)buf, n, max);
            /* the largest character boundary <= max */
            size_t want = 0;
            for (size_t b = 0; b < nb; b++) {
                if (bounds[b] <= max) {
                    want = bounds[b];
                }
            }
            assert_int_equal(cut, want);
        }
    }
    /* ill-formed bytes are not sequences: the cut stays at max */
    assert_int_equal(sl__utf8_cut("a\xe2\x82z", 4, 2), 2);
    assert_int_equal(sl__utf8_cut("a\x80\x80\x80\x80z", 6, 4), 4);
    assert_int_equal(sl__utf8_cut("\xed\xa0\x80", 3, 2), 2); /* surrogate */
    assert_int_equal(sl__utf8_cut("\xe2\x82\xac", 3, 2), 0);
    assert_int_equal(sl__utf8_cut("\xe2\x82\xac", 3, 3), 3);
    assert_int_equal(sl__utf8_cut("abc", 3, 100), 3);
    assert_int_equal(sl__utf8_cut("", 0, 0), 0);
}

/* ---- numbers ------------------------------------------------------------ */

static void write_json_value(void (*fn)(sl__jw *, const void *), const void *arg,
                             char *out, size_t cap)
{
    sl__jw w;
    sl__jw_init(&w, out, cap);
    fn(&w, arg);
    assert_false(w.overflow);
    assert_true(w.len < cap);
    out[w.len] = '\0';
}

static void wr_double(sl__jw *w, const void *a)
{
    sl__jw_double(w, *(const double *)a);
}
static void wr_int(sl__jw *w, const void *a)
{
    sl__jw_int(w, *(const int64_t *)a);
}
static void wr_uint(sl__jw *w, const void *a)
{
    sl__jw_uint(w, *(const uint64_t *)a);
}

static json_t *parse_value(const char *text)
{
    char doc[128];
    snprintf(doc, sizeof doc, "[%s]", text);
    json_error_t err;
    json_t *root = json_loads(doc, 0, &err);
    if (root == NULL) {
        fail_msg("jansson rejected %s: %s", doc, err.text);
    }
    return root;
}

static void test_double_table(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {-3.0, "-3.0"},
        {0.1, "0.1"},
        {1.5, "1.5"},
        {-2.25, "-2.25"},
        {123456.789, "123456.789"},
        {0.000001, "0.000001"},
        {999999999.999999, "999999999.999999"},
        {0.30000000000000004, "0.30000000000000004"},
        {1e300, "1e+300"},
        {1e21, "1e+21"},
        {1e-7, "1e-07"},
        {5e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {9007199254740993.0, "9007199254740992.0"},
        {1234567890123.0, "1234567890123.0"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_json_value(wr_double, &cases[i].v, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0) {
            fail_msg("double %a: got %s want %s", cases[i].v, out, cases[i].want);
        }
        json_t *root = parse_value(out);
        json_t *r = json_array_get(root, 0);
        assert_true(json_is_real(r));
        assert_true(json_real_value(r) == cases[i].v);
        assert_int_equal(signbit(json_real_value(r)) != 0, signbit(cases[i].v) != 0);
        json_decref(root);
    }
    static const struct {
        double v;
        const char *want;
    } specials[] = {{NAN, "NaN"}, {INFINITY, "Infinity"}, {-INFINITY, "-Infinity"}};
    for (size_t i = 0; i < 3; i++) {
        write_json_value(wr_double, &specials[i].v, out, sizeof out);
        json_t *root = parse_value(out);
        assert_string_equal(json_string_value(json_array_get(root, 0)), specials[i].want);
        json_decref(root);
    }
}

/* Significant digits of a decimal text ("-1.250e+03" -> 3). */
static int sig_digits(const char *s)
{
    char d[64];
    int n = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s >= '0' && *s <= '9') {
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

static void check_double_roundtrip(double v)
{
    char out[64];
    write_json_value(wr_double, &v, out, sizeof out);
    double back = strtod(out, NULL);
    if (memcmp(&back, &v, sizeof v) != 0) {
        fail_msg("%a -> %s -> %a", v, out, back);
    }
    /* shortest: one digit fewer never reads back */
    int k = sig_digits(out);
    if (k > 1) {
        char shorter[400];
        snprintf(shorter, sizeof shorter, "%.*g", k - 1, v);
        if (strtod(shorter, NULL) == v) {
            fail_msg("%s is not shortest: %s reads back too", out, shorter);
        }
    }
    json_t *root = parse_value(out);
    assert_true(json_real_value(json_array_get(root, 0)) == v);
    json_decref(root);
}

static void test_double_random(void **state)
{
    (void)state;
    for (int i = 0; i < 50000; i++) {
        uint64_t bits = rnd();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) {
            continue;
        }
        check_double_roundtrip(v);
    }
    /* values of the exact decimal path: whole millionths, and near misses */
    for (int i = 0; i < 50000; i++) {
        int64_t m = (int64_t)(rnd() % 2000000000000000ull) - 1000000000000000ll;
        double v = (double)m / 1e6;
        check_double_roundtrip(v);
        check_double_roundtrip(nextafter(v, INFINITY));
        check_double_roundtrip((double)(m % 100000) / 1000.0);
    }
}

/* printf's own answer: the first of %.15g, %.16g, %.17g that reads back. */
static void reference_double(double v, char *out, size_t cap)
{
    for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            break;
        }
    }
    if (strpbrk(out, ".e") == NULL) {
        strcat(out, ".0");
    }
}

/*
 * The writer rounds one 17-digit printf result itself; it must give exactly
 * what printf gives for each precision, including when the dropped digits
 * are a tie ("5", "50"), which a random double hits about one time in ten.
 */
static void test_double_matches_printf(void **state)
{
    (void)state;
    int ties = 0;
    for (int i = 0; i < 300000; i++) {
        double v;
        if (i % 3 == 0) {
            uint64_t bits = rnd();
            memcpy(&v, &bits, sizeof v);
        } else {
            /* ordinary magnitudes, where fixed and exponent forms meet */
            v = (double)(int64_t)rnd() / (double)(1ull << (rnd() % 63)) *
                pow(10.0, (double)((int)(rnd() % 40) - 20));
        }
        if (!isfinite(v)) {
            continue;
        }
        char got[64], want[400], e17[64];
        write_json_value(wr_double, &v, got, sizeof got);
        reference_double(v, want, sizeof want);
        if (strcmp(got, want) != 0) {
            /* the exact decimal path may print fixed where %g picks an
             * exponent; the text must still be the same number of digits */
            if (!(fabs(v) < 1e9 && strtod(got, NULL) == v &&
                  sig_digits(got) == sig_digits(want))) {
                fail_msg("%a: got %s, printf %s", v, got, want);
            }
        }
        snprintf(e17, sizeof e17, "%.16e", v);
        const char *dig = e17 + (v < 0 ? 3 : 2); /* after "d." */
        if (dig[15] == '5' || (dig[14] == '5' && dig[15] == '0')) {
            ties++;
        }
    }
    assert_true(ties > 1000); /* the tie branch was exercised */
}

static void test_integers(void **state)
{
    (void)state;
    char out[64], want[64];
    static const int64_t iv[] = {0,   1,    -1,    9,         10,       99,
                                 100, -100, 12345, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        write_json_value(wr_int, &iv[i], out, sizeof out);
        snprintf(want, sizeof want, "%lld", (long long)iv[i]);
        assert_string_equal(out, want);
    }
    for (int i = 0; i < 100000; i++) {
        int64_t v = (int64_t)(rnd() >> (rnd() % 64));
        if (rnd() & 1) {
            v = -v;
        }
        write_json_value(wr_int, &v, out, sizeof out);
        snprintf(want, sizeof want, "%lld", (long long)v);
        assert_string_equal(out, want);
        uint64_t u = rnd() >> (rnd() % 64);
        write_json_value(wr_uint, &u, out, sizeof out);
        snprintf(want, sizeof want, "%llu", (unsigned long long)u);
        assert_string_equal(out, want);
    }
    uint64_t umax = UINT64_MAX;
    write_json_value(wr_uint, &umax, out, sizeof out);
    assert_string_equal(out, "18446744073709551615");
    json_t *root = parse_value("9223372036854775807,-9223372036854775808");
    assert_true(json_integer_value(json_array_get(root, 0)) == INT64_MAX);
    assert_true(json_integer_value(json_array_get(root, 1)) == INT64_MIN);
    json_decref(root);
}

/* ---- overflow and growth --------------------------------------------------- */

static void write_doc(sl__jw *w)
{
    sl__jw_raw(w, "{", 1);
    sl__jw_string(w, "k\"ey", 4);
    sl__jw_char(w, ':');
    sl__jw_string(w, "v\n\xe2\x82\xac\xff tail of a longer plain run", 33);
    sl__jw_raw(w, ",\"n\":", 5);
    sl__jw_int(w, -1234567);
    sl__jw_raw(w, ",\"u\":", 5);
    sl__jw_uint(w, 42);
    sl__jw_raw(w, ",\"d\":", 5);
    sl__jw_double(w, 0.1);
    sl__jw_raw(w, ",\"b\":", 5);
    sl__jw_bool(w, true);
    sl__jw_raw(w, ",\"f\":", 5);
    sl__jw_bool(w, false);
    sl__jw_raw(w, ",\"z\":", 5);
    sl__jw_null(w);
    sl__jw_char(w, '}');
}

static void test_fixed_overflow(void **state)
{
    (void)state;
    char full[512];
    sl__jw w;
    sl__jw_init(&w, full, sizeof full);
    write_doc(&w);
    assert_false(w.overflow);
    size_t total = w.len;
    json_error_t err;
    json_t *root = json_loadb(full, total, 0, &err);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "k\"ey")),
                        "v\n\xe2\x82\xac" FFFD " tail of a longer plain run");
    assert_true(json_integer_value(json_object_get(root, "n")) == -1234567);
    assert_true(json_integer_value(json_object_get(root, "u")) == 42);
    assert_true(json_real_value(json_object_get(root, "d")) == 0.1);
    assert_true(json_is_true(json_object_get(root, "b")));
    assert_true(json_is_false(json_object_get(root, "f")));
    assert_true(json_is_null(json_object_get(root, "z")));
    json_decref(root);

    for (size_t cap = 0; cap <= total + 1; cap++) {
        char small[512];
        memset(small, 0x55, sizeof small);
        sl__jw_init(&w, cap ? small : NULL, cap);
        write_doc(&w);
        assert_int_equal(sl__jw_need(&w), total);
        assert_int_equal(w.overflow, cap < total);
        assert_int_equal(w.len, cap < total ? cap : total);
        assert_memory_equal(small, full, w.len);
        /* never a byte past cap */
        assert_int_equal((unsigned char)small[cap], 0x55);
        sl__jw_reset(&w);
        assert_int_equal(w.len, 0);
        assert_int_equal(sl__jw_need(&w), 0);
        assert_false(w.overflow);
    }
}

/*
 * Raw appends of every length from 0 to 70 (the inline copy has a separate
 * case for 1-3, 4-7, 8-15, 16-32 and longer runs), at every offset and into
 * every buffer size: the output is the concatenation, cut at cap, nothing
 * past cap is touched, and the count of what the whole output takes is right.
 */
static void test_raw_lengths(void **state)
{
    (void)state;
    char src[80];
    for (size_t i = 0; i < sizeof src; i++) {
        src[i] = (char)('!' + i);
    }
    for (size_t off = 0; off < 3; off++) {
        for (size_t n = 0; n <= 70; n++) {
            /* expected: off bytes of 'x', then src[0..n), then '#' */
            char want[80];
            memset(want, 'x', off);
            memcpy(want + off, src, n);
            want[off + n] = '#';
            size_t total = off + n + 1;
            for (size_t cap = 0; cap <= total; cap++) {
                char buf[96];
                memset(buf, 0x55, sizeof buf);
                sl__jw w;
                sl__jw_init(&w, cap ? buf : NULL, cap);
                for (size_t k = 0; k < off; k++) {
                    sl__jw_char(&w, 'x');
                }
                sl__jw_raw(&w, src, n);
                sl__jw_char(&w, '#');
                assert_int_equal(sl__jw_need(&w), total);
                assert_int_equal(w.overflow, cap < total);
                assert_int_equal(w.len, cap < total ? cap : total);
                if (cap > 0) {
                    assert_memory_equal(buf, want, w.len);
                }
                assert_int_equal((unsigned char)buf[cap], 0x55);
            }
        }
    }
}

static void test_growable(void **state)
{
    (void)state;
    char full[512];
    sl__jw w;
    sl__jw_init(&w, full, sizeof full);
    write_doc(&w);
    size_t total = w.len;

    /* unlimited: grows from 1 byte to the full document */
    sl__jw_init_growable(&w, 1, 0);
    write_doc(&w);
    assert_false(w.overflow);
    assert_int_equal(w.len, total);
    assert_memory_equal(w.buf, full, total);
    sl__jw_free(&w);
    sl__jw_free(NULL);

    /* every limit: stops at the limit, keeps the prefix, counts the rest */
    for (size_t max = 1; max <= total + 1; max++) {
        sl__jw_init_growable(&w, 4, max);
        write_doc(&w);
        assert_int_equal(sl__jw_need(&w), total);
        assert_int_equal(w.overflow, max < total);
        assert_int_equal(w.len, max < total ? max : total);
        assert_true(w.cap <= max);
        assert_memory_equal(w.buf, full, w.len);
        /* reset keeps the buffer and the limit */
        sl__jw_reset(&w);
        write_doc(&w);
        assert_int_equal(sl__jw_need(&w), total);
        sl__jw_free(&w);
    }

    /* a 1 MiB hostile string in one call */
    size_t big = 1 << 20;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++) {
        s[i] = (i % 97 == 0) ? '\n' : (i % 89 == 0) ? (char)0xff : (char)('a' + i % 26);
    }
    size_t dl;
    char *dec = roundtrip(s, big, &dl, NULL, NULL);
    assert_true(dl > big);
    free(dec);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_utf8_table),
        cmocka_unit_test(test_utf8_random),
        cmocka_unit_test(test_utf8_valid_random),
        cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_double_table),
        cmocka_unit_test(test_double_random),
        cmocka_unit_test(test_double_matches_printf),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_fixed_overflow),
        cmocka_unit_test(test_raw_lengths),
        cmocka_unit_test(test_growable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
