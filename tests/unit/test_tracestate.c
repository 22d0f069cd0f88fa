/* test_tracestate.c - tracestate tables, Trace Context Level 2: keys,
 * values, member counts, duplicates (kept first), blanks, empty members,
 * truncation past 512 characters, and the entry API (list, get, set moving
 * the entry left, remove, the 32-member edge). */
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
    expect_ok("t@s0_-*/xxxxxxx=v", "t@s0_-*/xxxxxxx=v");
    /* Level 2 keys: a leading digit, '@' anywhere after the first byte. */
    expect_ok("1vendor=x", "1vendor=x");
    expect_ok("foo@=1", "foo@=1");
    expect_ok("foo@@bar=1", "foo@@bar=1");
    expect_ok("foo@bar@baz=1", "foo@bar@baz=1");
    expect_ok("t@0s=v", "t@0s=v");
    expect_ok("t@sssssssssssssss=v", "t@sssssssssssssss=v"); /* t@ and 15 */
    expect_ok("t@=v", "t@=v");
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
    expect_bad("_k=v");
    expect_bad("k.x=v");
    expect_bad("k x=v");
    expect_bad("k =v");
    expect_bad("k\t=v");
    expect_bad("@s=v");
    expect_bad("T@s=v");
    expect_bad("_t@s=v");
    expect_bad("t@S=v");
    expect_bad("k@=v,K=1"); /* one bad member: the whole header */
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
    /* Level 2: one key grammar with '@', 256 at most: 242 + "@v" is fine
     * (Level 1's tenant-id limit of 241 is gone), 255 + "@v" is not. */
    memset(buf, 't', 242);
    memcpy(buf + 242, "@v=v", 5);
    expect_ok(buf, buf);
    memset(buf, '1', 254);
    memcpy(buf + 254, "@v=v", 5);
    expect_ok(buf, buf);
    memset(buf, 't', 255);
    memcpy(buf + 255, "@v=v", 5);
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
    /* Kept, not dropped: the first entry of a key wins (the leftmost is the
     * most recently updated), later ones are removed, the rest rebuilt. */
    expect_ok("k=1,k=2", "k=1");
    expect_ok("k=1,j=2,k=1", "k=1,j=2");
    expect_ok("t@s=1, t@s=2", "t@s=1");
    expect_ok("k=1 , j=2 ,k=3,,i=4", "k=1,j=2,i=4");
    expect_ok("k=1,kk=2,k@s=3,t@k=4", "k=1,kk=2,k@s=3,t@k=4");
    sl_span_context c = sl_span_context_empty();
    sl_tracestate_info info;
    assert_int_equal(sl_tracestate_parse_info("a=1,b=2,a=3,b=4,c=5", 19, &c, &info),
                     SL_OK);
    assert_string_equal(c.tracestate, "a=1,b=2,c=5");
    assert_int_equal(info.members, 3);
    assert_int_equal(info.duplicates_removed, 2);
    assert_int_equal(info.truncated_removed, 0);
    /* 33 entries of which one is a duplicate: still more than 32 members. */
    char buf[1024];
    size_t n = make_members(buf, 32, ",");
    memcpy(buf + n, ",k0=9", 6);
    expect_bad(buf);
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
    /* Longer: whole entries go, those over 128 characters first (from the
     * right: b, 258), so a and the small c stay. */
    memcpy(buf + 512, ",c=1", 5);
    sl_span_context c = sl_span_context_empty();
    sl_tracestate_info info;
    assert_int_equal(sl_tracestate_parse_info(buf, strlen(buf), &c, &info), SL_OK);
    assert_int_equal(c.tracestate_len, 253 + 4);
    assert_memory_equal(c.tracestate, buf, 253);
    assert_string_equal(c.tracestate + 253, ",c=1");
    assert_int_equal(info.truncated_removed, 1);
    assert_int_equal(info.members, 2);
    /* Only short entries: removed from the end. 32 entries of 20. */
    char many[1024];
    size_t n = 0;
    for (int i = 0; i < 32; i++) {
        n += (size_t)sprintf(many + n, "%sk%02d=%016d", i ? "," : "", i, i);
    }
    assert_int_equal(sl_tracestate_parse_info(many, n, &c, &info), SL_OK);
    assert_int_equal(info.members, 24); /* 24 * 20 + 23 = 503 <= 512 */
    assert_int_equal(info.truncated_removed, 8);
    assert_memory_equal(c.tracestate, many, 503);
    assert_int_equal(c.tracestate_len, 503);
    /* Too long and invalid: reported as invalid. */
    memcpy(buf + 512, ",C=1", 5);
    expect_status(buf, strlen(buf), SL_EPARSE);
}

static void test_entry_api(void **state)
{
    (void)state;
    sl_span_context c = sl_span_context_empty();
    const char *in = " rojo=00f067aa0ba902b7 ,, congo=t61rcWkgMzE";
    assert_int_equal(sl_tracestate_parse(in, strlen(in), &c), SL_OK);
    assert_int_equal(sl_tracestate_count(&c), 2);
    sl_tracestate_entry_view e;
    assert_int_equal(sl_tracestate_entry(&c, 1, &e), SL_OK);
    assert_int_equal(e.key_len, 5);
    assert_memory_equal(e.key, "congo", 5);
    assert_int_equal(e.value_len, 11);
    assert_memory_equal(e.value, "t61rcWkgMzE", 11);
    assert_int_equal(sl_tracestate_entry(&c, 2, &e), SL_ENOENT);
    const char *v;
    size_t vn;
    assert_int_equal(sl_tracestate_get(&c, "rojo", &v, &vn), SL_OK);
    assert_int_equal(vn, 16);
    assert_memory_equal(v, "00f067aa0ba902b7", 16);
    assert_int_equal(sl_tracestate_get(&c, "roj", &v, &vn), SL_ENOENT);

    /* Update: moved to the left. Add: on the left. */
    assert_int_equal(sl_tracestate_set(&c, "congo", "new"), SL_OK);
    assert_string_equal(c.tracestate, "congo=new,rojo=00f067aa0ba902b7");
    assert_int_equal(sl_tracestate_set(&c, "me@1", "x y"), SL_OK);
    assert_string_equal(c.tracestate, "me@1=x y,congo=new,rojo=00f067aa0ba902b7");
    /* Refused, ctx unchanged. */
    assert_int_equal(sl_tracestate_set(&c, "Bad", "1"), SL_EPARSE);
    assert_int_equal(sl_tracestate_set(&c, "k", "a,b"), SL_EPARSE);
    assert_int_equal(sl_tracestate_set(&c, "k", "trailing "), SL_EPARSE);
    assert_int_equal(sl_tracestate_set(&c, "k", ""), SL_EPARSE);
    assert_int_equal(sl_tracestate_set(NULL, "k", "v"), SL_EINVAL);
    char key[257], val[257];
    memset(key, 'k', 256);
    key[256] = '\0';
    memset(val, 'v', 256);
    val[256] = '\0';
    assert_int_equal(sl_tracestate_set(&c, key, val), SL_ERANGE); /* 513 alone */
    assert_string_equal(c.tracestate, "me@1=x y,congo=new,rojo=00f067aa0ba902b7");
    assert_int_equal(sl_tracestate_remove(&c, "congo"), SL_OK);
    assert_string_equal(c.tracestate, "me@1=x y,rojo=00f067aa0ba902b7");
    assert_int_equal(sl_tracestate_remove(&c, "congo"), SL_ENOENT);
    assert_int_equal(sl_tracestate_remove(&c, "me@1"), SL_OK);
    assert_int_equal(sl_tracestate_remove(&c, "rojo"), SL_OK);
    assert_int_equal(c.tracestate_len, 0);
    assert_int_equal(sl_tracestate_count(&c), 0);

    /* At 32 members: a new key pushes out the rightmost; an update does not. */
    char buf[1024];
    size_t n = make_members(buf, 32, ",");
    assert_int_equal(sl_tracestate_parse(buf, n, &c), SL_OK);
    assert_int_equal(sl_tracestate_set(&c, "k5", "u"), SL_OK);
    assert_int_equal(sl_tracestate_count(&c), 32);
    assert_int_equal(sl_tracestate_get(&c, "k31", NULL, NULL), SL_OK);
    assert_int_equal(sl_tracestate_set(&c, "mine", "1"), SL_OK);
    assert_int_equal(sl_tracestate_count(&c), 32);
    assert_int_equal(sl_tracestate_get(&c, "k31", NULL, NULL), SL_ENOENT);
    assert_int_equal(sl_tracestate_entry(&c, 0, &e), SL_OK);
    assert_memory_equal(e.key, "mine", 4);
    assert_int_equal(sl_tracestate_entry(&c, 1, &e), SL_OK);
    assert_memory_equal(e.key, "k5", 2);

    /* Past 512 characters: others go by the truncation rule, never the new one. */
    char big[300];
    memset(big, 'b', 250);
    big[250] = '\0';
    const char *two = "a=1,c=2";
    assert_int_equal(sl_tracestate_parse(two, strlen(two), &c), SL_OK);
    assert_int_equal(sl_tracestate_set(&c, "x", big), SL_OK);
    /* y, x, a, c would be 513: x, the long one to the right, goes. */
    assert_int_equal(sl_tracestate_set(&c, "y", big), SL_OK);
    assert_int_equal(sl_tracestate_get(&c, "x", NULL, NULL), SL_ENOENT);
    assert_int_equal(sl_tracestate_get(&c, "a", NULL, NULL), SL_OK);
    assert_int_equal(sl_tracestate_set(&c, "z", big), SL_OK); /* now y goes */
    assert_int_equal(sl_tracestate_get(&c, "z", NULL, NULL), SL_OK);
    assert_int_equal(sl_tracestate_get(&c, "y", NULL, NULL), SL_ENOENT);
    assert_int_equal(sl_tracestate_get(&c, "c", NULL, NULL), SL_OK);
    assert_true(c.tracestate_len <= SL_TRACESTATE_MAX);
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
        cmocka_unit_test(test_length_limit), cmocka_unit_test(test_entry_api),
        cmocka_unit_test(test_null),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    trace_guard_free(&guard);
    return rc;
}
