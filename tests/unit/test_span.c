/* test_span.c - minimal spans: roots, children, explicit parents, what is
 * current before and after, and the correlation id of a span. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "internal.h"
#include "spanlog/trace.h"

#define TID "0af7651916cd43dd8448eb211c80319c"
#define SID "b7ad6b7169203331"

static void test_root(void **state)
{
    (void)state;
    assert_null(sl_context_current());
    sl_span *s = sl_span_start("root", SL_SPAN_SERVER);
    assert_non_null(s);
    const sl_span_context *c = sl_span_get_context(s);
    assert_true(sl_span_context_is_valid(c));
    assert_int_equal(c->flags, SL_TRACE_FLAG_SAMPLED | SL_TRACE_FLAG_RANDOM);
    assert_int_equal(c->remote, 0);
    assert_int_equal(c->tracestate_len, 0);
    assert_non_null(sl_context_current());
    assert_memory_equal(sl_context_current(), c, offsetof(sl_span_context, tracestate));
    assert_int_equal(sl_context_depth(), 1);
    sl_span_end(s);
    assert_null(sl_context_current());
    assert_int_equal(sl_context_depth(), 0);
}

static void test_child_of_current(void **state)
{
    (void)state;
    sl_span *root = sl_span_start("root", SL_SPAN_SERVER);
    sl_span_context rc = *sl_span_get_context(root);
    sl_span *child = sl_span_start("child", SL_SPAN_INTERNAL);
    const sl_span_context *cc = sl_span_get_context(child);
    assert_memory_equal(&cc->trace_id, &rc.trace_id, sizeof rc.trace_id);
    assert_memory_not_equal(&cc->span_id, &rc.span_id, sizeof rc.span_id);
    assert_int_equal(cc->flags, rc.flags);
    assert_memory_equal(&sl_context_current()->span_id, &cc->span_id, 8);
    sl_span *grand = sl_span_start("grandchild", SL_SPAN_CLIENT);
    assert_memory_equal(&sl_span_get_context(grand)->trace_id, &rc.trace_id, 16);
    assert_int_equal(sl_context_depth(), 3);
    sl_span_end(grand);
    assert_memory_equal(&sl_context_current()->span_id, &cc->span_id, 8);
    sl_span_end(child);
    assert_memory_equal(&sl_context_current()->span_id, &rc.span_id, 8);
    sl_span_end(root);
    assert_null(sl_context_current());
}

static void test_remote_parent(void **state)
{
    (void)state;
    sl_span_context parent;
    assert_int_equal(sl_traceparent_parse("00-" TID "-" SID "-00", 55, &parent), SL_OK);
    assert_int_equal(sl_tracestate_parse("rojo=00f067aa0ba902b7", 21, &parent), SL_OK);
    sl_span *s = sl_span_start_with_parent("server", SL_SPAN_SERVER, &parent);
    const sl_span_context *c = sl_span_get_context(s);
    char t[33], id[17];
    sl_trace_id_to_hex(c->trace_id, t);
    sl_span_id_to_hex(c->span_id, id);
    assert_string_equal(t, TID);
    assert_string_not_equal(id, SID);
    assert_int_equal(c->flags, 0); /* the parent's flags are kept */
    assert_int_equal(c->remote, 0);
    assert_string_equal(c->tracestate, "rojo=00f067aa0ba902b7");
    char corr[SL_CORRELATION_ID_LEN + 1];
    assert_int_equal(sl_correlation_id(sl__context_current(), corr), SL_OK);
    char expect[SL_CORRELATION_ID_LEN + 1];
    snprintf(expect, sizeof expect, "0af76519-%.8s", id);
    assert_string_equal(corr, expect);
    sl_span_end(s);
    assert_null(sl__context_current());
}

static void test_invalid_parent_is_root(void **state)
{
    (void)state;
    sl_span *outer = sl_span_start("outer", SL_SPAN_INTERNAL);
    sl_span_context empty = sl_span_context_empty();
    sl_span *s = sl_span_start_with_parent("new-root", SL_SPAN_INTERNAL, &empty);
    assert_memory_not_equal(&sl_span_get_context(s)->trace_id,
                            &sl_span_get_context(outer)->trace_id, 16);
    assert_int_equal(sl_span_get_context(s)->flags,
                     SL_TRACE_FLAG_SAMPLED | SL_TRACE_FLAG_RANDOM);
    sl_span *t = sl_span_start_with_parent("null-parent", SL_SPAN_INTERNAL, NULL);
    assert_memory_not_equal(&sl_span_get_context(t)->trace_id,
                            &sl_span_get_context(s)->trace_id, 16);
    sl_span_end(t);
    sl_span_end(s);
    sl_span_end(outer);
    assert_int_equal(sl_context_depth(), 0);
}

static void test_names_and_null(void **state)
{
    (void)state;
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    sl_span *a = sl_span_start(longname, SL_SPAN_PRODUCER);
    sl_span *b = sl_span_start(NULL, SL_SPAN_CONSUMER);
    assert_non_null(a);
    assert_non_null(b);
    sl_span_end(b);
    sl_span_end(a);
    sl_span_end(NULL);
    assert_null(sl_span_get_context(NULL));
    assert_int_equal(sl_context_depth(), 0);
}

static void test_many_recycled(void **state)
{
    (void)state;
    sl_span_id prev;
    memset(&prev, 0, sizeof prev);
    for (int i = 0; i < 1000; i++) {
        sl_span *s = sl_span_start("loop", SL_SPAN_INTERNAL);
        assert_memory_not_equal(&sl_span_get_context(s)->span_id, &prev, 8);
        prev = sl_span_get_context(s)->span_id;
        sl_span_end(s);
    }
    assert_int_equal(sl_context_depth(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_child_of_current),
        cmocka_unit_test(test_remote_parent),
        cmocka_unit_test(test_invalid_parent_is_root),
        cmocka_unit_test(test_names_and_null),
        cmocka_unit_test(test_many_recycled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
