/* test_baggage.c - W3C baggage tables (valid, malformed, limits,
 * percent-encoding), derivation, and baggage on the context stack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "internal.h"
#include "spanlog/baggage.h"
#include "spanlog/span.h"
#include "unit/trace_guard.h"

static trace_guard guard;

static sl_baggage *parse(const char *s, size_t *dropped)
{
    sl_baggage *b = NULL;
    size_t n = strlen(s);
    assert_int_equal(sl_baggage_parse(trace_guard_place(&guard, s, n), n, &b, dropped),
                     SL_OK);
    return b;
}

static void expect_entry(const sl_baggage *b, size_t i, const char *k, const char *v,
                         const char *props)
{
    const char *key, *val, *pr;
    size_t vl;
    assert_int_equal(sl_baggage_entry(b, i, &key, &val, &vl, &pr), SL_OK);
    assert_string_equal(key, k);
    assert_int_equal(vl, strlen(v));
    assert_memory_equal(val, v, vl);
    assert_string_equal(pr, props);
}

static void expect_format(const sl_baggage *b, const char *want)
{
    char buf[16384];
    size_t n;
    assert_int_equal(sl_baggage_format(b, buf, sizeof buf, &n), SL_OK);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_valid(void **state)
{
    (void)state;
    size_t dropped = 99;
    sl_baggage *b = parse("userId=alice,serverNode=DF%2028,isProduction=false", &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(sl_baggage_count(b), 3);
    expect_entry(b, 0, "userId", "alice", "");
    expect_entry(b, 1, "serverNode", "DF 28", "");
    expect_entry(b, 2, "isProduction", "false", "");
    expect_format(b, "userId=alice,serverNode=DF%2028,isProduction=false");
    sl_baggage_free(b);

    /* The spec's example, blanks and properties. */
    b = parse("key1=value1;property1;property2, key2 = value2, key3=value3; "
              "propertyKey=propertyValue",
              &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(sl_baggage_count(b), 3);
    expect_entry(b, 0, "key1", "value1", "property1;property2");
    expect_entry(b, 1, "key2", "value2", "");
    expect_entry(b, 2, "key3", "value3", "propertyKey=propertyValue");
    expect_format(b, "key1=value1;property1;property2,key2=value2,key3=value3;"
                     "propertyKey=propertyValue");
    sl_baggage_free(b);

    /* Values may contain '=', be empty, use every allowed octet. */
    b = parse("\t a=b=c , e= ,t=!#$&'()*+-./:<=>?@[]^_`{|}~", &dropped);
    assert_int_equal(dropped, 0);
    expect_entry(b, 0, "a", "b=c", "");
    expect_entry(b, 1, "e", "", "");
    expect_entry(b, 2, "t", "!#$&'()*+-./:<=>?@[]^_`{|}~", "");
    sl_baggage_free(b);

    /* Token keys: every tchar. */
    b = parse("!#$%&'*+-.^_`|~09azAZ=1", &dropped);
    expect_entry(b, 0, "!#$%&'*+-.^_`|~09azAZ", "1", "");
    sl_baggage_free(b);
}

static void test_percent(void **state)
{
    (void)state;
    size_t dropped;
    sl_baggage *b =
        parse("a=%E2%82%AC,b=%e2%82%ac%20x,c=100%25,d=%2C%3B%3D%22%5C", &dropped);
    assert_int_equal(dropped, 0);
    expect_entry(b, 0, "a", "\xe2\x82\xac", "");
    expect_entry(b, 1, "b", "\xe2\x82\xac x", "");
    expect_entry(b, 2, "c", "100%", "");
    expect_entry(b, 3, "d", ",;=\"\\", "");
    expect_format(b, "a=%E2%82%AC,b=%E2%82%AC%20x,c=100%25,d=%2C%3B=%22%5C");
    sl_baggage_free(b);
    /* Undecodable UTF-8 becomes U+FFFD; a NUL byte survives with its length. */
    b = parse("bad=%FF%C3,nul=a%00b,over=%C0%AF", &dropped);
    assert_int_equal(dropped, 0);
    expect_entry(b, 0, "bad", "\xef\xbf\xbd\xef\xbf\xbd", "");
    const char *v;
    size_t vl;
    assert_int_equal(sl_baggage_get(b, "nul", &v, &vl), SL_OK);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "a\0b", 3);
    expect_entry(b, 2, "over", "\xef\xbf\xbd\xef\xbf\xbd", "");
    expect_format(b, "bad=%EF%BF%BD%EF%BF%BD,nul=a%00b,over=%EF%BF%BD%EF%BF%BD");
    sl_baggage_free(b);
}

static void test_invalid_members(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "=v",      "k",          "k v=1",  "k=v v",   "k=\"q\"",     "k=a\\b",    "k=%zz",
        "k=%4",    "k=%",        "k=v;=p", "k=v;p q", "k=v;p=\"x\"", "k=v;",      "(k)=v",
        "k=v\x01", "k=\xc3\xa9", "k@x=1",  "k=v;;p",  "k:=v",        "k=v;p=a b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char header[64];
        snprintf(header, sizeof header, "good=1,%s,last=2", bad[i]);
        size_t dropped = 0;
        sl_baggage *b = parse(header, &dropped);
        if (dropped != 1 || sl_baggage_count(b) != 2) {
            fail_msg("member \"%s\": dropped %zu, kept %zu", bad[i], dropped,
                     sl_baggage_count(b));
        }
        expect_entry(b, 0, "good", "1", "");
        expect_entry(b, 1, "last", "2", "");
        sl_baggage_free(b);
    }
    /* Empty members are skipped without counting; an all-blank header is no
     * baggage. */
    size_t dropped = 9;
    sl_baggage *b = parse("a=1,, ,b=2,", &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(sl_baggage_count(b), 2);
    sl_baggage_free(b);
    assert_null(parse("  \t ", &dropped));
    assert_null(parse("", &dropped));
    assert_null(parse("garbage", &dropped));
    assert_int_equal(dropped, 1);
    assert_int_equal(sl_baggage_parse(NULL, 0, &b, NULL), SL_EINVAL);
    assert_int_equal(sl_baggage_parse("a=1", 3, NULL, NULL), SL_EINVAL);
}

static void test_limits(void **state)
{
    (void)state;
    /* 180 members kept, the 181st and later dropped. */
    char *h = malloc(20000);
    assert_non_null(h);
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        n += (size_t)sprintf(h + n, "%sk%d=%d", i ? "," : "", i, i);
    }
    size_t dropped;
    sl_baggage *b = parse(h, &dropped);
    assert_int_equal(sl_baggage_count(b), SL_BAGGAGE_MAX_MEMBERS);
    assert_int_equal(dropped, 200 - SL_BAGGAGE_MAX_MEMBERS);
    expect_entry(b, 179, "k179", "179", "");
    sl_baggage_free(b);
    /* 64 large members in 8192 bytes: all kept. */
    n = 0;
    for (int i = 0; i < 64; i++) {
        n += (size_t)sprintf(h + n, "%sk%02d=", i ? "," : "", i);
        size_t vlen = i == 0 ? 124 : 123; /* 64 * 128 bytes, commas included */
        memset(h + n, 'v', vlen);
        n += vlen;
    }
    h[n] = '\0';
    assert_int_equal(n, 8192);
    b = parse(h, &dropped);
    assert_int_equal(sl_baggage_count(b), 64);
    assert_int_equal(dropped, 0);
    char out[9000];
    size_t ol;
    assert_int_equal(sl_baggage_format(b, out, sizeof out, &ol), SL_OK);
    assert_string_equal(out, h);
    /* Too small a buffer: SL_ERANGE with the needed length. */
    assert_int_equal(sl_baggage_format(b, out, 100, &ol), SL_ERANGE);
    assert_int_equal(ol, 8192);
    assert_string_equal(out, "");
    sl_baggage_free(b);
    /* One more member past 8192 bytes: dropped. */
    strcpy(h + n, ",extra=1");
    b = parse(h, &dropped);
    assert_int_equal(sl_baggage_count(b), 64);
    assert_int_equal(dropped, 1);
    sl_baggage_free(b);
    free(h);
}

static void test_derive(void **state)
{
    (void)state;
    sl_baggage *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    assert_int_equal(sl_baggage_set(NULL, "tenantId", "acme corp", NULL, &a), SL_OK);
    assert_int_equal(sl_baggage_set(a, "user", "u,1", "pii;ttl=60", &b), SL_OK);
    assert_int_equal(sl_baggage_set(b, "tenantId", "other", "", &c), SL_OK);
    expect_format(a, "tenantId=acme%20corp");
    expect_format(b, "tenantId=acme%20corp,user=u%2C1;pii;ttl=60");
    expect_format(c, "user=u%2C1;pii;ttl=60,tenantId=other");
    const char *v;
    assert_int_equal(sl_baggage_get(c, "tenantId", &v, NULL), SL_OK);
    assert_string_equal(v, "other");
    assert_int_equal(sl_baggage_get(c, "nope", &v, NULL), SL_ENOENT);
    assert_int_equal(sl_baggage_remove(c, "user", &d), SL_OK);
    expect_format(d, "tenantId=other");
    sl_baggage *e = (sl_baggage *)1;
    assert_int_equal(sl_baggage_remove(d, "tenantId", &e), SL_OK);
    assert_null(e);
    assert_int_equal(sl_baggage_set(NULL, "bad key", "v", NULL, &e), SL_EINVAL);
    assert_int_equal(sl_baggage_set(NULL, "k", "v", "bad prop", &e), SL_EINVAL);
    assert_int_equal(sl_baggage_set(NULL, "k", NULL, NULL, &e), SL_EINVAL);
    assert_int_equal(sl_baggage_set(NULL, NULL, "v", NULL, &e), SL_EINVAL);
    /* Duplicates from a header: the last one wins for get. */
    size_t dropped;
    sl_baggage *dup = parse("k=1,k=2", &dropped);
    assert_int_equal(sl_baggage_get(dup, "k", &v, NULL), SL_OK);
    assert_string_equal(v, "2");
    assert_int_equal(sl_baggage_count(dup), 2);
    sl_baggage_free(dup);
    /* A value too large for the byte limit. */
    char *big = malloc(9000);
    memset(big, 'x', 8999);
    big[8999] = '\0';
    assert_int_equal(sl_baggage_set(NULL, "k", big, NULL, &e), SL_ERANGE);
    free(big);
    /* References. */
    assert_ptr_equal(sl_baggage_ref(a), a);
    sl_baggage_free(a);
    assert_null(sl_baggage_ref(NULL));
    sl_baggage_free(NULL);
    sl_baggage_free(a);
    sl_baggage_free(b);
    sl_baggage_free(c);
    sl_baggage_free(d);
    assert_int_equal(sl_baggage_count(NULL), 0);
    char out[4];
    assert_int_equal(sl_baggage_format(NULL, out, sizeof out, NULL), SL_OK);
    assert_string_equal(out, "");
}

static void test_current(void **state)
{
    (void)state;
    assert_null(sl_baggage_current());
    sl_baggage *b = NULL;
    assert_int_equal(sl_baggage_set(NULL, "tenantId", "acme", NULL, &b), SL_OK);
    sl_context_token bt;
    assert_int_equal(sl_baggage_attach(b, &bt), SL_OK);
    sl_baggage_free(b); /* the stack holds its own reference */
    assert_non_null(sl_baggage_current());
    assert_ptr_equal(sl__baggage_current(), sl_baggage_current());
    size_t vl;
    const char *v = sl__baggage_value(sl__baggage_current(), "tenantIdXX", 8, &vl);
    assert_non_null(v);
    assert_int_equal(vl, 4);
    assert_memory_equal(v, "acme", 4);
    assert_null(sl__baggage_value(sl__baggage_current(), "tenant", 6, &vl));
    assert_null(sl__baggage_value(NULL, "tenantId", 8, &vl));
    /* No span context yet: the baggage entry carries none. */
    assert_null(sl_context_current());
    /* A span started now keeps the baggage; ending it keeps it too. */
    sl_span *s = sl_span_start("with baggage", SL_SPAN_SERVER);
    assert_non_null(sl_context_current());
    assert_int_equal(sl_baggage_get(sl_baggage_current(), "tenantId", &v, NULL), SL_OK);
    /* An inner baggage hides it until detached. */
    sl_baggage *inner = NULL;
    assert_int_equal(sl_baggage_set(sl_baggage_current(), "step", "2", NULL, &inner),
                     SL_OK);
    sl_context_token it;
    assert_int_equal(sl_baggage_attach(inner, &it), SL_OK);
    assert_int_equal(sl_baggage_count(sl_baggage_current()), 2);
    /* ...and the span context stays current under it. */
    assert_memory_equal(&sl_context_current()->span_id, &sl_span_get_context(s)->span_id,
                        8);
    assert_int_equal(sl_context_detach(it), SL_OK);
    sl_baggage_free(inner);
    assert_int_equal(sl_baggage_count(sl_baggage_current()), 1);
    sl_span_end(s);
    assert_int_equal(sl_baggage_count(sl_baggage_current()), 1);
    assert_int_equal(sl_context_detach(bt), SL_OK);
    assert_null(sl_baggage_current());
    /* Attaching NULL baggage hides the outer one. */
    assert_int_equal(sl_baggage_attach(NULL, &bt), SL_OK);
    assert_null(sl_baggage_current());
    assert_int_equal(sl_context_detach(bt), SL_OK);
}

typedef struct handoff {
    sl_span_context ctx;
    sl_baggage *bag; /* a reference taken by the sending thread */
    char tenant[16];
    int same_span;
    int empty_after;
} handoff;

static void *receiver(void *p)
{
    handoff *h = p;
    sl_context_token t;
    if (sl_context_attach_with(&h->ctx, h->bag, &t) != SL_OK) {
        return NULL;
    }
    sl_baggage_free(h->bag); /* the stack has its own reference now */
    const char *v;
    if (sl_baggage_get(sl_baggage_current(), "tenantId", &v, NULL) == SL_OK) {
        snprintf(h->tenant, sizeof h->tenant, "%s", v);
    }
    h->same_span = memcmp(&sl_context_current()->span_id, &h->ctx.span_id, 8) == 0;
    sl_context_detach(t);
    h->empty_after = sl_baggage_current() == NULL && sl_context_current() == NULL;
    return NULL;
}

static void test_handoff(void **state)
{
    (void)state;
    sl_baggage *b = NULL;
    assert_int_equal(sl_baggage_set(NULL, "tenantId", "acme", NULL, &b), SL_OK);
    sl_context_token bt;
    assert_int_equal(sl_baggage_attach(b, &bt), SL_OK);
    sl_baggage_free(b);
    sl_span *s = sl_span_start("send", SL_SPAN_PRODUCER);
    enum { N = 4 };
    handoff h[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&h[i], 0, sizeof h[i]);
        h[i].ctx = *sl_context_current();
        h[i].bag = sl_baggage_ref(sl_baggage_current());
        assert_int_equal(pthread_create(&th[i], NULL, receiver, &h[i]), 0);
    }
    /* The sender may drop its own context while receivers still run. */
    sl_span_end(s);
    assert_int_equal(sl_context_detach(bt), SL_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_string_equal(h[i].tenant, "acme");
        assert_true(h[i].same_span);
        assert_true(h[i].empty_after);
    }
}

/* W3C Baggage: property values are percent-encoded like member values. */
static void test_property_values_decoded(void **state)
{
    (void)state;
    const char *h = "k=v;p=a%20b%E2%82%AC;flag;q=%41%ff;r=plain";
    sl_baggage *b = NULL;
    size_t dropped = 9;
    assert_int_equal(sl_baggage_parse(h, strlen(h), &b, &dropped), SL_OK);
    assert_int_equal(dropped, 0);
    const char *props;
    assert_int_equal(sl_baggage_entry(b, 0, NULL, NULL, NULL, &props), SL_OK);
    /* one canonical encoding; invalid UTF-8 became U+FFFD */
    assert_string_equal(props, "p=a%20b%E2%82%AC;flag;q=A%EF%BF%BD;r=plain");
    char buf[32];
    size_t n = 0;
    assert_int_equal(sl_baggage_property(b, 0, "p", buf, sizeof buf, &n), SL_OK);
    assert_string_equal(buf, "a b\xe2\x82\xac");
    assert_int_equal(n, 6);
    assert_int_equal(sl_baggage_property(b, 0, "q", buf, sizeof buf, &n), SL_OK);
    assert_string_equal(buf, "A\xef\xbf\xbd");
    assert_int_equal(sl_baggage_property(b, 0, "flag", buf, sizeof buf, &n), SL_OK);
    assert_string_equal(buf, "");
    assert_int_equal(n, 0);
    assert_int_equal(sl_baggage_property(b, 0, "r", buf, 3, &n), SL_ERANGE);
    assert_int_equal(n, 5);
    assert_int_equal(sl_baggage_property(b, 0, "none", buf, sizeof buf, &n), SL_ENOENT);
    assert_int_equal(sl_baggage_property(b, 1, "p", buf, sizeof buf, &n), SL_ENOENT);
    /* format writes the canonical form, which parses back the same */
    char out[128];
    assert_int_equal(sl_baggage_format(b, out, sizeof out, NULL), SL_OK);
    assert_string_equal(out, "k=v;p=a%20b%E2%82%AC;flag;q=A%EF%BF%BD;r=plain");
    sl_baggage_free(b);

    /* A malformed escape in a property value drops the member, like in a value. */
    const char *bad = "a=1;p=%zz,b=2;p=%4,c=3";
    assert_int_equal(sl_baggage_parse(bad, strlen(bad), &b, &dropped), SL_OK);
    assert_int_equal(dropped, 2);
    assert_int_equal(sl_baggage_count(b), 1);
    sl_baggage_free(b);
}

int main(void)
{
    if (trace_guard_init(&guard) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_percent),
        cmocka_unit_test(test_invalid_members),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_current),
        cmocka_unit_test(test_handoff),
        cmocka_unit_test(test_property_values_decoded),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    trace_guard_free(&guard);
    return rc;
}
