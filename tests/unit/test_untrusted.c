/*
 * test_untrusted.c - hostile input to the logger core: printf formats with
 * %n, SL_JSON values a strict reader would refuse, keys that try to forge
 * the record's head, and records whose truncation used to be quadratic.
 * Every line is parsed back with jansson.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_capture.h"
#include "core.h"
#include "internal.h"

/* ---- %n ---------------------------------------------------------------- */

/* A format that comes from outside the program: not a literal, on purpose. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wformat-nonliteral"
#endif
static void logv(sl_logger *lg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_log_writev(lg, SL_LEVEL_INFO, NULL, NULL, fmt, ap);
    va_end(ap);
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

static void test_percent_n_written_literally(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    int x = 12345;
    long lx = 777;
    sl_infof(lg, "abc%n", &x);
    sl_infof(lg, "%d then %ln", 1, &lx);
    /* A format from outside with %n and no argument at all. */
    volatile const char *hostile = "user %n%n%n %s";
    logv(lg, (const char *)hostile);
    sl_infof(lg, "100%% sure, %d", 3); /* %% is not a conversion */
    assert_int_equal(x, 12345);
    assert_int_equal(lx, 777);
    assert_int_equal(c.n, 4);
    const char *want[] = {"abc%n", "%d then %ln", "user %n%n%n %s", "100% sure, 3"};
    for (size_t i = 0; i < 4; i++) {
        json_t *o = capture_parse(&c, i);
        assert_string_equal(get_str(o, "msg"), want[i]);
        json_decref(o);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_format_has_n(void **unused)
{
    (void)unused;
    assert_true(sl__format_has_n("%n"));
    assert_true(sl__format_has_n("x %hhn"));
    assert_true(sl__format_has_n("%1$n"));
    assert_true(sl__format_has_n("%-*.*lln"));
    assert_true(sl__format_has_n("%zn %d"));
    assert_false(sl__format_has_n("%%n"));
    assert_false(sl__format_has_n("%s n %d"));
    assert_false(sl__format_has_n("trailing %"));
    assert_false(sl__format_has_n(NULL));
}

/* ---- SL_JSON ------------------------------------------------------------- */

static void test_json_bad_keys_and_nul_stay_json(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    json_t *j = json_object();
    /* jansson's _nocheck setters take keys that are not UTF-8, and keys and
     * strings with NUL inside. */
    assert_int_equal(json_object_set_new_nocheck(j, "\xff\xfe", json_integer(1)), 0);
    assert_int_equal(json_object_setn_new_nocheck(j, "k\0x", 3, json_integer(2)), 0);
    assert_int_equal(json_object_set_new(j, "s", json_stringn("a\0b", 3)), 0);
    assert_int_equal(json_object_set_new(j, "bad", json_stringn_nocheck("\xc3(", 2)), 0);
    assert_int_equal(json_object_set_new(j, "ok", json_integer(3)), 0);
    sl_info(lg, "x", SL_JSON("j", j));
    sl_logger *child = sl_child(lg, SL_JSON("bound", j));
    assert_non_null(child);
    sl_info(child, "y");
    assert_int_equal(c.n, 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *o = capture_parse(&c, i);
        json_t *got = json_object_get(o, i == 0 ? "j" : "bound");
        assert_true(json_is_object(got));
        assert_int_equal(json_object_size(got), 5);
        assert_int_equal(
            json_integer_value(json_object_get(got, "\xef\xbf\xbd\xef\xbf\xbd")), 1);
        assert_int_equal(json_integer_value(json_object_get(got, "k\xef\xbf\xbdx")), 2);
        assert_string_equal(json_string_value(json_object_get(got, "s")), "a\xef\xbf\xbd"
                                                                          "b");
        assert_string_equal(json_string_value(json_object_get(got, "bad")),
                            "\xef\xbf\xbd(");
        assert_int_equal(json_integer_value(json_object_get(got, "ok")), 3);
        assert_null(strstr(c.lines[i].text, "\\u0000"));
        json_decref(o);
    }
    sl_logger_free(child);
    sl_logger_free(lg);
    json_decref(j);
    capture_clear(&c);
}

/* Arrays nested `depth` deep around the integer 7. */
static json_t *deep_array(size_t depth)
{
    json_t *v = json_integer(7);
    for (size_t i = 0; i < depth; i++) {
        json_t *a = json_array();
        json_array_append_new(a, v);
        v = a;
    }
    return v;
}

static void test_json_deep_is_bounded(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    json_t *deep = deep_array(30000); /* overflowed jansson's recursive dump */
    sl_info(lg, "deep", SL_JSON("d", deep));
    sl_logger *child = sl_child(lg, SL_JSON("d", deep));
    assert_non_null(child);
    sl_info(child, "deep child");
    json_t *fits = deep_array(SL_JSON_MAX_DEPTH);
    sl_info(lg, "fits", SL_JSON("d", fits));
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = capture_parse(&c, i);
        const json_t *v = json_object_get(o, "d");
        size_t levels = 0;
        while (json_is_array(v)) {
            assert_int_equal(json_array_size(v), 1);
            v = json_array_get(v, 0);
            levels++;
        }
        assert_int_equal(levels, SL_JSON_MAX_DEPTH);
        if (i < 2) {
            assert_string_equal(json_string_value(v), SL_JSON_DEPTH_MARK);
        } else {
            assert_int_equal(json_integer_value(v), 7);
        }
        json_decref(o);
    }
    sl_logger_free(child);
    sl_logger_free(lg);
    json_decref(deep);
    json_decref(fits);
    capture_clear(&c);
}

static void test_json_shared_subtrees_bounded(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    /* 2^50 leaves through shared children: the walk must stop, and the
     * record keep its head. */
    json_t *v = json_string("leaf");
    for (int i = 0; i < 50; i++) {
        json_t *o = json_object();
        json_object_set(o, "a", v);
        json_object_set(o, "b", v);
        json_decref(v);
        v = o;
    }
    sl_info(lg, "dag", SL_JSON("d", v), SL_INT("n", 1));
    assert_int_equal(c.n, 1);
    json_t *o = capture_parse(&c, 0);
    assert_string_equal(get_str(o, "msg"), "dag");
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_null(json_object_get(o, "d"));
    json_decref(o);
    sl_logger *child = NULL;
    sl_field f = SL_JSON("d", v);
    assert_int_equal(sl_logger_child(lg, &f, 1, &child), SL_ERANGE);
    sl_logger_free(lg);
    json_decref(v);
    capture_clear(&c);
}

/* ---- head keys ------------------------------------------------------------ */

static const char *const head_keys[][14] = {
    [SL_PROFILE_DEFAULT] = {"time", "level", "msg", "service", "traceId", "spanId",
                            "correlationId", "traceFlags", "caller", "func", "truncated"},
    [SL_PROFILE_OTEL] = {"time", "level", "msg", "service", "trace_id", "span_id",
                         "trace_flags", "caller", "func", "truncated"},
    [SL_PROFILE_ECS] = {"@timestamp", "log.level", "message", "service.name", "trace.id",
                        "span.id", "trace.flags", "log.origin.file.name",
                        "log.origin.file.line", "log.origin.function", "truncated"},
    [SL_PROFILE_PINO] = {"level", "time", "pid", "hostname", "msg", "service", "traceId",
                         "spanId", "correlationId", "traceFlags", "caller", "func",
                         "truncated"},
};

static void test_head_keys_cannot_be_forged(void **unused)
{
    (void)unused;
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &ctx), SL_OK);
    for (int p = 0; p < 4; p++) {
        for (int keep = 0; keep < 2; keep++) {
            capture c;
            capture_init(&c);
            sl_logger_options o;
            sl_logger_options_init(&o);
            o.profile = (sl_profile)p;
            o.service = "real";
            o.trace_flags = true;
            o.caller_info = true;
            o.head_keys = keep ? SL_HEAD_KEYS_KEEP : SL_HEAD_KEYS_RENAME;
            sl_logger *lg = capture_logger(&o, &c);
            sl_field f[14];
            size_t n = 0;
            while (n < 14 && head_keys[p][n] != NULL) {
                f[n] = SL_STR(head_keys[p][n], "forged");
                n++;
            }
            sl_logger *child = NULL;
            assert_int_equal(sl_logger_child(lg, f, 1, &child), SL_OK);
            sl_log_write(child, SL_LEVEL_INFO, &ctx, NULL, "real msg", f + 1, n - 1);
            assert_int_equal(c.n, 1);
            json_error_t e;
            /* A strict reader: duplicate keys refused. */
            json_t *r = json_loads(c.lines[0].text, JSON_REJECT_DUPLICATES, &e);
            if (keep) {
                assert_null(r); /* the forged keys sit beside the real ones */
            } else {
                assert_non_null(r);
                for (size_t i = 0; i < n; i++) {
                    char renamed[64];
                    snprintf(renamed, sizeof renamed, "%s%s", SL_RESERVED_KEY_PREFIX,
                             head_keys[p][i]);
                    assert_string_equal(get_str(r, renamed), "forged");
                    const json_t *real = json_object_get(r, head_keys[p][i]);
                    assert_false(json_is_string(real) &&
                                 strcmp(json_string_value(real), "forged") == 0);
                }
                const char *msgkey = p == SL_PROFILE_ECS ? "message" : "msg";
                assert_string_equal(get_str(r, msgkey), "real msg");
                json_decref(r);
            }
            sl_logger_free(child);
            sl_logger_free(lg);
            capture_clear(&c);
        }
    }
}

/* ---- truncation work ----------------------------------------------------- */

/*
 * Three big strings of control bytes (each escapes to 6x its size): the
 * search for the common cap used to rescan every string at each of its ~30
 * steps, and the cut of each string rescanned its prefix at each step too
 * (three 64 MiB strings took 25 s). Now truncation looks at each byte a
 * bounded number of times: the test counts the bytes it scans.
 */
static void test_truncation_is_linear(void **unused)
{
    (void)unused;
    const size_t big = 16u << 20;
    char *s = malloc(big);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++) {
        s[i] = (char)(1 + i % 31);
    }
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.max_record_bytes = 65536;
    sl_logger *lg = capture_logger(&o, &c);
    sl__trunc_scanned = 0;
    sl_info(lg, "m", SL_STRN("a", s, big), SL_STRN("b", s, big), SL_STRN("c", s, big),
            SL_INT("n", 5));
    size_t scanned = sl__trunc_scanned;
    /* One pass for the lengths, one to check each string before its cut, and
     * the cut itself bounded by the limit. */
    assert_true(scanned <= 2 * 3 * big + 8 * 65536);
    assert_true(scanned >= 3 * big);
    assert_int_equal(c.n, 1);
    assert_true(c.lines[0].len <= 65536);
    json_t *r = capture_parse(&c, 0);
    assert_true(json_is_true(json_object_get(r, "truncated")));
    assert_int_equal(get_int(r, "n"), 5);
    size_t la = strlen(get_str(r, "a")), lb = strlen(get_str(r, "b"));
    assert_true(la > 1000 && la == lb && lb == strlen(get_str(r, "c")));
    assert_memory_equal(get_str(r, "a"), s, la);
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
    free(s);
}

/* ---- non-regular files ---------------------------------------------------- */

static void test_fifo_without_reader_does_not_block(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/sl_fifo_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], spec[80];
    snprintf(path, sizeof path, "%s/fifo", dir);
    snprintf(spec, sizeof spec, "file:%s", path);
    assert_int_equal(mkfifo(path, 0600), 0);
    setenv("SPANLOG_SINK", spec, 1);

    /* No reader: refused at once (before, open(2) blocked here forever). */
    sl_logger *lg = NULL;
    assert_int_not_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    assert_null(lg);

    /* With a reader the sink works, and records arrive whole. */
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    sl_info(lg, "through the fifo", SL_INT("n", 7));
    char buf[4096];
    ssize_t n = read(rd, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    json_error_t e;
    json_t *o = json_loadb(buf, (size_t)n, 0, &e);
    assert_non_null(o);
    assert_string_equal(get_str(o, "msg"), "through the fifo");
    assert_int_equal(get_int(o, "n"), 7);
    json_decref(o);
    sl_logger_free(lg);
    close(rd);
    unsetenv("SPANLOG_SINK");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_n_written_literally),
        cmocka_unit_test(test_format_has_n),
        cmocka_unit_test(test_fifo_without_reader_does_not_block),
        cmocka_unit_test(test_json_bad_keys_and_nul_stay_json),
        cmocka_unit_test(test_json_deep_is_bounded),
        cmocka_unit_test(test_json_shared_subtrees_bounded),
        cmocka_unit_test(test_truncation_is_linear),
        cmocka_unit_test(test_head_keys_cannot_be_forged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
