/*
 * test_loki_delivery.c - the Loki sink against the strict receiver, when
 * things go right or are refused outright: every record arrives exactly once
 * with its line byte-identical to what the fd sink wrote for it, labels and
 * structured metadata as configured, order and strictly increasing
 * timestamps within each stream, in both encodings (protobuf+snappy, the
 * default, and JSON+gzip); tenant, bearer and basic auth; JSON with gzip off;
 * the Loki 2.9 metadata fallback; one rejected batch; long lines truncated
 * or dropped; invalid labels refused at creation.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/loki_harness.h"

static sl_logger *make_logger(const sl_loki_options *o, const char *file, sl_sink **loki)
{
    sl_logger *lg = lk_logger(o, "checkout", file, loki);
    assert_non_null(lg);
    return lg;
}

static json_t *stream_with(json_t *snap, const char *level)
{
    json_t *streams = json_object_get(snap, "streams");
    for (size_t i = 0; i < json_array_size(streams); i++) {
        json_t *s = json_array_get(streams, i);
        const char *lv =
            json_string_value(json_object_get(json_object_get(s, "labels"), "level"));
        if ((level == NULL && lv == NULL) || (level && lv && !strcmp(level, lv))) {
            return s;
        }
    }
    return NULL;
}

/* ---- exactly once, byte-identical, labels, metadata, order -------------- */

static void exactly_once_identical(sl_loki_encoding encoding)
{
    char file[300];
    snprintf(file, sizeof(file), "%s/fd.log", LK.dir);
    sl_loki_options o;
    lk_options(&LK, &o);
    sl_loki_label labels[] = {{"env", "test"}, {"region", "eu-west-1"}};
    o.labels = labels;
    o.nlabels = 2;
    o.labels_text = "team=core";
    o.level_label = true;
    o.batch_bytes = 16 << 10; /* several batches */
    if (encoding == SL_LOKI_ENCODING_JSON) {
        o.encoding = SL_LOKI_ENCODING_JSON;
    }
    sl_sink *loki = NULL;
    sl_logger *lg = make_logger(&o, file, &loki);

    sl_span_context ctx = sl_span_context_empty();
    ctx.trace_id = sl_trace_id_random();
    ctx.span_id = sl_span_id_random();
    ctx.flags = SL_TRACE_FLAG_SAMPLED;
    enum { N = 600 };
    for (int i = 0; i < N; i++) {
        sl_context_token tok;
        bool in_span = i % 3 == 0;
        if (in_span) {
            assert_int_equal(sl_context_attach(&ctx, &tok), SL_OK);
        }
        sl_level lv =
            i % 5 == 0 ? SL_LEVEL_ERROR : (i % 2 ? SL_LEVEL_INFO : SL_LEVEL_DEBUG);
        /* Same message twice in a row on purpose: Loki must not see a duplicate. */
        sl_log(lg, lv, "caf\xc3\xa9 \"quoted\"\ttab", SL_INT("i", i / 2),
               SL_STR("k", "v\\x"));
        if (in_span) {
            assert_int_equal(sl_context_detach(tok), SL_OK);
        }
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(loki, &st), SL_OK);
    assert_int_equal(st.queued_records, N);
    assert_int_equal(st.sent_records, N);
    assert_int_equal(st.pending_records, 0);
    assert_int_equal(st.dropped_queue_full + st.dropped_rejected + st.dropped_closed +
                         st.dropped_retries_exhausted + st.dropped_too_long,
                     0);
    assert_true(st.requests >= 2);
    assert_int_equal(st.last_http_status, 204);
    assert_string_equal(st.last_error, "");
    sl_sink_stats ss;
    sl_sink_get_stats(loki, &ss);
    assert_int_equal(ss.written, N);
    assert_int_equal(ss.dropped, 0);
    sl_logger_free(lg);

    json_t *snap = lk_wait_count(&LK, N, 10000);
    assert_int_equal(lk_count(snap), N);
    json_t *counters = json_object_get(snap, "counters");
    assert_int_equal(json_integer_value(json_object_get(counters, "duplicates_dropped")),
                     0);
    /* Every push was protobuf+snappy (the default, left untouched above), or
     * gzipped JSON. */
    bool pb = encoding == SL_LOKI_ENCODING_PROTOBUF;
    json_t *reqs = json_object_get(snap, "requests");
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        json_t *rq = json_array_get(reqs, i);
        assert_int_equal(json_integer_value(json_object_get(rq, "status")), 204);
        assert_string_equal(json_string_value(json_object_get(rq, "format")),
                            pb ? "protobuf" : "json");
        assert_string_equal(json_string_value(json_object_get(rq, "encoding")),
                            pb ? "identity" : "gzip");
    }

    /* The fd sink's lines, in log order. */
    size_t flen = 0;
    char *text = lk_read_file(file, &flen);
    assert_non_null(text);
    char *lines[N];
    size_t nlines = 0;
    for (char *p = text; *p && nlines < N;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        lines[nlines++] = p;
        p = nl + 1;
    }
    assert_int_equal(nlines, N);

    /* Each stream holds exactly the fd lines of its level, in order. */
    const char *levels[] = {"debug", "info", "error"};
    size_t seen = 0;
    assert_int_equal(json_array_size(json_object_get(snap, "streams")), 3);
    for (int li = 0; li < 3; li++) {
        json_t *s = stream_with(snap, levels[li]);
        assert_non_null(s);
        json_t *lab = json_object_get(s, "labels");
        assert_int_equal(json_object_size(lab), 5);
        assert_string_equal(json_string_value(json_object_get(lab, "service_name")),
                            "checkout");
        assert_string_equal(json_string_value(json_object_get(lab, "env")), "test");
        assert_string_equal(json_string_value(json_object_get(lab, "region")),
                            "eu-west-1");
        assert_string_equal(json_string_value(json_object_get(lab, "team")), "core");
        json_t *ents = json_object_get(s, "entries");
        size_t k = 0;
        unsigned long long prev_ts = 0;
        for (size_t i = 0; i < N; i++) {
            json_t *rec = json_loads(lines[i], 0, NULL);
            assert_non_null(rec);
            const char *lv = json_string_value(json_object_get(rec, "level"));
            if (strcmp(lv, levels[li]) != 0) {
                json_decref(rec);
                continue;
            }
            json_t *e = json_array_get(ents, k++);
            assert_non_null(e);
            assert_string_equal(json_string_value(json_object_get(e, "line")), lines[i]);
            unsigned long long ts =
                strtoull(json_string_value(json_object_get(e, "ts")), NULL, 10);
            assert_true(ts > prev_ts);
            prev_ts = ts;
            json_t *md = json_object_get(e, "metadata");
            const char *tid = json_string_value(json_object_get(rec, "traceId"));
            if (tid != NULL) {
                assert_int_equal(json_object_size(md), 2);
                assert_string_equal(json_string_value(json_object_get(md, "trace_id")),
                                    tid);
                assert_string_equal(json_string_value(json_object_get(md, "span_id")),
                                    json_string_value(json_object_get(rec, "spanId")));
            } else {
                assert_true(md == NULL || json_is_null(md));
            }
            json_decref(rec);
        }
        assert_int_equal(k, json_array_size(ents));
        seen += k;
    }
    assert_int_equal(seen, N);
    free(text);
    unlink(file);
    json_decref(snap);
}

static void test_exactly_once_identical(void **state)
{
    (void)state;
    exactly_once_identical(SL_LOKI_ENCODING_PROTOBUF);
}

static void test_exactly_once_identical_json(void **state)
{
    (void)state;
    exactly_once_identical(SL_LOKI_ENCODING_JSON);
}

/* ---- many threads: exactly once, each thread's order kept ---------------- */

typedef struct thr_arg {
    sl_logger *lg;
    int id;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 1500; i++) {
        sl_info(a->lg, "threaded", SL_INT("t", a->id), SL_INT("i", i));
    }
    return NULL;
}

static void test_threads_exactly_once(void **state)
{
    (void)state;
    sl_loki_options o;
    lk_options(&LK, &o);
    o.batch_bytes = 64 << 10;
    sl_sink *loki = NULL;
    sl_logger *lg = make_logger(&o, NULL, &loki);
    pthread_t th[4];
    thr_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t].lg = lg;
        args[t].id = t;
        assert_int_equal(pthread_create(&th[t], NULL, thr_main, &args[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
    }
    assert_int_equal(sl_logger_flush(lg, 20000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.sent_records, 6000);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 6000, 10000);
    assert_int_equal(lk_count(snap), 6000);
    json_t *s = stream_with(snap, NULL);
    assert_non_null(s);
    json_t *ents = json_object_get(s, "entries");
    int next[4] = {0, 0, 0, 0};
    unsigned long long prev_ts = 0;
    for (size_t i = 0; i < json_array_size(ents); i++) {
        json_t *e = json_array_get(ents, i);
        json_t *rec = json_loads(json_string_value(json_object_get(e, "line")), 0, NULL);
        assert_non_null(rec);
        int t = (int)json_integer_value(json_object_get(rec, "t"));
        assert_true(t >= 0 && t < 4);
        assert_int_equal(json_integer_value(json_object_get(rec, "i")), next[t]);
        next[t]++;
        unsigned long long ts =
            strtoull(json_string_value(json_object_get(e, "ts")), NULL, 10);
        assert_true(ts > prev_ts);
        prev_ts = ts;
        json_decref(rec);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(next[t], 1500);
    }
    json_decref(snap);
}

/* ---- tenant, auth, gzip off ---------------------------------------------- */

static void test_tenant_and_auth(void **state)
{
    (void)state;
    assert_int_equal(
        lk_control(&LK, "/control/faults",
                   "{\"require_tenant\":\"acme\",\"require_auth\":\"Bearer xyz\"}"),
        200);
    sl_loki_options o;
    lk_options(&LK, &o);
    o.tenant = "acme";
    o.bearer_token = "xyz";
    o.encoding = SL_LOKI_ENCODING_JSON;
    o.gzip = false;
    sl_sink *loki = NULL;
    sl_logger *lg = make_logger(&o, NULL, &loki);
    for (int i = 0; i < 20; i++) {
        sl_info(lg, "tenant", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 20, 5000);
    json_t *reqs = json_object_get(snap, "requests");
    assert_true(json_array_size(reqs) >= 1);
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        json_t *rq = json_array_get(reqs, i);
        assert_int_equal(json_integer_value(json_object_get(rq, "status")), 204);
        assert_string_equal(json_string_value(json_object_get(rq, "encoding")),
                            "identity");
        assert_string_equal(json_string_value(json_object_get(rq, "tenant")), "acme");
    }
    json_decref(snap);

    /* Basic auth: "Basic base64(user:pa:ss)". */
    lk_reset(NULL);
    assert_int_equal(lk_control(&LK, "/control/faults",
                                "{\"require_auth\":\"Basic dXNlcjpwYTpzcw==\"}"),
                     200);
    lk_options(&LK, &o);
    o.username = "user";
    o.password = "pa:ss";
    lg = make_logger(&o, NULL, &loki);
    sl_info(lg, "basic");
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_logger_free(lg);
    snap = lk_wait_count(&LK, 1, 5000);
    json_decref(snap);

    /* A wrong token: dropped, counted, reported as an authentication problem,
     * and the secret appears in no report or stat. */
    lk_reset(NULL);
    assert_int_equal(
        lk_control(&LK, "/control/faults", "{\"require_auth\":\"Bearer xyz\"}"), 200);
    lk_options(&LK, &o);
    o.bearer_token = "wrong-secret-token";
    lk_errors errs = {0};
    lg = make_logger(&o, NULL, &loki);
    sl_sink_set_error_callback(loki, lk_on_error, &errs);
    for (int i = 0; i < 3; i++) {
        sl_info(lg, "denied");
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.dropped_rejected, 3);
    assert_int_equal(st.sent_records, 0);
    assert_int_equal(st.last_http_status, 401);
    assert_null(strstr(st.last_error, "wrong-secret-token"));
    assert_true(lk_errors_have(&errs, "authentication"));
    assert_false(lk_errors_have(&errs, "wrong-secret-token"));
    sl_logger_free(lg);
    snap = lk_entries(&LK);
    assert_int_equal(lk_count(snap), 0);
    json_decref(snap);
}

/* ---- Loki 2.9: structured metadata refused ------------------------------- */

static void test_loki29_fallback(void **state)
{
    (void)state;
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"loki29\":true}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    sl_sink *loki = NULL;
    lk_errors errs = {0};
    sl_logger *lg = make_logger(&o, NULL, &loki);
    sl_sink_set_error_callback(loki, lk_on_error, &errs);
    sl_span_context ctx = sl_span_context_empty();
    ctx.trace_id = sl_trace_id_random();
    ctx.span_id = sl_span_id_random();
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 10; i++) {
            sl_log_ctx(lg, SL_LEVEL_INFO, &ctx, "in span", SL_INT("round", round),
                       SL_INT("i", i));
        }
        assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    }
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_true(st.metadata_disabled);
    assert_int_equal(st.sent_records, 20);
    assert_int_equal(st.dropped_rejected, 0);
    assert_true(lk_errors_have(&errs, "structured metadata"));
    sl_logger_free(lg);

    json_t *snap = lk_wait_count(&LK, 20, 5000);
    json_t *ents = json_object_get(stream_with(snap, NULL), "entries");
    assert_int_equal(json_array_size(ents), 20);
    char tid[SL_TRACE_ID_HEX_LEN + 1];
    sl_trace_id_to_hex(ctx.trace_id, tid);
    for (size_t i = 0; i < 20; i++) {
        json_t *e = json_array_get(ents, i);
        assert_true(json_is_null(json_object_get(e, "metadata")) ||
                    json_object_get(e, "metadata") == NULL);
        /* The ids are still in the line. */
        assert_non_null(strstr(json_string_value(json_object_get(e, "line")), tid));
    }
    /* Exactly one refused request: metadata stayed off afterwards. */
    json_t *reqs = json_object_get(snap, "requests");
    int refused = 0;
    for (size_t i = 0; i < json_array_size(reqs); i++) {
        refused +=
            json_integer_value(json_object_get(json_array_get(reqs, i), "status")) == 400;
    }
    assert_int_equal(refused, 1);
    json_decref(snap);
}

/* ---- one rejected batch: dropped and counted, the next ones flow --------- */

static void test_rejected_batch(void **state)
{
    (void)state;
    assert_int_equal(lk_control(&LK, "/control/faults", "{\"reject_next\":1}"), 200);
    sl_loki_options o;
    lk_options(&LK, &o);
    sl_sink *loki = NULL;
    lk_errors errs = {0};
    sl_logger *lg = make_logger(&o, NULL, &loki);
    sl_sink_set_error_callback(loki, lk_on_error, &errs);
    for (int i = 0; i < 5; i++) {
        sl_info(lg, "first batch", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    for (int i = 0; i < 7; i++) {
        sl_info(lg, "second batch", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.dropped_rejected, 5);
    assert_int_equal(st.sent_records, 7);
    assert_int_equal(st.retries, 0);
    assert_true(lk_errors_have(&errs, "rejected by test"));
    sl_sink_stats ss;
    sl_sink_get_stats(loki, &ss);
    assert_int_equal(ss.dropped, 5);
    assert_int_equal(ss.written, 7);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 7, 5000);
    json_t *ents = json_object_get(stream_with(snap, NULL), "entries");
    assert_int_equal(json_array_size(ents), 7);
    for (size_t i = 0; i < 7; i++) {
        json_t *rec = json_loads(
            json_string_value(json_object_get(json_array_get(ents, i), "line")), 0, NULL);
        assert_string_equal(json_string_value(json_object_get(rec, "msg")),
                            "second batch");
        assert_int_equal(json_integer_value(json_object_get(rec, "i")), (json_int_t)i);
        json_decref(rec);
    }
    json_decref(snap);
}

/* ---- lines above the limit ------------------------------------------------ */

static void test_long_lines(void **state)
{
    (void)state;
    char *big = malloc(6001);
    for (int i = 0; i < 6000; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[6000] = '\0';
    for (int mode = 0; mode < 2; mode++) {
        lk_reset(NULL);
        sl_loki_options o;
        lk_options(&LK, &o);
        o.line_limit = 2048;
        o.truncate_long_lines = mode == 0;
        sl_sink *loki = NULL;
        sl_logger *lg = make_logger(&o, NULL, &loki);
        sl_info(lg, "before");
        sl_info(lg, big, SL_STR("after", "x"));
        sl_info(lg, "after");
        assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
        sl_loki_stats st;
        sl_loki_get_stats(loki, &st);
        sl_logger_free(lg);
        json_t *snap = lk_wait_count(&LK, mode == 0 ? 3 : 2, 5000);
        json_t *ents = json_object_get(stream_with(snap, NULL), "entries");
        if (mode == 0) {
            assert_int_equal(st.truncated, 1);
            assert_int_equal(st.sent_records, 3);
            assert_int_equal(json_array_size(ents), 3);
            const char *line =
                json_string_value(json_object_get(json_array_get(ents, 1), "line"));
            assert_true(strlen(line) <= 2048);
            json_t *rec = json_loads(line, 0, NULL);
            assert_non_null(rec);
            assert_true(json_is_true(json_object_get(rec, "truncated")));
            const char *msg = json_string_value(json_object_get(rec, "msg"));
            assert_true(strlen(msg) > 1000);
            assert_memory_equal(msg, big, strlen(msg));
            json_decref(rec);
        } else {
            assert_int_equal(st.dropped_too_long, 1);
            assert_int_equal(st.sent_records, 2);
            assert_int_equal(json_array_size(ents), 2);
        }
        json_decref(snap);
    }
    free(big);
}

/* ---- labels refused at creation ------------------------------------------- */

static void test_invalid_label_at_creation(void **state)
{
    (void)state;
    sl_loki_options o;
    lk_options(&LK, &o);
    sl_loki_label labels[] = {{"env", "prod"}, {"trace.id", "x"}};
    o.labels = labels;
    o.nlabels = 2;
    sl_sink *s = NULL;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(sl_loki_sink_new(&o, &s, &err), SL_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.text, "\"trace.id\""));
    assert_non_null(strstr(err.text, "invalid name"));
    json_t *snap = lk_entries(&LK);
    assert_int_equal(json_array_size(json_object_get(snap, "requests")), 0);
    json_decref(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_exactly_once_identical, lk_reset),
        cmocka_unit_test_setup(test_exactly_once_identical_json, lk_reset),
        cmocka_unit_test_setup(test_threads_exactly_once, lk_reset),
        cmocka_unit_test_setup(test_tenant_and_auth, lk_reset),
        cmocka_unit_test_setup(test_loki29_fallback, lk_reset),
        cmocka_unit_test_setup(test_rejected_batch, lk_reset),
        cmocka_unit_test_setup(test_long_lines, lk_reset),
        cmocka_unit_test_setup(test_invalid_label_at_creation, lk_reset),
    };
    return cmocka_run_group_tests(tests, lk_setup, lk_teardown);
}
