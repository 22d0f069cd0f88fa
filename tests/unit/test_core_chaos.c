/*
 * test_core_chaos.c - every allocation the logger core makes fails in turn:
 * constructors return SL_ENOMEM and leave nothing behind (ASan checks), and
 * a record that cannot get a buffer is counted as dropped, never lost
 * silently. Each round runs on a fresh thread, so the thread's buffers are
 * allocated (and can fail) again.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spanlog/spanlog.h"

static long fail_at = -1; /* the index of the allocation to fail; -1: none */
static long seen;         /* allocations since the round began */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static bool should_fail(void)
{
    pthread_mutex_lock(&mu);
    bool f = seen++ == fail_at;
    pthread_mutex_unlock(&mu);
    return f;
}
static void *chaos_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n);
}
static void *chaos_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n);
}

typedef struct round_result {
    bool completed; /* every step succeeded */
    int failures;   /* steps that reported SL_ENOMEM / NULL */
} round_result;

enum { RECORDS = 4 };

static void *one_round(void *arg)
{
    round_result *res = arg;
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "chaos";
    sl_logger *lg = NULL;
    sl_status st = sl_logger_new(&o, &lg);
    if (st != SL_OK) {
        if (st != SL_ENOMEM || lg != NULL) {
            abort();
        }
        res->failures++;
        return NULL;
    }
    sl_sink *sink = NULL;
    st = sl_null_sink_new(&sink);
    if (st != SL_OK) {
        res->failures++;
        sl_logger_free(lg);
        return NULL;
    }
    sl_sink *probe = sink; /* owned by the logger from here on */
    st = sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE);
    if (st != SL_OK) {
        res->failures++;
        sl_logger_free(lg);
        return NULL;
    }
    sl_logger *child = sl_child(lg, SL_STR("k", "v"), SL_INT("n", 1));
    if (child == NULL) {
        res->failures++;
    }
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sl_info(lg, "one", SL_INT("i", 1));
    sl_infof(lg, "two %s", big);
    sl_info(child, "three"); /* a NULL child is a no-op */
    sl_warnf(lg, "four %d", 4);
    sl_sink_stats stats;
    sl_sink_get_stats(probe, &stats);
    /* Every record is accounted for: written or counted as dropped. */
    uint64_t want = child != NULL ? RECORDS : RECORDS - 1;
    if (stats.written + stats.dropped != want) {
        abort();
    }
    if (stats.dropped > 0) {
        res->failures++;
    }
    res->completed = child != NULL && stats.dropped == 0;
    sl_logger_free(child);
    sl_logger_free(lg);
    return NULL;
}

static void test_every_allocation_fails_in_turn(void **unused)
{
    (void)unused;
    int rounds = 0;
    for (long n = 0;; n++) {
        round_result res = {false, 0};
        pthread_mutex_lock(&mu);
        seen = 0;
        fail_at = n;
        pthread_mutex_unlock(&mu);
        pthread_t th;
        /* The thread itself may allocate through libc, not through the hook. */
        assert_int_equal(pthread_create(&th, NULL, one_round, &res), 0);
        pthread_join(th, NULL);
        rounds++;
        pthread_mutex_lock(&mu);
        long total = seen;
        pthread_mutex_unlock(&mu);
        if (n >= total) {
            /* Nothing failed this round: the whole scenario must have worked. */
            assert_true(res.completed);
            assert_int_equal(res.failures, 0);
            break;
        }
        assert_true(res.failures >= 1 || res.completed);
        assert_true(n < 1000);
    }
    assert_true(rounds > 5);
}

int main(void)
{
    const sl_allocator chaos = {chaos_malloc, chaos_realloc, free};
    if (sl_set_allocator(&chaos) != SL_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_in_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
