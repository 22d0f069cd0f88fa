/*
 * test_http_propagation.c - W3C Trace Context and Baggage through
 * examples/http_service, over real HTTP.
 *
 * Each test sends the interop protocol (a JSON array of {"url",
 * "arguments"}) with chosen incoming headers, pointing at our recording
 * receiver, and checks what went out on the wire against the service's
 * records (see httpsvc_checks.h): same or new trace, a fresh parent-id per
 * call, flags kept, tracestate passed on or dropped, baggage passed on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <spanlog/spanlog.h>

#include "integration/httpsvc_checks.h"

static void test_valid_traceparent_continues_with_fresh_parent_ids(void **state)
{
    const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                             "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", NULL};
    expect e = {.origin = "continued",
                .trace = IN_TRACE,
                .parent = IN_PARENT,
                .flags = "01",
                .tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"};
    (void)state;
    roundtrip(headers, 3, &e);
}

static void test_incoming_flags_are_kept(void **state)
{
    static const char *const flags[] = {"00", "01", "02", "03"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        char tp[80];
        const char *headers[] = {tp, NULL};
        expect e = {.origin = "continued",
                    .trace = IN_TRACE,
                    .parent = IN_PARENT,
                    .flags = flags[i]};
        snprintf(tp, sizeof(tp), "traceparent: 00-%s-%s-%s", IN_TRACE, IN_PARENT,
                 flags[i]);
        roundtrip(headers, 1, &e);
    }
}

static void test_header_names_are_case_insensitive(void **state)
{
    const char *headers[] = {"TrAcEpArEnT: 00-" IN_TRACE "-" IN_PARENT "-01",
                             "TRACESTATE: foo=1", NULL};
    expect e = {.origin = "continued",
                .trace = IN_TRACE,
                .parent = IN_PARENT,
                .flags = "01",
                .tracestate = "foo=1"};
    (void)state;
    roundtrip(headers, 1, &e);
}

static void test_whitespace_and_future_versions_continue(void **state)
{
    static const char *const values[] = {
        "traceparent: \t 00-" IN_TRACE "-" IN_PARENT "-01 \t",
        "traceparent: cc-" IN_TRACE "-" IN_PARENT "-01",
        "traceparent: cc-" IN_TRACE "-" IN_PARENT "-01-what-the-future-will-be-like",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *headers[] = {values[i], NULL};
        expect e = {
            .origin = "continued", .trace = IN_TRACE, .parent = IN_PARENT, .flags = "01"};
        roundtrip(headers, 1, &e);
    }
}

static void test_no_traceparent_starts_a_new_trace(void **state)
{
    const char *none[] = {NULL};
    /* A tracestate without a traceparent belongs to nobody: dropped. */
    const char *orphan_state[] = {"tracestate: foo=1,bar=2", NULL};
    expect e = {.origin = "new", .flags = "03"};
    (void)state;
    roundtrip(none, 2, &e);
    roundtrip(orphan_state, 2, &e);
}

static void test_invalid_traceparent_restarts_and_drops_tracestate(void **state)
{
    static const char *const bad[] = {
        "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", /* upper
                                                                                 */
        "traceparent: ff-" IN_TRACE "-" IN_PARENT "-01",                        /* ff */
        "traceparent: 00-00000000000000000000000000000000-" IN_PARENT "-01",    /* zero */
        "traceparent: 00-" IN_TRACE "-0000000000000000-01",                     /* zero */
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e473-" IN_PARENT "-01",     /* 31 */
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e47366-" IN_PARENT "-01",   /* 33 */
        "traceparent: 00-" IN_TRACE "-00f067aa0ba902b-01",                      /* 15 */
        "traceparent: 00-" IN_TRACE "-" IN_PARENT "-1", /* flags */
        "traceparent: 00-" IN_TRACE "-" IN_PARENT "-0g",
        "traceparent: 00-" IN_TRACE "-" IN_PARENT "-01.",
        "traceparent: 00-" IN_TRACE "-" IN_PARENT "-01-what-the-future-will-be-like",
        "traceparent: cc-" IN_TRACE "-" IN_PARENT "-01.what-the-future-will-be-like",
        "traceparent: .0-" IN_TRACE "-" IN_PARENT "-01",
        "traceparent: 000-" IN_TRACE "-" IN_PARENT "-01",
        "traceparent: hello, world",
        "traceparent;", /* curl's way to send an empty value */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *headers[] = {bad[i], "tracestate: foo=bar", NULL};
        expect e = {.origin = "restarted", .not_trace = IN_TRACE, .flags = "03"};
        print_message("invalid traceparent case %zu: %s\n", i, bad[i]);
        roundtrip(headers, 1, &e);
    }
}

static void test_duplicate_traceparent_restarts(void **state)
{
    const char *headers[] = {
        "traceparent: 00-12345678901234567890123456789011-" IN_PARENT "-01",
        "traceparent: 00-12345678901234567890123456789012-" IN_PARENT "-01",
        "tracestate: foo=1", NULL};
    expect e = {.origin = "restarted",
                .not_trace = "12345678901234567890123456789011",
                .flags = "03"};
    (void)state;
    roundtrip(headers, 1, &e);
    /* ... and the second of the two did not win either. */
    e.not_trace = "12345678901234567890123456789012";
    roundtrip(headers, 1, &e);
}

static void test_tracestate_headers_are_joined_in_order(void **state)
{
    const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-00",
                             "tracestate: foo=1,bar=2", "tracestate: rojo=1,congo=2",
                             "tracestate: baz=3", NULL};
    expect e = {.origin = "continued",
                .trace = IN_TRACE,
                .parent = IN_PARENT,
                .flags = "00",
                .tracestate = "foo=1,bar=2,rojo=1,congo=2,baz=3"};
    (void)state;
    roundtrip(headers, 2, &e);
}

/* The non-empty members of a tracestate list, blanks trimmed, joined with ','. */
static void tracestate_members(const char *list, char *out, size_t cap)
{
    size_t n = 0;
    while (*list != '\0') {
        const char *end = strchr(list, ',');
        size_t len = end != NULL ? (size_t)(end - list) : strlen(list);
        while (len > 0 && (*list == ' ' || *list == '\t')) {
            list++;
            len--;
        }
        while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t')) {
            len--;
        }
        if (len > 0 && n + len + 2 <= cap) {
            if (n > 0) {
                out[n++] = ',';
            }
            memcpy(out + n, list, len);
            n += len;
        }
        list += end != NULL ? (size_t)(end - list) + 1 : strlen(list);
    }
    out[n] = '\0';
}

/* 32 members over four fields are kept, joined; a 33rd drops the whole list. */
static void test_tracestate_member_limit(void **state)
{
    char fields[4][160];
    char joined[640] = "";
    size_t i;
    (void)state;
    for (i = 0; i < 4; i++) {
        size_t n = (size_t)snprintf(fields[i], sizeof(fields[i]), "tracestate: ");
        for (size_t k = 0; k < 8; k++) {
            unsigned m = (unsigned)(i * 8 + k + 1);
            n += (size_t)snprintf(fields[i] + n, sizeof(fields[i]) - n, "%sbar%02u=%02u",
                                  k > 0 ? "," : "", m, m);
        }
        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                 i > 0 ? "," : "", fields[i] + strlen("tracestate: "));
    }
    {
        const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                                 fields[0],
                                 fields[1],
                                 fields[2],
                                 fields[3],
                                 NULL};
        expect e = {.origin = "continued",
                    .trace = IN_TRACE,
                    .parent = IN_PARENT,
                    .flags = "01",
                    .tracestate = joined};
        roundtrip(headers, 1, &e);
    }
    {
        const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                                 fields[0],
                                 fields[1],
                                 fields[2],
                                 fields[3],
                                 "tracestate: bar33=33",
                                 NULL};
        expect e = {
            .origin = "continued", .trace = IN_TRACE, .parent = IN_PARENT, .flags = "01"};
        roundtrip(headers, 1, &e);
    }
}

static void test_empty_tracestate_fields_are_harmless(void **state)
{
    static const char *const orders[][2] = {{"tracestate;", "tracestate: foo=1"},
                                            {"tracestate: foo=1", "tracestate;"}};
    size_t i;
    (void)state;
    for (i = 0; i < 2; i++) {
        const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-00",
                                 orders[i][0], orders[i][1], NULL};
        char prefix[32];
        char members[64];
        const hs_hit *hit;
        const char *ts;
        hs_response resp;
        json_t *calls;

        next_prefix(prefix, sizeof(prefix), "empty");
        calls = post_protocol(headers, prefix, 1, &resp);
        assert_int_equal(resp.status, 200);
        assert_int_equal(hs_receiver_find(&g_recv, prefix, &hit, 1), 1);
        /* An empty list member is allowed: the one real member goes on,
         * after the service's own entry (svc=<16 hex>). */
        assert_int_equal(hs_hit_header(hit, "tracestate", &ts), 1);
        tracestate_members(ts, members, sizeof(members));
        assert_int_equal(strlen(members), 4 + 16 + 6);
        assert_memory_equal(members, "svc=", 4);
        assert_string_equal(members + 20, ",foo=1");
        json_decref(calls);
        hs_response_free(&resp);
    }
}

static void test_invalid_tracestate_is_dropped_trace_kept(void **state)
{
    static const char *const bad[] = {
        "tracestate: FOO=1",       /* uppercase key */
        "tracestate: foo=bar=baz", /* '=' in value */
        "tracestate: @foo=1",      /* a key starts with lcalpha or DIGIT */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01", bad[i],
                                 NULL};
        expect e = {
            .origin = "continued", .trace = IN_TRACE, .parent = IN_PARENT, .flags = "01"};
        roundtrip(headers, 1, &e);
    }
}

/*
 * Trace Context Level 2: duplicate keys no longer invalidate the list (the
 * first entry of a key is kept, in one field or across two), and the key
 * grammar takes a leading digit and '@' anywhere after the first character.
 * A valid entry in a second field is never lost with them.
 */
static void test_tracestate_level2(void **state)
{
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"tracestate: foo=1,foo=2", NULL, "foo=1"},
        {"tracestate: foo=1", "tracestate: foo=2", "foo=1"},
        {"tracestate: foo=1", "tracestate: foo=1,congo=t61", "foo=1,congo=t61"},
        {"tracestate: 1vendor=x", "tracestate: congo=t61", "1vendor=x,congo=t61"},
        {"tracestate: foo@=1", "tracestate: congo=t61", "foo@=1,congo=t61"},
        {"tracestate: foo@@bar=1,foo@bar@baz=2", NULL, "foo@@bar=1,foo@bar@baz=2"},
        {"tracestate: t@123456789012345=1", NULL, "t@123456789012345=1"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                                 cases[i].a, cases[i].b, NULL};
        expect e = {.origin = "continued",
                    .trace = IN_TRACE,
                    .parent = IN_PARENT,
                    .flags = "01",
                    .tracestate = cases[i].want};
        roundtrip(headers, 1, &e);
    }
}

static void test_baggage_is_passed_on(void **state)
{
    const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                             "baggage: userId=alice,region=eu%20west;p=1",
                             "Baggage: tenant=t-7", NULL};
    char prefix[32];
    hs_response resp;
    json_t *calls;
    const hs_hit *hits[2];
    json_t *all;
    json_t *mine;
    (void)state;

    next_prefix(prefix, sizeof(prefix), "bag");
    calls = post_protocol(headers, prefix, 2, &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(hs_receiver_find(&g_recv, prefix, hits, 2), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *value;
        const char *key;
        const char *v;
        const char *props;
        size_t vlen;
        sl_baggage *b = NULL;
        /* One field carrying both incoming ones, in order, decoded the same. */
        assert_int_equal(hs_hit_header(hits[i], "baggage", &value), 1);
        assert_int_equal(sl_baggage_parse(value, strlen(value), &b, NULL), SL_OK);
        assert_int_equal(sl_baggage_count(b), 3);
        assert_int_equal(sl_baggage_entry(b, 0, &key, &v, &vlen, &props), SL_OK);
        assert_string_equal(key, "userId");
        assert_int_equal(vlen, 5);
        assert_memory_equal(v, "alice", 5);
        assert_string_equal(props, "");
        assert_int_equal(sl_baggage_entry(b, 1, &key, &v, &vlen, &props), SL_OK);
        assert_string_equal(key, "region");
        assert_int_equal(vlen, 7);
        assert_memory_equal(v, "eu west", 7);
        assert_string_equal(props, "p=1");
        assert_int_equal(sl_baggage_entry(b, 2, &key, &v, &vlen, &props), SL_OK);
        assert_string_equal(key, "tenant");
        assert_memory_equal(v, "t-7", 3);
        sl_baggage_free(b);
    }
    all = hs_service_records(&g_svc);
    assert_non_null(all);
    mine = hs_records_for(all, resp.request_id);
    assert_int_equal(json_integer_value(json_object_get(
                         hs_record_find(mine, "request received", 0), "baggageEntries")),
                     3);
    json_decref(mine);
    json_decref(all);
    json_decref(calls);
    hs_response_free(&resp);
}

/* Runs last: it stops the group's service. */
static void test_stops_cleanly_on_sigterm(void **state)
{
    (void)state;
    check_clean_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_traceparent_continues_with_fresh_parent_ids),
        cmocka_unit_test(test_incoming_flags_are_kept),
        cmocka_unit_test(test_header_names_are_case_insensitive),
        cmocka_unit_test(test_whitespace_and_future_versions_continue),
        cmocka_unit_test(test_no_traceparent_starts_a_new_trace),
        cmocka_unit_test(test_invalid_traceparent_restarts_and_drops_tracestate),
        cmocka_unit_test(test_duplicate_traceparent_restarts),
        cmocka_unit_test(test_tracestate_headers_are_joined_in_order),
        cmocka_unit_test(test_tracestate_member_limit),
        cmocka_unit_test(test_empty_tracestate_fields_are_harmless),
        cmocka_unit_test(test_invalid_tracestate_is_dropped_trace_kept),
        cmocka_unit_test(test_tracestate_level2),
        cmocka_unit_test(test_baggage_is_passed_on),
        cmocka_unit_test(test_stops_cleanly_on_sigterm),
    };
    return cmocka_run_group_tests(tests, hc_group_setup, hc_group_teardown);
}
