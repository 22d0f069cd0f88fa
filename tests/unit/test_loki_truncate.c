/*
 * test_loki_truncate.c - oversized lines cut to a still-valid JSON record:
 * a long top-level string is cut at a character boundary (never inside an
 * escape or a UTF-8 sequence), other crossing members are left out, and the
 * result always parses, fits the limit and says "truncated":true.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "adapters/loki/loki_internal.h"

static json_t *cut_and_parse(const char *line, size_t limit, size_t *out_len)
{
    size_t len = strlen(line);
    char *out = malloc(limit + 1);
    size_t n = sl__loki_truncate(line, len, limit, out);
    assert_true(n <= limit);
    json_error_t e;
    json_t *j = json_loadb(out, n, 0, &e);
    if (j == NULL) {
        fail_msg("not JSON after cut to %zu: %s: %.*s", limit, e.text, (int)n, out);
    }
    if (out_len) {
        *out_len = n;
    }
    free(out);
    return j;
}

static void test_fits_unchanged(void **state)
{
    (void)state;
    const char *line = "{\"level\":\"info\",\"msg\":\"hi\"}";
    char out[64];
    size_t n = sl__loki_truncate(line, strlen(line), 64, out);
    assert_int_equal(n, strlen(line));
    assert_memory_equal(out, line, n);
}

static void test_long_message(void **state)
{
    (void)state;
    size_t big = 5000;
    char *line = malloc(big + 200);
    int k =
        sprintf(line, "{\"time\":\"2026-11-21T10:15:30Z\",\"level\":\"info\",\"msg\":\"");
    for (size_t i = 0; i < big; i++) {
        line[k++] = (char)('a' + i % 26);
    }
    strcpy(line + k, "\",\"service\":\"svc\",\"n\":5}");
    for (size_t limit = 80; limit < 1200; limit += 37) {
        size_t n;
        json_t *j = cut_and_parse(line, limit, &n);
        assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
        assert_true(json_is_true(json_object_get(j, "truncated")));
        const char *msg = json_string_value(json_object_get(j, "msg"));
        assert_non_null(msg);
        /* The message keeps as much as fits: nothing wasted beyond a byte. */
        assert_int_equal(n, limit);
        assert_memory_equal(msg, "abcdefghijklmnopqrstuvwxyz",
                            strlen(msg) < 26 ? strlen(msg) : 26);
        assert_null(json_object_get(j, "service"));
        json_decref(j);
    }
    free(line);
}

static void test_escapes_and_utf8_at_cut(void **state)
{
    (void)state;
    /* The message is a run of escapes and multi-byte characters: every cut
     * position must land on a boundary. */
    char line[4096];
    int k = sprintf(line, "{\"level\":\"warn\",\"msg\":\"");
    const char *pieces[] = {"\\\"",     "\\\\",         "\\u0001",
                            "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                            "x",        "\\n",          "\\ud83d\\ude00"};
    for (int i = 0; k < 3000; i++) {
        const char *p = pieces[i % 9];
        memcpy(line + k, p, strlen(p));
        k += (int)strlen(p);
    }
    strcpy(line + k, "\"}");
    json_error_t e;
    json_t *whole = json_loads(line, 0, &e);
    assert_non_null(whole);
    const char *full = json_string_value(json_object_get(whole, "msg"));
    for (size_t limit = 60; limit < 400; limit++) {
        json_t *j = cut_and_parse(line, limit, NULL);
        const char *msg = json_string_value(json_object_get(j, "msg"));
        assert_non_null(msg);
        /* A prefix of the decoded original. */
        assert_memory_equal(msg, full, strlen(msg));
        assert_true(json_is_true(json_object_get(j, "truncated")));
        json_decref(j);
    }
    json_decref(whole);
}

static void test_nested_member_left_out(void **state)
{
    (void)state;
    char line[8192];
    int k = sprintf(line, "{\"level\":\"info\",\"msg\":\"m\",\"obj\":{\"a\":[1,2,\"");
    memset(line + k, 'z', 3000);
    k += 3000;
    strcpy(line + k, "\"]},\"tail\":1}");
    json_t *j = cut_and_parse(line, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "m");
    assert_null(json_object_get(j, "obj"));
    assert_null(json_object_get(j, "tail"));
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);

    /* The first member already crosses: only the marker remains. */
    k = sprintf(line, "{\"obj\":{\"k\":\"");
    memset(line + k, 'y', 3000);
    k += 3000;
    strcpy(line + k, "\"}}");
    j = cut_and_parse(line, 100, NULL);
    assert_int_equal(json_object_size(j), 1);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);

    /* A long key crossing the budget. */
    k = sprintf(line, "{\"a\":1,\"");
    memset(line + k, 'k', 3000);
    k += 3000;
    strcpy(line + k, "\":2}");
    j = cut_and_parse(line, 100, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
}

static void test_not_an_object(void **state)
{
    (void)state;
    char out[16];
    const char *s = "plain text \xe2\x82\xac\xe2\x82\xac";
    size_t n = sl__loki_truncate(s, strlen(s), 13, out);
    assert_int_equal(n, 11); /* never half a euro sign */
    assert_memory_equal(out, s, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_unchanged),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_escapes_and_utf8_at_cut),
        cmocka_unit_test(test_nested_member_left_out),
        cmocka_unit_test(test_not_an_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
