/* test_tracestate.c - tracestate validation tables: keys, values, member
 * counts, duplicates, blanks, empty members and the length limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "spanlog/trace.h"
#include "unit/trace_guard.h"

static trace_guard guard;

static sl_status parse(const char *s, size_t n, sl_span_context *c)
{
    return sl_tracestate_parse(trace_guard_place(&guard, s, n), n, c);
}

/* Valid: stored as `expect` (the header with its outer blanks trimmed). */
static void expect_ok(const char *s, const char *expect)
{
    sl_span_context c = sl_span_context_empty();
    c.flags = 1;
    c.tracestate_len = 3;
    memcpy(c.tracestate, "old", 4);
    sl_status st = parse(s, strlen(s), &c);
    if (st != SL_OK) {
        fail_msg("expected valid: \"%s\", got %d", s, st);
    }
    assert_string_equal(c.tracestate, expect);
    assert_int_equal(c.tracestate_len, strlen(expect));
    assert_int_equal(c.flags, 1); /* the rest is not touched */
}

static void expect_status(const char *s, size_t n, sl_status want)
{
    sl_span_context c = sl_span_context_empty();
    c.tracestate_len = 3;
    memcpy(c.tracestate, "old", 4);
    sl_status st = parse(s, n, &c);
    if (st != want) {
        fail_msg("\"%.*s\": expected %d, got %d", (int)(n > 80 ? 80 : n), s, want, st);
    }
    assert_int_equal(c.tracestate_len, 0);
    assert_string_equal(c.tracestate, "");
}

static void expect_bad(const char *s)
{
    expect_status(s, strlen(s), SL_EPARSE);
}

static void test_valid(void **state)
{
    (void)state;
    expect_ok("rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7");
    expect_ok("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
              "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    expect_ok("a=1", "a=1");
    expect_ok("a0_-*/=x", "a0_-*/=x");
    expect_ok("tenant@system=v", "tenant@system=v");
    expect_ok("0tenant@s=v", "0tenant@s=v");
    expect_ok("t@s0_-*/xxxxxxx=v", "t@s0_-*/xxxxxxx=v"); /* system-id of 14 */
    expect_ok("k=a b", "k=a b");
    expect_ok("k= leading", "k= leading");
    expect_ok("k=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~", "k=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~");
    expect_ok("k=v ", "k=v"); /* a trailing blank is OWS: trimmed */
    expect_ok("  k=v\t ", "k=v");
    expect_ok("k=v  ,  j=w", "k=v  ,  j=w");
    expect_ok("k=v\t,\tj=w", "k=v\t,\tj=w");
}

static void test_empty_members(void **state)
{
    (void)state;
    expect_ok("", "");
    expect_ok("   ", "");
    expect_ok(",", ",");
    expect_ok(",,,", ",,,");
    expect_ok("k=v,", "k=v,");
    expect_ok(",k=v", ",k=v");
    expect_ok("k=v, ,j=w", "k=v, ,j=w");
    expect_ok("k=v,\t,  ,j=w", "k=v,\t,  ,j=w");
}

static void test_bad_keys(void **state)
{
    (void)state;
    expect_bad("=v");
    expect_bad("K=v");
    expect_bad("kEy=v");
    expect_bad("1key=v"); /* a simple key starts with a letter */
    expect_bad("_k=v");
    expect_bad("k.x=v");
    expect_bad("k x=v");
    expect_bad("k =v");
    expect_bad("k\t=v");
    expect_bad("@s=v");
    expect_bad("t@=v");
    expect_bad("t@0s=v"); /* system-id starts with a letter */
    expect_bad("t@s@x=v");
    expect_bad("T@s=v");
    expect_bad("_t@s=v");
    expect_bad("t@sssssssssssssss=v"); /* system-id of 15 */
    expect_bad("kv");
    expect_bad("k");
    expect_bad("k=v,j");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_bad("k=");
    expect_bad("k= ");
    expect_bad("k=a=b");
    expect_bad("k=a\tb");
    expect_bad("k=a\nb");
    expect_bad("k=\x7f");
    expect_bad("k=\x80");
    expect_bad("k=caf\xc3\xa9");
    char nul[] = {'k', '=', 'a', '\0', 'b'};
    expect_status(nul, sizeof nul, SL_EPARSE);
}

static void test_key_lengths(void **state)
{
    (void)state;
    char buf[600];
    /* simple-key: 256 ok, 257 not. */
    memset(buf, 'k', 256);
    memcpy(buf + 256, "=v", 3);
    expect_ok(buf, buf);
    memset(buf, 'k', 257);
    memcpy(buf + 257, "=v", 3);
    expect_bad(buf);
    /* tenant-id: 241 ok, 242 not. */
    memset(buf, 't', 241);
    memcpy(buf + 241, "@s=v", 5);
    expect_ok(buf, buf);
    memset(buf, 't', 242);
    memcpy(buf + 242, "@s=v", 5);
    expect_bad(buf);
}

static void test_value_lengths(void **state)
{
    (void)state;
    char buf[300];
    memcpy(buf, "k=", 2);
    memset(buf + 2, 'v', 256);
    buf[258] = '\0';
    expect_ok(buf, buf);
    memset(buf + 2, 'v', 257);
    buf[259] = '\0';
    expect_bad(buf);
}

static size_t make_members(char *buf, int count, const char *sep)
{
    size_t n = 0;
    for (int i = 0; i < count; i++) {
        n += (size_t)sprintf(buf + n, "%sk%d=%d", i ? sep : "", i, i);
    }
    return n;
}

static void test_member_count(void **state)
{
    (void)state;
    char buf[1024];
    make_members(buf, 32, ",");
    expect_ok(buf, buf);
    make_members(buf, 33, ",");
    expect_bad(buf);
    /* Empty members do not count. */
    size_t n = make_members(buf, 32, ",,");
    expect_ok(buf, buf);
    (void)n;
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_bad("k=1,k=2");
    expect_bad("k=1,j=2,k=1");
    expect_bad("t@s=1, t@s=2");
    expect_ok("k=1,kk=2,k@s=3,t@k=4", "k=1,kk=2,k@s=3,t@k=4");
}

static void test_length_limit(void **state)
{
    (void)state;
    char buf[1200];
    /* Exactly SL_TRACESTATE_MAX (512) characters: kept. */
    memcpy(buf, "a=", 2);
    memset(buf + 2, 'x', 251);
    memcpy(buf + 253, ",b=", 3);
    memset(buf + 256, 'y', 256);
    buf[511] = 'z';
    buf[512] = '\0';
    assert_int_equal(strlen(buf), 512);
    expect_ok(buf, buf);
    /* Blanks around it do not count. */
    char padded[600];
    snprintf(padded, sizeof padded, "  %s \t", buf);
    expect_ok(padded, buf);
    /* One more: valid but too long to keep. */
    memcpy(buf + 512, ",c=1", 5);
    expect_status(buf, strlen(buf), SL_ERANGE);
    /* Too long and invalid: reported as invalid. */
    memcpy(buf + 512, ",C=1", 5);
    expect_status(buf, strlen(buf), SL_EPARSE);
}

static void test_null(void **state)
{
    (void)state;
    sl_span_context c = sl_span_context_empty();
    c.tracestate_len = 3;
    memcpy(c.tracestate, "old", 4);
    assert_int_equal(sl_tracestate_parse(NULL, 3, &c), SL_EINVAL);
    assert_int_equal(c.tracestate_len, 0);
    assert_int_equal(sl_tracestate_parse("k=v", 3, NULL), SL_EINVAL);
}

int main(void)
{
    if (trace_guard_init(&guard) != 0) {
        fprintf(stderr, "cannot set up the guard page\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),        cmocka_unit_test(test_empty_members),
        cmocka_unit_test(test_bad_keys),     cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_key_lengths),  cmocka_unit_test(test_value_lengths),
        cmocka_unit_test(test_member_count), cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_length_limit), cmocka_unit_test(test_null),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    trace_guard_free(&guard);
    return rc;
}
