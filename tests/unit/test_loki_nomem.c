/*
 * test_loki_nomem.c - the Loki sink when allocations fail: the constructor
 * is run with its k-th allocation failing, for every k, and must return
 * SL_ENOMEM (or succeed) without crashing or leaking (ASan checks the
 * latter); a sink whose worker meets failing allocations still accounts for
 * every record and closes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/loki/loki_internal.h"
#include "core.h"

static atomic_long countdown; /* fail when it reaches 0; negative: never */
static atomic_long failures;

static bool should_fail(void)
{
    long v = atomic_load(&countdown);
    while (v >= 0) {
        if (atomic_compare_exchange_weak(&countdown, &v, v - 1)) {
            if (v == 0) {
                atomic_fetch_add(&failures, 1);
                return true;
            }
            return false;
        }
    }
    return false;
}

static void *f_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n);
}

static void *f_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n);
}

static const sl_allocator failing = {f_malloc, f_realloc, free};

static void test_constructor_each_allocation(void **state)
{
    (void)state;
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = "http://127.0.0.1:9";
    o.labels_text = "env=prod,team=core";
    o.queue_bytes = 64 << 10;
    o.line_limit = 4096;
    int ok = 0, nomem = 0;
    for (long k = 0; k < 200; k++) {
        atomic_store(&failures, 0);
        atomic_store(&countdown, k);
        sl_sink *s = NULL;
        sl_error err;
        sl_error_init(&err);
        sl_status st = sl_loki_sink_new(&o, &s, &err);
        /* Stop failing before teardown: the worker may still allocate. */
        atomic_store(&countdown, -1);
        if (st == SL_OK) {
            assert_non_null(s);
            sl_sink_free(s, 0);
            ok++;
            if (atomic_load(&failures) == 0) {
                break; /* k is past the constructor's last allocation */
            }
        } else {
            assert_int_equal(st, SL_ENOMEM);
            assert_null(s);
            nomem++;
        }
    }
    assert_true(nomem >= 5);
    assert_true(ok >= 1);
}

static void test_worker_under_failures(void **state)
{
    (void)state;
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = "http://127.0.0.1:9"; /* nothing listens: records stay pending */
    o.backoff_min_ms = 5;
    o.backoff_max_ms = 20;
    o.batch_age_ms = 5;
    sl_sink *s = NULL;
    assert_int_equal(sl_loki_sink_new(&o, &s, NULL), SL_OK);
    char line[128];
    for (long k = 0; k < 40; k++) {
        /* Every few allocations fail while records are written and batched. */
        atomic_store(&countdown, k % 4);
        int n = snprintf(line, sizeof(line), "{\"msg\":\"r\",\"k\":%ld}\n", k);
        sl_record rec = {
            .level = SL_LEVEL_INFO, .time_ns = sl__now_ns(), .msg = "r", .msg_len = 1};
        sl__sink_write(s, &rec, line, (size_t)n);
    }
    atomic_store(&countdown, -1);
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(s, &st), SL_OK);
    assert_int_equal(st.queued_records + st.dropped_queue_full, 40);
    assert_int_equal(st.sent_records + st.pending_records + st.dropped_rejected +
                         st.dropped_retries_exhausted + st.dropped_closed,
                     st.queued_records);
    sl_sink_free(s, 0);
}

int main(void)
{
    /* Installed once, before any thread exists (the hook is not thread-safe);
     * the countdown, an atomic, decides which allocation fails. */
    atomic_store(&countdown, -1);
    if (sl_set_allocator(&failing) != SL_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constructor_each_allocation),
        cmocka_unit_test(test_worker_under_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
