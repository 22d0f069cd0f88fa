/* test_propagation.c - extract and inject through carriers: header name
 * case, duplicates, invalid headers, joined fields, round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "spanlog/propagation.h"
#include "spanlog/span.h"

#define TP  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
#define TID "0af7651916cd43dd8448eb211c80319c"

/* A header list: what an HTTP library would hold. */
typedef struct headers {
    char names[16][32];
    char values[16][9000];
    size_t n;
    int fail_set;
} headers;

static headers *hs_new(void)
{
    headers *h = calloc(1, sizeof *h);
    assert_non_null(h);
    return h;
}

static void hs_add(headers *h, const char *name, const char *value)
{
    snprintf(h->names[h->n], sizeof h->names[0], "%s", name);
    snprintf(h->values[h->n], sizeof h->values[0], "%s", value);
    h->n++;
}

static const char *hs_find(const headers *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->names[i], name) == 0) {
            return h->values[i];
        }
    }
    return NULL;
}

static void hs_foreach(void *ctx, sl_header_visit_fn visit, void *arg)
{
    headers *h = ctx;
    for (size_t i = 0; i < h->n; i++) {
        visit(arg, h->names[i], strlen(h->names[i]), h->values[i], strlen(h->values[i]));
    }
}

static const char *hs_get(void *ctx, const char *name)
{
    return hs_find(ctx, name);
}

static int hs_set(void *ctx, const char *name, const char *value)
{
    headers *h = ctx;
    if (h->fail_set) {
        return -1;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->names[i], name) == 0) {
            snprintf(h->values[i], sizeof h->values[0], "%s", value);
            return 0;
        }
    }
    hs_add(h, name, value);
    return 0;
}

static sl_carrier foreach_carrier(headers *h)
{
    sl_carrier c = {.ctx = h, .foreach = hs_foreach, .set = hs_set};
    return c;
}

static sl_carrier get_carrier(headers *h)
{
    sl_carrier c = {.ctx = h, .get = hs_get, .set = hs_set};
    return c;
}

static void hex_tid(const sl_span_context *c, char *out)
{
    sl_trace_id_to_hex(c->trace_id, out);
}

static void test_extract_basic(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        headers *h = hs_new();
        hs_add(h, "Content-Type", "text/plain");
        hs_add(h, "TraceParent", " " TP "\t");
        hs_add(h, "TRACESTATE", "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
        hs_add(h, "Baggage", "tenantId=acme,userId=alice%20b");
        sl_carrier c = mode ? get_carrier(h) : foreach_carrier(h);
        sl_span_context p;
        sl_baggage *b = NULL;
        assert_int_equal(sl_extract(&c, &p, &b), SL_OK);
        char t[33];
        hex_tid(&p, t);
        assert_string_equal(t, TID);
        assert_int_equal(p.remote, 1);
        assert_int_equal(p.flags, 1);
        assert_string_equal(p.tracestate, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
        const char *v;
        assert_int_equal(sl_baggage_get(b, "userId", &v, NULL), SL_OK);
        assert_string_equal(v, "alice b");
        sl_baggage_free(b);
        free(h);
    }
}

static void test_extract_duplicates_and_joins(void **state)
{
    (void)state;
    headers *h = hs_new();
    hs_add(h, "traceparent", TP);
    hs_add(h, "tracestate", "a=1");
    hs_add(h, "Tracestate", "b=2");
    hs_add(h, "baggage", "k1=v1");
    hs_add(h, "BAGGAGE", "k2=v2");
    sl_carrier c = foreach_carrier(h);
    sl_span_context p;
    sl_baggage *b = NULL;
    assert_int_equal(sl_extract(&c, &p, &b), SL_OK);
    assert_string_equal(p.tracestate, "a=1,b=2");
    assert_int_equal(sl_baggage_count(b), 2);
    sl_baggage_free(b);
    /* A second traceparent, even an identical one: invalid, new trace, the
     * tracestate is not kept; baggage is independent and still read. */
    hs_add(h, "traceparent", TP);
    assert_int_equal(sl_extract(&c, &p, &b), SL_EPARSE);
    assert_false(sl_span_context_is_valid(&p));
    assert_int_equal(p.tracestate_len, 0);
    assert_int_equal(sl_baggage_count(b), 2);
    sl_baggage_free(b);
    free(h);
}

static void test_extract_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "ff-" TID "-b7ad6b7169203331-01",
        "00-" TID "-0000000000000000-01",
        "00-" TID "-b7ad6b7169203331-01-extra",
        "",
        TP "," TP, /* two fields joined by a proxy */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        headers *h = hs_new();
        hs_add(h, "traceparent", bad[i]);
        hs_add(h, "tracestate", "congo=t61rcWkgMzE");
        sl_carrier c = get_carrier(h);
        sl_span_context p;
        assert_int_equal(sl_extract(&c, &p, NULL), SL_EPARSE);
        assert_false(sl_span_context_is_valid(&p));
        assert_int_equal(p.tracestate_len, 0);
        /* A span from it is a new root trace with its own ids. */
        sl_span *s = sl_span_start_with_parent("srv", SL_SPAN_SERVER, &p);
        char t[33];
        hex_tid(sl_span_get_context(s), t);
        assert_string_not_equal(t, TID);
        assert_int_equal(sl_span_get_context(s)->tracestate_len, 0);
        sl_span_end(s);
        free(h);
    }
    /* A valid traceparent with an invalid tracestate: parent kept, state not. */
    headers *h = hs_new();
    hs_add(h, "traceparent", TP);
    hs_add(h, "tracestate", "Bad=1");
    sl_carrier c = foreach_carrier(h);
    sl_span_context p;
    assert_int_equal(sl_extract(&c, &p, NULL), SL_OK);
    assert_true(sl_span_context_is_valid(&p));
    assert_int_equal(p.tracestate_len, 0);
    free(h);
    /* None at all. */
    h = hs_new();
    hs_add(h, "baggage", "only=baggage");
    c = foreach_carrier(h);
    sl_baggage *b = NULL;
    assert_int_equal(sl_extract(&c, &p, &b), SL_ENOENT);
    assert_false(sl_span_context_is_valid(&p));
    assert_int_equal(sl_baggage_count(b), 1);
    sl_baggage_free(b);
    /* Bad carriers. */
    sl_carrier none = {.ctx = h};
    assert_int_equal(sl_extract(&none, &p, NULL), SL_EINVAL);
    assert_int_equal(sl_extract(NULL, &p, NULL), SL_EINVAL);
    assert_int_equal(sl_extract(&c, NULL, NULL), SL_EINVAL);
    free(h);
}

static void test_inject(void **state)
{
    (void)state;
    headers *h = hs_new();
    sl_carrier c = foreach_carrier(h);
    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(TP, 55, &ctx), SL_OK);
    assert_int_equal(sl_tracestate_parse("congo=t61rcWkgMzE", 17, &ctx), SL_OK);
    sl_baggage *b = NULL;
    assert_int_equal(sl_baggage_set(NULL, "tenantId", "acme corp", NULL, &b), SL_OK);
    assert_int_equal(sl_inject(&c, &ctx, b), SL_OK);
    assert_int_equal(h->n, 3);
    assert_string_equal(hs_find(h, "traceparent"), TP);
    assert_string_equal(hs_find(h, "tracestate"), "congo=t61rcWkgMzE");
    assert_string_equal(hs_find(h, "baggage"), "tenantId=acme%20corp");
    /* Nothing to send: nothing written. */
    headers *e = hs_new();
    sl_carrier ce = foreach_carrier(e);
    sl_span_context empty = sl_span_context_empty();
    assert_int_equal(sl_inject(&ce, &empty, NULL), SL_OK);
    assert_int_equal(sl_inject(&ce, NULL, NULL), SL_OK);
    assert_int_equal(e->n, 0);
    /* set failing: SL_EIO. */
    e->fail_set = 1;
    assert_int_equal(sl_inject(&ce, &ctx, b), SL_EIO);
    sl_carrier noset = {.ctx = e};
    assert_int_equal(sl_inject(&noset, &ctx, b), SL_EINVAL);
    assert_int_equal(sl_inject(NULL, &ctx, b), SL_EINVAL);
    sl_baggage_free(b);
    free(e);
    free(h);
}

static void test_inject_baggage_limit(void **state)
{
    (void)state;
    /* 9 members of ~1000 bytes: the header is cut at whole members. */
    sl_baggage *b = NULL;
    char v[1001];
    memset(v, 'v', 1000);
    v[1000] = '\0';
    for (int i = 0; i < 9; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        sl_baggage *nb = NULL;
        sl_status st = sl_baggage_set(b, k, v, NULL, &nb);
        if (i < 8) {
            assert_int_equal(st, SL_OK);
            sl_baggage_free(b);
            b = nb;
        } else {
            assert_int_equal(st, SL_ERANGE); /* set refuses past 8192 bytes */
        }
    }
    /* A parsed baggage can exceed it once re-encoded (U+FFFD grows). */
    char *hdr = malloc(9000);
    size_t n = (size_t)sprintf(hdr, "a=");
    for (int i = 0; i < 2000; i++) {
        n += (size_t)sprintf(hdr + n, "%%FF");
    }
    n += (size_t)sprintf(hdr + n, ",b=1");
    sl_baggage *big = NULL;
    assert_int_equal(sl_baggage_parse(hdr, n, &big, NULL), SL_OK);
    assert_int_equal(sl_baggage_count(big), 2);
    headers *h = hs_new();
    sl_carrier c = foreach_carrier(h);
    assert_int_equal(sl_inject(&c, NULL, big), SL_OK);
    assert_null(hs_find(h, "baggage")); /* the first member alone is too big */
    assert_int_equal(sl_inject(&c, NULL, b), SL_OK);
    assert_true(strlen(hs_find(h, "baggage")) <= SL_BAGGAGE_MAX_BYTES);
    assert_int_equal(strlen(hs_find(h, "baggage")), 8 * 1003 + 7);
    sl_baggage_free(big);
    sl_baggage_free(b);
    free(hdr);
    free(h);
}

static void test_round_trip(void **state)
{
    (void)state;
    /* Incoming request -> server span -> client span -> outgoing headers. */
    headers *in = hs_new();
    hs_add(in, "traceparent", TP);
    hs_add(in, "tracestate", "congo=t61rcWkgMzE");
    hs_add(in, "baggage", "tenantId=acme");
    sl_carrier cin = foreach_carrier(in);
    sl_span_context parent;
    sl_baggage *bag = NULL;
    assert_int_equal(sl_extract(&cin, &parent, &bag), SL_OK);
    sl_context_token bt;
    assert_int_equal(sl_baggage_attach(bag, &bt), SL_OK);
    sl_baggage_free(bag);
    sl_span *srv = sl_span_start_with_parent("srv", SL_SPAN_SERVER, &parent);
    char ids[2][17];
    for (int i = 0; i < 2; i++) {
        sl_span *cli = sl_span_start("downstream", SL_SPAN_CLIENT);
        headers *out = hs_new();
        sl_carrier cout = foreach_carrier(out);
        assert_int_equal(sl_inject_current(&cout), SL_OK);
        const char *tp = hs_find(out, "traceparent");
        assert_non_null(tp);
        assert_memory_equal(tp, "00-" TID "-", 36);
        sl_span_id_to_hex(sl_span_get_context(cli)->span_id, ids[i]);
        assert_memory_equal(tp + 36, ids[i], 16);
        assert_string_equal(tp + 52, "-01");
        assert_string_equal(hs_find(out, "tracestate"), "congo=t61rcWkgMzE");
        assert_string_equal(hs_find(out, "baggage"), "tenantId=acme");
        sl_span_end(cli);
        free(out);
    }
    /* A fresh parent id per downstream call. */
    assert_string_not_equal(ids[0], ids[1]);
    sl_span_end(srv);
    assert_int_equal(sl_context_detach(bt), SL_OK);
    free(in);
}

/* ---- diagnostics ---------------------------------------------------------- */

static void test_extract_report(void **state)
{
    (void)state;
    sl_extract_report r;
    sl_span_context p;
    sl_baggage *b = NULL;
    sl_carrier c;

    /* Everything used; duplicates in tracestate counted, bad baggage too. */
    sl_header_pair ok[] = {{"traceparent", TP, SL_NPOS},
                           {"tracestate", "a=1,a=2", SL_NPOS},
                           {"Tracestate", "b=1,a=3", SL_NPOS},
                           {"baggage", "k=v,bad key=1", SL_NPOS}};
    sl_header_pairs hp = {ok, 4};
    assert_int_equal(sl_extract_report_get(sl_carrier_pairs(&c, &hp), &p, &b, &r), SL_OK);
    assert_int_equal(r.traceparent, SL_HEADER_USED);
    assert_int_equal(r.tracestate, SL_HEADER_USED);
    assert_int_equal(r.tracestate_fields, 2);
    assert_string_equal(p.tracestate, "a=1,b=1");
    assert_int_equal(r.tracestate_info.duplicates_removed, 2);
    assert_int_equal(r.baggage, SL_HEADER_USED);
    assert_int_equal(r.baggage_dropped, 1);
    assert_int_equal(sl_baggage_count(b), 1);
    sl_baggage_free(b);

    /* Repeated traceparent told apart from an invalid one. */
    sl_header_pair rep[] = {{"traceparent", TP, SL_NPOS},
                            {"traceparent", TP, SL_NPOS},
                            {"tracestate", "a=1", SL_NPOS}};
    hp = (sl_header_pairs){rep, 3};
    assert_int_equal(sl_extract_report_get(&c, &p, NULL, &r), SL_EPARSE);
    assert_int_equal(r.traceparent, SL_HEADER_REPEATED);
    assert_int_equal(r.traceparent_fields, 2);
    assert_int_equal(r.tracestate, SL_HEADER_NO_PARENT);
    assert_string_equal(sl_header_verdict_name(r.traceparent), "repeated");

    /* NUL inside a value: seen whole through the pairs carrier: invalid. */
    char tpnul[80];
    memcpy(tpnul, TP, strlen(TP));
    tpnul[strlen(TP)] = '\0';
    sl_header_pair nul[] = {{"traceparent", tpnul, strlen(TP) + 1},
                            {"tracestate", "Bad=1", SL_NPOS}};
    hp = (sl_header_pairs){nul, 2};
    assert_int_equal(sl_extract_report_get(&c, &p, NULL, &r), SL_EPARSE);
    assert_int_equal(r.traceparent, SL_HEADER_INVALID);
    assert_int_equal(r.baggage, SL_HEADER_ABSENT);

    /* Invalid tracestate with a good parent; too long a tracestate. */
    sl_header_pair bad[] = {{"traceparent", TP, SL_NPOS},
                            {"tracestate", "Bad=1", SL_NPOS}};
    hp = (sl_header_pairs){bad, 2};
    assert_int_equal(sl_extract_report_get(&c, &p, NULL, &r), SL_OK);
    assert_int_equal(r.tracestate, SL_HEADER_INVALID);
    static char huge[SL_TRACESTATE_JOINED_MAX + 10];
    memset(huge, ' ', sizeof huge - 1);
    memcpy(huge, "a=1", 3);
    bad[1].value = huge;
    assert_int_equal(sl_extract_report_get(&c, &p, NULL, &r), SL_OK);
    assert_int_equal(r.tracestate, SL_HEADER_TOO_LONG);
    assert_int_equal(p.tracestate_len, 0);
}

static const char *nul_get_n(void *ctx, const char *name, size_t *len)
{
    (void)ctx;
    static const char tp[] = TP "\0-junk";
    if (strcmp(name, "traceparent") == 0) {
        *len = sizeof tp - 1;
        return tp;
    }
    return NULL;
}

static const char *nul_get(void *ctx, const char *name)
{
    size_t n;
    return nul_get_n(ctx, name, &n);
}

static void test_extract_get_n(void **state)
{
    (void)state;
    sl_span_context p;
    /* get() cuts at the NUL and the header looks valid; get_n sees it all. */
    sl_carrier by_get = {.get = nul_get};
    assert_int_equal(sl_extract(&by_get, &p, NULL), SL_OK);
    sl_carrier by_len = {.get = nul_get, .get_n = nul_get_n};
    sl_extract_report r;
    assert_int_equal(sl_extract_report_get(&by_len, &p, NULL, &r), SL_EPARSE);
    assert_int_equal(r.traceparent, SL_HEADER_INVALID);
}

/* The carrier's size: 0 (a designated initializer, as before it had one) and
 * sl_carrier_init's are read; a size below the first layout is refused. */
static void test_carrier_size(void **state)
{
    (void)state;
    headers *h = hs_new();
    hs_add(h, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    sl_span_context p;
    sl_carrier zero = foreach_carrier(h);
    assert_int_equal(zero.size, 0);
    assert_int_equal(sl_extract(&zero, &p, NULL), SL_OK);
    assert_true(sl_span_context_is_valid(&p));

    sl_carrier c;
    memset(&c, 0xA5, sizeof c);
    sl_carrier_init(&c);
    assert_int_equal(c.size, sizeof(sl_carrier));
    assert_null(c.ctx);
    assert_null(c.foreach);
    assert_null(c.get_n);
    c.ctx = h;
    c.get = hs_get;
    c.set = hs_set;
    assert_int_equal(sl_extract(&c, &p, NULL), SL_OK);
    assert_true(sl_span_context_is_valid(&p));
    headers *out = hs_new();
    c.ctx = out;
    assert_int_equal(sl_inject(&c, &p, NULL), SL_OK);
    assert_non_null(hs_find(out, "traceparent"));

    /* garbage in size: not read as a carrier at all */
    sl_carrier bad = foreach_carrier(h);
    for (size_t sz = 1; sz < offsetof(sl_carrier, get_n) + sizeof bad.get_n; sz += 7) {
        bad.size = sz;
        assert_int_equal(sl_extract(&bad, &p, NULL), SL_EINVAL);
        assert_false(sl_span_context_is_valid(&p));
        assert_int_equal(sl_inject(&bad, &p, NULL), SL_EINVAL);
    }
    /* a newer caller's larger struct is fine: the library reads its own part */
    bad.size = sizeof(sl_carrier) + 64;
    assert_int_equal(sl_extract(&bad, &p, NULL), SL_OK);

    sl_header_pair pairs[] = {{"traceparent",
                               "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                               SL_NPOS}};
    sl_header_pairs hp = {pairs, 1};
    memset(&c, 0xA5, sizeof c);
    assert_ptr_equal(sl_carrier_pairs(&c, &hp), &c);
    assert_int_equal(c.size, offsetof(sl_carrier, get_n) + sizeof c.get_n);
    assert_null(c.get);
    assert_int_equal(sl_extract(&c, &p, NULL), SL_OK);
    sl_carrier_init(NULL); /* no-op */
    free(h);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_basic),
        cmocka_unit_test(test_extract_duplicates_and_joins),
        cmocka_unit_test(test_extract_invalid),
        cmocka_unit_test(test_inject),
        cmocka_unit_test(test_inject_baggage_limit),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_extract_report),
        cmocka_unit_test(test_extract_get_n),
        cmocka_unit_test(test_carrier_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
