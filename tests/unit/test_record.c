/*
 * test_record.c - the record format: every field type, every profile, the
 * trace keys (current, explicit, invalid, none), caller info, levels, the
 * level gate, printf variants, sinks' own levels and the logger's rules.
 * Every line is parsed back with jansson and checked key by key, in order.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core_capture.h"
#include "internal.h"

#define TP_TRACE "0af7651916cd43dd8448eb211c80319c"
#define TP_SPAN  "b7ad6b7169203331"
#define TP       "00-" TP_TRACE "-" TP_SPAN "-01"

static sl_span_context test_ctx(void)
{
    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(TP, strlen(TP), &ctx), SL_OK);
    return ctx;
}

/* Checks "time" is RFC 3339 UTC with microseconds, between t0 and t1. */
static void check_time(const char *t, int64_t t0, int64_t t1)
{
    assert_int_equal(strlen(t), 27);
    char lo[40], hi[40];
    sl__format_rfc3339_utc(t0, 6, lo);
    sl__format_rfc3339_utc(t1, 6, hi);
    assert_true(strcmp(lo, t) <= 0);
    assert_true(strcmp(t, hi) <= 0);
    assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
                t[16] == ':' && t[19] == '.' && t[26] == 'Z');
}

static void test_every_field_type_default_profile(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "checkout";
    sl_logger *lg = capture_logger(&o, &c);
    sl_span_context ctx = test_ctx();
    sl_context_token tok;
    assert_int_equal(sl_context_attach(&ctx, &tok), SL_OK);

    json_t *j = json_pack("{s:[i,i],s:s}", "a", 1, 2, "b", "x\"y");
    json_t *jstr = json_string("v");
    const char bytes[] = {'a', '\0', 'b'};
    int64_t t0 = sl__now_ns();
    sl_info(lg, "card charged", SL_STR("s", "text"), SL_STRN("sn", bytes, 3),
            SL_STRN("sn2", "abcdef", 2), SL_INT("i", INT64_MIN), SL_INT("i2", -42),
            SL_UINT("u", 4000000000u), SL_DOUBLE("d", 1.5), SL_DOUBLE("d2", -0.001),
            SL_BOOL("t", 1), SL_BOOL("f", 0), SL_NULL("n"), SL_ERRNO("e", ENOENT),
            SL_JSON("j", j), SL_JSON("jnull", NULL), SL_STR("snull", NULL),
            SL_STRN("snull2", NULL, 5), SL_JSON("jstr", jstr));
    int64_t t1 = sl__now_ns();
    assert_int_equal(sl_context_detach(tok), SL_OK);

    assert_int_equal(c.n, 1);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "traceId", "spanId",
                "correlationId", "s", "sn", "sn2", "i", "i2", "u", "d", "d2", "t", "f",
                "n", "e", "j", "jnull", "snull", "snull2", "jstr");
    check_time(get_str(r, "time"), t0, t1);
    assert_string_equal(get_str(r, "level"), "info");
    assert_string_equal(get_str(r, "msg"), "card charged");
    assert_string_equal(get_str(r, "service"), "checkout");
    assert_string_equal(get_str(r, "traceId"), TP_TRACE);
    assert_string_equal(get_str(r, "spanId"), TP_SPAN);
    assert_string_equal(get_str(r, "correlationId"), "0af76519-b7ad6b71");
    assert_string_equal(get_str(r, "s"), "text");
    /* The writer replaces NUL bytes with U+FFFD (many consumers stop at NUL). */
    assert_string_equal(get_str(r, "sn"), "a\xEF\xBF\xBD"
                                          "b");
    assert_string_equal(get_str(r, "sn2"), "ab");
    assert_true(get_int(r, "i") == INT64_MIN);
    assert_true(get_int(r, "i2") == -42);
    assert_true(get_int(r, "u") == 4000000000LL);
    assert_true(json_is_real(json_object_get(r, "d")));
    assert_true(json_real_value(json_object_get(r, "d")) == 1.5);
    assert_true(json_real_value(json_object_get(r, "d2")) == -0.001);
    assert_true(json_is_true(json_object_get(r, "t")));
    assert_true(json_is_false(json_object_get(r, "f")));
    assert_true(json_is_null(json_object_get(r, "n")));
    json_t *e = json_object_get(r, "e");
    ASSERT_KEYS(e, "errno", "error");
    assert_int_equal(get_int(e, "errno"), ENOENT);
    assert_string_equal(get_str(e, "error"), strerror(ENOENT));
    assert_true(json_equal(json_object_get(r, "j"), j));
    assert_true(json_is_null(json_object_get(r, "jnull")));
    assert_true(json_is_null(json_object_get(r, "snull")));
    assert_true(json_is_null(json_object_get(r, "snull2")));
    assert_string_equal(get_str(r, "jstr"), "v");
    /* The view: level, msg, service, context, counts. */
    assert_int_equal(c.lines[0].level, SL_LEVEL_INFO);
    assert_string_equal(c.lines[0].msg, "card charged");
    assert_string_equal(c.lines[0].service, "checkout");
    assert_true(c.lines[0].had_ctx);
    assert_int_equal(c.lines[0].nfields, 17);
    assert_int_equal(c.lines[0].nbound, 0);
    assert_false(c.lines[0].truncated);
    /* Compact: no space outside strings. */
    assert_null(strstr(c.lines[0].text, "\": "));
    assert_null(strstr(c.lines[0].text, ", \""));
    json_decref(r);
    json_decref(j);
    json_decref(jstr);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_numbers_at_the_edges(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_info(lg, "edges", SL_UINT("umax", UINT64_MAX), SL_INT("imax", INT64_MAX),
            SL_DOUBLE("nan", NAN), SL_DOUBLE("inf", INFINITY),
            SL_DOUBLE("ninf", -INFINITY), SL_DOUBLE("big", 1e300),
            SL_DOUBLE("tiny", 5e-324), SL_DOUBLE("zero", 0.0), SL_ERRNO("e0", 0),
            SL_ERRNO("eneg", -1), SL_ERRNO("ehuge", 1LL << 40));
    assert_int_equal(c.n, 1);
    /* jansson's integers are signed 64-bit: read UINT64_MAX as a real, and
     * check its exact digits in the text. */
    assert_non_null(strstr(c.lines[0].text, "\"umax\":18446744073709551615,"));
    json_error_t err;
    json_t *r =
        json_loadb(c.lines[0].text, c.lines[0].len - 1, JSON_DECODE_INT_AS_REAL, &err);
    assert_non_null(r);
    ASSERT_KEYS(r, "time", "level", "msg", "umax", "imax", "nan", "inf", "ninf", "big",
                "tiny", "zero", "e0", "eneg", "ehuge");
    assert_true(json_real_value(json_object_get(r, "umax")) == 18446744073709551615.0);
    assert_string_equal(get_str(r, "nan"), "NaN");
    assert_string_equal(get_str(r, "inf"), "Infinity");
    assert_string_equal(get_str(r, "ninf"), "-Infinity");
    assert_true(json_real_value(json_object_get(r, "big")) == 1e300);
    assert_true(json_real_value(json_object_get(r, "tiny")) == 5e-324);
    assert_true(json_number_value(json_object_get(r, "zero")) == 0.0);
    assert_true(json_number_value(json_object_get(json_object_get(r, "e0"), "errno")) ==
                0);
    assert_true(json_number_value(json_object_get(json_object_get(r, "eneg"), "errno")) ==
                -1);
    assert_true(json_number_value(json_object_get(json_object_get(r, "ehuge"),
                                                  "errno")) == (double)(1LL << 40));
    assert_non_null(get_str(json_object_get(r, "ehuge"), "error"));
    json_decref(r);
    r = json_loadb(c.lines[0].text, c.lines[0].len - 1, 0, &err);
    assert_null(r); /* (confirms why the real-number read above is needed) */
    sl_logger_free(lg);
    capture_clear(&c);
}

/* One record per profile, with a context and service and trace_flags off. */
static json_t *log_with_profile(sl_profile p, bool flags, bool with_ctx, capture *c)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.profile = p;
    o.service = "svc";
    o.trace_flags = flags;
    sl_logger *lg = capture_logger(&o, c);
    sl_span_context ctx = test_ctx();
    sl_warn(lg, "hello"); /* warn without a context first */
    if (with_ctx) {
        sl_log_ctx(lg, SL_LEVEL_WARN, &ctx, "hello", SL_INT("n", 1));
    } else {
        sl_log(lg, SL_LEVEL_WARN, "hello", SL_INT("n", 1));
    }
    sl_logger_free(lg);
    assert_int_equal(c->n, 2);
    return capture_parse(c, 1);
}

static void test_profile_default_and_flags(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    json_t *r = log_with_profile(SL_PROFILE_DEFAULT, true, true, &c);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "traceId", "spanId",
                "correlationId", "traceFlags", "n");
    assert_string_equal(get_str(r, "traceFlags"), "01");
    assert_string_equal(get_str(r, "level"), "warn");
    json_decref(r);
    json_t *first = capture_parse(&c, 0);
    ASSERT_KEYS(first, "time", "level", "msg", "service");
    json_decref(first);
    capture_clear(&c);
}

static void test_profile_otel(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    json_t *r = log_with_profile(SL_PROFILE_OTEL, false, true, &c);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "trace_id", "span_id",
                "trace_flags", "n");
    assert_string_equal(get_str(r, "trace_id"), TP_TRACE);
    assert_string_equal(get_str(r, "span_id"), TP_SPAN);
    assert_string_equal(get_str(r, "trace_flags"), "01");
    json_decref(r);
    capture_clear(&c);
    r = log_with_profile(SL_PROFILE_OTEL, false, false, &c);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "n");
    json_decref(r);
    capture_clear(&c);
}

static void test_profile_ecs(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    int64_t t0 = sl__now_ns();
    json_t *r = log_with_profile(SL_PROFILE_ECS, false, true, &c);
    int64_t t1 = sl__now_ns();
    ASSERT_KEYS(r, "@timestamp", "log.level", "message", "service.name", "trace.id",
                "span.id", "n");
    check_time(get_str(r, "@timestamp"), t0, t1);
    assert_string_equal(get_str(r, "log.level"), "warn");
    assert_string_equal(get_str(r, "message"), "hello");
    assert_string_equal(get_str(r, "service.name"), "svc");
    assert_string_equal(get_str(r, "trace.id"), TP_TRACE);
    assert_string_equal(get_str(r, "span.id"), TP_SPAN);
    json_decref(r);
    capture_clear(&c);
    r = log_with_profile(SL_PROFILE_ECS, true, true, &c);
    ASSERT_KEYS(r, "@timestamp", "log.level", "message", "service.name", "trace.id",
                "span.id", "trace.flags", "n");
    json_decref(r);
    capture_clear(&c);
}

static void test_profile_pino(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    int64_t t0 = sl__now_ns() / 1000000;
    json_t *r = log_with_profile(SL_PROFILE_PINO, false, true, &c);
    int64_t t1 = sl__now_ns() / 1000000;
    ASSERT_KEYS(r, "level", "time", "pid", "hostname", "msg", "service", "traceId",
                "spanId", "correlationId", "n");
    assert_int_equal(get_int(r, "level"), 40);
    assert_true(get_int(r, "time") >= t0 && get_int(r, "time") <= t1);
    assert_int_equal(get_int(r, "pid"), getpid());
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    assert_string_equal(get_str(r, "hostname"), host);
    assert_string_equal(get_str(r, "correlationId"), "0af76519-b7ad6b71");
    json_decref(r);
    capture_clear(&c);

    /* Every level's number. */
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.profile = SL_PROFILE_PINO;
    o.level = SL_LEVEL_TRACE;
    sl_logger *lg = capture_logger(&o, &c);
    for (int l = SL_LEVEL_TRACE; l <= SL_LEVEL_FATAL; l++) {
        sl_log(lg, (sl_level)l, "x");
    }
    assert_int_equal(c.n, 6);
    for (size_t i = 0; i < 6; i++) {
        r = capture_parse(&c, i);
        ASSERT_KEYS(r, "level", "time", "pid", "hostname", "msg");
        assert_int_equal(get_int(r, "level"), 10 * (int)(i + 1));
        json_decref(r);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_level_names_and_invalid_levels(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.level = SL_LEVEL_TRACE;
    sl_logger *lg = capture_logger(&o, &c);
    static const char *const names[] = {"trace", "debug", "info",
                                        "warn",  "error", "fatal"};
    sl_trace(lg, "m");
    sl_debug(lg, "m");
    sl_info(lg, "m");
    sl_warn(lg, "m");
    sl_error(lg, "m");
    sl_fatal(lg, "m");
    assert_int_equal(c.n, 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *r = capture_parse(&c, i);
        assert_string_equal(get_str(r, "level"), names[i]);
        assert_int_equal(c.lines[i].level, (sl_level)i);
        json_decref(r);
    }
    /* "off" and out-of-range values are thresholds, not record levels. */
    sl_logger_set_level(lg, SL_LEVEL_OFF);
    sl_log_write(lg, SL_LEVEL_OFF, NULL, NULL, "no", NULL, 0);
    sl_logger_set_level(lg, SL_LEVEL_TRACE);
    sl_log_write(lg, SL_LEVEL_OFF, NULL, NULL, "no", NULL, 0);
    sl_log_write(lg, (sl_level)42, NULL, NULL, "no", NULL, 0);
    sl_log_write(lg, (sl_level)-1, NULL, NULL, "no", NULL, 0);
    sl_log_writef(lg, (sl_level)42, NULL, NULL, "no %d", 1);
    assert_int_equal(c.n, 6);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_trace_keys_follow_the_context(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_span_context ctx = test_ctx();
    sl_span_context empty = sl_span_context_empty();
    sl_context_token t1, t2;

    sl_info(lg, "none"); /* 0: no context */
    assert_int_equal(sl_context_attach(&ctx, &t1), SL_OK);
    sl_info(lg, "attached"); /* 1: the attached one */
    assert_int_equal(sl_context_attach(&empty, &t2), SL_OK);
    sl_info(lg, "hidden");                           /* 2: an invalid top hides it */
    sl_log_ctx(lg, SL_LEVEL_INFO, &ctx, "explicit"); /* 3: explicit wins */
    assert_int_equal(sl_context_detach(t2), SL_OK);
    sl_log_ctx(lg, SL_LEVEL_INFO, &empty, "explicit-invalid"); /* 4: none */
    sl_span *span = sl_span_start("work", SL_SPAN_INTERNAL);
    assert_non_null(span);
    sl_info(lg, "in span"); /* 5: the span's ids */
    sl_span_context other = *sl_span_get_context(span);
    sl_span_end(span);
    assert_int_equal(sl_context_detach(t1), SL_OK);
    sl_log_ctx(lg, SL_LEVEL_INFO, &other, "handed off"); /* 6: explicit, no current */
    sl_info(lg, "after");                                /* 7: none */
    assert_int_equal(c.n, 8);

    const bool has[] = {false, true, false, true, false, true, true, false};
    for (size_t i = 0; i < 8; i++) {
        json_t *r = capture_parse(&c, i);
        assert_int_equal(c.lines[i].had_ctx, has[i]);
        if (has[i]) {
            ASSERT_KEYS(r, "time", "level", "msg", "traceId", "spanId", "correlationId");
        } else {
            ASSERT_KEYS(r, "time", "level", "msg");
        }
        json_decref(r);
    }
    char tid[33], sid[17], cid[18];
    sl_trace_id_to_hex(other.trace_id, tid);
    sl_span_id_to_hex(other.span_id, sid);
    assert_int_equal(sl_correlation_id(&other, cid), SL_OK);
    for (size_t i = 5; i <= 6; i++) {
        json_t *r = capture_parse(&c, i);
        assert_string_equal(get_str(r, "traceId"), TP_TRACE); /* child of ctx */
        assert_string_equal(get_str(r, "traceId"), tid);
        assert_string_equal(get_str(r, "spanId"), sid);
        assert_string_equal(get_str(r, "correlationId"), cid);
        json_decref(r);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_caller_info(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.caller_info = true;
    sl_logger *lg = capture_logger(&o, &c);
    int line = __LINE__ + 1;
    sl_info(lg, "here", SL_INT("n", 1));
    sl_log_write(lg, SL_LEVEL_INFO, NULL, NULL, "no src", NULL, 0);
    sl_log_write(lg, SL_LEVEL_INFO, NULL, &(const sl_src){NULL, NULL, -7}, "odd src",
                 NULL, 0);
    sl_logger_free(lg);
    assert_int_equal(c.n, 3);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "caller", "func", "n");
    char want[512];
    snprintf(want, sizeof(want), "%s:%d", __FILE__, line);
    assert_string_equal(get_str(r, "caller"), want);
    assert_string_equal(get_str(r, "func"), "test_caller_info");
    json_decref(r);
    r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg");
    json_decref(r);
    r = capture_parse(&c, 2);
    assert_string_equal(get_str(r, "caller"), ":-7");
    assert_string_equal(get_str(r, "func"), "");
    json_decref(r);
    capture_clear(&c);

    o.profile = SL_PROFILE_ECS;
    lg = capture_logger(&o, &c);
    line = __LINE__ + 1;
    sl_info(lg, "here");
    sl_logger_free(lg);
    r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "@timestamp", "log.level", "message", "log.origin.file.name",
                "log.origin.file.line", "log.origin.function");
    assert_string_equal(get_str(r, "log.origin.file.name"), __FILE__);
    assert_int_equal(get_int(r, "log.origin.file.line"), line);
    assert_string_equal(get_str(r, "log.origin.function"), "test_caller_info");
    json_decref(r);
    capture_clear(&c);
}

static void test_null_message_and_no_fields(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_log_write(lg, SL_LEVEL_INFO, NULL, NULL, NULL, NULL, 0);
    sl_log_write(lg, SL_LEVEL_INFO, NULL, NULL, "fields NULL, n 3", NULL, 3);
    sl_info(lg, "");
    sl_log_writef(lg, SL_LEVEL_INFO, NULL, NULL, NULL);
    sl_log_write(NULL, SL_LEVEL_INFO, NULL, NULL, "no logger", NULL, 0);
    sl_info(NULL, "no logger", SL_INT("x", 1));
    sl_infof(NULL, "no logger %d", 1);
    assert_int_equal(c.n, 4);
    const char *const msgs[] = {"", "fields NULL, n 3", "", ""};
    for (size_t i = 0; i < 4; i++) {
        json_t *r = capture_parse(&c, i);
        ASSERT_KEYS(r, "time", "level", "msg");
        assert_string_equal(get_str(r, "msg"), msgs[i]);
        json_decref(r);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_printf_variants(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_infof(lg, "n=%d s=%s %.2f%%", 42, "x\"y", 99.5);
    /* Longer than the initial format buffer. */
    char *big = malloc(20001);
    memset(big, 'a', 20000);
    big[20000] = '\0';
    sl_warnf(lg, "<%s>", big);
    sl_errorf(lg, "%s", "short again");
    assert_int_equal(c.n, 3);
    json_t *r = capture_parse(&c, 0);
    assert_string_equal(get_str(r, "msg"), "n=42 s=x\"y 99.50%");
    json_decref(r);
    r = capture_parse(&c, 1);
    const char *m = get_str(r, "msg");
    assert_int_equal(strlen(m), 20002);
    assert_true(m[0] == '<' && m[20001] == '>' && strspn(m + 1, "a") == 20000);
    assert_string_equal(get_str(r, "level"), "warn");
    json_decref(r);
    r = capture_parse(&c, 2);
    assert_string_equal(get_str(r, "msg"), "short again");
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);

    /* A formatted message beyond the record limit: cut, flagged, one line. */
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.max_record_bytes = 1024;
    lg = capture_logger(&o, &c);
    sl_infof(lg, "%s", big);
    assert_int_equal(c.n, 1);
    assert_true(c.lines[0].len <= 1024);
    assert_true(c.lines[0].truncated);
    r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "truncated");
    assert_true(json_is_true(json_object_get(r, "truncated")));
    m = get_str(r, "msg");
    assert_true(strlen(m) > 900 && strspn(m, "a") == strlen(m));
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
    free(big);
}

static int evaluations;
static int64_t counted(int64_t v)
{
    evaluations++;
    return v;
}

static void test_level_gate_skips_arguments(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.level = SL_LEVEL_WARN;
    sl_logger *lg = capture_logger(&o, &c);
    evaluations = 0;
    sl_info(lg, "off", SL_INT("n", counted(1)));
    sl_debugf(lg, "off %d", (int)counted(2));
    sl_trace(lg, "off", SL_INT("a", counted(1)), SL_INT("b", counted(2)));
    assert_int_equal(evaluations, 0);
    assert_int_equal(c.n, 0);
    assert_false(sl_would_log(lg, SL_LEVEL_INFO));
    assert_true(sl_would_log(lg, SL_LEVEL_WARN));
    assert_false(sl_would_log(NULL, SL_LEVEL_FATAL));
    sl_warn(lg, "on", SL_INT("n", counted(7)));
    sl_errorf(lg, "on %d", (int)counted(8));
    assert_int_equal(evaluations, 2);
    assert_int_equal(c.n, 2);
    /* Runtime change. */
    sl_logger_set_level(lg, SL_LEVEL_DEBUG);
    assert_int_equal(sl_logger_get_level(lg), SL_LEVEL_DEBUG);
    sl_debug(lg, "now on", SL_INT("n", counted(3)));
    assert_int_equal(evaluations, 3);
    sl_logger_set_level(lg, SL_LEVEL_OFF);
    sl_fatal(lg, "all off", SL_INT("n", counted(4)));
    assert_int_equal(evaluations, 3);
    sl_logger_set_level(lg, (sl_level)17); /* ignored */
    assert_int_equal(sl_logger_get_level(lg), SL_LEVEL_OFF);
    assert_int_equal(sl_logger_get_level(NULL), SL_LEVEL_OFF);
    sl_logger_set_level(NULL, SL_LEVEL_INFO);
    assert_int_equal(c.n, 3);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_sinks_have_their_own_levels(void **unused)
{
    (void)unused;
    capture all, errs;
    capture_init(&all);
    capture_init(&errs);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.level = SL_LEVEL_DEBUG;
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(&o, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(&all), SL_LEVEL_TRACE), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(&errs), SL_LEVEL_ERROR), SL_OK);
    sl_trace(lg, "t"); /* below the logger */
    sl_debug(lg, "d");
    sl_info(lg, "i");
    sl_error(lg, "e");
    sl_fatal(lg, "f");
    assert_int_equal(all.n, 4);
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.lines[0].msg, "e");
    assert_string_equal(errs.lines[1].msg, "f");
    /* Both sinks received the same bytes. */
    assert_string_equal(errs.lines[0].text, all.lines[2].text);
    sl_logger_free(lg);
    assert_true(all.destroyed && errs.destroyed);
    assert_int_equal(all.closes, 1);
    capture_clear(&all);
    capture_clear(&errs);
}

static void test_add_sink_rules(void **unused)
{
    (void)unused;
    capture a, b, d, e, f;
    capture_init(&a);
    capture_init(&b);
    capture_init(&d);
    capture_init(&e);
    capture_init(&f);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    /* The sink is owned (and freed) even when adding fails. */
    assert_int_equal(sl_logger_add_sink(NULL, capture_sink(&a), SL_LEVEL_INFO),
                     SL_EINVAL);
    assert_true(a.destroyed);
    assert_int_equal(sl_logger_add_sink(lg, NULL, SL_LEVEL_INFO), SL_EINVAL);
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(&b), (sl_level)9), SL_EINVAL);
    assert_true(b.destroyed);
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(&d), SL_LEVEL_INFO), SL_OK);
    sl_logger *child = sl_child(lg, SL_STR("k", "v"));
    assert_non_null(child);
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(&e), SL_LEVEL_INFO), SL_ESTATE);
    assert_true(e.destroyed);
    assert_int_equal(sl_logger_add_sink(child, capture_sink(&f), SL_LEVEL_INFO),
                     SL_ESTATE);
    assert_true(f.destroyed);
    sl_logger_free(child);
    sl_logger_free(lg);
    assert_true(d.destroyed);

    /* Logging seals too. */
    capture g, h;
    capture_init(&g);
    capture_init(&h);
    lg = capture_logger(NULL, &g);
    sl_info(lg, "first");
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(&h), SL_LEVEL_INFO), SL_ESTATE);
    assert_true(h.destroyed);
    sl_logger_free(lg);
    capture_clear(&g);
    capture_clear(&d);
}

static void test_options_and_profiles(void **unused)
{
    (void)unused;
    sl_logger_options_init(NULL);
    sl_logger_options o;
    sl_logger_options_init(&o);
    assert_int_equal(o.level, SL_LEVEL_INFO);
    assert_int_equal(o.profile, SL_PROFILE_DEFAULT);
    assert_int_equal(o.max_record_bytes, 65536);
    assert_false(o.caller_info);
    assert_false(o.trace_flags);
    assert_null(o.service);

    sl_logger *lg = (sl_logger *)&o;
    assert_int_equal(sl_logger_new(NULL, NULL), SL_EINVAL);
    sl_logger_options bad = o;
    bad.max_record_bytes = 1023;
    assert_int_equal(sl_logger_new(&bad, &lg), SL_EINVAL);
    assert_null(lg);
    bad = o;
    bad.level = (sl_level)7;
    assert_int_equal(sl_logger_new(&bad, &lg), SL_EINVAL);
    bad = o;
    bad.profile = (sl_profile)4;
    assert_int_equal(sl_logger_new(&bad, &lg), SL_EINVAL);
    char longname[400];
    memset(longname, 's', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    bad = o;
    bad.service = longname;
    assert_int_equal(sl_logger_new(&bad, &lg), SL_EINVAL);
    /* 300 bytes once escaped, whatever the profile's key (the key is not counted). */
    for (int prof = 0; prof <= SL_PROFILE_PINO; prof++) {
        bad = o;
        bad.profile = (sl_profile)prof;
        bad.service = longname;
        longname[300] = '\0';
        assert_int_equal(sl_logger_new(&bad, &lg), SL_OK);
        sl_logger_free(lg);
        longname[298] = '"'; /* escaped: two bytes, 301 in all */
        assert_int_equal(sl_logger_new(&bad, &lg), SL_EINVAL);
        longname[298] = 's';
        longname[300] = 's';
        longname[301] = '\0';
        assert_int_equal(sl_logger_new(&bad, &lg), SL_EINVAL);
        longname[301] = 's';
    }
    bad.max_record_bytes = 1024;
    bad.level = SL_LEVEL_OFF;
    bad.service = "ok";
    assert_int_equal(sl_logger_new(&bad, &lg), SL_OK);
    sl_logger_free(lg);
    sl_logger_free(NULL);

    sl_profile p = SL_PROFILE_DEFAULT;
    static const struct {
        const char *name;
        sl_status st;
        sl_profile p;
    } table[] = {
        {"default", SL_OK, SL_PROFILE_DEFAULT},
        {"otel", SL_OK, SL_PROFILE_OTEL},
        {"ecs", SL_OK, SL_PROFILE_ECS},
        {"pino", SL_OK, SL_PROFILE_PINO},
        {"OTEL", SL_OK, SL_PROFILE_OTEL},
        {"", SL_EPARSE, SL_PROFILE_DEFAULT},
        {"json", SL_EPARSE, 0},
        {"otel ", SL_EPARSE, 0},
        {"pin", SL_EPARSE, 0},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        p = (sl_profile)99;
        assert_int_equal(sl_profile_parse(table[i].name, &p), table[i].st);
        if (table[i].st == SL_OK) {
            assert_int_equal(p, table[i].p);
        } else {
            assert_int_equal(p, 99);
        }
    }
    assert_int_equal(sl_profile_parse(NULL, &p), SL_EINVAL);
    assert_int_equal(sl_profile_parse("otel", NULL), SL_EINVAL);
}

static void test_flush_reaches_every_sink(void **unused)
{
    (void)unused;
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    sl_sink *n1 = NULL, *n2 = NULL;
    assert_int_equal(sl_null_sink_new(&n1), SL_OK);
    assert_int_equal(sl_null_sink_new(&n2), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, n1, SL_LEVEL_INFO), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, n2, SL_LEVEL_ERROR), SL_OK);
    sl_info(lg, "a");
    sl_error(lg, "b");
    sl_sink_stats s1, s2;
    sl_sink_get_stats(n1, &s1);
    sl_sink_get_stats(n2, &s2);
    assert_int_equal(s1.written, 2);
    assert_int_equal(s2.written, 1);
    assert_int_equal(sl_logger_flush(lg, 100), SL_OK);
    assert_int_equal(sl_logger_flush(lg, -1), SL_OK);
    assert_int_equal(sl_logger_flush(NULL, 0), SL_EINVAL);
    sl_logger_free(lg);
}

/* A sink that logs (to another logger) from inside its write callback. */
typedef struct nesting {
    sl_logger *inner;
    char outer_before[256];
    char outer_after[256];
} nesting;

static void nesting_write(sl_sink *sink, const sl_record *rec, const char *line,
                          size_t len)
{
    (void)rec;
    nesting *n = sl_sink_state(sink);
    snprintf(n->outer_before, sizeof(n->outer_before), "%.*s", (int)len, line);
    sl_info(n->inner, "nested", SL_INT("depth", 1));
    sl_warnf(n->inner, "nested printf %d", 2);
    /* The outer line is still intact after the nested records. */
    snprintf(n->outer_after, sizeof(n->outer_after), "%.*s", (int)len, line);
    sl_sink_count_written(sink, 1);
}

static const sl_sink_vtable nesting_vt = {
    .version = SL_SINK_VTABLE_VERSION, .name = "nesting", .write = nesting_write};

static void test_sink_that_logs(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    nesting n = {.inner = capture_logger(NULL, &c)};
    sl_logger *outer = NULL;
    sl_sink *s = NULL;
    assert_int_equal(sl_logger_new(NULL, &outer), SL_OK);
    assert_int_equal(sl_sink_new(&nesting_vt, &n, &s), SL_OK);
    assert_int_equal(sl_logger_add_sink(outer, s, SL_LEVEL_TRACE), SL_OK);
    sl_info(outer, "outer", SL_STR("k", "v"));
    sl_infof(outer, "outer printf %s", "x");
    assert_string_equal(n.outer_before, n.outer_after);
    assert_non_null(strstr(n.outer_after, "\"msg\":\"outer printf x\""));
    assert_int_equal(c.n, 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *r = capture_parse(&c, i);
        assert_string_equal(get_str(r, "msg"), i % 2 == 0 ? "nested" : "nested printf 2");
        json_decref(r);
    }
    sl_logger_free(outer);
    sl_logger_free(n.inner);
    capture_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_type_default_profile),
        cmocka_unit_test(test_numbers_at_the_edges),
        cmocka_unit_test(test_profile_default_and_flags),
        cmocka_unit_test(test_profile_otel),
        cmocka_unit_test(test_profile_ecs),
        cmocka_unit_test(test_profile_pino),
        cmocka_unit_test(test_level_names_and_invalid_levels),
        cmocka_unit_test(test_trace_keys_follow_the_context),
        cmocka_unit_test(test_caller_info),
        cmocka_unit_test(test_null_message_and_no_fields),
        cmocka_unit_test(test_printf_variants),
        cmocka_unit_test(test_level_gate_skips_arguments),
        cmocka_unit_test(test_sinks_have_their_own_levels),
        cmocka_unit_test(test_add_sink_rules),
        cmocka_unit_test(test_options_and_profiles),
        cmocka_unit_test(test_flush_reaches_every_sink),
        cmocka_unit_test(test_sink_that_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
