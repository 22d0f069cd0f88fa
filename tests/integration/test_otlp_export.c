/*
 * test_otlp_export.c - the OTLP span exporter and otlp: log sink against the
 * strict receiver (tests/integration/otlp/otlp_receiver.py) on loopback:
 * values round-trip, trees across threads, remote parents, outages with
 * exact accounting, partial success, error answers, exit flush, fork.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>

#include "integration/otlp_harness.h"
#include "integration/otlp_json.h"
#include "spanlog/otlp.h"
#include "spanlog/spanlog.h"

/* Under ThreadSanitizer, let the fork test's child start its worker thread
 * (TSan refuses threads after a multi-threaded fork unless told otherwise).
 * Ignored by other builds. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}

static int setup(void **state)
{
    (void)state;
    setenv("NO_PROXY", "127.0.0.1", 1);
    setenv("no_proxy", "127.0.0.1", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    otlp_recv_start(0);
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1.0};
    sl_sampler_set(&on);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    otlp_recv_kill();
    return 0;
}

static int reset(void **state)
{
    (void)state;
    json_decref(otlp_control("/control/reset", "{}"));
    return 0;
}

/* ---- helpers ------------------------------------------------------------------- */

static void options(sl_otlp_options *o, sl_otlp_signal sig)
{
    sl_otlp_options_init(o, sig);
    o->base_endpoint = OR.base;
    o->schedule_delay_ms = 50;
    o->backoff_min_ms = 20;
    o->backoff_max_ms = 200;
    o->timeout_ms = 3000;
    o->service_name = "otlp-test";
}

static sl_otlp_exporter *exporter(const sl_otlp_options *o)
{
    sl_otlp_exporter *e = NULL;
    sl_error err;
    sl_error_init(&err);
    sl_status st = sl_otlp_exporter_new(o, &e, &err);
    if (st != SL_OK) {
        fprintf(stderr, "exporter: %s\n", err.text);
    }
    assert_int_equal(st, SL_OK);
    return e;
}

static sl_otlp_stats stats(sl_otlp_exporter *e)
{
    sl_otlp_stats s;
    s.size = sizeof s;
    sl_otlp_exporter_get_stats(e, &s);
    return s;
}

/* Waits (bounded) until the exporter has retried at least once: a request
 * really failed, rather than time having passed. */
static sl_otlp_stats wait_retried(sl_otlp_exporter *e, int timeout_ms)
{
    int64_t end = otlp_now_ms() + timeout_ms;
    sl_otlp_stats st = stats(e);
    while (st.retries == 0 && otlp_now_ms() < end) {
        otlp_pause_ms(10);
        st = stats(e);
    }
    assert_true(st.retries > 0);
    return st;
}

static json_t *find_span(json_t *spans, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s)
    {
        if (strcmp(str(s, "name"), name) == 0) {
            return s;
        }
    }
    fail_msg("no span %s", name);
    return NULL;
}

/* ---- tests ------------------------------------------------------------------------ */

static void round_trip(bool json, bool gzip)
{
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.protocol = json ? SL_OTLP_HTTP_JSON : SL_OTLP_HTTP_PROTOBUF;
    o.gzip = gzip;
    o.headers = "x-api-key=s%20ecret,x-tenant=acme";
    sl_otlp_exporter *e = exporter(&o);
    sl_span_context remote;
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &remote), SL_OK);
    sl_tracestate_parse("k=v", 3, &remote);
    sl_span *s = sl_span_start_with_parent("srv", SL_SPAN_SERVER, &remote);
    sl_span_set(s, SL_STR("s", "v\xff"), SL_INT("i", -5), SL_DOUBLE("d", 2.5),
                SL_BOOL("b", true), SL_DOUBLE("nan", NAN));
    sl_span_add_event(s, "ev", (sl_field[]){SL_STR("k", "x")}, 1);
    sl_span_add_link(s, &remote, (sl_field[]){SL_INT("n", 1)}, 1);
    sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "boom");
    char me[17];
    hex_into(sl_span_get_context(s)->span_id.bytes, 8, me);
    sl_span_end(s);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    json_t *spans = otlp_wait("spans", 1, 5000);
    assert_int_equal(json_array_size(spans), 1);
    json_t *p = json_array_get(spans, 0);
    assert_string_equal(str(p, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(str(p, "span_id"), me);
    assert_string_equal(str(p, "parent_span_id"), "00f067aa0ba902b7");
    assert_string_equal(str(p, "trace_state"), "k=v");
    assert_int_equal(num(p, "flags"), 0x301);
    assert_int_equal(num(p, "kind"), 2);
    json_t *a = json_object_get(p, "attributes");
    assert_string_equal(str(a, "s"), "v\xef\xbf\xbd");
    assert_int_equal(num(a, "i"), -5);
    assert_true(json_real_value(json_object_get(a, "d")) == 2.5);
    assert_true(json_is_true(json_object_get(a, "b")));
    assert_string_equal(str(json_object_get(a, "nan"), "double"), "NaN");
    json_t *ev = json_array_get(json_object_get(p, "events"), 0);
    assert_string_equal(str(json_object_get(ev, "attributes"), "k"), "x");
    json_t *ln = json_array_get(json_object_get(p, "links"), 0);
    assert_string_equal(str(ln, "span_id"), "00f067aa0ba902b7");
    assert_string_equal(str(json_object_get(p, "status"), "message"), "boom");
    assert_string_equal(str(json_object_get(p, "resource"), "service.name"), "otlp-test");
    json_decref(spans);
    json_t *c = otlp_control("/control/counters", NULL);
    json_t *h = json_object_get(c, "headers");
    assert_string_equal(str(h, "x-api-key"), "s ecret");
    assert_string_equal(str(h, "x-tenant"), "acme");
    assert_string_equal(str(h, "content-type"),
                        json ? "application/json" : "application/x-protobuf");
    if (gzip) {
        assert_string_equal(str(h, "content-encoding"), "gzip");
    }
    json_decref(c);
    sl_otlp_stats st = stats(e);
    assert_int_equal(st.exported, 1);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.last_status, 200);
    sl_otlp_exporter_free(e, 1000);
}

static void test_round_trip_protobuf(void **s)
{
    (void)s;
    round_trip(false, false);
}
static void test_round_trip_json_gzip(void **s)
{
    (void)s;
    round_trip(true, true);
}
static void test_round_trip_protobuf_gzip(void **s)
{
    (void)s;
    round_trip(false, true);
}

typedef struct child_arg {
    sl_span_context parent;
    int i;
} child_arg;

static void *child_thread(void *p)
{
    child_arg *a = p;
    char name[16];
    snprintf(name, sizeof name, "child-%d", a->i);
    sl_span *c = sl_span_start_with_parent(name, SL_SPAN_CLIENT, &a->parent);
    sl_span *g = sl_span_start("grandchild", SL_SPAN_INTERNAL);
    sl_span_end(g);
    sl_span_end(c);
    return NULL;
}

static void test_tree_across_threads(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    sl_otlp_exporter *e = exporter(&o);
    sl_span *root = sl_span_start_with_parent("root", SL_SPAN_SERVER, NULL);
    child_arg args[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        args[i].parent = *sl_span_get_context(root);
        args[i].i = i;
        pthread_create(&t[i], NULL, child_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    char root_id[17], trace[33];
    hex_into(sl_span_get_context(root)->span_id.bytes, 8, root_id);
    hex_into(sl_span_get_context(root)->trace_id.bytes, 16, trace);
    sl_span_end(root);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    json_t *spans = otlp_wait("spans", 9, 5000);
    assert_int_equal(json_array_size(spans), 9);
    json_t *r = find_span(spans, "root");
    assert_string_equal(str(r, "parent_span_id"), "");
    assert_int_equal(num(r, "flags") & 0x300, 0x100);
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s)
    {
        assert_string_equal(str(s, "trace_id"), trace);
    }
    for (int k = 0; k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "child-%d", k);
        json_t *c = find_span(spans, name);
        assert_string_equal(str(c, "parent_span_id"), root_id);
        assert_int_equal(num(c, "flags") & 0x300, 0x100); /* local parent */
        int grandchildren = 0;
        json_array_foreach(spans, i, s)
        {
            if (strcmp(str(s, "name"), "grandchild") == 0 &&
                strcmp(str(s, "parent_span_id"), str(c, "span_id")) == 0) {
                grandchildren++;
            }
        }
        assert_int_equal(grandchildren, 1);
    }
    json_decref(spans);
    sl_otlp_exporter_free(e, 1000);
}

static void end_spans(int n)
{
    for (int i = 0; i < n; i++) {
        sl_span *s = sl_span_start_with_parent("bulk", SL_SPAN_INTERNAL, NULL);
        sl_span_set(s, SL_INT("i", i));
        sl_span_end(s);
    }
}

static void test_outage_loses_nothing(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.export_timeout_ms = 60000;
    sl_otlp_exporter *e = exporter(&o);
    int port = OR.port;
    otlp_recv_kill(); /* connections refused now */
    end_spans(1000);
    sl_otlp_stats st = wait_retried(e, 10000); /* a push was refused */
    assert_int_equal(st.exported, 0);
    assert_int_equal(st.pending, 1000);
    otlp_recv_start(port);
    assert_int_equal(sl_otlp_exporter_flush(e, 15000), SL_OK);
    json_t *spans = otlp_wait("spans", 1000, 5000);
    assert_int_equal(json_array_size(spans), 1000);
    json_decref(spans);
    st = stats(e);
    assert_int_equal(st.exported, 1000);
    assert_true(st.retries > 0);
    assert_int_equal(st.dropped_queue_full + st.dropped_retries_exhausted, 0);
    sl_otlp_exporter_free(e, 1000);
}

static void test_small_queue_counts_exactly(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.max_queue_size = 100;
    o.max_export_batch_size = 30;
    sl_otlp_exporter *e = exporter(&o);
    otlp_faults("{\"fail\":[{\"status\":503,\"count\":3}]}");
    end_spans(500);
    assert_int_equal(sl_otlp_exporter_flush(e, 15000), SL_OK);
    sl_otlp_stats st = stats(e);
    json_t *spans = otlp_wait("spans", st.exported, 5000);
    uint64_t received = json_array_size(spans);
    json_decref(spans);
    uint64_t dropped = st.dropped_queue_full + st.dropped_rejected + st.dropped_partial +
                       st.dropped_retries_exhausted + st.dropped_too_large +
                       st.dropped_closed + st.dropped_encode;
    assert_int_equal(received, st.exported);
    assert_int_equal(received + dropped, 500);
    assert_true(st.dropped_queue_full >= 400 - 30);
    assert_int_equal(otlp_status_count("503"), 3);
    sl_otlp_exporter_free(e, 1000);
}

static void test_partial_success(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.schedule_delay_ms = 5000;
    sl_otlp_exporter *e = exporter(&o);
    otlp_faults("{\"partial\":{\"rejected\":3,\"message\":\"spans too old\"}}");
    end_spans(10);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    json_t *spans = otlp_wait("spans", 7, 5000);
    assert_int_equal(json_array_size(spans), 7);
    json_decref(spans);
    sl_otlp_stats st = stats(e);
    assert_int_equal(st.dropped_partial, 3);
    assert_int_equal(st.exported, 7);
    sl_sink_stats ss;
    sl_sink_get_stats(sl_otlp_exporter_sink(e), &ss);
    assert_true(ss.errors >= 1);
    sl_otlp_exporter_free(e, 1000);
}

static void test_error_answers(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.backoff_max_ms = 5000; /* the runtime caps Retry-After there */
    sl_otlp_exporter *e = exporter(&o);
    /* 400: dropped with the reason; 429 with Retry-After, 502, 504: retried */
    otlp_faults("{\"fail\":[{\"status\":400,\"count\":1}]}");
    end_spans(5);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    sl_otlp_stats st = stats(e);
    assert_int_equal(st.dropped_rejected, 5);
    assert_non_null(strstr(st.last_error, "400"));
    assert_non_null(strstr(st.last_error, "injected by test"));
    otlp_faults("{\"fail\":[{\"status\":429,\"count\":1,\"retry_after\":\"1\"},"
                "{\"status\":502,\"count\":1},{\"status\":504,\"count\":1}]}");
    int64_t t0 = otlp_now_ms();
    end_spans(4);
    assert_int_equal(sl_otlp_exporter_flush(e, 10000), SL_OK);
    assert_true(otlp_now_ms() - t0 >= 1000); /* Retry-After: 1 honoured */
    st = stats(e);
    assert_int_equal(st.exported, 4);
    assert_true(st.retries >= 3);
    /* an answer that is not an ExportTraceServiceResponse: counted, not a crash */
    otlp_faults("{\"bad_body\":1}");
    end_spans(2);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    st = stats(e);
    assert_int_equal(st.bad_responses, 1);
    assert_int_equal(st.exported, 6);
    sl_otlp_exporter_free(e, 1000);
}

static void test_hostile_values(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.attribute_value_length_limit = 1000;
    sl_otlp_exporter *e = exporter(&o);
    size_t big = 1u << 20;
    char *huge = malloc(big);
    memset(huge, '\xe9', big); /* invalid UTF-8, a megabyte of it */
    sl_span *s = sl_span_start_with_parent("\xc3", SL_SPAN_INTERNAL, NULL);
    sl_span_set(s, SL_STRN("huge", huge, big), SL_DOUBLE("inf", INFINITY),
                SL_DOUBLE("nan", -NAN));
    sl_span_end(s);
    free(huge);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    json_t *spans = otlp_wait("spans", 1, 5000);
    assert_int_equal(json_array_size(spans), 1);
    json_t *a = json_object_get(json_array_get(spans, 0), "attributes");
    assert_true(json_string_length(json_object_get(a, "huge")) <= 3000);
    assert_int_equal(otlp_status_count("400"), 0);
    json_decref(spans);
    sl_otlp_exporter_free(e, 1000);
}

static void test_log_sink_round_trip(void **state)
{
    (void)state;
    for (int json = 0; json < 2; json++) {
        json_decref(otlp_control("/control/reset", "{}"));
        sl_otlp_options o;
        options(&o, SL_OTLP_LOGS);
        o.protocol = json ? SL_OTLP_HTTP_JSON : SL_OTLP_HTTP_PROTOBUF;
        const char *keys[] = {"tenantId"};
        o.baggage_keys = keys;
        o.nbaggage_keys = 1;
        sl_sink *sink = NULL;
        assert_int_equal(sl_otlp_log_sink_new(&o, &sink, NULL), SL_OK);
        sl_logger *lg = NULL;
        assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
        assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
        sl_logger *req = sl_child(lg, SL_STR("requestId", "r-1"));
        sl_baggage *bg = NULL;
        assert_int_equal(sl_baggage_parse("tenantId=t9", 11, &bg, NULL), SL_OK);
        sl_context_token tok;
        sl_baggage_attach(bg, &tok);
        sl_span *sp = sl_span_start_with_parent("op", SL_SPAN_SERVER, NULL);
        json_t *doc = json_pack("{s:[i,i]}", "xs", 1, 2);
        sl_error(req, "failed", SL_INT("code", 7), SL_JSON("doc", doc));
        char trace[33], span[17];
        hex_into(sl_span_get_context(sp)->trace_id.bytes, 16, trace);
        hex_into(sl_span_get_context(sp)->span_id.bytes, 8, span);
        sl_span_end(sp);
        sl_context_detach(tok);
        sl_baggage_free(bg);
        json_decref(doc);
        assert_int_equal(sl_logger_flush(req, 5000), SL_OK);
        json_t *logs = otlp_wait("logs", 1, 5000);
        assert_int_equal(json_array_size(logs), 1);
        json_t *l = json_array_get(logs, 0);
        assert_string_equal(str(l, "body"), "failed");
        assert_int_equal(num(l, "severity_number"), 17);
        assert_string_equal(str(l, "severity_text"), "error");
        assert_string_equal(str(l, "trace_id"), trace);
        assert_string_equal(str(l, "span_id"), span);
        assert_int_equal(num(l, "flags"), 0x03);
        assert_true(num(l, "time") > 0 && num(l, "observed_time") >= num(l, "time"));
        json_t *a = json_object_get(l, "attributes");
        assert_string_equal(str(a, "requestId"), "r-1");
        assert_int_equal(num(a, "code"), 7);
        assert_string_equal(str(a, "tenantId"), "t9");
        json_t *xs =
            json_object_get(json_object_get(json_object_get(a, "doc"), "kvlist"), "xs");
        assert_int_equal(json_array_size(xs), 2);
        assert_null(json_object_get(a, "traceId"));
        json_decref(logs);
        sl_otlp_stats st;
        st.size = sizeof st;
        sl_otlp_sink_get_stats(sink, &st);
        assert_int_equal(st.exported, 1);
        sl_logger_free(req);
        sl_logger_free(lg);
    }
}

/* The exit flush: a child that ends spans and exits without freeing anything. */
static void test_exit_flush_and_fork(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.schedule_delay_ms = 60000; /* nothing would go out before exit */
    sl_otlp_exporter *e = exporter(&o);
    end_spans(3); /* the parent's, queued before the fork */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sl_span *s = sl_span_start_with_parent("from-child", SL_SPAN_INTERNAL, NULL);
        sl_span_end(s);
        exit(0); /* the atexit handler flushes within its budget */
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    json_t *spans = otlp_wait("spans", 1, 3000);
    assert_int_equal(json_array_size(spans), 1); /* the child's only: no duplicates */
    assert_string_equal(str(json_array_get(spans, 0), "name"), "from-child");
    json_decref(spans);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    spans = otlp_wait("spans", 4, 3000);
    assert_int_equal(json_array_size(spans), 4);
    json_decref(spans);
    sl_otlp_exporter_free(e, 1000);
}

static void test_options_and_env(void **state)
{
    (void)state;
    sl_otlp_options o;
    sl_otlp_options_init(&o, SL_OTLP_TRACES);
    sl_error err;
    sl_error_init(&err);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
    assert_int_equal(sl_otlp_options_from_env(&o, &err), SL_ENOTSUP);
    assert_non_null(strstr(err.text, "http/protobuf"));
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
    setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", 1);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1234", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "77", 1);
    setenv("OTEL_SPAN_LINK_COUNT_LIMIT", "3", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
    sl_error_init(&err);
    assert_int_equal(sl_otlp_options_from_env(&o, &err), SL_OK);
    assert_int_equal(o.protocol, SL_OTLP_HTTP_PROTOBUF);
    assert_string_equal(o.base_endpoint, "http://collector:4318/");
    assert_null(o.endpoint);
    assert_int_equal(o.timeout_ms, 1234);
    assert_int_equal(o.max_queue_size, 77);
    assert_int_equal(o.link_count_limit, 3);
    assert_true(o.gzip);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "soon", 1);
    sl_error_init(&err);
    assert_int_equal(sl_otlp_options_from_env(&o, &err), SL_EPARSE);
    assert_string_equal(err.name, "OTEL_BSP_SCHEDULE_DELAY");
    unsetenv("OTEL_BSP_SCHEDULE_DELAY");
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", 1);
    assert_int_equal(sl_otlp_options_from_env(&o, &err), SL_ENOTSUP);
    unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
    unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");
    unsetenv("OTEL_BSP_MAX_QUEUE_SIZE");
    unsetenv("OTEL_SPAN_LINK_COUNT_LIMIT");
    /* a bad URL and a header value holding a line break are refused */
    options(&o, SL_OTLP_TRACES);
    o.endpoint = "ftp://x/v1/traces";
    sl_otlp_exporter *e = NULL;
    assert_int_equal(sl_otlp_exporter_new(&o, &e, &err), SL_EINVAL);
    o.endpoint = "http://u:pw@host:99999/v1/traces"; /* port out of range */
    sl_error_init(&err);
    assert_int_equal(sl_otlp_exporter_new(&o, &e, &err), SL_EINVAL);
    assert_null(strstr(err.value, "pw"));
    assert_null(strstr(err.text, "pw"));
    options(&o, SL_OTLP_TRACES);
    o.headers = "a=b%0d%0aX: y";
    sl_error_init(&err);
    assert_int_equal(sl_otlp_exporter_new(&o, &e, &err), SL_EPARSE);
    assert_null(strstr(err.value, "b%0d")); /* header values are secret */
    /* nothing is set up without the variables */
    unsetenv("OTEL_TRACES_EXPORTER");
    assert_int_equal(sl_otlp_setup_from_env("svc", NULL), SL_ENOENT);
    setenv("OTEL_TRACES_EXPORTER", "zipkin", 1);
    assert_int_equal(sl_otlp_setup_from_env("svc", NULL), SL_EPARSE);
    setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
    setenv("OTEL_SDK_DISABLED", "true", 1);
    assert_int_equal(sl_otlp_setup_from_env("svc", NULL), SL_ENOENT);
    unsetenv("OTEL_SDK_DISABLED");
    unsetenv("OTEL_TRACES_EXPORTER");
}

/* sl_logger_from_env with OTEL_* variables: spans and logs both exported. */
static void test_logger_from_env(void **state)
{
    (void)state;
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", OR.base, 1);
    setenv("OTEL_LOGS_EXPORTER", "otlp", 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "50", 1);
    setenv("OTEL_BLRP_SCHEDULE_DELAY", "50", 1);
    setenv("SPANLOG_SINK", "null", 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("from-env", &lg, NULL), SL_OK);
    assert_non_null(sl_otlp_global_exporter());
    sl_span *s = sl_span_start_with_parent("env-span", SL_SPAN_SERVER, NULL);
    sl_info(lg, "inside");
    char trace[33];
    hex_into(sl_span_get_context(s)->trace_id.bytes, 16, trace);
    sl_span_end(s);
    json_t *spans = otlp_wait("spans", 1, 5000);
    json_t *logs = otlp_wait("logs", 1, 5000);
    assert_int_equal(json_array_size(spans), 1);
    assert_int_equal(json_array_size(logs), 1);
    assert_string_equal(str(json_array_get(spans, 0), "trace_id"), trace);
    assert_string_equal(str(json_array_get(logs, 0), "trace_id"), trace);
    assert_string_equal(
        str(json_object_get(json_array_get(spans, 0), "resource"), "service.name"),
        "from-env");
    json_decref(spans);
    json_decref(logs);
    sl_logger_free(lg);
    sl_otlp_shutdown(1000);
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    unsetenv("OTEL_LOGS_EXPORTER");
    unsetenv("SPANLOG_SINK");
}

/* A server slower than the request timeout: retried; close cancels in flight. */
static void test_slow_answers_and_close_deadline(void **state)
{
    (void)state;
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.timeout_ms = 300;
    otlp_faults("{\"delay_ms\":600}");
    sl_otlp_exporter *e = exporter(&o);
    end_spans(2);
    (void)wait_retried(e, 10000); /* at least one request timed out */
    otlp_faults("{\"delay_ms\":0}");
    assert_int_equal(sl_otlp_exporter_flush(e, 10000), SL_OK);
    sl_otlp_stats st = stats(e);
    assert_true(st.retries >= 1);
    assert_true(st.exported >= 2); /* a timed-out request may have been stored too */
    /* close with a request in flight at a server that takes 5 s */
    o.timeout_ms = 10000;
    sl_otlp_exporter *e2 = exporter(&o);
    otlp_faults("{\"delay_ms\":5000}");
    end_spans(1);
    sl_otlp_exporter_flush(e2, 300); /* the request is in flight now */
    int64_t t0 = otlp_now_ms();
    sl_otlp_stats st2 = stats(e2);
    sl_otlp_exporter_free(e2, 200);
    int64_t took = otlp_now_ms() - t0;
    assert_true(took < 2000); /* not the 10 s request timeout */
    assert_int_equal(st2.exported, 0);
    otlp_faults("{\"delay_ms\":0}");
    sl_otlp_exporter_free(e, 1000);
}

/* OTEL_TRACES_EXPORTER=console: one OTLP JSON request per line on stderr. */
static void test_console_exporter(void **state)
{
    (void)state;
    char path[] = "/tmp/otlp-console-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    sl_otlp_options o;
    options(&o, SL_OTLP_TRACES);
    o.console = true;
    sl_otlp_exporter *e = exporter(&o);
    sl_span *s = sl_span_start_with_parent("to-console", SL_SPAN_INTERNAL, NULL);
    sl_span_end(s);
    assert_int_equal(sl_otlp_exporter_flush(e, 5000), SL_OK);
    sl_otlp_exporter_free(e, 1000);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    unlink(path);
    assert_true(n > 0);
    json_error_t jerr;
    json_t *req = json_loads(line, 0, &jerr);
    free(line);
    assert_non_null(req);
    json_t *span = json_array_get(
        json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(req, "resourceSpans"), 0),
                                "scopeSpans"),
                0),
            "spans"),
        0);
    assert_string_equal(str(span, "name"), "to-console");
    assert_int_equal(strlen(str(span, "traceId")), 32);
    assert_true(json_is_string(json_object_get(span, "startTimeUnixNano")));
    json_decref(req);
    /* nothing was sent (a request the previous test gave up on may still
     * land meanwhile: look for this test's span only) */
    json_t *spans = otlp_control("/control/spans", NULL);
    size_t i;
    json_t *sp;
    json_array_foreach(spans, i, sp)
    {
        assert_string_not_equal(str(sp, "name"), "to-console");
    }
    json_decref(spans);
}

/* Loki 3's native path, through the otlp:URL form. */
static void test_uri_with_path(void **state)
{
    (void)state;
    char uri[160];
    snprintf(uri, sizeof uri, "otlp:%s/otlp/v1/logs", OR.base);
    setenv("OTEL_BLRP_SCHEDULE_DELAY", "50", 1);
    sl_sink *sink = NULL;
    assert_int_equal(sl_sink_from_uri(uri, &sink, NULL), SL_OK);
    unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    sl_warn(lg, "to loki", SL_UINT("n", 3));
    assert_int_equal(sl_logger_flush(lg, 5000), SL_OK);
    json_t *logs = otlp_wait("logs", 1, 5000);
    assert_int_equal(json_array_size(logs), 1);
    assert_string_equal(str(json_array_get(logs, 0), "body"), "to loki");
    json_decref(logs);
    sl_logger_free(lg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_round_trip_protobuf, reset),
        cmocka_unit_test_setup(test_round_trip_json_gzip, reset),
        cmocka_unit_test_setup(test_round_trip_protobuf_gzip, reset),
        cmocka_unit_test_setup(test_tree_across_threads, reset),
        cmocka_unit_test_setup(test_partial_success, reset),
        cmocka_unit_test_setup(test_error_answers, reset),
        cmocka_unit_test_setup(test_small_queue_counts_exactly, reset),
        cmocka_unit_test_setup(test_hostile_values, reset),
        cmocka_unit_test_setup(test_log_sink_round_trip, reset),
        cmocka_unit_test_setup(test_options_and_env, reset),
        cmocka_unit_test_setup(test_logger_from_env, reset),
        cmocka_unit_test_setup(test_exit_flush_and_fork, reset),
        cmocka_unit_test_setup(test_outage_loses_nothing, reset),
        cmocka_unit_test_setup(test_slow_answers_and_close_deadline, reset),
        cmocka_unit_test_setup(test_console_exporter, reset),
        cmocka_unit_test_setup(test_uri_with_path, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
