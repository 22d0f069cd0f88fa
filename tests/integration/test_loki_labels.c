/*
 * test_loki_labels.c - what the Loki sink sends as labels and what a Loki
 * answer that names only some entries means, against the strict receiver
 * (which decodes protobuf label strings as Loki's parser does):
 *   - a service name (in code or OTEL_SERVICE_NAME) or static label that is
 *     not valid UTF-8 is repaired (U+FFFD) exactly as record strings are, and
 *     delivered, in both encodings;
 *   - label values holding quotes, backslashes and newlines are stored with
 *     their real value by default (protobuf); JSON against Loki 2.9 keeps the
 *     escapes (the documented limitation of SL_LOKI_ENCODING_JSON);
 *   - a 300-byte service is one whole label;
 *   - Loki 2.9's partial 400 (valid lines stored, one over max_line_size) is
 *     counted under dropped_rejected_partial, not as a rejection of all;
 *   - with line_limit at the server's max_line_size, no line goes over it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/loki_harness.h"

/* The one stream whose service_name is `service` (NULL: none such). */
static json_t *stream_of(json_t *snap, const char *service)
{
    json_t *streams = json_object_get(snap, "streams");
    for (size_t i = 0; i < json_array_size(streams); i++) {
        json_t *s = json_array_get(streams, i);
        const char *v = json_string_value(
            json_object_get(json_object_get(s, "labels"), "service_name"));
        if (v != NULL && strcmp(v, service) == 0) {
            return s;
        }
    }
    return NULL;
}

static const char *label(json_t *stream, const char *name)
{
    return json_string_value(json_object_get(json_object_get(stream, "labels"), name));
}

/* Every request the receiver logged was answered `status`. */
static void assert_all_status(json_t *snap, int status)
{
    json_t *reqs = json_object_get(snap, "requests");
    assert_true(json_array_size(reqs) >= 1);
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        assert_int_equal(
            json_integer_value(json_object_get(json_array_get(reqs, i), "status")),
            status);
    }
}

/* ---- ill-formed UTF-8 in label values ----------------------------------- */

static void non_utf8_service(sl_loki_encoding enc)
{
    lk_reset(NULL);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.encoding = enc;
    sl_loki_label labels[] = {{"env", "pr\xffod"}};
    o.labels = labels;
    o.nlabels = 1;
    sl_sink *loki = NULL;
    sl_logger *lg = lk_logger(&o, "caf\xe9-svc\xf0\x9f\x98", NULL, &loki);
    assert_non_null(lg);
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        sl_info(lg, "repaired", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(loki, &st), SL_OK);
    assert_int_equal(st.sent_records, N);
    assert_int_equal(lk_dropped_total(&st), 0);
    sl_logger_free(lg);

    json_t *snap = lk_wait_count(&LK, N, 5000);
    assert_all_status(snap, 204);
    /* One U+FFFD per maximal subpart, as in the record's own "service". */
    const char *want = "caf\xef\xbf\xbd-svc\xef\xbf\xbd";
    json_t *s = stream_of(snap, want);
    assert_non_null(s);
    assert_string_equal(label(s, "env"), "pr\xef\xbf\xbdod");
    json_t *ents = json_object_get(s, "entries");
    assert_int_equal(json_array_size(ents), N);
    for (size_t i = 0; i < N; i++) {
        json_t *rec = json_loads(
            json_string_value(json_object_get(json_array_get(ents, i), "line")), 0, NULL);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "service")), want);
        assert_int_equal(json_integer_value(json_object_get(rec, "i")), (json_int_t)i);
        json_decref(rec);
    }
    json_decref(snap);
}

static void test_non_utf8_service_protobuf(void **state)
{
    (void)state;
    non_utf8_service(SL_LOKI_ENCODING_PROTOBUF);
}

static void test_non_utf8_service_json(void **state)
{
    (void)state;
    non_utf8_service(SL_LOKI_ENCODING_JSON);
}

static void test_otel_service_name_non_utf8(void **state)
{
    (void)state;
    setenv("SPANLOG_SINK", "null", 1);
    setenv("SPANLOG_LOKI_URL", LK.url, 1);
    setenv("SPANLOG_LOKI_BATCH_MS", "50", 1);
    setenv("OTEL_SERVICE_NAME", "\xc3(otel", 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env(NULL, &lg, NULL), SL_OK);
    for (int i = 0; i < 5; i++) {
        sl_info(lg, "from env", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_logger_free(lg);
    unsetenv("OTEL_SERVICE_NAME");
    unsetenv("SPANLOG_LOKI_BATCH_MS");
    unsetenv("SPANLOG_LOKI_URL");
    unsetenv("SPANLOG_SINK");
    json_t *snap = lk_wait_count(&LK, 5, 5000);
    assert_all_status(snap, 204);
    json_t *s = stream_of(snap, "\xef\xbf\xbd(otel");
    assert_non_null(s);
    assert_int_equal(json_array_size(json_object_get(s, "entries")), 5);
    json_decref(snap);
}

/* ---- label values selectable by their real value ------------------------- */

static const char TRICKY_SERVICE[] = "quo\"te\\back\nnl\ttab";
static const char TRICKY_ENV[] = "a\"b\\c";

static void send_tricky(sl_loki_encoding enc)
{
    sl_loki_options o;
    lk_options(&LK, &o);
    o.encoding = enc;
    sl_loki_label labels[] = {{"env", TRICKY_ENV}};
    o.labels = labels;
    o.nlabels = 1;
    sl_sink *loki = NULL;
    sl_logger *lg = lk_logger(&o, TRICKY_SERVICE, NULL, &loki);
    assert_non_null(lg);
    for (int i = 0; i < 3; i++) {
        sl_info(lg, "tricky", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(loki, &st), SL_OK);
    assert_int_equal(st.sent_records, 3);
    sl_logger_free(lg);
}

static void test_label_values_real_by_default(void **state)
{
    (void)state;
    /* Even against the Loki 2.9 receiver: protobuf label strings are exact. */
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"loki29_json_labels\":true}"),
                     200);
    sl_loki_options d;
    sl_loki_options_init(&d);
    assert_int_equal(d.encoding, SL_LOKI_ENCODING_PROTOBUF);
    send_tricky(d.encoding);
    json_t *snap = lk_wait_count(&LK, 3, 5000);
    json_t *s = stream_of(snap, TRICKY_SERVICE);
    assert_non_null(s);
    assert_string_equal(label(s, "env"), TRICKY_ENV);
    assert_int_equal(json_array_size(json_object_get(s, "entries")), 3);
    assert_int_equal(json_object_size(json_object_get(s, "labels")), 2);
    json_decref(snap);
}

static void test_label_values_json_loki29_limitation(void **state)
{
    (void)state;
    /* What docs/loki.md warns of: Loki 2.9's JSON decoder keeps the escapes. */
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"loki29_json_labels\":true}"),
                     200);
    send_tricky(SL_LOKI_ENCODING_JSON);
    json_t *snap = lk_wait_count(&LK, 3, 5000);
    assert_null(stream_of(snap, TRICKY_SERVICE));
    json_t *s = stream_of(snap, "quo\\\"te\\\\back\\nnl\\ttab");
    assert_non_null(s);
    assert_string_equal(label(s, "env"), "a\\\"b\\\\c");
    json_decref(snap);
    /* A Loki that unescapes JSON (3.x) stores the real values. */
    lk_reset(NULL);
    send_tricky(SL_LOKI_ENCODING_JSON);
    snap = lk_wait_count(&LK, 3, 5000);
    s = stream_of(snap, TRICKY_SERVICE);
    assert_non_null(s);
    assert_string_equal(label(s, "env"), TRICKY_ENV);
    json_decref(snap);
}

/* ---- the service label is never cut ---------------------------------------- */

static void test_service_300_bytes_whole(void **state)
{
    (void)state;
    char svc[301];
    for (int i = 0; i < 300; i++) {
        svc[i] = (char)('a' + i % 26);
    }
    svc[300] = '\0';
    sl_loki_options o;
    lk_options(&LK, &o);
    sl_sink *loki = NULL;
    sl_logger *lg = lk_logger(&o, svc, NULL, &loki);
    assert_non_null(lg);
    sl_info(lg, "long service");
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 1, 5000);
    json_t *s = stream_of(snap, svc);
    assert_non_null(s);
    json_decref(snap);
    /* service_name given as an option: longer than 300 is refused, by name. */
    lk_options(&LK, &o);
    char longer[302];
    memset(longer, 's', 301);
    longer[301] = '\0';
    o.service_name = longer;
    sl_error err;
    sl_error_init(&err);
    sl_sink *bad = NULL;
    assert_int_equal(sl_loki_sink_new(&o, &bad, &err), SL_EINVAL);
    assert_string_equal(err.name, "service_name");
    assert_non_null(strstr(err.text, "service_name"));
}

/* ---- Loki 2.9's partial 400 ------------------------------------------------- */

static void test_partial_400_counted(void **state)
{
    (void)state;
    /* The server's max_line_size is 1000, the sink thinks 4096. */
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"max_line_size\":1000}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.line_limit = 4096;
    o.batch_age_ms = 10000; /* one batch: flushed below */
    sl_sink *loki = NULL;
    lk_errors errs = {0};
    sl_logger *lg = lk_logger(&o, "partial", NULL, &loki);
    assert_non_null(lg);
    sl_sink_set_error_callback(loki, lk_on_error, &errs);
    char big[2001];
    memset(big, 'x', 2000);
    big[2000] = '\0';
    for (int i = 0; i < 10; i++) {
        sl_info(lg, i == 4 ? big : "short", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(loki, &st), SL_OK);
    assert_int_equal(st.dropped_rejected_partial, 10);
    assert_int_equal(st.dropped_rejected, 0);
    assert_int_equal(st.sent_records, 0);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.last_http_status, 400);
    assert_non_null(strstr(st.last_error, "Max entry size"));
    assert_true(lk_errors_have(&errs, "may have stored some"));
    sl_sink_stats ss;
    sl_sink_get_stats(loki, &ss);
    assert_int_equal(ss.dropped, 10);
    /* The next batch flows. */
    sl_info(lg, "after");
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    assert_int_equal(sl_loki_get_stats(loki, &st), SL_OK);
    assert_int_equal(st.sent_records, 1);
    sl_logger_free(lg);

    /* What the server did store: the nine short lines, and "after". */
    json_t *snap = lk_wait_count(&LK, 10, 5000);
    json_t *ents = json_object_get(stream_of(snap, "partial"), "entries");
    assert_int_equal(json_array_size(ents), 10);
    for (size_t k = 0; k < 10; k++) {
        json_t *rec = json_loads(
            json_string_value(json_object_get(json_array_get(ents, k), "line")), 0, NULL);
        assert_non_null(rec);
        const char *msg = json_string_value(json_object_get(rec, "msg"));
        if (k < 9) {
            assert_string_equal(msg, "short");
            assert_int_equal(json_integer_value(json_object_get(rec, "i")),
                             (json_int_t)(k < 4 ? k : k + 1));
        } else {
            assert_string_equal(msg, "after");
        }
        json_decref(rec);
    }
    json_decref(snap);
}

/* With line_limit at the server's max_line_size, the common cause is gone. */
static void test_line_limit_matches_server(void **state)
{
    (void)state;
    char big[6001];
    memset(big, 'y', 6000);
    big[6000] = '\0';
    for (int mode = 0; mode < 2; mode++) {
        lk_reset(NULL);
        assert_int_equal(lk_control(&LK, "/control/faults", "{\"max_line_size\":2048}"),
                         200);
        sl_loki_options o;
        lk_options(&LK, &o);
        o.line_limit = 2048;
        o.truncate_long_lines = mode == 0;
        sl_sink *loki = NULL;
        sl_logger *lg = lk_logger(&o, "limit", NULL, &loki);
        assert_non_null(lg);
        for (int i = 0; i < 6; i++) {
            sl_info(lg, i % 2 ? big : "short", SL_INT("i", i));
        }
        assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
        sl_loki_stats st;
        assert_int_equal(sl_loki_get_stats(loki, &st), SL_OK);
        sl_logger_free(lg);
        assert_int_equal(st.dropped_rejected + st.dropped_rejected_partial, 0);
        assert_int_equal(mode == 0 ? st.truncated : st.dropped_too_long, 3);
        assert_int_equal(st.sent_records, mode == 0 ? 6 : 3);
        json_t *snap = lk_wait_count(&LK, mode == 0 ? 6 : 3, 5000);
        assert_all_status(snap, 204);
        json_t *ents = json_object_get(stream_of(snap, "limit"), "entries");
        assert_int_equal(json_array_size(ents), mode == 0 ? 6 : 3);
        for (size_t k = 0; k < json_array_size(ents); k++) {
            const char *line =
                json_string_value(json_object_get(json_array_get(ents, k), "line"));
            assert_true(strlen(line) <= 2048);
            json_t *rec = json_loads(line, 0, NULL);
            assert_non_null(rec);
            json_decref(rec);
        }
        json_decref(snap);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_non_utf8_service_protobuf, lk_reset),
        cmocka_unit_test_setup(test_non_utf8_service_json, lk_reset),
        cmocka_unit_test_setup(test_otel_service_name_non_utf8, lk_reset),
        cmocka_unit_test_setup(test_label_values_real_by_default, lk_reset),
        cmocka_unit_test_setup(test_label_values_json_loki29_limitation, lk_reset),
        cmocka_unit_test_setup(test_service_300_bytes_whole, lk_reset),
        cmocka_unit_test_setup(test_partial_400_counted, lk_reset),
        cmocka_unit_test_setup(test_line_limit_matches_server, lk_reset),
    };
    return cmocka_run_group_tests(tests, lk_setup, lk_teardown);
}
