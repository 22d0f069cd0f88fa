/*
 * test_truncate.c - hostile input and the size limit: every record is one
 * line of valid JSON whatever the strings hold, and a record over the limit
 * is cut inside its largest strings, flagged "truncated":true, never longer
 * than the limit and never split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_capture.h"

static sl_logger *logger_with_limit(size_t limit, capture *c)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.max_record_bytes = limit;
    o.service = "svc";
    return capture_logger(&o, c);
}

/* True when p (n bytes) is a prefix of s. */
static bool is_prefix(const char *p, size_t n, const char *s, size_t sn)
{
    return n <= sn && memcmp(p, s, n) == 0;
}

static void test_hostile_strings_round_trip(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = logger_with_limit(65536, &c);

    /* Every control byte, quotes, backslashes, DEL, and valid UTF-8. */
    char ctl[64];
    size_t n = 0;
    for (int b = 1; b < 0x20; b++) {
        ctl[n++] = (char)b;
    }
    const char tail[] = "\"\\/\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    memcpy(ctl + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    ctl[n] = '\0';
    sl_info(lg, ctl, SL_STR(ctl, ctl), SL_STR("q", "\"quoted\" \\ back\\slash\n\r\t"));

    /* Invalid UTF-8: stray continuation, truncated sequences, overlongs,
     * surrogates, above U+10FFFF, 0xff. */
    const char bad[] = "a\x80z\xc3z\xe2\x82z\xc0\xafz\xed\xa0\x80z\xf4\x90\x80\x80z\xffz";
    sl_info(lg, bad, SL_STR(bad, bad), SL_STRN("tail", "ok\xe2\x82", 4));

    /* All 256 byte values in one string. */
    char all[256];
    for (int b = 0; b < 256; b++) {
        all[b] = (char)b;
    }
    sl_info(lg, "all bytes", SL_STRN("all", all, 256));
    assert_int_equal(c.n, 3);

    json_t *r = capture_parse(&c, 0);
    assert_string_equal(get_str(r, "msg"), ctl);
    assert_string_equal(get_str(r, ctl), ctl);
    assert_string_equal(get_str(r, "q"), "\"quoted\" \\ back\\slash\n\r\t");
    json_decref(r);

    r = capture_parse(&c, 1);
    const char *m = get_str(r, "msg");
    /* Every ill-formed piece became U+FFFD; the ASCII between them stayed. */
    assert_non_null(strstr(m, "\xef\xbf\xbd"));
    size_t zs = 0;
    for (const char *p = m; *p != '\0'; p++) {
        zs += *p == 'z';
    }
    assert_int_equal(zs, 7);
    assert_int_equal(m[0], 'a');
    assert_string_equal(get_str(r, "tail"), "ok\xef\xbf\xbd");
    /* The key was repaired the same way. */
    assert_non_null(json_object_get(r, m));
    json_decref(r);

    r = capture_parse(&c, 2);
    assert_true(json_string_length(json_object_get(r, "all")) > 128);
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_one_mebibyte_field(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = logger_with_limit(65536, &c);
    size_t big_n = 1u << 20;
    char *big = malloc(big_n + 1);
    for (size_t i = 0; i < big_n; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[big_n] = '\0';
    sl_info(lg, "short message", SL_STR("small", "kept"), SL_STR("big", big),
            SL_INT("n", 5));
    sl_info(lg, big, SL_STR("small", "kept"));
    assert_int_equal(c.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(c.lines[i].len <= 65536);
        assert_true(c.lines[i].len > 65536 - 64); /* cut no more than needed */
        assert_true(c.lines[i].truncated);
    }
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "small", "big", "n", "truncated");
    assert_string_equal(get_str(r, "msg"), "short message");
    assert_string_equal(get_str(r, "small"), "kept");
    const char *b = get_str(r, "big");
    assert_true(is_prefix(b, strlen(b), big, big_n));
    assert_true(strlen(b) > 60000);
    assert_int_equal(get_int(r, "n"), 5);
    assert_true(json_is_true(json_object_get(r, "truncated")));
    json_decref(r);

    r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "small", "truncated");
    const char *m = get_str(r, "msg");
    assert_true(is_prefix(m, strlen(m), big, big_n));
    assert_string_equal(get_str(r, "small"), "kept");
    assert_string_equal(c.lines[1].msg + big_n - 3, big + big_n - 3); /* view: whole */
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
    free(big);
}

/* Multi-byte characters and escapes are never split. */
static void test_cuts_respect_utf8_and_escapes(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    const char *units[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                           "\"",       "\\",           "\n",
                           "\x01",     "a\x01",        "\xe2\x80\xa8"};
    for (size_t limit = 1024; limit <= 1100; limit += 7) {
        sl_logger *lg = logger_with_limit(limit, &c);
        for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t ul = strlen(units[u]);
            size_t reps = 3000 / ul;
            char *s = malloc(reps * ul + 1);
            for (size_t i = 0; i < reps; i++) {
                memcpy(s + i * ul, units[u], ul);
            }
            s[reps * ul] = '\0';
            sl_info(lg, "m", SL_STR("s", s));
            size_t at = c.n - 1;
            assert_true(c.lines[at].len <= limit);
            json_t *r = capture_parse(&c, at);
            const char *v = get_str(r, "s");
            size_t vn = strlen(v);
            /* A whole number of units, a prefix of the original. */
            /* Units of one character are never split ("a\x01" may be). */
            if (strcmp(units[u], "a\x01") != 0) {
                assert_int_equal(vn % ul, 0);
            }
            assert_true(is_prefix(v, vn, s, reps * ul));
            assert_true(vn > 0);
            assert_true(json_is_true(json_object_get(r, "truncated")));
            json_decref(r);
            free(s);
        }
        sl_logger_free(lg);
    }
    capture_clear(&c);
}

/* Several large strings are cut to one common length; short ones survive. */
static void test_largest_strings_are_cut_first(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = logger_with_limit(4096, &c);
    char *a = malloc(6001), *b = malloc(5001);
    memset(a, 'A', 6000);
    a[6000] = '\0';
    memset(b, 'B', 5000);
    b[5000] = '\0';
    char mid[301];
    memset(mid, 'M', 300);
    mid[300] = '\0';
    sl_info(lg, "msg", SL_STR("a", a), SL_STR("mid", mid), SL_STR("b", b),
            SL_DOUBLE("d", 2.5));
    assert_int_equal(c.n, 1);
    assert_true(c.lines[0].len <= 4096);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "a", "mid", "b", "d", "truncated");
    size_t la = strlen(get_str(r, "a")), lb = strlen(get_str(r, "b"));
    assert_int_equal(la, lb);
    assert_true(la > 300 && la < 2000);
    assert_string_equal(get_str(r, "mid"), mid);
    assert_string_equal(get_str(r, "msg"), "msg");
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
    free(a);
    free(b);
}

/* Exactly at the limit: whole. One byte more: cut and flagged. */
static void test_limit_boundary(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = logger_with_limit(2048, &c);
    sl_info(lg, "");
    size_t base = c.lines[0].len; /* the record with an empty msg */
    char msg[4096];
    size_t fit = 2048 - base;
    memset(msg, 'x', fit + 1);
    msg[fit] = '\0';
    sl_info(lg, msg);
    msg[fit] = 'x';
    msg[fit + 1] = '\0';
    sl_info(lg, msg);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.lines[1].len, 2048);
    assert_false(c.lines[1].truncated);
    json_t *r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg", "service");
    json_decref(r);
    assert_true(c.lines[2].len <= 2048);
    assert_true(c.lines[2].truncated);
    r = capture_parse(&c, 2);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "truncated");
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
}

/* When cutting strings is not enough, the fields go and msg is cut. */
static void test_last_resort_drops_fields(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = logger_with_limit(1024, &c);
    char key[3000];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    sl_info(lg, "huge key", SL_INT(key, 1));

    sl_field many[200];
    for (size_t i = 0; i < 200; i++) {
        many[i] = SL_INT("field", i);
    }
    char msg[2000];
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    sl_log_write(lg, SL_LEVEL_INFO, NULL, NULL, msg, many, 200);

    json_t *j = json_array();
    for (int i = 0; i < 500; i++) {
        json_array_append_new(j, json_integer(i));
    }
    sl_info(lg, "big json", SL_JSON("j", j));
    json_decref(j);

    assert_int_equal(c.n, 3);
    const char *msgs[] = {"huge key", NULL, "big json"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(c.lines[i].len <= 1024);
        assert_true(c.lines[i].truncated);
        json_t *r = capture_parse(&c, i);
        ASSERT_KEYS(r, "time", "level", "msg", "service", "truncated");
        if (msgs[i] != NULL) {
            assert_string_equal(get_str(r, "msg"), msgs[i]);
        } else {
            const char *m = get_str(r, "msg");
            assert_true(strlen(m) > 800 && is_prefix(m, strlen(m), msg, sizeof(msg) - 1));
        }
        json_decref(r);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

/* A property over sizes: always one parseable line within the limit, and
 * flagged exactly when the whole record would not have fitted. */
static void test_sizes_sweep(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    const size_t limit = 1024;
    sl_logger *lg = logger_with_limit(limit, &c);
    char *s = malloc(5000);
    for (size_t i = 0; i < 5000; i++) {
        s[i] = (i % 7 == 0) ? '"' : (char)('a' + i % 26);
    }
    sl_info(lg, "", SL_STRN("s", s, 0), SL_STRN("t", s, 0));
    size_t base = c.lines[0].len;
    for (size_t n = 0; n < 3000; n += 13) {
        sl_info(lg, "", SL_STRN("s", s, n), SL_STRN("t", s, n / 2));
        size_t at = c.n - 1;
        size_t esc = 0;
        for (size_t i = 0; i < n; i++) {
            esc += s[i] == '"' ? 2 : 1;
        }
        size_t esc2 = 0;
        for (size_t i = 0; i < n / 2; i++) {
            esc2 += s[i] == '"' ? 2 : 1;
        }
        bool over = base + esc + esc2 > limit;
        assert_true(c.lines[at].len <= limit);
        assert_int_equal(c.lines[at].truncated, over);
        json_t *r = capture_parse(&c, at);
        assert_int_equal(json_is_true(json_object_get(r, "truncated")), over);
        const char *v = get_str(r, "s");
        assert_true(is_prefix(v, strlen(v), s, n));
        if (!over) {
            assert_int_equal(strlen(v), n);
            assert_int_equal(c.lines[at].len, base + esc + esc2);
        }
        json_decref(r);
    }
    free(s);
    sl_logger_free(lg);
    capture_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_strings_round_trip),
        cmocka_unit_test(test_one_mebibyte_field),
        cmocka_unit_test(test_cuts_respect_utf8_and_escapes),
        cmocka_unit_test(test_largest_strings_are_cut_first),
        cmocka_unit_test(test_limit_boundary),
        cmocka_unit_test(test_last_resort_drops_fields),
        cmocka_unit_test(test_sizes_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
