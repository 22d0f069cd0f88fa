/* test_sampler.c - the OpenTelemetry samplers: fixed trace ids against the
 * threshold rule, parent-based decisions, parsing and the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spanlog/span.h"

/* A trace id whose bytes 8..15 are `low` (big-endian) and 0..7 `high`. */
static sl_trace_id tid(uint64_t high, uint64_t low)
{
    sl_trace_id t;
    for (int i = 7; i >= 0; i--) {
        t.bytes[i] = (uint8_t)high;
        t.bytes[8 + i] = (uint8_t)low;
        high >>= 8;
        low >>= 8;
    }
    return t;
}

static int ratio(double r, sl_trace_id t)
{
    sl_sampler s = {SL_SAMPLER_TRACEIDRATIO, r};
    return sl_sampler_should_sample(&s, NULL, t);
}

static void test_ratio_threshold(void **state)
{
    (void)state;
    /* ratio 0.5: T = 2^56 - 2^55 = 0x80000000000000. */
    assert_true(ratio(0.5, tid(1, 0x0080000000000000ull)));
    assert_false(ratio(0.5, tid(1, 0x007fffffffffffffull)));
    /* Byte 8 is not part of the randomness: it never changes the answer. */
    assert_false(ratio(0.5, tid(1, 0xff7fffffffffffffull)));
    assert_true(ratio(0.5, tid(0, 0x00ffffffffffffffull)));
    /* ratio 0.25: T = 0xC0000000000000. */
    assert_true(ratio(0.25, tid(7, 0x00c0000000000000ull)));
    assert_false(ratio(0.25, tid(7, 0x00bfffffffffffffull)));
    /* ratio 0.1: T = 2^56 - round(0.1 * 2^56) = 0xe6666666666666. */
    assert_true(ratio(0.1, tid(7, 0x00e6666666666666ull)));
    assert_false(ratio(0.1, tid(7, 0x00e6666666666665ull)));
    /* 1 samples everything, 0 nothing. */
    assert_true(ratio(1.0, tid(1, 0)));
    assert_false(ratio(0.0, tid(1, 0x00ffffffffffffffull)));
    assert_false(ratio(-3, tid(1, 0x00ffffffffffffffull)));
    assert_true(ratio(7, tid(1, 0)));
}

static void test_ratio_statistics(void **state)
{
    (void)state;
    int hits = 0;
    for (int i = 0; i < 20000; i++) {
        hits += ratio(0.3, sl_trace_id_random());
    }
    /* Expect 6000; 5 sigma is ~324. */
    assert_in_range(hits, 5650, 6350);
}

static void test_always(void **state)
{
    (void)state;
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 0}, off = {SL_SAMPLER_ALWAYS_OFF, 1};
    sl_span_context parent = sl_span_context_empty();
    parent.trace_id = tid(1, 1);
    parent.span_id.bytes[0] = 1;
    for (int i = 0; i < 100; i++) {
        sl_trace_id t = sl_trace_id_random();
        assert_true(sl_sampler_should_sample(&on, NULL, t));
        assert_false(sl_sampler_should_sample(&off, NULL, t));
        /* Non parent-based samplers ignore the parent's flag. */
        parent.flags = 0;
        assert_true(sl_sampler_should_sample(&on, &parent, t));
        parent.flags = 1;
        assert_false(sl_sampler_should_sample(&off, &parent, t));
    }
}

static void test_parentbased(void **state)
{
    (void)state;
    sl_span_context p = sl_span_context_empty();
    p.trace_id = tid(5, 0x0000000000000001ull); /* a low randomness */
    p.span_id.bytes[7] = 9;
    sl_sampler kinds[] = {{SL_SAMPLER_PARENTBASED_ALWAYS_ON, 1},
                          {SL_SAMPLER_PARENTBASED_ALWAYS_OFF, 1},
                          {SL_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5}};
    for (size_t k = 0; k < 3; k++) {
        for (int remote = 0; remote < 2; remote++) {
            p.remote = (uint8_t)remote;
            p.flags = SL_TRACE_FLAG_SAMPLED;
            assert_true(sl_sampler_should_sample(&kinds[k], &p, p.trace_id));
            p.flags = SL_TRACE_FLAG_RANDOM;
            assert_false(sl_sampler_should_sample(&kinds[k], &p, p.trace_id));
        }
    }
    /* Roots ask the root sampler. */
    sl_span_context empty = sl_span_context_empty();
    assert_true(sl_sampler_should_sample(&kinds[0], NULL, tid(0, 0)));
    assert_true(sl_sampler_should_sample(&kinds[0], &empty, tid(0, 0)));
    assert_false(
        sl_sampler_should_sample(&kinds[1], NULL, tid(0, 0x00ffffffffffffffull)));
    assert_true(sl_sampler_should_sample(&kinds[2], NULL, tid(0, 0x00ffffffffffffffull)));
    assert_false(
        sl_sampler_should_sample(&kinds[2], NULL, tid(0, 0x0000ffffffffffffull)));
    /* NULL sampler: the default, parentbased_always_on. */
    p.flags = 0;
    assert_false(sl_sampler_should_sample(NULL, &p, p.trace_id));
    assert_true(sl_sampler_should_sample(NULL, NULL, p.trace_id));
}

static void test_parse(void **state)
{
    (void)state;
    sl_sampler s;
    assert_int_equal(sl_sampler_parse("always_on", NULL, &s), SL_OK);
    assert_int_equal(s.kind, SL_SAMPLER_ALWAYS_ON);
    assert_int_equal(sl_sampler_parse(" AlWaYs_OfF\t", "", &s), SL_OK);
    assert_int_equal(s.kind, SL_SAMPLER_ALWAYS_OFF);
    assert_int_equal(sl_sampler_parse("traceidratio", "0.25", &s), SL_OK);
    assert_int_equal(s.kind, SL_SAMPLER_TRACEIDRATIO);
    assert_true(s.ratio == 0.25);
    assert_int_equal(sl_sampler_parse("parentbased_traceidratio", " 1e-1 ", &s), SL_OK);
    assert_int_equal(s.kind, SL_SAMPLER_PARENTBASED_TRACEIDRATIO);
    assert_true(s.ratio == 0.1);
    assert_int_equal(sl_sampler_parse("parentbased_always_off", NULL, &s), SL_OK);
    assert_int_equal(s.kind, SL_SAMPLER_PARENTBASED_ALWAYS_OFF);
    assert_int_equal(sl_sampler_parse("parentbased_always_on", NULL, &s), SL_OK);
    assert_int_equal(s.kind, SL_SAMPLER_PARENTBASED_ALWAYS_ON);
    /* Bad ratios: the named kind with ratio 1. */
    static const char *const bad[] = {"2", "-0.1", "abc", "0.5x", "nan", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sl_sampler_parse("traceidratio", bad[i], &s), SL_EPARSE);
        assert_int_equal(s.kind, SL_SAMPLER_TRACEIDRATIO);
        assert_true(s.ratio == 1.0);
    }
    /* Unknown names: parentbased_always_on. */
    assert_int_equal(sl_sampler_parse("jaeger_remote", NULL, &s), SL_EPARSE);
    assert_int_equal(s.kind, SL_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_int_equal(sl_sampler_parse("", NULL, &s), SL_EPARSE);
    assert_int_equal(sl_sampler_parse(NULL, NULL, &s), SL_EINVAL);
    assert_int_equal(sl_sampler_parse("always_on", NULL, NULL), SL_EINVAL);
}

static void test_env_and_global(void **state)
{
    (void)state;
    /* Before anything is set, the first span reads the environment. */
    assert_int_equal(setenv("OTEL_TRACES_SAMPLER", "always_off", 1), 0);
    sl_span *s = sl_span_start("env", SL_SPAN_INTERNAL);
    assert_false(sl_span_is_recording(s));
    assert_int_equal(sl_span_get_context(s)->flags, SL_TRACE_FLAG_RANDOM);
    sl_span_end(s);
    assert_int_equal(sl_sampler_get().kind, SL_SAMPLER_ALWAYS_OFF);

    assert_int_equal(setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1), 0);
    assert_int_equal(setenv("OTEL_TRACES_SAMPLER_ARG", "0.125", 1), 0);
    assert_int_equal(sl_sampler_from_env(), SL_OK);
    sl_sampler g = sl_sampler_get();
    assert_int_equal(g.kind, SL_SAMPLER_PARENTBASED_TRACEIDRATIO);
    assert_true(g.ratio == 0.125);

    assert_int_equal(setenv("OTEL_TRACES_SAMPLER", "bogus", 1), 0);
    assert_int_equal(sl_sampler_from_env(), SL_EPARSE);
    assert_int_equal(sl_sampler_get().kind, SL_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_int_equal(unsetenv("OTEL_TRACES_SAMPLER"), 0);
    assert_int_equal(sl_sampler_from_env(), SL_OK);
    assert_int_equal(sl_sampler_get().kind, SL_SAMPLER_PARENTBASED_ALWAYS_ON);

    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1};
    assert_int_equal(sl_sampler_set(&on), SL_OK);
    assert_int_equal(sl_sampler_get().kind, SL_SAMPLER_ALWAYS_ON);
    sl_sampler bad = {(sl_sampler_kind)42, 1};
    assert_int_equal(sl_sampler_set(&bad), SL_EINVAL);
    assert_int_equal(sl_sampler_set(NULL), SL_EINVAL);
    assert_int_equal(sl_sampler_get().kind, SL_SAMPLER_ALWAYS_ON);
}

static void test_global_ratio_spans(void **state)
{
    (void)state;
    sl_sampler r = {SL_SAMPLER_TRACEIDRATIO, 0.5};
    assert_int_equal(sl_sampler_set(&r), SL_OK);
    for (int i = 0; i < 200; i++) {
        sl_span *s = sl_span_start("r", SL_SPAN_INTERNAL);
        const sl_span_context *c = sl_span_get_context(s);
        int expect = sl_sampler_should_sample(&r, NULL, c->trace_id);
        assert_int_equal(sl_span_is_recording(s), expect);
        assert_int_equal((c->flags & SL_TRACE_FLAG_SAMPLED) != 0, expect);
        assert_true(c->flags & SL_TRACE_FLAG_RANDOM);
        sl_span_end(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* Runs first: it checks the environment default before any set. */
        cmocka_unit_test(test_env_and_global),     cmocka_unit_test(test_ratio_threshold),
        cmocka_unit_test(test_ratio_statistics),   cmocka_unit_test(test_always),
        cmocka_unit_test(test_parentbased),        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_global_ratio_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
