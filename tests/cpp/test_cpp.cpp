/*
 * test_cpp.cpp - the public headers from C++: every log macro and field
 * type, child loggers and span attributes, built with g++ and clang++ at
 * -std=c++17 and -std=c++20 with -Wall -Wextra -Wpedantic -Werror (see
 * run.sh). Records are parsed back with jansson by the C tests' capture
 * helpers (core_capture.c, compiled as C) and checked field by field.
 */
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

extern "C" {
#include <cmocka.h>
}

#include <spanlog/spanlog.h>

extern "C" {
#include "unit/core_capture.h"
}

#include <spanlog/spanlog.hpp>

namespace
{

int evaluated = 0;

int count_evaluation(int v)
{
    evaluated++;
    return v;
}

sl_logger *make_logger(capture *c, sl_level level)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "cpp";
    o.level = level;
    o.caller_info = true;
    return capture_logger(&o, c);
}

/*
 * "caller" is "file:line", relative to the source root. For a call spread
 * over several lines, g++ gives the first line and clang++ the last one.
 */
void check_caller(const json_t *r, int first, int last)
{
    std::string caller = get_str(r, "caller");
    const std::string file = "tests/cpp/test_cpp.cpp:";
    assert_string_equal(caller.substr(0, file.size()).c_str(), file.c_str());
    int line = std::stoi(caller.substr(file.size()));
    assert_in_range(line, first, last);
}

void test_every_field_type(void **)
{
    capture c;
    capture_init(&c);
    sl_logger *lg = make_logger(&c, SL_LEVEL_INFO);
    json_t *tags = json_pack("[i,i]", 1, 2);
    const char text[] = "abcdef";
    const int line = __LINE__ + 1;
    sl_info(lg, "every type", SL_STR("s", "v"), SL_STRN("sn", text, 3), SL_INT("i", -5),
            SL_UINT("u", UINT64_C(1) << 40), SL_DOUBLE("d", 0.5), SL_BOOL("b", 2),
            SL_NULL("n"), SL_ERRNO("e", ENOENT), SL_JSON("j", tags), SL_STR("ns", NULL));
    json_decref(tags);
    assert_int_equal(c.n, 1);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "caller", "func", "s", "sn", "i",
                "u", "d", "b", "n", "e", "j", "ns");
    assert_string_equal(get_str(r, "level"), "info");
    assert_string_equal(get_str(r, "msg"), "every type");
    assert_string_equal(get_str(r, "service"), "cpp");
    check_caller(r, line, line + 2);
    assert_string_equal(get_str(r, "func"), "test_every_field_type");
    assert_string_equal(get_str(r, "s"), "v");
    assert_string_equal(get_str(r, "sn"), "abc");
    assert_int_equal(get_int(r, "i"), -5);
    assert_int_equal(get_int(r, "u"), INT64_C(1) << 40);
    assert_true(json_real_value(json_object_get(r, "d")) == 0.5);
    assert_true(json_is_true(json_object_get(r, "b")));
    assert_true(json_is_null(json_object_get(r, "n")));
    json_t *e = json_object_get(r, "e");
    assert_int_equal(get_int(e, "errno"), ENOENT);
    assert_string_equal(get_str(e, "error"), std::strerror(ENOENT));
    json_t *j = json_object_get(r, "j");
    assert_true(json_is_array(j) && json_array_size(j) == 2);
    assert_int_equal(json_integer_value(json_array_get(j, 1)), 2);
    assert_true(json_is_null(json_object_get(r, "ns")));
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
}

void test_every_macro(void **)
{
    capture c;
    capture_init(&c);
    sl_logger *lg = make_logger(&c, SL_LEVEL_TRACE);
    sl_span_context ctx;
    const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_int_equal(sl_traceparent_parse(tp, sizeof tp - 1, &ctx), SL_OK);

    sl_trace(lg, "t");
    sl_debug(lg, "d", SL_INT("n", 1));
    sl_info(lg, "i");
    sl_warn(lg, "w");
    sl_error(lg, "e");
    sl_fatal(lg, "f");
    sl_log(lg, SL_LEVEL_WARN, "l", SL_BOOL("x", false));
    sl_log_ctx(lg, SL_LEVEL_INFO, &ctx, "c");
    sl_tracef(lg, "tf %d", 1);
    sl_debugf(lg, "df %s", "x");
    sl_infof(lg, "if %u", 3u);
    sl_warnf(lg, "wf %.1f", 1.5);
    sl_errorf(lg, "ef %c", 'z');
    sl_fatalf(lg, "ff %ld", 7L);
    sl_log_write(lg, SL_LEVEL_INFO, nullptr, nullptr, "direct", nullptr, 0);
    sl_log_writef(lg, SL_LEVEL_INFO, nullptr, nullptr, "direct %d", 2);

    const char *want[][2] = {
        {"trace", "t"},    {"debug", "d"},    {"info", "i"},      {"warn", "w"},
        {"error", "e"},    {"fatal", "f"},    {"warn", "l"},      {"info", "c"},
        {"trace", "tf 1"}, {"debug", "df x"}, {"info", "if 3"},   {"warn", "wf 1.5"},
        {"error", "ef z"}, {"fatal", "ff 7"}, {"info", "direct"}, {"info", "direct 2"}};
    assert_int_equal(c.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c.n; i++) {
        json_t *r = capture_parse(&c, i);
        assert_string_equal(get_str(r, "level"), want[i][0]);
        assert_string_equal(get_str(r, "msg"), want[i][1]);
        if (i == 7) {
            assert_string_equal(get_str(r, "traceId"),
                                "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_string_equal(get_str(r, "spanId"), "00f067aa0ba902b7");
        } else {
            assert_null(json_object_get(r, "traceId"));
        }
        /* Direct calls pass no caller; the macros do. */
        assert_true((json_object_get(r, "caller") != nullptr) == (i < 14));
        json_decref(r);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

void test_level_gate_evaluates_nothing(void **)
{
    capture c;
    capture_init(&c);
    sl_logger *lg = make_logger(&c, SL_LEVEL_WARN);
    evaluated = 0;
    sl_info(lg, "off", SL_INT("n", count_evaluation(1)));
    sl_debugf(lg, "off %d", count_evaluation(2));
    sl_log(lg, SL_LEVEL_TRACE, "off", SL_INT("n", count_evaluation(3)));
    assert_int_equal(evaluated, 0);
    assert_int_equal(c.n, 0);
    sl_warn(lg, "on", SL_INT("n", count_evaluation(4)));
    assert_int_equal(evaluated, 1);
    assert_int_equal(c.n, 1);
    json_t *r = capture_parse(&c, 0);
    assert_int_equal(get_int(r, "n"), 4);
    json_decref(r);
    sl_info(static_cast<sl_logger *>(nullptr), "null logger",
            SL_INT("n", count_evaluation(5)));
    assert_int_equal(evaluated, 1);
    sl_logger_free(lg);
    capture_clear(&c);
}

void test_child_macro(void **)
{
    capture c;
    capture_init(&c);
    sl_logger *lg = make_logger(&c, SL_LEVEL_INFO);
    std::string rid = "r-1";
    sl_logger *req = sl_child(lg, SL_STR("requestId", rid.c_str()), SL_INT("attempt", 2));
    sl_logger *bare = sl_child(req);
    assert_non_null(req);
    assert_non_null(bare);
    rid = "changed";
    sl_info(bare, "in child", SL_BOOL("ok", true));
    assert_int_equal(c.n, 1);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "caller", "func", "requestId",
                "attempt", "ok");
    assert_string_equal(get_str(r, "requestId"), "r-1");
    assert_int_equal(get_int(r, "attempt"), 2);
    json_decref(r);
    sl_logger_free(req);
    sl_logger_free(bare);
    sl_logger_free(lg);
    capture_clear(&c);
}

void test_span_set(void **)
{
    /* A root span is sampled: it records. */
    sl_span *s = sl_span_start("cpp.op", SL_SPAN_INTERNAL);
    assert_non_null(s);
    assert_true(sl_span_is_recording(s));
    assert_int_equal(sl_span_set(s), SL_OK);
    assert_int_equal(sl_span_set(s, SL_STR("http.method", "GET"), SL_INT("n", 1)), SL_OK);
    assert_int_equal(sl_span_set(s, SL_NULL("bad")), SL_EINVAL);
    sl_span_end(s);

    /* A child of an unsampled parent does not record: no attribute argument
     * is evaluated. */
    sl_span_context parent;
    const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    assert_int_equal(sl_traceparent_parse(tp, sizeof tp - 1, &parent), SL_OK);
    sl_span *u = sl_span_start_with_parent("cpp.unsampled", SL_SPAN_INTERNAL, &parent);
    assert_non_null(u);
    assert_false(sl_span_is_recording(u));
    evaluated = 0;
    assert_int_equal(sl_span_set(u, SL_INT("late", count_evaluation(1))), SL_OK);
    assert_int_equal(evaluated, 0);
    sl_span_end(u);
}

void test_hpp_scopes(void **)
{
    capture c;
    capture_init(&c);
    sl_logger *lg = make_logger(&c, SL_LEVEL_INFO);
    {
        spanlog::span_scope outer("outer.op");
        assert_true(sl_span_is_recording(outer.get()));
        sl_info(lg, "inside");
        {
            spanlog::logger req = spanlog::logger::child(lg, {SL_STR("k", "v")});
            assert_non_null(req.get());
            sl_info(req.get(), "child inside");
        }
    }
    sl_info(lg, "outside");
    assert_int_equal(c.n, 3);
    json_t *a = capture_parse(&c, 0);
    json_t *b = capture_parse(&c, 1);
    json_t *o = capture_parse(&c, 2);
    assert_int_equal(std::strlen(get_str(a, "traceId")), 32);
    assert_string_equal(get_str(a, "traceId"), get_str(b, "traceId"));
    assert_string_equal(get_str(b, "k"), "v");
    assert_null(json_object_get(o, "traceId"));
    json_decref(a);
    json_decref(b);
    json_decref(o);
    sl_logger_free(lg);
    capture_clear(&c);
}

void test_hpp_context_scope_and_handle(void **)
{
    capture c;
    capture_init(&c);
    spanlog::logger lg(make_logger(&c, SL_LEVEL_INFO));
    spanlog::logger moved = std::move(lg);
    assert_null(lg.get());
    assert_true(static_cast<bool>(moved));
    sl_span_context ctx;
    const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert_int_equal(sl_traceparent_parse(tp, sizeof tp - 1, &ctx), SL_OK);
    {
        spanlog::context_scope scope(ctx);
        assert_true(scope.ok());
        sl_info(moved.get(), "in scope");
    }
    sl_info(moved.get(), "out of scope");
    assert_int_equal(c.n, 2);
    json_t *in = capture_parse(&c, 0);
    json_t *out = capture_parse(&c, 1);
    assert_string_equal(get_str(in, "traceId"), "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(get_str(in, "spanId"), "b7ad6b7169203331");
    assert_null(json_object_get(out, "traceId"));
    json_decref(in);
    json_decref(out);
    moved = spanlog::logger(); /* frees the logger, and the capture sink with it */
    assert_true(c.destroyed);
    capture_clear(&c);
}

/* Line i of c with the head's "time" value cut out. */
std::string without_time(const capture *c, size_t i)
{
    std::string l(c->lines[i].text, c->lines[i].len);
    size_t k = l.find("\"time\":\"");
    assert_true(k != std::string::npos);
    size_t v = k + std::strlen("\"time\":\"");
    size_t e = l.find('"', v);
    assert_true(e != std::string::npos);
    return l.substr(0, v) + l.substr(e);
}

/*
 * From C++ too, the macros' call-site path writes exactly what sl_log_write
 * writes: odd and head keys, an escaped literal message, more fields than
 * the site cache holds, the same site over and over.
 */
void test_site_path_same_bytes(void **)
{
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "cpp";
    sl_logger *plain = capture_logger(&o, &c); /* no caller: the src differs */
    for (int r = 0; r < 50; r++) {
        sl_info(plain, "say \"hi\"", SL_INT("n", r), SL_STR("msg", "forged"),
                SL_STR("a\"b", "x"), SL_DOUBLE("a_key_longer_than_twelve", r * 0.5),
                SL_BOOL("ok", r % 2 == 0), SL_UINT("u1", 1u), SL_UINT("u2", 2u),
                SL_UINT("u3", 3u), SL_UINT("u4", 4u), SL_STR("last", "v"));
        const sl_field f[] = {SL_INT("n", r),
                              SL_STR("msg", "forged"),
                              SL_STR("a\"b", "x"),
                              SL_DOUBLE("a_key_longer_than_twelve", r * 0.5),
                              SL_BOOL("ok", r % 2 == 0),
                              SL_UINT("u1", 1u),
                              SL_UINT("u2", 2u),
                              SL_UINT("u3", 3u),
                              SL_UINT("u4", 4u),
                              SL_STR("last", "v")};
        sl_log_write(plain, SL_LEVEL_INFO, nullptr, nullptr, "say \"hi\"", f, 10);
        assert_string_equal(without_time(&c, c.n - 2).c_str(),
                            without_time(&c, c.n - 1).c_str());
        json_t *j = capture_parse(&c, c.n - 2);
        assert_int_equal(get_int(j, "n"), r);
        assert_string_equal(get_str(j, "msg"), "say \"hi\"");
        assert_string_equal(get_str(j, SL_RESERVED_KEY_PREFIX "msg"), "forged");
        assert_string_equal(get_str(j, "a\"b"), "x");
        assert_string_equal(get_str(j, "last"), "v");
        json_decref(j);
    }
    sl_logger_free(plain);
    capture_clear(&c);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field_type),
        cmocka_unit_test(test_every_macro),
        cmocka_unit_test(test_level_gate_evaluates_nothing),
        cmocka_unit_test(test_child_macro),
        cmocka_unit_test(test_span_set),
        cmocka_unit_test(test_hpp_scopes),
        cmocka_unit_test(test_hpp_context_scope_and_handle),
        cmocka_unit_test(test_site_path_same_bytes),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
