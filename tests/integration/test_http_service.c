/*
 * test_http_service.c - examples/http_service as a service, over real HTTP:
 * what it answers and logs for health checks, protocol bodies good and bad,
 * failing peers and concurrent requests, and how it stops.
 *
 * The group starts the built service on 127.0.0.1 (port chosen by the
 * kernel, read from its --port-file FIFO) and a downstream receiver of our
 * own that records every request; every record the service writes is parsed
 * back and checked field by field (see httpsvc_checks.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "integration/httpsvc_checks.h"

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
    (void)state;
    check_clean_stop();
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_logs_arrival_and_completion),
        cmocka_unit_test(test_arguments_arrive_as_exact_json_bodies),
        cmocka_unit_test(test_bad_body_is_400_with_a_warning),
        cmocka_unit_test(test_downstream_errors_are_logged),
        cmocka_unit_test(test_concurrent_requests_keep_contexts_apart),
        cmocka_unit_test(test_sigterm_stops_cleanly_and_flushes),
        cmocka_unit_test(test_max_requests_stops_by_itself),
    };
    return cmocka_run_group_tests(tests, hc_group_setup, hc_group_teardown);
}
