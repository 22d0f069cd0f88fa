/*
 * test_span_handles.c - stale and double span ends (span.h, "misuse"): a
 * span handle carries a generation, so an end with a stale handle is a
 * recognised no-op that touches no other span, even after the starting
 * thread exited (its spans used to be freed then: a use-after-free under
 * ASan) or after the object was reused (the stale end used to end the new,
 * live span).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spanlog/spanlog.h"

static int ended;
static void on_end(const sl_span_data *d, void *user)
{
    (void)d;
    (void)user;
    __atomic_fetch_add(&ended, 1, __ATOMIC_RELAXED);
}

static void *start_and_end(void *arg)
{
    sl_span **out = arg;
    *out = sl_span_start("on a thread that exits", SL_SPAN_INTERNAL);
    sl_span_end(*out);
    return NULL;
}

static void test_end_after_thread_exit(void **unused)
{
    (void)unused;
    sl_span *s = NULL;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, start_and_end, &s), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_non_null(s);
    int before = __atomic_load_n(&ended, __ATOMIC_RELAXED);
    uint64_t doubles = sl_span_double_end_count();
    sl_span_end(s); /* the thread and its span cache are gone */
    assert_int_equal(sl_span_double_end_count(), doubles + 1);
    assert_int_equal(__atomic_load_n(&ended, __ATOMIC_RELAXED), before);
    assert_null(sl_span_get_context(s));
    assert_false(sl_span_is_recording(s));
}

#define LIVE 40

static void test_stale_end_touches_no_live_span(void **unused)
{
    (void)unused;
    /* Every reuse distance, the quarantine's edge (16, 17) included. */
    for (int newer = 0; newer < LIVE; newer++) {
        sl_span *old = sl_span_start("old", SL_SPAN_INTERNAL);
        assert_non_null(old);
        sl_span_end(old);
        sl_span *live[LIVE];
        sl_span_context ctx[LIVE];
        for (int i = 0; i < newer; i++) {
            live[i] = sl_span_start("new", SL_SPAN_INTERNAL);
            assert_non_null(live[i]);
            ctx[i] = *sl_span_get_context(live[i]);
            /* end them at once, except the last: its object may be old's */
            if (i + 1 < newer) {
                sl_span_end(live[i]);
            }
        }
        int before = __atomic_load_n(&ended, __ATOMIC_RELAXED);
        uint64_t doubles = sl_span_double_end_count();
        sl_span_end(old);
        assert_int_equal(sl_span_double_end_count(), doubles + 1);
        assert_int_equal(__atomic_load_n(&ended, __ATOMIC_RELAXED), before);
        assert_false(sl_span_is_recording(old));
        assert_int_equal(sl_span_set_attributes(old, &SL_INT("x", 1), 1), SL_OK);
        if (newer > 0) {
            sl_span *last = live[newer - 1];
            assert_true(sl_span_is_recording(last));
            assert_memory_equal(&sl_span_get_context(last)->span_id,
                                &ctx[newer - 1].span_id, sizeof(sl_span_id));
            /* still current: the stale end popped nothing */
            assert_memory_equal(&sl_context_current()->span_id, &ctx[newer - 1].span_id,
                                sizeof(sl_span_id));
            sl_span_end(last);
            assert_int_equal(__atomic_load_n(&ended, __ATOMIC_RELAXED), before + 1);
        }
        assert_false(sl_span_context_is_valid(sl_context_current()));
    }
}

/* Threads start, end and exit while the main thread ends stale handles. */
#define THREADS 4
#define ROUNDS  200

static sl_span *shared[THREADS][ROUNDS];

static void *churn(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        sl_span *s = sl_span_start("churn", SL_SPAN_INTERNAL);
        __atomic_store_n(&shared[t][r], s, __ATOMIC_RELEASE);
        sl_span_end(s);
    }
    return NULL;
}

static void test_stale_ends_across_exiting_threads(void **unused)
{
    (void)unused;
    for (int round = 0; round < 3; round++) {
        memset(shared, 0, sizeof shared);
        pthread_t t[THREADS];
        for (size_t i = 0; i < THREADS; i++) {
            assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i), 0);
        }
        uint64_t doubles = sl_span_double_end_count();
        int stale = 0;
        for (int r = 0; r < ROUNDS; r++) {
            for (size_t i = 0; i < THREADS; i++) {
                sl_span *s = __atomic_load_n(&shared[i][r], __ATOMIC_ACQUIRE);
                if (s != NULL) {
                    /* Ended already, or racing with its own end: either way
                     * at most one of the two ends counts. */
                    sl_span_end(s);
                    stale++;
                }
            }
        }
        for (size_t i = 0; i < THREADS; i++) {
            assert_int_equal(pthread_join(t[i], NULL), 0);
        }
        assert_int_equal(sl_span_double_end_count(), doubles + (uint64_t)stale);
        /* After the threads exited: every handle is stale. */
        doubles = sl_span_double_end_count();
        for (int r = 0; r < ROUNDS; r++) {
            for (size_t i = 0; i < THREADS; i++) {
                sl_span_end(shared[i][r]);
            }
        }
        assert_int_equal(sl_span_double_end_count(), doubles + THREADS * ROUNDS);
    }
}

static void test_handles_never_given_out(void **unused)
{
    (void)unused;
    uint64_t doubles = sl_span_double_end_count();
    sl_span_end((sl_span *)(uintptr_t)0x12345678u); /* index far past any slot */
    sl_span_end((sl_span *)(uintptr_t)1u);          /* generation 0: never live */
    assert_int_equal(sl_span_double_end_count(), doubles + 2);
    assert_null(sl_span_get_context((sl_span *)(uintptr_t)1u));
}

static int setup(void **state)
{
    (void)state;
    sl_sampler so = {.kind = SL_SAMPLER_ALWAYS_ON, .ratio = 1.0};
    if (sl_sampler_set(&so) != SL_OK) {
        return -1;
    }
    return sl_span_processor_add(on_end, NULL) == SL_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_after_thread_exit),
        cmocka_unit_test(test_stale_end_touches_no_live_span),
        cmocka_unit_test(test_stale_ends_across_exiting_threads),
        cmocka_unit_test(test_handles_never_given_out),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
