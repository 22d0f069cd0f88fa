/*
 * httpsvc_checks.c - what both http_service test programs check: one
 * protocol request seen from the wire (what the receiver got), from the
 * service's answer and from every JSON record it wrote, all agreeing.
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
#include <sys/wait.h>

#include <curl/curl.h>

#include "integration/httpsvc_checks.h"

hs_service g_svc;
hs_receiver g_recv;
atomic_uint g_sent;   /* requests sent to g_svc, for the final count */
atomic_uint g_prefix; /* unique receiver path prefixes */

/* ---- what one protocol request looks like from every side ---------------- */

bool is_hex(const char *s, size_t len)
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

const char *str_field(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

/* The fields every record of a request carries, checked one by one. */
void check_request_record(const json_t *rec, const char *level, const char *rid,
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
void check_ids(const json_t *rec, const char *trace, const char *span)
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

char *next_prefix(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/%s%u", tag, atomic_fetch_add(&g_prefix, 1));
    return buf;
}

/* [{"url": base+prefix/i, "arguments": [prefix, i, {"nested": [true, null]}]}...] */
json_t *make_calls(const char *prefix, size_t ncalls)
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

int send_to_service(const char *method, const char *path, const char *const *headers,
                    const char *body, hs_response *resp)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)g_svc.port, path);
    atomic_fetch_add(&g_sent, 1);
    return hs_http(method, url, headers, body, HTTP_TIMEOUT_MS, resp);
}

/* POSTs the protocol for ncalls calls under prefix. The calls are returned. */
json_t *post_protocol(const char *const *headers, const char *prefix, size_t ncalls,
                      hs_response *resp)
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
/*
 * What the service sends on: `svc=<span>` and the incoming list without
 * its own old entry, at most 32 entries (the rightmost incoming one goes).
 */
static void expected_tracestate(const char *span, const char *in, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "svc=%s", span);
    unsigned members = 1;
    const char *p = in;
    while (p != NULL && *p != '\0' && members < 32) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0 && strncmp(p, "svc=", 4) != 0) {
            n += (size_t)snprintf(out + n, cap - n, ",%.*s", (int)len, p);
            members++;
        }
        p = comma ? comma + 1 : NULL;
    }
}

void check_propagated(const hs_response *resp, const json_t *calls, const char *prefix,
                      const expect *e)
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
    char want_ts[700];

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
        /* The service's own entry on the left, then what came in (its 32nd
         * entry pushed out when 32 came in). */
        assert_int_equal(hs_hit_header(hits[i], "tracestate", &wire[i].tracestate), 1);
        expected_tracestate(wire[i].span, e->tracestate, want_ts, sizeof(want_ts));
        assert_string_equal(wire[i].tracestate, want_ts);
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
void roundtrip(const char *const *headers, size_t ncalls, const expect *e)
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

void check_clean_stop(void)
{
    json_t *all;
    json_t *rec;
    size_t n;

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

int hc_group_setup(void **state)
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

int hc_group_teardown(void **state)
{
    int rc = 0;
    (void)state;
    /* Still running (no test stopped it): it must stop cleanly on SIGTERM too. */
    if (g_svc.pid > 0 && !g_svc.reaped) {
        if (hs_service_stop(&g_svc, SIGTERM, STOP_TIMEOUT_MS) != 0 ||
            !WIFEXITED(g_svc.exit_status) || WEXITSTATUS(g_svc.exit_status) != 0) {
            fprintf(stderr, "service did not stop cleanly on SIGTERM\n");
            rc = -1;
        }
    }
    hs_service_cleanup(&g_svc);
    hs_receiver_stop(&g_recv);
    curl_global_cleanup();
    return rc;
}
