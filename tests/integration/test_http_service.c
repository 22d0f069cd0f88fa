/*
 * test_http_service.c - examples/http_service driven over real HTTP.
 *
 * The group starts the built service on 127.0.0.1 (port chosen by the
 * kernel, read from its --port-file FIFO) and a downstream receiver of our
 * own that records every request. Each test sends the W3C interop protocol
 * (a JSON array of {"url", "arguments"}) pointing at the receiver under a
 * path prefix of its own, then checks three views of one request against
 * each other: what went out on the wire (traceparent, tracestate, body),
 * what the service answered, and every JSON record it wrote to stdout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include <curl/curl.h>

#include <spanlog/spanlog.h>

#include "integration/httpsvc_harness.h"

#ifndef HTTP_SERVICE_BIN
#error "HTTP_SERVICE_BIN must name the built http_service"
#endif

#define START_TIMEOUT_MS 15000
#define HTTP_TIMEOUT_MS  15000
#define STOP_TIMEOUT_MS  15000
#define MAX_CALLS        8

#define HEX_TRACE 33 /* 32 hex digits and a NUL */
#define HEX_SPAN  17

#define IN_TRACE  "4bf92f3577b34da6a3ce929d0e0e4736"
#define IN_PARENT "00f067aa0ba902b7"

static hs_service g_svc;
static hs_receiver g_recv;
static atomic_uint g_sent;   /* requests sent to g_svc, for the final count */
static atomic_uint g_prefix; /* unique receiver path prefixes */

/* ---- what one protocol request looks like from every side ---------------- */

typedef struct wire_call {
    char trace[HEX_TRACE];
    char span[HEX_SPAN];
    char flags[3];
    const char *tracestate; /* NULL: the header was absent */
} wire_call;

typedef struct expect {
    const char *origin;     /* "new", "continued", "restarted" */
    const char *trace;      /* the trace id that must continue; NULL for a new trace */
    const char *not_trace;  /* a trace id that must NOT appear (restarted) */
    const char *parent;     /* the incoming parent-id (continued) */
    const char *flags;      /* expected flags on the wire */
    const char *tracestate; /* expected tracestate; NULL: must be absent */
} expect;

static bool is_hex(const char *s, size_t len)
{
    size_t i;
    bool nonzero = false;
    if (s == NULL || strlen(s) != len) {
        return false;
    }
    for (i = 0; i < len; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        bool lower = s[i] >= 'a' && s[i] <= 'f';
        if (!digit && !lower) {
            return false;
        }
        nonzero = nonzero || s[i] != '0';
    }
    return nonzero;
}

/* "00-<32 hex>-<16 hex>-<2 hex>" exactly: what we emit is always version 00. */
static void parse_wire_traceparent(const char *tp, wire_call *out)
{
    assert_non_null(tp);
    assert_int_equal(strlen(tp), 55);
    assert_memory_equal(tp, "00-", 3);
    assert_int_equal(tp[35], '-');
    assert_int_equal(tp[52], '-');
    memcpy(out->trace, tp + 3, 32);
    out->trace[32] = '\0';
    memcpy(out->span, tp + 36, 16);
    out->span[16] = '\0';
    memcpy(out->flags, tp + 53, 2);
    out->flags[2] = '\0';
    assert_true(is_hex(out->trace, 32));
    assert_true(is_hex(out->span, 16));
    assert_true(strspn(out->flags, "0123456789abcdef") == 2);
}

static const char *str_field(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

/* The fields every record of a request carries, checked one by one. */
static void check_request_record(const json_t *rec, const char *level, const char *rid,
                                 const char *method, const char *path)
{
    const char *time = str_field(rec, "time");
    assert_non_null(time);
    /* RFC 3339 UTC: 2026-11-21T10:15:30[.ffffff]Z */
    assert_true(strlen(time) >= 20);
    assert_int_equal(time[4], '-');
    assert_int_equal(time[10], 'T');
    assert_int_equal(time[strlen(time) - 1], 'Z');
    assert_string_equal(str_field(rec, "level"), level);
    assert_string_equal(str_field(rec, "service"), "http_service");
    assert_string_equal(str_field(rec, "requestId"), rid);
    assert_string_equal(str_field(rec, "method"), method);
    assert_string_equal(str_field(rec, "path"), path);
}

/* traceId, spanId and the correlationId derived from them. */
static void check_ids(const json_t *rec, const char *trace, const char *span)
{
    char corr[18];
    assert_string_equal(str_field(rec, "traceId"), trace);
    assert_string_equal(str_field(rec, "spanId"), span);
    snprintf(corr, sizeof(corr), "%.8s-%.8s", trace, span);
    assert_string_equal(str_field(rec, "correlationId"), corr);
}

/* The "span ended" records (from --log-spans) of this span id. */
static json_t *span_end_record(const json_t *all, const char *span_id, size_t *count)
{
    json_t *found = NULL;
    json_t *rec;
    size_t i;
    *count = 0;
    json_array_foreach(all, i, rec)
    {
        const char *msg = str_field(rec, "msg");
        const char *sid = str_field(rec, "spanId");
        if (msg != NULL && strcmp(msg, "span ended") == 0 && sid != NULL &&
            strcmp(sid, span_id) == 0) {
            found = rec;
            (*count)++;
        }
    }
    return found;
}

/*
 * The span tree from the span data itself: a sampled span has exactly one
 * "span ended" record, with its kind and its parent; an unsampled one has
 * none (it records nothing, though it has ids and correlates records).
 */
static void check_span_end(const json_t *all, const char *trace, const char *span,
                           const char *kind, const char *parent, bool remote,
                           bool sampled)
{
    size_t n;
    json_t *rec = span_end_record(all, span, &n);
    if (!sampled) {
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(n, 1);
    check_ids(rec, trace, span);
    assert_string_equal(str_field(rec, "span.kind"), kind);
    if (parent != NULL) {
        assert_string_equal(str_field(rec, "parentSpanId"), parent);
    } else {
        assert_true(json_is_null(json_object_get(rec, "parentSpanId")));
    }
    assert_true(json_is_boolean(json_object_get(rec, "parentRemote")));
    assert_int_equal(json_is_true(json_object_get(rec, "parentRemote")), remote);
    assert_true(json_number_value(json_object_get(rec, "durationMs")) >= 0.0);
    assert_null(json_object_get(rec, "requestId"));
}

static char *next_prefix(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/%s%u", tag, atomic_fetch_add(&g_prefix, 1));
    return buf;
}

/* [{"url": base+prefix/i, "arguments": [prefix, i, {"nested": [true, null]}]}...] */
static json_t *make_calls(const char *prefix, size_t ncalls)
{
    json_t *calls = json_array();
    size_t i;
    for (i = 0; i < ncalls; i++) {
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s/%zu", (unsigned)g_recv.port,
                 prefix, i);
        json_array_append_new(calls, json_pack("{s:s,s:[s,i,{s:[b,n]}]}", "url", url,
                                               "arguments", prefix, (int)i, "nested", 1));
    }
    return calls;
}

static int send_to_service(const char *method, const char *path,
                           const char *const *headers, const char *body,
                           hs_response *resp)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)g_svc.port, path);
    atomic_fetch_add(&g_sent, 1);
    return hs_http(method, url, headers, body, HTTP_TIMEOUT_MS, resp);
}

/* POSTs the protocol for ncalls calls under prefix. The calls are returned. */
static json_t *post_protocol(const char *const *headers, const char *prefix,
                             size_t ncalls, hs_response *resp)
{
    json_t *calls = make_calls(prefix, ncalls);
    char *body = json_dumps(calls, JSON_COMPACT);
    assert_non_null(body);
    assert_int_equal(send_to_service("POST", "/test", headers, body, resp), 0);
    free(body);
    return calls;
}

/*
 * The three views of one protocol request agree with `e`: the calls that
 * reached the receiver, the service's answer, and its records.
 */
static void check_propagated(const hs_response *resp, const json_t *calls,
                             const char *prefix, const expect *e)
{
    const hs_hit *hits[MAX_CALLS];
    wire_call wire[MAX_CALLS];
    size_t ncalls = json_array_size(calls);
    size_t i;
    size_t j;
    json_t *answer;
    json_t *all;
    json_t *mine;
    json_t *rec;
    char server_span[HEX_SPAN];

    assert_true(ncalls <= MAX_CALLS);
    assert_int_equal(resp->status, 200);
    assert_true(is_hex(resp->request_id, 16));

    /* On the wire: one POST per call, in order, each with its own client span. */
    assert_int_equal(hs_receiver_find(&g_recv, prefix, hits, MAX_CALLS), ncalls);
    for (i = 0; i < ncalls; i++) {
        char path[128];
        const char *tp;
        const char *ctype;
        json_t *body;
        json_error_t err;

        snprintf(path, sizeof(path), "%s/%zu", prefix, i);
        assert_string_equal(hits[i]->path, path);
        assert_string_equal(hits[i]->method, "POST");
        assert_int_equal(hs_hit_header(hits[i], "content-type", &ctype), 1);
        assert_string_equal(ctype, "application/json");
        assert_int_equal(hs_hit_header(hits[i], "traceparent", &tp), 1);
        parse_wire_traceparent(tp, &wire[i]);
        if (e->tracestate != NULL) {
            assert_int_equal(hs_hit_header(hits[i], "tracestate", &wire[i].tracestate),
                             1);
            assert_string_equal(wire[i].tracestate, e->tracestate);
        } else {
            assert_int_equal(hs_hit_header(hits[i], "tracestate", &wire[i].tracestate),
                             0);
        }
        if (e->trace != NULL) {
            assert_string_equal(wire[i].trace, e->trace);
        }
        if (e->not_trace != NULL) {
            assert_string_not_equal(wire[i].trace, e->not_trace);
        }
        if (e->parent != NULL) {
            assert_string_not_equal(wire[i].span, e->parent);
        }
        assert_string_equal(wire[i].flags, e->flags);
        /* One trace across the calls, a fresh parent-id for each. */
        assert_string_equal(wire[i].trace, wire[0].trace);
        for (j = 0; j < i; j++) {
            assert_string_not_equal(wire[i].span, wire[j].span);
        }
        body = json_loadb(hits[i]->body != NULL ? hits[i]->body : "", hits[i]->body_len,
                          0, &err);
        assert_non_null(body);
        assert_true(
            json_equal(body, json_object_get(json_array_get(calls, i), "arguments")));
        json_decref(body);
    }

    /* The answer names the request and its trace. */
    answer = json_loadb(resp->body, resp->len, 0, NULL);
    assert_non_null(answer);
    assert_string_equal(str_field(answer, "requestId"), resp->request_id);
    if (ncalls > 0) {
        assert_string_equal(str_field(answer, "traceId"), wire[0].trace);
    }
    json_decref(answer);

    /* The records of this request, in order: received, per call, completed. */
    all = hs_service_records(&g_svc);
    assert_non_null(all);
    mine = hs_records_for(all, resp->request_id);
    assert_int_equal(json_array_size(mine), 2 + 2 * ncalls);

    rec = json_array_get(mine, 0);
    check_request_record(rec, "info", resp->request_id, "POST", "/test");
    assert_string_equal(str_field(rec, "msg"), "request received");
    assert_string_equal(str_field(rec, "propagation"), e->origin);
    if (e->parent != NULL && strcmp(e->origin, "continued") == 0) {
        assert_string_equal(str_field(rec, "parentSpanId"), e->parent);
    } else {
        assert_true(json_is_null(json_object_get(rec, "parentSpanId")));
    }
    assert_true(is_hex(str_field(rec, "spanId"), 16));
    strcpy(server_span, str_field(rec, "spanId"));
    if (ncalls > 0) {
        check_ids(rec, wire[0].trace, server_span);
    }
    if (e->parent != NULL) {
        assert_string_not_equal(server_span, e->parent);
    }

    for (i = 0; i < ncalls; i++) {
        const char *url = str_field(json_array_get(calls, i), "url");
        /* Logged inside the client span: its spanId is the parent-id on the wire. */
        rec = json_array_get(mine, 1 + 2 * i);
        check_request_record(rec, "info", resp->request_id, "POST", "/test");
        assert_string_equal(str_field(rec, "msg"), "calling downstream");
        assert_int_equal(json_integer_value(json_object_get(rec, "call")), i);
        assert_string_equal(str_field(rec, "url"), url);
        check_ids(rec, wire[i].trace, wire[i].span);
        assert_string_equal(str_field(rec, "parentSpanId"), server_span);
        assert_string_not_equal(wire[i].span, server_span);

        rec = json_array_get(mine, 2 + 2 * i);
        check_request_record(rec, "info", resp->request_id, "POST", "/test");
        assert_string_equal(str_field(rec, "msg"), "downstream answered");
        assert_int_equal(json_integer_value(json_object_get(rec, "status")), 200);
        assert_true(json_is_number(json_object_get(rec, "durationMs")));
        check_ids(rec, wire[i].trace, wire[i].span);
    }

    /* Span data agrees: each CLIENT span is a child of the SERVER span, which is
     * a child of the caller's span when the trace continued. */
    if (ncalls > 0) {
        bool sampled = (strtoul(e->flags, NULL, 16) & 1u) != 0;
        bool continued = strcmp(e->origin, "continued") == 0;
        check_span_end(all, wire[0].trace, server_span, "server",
                       continued ? e->parent : NULL, continued, sampled);
        for (i = 0; i < ncalls; i++) {
            check_span_end(all, wire[i].trace, wire[i].span, "client", server_span, false,
                           sampled);
        }
    }

    rec = json_array_get(mine, 1 + 2 * ncalls);
    check_request_record(rec, "info", resp->request_id, "POST", "/test");
    assert_string_equal(str_field(rec, "msg"), "request completed");
    assert_int_equal(json_integer_value(json_object_get(rec, "status")), 200);
    assert_true(json_is_number(json_object_get(rec, "durationMs")));
    assert_true(json_number_value(json_object_get(rec, "durationMs")) >= 0.0);
    assert_string_equal(str_field(rec, "spanId"), server_span);
    if (ncalls > 0) {
        assert_string_equal(str_field(rec, "traceId"), wire[0].trace);
    }
    json_decref(mine);
    json_decref(all);
}

/* One protocol request with these headers, checked against e. */
static void roundtrip(const char *const *headers, size_t ncalls, const expect *e)
{
    char prefix[32];
    hs_response resp;
    json_t *calls;
    next_prefix(prefix, sizeof(prefix), "rt");
    calls = post_protocol(headers, prefix, ncalls, &resp);
    check_propagated(&resp, calls, prefix, e);
    json_decref(calls);
    hs_response_free(&resp);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_health_logs_arrival_and_completion(void **state)
{
    hs_response resp;
    json_t *all;
    json_t *mine;
    json_t *rec;
    const char *trace;
    (void)state;

    assert_int_equal(send_to_service("GET", "/health", NULL, NULL, &resp), 0);
    assert_int_equal(resp.status, 200);
    assert_true(is_hex(resp.request_id, 16));

    all = hs_service_records(&g_svc);
    assert_non_null(all);
    mine = hs_records_for(all, resp.request_id);
    assert_int_equal(json_array_size(mine), 2);

    rec = json_array_get(mine, 0);
    check_request_record(rec, "info", resp.request_id, "GET", "/health");
    assert_string_equal(str_field(rec, "msg"), "request received");
    assert_string_equal(str_field(rec, "propagation"), "new");
    assert_int_equal(json_integer_value(json_object_get(rec, "bodyBytes")), 0);
    trace = str_field(rec, "traceId");
    assert_true(is_hex(trace, 32));
    check_ids(rec, trace, str_field(rec, "spanId"));

    rec = json_array_get(mine, 1);
    check_request_record(rec, "info", resp.request_id, "GET", "/health");
    assert_string_equal(str_field(rec, "msg"), "request completed");
    assert_int_equal(json_integer_value(json_object_get(rec, "status")), 200);
    assert_true(json_number_value(json_object_get(rec, "durationMs")) >= 0.0);
    check_ids(rec, trace, str_field(json_array_get(mine, 0), "spanId"));

    /* Outside any request there is no span: the startup record has no ids. */
    rec = hs_record_find(all, "listening", 0);
    assert_non_null(rec);
    assert_int_equal(json_integer_value(json_object_get(rec, "port")), g_svc.port);
    assert_null(json_object_get(rec, "traceId"));
    assert_null(json_object_get(rec, "spanId"));
    assert_null(json_object_get(rec, "requestId"));

    json_decref(mine);
    json_decref(all);
    hs_response_free(&resp);
}

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
        /* An empty list member is allowed: the one real member goes on. */
        assert_int_equal(hs_hit_header(hit, "tracestate", &ts), 1);
        tracestate_members(ts, members, sizeof(members));
        assert_string_equal(members, "foo=1");
        json_decref(calls);
        hs_response_free(&resp);
    }
}

static void test_invalid_tracestate_is_dropped_trace_kept(void **state)
{
    static const char *const bad[] = {
        "tracestate: foo=1,foo=2", /* duplicate key */
        "tracestate: FOO=1",       /* uppercase key */
        "tracestate: foo=bar=baz", /* '=' in value */
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
    {
        /* The same key in two headers is a duplicate too. */
        const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                                 "tracestate: foo=1", "tracestate: foo=1", NULL};
        expect e = {
            .origin = "continued", .trace = IN_TRACE, .parent = IN_PARENT, .flags = "01"};
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

static void test_arguments_arrive_as_exact_json_bodies(void **state)
{
    char prefix[32];
    char url[128];
    const hs_hit *hits[4];
    hs_response resp;
    json_t *calls = json_array();
    json_t *args[3];
    char *body;
    size_t i;
    (void)state;

    next_prefix(prefix, sizeof(prefix), "args");
    args[0] = json_array(); /* what the W3C harness sends */
    args[1] = json_pack("[{s:[i,f,s],s:n,s:b},s,I]", "a", 1, 2.5, "x\xc3\xa9\n\"q\"", "b",
                        "c", 1, "two", (json_int_t)1234567890123LL);
    args[2] = json_pack("{s:{s:[]}}", "deep", "er"); /* any JSON value is passed on */
    for (i = 0; i < 3; i++) {
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s/%zu", (unsigned)g_recv.port,
                 prefix, i);
        json_array_append_new(calls,
                              json_pack("{s:s,s:o}", "url", url, "arguments", args[i]));
    }
    body = json_dumps(calls, JSON_COMPACT);
    assert_int_equal(send_to_service("POST", "/test", NULL, body, &resp), 0);
    free(body);
    assert_int_equal(resp.status, 200);

    assert_int_equal(hs_receiver_find(&g_recv, prefix, hits, 4), 3);
    for (i = 0; i < 3; i++) {
        const json_t *sent = json_object_get(json_array_get(calls, i), "arguments");
        char *expected = json_dumps(sent, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *got = json_loadb(hits[i]->body, hits[i]->body_len, JSON_DECODE_ANY, NULL);
        assert_non_null(got);
        assert_true(json_equal(got, sent));
        /* Compact JSON, nothing around it. */
        assert_int_equal(hits[i]->body_len, strlen(expected));
        assert_memory_equal(hits[i]->body, expected, hits[i]->body_len);
        free(expected);
        json_decref(got);
    }
    assert_string_equal(hits[0]->body, "[]");
    json_decref(calls);
    hs_response_free(&resp);
}

static void test_bad_body_is_400_with_a_warning(void **state)
{
    char prefix[32];
    char good[256];
    char bodies[5][512];
    const hs_hit *hits[4];
    size_t i;
    (void)state;

    next_prefix(prefix, sizeof(prefix), "bad");
    snprintf(good, sizeof(good), "{\"url\":\"http://127.0.0.1:%u%s/0\",\"arguments\":[]}",
             (unsigned)g_recv.port, prefix);
    snprintf(bodies[0], sizeof(bodies[0]), "this is not JSON");
    snprintf(bodies[1], sizeof(bodies[1]), "{\"url\":\"http://127.0.0.1/\"}");
    snprintf(bodies[2], sizeof(bodies[2]), "[{\"url\":5,\"arguments\":[]}]");
    snprintf(bodies[3], sizeof(bodies[3]), "[{\"url\":\"http://127.0.0.1:%u%s/1\"}]",
             (unsigned)g_recv.port, prefix);
    /* A valid call before an invalid one is not made either: all or nothing. */
    snprintf(bodies[4], sizeof(bodies[4]), "[%s,42]", good);

    for (i = 0; i < 5; i++) {
        hs_response resp;
        json_t *all;
        json_t *mine;
        json_t *rec;
        json_t *answer;
        print_message("bad body case %zu: %s\n", i, bodies[i]);
        assert_int_equal(send_to_service("POST", "/test", NULL, bodies[i], &resp), 0);
        assert_int_equal(resp.status, 400);
        answer = json_loadb(resp.body, resp.len, 0, NULL);
        assert_non_null(answer);
        assert_true(strlen(str_field(answer, "error")) > 0);
        json_decref(answer);

        all = hs_service_records(&g_svc);
        assert_non_null(all);
        mine = hs_records_for(all, resp.request_id);
        assert_int_equal(json_array_size(mine), 3);
        rec = json_array_get(mine, 1);
        check_request_record(rec, "warn", resp.request_id, "POST", "/test");
        assert_string_equal(str_field(rec, "msg"), "bad request body");
        assert_true(strlen(str_field(rec, "error")) > 0);
        check_ids(rec, str_field(json_array_get(mine, 0), "traceId"),
                  str_field(json_array_get(mine, 0), "spanId"));
        rec = json_array_get(mine, 2);
        check_request_record(rec, "warn", resp.request_id, "POST", "/test");
        assert_string_equal(str_field(rec, "msg"), "request completed");
        assert_int_equal(json_integer_value(json_object_get(rec, "status")), 400);
        json_decref(mine);
        json_decref(all);
        hs_response_free(&resp);
    }
    assert_int_equal(hs_receiver_find(&g_recv, prefix, hits, 4), 0);
}

static void test_downstream_errors_are_logged(void **state)
{
    char prefix[32];
    char body[512];
    hs_response resp;
    json_t *all;
    json_t *mine;
    json_t *rec;
    (void)state;

    /* A peer answering 500 is logged as a warning; the protocol still succeeds. */
    next_prefix(prefix, sizeof(prefix), "x");
    snprintf(body, sizeof(body),
             "[{\"url\":\"http://127.0.0.1:%u/status/500%s\",\"arguments\":[]}]",
             (unsigned)g_recv.port, prefix);
    assert_int_equal(send_to_service("POST", "/test", NULL, body, &resp), 0);
    assert_int_equal(resp.status, 200);
    all = hs_service_records(&g_svc);
    mine = hs_records_for(all, resp.request_id);
    rec = hs_record_find(mine, "downstream answered", 0);
    assert_non_null(rec);
    check_request_record(rec, "warn", resp.request_id, "POST", "/test");
    assert_int_equal(json_integer_value(json_object_get(rec, "status")), 500);
    json_decref(mine);
    json_decref(all);
    hs_response_free(&resp);

    /* No peer, and a scheme that is not HTTP: the call fails, the request is 502. */
    snprintf(body, sizeof(body),
             "[{\"url\":\"http://127.0.0.1:1/\",\"arguments\":[]},"
             "{\"url\":\"file:///etc/passwd\",\"arguments\":[]}]");
    assert_int_equal(send_to_service("POST", "/test", NULL, body, &resp), 0);
    assert_int_equal(resp.status, 502);
    all = hs_service_records(&g_svc);
    mine = hs_records_for(all, resp.request_id);
    for (size_t i = 0; i < 2; i++) {
        rec = hs_record_find(mine, "downstream failed", i);
        assert_non_null(rec);
        check_request_record(rec, "error", resp.request_id, "POST", "/test");
        assert_int_equal(json_integer_value(json_object_get(rec, "call")), i);
        assert_true(strlen(str_field(rec, "error")) > 0);
    }
    rec = hs_record_find(mine, "request completed", 0);
    assert_non_null(rec);
    check_request_record(rec, "error", resp.request_id, "POST", "/test");
    assert_int_equal(json_integer_value(json_object_get(rec, "status")), 502);
    json_decref(mine);
    json_decref(all);
    hs_response_free(&resp);
}

/* ---- concurrency -------------------------------------------------------------- */

#define N_THREADS  8
#define PER_THREAD 3

typedef struct worker {
    pthread_t thread;
    unsigned index;
    int failures;
    struct {
        char trace[HEX_TRACE];
        char parent[HEX_SPAN];
        char prefix[32];
        json_t *calls;
        hs_response resp;
    } req[PER_THREAD];
} worker;

/* No cmocka assertion here (not thread-safe): results are checked after join. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    for (unsigned k = 0; k < PER_THREAD; k++) {
        char tp[80];
        const char *headers[] = {tp, NULL};
        char *body;
        snprintf(w->req[k].trace, sizeof(w->req[k].trace), "%08x%08x0000000000000000",
                 0xa0000000u + w->index, 0xb0000000u + k);
        snprintf(w->req[k].parent, sizeof(w->req[k].parent), "%08x%08x",
                 0xc0000000u + w->index, k + 1);
        snprintf(tp, sizeof(tp), "traceparent: 00-%s-%s-01", w->req[k].trace,
                 w->req[k].parent);
        snprintf(w->req[k].prefix, sizeof(w->req[k].prefix), "/conc%u-%u", w->index, k);
        w->req[k].calls = make_calls(w->req[k].prefix, 2);
        body = json_dumps(w->req[k].calls, JSON_COMPACT);
        if (body == NULL ||
            send_to_service("POST", "/test", headers, body, &w->req[k].resp) != 0) {
            w->failures++;
        }
        free(body);
    }
    return NULL;
}

static void test_concurrent_requests_keep_contexts_apart(void **state)
{
    static worker workers[N_THREADS];
    unsigned i;
    (void)state;

    for (i = 0; i < N_THREADS; i++) {
        workers[i].index = i;
        assert_int_equal(
            pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        assert_int_equal(workers[i].failures, 0);
        for (unsigned k = 0; k < PER_THREAD; k++) {
            expect e = {.origin = "continued",
                        .trace = workers[i].req[k].trace,
                        .parent = workers[i].req[k].parent,
                        .flags = "01"};
            check_propagated(&workers[i].req[k].resp, workers[i].req[k].calls,
                             workers[i].req[k].prefix, &e);
            json_decref(workers[i].req[k].calls);
            hs_response_free(&workers[i].req[k].resp);
        }
    }
}

/* ---- lifecycle ------------------------------------------------------------------ */

/* Runs last: it stops the group's service. */
static void test_sigterm_stops_cleanly_and_flushes(void **state)
{
    json_t *all;
    json_t *rec;
    size_t n;
    (void)state;

    assert_int_equal(hs_service_stop(&g_svc, SIGTERM, STOP_TIMEOUT_MS), 0);
    assert_true(WIFEXITED(g_svc.exit_status));
    assert_int_equal(WEXITSTATUS(g_svc.exit_status), 0);

    all = hs_service_records(&g_svc); /* every line parses, or this is NULL */
    assert_non_null(all);
    n = json_array_size(all);
    assert_true(n >= 3);
    rec = json_array_get(all, n - 2);
    assert_string_equal(str_field(rec, "msg"), "stopping");
    assert_string_equal(str_field(rec, "reason"), "SIGTERM");
    rec = json_array_get(all, n - 1);
    assert_string_equal(str_field(rec, "msg"), "stopped");
    assert_string_equal(str_field(rec, "level"), "info");
    assert_int_equal(json_integer_value(json_object_get(rec, "answered")),
                     atomic_load(&g_sent));
    assert_int_equal(json_integer_value(json_object_get(rec, "abandoned")), 0);
    assert_null(json_object_get(rec, "traceId"));
    json_decref(all);
}

static void test_max_requests_stops_by_itself(void **state)
{
    const char *extra[] = {"--max-requests", "3", NULL};
    hs_service s;
    json_t *all;
    json_t *rec;
    size_t n;
    (void)state;

    /* Readiness already sends one GET /health. */
    assert_int_equal(hs_service_start(&s, HTTP_SERVICE_BIN, extra, START_TIMEOUT_MS), 0);
    for (int i = 0; i < 2; i++) {
        char url[64];
        hs_response resp;
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", (unsigned)s.port);
        assert_int_equal(hs_http("GET", url, NULL, NULL, HTTP_TIMEOUT_MS, &resp), 0);
        assert_int_equal(resp.status, 200);
        hs_response_free(&resp);
    }
    assert_int_equal(hs_service_stop(&s, 0, STOP_TIMEOUT_MS), 0);
    assert_true(WIFEXITED(s.exit_status));
    assert_int_equal(WEXITSTATUS(s.exit_status), 0);
    all = hs_service_records(&s);
    assert_non_null(all);
    n = json_array_size(all);
    assert_int_equal(n, 1 + 3 * 2 + 2); /* listening, 3 x (received, completed), stop */
    rec = json_array_get(all, n - 2);
    assert_string_equal(str_field(rec, "reason"), "max-requests");
    rec = json_array_get(all, n - 1);
    assert_string_equal(str_field(rec, "msg"), "stopped");
    assert_int_equal(json_integer_value(json_object_get(rec, "answered")), 3);
    json_decref(all);
    hs_service_cleanup(&s);
}

static int group_setup(void **state)
{
    static const char *const log_spans[] = {"--log-spans", NULL};
    (void)state;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }
    if (hs_receiver_start(&g_recv) != 0) {
        return -1;
    }
    atomic_store(&g_sent, 1); /* the readiness check */
    if (hs_service_start(&g_svc, HTTP_SERVICE_BIN, log_spans, START_TIMEOUT_MS) != 0) {
        hs_service_cleanup(&g_svc);
        hs_receiver_stop(&g_recv);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hs_service_cleanup(&g_svc);
    hs_receiver_stop(&g_recv);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_logs_arrival_and_completion),
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
        cmocka_unit_test(test_baggage_is_passed_on),
        cmocka_unit_test(test_arguments_arrive_as_exact_json_bodies),
        cmocka_unit_test(test_bad_body_is_400_with_a_warning),
        cmocka_unit_test(test_downstream_errors_are_logged),
        cmocka_unit_test(test_concurrent_requests_keep_contexts_apart),
        cmocka_unit_test(test_sigterm_stops_cleanly_and_flushes),
        cmocka_unit_test(test_max_requests_stops_by_itself),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
