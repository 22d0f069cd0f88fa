/* test_trace_nomem.c - every allocation the tracing code makes, failed in
 * turn: each call reports SL_ENOMEM (or degrades as documented) and leaves
 * the context stack consistent; nothing crashes, nothing leaks (ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "spanlog/propagation.h"
#include "spanlog/span.h"

static long fail_at = -1; /* index of the allocation that fails; -1: none */
static long calls;

static int should_fail(void)
{
    return fail_at >= 0 && calls++ == fail_at;
}

static void *f_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n);
}

static void *f_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n);
}

static void arm(long at)
{
    calls = 0;
    fail_at = at;
}

/* Runs `work` with allocation k failing, for every k until one run sees no
 * failure; returns how many runs that took. */
typedef int (*work_fn)(void); /* returns 1 when it met a failure */

static long sweep(work_fn work)
{
    for (long k = 0; k < 10000; k++) {
        arm(k);
        int failed = work();
        long made = calls;
        arm(-1);
        if (!failed && made <= k) {
            return k; /* allocation k was never reached: all covered */
        }
    }
    fail_msg("allocation sweep did not finish");
    return -1;
}

static int baggage_work(void)
{
    sl_baggage *b = NULL;
    sl_status st = sl_baggage_parse("a=1,b=%20x;p=1,c=3", 18, &b, NULL);
    assert_true(st == SL_OK || st == SL_ENOMEM);
    assert_true(st == SL_OK ? sl_baggage_count(b) == 3 : b == NULL);
    sl_baggage *c = NULL;
    sl_status st2 = sl_baggage_set(b, "k", "v", "x=1", &c);
    assert_true(st2 == SL_OK || st2 == SL_ENOMEM);
    sl_baggage *d = NULL;
    sl_status st3 = sl_baggage_remove(c, "a", &d);
    assert_true(st3 == SL_OK || st3 == SL_ENOMEM);
    sl_baggage_free(b);
    sl_baggage_free(c);
    sl_baggage_free(d);
    return st != SL_OK || st2 != SL_OK || st3 != SL_OK;
}

static void test_baggage(void **state)
{
    (void)state;
    assert_true(sweep(baggage_work) > 0);
}

/* In a fresh thread, so the context stack and span cache are allocated. */
static void *span_thread(void *p)
{
    int *failed = p;
    char longname[400];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    sl_span *outer = sl_span_start(longname, SL_SPAN_SERVER);
    if (outer == NULL) {
        *failed = 1;
        if (sl_context_depth() != 0) {
            *failed = 99;
        }
        return NULL;
    }
    sl_status st = sl_span_set(outer, SL_STR("k", "v"), SL_INT("n", 1));
    sl_status ev = sl_span_add_event(outer, "e", (const sl_field[]){SL_STR("x", "y")}, 1);
    sl_status es = sl_span_set_status(outer, SL_SPAN_STATUS_ERROR, "bad");
    if (st != SL_OK || ev != SL_OK || es != SL_OK) {
        *failed = 1;
    }
    size_t depth = sl_context_depth();
    sl_span *inner = sl_span_start("inner", SL_SPAN_INTERNAL);
    if (inner == NULL || sl_context_depth() != depth + 1) {
        *failed = 1;
    }
    sl_span_end(inner);
    if (sl_context_depth() != depth) {
        *failed = 99;
    }
    sl_span_end(outer);
    if (sl_context_depth() != 0) {
        *failed = 99;
    }
    return NULL;
}

static int span_work(void)
{
    int failed = 0;
    pthread_t th;
    arm(fail_at); /* keep counting from 0 for the thread's allocations */
    if (pthread_create(&th, NULL, span_thread, &failed) != 0) {
        return 1;
    }
    pthread_join(th, NULL);
    assert_int_not_equal(failed, 99);
    return failed;
}

static void test_spans(void **state)
{
    (void)state;
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1};
    sl_sampler_set(&on);
    assert_true(sweep(span_work) > 0);
}

static const char *get_hdr(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "traceparent") == 0) {
        return "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    }
    if (strcmp(name, "tracestate") == 0) {
        return "rojo=00f067aa0ba902b7";
    }
    return strcmp(name, "baggage") == 0 ? "k=v,tenantId=acme" : NULL;
}

static int set_hdr(void *ctx, const char *name, const char *value)
{
    (void)name;
    (void)value;
    (*(int *)ctx)++;
    return 0;
}

static int extract_work(void)
{
    int sets = 0;
    sl_carrier c = {.ctx = &sets, .get = get_hdr, .set = set_hdr};
    sl_span_context p;
    sl_baggage *b = NULL;
    sl_status st = sl_extract(&c, &p, &b);
    assert_true(st == SL_OK || st == SL_ENOMEM);
    if (st == SL_OK) {
        assert_true(sl_span_context_is_valid(&p));
        assert_int_equal(sl_baggage_count(b), 2);
    }
    assert_int_equal(sl_inject(&c, &p, b), SL_OK);
    sl_baggage_free(b);
    return st != SL_OK || p.tracestate_len == 0;
}

static void test_extract(void **state)
{
    (void)state;
    assert_true(sweep(extract_work) > 0);
}

int main(void)
{
    sl_allocator a = {f_malloc, f_realloc, free};
    if (sl_set_allocator(&a) != SL_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baggage),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
