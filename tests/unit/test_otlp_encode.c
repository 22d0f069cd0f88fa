/*
 * test_otlp_encode.c - the OTLP encoders, checked by an independent decoder:
 * every request is decoded by tests/integration/otlp/otlp_decode.py
 * (protoc-generated classes, strict checks) and every field compared by
 * value, for http/protobuf and http/json alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <errno.h>
#include <math.h>

#include "adapters/otlp/otlp_internal.h"
#include "integration/otlp_json.h"

/* ---- helpers ------------------------------------------------------------------ */

/* Decodes a request with the Python decoder; returns its plain data (an array
 * of spans/records) or fails the test. */
static json_t *decode(const char *signal, bool json, const void *body, size_t len)
{
    char path[] = "/tmp/otlp-enc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, len), (ssize_t)len);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s %s", SL_OTLP_DECODER, signal,
             path, json ? "json" : "protobuf");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t err;
    json_t *out = json_loadf(p, JSON_ALLOW_NUL, &err);
    int rc = pclose(p);
    unlink(path);
    if (out == NULL || rc != 0) {
        fprintf(stderr, "decoder: rc %d, %s\n", rc, out ? json_dumps(out, 0) : err.text);
        fail();
    }
    assert_true(json_is_array(out));
    return out;
}

static sl__otlp_resource resource;
static sl__otlp_limits limits;

static json_t *request(sl__otlp_signal sig, bool json, const void *const *items,
                       const size_t *lens, size_t n)
{
    sl__otlp_envelope env;
    assert_int_equal(sl__otlp_envelope_init(&env, sig, json, &resource), SL_OK);
    sl__pb out;
    sl__pb_init(&out, NULL, 0, 64u << 20);
    assert_true(sl__otlp_request(&env, items, lens, n, &out));
    json_t *d =
        decode(sig == SL__OTLP_TRACES ? "traces" : "logs", json, out.buf, out.len);
    sl__pb_free(&out);
    sl__otlp_envelope_free(&env);
    return d;
}

static char *hex(const uint8_t *b, size_t n)
{
    static char buf[4][40];
    static int k;
    char *o = buf[k++ & 3];
    for (size_t i = 0; i < n; i++) {
        sprintf(o + 2 * i, "%02x", b[i]);
    }
    return o;
}

/* ---- spans ------------------------------------------------------------------ */

/* The processor under test: encodes each ended span in both forms. */
typedef struct captured {
    sl__pb pb[4];
    sl__jw js[4];
    int n;
} captured;
static captured cap;

static void on_end(const sl_span_data *d, void *user)
{
    (void)user;
    int i = cap.n++;
    sl__pb_init(&cap.pb[i], NULL, 0, 64u << 20);
    sl__otlp_span_pb(&cap.pb[i], d, &limits);
    sl__jw_init_growable(&cap.js[i], 256, 64u << 20);
    sl__otlp_span_json(&cap.js[i], d, &limits);
}

static void reset_capture(void)
{
    for (int i = 0; i < cap.n; i++) {
        sl__pb_free(&cap.pb[i]);
        sl__jw_free(&cap.js[i]);
    }
    cap.n = 0;
}

static json_t *spans_of(bool json)
{
    const void *items[4];
    size_t lens[4];
    for (int i = 0; i < cap.n; i++) {
        items[i] = json ? (const void *)cap.js[i].buf : cap.pb[i].buf;
        lens[i] = json ? cap.js[i].len : cap.pb[i].len;
    }
    return request(SL__OTLP_TRACES, json, items, lens, (size_t)cap.n);
}

static void check_resource(json_t *s)
{
    json_t *res = json_object_get(s, "resource");
    assert_string_equal(str(res, "service.name"), "encoder-test");
    assert_string_equal(str(res, "telemetry.sdk.name"), "spanlog");
    assert_string_equal(str(res, "telemetry.sdk.language"), "c");
    assert_string_equal(str(res, "telemetry.sdk.version"), SPANLOG_VERSION_STRING);
    assert_string_equal(str(res, "host.name"), sl__hostname());
    assert_string_equal(str(res, "deployment.environment"), "test env");
    assert_int_equal(num(res, "process.pid"), getpid());
    json_t *scope = json_object_get(s, "scope");
    assert_string_equal(str(scope, "name"), "spanlog");
    assert_string_equal(str(scope, "version"), SPANLOG_VERSION_STRING);
}

static void test_span_fields(void **state)
{
    (void)state;
    for (int json = 0; json < 2; json++) {
        reset_capture();
        sl_span_context remote;
        const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &remote), SL_OK);
        assert_int_equal(sl_tracestate_parse("vendor=abc,x=1", 14, &remote), SL_OK);
        sl_span *s = sl_span_start_with_parent("GET /pay", SL_SPAN_SERVER, &remote);
        sl_span_set(s, SL_STR("http.method", "GET"), SL_INT("http.status_code", -200),
                    SL_DOUBLE("ratio", 0.25), SL_BOOL("ok", true),
                    SL_UINT("big", UINT64_MAX), SL_DOUBLE("nan", NAN));
        sl_span_add_event(s, "retry", (sl_field[]){SL_INT("attempt", 2)}, 1);
        sl_span_context other = remote;
        other.span_id.bytes[7] ^= 0x55;
        assert_int_equal(
            sl_span_add_link(s, &other, (sl_field[]){SL_STR("link.kind", "cause")}, 1),
            SL_OK);
        sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "card declined");
        sl_span_context me = *sl_span_get_context(s);
        sl_span *child = sl_span_start("db", SL_SPAN_CLIENT);
        sl_span_context child_ctx = *sl_span_get_context(child);
        sl_span_end(child);
        sl_span_end(s);
        assert_int_equal(cap.n, 2);

        json_t *d = spans_of(json);
        assert_int_equal(json_array_size(d), 2);
        json_t *c = json_array_get(d, 0), *p = json_array_get(d, 1);
        check_resource(p);
        assert_string_equal(str(p, "trace_id"), "0af7651916cd43dd8448eb211c80319c");
        assert_string_equal(str(p, "span_id"), hex(me.span_id.bytes, 8));
        assert_string_equal(str(p, "parent_span_id"), "b7ad6b7169203331");
        assert_string_equal(str(p, "trace_state"), "vendor=abc,x=1");
        assert_int_equal(num(p, "flags"), 0x01 | 0x100 | 0x200); /* parent is remote */
        assert_string_equal(str(p, "name"), "GET /pay");
        assert_int_equal(num(p, "kind"), 2);
        assert_true(num(p, "start") > 0 && num(p, "start") <= num(p, "end"));
        json_t *a = json_object_get(p, "attributes");
        assert_string_equal(str(a, "http.method"), "GET");
        assert_int_equal(num(a, "http.status_code"), -200);
        assert_true(json_real_value(json_object_get(a, "ratio")) == 0.25);
        assert_true(json_is_true(json_object_get(a, "ok")));
        assert_string_equal(str(a, "big"), "18446744073709551615");
        assert_string_equal(str(json_object_get(a, "nan"), "double"), "NaN");
        json_t *ev = json_array_get(json_object_get(p, "events"), 0);
        assert_string_equal(str(ev, "name"), "retry");
        assert_true(num(ev, "time") >= num(p, "start"));
        assert_int_equal(num(json_object_get(ev, "attributes"), "attempt"), 2);
        json_t *ln = json_array_get(json_object_get(p, "links"), 0);
        assert_string_equal(str(ln, "trace_id"), "0af7651916cd43dd8448eb211c80319c");
        assert_string_equal(str(ln, "span_id"), hex(other.span_id.bytes, 8));
        assert_string_equal(str(ln, "trace_state"), "vendor=abc,x=1");
        assert_int_equal(num(ln, "flags"), 0x01 | 0x100 | 0x200);
        assert_string_equal(str(json_object_get(ln, "attributes"), "link.kind"), "cause");
        json_t *st = json_object_get(p, "status");
        assert_int_equal(num(st, "code"), 2);
        assert_string_equal(str(st, "message"), "card declined");
        assert_int_equal(num(p, "dropped_attributes"), 0);

        /* the child: local parent */
        assert_string_equal(str(c, "span_id"), hex(child_ctx.span_id.bytes, 8));
        assert_string_equal(str(c, "parent_span_id"), hex(me.span_id.bytes, 8));
        assert_int_equal(num(c, "flags"), 0x01 | 0x100);
        assert_int_equal(num(c, "kind"), 3);
        json_decref(d);
    }
    reset_capture();
}

static void test_span_limits(void **state)
{
    (void)state;
    sl__otlp_limits saved = limits;
    limits.attr_count = 2;
    limits.value_len = 4;
    limits.event_count = 1;
    limits.link_count = 0;
    reset_capture();
    sl_span *s = sl_span_start_with_parent("limits", SL_SPAN_INTERNAL, NULL);
    sl_span_set(s, SL_STR("a", "\xc3\xa9\xc3\xa9\xc3\xa9"), SL_INT("b", 1),
                SL_INT("c", 2));
    sl_span_add_event(s, "e1", NULL, 0);
    sl_span_add_event(s, "e2", NULL, 0);
    sl_span_context l = *sl_span_get_context(s);
    sl_span_add_link(s, &l, NULL, 0);
    sl_span_end(s);
    for (int json = 0; json < 2; json++) {
        json_t *d = spans_of(json);
        json_t *p = json_array_get(d, 0);
        assert_int_equal(json_object_size(json_object_get(p, "attributes")), 2);
        assert_string_equal(str(json_object_get(p, "attributes"), "a"),
                            "\xc3\xa9\xc3\xa9");
        assert_int_equal(num(p, "dropped_attributes"), 1);
        assert_int_equal(json_array_size(json_object_get(p, "events")), 1);
        assert_int_equal(num(p, "dropped_events"), 1);
        assert_int_equal(json_array_size(json_object_get(p, "links")), 0);
        assert_int_equal(num(p, "dropped_links"), 1);
        assert_string_equal(str(p, "parent_span_id"), "");
        json_decref(d);
    }
    reset_capture();
    limits = saved;
}

static void test_span_hostile(void **state)
{
    (void)state;
    reset_capture();
    size_t big = 3u << 20;
    char *huge = malloc(big);
    memset(huge, 'x', big);
    sl_span *s = sl_span_start_with_parent("bad \xff\xfe name \xed\xa0\x80",
                                           SL_SPAN_PRODUCER, NULL);
    sl_span_set(s, SL_STR("utf8", "a\xc3(b\xf0\x9f\x98"), SL_STRN("huge", huge, big),
                SL_DOUBLE("inf", -INFINITY), SL_STRN("nul", "a\0b", 3));
    sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "\x80\x80");
    sl_span_end(s);
    free(huge);
    for (int json = 0; json < 2; json++) {
        json_t *d = spans_of(json);
        json_t *p = json_array_get(d, 0);
        assert_string_equal(str(p, "name"), "bad \xef\xbf\xbd\xef\xbf\xbd name "
                                            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        json_t *a = json_object_get(p, "attributes");
        assert_string_equal(str(a, "utf8"), "a\xef\xbf\xbd(b\xef\xbf\xbd");
        assert_int_equal(json_string_length(json_object_get(a, "huge")), big);
        assert_string_equal(str(json_object_get(a, "inf"), "double"), "-Infinity");
        /* protobuf carries NUL as is; the JSON writer replaces it by U+FFFD */
        json_t *nul = json_object_get(a, "nul");
        assert_int_equal(json_string_length(nul), json ? 5 : 3);
        assert_memory_equal(json_string_value(nul),
                            json ? "a\xef\xbf\xbd"
                                   "b"
                                 : "a\0b",
                            json ? 5 : 3);
        assert_int_equal(num(p, "kind"), 4);
        json_decref(d);
    }
    reset_capture();
}

static void test_span_add_link_rules(void **state)
{
    (void)state;
    reset_capture();
    sl_span *s = sl_span_start_with_parent("links", SL_SPAN_CONSUMER, NULL);
    sl_span_context empty = sl_span_context_empty();
    assert_int_equal(sl_span_add_link(s, &empty, NULL, 0), SL_EINVAL);
    assert_int_equal(sl_span_add_link(s, NULL, NULL, 0), SL_EINVAL);
    sl_span_context other = *sl_span_get_context(s);
    for (int i = 0; i < SL_SPAN_MAX_LINKS; i++) {
        other.span_id.bytes[0] = (uint8_t)(i + 1);
        assert_int_equal(sl_span_add_link(s, &other, NULL, 0), SL_OK);
    }
    assert_int_equal(sl_span_add_link(s, &other, NULL, 0), SL_ERANGE);
    sl_span_end(s);
    assert_int_equal(sl_span_add_link(s, &other, NULL, 0), SL_OK); /* ended: no-op */
    json_t *d = spans_of(false);
    json_t *p = json_array_get(d, 0);
    assert_int_equal(json_array_size(json_object_get(p, "links")), SL_SPAN_MAX_LINKS);
    assert_int_equal(num(p, "dropped_links"), 1);
    assert_int_equal(num(p, "kind"), 5);
    json_decref(d);
    reset_capture();
    /* unsampled: nothing recorded, nothing exported */
    sl_sampler off = {SL_SAMPLER_ALWAYS_OFF, 0.0};
    sl_sampler_set(&off);
    s = sl_span_start_with_parent("off", SL_SPAN_INTERNAL, NULL);
    assert_int_equal(sl_span_add_link(s, &other, NULL, 0), SL_OK);
    sl_span_end(s);
    assert_int_equal(cap.n, 0);
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1.0};
    sl_sampler_set(&on);
}

/* ---- logs -------------------------------------------------------------------- */

/* A record in both forms, into *pb and *jw (free them after). */
static void encode_log(const sl_record *r, const sl__otlp_log_extra *x, sl__pb *pb,
                       sl__jw *jw)
{
    sl__pb_init(pb, NULL, 0, 1u << 20);
    sl__otlp_log_pb(pb, r, x, &limits);
    sl__jw_init_growable(jw, 256, 1u << 20);
    sl__otlp_log_json(jw, r, x, &limits);
}

static void test_log_fields(void **state)
{
    (void)state;
    json_t *obj = json_pack("{s:i,s:[s,f,b,n],s:{s:s}}", "n", 7, "arr", "x", 1.5, 1,
                            "inner", "k", "v");
    sl_field bound[] = {SL_STR("requestId", "r-42"), SL_STR("route", "/old")};
    sl_field fields[] = {
        SL_INT("cents", 1299),   SL_BOOL("retry", false), SL_JSON("doc", obj),
        SL_DOUBLE("nan", NAN),   SL_STR("route", "/pay"), SL_NULL("nothing"),
        SL_ERRNO("err", ENOENT), SL_STR("", "empty key"), SL_STR("bad", "\xc0\xaf")};
    sl_span_context ctx;
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    sl_traceparent_parse(tp, strlen(tp), &ctx);
    sl_record r = {.level = SL_LEVEL_WARN,
                   .time_ns = 1764000000123456789,
                   .msg = "card \xff charged",
                   .msg_len = 14,
                   .service = "svc",
                   .ctx = &ctx,
                   .bound = bound,
                   .nbound = 2,
                   .fields = fields,
                   .nfields = sizeof fields / sizeof fields[0]};
    sl__otlp_log_extra x = {.observed_ns = 1764000000999999999};
    sl__pb pb;
    sl__jw jw;
    encode_log(&r, &x, &pb, &jw);
    for (int json = 0; json < 2; json++) {
        const void *item = json ? (const void *)jw.buf : pb.buf;
        size_t len = json ? jw.len : pb.len;
        json_t *d = request(SL__OTLP_LOGS, json, &item, &len, 1);
        json_t *l = json_array_get(d, 0);
        check_resource(l);
        assert_int_equal(num(l, "time"), 1764000000123456789);
        assert_int_equal(num(l, "observed_time"), 1764000000999999999);
        assert_int_equal(num(l, "severity_number"), 13);
        assert_string_equal(str(l, "severity_text"), "warn");
        assert_string_equal(str(l, "body"), "card \xef\xbf\xbd charged");
        assert_string_equal(str(l, "trace_id"), "0af7651916cd43dd8448eb211c80319c");
        assert_string_equal(str(l, "span_id"), "b7ad6b7169203331");
        assert_int_equal(num(l, "flags"), 1);
        json_t *a = json_object_get(l, "attributes");
        assert_string_equal(str(a, "requestId"), "r-42");
        assert_string_equal(str(a, "route"), "/pay"); /* the call's value wins */
        assert_int_equal(num(a, "cents"), 1299);
        assert_true(json_is_false(json_object_get(a, "retry")));
        assert_string_equal(str(json_object_get(a, "nan"), "double"), "NaN");
        assert_true(json_is_null(json_object_get(a, "nothing")));
        assert_string_equal(str(a, "bad"), "\xef\xbf\xbd\xef\xbf\xbd");
        json_t *doc = json_object_get(json_object_get(a, "doc"), "kvlist");
        assert_int_equal(num(doc, "n"), 7);
        json_t *arr = json_object_get(doc, "arr");
        assert_int_equal(json_array_size(arr), 4);
        assert_string_equal(json_string_value(json_array_get(arr, 0)), "x");
        assert_true(json_real_value(json_array_get(arr, 1)) == 1.5);
        assert_true(json_is_true(json_array_get(arr, 2)));
        assert_true(json_is_null(json_array_get(arr, 3)));
        assert_string_equal(
            str(json_object_get(json_object_get(doc, "inner"), "kvlist"), "k"), "v");
        json_t *e = json_object_get(json_object_get(a, "err"), "kvlist");
        assert_int_equal(num(e, "errno"), ENOENT);
        assert_string_equal(str(e, "error"), strerror(ENOENT));
        assert_null(json_object_get(a, ""));
        assert_int_equal(num(l, "dropped_attributes"), 1); /* the empty key */
        assert_int_equal(json_object_size(a), 9);
        json_decref(d);
    }
    sl__pb_free(&pb);
    sl__jw_free(&jw);
    json_decref(obj);
}

static void test_log_no_context_and_levels(void **state)
{
    (void)state;
    for (int lv = SL_LEVEL_TRACE; lv <= SL_LEVEL_FATAL; lv++) {
        sl_record r = {.level = (sl_level)lv, .time_ns = 1, .msg = "m", .msg_len = 1};
        sl__otlp_log_extra x = {.observed_ns = 2};
        sl__pb pb;
        sl__pb_init(&pb, NULL, 0, 1u << 20);
        sl__otlp_log_pb(&pb, &r, &x, &limits);
        const void *item = pb.buf;
        size_t len = pb.len;
        json_t *d = request(SL__OTLP_LOGS, false, &item, &len, 1);
        json_t *l = json_array_get(d, 0);
        assert_int_equal(num(l, "severity_number"), 1 + 4 * lv);
        assert_string_equal(str(l, "severity_text"), sl_level_name((sl_level)lv));
        assert_string_equal(str(l, "trace_id"), "");
        assert_int_equal(num(l, "flags"), 0);
        json_decref(d);
        sl__pb_free(&pb);
    }
}

/* ---- resource, lists, responses --------------------------------------------------- */

/* OTLP wants unique keys: keys that are the same once repaired ("\xff" and
 * "\xfe" both go out as U+FFFD), an event's key given twice, and SL_JSON
 * object keys holding NUL (sent whole, not cut at the NUL) - found by
 * tests/fuzz/fuzz_otlp.c; the strict decoder refuses a repeated key. */
static void test_keys_unique_as_written(void **state)
{
    (void)state;
    reset_capture();
    sl_span *s = sl_span_start_with_parent("keys", SL_SPAN_INTERNAL, NULL);
    sl_span_set(s, SL_STR("\xff", "first"), SL_STR("ok", "v"), SL_STR("\xfe", "second"));
    sl_field ev[] = {SL_INT("n", 1), SL_STR("k", "a"), SL_INT("n", 2)};
    assert_int_equal(sl_span_add_event(s, "ev", ev, 3), SL_OK);
    sl_span_end(s);
    for (int json = 0; json < 2; json++) {
        json_t *d = spans_of(json);
        json_t *p = json_array_get(d, 0);
        json_t *a = json_object_get(p, "attributes");
        assert_int_equal(json_object_size(a), 2);
        /* the first position, the last value */
        assert_string_equal(json_object_iter_key(json_object_iter(a)), "\xef\xbf\xbd");
        assert_string_equal(str(a, "\xef\xbf\xbd"), "second");
        assert_int_equal(num(p, "dropped_attributes"), 0);
        json_t *e = json_object_get(json_array_get(json_object_get(p, "events"), 0),
                                    "attributes");
        assert_int_equal(json_object_size(e), 2);
        assert_int_equal(num(e, "n"), 2);
        json_decref(d);
    }
    reset_capture();

    json_t *obj = json_object();
    json_object_setn_new_nocheck(obj, "k", 1, json_integer(2));
    json_object_set_new_nocheck(obj, "\xff", json_integer(3));
    json_object_set_new_nocheck(obj, "\xef\xbf\xbd", json_integer(4));
    json_t *nul = json_object();
    json_object_setn_new_nocheck(nul, "k\0ey", 4, json_integer(1));
    sl_field f[] = {SL_STR("\xc0", "x"), SL_STR("\xc1", "y"), SL_JSON("doc", obj),
                    SL_JSON("nul", nul)};
    sl_record r = {.level = SL_LEVEL_INFO,
                   .time_ns = 1,
                   .msg = "m",
                   .msg_len = 1,
                   .fields = f,
                   .nfields = 4};
    sl__otlp_log_extra x = {.observed_ns = 2};
    sl__pb pb;
    sl__jw jw, jw3;
    encode_log(&r, &x, &pb, &jw);
    /* the NUL key whole: KeyValue.key (field 1, length 4); jansson cannot
     * read a NUL in a key back, so protobuf is checked on the wire, and
     * decoded without that field */
    assert_non_null(memmem(pb.buf, pb.len, "\x0a\x04k\0ey", 6));
    sl__pb_free(&pb);
    r.nfields = 3;
    encode_log(&r, &x, &pb, &jw3);
    sl__jw_free(&jw3);
    for (int json = 0; json < 2; json++) {
        const void *item = json ? (const void *)jw.buf : pb.buf;
        size_t len = json ? jw.len : pb.len;
        json_t *d = request(SL__OTLP_LOGS, json, &item, &len, 1);
        json_t *a = json_object_get(json_array_get(d, 0), "attributes");
        assert_int_equal(json_object_size(a), json ? 3 : 2);
        assert_string_equal(str(a, "\xef\xbf\xbd"), "y");
        /* "\xff" is the same key as U+FFFD written out: one entry, the last value */
        json_t *doc = json_object_get(json_object_get(a, "doc"), "kvlist");
        assert_int_equal(json_object_size(doc), 2);
        assert_int_equal(num(doc, "k"), 2);
        assert_int_equal(num(doc, "\xef\xbf\xbd"), 4);
        if (json) { /* NUL as U+FFFD, the key not cut at it */
            json_t *n = json_object_get(json_object_get(a, "nul"), "kvlist");
            assert_int_equal(num(n, "k\xef\xbf\xbd"
                                    "ey"),
                             1);
        }
        json_decref(d);
    }
    sl__pb_free(&pb);
    sl__jw_free(&jw);
    json_decref(obj);
    json_decref(nul);
}

static void test_resource_rules(void **state)
{
    (void)state;
    sl__otlp_resource r;
    sl_error err;
    sl_error_init(&err);
    unsetenv("OTEL_SERVICE_NAME");
    assert_int_equal(sl__otlp_resource_build(&r, NULL, NULL, "a=1", &err), SL_OK);
    char want[300];
    snprintf(want, sizeof want, "unknown_service:%s", program_invocation_short_name);
    assert_string_equal(sl__otlp_resource_get(&r, "service.name"), want);
    sl__otlp_resource_free(&r);
    assert_int_equal(
        sl__otlp_resource_build(&r, NULL, "fallback", "service.name=attr", &err), SL_OK);
    assert_string_equal(sl__otlp_resource_get(&r, "service.name"), "attr");
    sl__otlp_resource_free(&r);
    setenv("OTEL_SERVICE_NAME", "envsvc", 1);
    assert_int_equal(
        sl__otlp_resource_build(&r, NULL, "fallback", "service.name=attr", &err), SL_OK);
    assert_string_equal(sl__otlp_resource_get(&r, "service.name"), "envsvc");
    sl__otlp_resource_free(&r);
    unsetenv("OTEL_SERVICE_NAME");
    assert_int_equal(sl__otlp_resource_build(&r, NULL, "fallback", "", &err), SL_OK);
    assert_string_equal(sl__otlp_resource_get(&r, "service.name"), "fallback");
    sl__otlp_resource_free(&r);
    /* percent-decoding; a bad entry discards the value and is reported */
    assert_int_equal(
        sl__otlp_resource_build(&r, "s", NULL, " k%20x = v%2C1 ,host.name=h", &err),
        SL_OK);
    assert_string_equal(sl__otlp_resource_get(&r, "k x"), "v,1");
    assert_string_equal(sl__otlp_resource_get(&r, "host.name"), "h");
    assert_int_equal(err.code, SL_OK);
    sl__otlp_resource_free(&r);
    assert_int_equal(sl__otlp_resource_build(&r, "s", NULL, "good=1,bad%zz=2", &err),
                     SL_OK);
    assert_int_equal(err.code, SL_EPARSE);
    assert_string_equal(err.name, "OTEL_RESOURCE_ATTRIBUTES");
    assert_int_equal(err.position, 10);
    assert_null(sl__otlp_resource_get(&r, "good"));
    sl__otlp_resource_free(&r);
    sl_error_init(&err);
    assert_int_equal(sl__otlp_resource_build(&r, "s", NULL, "novalue", &err), SL_OK);
    assert_int_equal(err.code, SL_EPARSE);
    sl__otlp_resource_free(&r);
}

static void test_response_parse(void **state)
{
    (void)state;
    int64_t rej;
    char msg[64];
    /* partial_success { rejected_spans: 3, error_message: "bad" } */
    const char pb[] = "\x0a\x07\x08\x03\x12\x03"
                      "bad";
    assert_int_equal(
        sl__otlp_response_parse(SL__OTLP_TRACES, false, pb, 9, &rej, msg, 64), SL_OK);
    assert_int_equal(rej, 3);
    assert_string_equal(msg, "bad");
    assert_int_equal(
        sl__otlp_response_parse(SL__OTLP_TRACES, false, "", 0, &rej, msg, 64), SL_OK);
    assert_int_equal(rej, 0);
    assert_int_equal(
        sl__otlp_response_parse(SL__OTLP_TRACES, false, "\x0a\x09\x08", 3, &rej, msg, 64),
        SL_EPROTO);
    assert_int_equal(
        sl__otlp_response_parse(SL__OTLP_TRACES, false, "<html>", 6, &rej, msg, 64),
        SL_EPROTO);
    const char *js =
        "{\"partialSuccess\":{\"rejectedLogRecords\":\"2\",\"errorMessage\":\"x\"}}";
    assert_int_equal(
        sl__otlp_response_parse(SL__OTLP_LOGS, true, js, strlen(js), &rej, msg, 64),
        SL_OK);
    assert_int_equal(rej, 2);
    assert_string_equal(msg, "x");
    assert_int_equal(
        sl__otlp_response_parse(SL__OTLP_LOGS, true, "nope", 4, &rej, msg, 64),
        SL_EPROTO);
}

static int setup(void **state)
{
    (void)state;
    sl__otlp_limits_default(&limits);
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1.0};
    sl_sampler_set(&on);
    sl_error err;
    sl_error_init(&err);
    if (sl__otlp_resource_build(&resource, "encoder-test", NULL,
                                "deployment.environment=test%20env", &err) != SL_OK) {
        return -1;
    }
    return sl_span_processor_add(on_end, NULL) == SL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sl_span_processor_remove(on_end, NULL);
    sl__otlp_resource_free(&resource);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_fields),
        cmocka_unit_test(test_span_limits),
        cmocka_unit_test(test_span_hostile),
        cmocka_unit_test(test_span_add_link_rules),
        cmocka_unit_test(test_log_fields),
        cmocka_unit_test(test_log_no_context_and_levels),
        cmocka_unit_test(test_keys_unique_as_written),
        cmocka_unit_test(test_resource_rules),
        cmocka_unit_test(test_response_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
