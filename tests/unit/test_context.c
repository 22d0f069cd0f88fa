/* test_context.c - the per-thread context stack: nesting, detach misuse,
 * tokens from other threads, the depth limit and hand-off between threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "internal.h"
#include "spanlog/trace.h"

static sl_span_context make_ctx(void)
{
    sl_span_context c = sl_span_context_empty();
    c.trace_id = sl_trace_id_random();
    c.span_id = sl_span_id_random();
    c.flags = SL_TRACE_FLAG_SAMPLED;
    return c;
}

static int same_ids(const sl_span_context *a, const sl_span_context *b)
{
    return a != NULL && b != NULL &&
           memcmp(&a->trace_id, &b->trace_id, sizeof a->trace_id) == 0 &&
           memcmp(&a->span_id, &b->span_id, sizeof a->span_id) == 0;
}

static void test_empty(void **state)
{
    (void)state;
    assert_null(sl_context_current());
    assert_null(sl__context_current());
    assert_int_equal(sl_context_depth(), 0);
    sl_context_token t = {12345};
    assert_int_equal(sl_context_detach(t), SL_ESTATE);
    assert_int_equal(sl_context_attach(NULL, &t), SL_EINVAL);
    assert_int_equal(t.id, 0);
    sl_span_context c = make_ctx();
    assert_int_equal(sl_context_attach(&c, NULL), SL_EINVAL);
    assert_int_equal(sl_context_depth(), 0);
}

static void test_nesting(void **state)
{
    (void)state;
    sl_span_context a = make_ctx(), b = make_ctx(), c = make_ctx();
    memcpy(b.tracestate, "k=v", 4);
    b.tracestate_len = 3;
    sl_context_token ta, tb, tc;
    assert_int_equal(sl_context_attach(&a, &ta), SL_OK);
    assert_true(same_ids(sl_context_current(), &a));
    assert_int_equal(sl_context_attach(&b, &tb), SL_OK);
    assert_true(same_ids(sl_context_current(), &b));
    assert_string_equal(sl_context_current()->tracestate, "k=v");
    assert_int_equal(sl_context_attach(&c, &tc), SL_OK);
    assert_int_equal(sl_context_depth(), 3);
    assert_ptr_equal(sl_context_current(), sl__context_current());
    assert_true(same_ids(sl__context_current(), &c));
    /* The stack holds a copy: changing the caller's struct changes nothing. */
    c.span_id = sl_span_id_random();
    assert_false(same_ids(sl_context_current(), &c));
    assert_int_equal(sl_context_detach(tc), SL_OK);
    assert_true(same_ids(sl_context_current(), &b));
    assert_int_equal(sl_context_detach(tb), SL_OK);
    assert_true(same_ids(sl_context_current(), &a));
    assert_int_equal(sl_context_detach(ta), SL_OK);
    assert_null(sl_context_current());
    assert_int_equal(sl_context_depth(), 0);
}

static void test_invalid_hides_outer(void **state)
{
    (void)state;
    sl_span_context a = make_ctx(), empty = sl_span_context_empty();
    sl_context_token ta, te;
    assert_int_equal(sl_context_attach(&a, &ta), SL_OK);
    assert_int_equal(sl_context_attach(&empty, &te), SL_OK);
    assert_null(sl_context_current());
    assert_null(sl__context_current());
    assert_int_equal(sl_context_depth(), 2);
    assert_int_equal(sl_context_detach(te), SL_OK);
    assert_true(same_ids(sl_context_current(), &a));
    assert_int_equal(sl_context_detach(ta), SL_OK);
}

static void test_out_of_order_and_double(void **state)
{
    (void)state;
    sl_span_context a = make_ctx(), b = make_ctx();
    sl_context_token ta, tb;
    assert_int_equal(sl_context_attach(&a, &ta), SL_OK);
    assert_int_equal(sl_context_attach(&b, &tb), SL_OK);
    assert_true(ta.id != tb.id);
    /* Out of order: refused, nothing changes. */
    assert_int_equal(sl_context_detach(ta), SL_ESTATE);
    assert_int_equal(sl_context_depth(), 2);
    assert_true(same_ids(sl_context_current(), &b));
    assert_int_equal(sl_context_detach(tb), SL_OK);
    /* Twice: refused. */
    assert_int_equal(sl_context_detach(tb), SL_ESTATE);
    assert_int_equal(sl_context_depth(), 1);
    assert_true(same_ids(sl_context_current(), &a));
    /* A stale token whose entry's slot is reused by a new attach. */
    sl_context_token tb2;
    assert_int_equal(sl_context_attach(&b, &tb2), SL_OK);
    assert_true(tb2.id != tb.id);
    assert_int_equal(sl_context_detach(tb), SL_ESTATE);
    assert_int_equal(sl_context_detach(tb2), SL_OK);
    assert_int_equal(sl_context_detach(ta), SL_OK);
    assert_int_equal(sl_context_depth(), 0);
    assert_int_equal(sl_context_detach(ta), SL_ESTATE);
}

static void test_depth_limit(void **state)
{
    (void)state;
    sl_span_context a = make_ctx();
    sl_context_token t[SL_CONTEXT_MAX_DEPTH];
    for (int i = 0; i < SL_CONTEXT_MAX_DEPTH; i++) {
        a.span_id.bytes[7] = (uint8_t)(i + 1);
        assert_int_equal(sl_context_attach(&a, &t[i]), SL_OK);
    }
    sl_context_token extra = {99};
    assert_int_equal(sl_context_attach(&a, &extra), SL_ERANGE);
    assert_int_equal(extra.id, 0);
    assert_int_equal(sl_context_detach(extra), SL_ESTATE);
    assert_int_equal(sl_context_depth(), SL_CONTEXT_MAX_DEPTH);
    assert_int_equal(sl_context_current()->span_id.bytes[7], SL_CONTEXT_MAX_DEPTH & 0xff);
    for (int i = SL_CONTEXT_MAX_DEPTH - 1; i >= 0; i--) {
        assert_int_equal(sl_context_current()->span_id.bytes[7], (uint8_t)(i + 1));
        assert_int_equal(sl_context_detach(t[i]), SL_OK);
    }
    assert_int_equal(sl_context_depth(), 0);
}

/* ---- threads ---------------------------------------------------------- */

typedef struct cross_arg {
    sl_context_token foreign; /* a token of the main thread */
    sl_status detach_foreign;
    size_t depth_before;
    sl_status own_detach_with_foreign;
    int own_still_current;
} cross_arg;

static void *cross_thread(void *p)
{
    cross_arg *a = p;
    a->depth_before = sl_context_depth();
    a->detach_foreign = sl_context_detach(a->foreign);
    /* Same depth (1) on this thread: the serial part still refuses it. */
    sl_span_context c = make_ctx();
    sl_context_token own;
    if (sl_context_attach(&c, &own) != SL_OK) {
        return NULL;
    }
    a->own_detach_with_foreign = sl_context_detach(a->foreign);
    a->own_still_current = same_ids(sl_context_current(), &c);
    (void)sl_context_detach(own);
    return NULL;
}

static void test_cross_thread_token(void **state)
{
    (void)state;
    sl_span_context c = make_ctx();
    cross_arg a;
    memset(&a, 0, sizeof a);
    assert_int_equal(sl_context_attach(&c, &a.foreign), SL_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cross_thread, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.depth_before, 0);
    assert_int_equal(a.detach_foreign, SL_ESTATE);
    assert_int_equal(a.own_detach_with_foreign, SL_ESTATE);
    assert_true(a.own_still_current);
    /* The main thread's stack is untouched. */
    assert_true(same_ids(sl_context_current(), &c));
    assert_int_equal(sl_context_detach(a.foreign), SL_OK);
}

typedef struct handoff {
    sl_span_context copy; /* filled by the main thread before the worker starts */
    int saw_before;       /* worker had a current context before attaching */
    int matched;
    int matched_internal;
    char corr[SL_CORRELATION_ID_LEN + 1];
    sl_status detach;
    int empty_after;
} handoff;

static void *handoff_worker(void *p)
{
    handoff *h = p;
    h->saw_before = sl_context_current() != NULL;
    sl_context_token t;
    if (sl_context_attach(&h->copy, &t) != SL_OK) {
        return NULL;
    }
    h->matched = same_ids(sl_context_current(), &h->copy) &&
                 strcmp(sl_context_current()->tracestate, h->copy.tracestate) == 0;
    h->matched_internal = sl__context_current() == sl_context_current();
    (void)sl_correlation_id(sl_context_current(), h->corr);
    h->detach = sl_context_detach(t);
    h->empty_after = sl_context_current() == NULL;
    return NULL;
}

static void test_handoff(void **state)
{
    (void)state;
    sl_span_context c = make_ctx();
    assert_int_equal(sl_tracestate_parse("congo=t61rcWkgMzE", 17, &c), SL_OK);
    sl_context_token t;
    assert_int_equal(sl_context_attach(&c, &t), SL_OK);
    enum { N = 4 };
    handoff h[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&h[i], 0, sizeof h[i]);
        h[i].copy = *sl_context_current(); /* copy in this thread */
        assert_int_equal(pthread_create(&th[i], NULL, handoff_worker, &h[i]), 0);
    }
    char corr[SL_CORRELATION_ID_LEN + 1];
    assert_int_equal(sl_correlation_id(&c, corr), SL_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_false(h[i].saw_before);
        assert_true(h[i].matched);
        assert_true(h[i].matched_internal);
        assert_string_equal(h[i].corr, corr);
        assert_int_equal(h[i].detach, SL_OK);
        assert_true(h[i].empty_after);
    }
    assert_int_equal(sl_context_detach(t), SL_OK);
}

static void *deep_and_exit(void *p)
{
    /* Leave entries attached: the thread-exit destructor frees the stack
     * (checked by ASan's leak detector in the sanitizer build). */
    sl_span_context c = make_ctx();
    sl_context_token t;
    for (int i = 0; i < 40; i++) {
        if (sl_context_attach(&c, &t) != SL_OK) {
            return p;
        }
    }
    return NULL;
}

static void test_thread_exit_frees(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        pthread_t th;
        void *ret = &ret;
        assert_int_equal(pthread_create(&th, NULL, deep_and_exit, NULL), 0);
        assert_int_equal(pthread_join(th, &ret), 0);
        assert_null(ret);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_invalid_hides_outer),
        cmocka_unit_test(test_out_of_order_and_double),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_cross_thread_token),
        cmocka_unit_test(test_handoff),
        cmocka_unit_test(test_thread_exit_frees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
