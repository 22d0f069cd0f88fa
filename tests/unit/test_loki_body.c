/*
 * test_loki_body.c - the Loki batch and push body: streams grouped by label
 * set, timestamps strictly increasing per stream (ties and steps back bumped,
 * across batches too), structured metadata on and off, gzip round trip.
 * Every body is parsed back with jansson and checked field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "adapters/loki/loki_internal.h"

static const uint8_t TID[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
static const uint8_t SID[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

static json_t *build_and_parse(const sl__loki_batch *b, const char *labels, bool meta)
{
    sl__jw w;
    sl__jw_init_growable(&w, 64, 1 << 20);
    assert_true(sl__loki_body_build(b, labels, meta, &w));
    json_error_t err;
    json_t *j = json_loadb(w.buf, w.len, 0, &err);
    if (j == NULL) {
        fail_msg("body is not JSON: %s: %.*s", err.text, (int)w.len, w.buf);
    }
    sl__jw_free(&w);
    return j;
}

static void add(sl__loki_batch *b, const char *svc, int level, int64_t ts,
                const char *line, bool ctx)
{
    assert_int_equal(sl__loki_batch_add(b, svc, strlen(svc), level, ts, line,
                                        strlen(line), ctx ? TID : NULL, ctx ? SID : NULL,
                                        1),
                     SL_OK);
}

/* Finds the stream whose labels equal service/level (level NULL: none). */
static json_t *find_stream(json_t *body, const char *svc, const char *level)
{
    json_t *streams = json_object_get(body, "streams");
    assert_true(json_is_array(streams));
    for (size_t i = 0; i < json_array_size(streams); i++) {
        json_t *s = json_array_get(streams, i);
        json_t *labels = json_object_get(s, "stream");
        const char *sv = json_string_value(json_object_get(labels, "service_name"));
        const char *lv = json_string_value(json_object_get(labels, "level"));
        if (sv != NULL && !strcmp(sv, svc) &&
            ((level == NULL && lv == NULL) || (level && lv && !strcmp(lv, level)))) {
            return s;
        }
    }
    return NULL;
}

static void check_entry(json_t *values, size_t i, const char *ts, const char *line,
                        bool meta)
{
    json_t *e = json_array_get(values, i);
    assert_non_null(e);
    assert_int_equal(json_array_size(e), meta ? 3 : 2);
    assert_string_equal(json_string_value(json_array_get(e, 0)), ts);
    assert_string_equal(json_string_value(json_array_get(e, 1)), line);
    if (meta) {
        json_t *m = json_array_get(e, 2);
        assert_int_equal(json_object_size(m), 2);
        assert_string_equal(json_string_value(json_object_get(m, "trace_id")),
                            "0af7651916cd43dd8448eb211c80319c");
        assert_string_equal(json_string_value(json_object_get(m, "span_id")),
                            "b7ad6b7169203331");
    }
}

static void test_streams_and_labels(void **state)
{
    (void)state;
    sl__loki_batch b;
    sl__loki_batch_init(&b);
    add(&b, "checkout", SL_LEVEL_INFO, 1000, "{\"msg\":\"a\"}", true);
    add(&b, "checkout", SL_LEVEL_ERROR, 1001, "{\"msg\":\"b \\\"q\\\"\"}", false);
    add(&b, "payments", SL_LEVEL_INFO, 1002, "{\"msg\":\"c\"}", false);
    add(&b, "checkout", SL_LEVEL_INFO, 1003, "{\"msg\":\"d\"}", true);
    assert_int_equal(b.n, 4);

    json_t *body = build_and_parse(&b, ",\"env\":\"prod\",\"region\":\"eu\"", true);
    assert_int_equal(json_object_size(body), 1);
    assert_int_equal(json_array_size(json_object_get(body, "streams")), 3);

    json_t *s = find_stream(body, "checkout", "info");
    assert_non_null(s);
    json_t *labels = json_object_get(s, "stream");
    assert_int_equal(json_object_size(labels), 4);
    assert_string_equal(json_string_value(json_object_get(labels, "env")), "prod");
    assert_string_equal(json_string_value(json_object_get(labels, "region")), "eu");
    json_t *values = json_object_get(s, "values");
    assert_int_equal(json_array_size(values), 2);
    check_entry(values, 0, "1000", "{\"msg\":\"a\"}", true);
    check_entry(values, 1, "1003", "{\"msg\":\"d\"}", true);

    s = find_stream(body, "checkout", "error");
    assert_non_null(s);
    values = json_object_get(s, "values");
    assert_int_equal(json_array_size(values), 1);
    check_entry(values, 0, "1001", "{\"msg\":\"b \\\"q\\\"\"}", false);

    s = find_stream(body, "payments", "info");
    assert_non_null(s);
    check_entry(json_object_get(s, "values"), 0, "1002", "{\"msg\":\"c\"}", false);
    json_decref(body);

    /* Metadata off: two-element entries only. */
    body = build_and_parse(&b, "", false);
    s = find_stream(body, "checkout", "info");
    labels = json_object_get(s, "stream");
    assert_int_equal(json_object_size(labels), 2);
    check_entry(json_object_get(s, "values"), 0, "1000", "{\"msg\":\"a\"}", false);
    json_decref(body);
    sl__loki_batch_free(&b);
}

static void test_timestamp_bumping(void **state)
{
    (void)state;
    sl__loki_batch b;
    sl__loki_batch_init(&b);
    /* Same ts and same line: Loki would drop the second one silently. */
    add(&b, "svc", -1, 5000, "same", false);
    add(&b, "svc", -1, 5000, "same", false);
    add(&b, "svc", -1, 4000, "step back", false);
    add(&b, "svc", -1, 9000, "ahead", false);
    add(&b, "other", -1, 5000, "own stream", false);
    json_t *body = build_and_parse(&b, "", false);
    json_t *values = json_object_get(find_stream(body, "svc", NULL), "values");
    assert_int_equal(json_array_size(values), 4);
    check_entry(values, 0, "5000", "same", false);
    check_entry(values, 1, "5001", "same", false);
    check_entry(values, 2, "5002", "step back", false);
    check_entry(values, 3, "9000", "ahead", false);
    check_entry(json_object_get(find_stream(body, "other", NULL), "values"), 0, "5000",
                "own stream", false);
    json_decref(body);

    /* The next batch continues after the newest timestamp sent on the stream. */
    sl__loki_batch_clear(&b);
    assert_int_equal(b.n, 0);
    add(&b, "svc", -1, 8999, "late", false);
    body = build_and_parse(&b, "", false);
    assert_int_equal(json_array_size(json_object_get(body, "streams")), 1);
    check_entry(json_object_get(find_stream(body, "svc", NULL), "values"), 0, "9001",
                "late", false);
    json_decref(body);
    sl__loki_batch_free(&b);
}

static void test_cost_and_empty(void **state)
{
    (void)state;
    sl__loki_batch b;
    sl__loki_batch_init(&b);
    json_t *body = build_and_parse(&b, "", true);
    assert_int_equal(json_array_size(json_object_get(body, "streams")), 0);
    json_decref(body);
    /* The cost estimate bounds the encoded body. */
    char line[300];
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof(line), "{\"i\":%d,\"msg\":\"q\\\"uote\\\\ \\u0001\"}", i);
        add(&b, "s", i % 3, 100 + i, line, i % 2 == 0);
    }
    sl__jw w;
    sl__jw_init_growable(&w, 64, 1 << 20);
    assert_true(sl__loki_body_build(&b, "", true, &w));
    assert_true(w.len <= b.cost + 200);
    sl__jw_free(&w);
    sl__loki_batch_free(&b);
}

static void test_gzip_roundtrip(void **state)
{
    (void)state;
    sl__loki_batch b;
    sl__loki_batch_init(&b);
    char line[128];
    for (int i = 0; i < 1000; i++) {
        snprintf(line, sizeof(line), "{\"level\":\"info\",\"msg\":\"record %d\"}", i);
        add(&b, "svc", -1, 1000 + i, line, true);
    }
    sl__jw w;
    sl__jw_init_growable(&w, 64, 1 << 22);
    assert_true(sl__loki_body_build(&b, "", true, &w));
    char *gz = NULL;
    size_t cap = 0, glen = 0;
    assert_int_equal(sl__loki_gzip(w.buf, w.len, &gz, &cap, &glen), SL_OK);
    assert_true(glen < w.len / 4);
    assert_int_equal((unsigned char)gz[0], 0x1f);
    assert_int_equal((unsigned char)gz[1], 0x8b);

    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    char *out = malloc(w.len + 16);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)glen;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(w.len + 16);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, w.len);
    assert_memory_equal(out, w.buf, w.len);
    inflateEnd(&z);
    free(out);
    sl__free(gz);
    sl__jw_free(&w);
    sl__loki_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_and_labels),
        cmocka_unit_test(test_timestamp_bumping),
        cmocka_unit_test(test_cost_and_empty),
        cmocka_unit_test(test_gzip_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
