/*
 * test_otlp_http_service.c - examples/http_service with nothing but the
 * OTEL_* variables: a request arriving with a traceparent is exported as a
 * SERVER span (remote parent) with its CLIENT spans under it, and the
 * service's records for it arrive as OTLP logs carrying the same ids.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/httpsvc_harness.h"
#include "integration/otlp_harness.h"
#include "integration/otlp_json.h"

#define IN_TRACE  "4bf92f3577b34da6a3ce929d0e0e4736"
#define IN_PARENT "00f067aa0ba902b7"

static void test_request_exports_spans_and_logs(void **state)
{
    (void)state;
    setenv("NO_PROXY", "127.0.0.1", 1);
    otlp_recv_start(0);
    hs_receiver down;
    assert_int_equal(hs_receiver_start(&down), 0);
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "OTEL_EXPORTER_OTLP_ENDPOINT=%s", OR.base);
    const char *env[] = {endpoint,
                         "OTEL_LOGS_EXPORTER=otlp",
                         "OTEL_BSP_SCHEDULE_DELAY=100",
                         "OTEL_BLRP_SCHEDULE_DELAY=100",
                         "NO_PROXY=127.0.0.1",
                         NULL};
    hs_service_env = env;
    hs_service svc;
    assert_int_equal(hs_service_start(&svc, HTTP_SERVICE_BIN, NULL, 10000), 0);

    char body[512], url[64];
    snprintf(body, sizeof body,
             "[{\"url\":\"http://127.0.0.1:%u/a\",\"arguments\":[]},"
             "{\"url\":\"http://127.0.0.1:%u/b\",\"arguments\":[]}]",
             (unsigned)down.port, (unsigned)down.port);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/test", (unsigned)svc.port);
    const char *headers[] = {"traceparent: 00-" IN_TRACE "-" IN_PARENT "-01",
                             "Content-Type: application/json", NULL};
    hs_response resp;
    assert_int_equal(hs_http("POST", url, headers, body, 10000, &resp), 0);
    assert_int_equal(resp.status, 200);
    hs_response_free(&resp);
    assert_int_equal(hs_service_stop(&svc, SIGTERM, 10000), 0); /* flushes on exit */

    json_t *spans = otlp_wait("spans", 4, 10000);
    json_t *server = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s)
    {
        /* the harness's GET /health is a trace of its own */
        if (strcmp(str(s, "trace_id"), IN_TRACE) == 0 &&
            json_integer_value(json_object_get(s, "kind")) == 2) {
            assert_null(server);
            server = s;
        }
    }
    assert_non_null(server);
    assert_string_equal(str(server, "parent_span_id"), IN_PARENT);
    assert_int_equal(json_integer_value(json_object_get(server, "flags")), 0x301);
    assert_string_equal(str(json_object_get(server, "resource"), "service.name"),
                        "http_service");
    const char *server_id = str(server, "span_id");
    int clients = 0;
    json_array_foreach(spans, i, s)
    {
        if (json_integer_value(json_object_get(s, "kind")) == 3) {
            assert_string_equal(str(s, "trace_id"), IN_TRACE);
            assert_string_equal(str(s, "parent_span_id"), server_id);
            assert_int_equal(json_integer_value(json_object_get(s, "flags")), 0x101);
            clients++;
        }
    }
    assert_int_equal(clients, 2);

    json_t *logs = otlp_wait("logs", 2, 10000);
    int with_request = 0;
    json_t *l;
    json_array_foreach(logs, i, l)
    {
        if (strcmp(str(l, "trace_id"), IN_TRACE) != 0) {
            continue; /* startup and shutdown records carry no trace */
        }
        with_request++;
        bool known = strcmp(str(l, "span_id"), server_id) == 0;
        json_t *c;
        size_t k;
        json_array_foreach(spans, k, c)
        {
            known |= strcmp(str(c, "span_id"), str(l, "span_id")) == 0;
        }
        assert_true(known);
    }
    assert_true(with_request >= 2);
    json_decref(logs);
    json_decref(spans);
    hs_service_cleanup(&svc);
    hs_receiver_stop(&down);
    otlp_recv_kill();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_exports_spans_and_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
