/*
 * test_level_threads.c - levels set on a parent while other threads make,
 * use and free children (run under TSan: the record path reads the level
 * with one relaxed load, the tree is changed under its lock).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanlog/spanlog.h"

#define WORKERS 2
#define ROUNDS  2000

static sl_logger *root;
static int stop;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        sl_logger *req = sl_child(root, SL_INT("i", i));
        sl_logger *sub = sl_child(req);
        sl_debug(sub, "maybe");
        if (i % 3 == 0) {
            sl_logger_set_level(req, SL_LEVEL_INFO);
        }
        sl_logger_free(i % 2 ? req : sub);
        sl_logger_free(i % 2 ? sub : req);
    }
    return NULL;
}

static void *toggler(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        sl_logger_set_level(root, SL_LEVEL_DEBUG);
        sl_logger_set_level(root, SL_LEVEL_WARN);
    }
    return NULL;
}

static void test_set_level_while_children_come_and_go(void **unused)
{
    (void)unused;
    sl_sink *null = NULL;
    assert_int_equal(sl_logger_new(NULL, &root), SL_OK);
    assert_int_equal(sl_null_sink_new(&null), SL_OK);
    assert_int_equal(sl_logger_add_sink(root, null, SL_LEVEL_TRACE), SL_OK);
    pthread_t w[WORKERS], t;
    assert_int_equal(pthread_create(&t, NULL, toggler, NULL), 0);
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(pthread_create(&w[i], NULL, worker, NULL), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(w[i], NULL);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    /* A child made now still follows the root. */
    sl_logger *kid = sl_child(root);
    sl_logger_set_level(root, SL_LEVEL_ERROR);
    assert_int_equal(sl_logger_get_level(kid), SL_LEVEL_ERROR);
    sl_logger_stats st;
    sl_logger_stats_init(&st);
    assert_int_equal(sl_logger_get_stats(root, &st), SL_OK);
    assert_int_equal(st.child_failures, 0);
    sl_logger_free(kid);
    sl_logger_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_level_while_children_come_and_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
