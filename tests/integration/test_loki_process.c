/*
 * test_loki_process.c - the Loki sink across process lifetimes: a process
 * that exits (or frees its logger) with records still queued delivers them
 * within the close/exit timeout; a forked child logs and its records arrive,
 * while the parent's queued records are sent once, by the parent; forks
 * taken while another thread logs never deadlock.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/loki_harness.h"

/*
 * The fork tests fork while other threads run (the sink's worker, a logging
 * thread). Sanitizer runtimes cannot survive that: ASan's allocator lock may
 * be held by another thread at fork() (the child then hangs in malloc), and
 * TSan refuses to start threads after a multi-threaded fork. glibc's malloc
 * is fork-safe, so these run in the plain build only.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LK_SANITIZED 1
#endif
#endif
#ifndef LK_SANITIZED
#define LK_SANITIZED 0
#endif

static void skip_if_sanitized(void)
{
    if (LK_SANITIZED) {
        fprintf(stderr, "skipped: multi-threaded fork under a sanitizer runtime\n");
        skip();
    }
}

static sl_logger *make_logger(int batch_age_ms, sl_sink **loki)
{
    sl_loki_options o;
    lk_options(&LK, &o);
    o.batch_age_ms = batch_age_ms;
    return lk_logger(&o, "proc", NULL, loki);
}

/* Waits for a child with a deadline; returns its exit status (or -1). */
static int wait_child(pid_t pid, int timeout_ms)
{
    int64_t deadline = lk_now_ms() + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        if (lk_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -2;
        }
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Counts records per message, checking each (msg, i) arrives once. */
static int count_msg(json_t *snap, const char *msg, int n)
{
    char *seen = calloc((size_t)n, 1);
    int count = 0;
    json_t *streams = json_object_get(snap, "streams");
    for (size_t s = 0; s < json_array_size(streams); s++) {
        json_t *ents = json_object_get(json_array_get(streams, s), "entries");
        for (size_t k = 0; k < json_array_size(ents); k++) {
            json_t *rec = json_loads(
                json_string_value(json_object_get(json_array_get(ents, k), "line")), 0,
                NULL);
            assert_non_null(rec);
            if (!strcmp(json_string_value(json_object_get(rec, "msg")), msg)) {
                json_int_t i = json_integer_value(json_object_get(rec, "i"));
                assert_true(i >= 0 && i < n);
                assert_int_equal(seen[i], 0);
                seen[i] = 1;
                count++;
            }
            json_decref(rec);
        }
    }
    free(seen);
    return count;
}

/* ---- exit with records pending ---------------------------------------------- */

static void exit_with_pending(bool free_logger)
{
    const char *msg = free_logger ? "freed with pending" : "exited with pending";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A batch age of a minute: nothing leaves before close / exit. */
        sl_sink *loki = NULL;
        sl_logger *lg = make_logger(60000, &loki);
        if (lg == NULL) {
            _exit(2);
        }
        for (int i = 0; i < 300; i++) {
            sl_info(lg, msg, SL_INT("i", i));
        }
        sl_loki_stats st;
        sl_loki_get_stats(loki, &st);
        if (st.pending_records != 300) {
            _exit(3);
        }
        if (free_logger) {
            sl_logger_free(lg); /* closes the sink: drains within its timeout */
            _exit(0);
        }
        exit(0); /* the logger's at-exit flush delivers them */
    }
    int64_t t0 = lk_now_ms();
    assert_int_equal(wait_child(pid, 20000), 0);
    /* Delivered by the time the child was gone, within the 2 s bound. */
    assert_true(lk_now_ms() - t0 < 10000);
    json_t *snap = lk_entries(&LK);
    assert_int_equal(count_msg(snap, msg, 300), 300);
    json_decref(snap);
}

static void test_exit_pending_close(void **state)
{
    (void)state;
    exit_with_pending(true);
}

static void test_exit_pending_atexit(void **state)
{
    (void)state;
    exit_with_pending(false);
}

/* ---- fork ------------------------------------------------------------------- */

static void test_fork_child_logs(void **state)
{
    (void)state;
    skip_if_sanitized();
    sl_sink *loki = NULL;
    sl_logger *lg = make_logger(60000, &loki);
    assert_non_null(lg);
    /* Queued in the parent at the moment of fork(): the parent's to send. */
    for (int i = 0; i < 50; i++) {
        sl_info(lg, "parent before fork", SL_INT("i", i));
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sl_loki_stats st;
        sl_loki_get_stats(loki, &st);
        if (st.pending_records != 0 || st.queued_records != 0) {
            _exit(4); /* the parent's records are not the child's */
        }
        for (int i = 0; i < 40; i++) {
            sl_info(lg, "child", SL_INT("i", i));
        }
        sl_status fs = sl_logger_flush(lg, 10000);
        sl_loki_get_stats(loki, &st);
        if (fs != SL_OK || st.sent_records != 40) {
            fprintf(stderr,
                    "child: flush %s, sent %llu pending %llu requests %llu error %s\n",
                    sl_strerror(fs), (unsigned long long)st.sent_records,
                    (unsigned long long)st.pending_records,
                    (unsigned long long)st.requests, st.last_error);
        }
        _exit(fs == SL_OK && st.sent_records == 40 ? 0 : 5);
    }
    for (int i = 0; i < 50; i++) {
        sl_info(lg, "parent after fork", SL_INT("i", i));
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    assert_int_equal(wait_child(pid, 20000), 0);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.sent_records, 100);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, 140, 5000);
    assert_int_equal(lk_count(snap), 140);
    assert_int_equal(count_msg(snap, "parent before fork", 50), 50);
    assert_int_equal(count_msg(snap, "parent after fork", 50), 50);
    assert_int_equal(count_msg(snap, "child", 40), 40);
    json_decref(snap);
}

typedef struct bg {
    sl_logger *lg;
    volatile int stop;
    int n;
} bg;

static void *bg_main(void *p)
{
    bg *b = p;
    while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
        sl_info(b->lg, "background", SL_INT("i", b->n));
        b->n++;
        if (b->n % 64 == 0) {
            sched_yield();
        }
        if (b->n >= 100000) {
            break;
        }
    }
    return NULL;
}

static void test_fork_while_logging(void **state)
{
    (void)state;
    skip_if_sanitized();
    sl_sink *loki = NULL;
    sl_logger *lg = make_logger(5, &loki); /* the worker is busy pushing */
    assert_non_null(lg);
    bg b = {.lg = lg};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_main, &b), 0);
    enum { KIDS = 5 };
    char name[8];
    for (int k = 0; k < KIDS; k++) {
        snprintf(name, sizeof(name), "kid%d", k);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < 20; i++) {
                sl_info(lg, name, SL_INT("i", i));
            }
            _exit(sl_logger_flush(lg, 10000) == SL_OK ? 0 : 6);
        }
        assert_int_equal(wait_child(pid, 20000), 0);
    }
    __atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_int_equal(sl_logger_flush(lg, 20000), SL_OK);
    sl_loki_stats st;
    sl_loki_get_stats(loki, &st);
    assert_int_equal(st.sent_records + st.dropped_queue_full, (uint64_t)b.n);
    sl_logger_free(lg);
    json_t *snap = lk_wait_count(&LK, st.sent_records + KIDS * 20, 10000);
    assert_int_equal(count_msg(snap, "background", b.n), (int)st.sent_records);
    for (int k = 0; k < KIDS; k++) {
        snprintf(name, sizeof(name), "kid%d", k);
        assert_int_equal(count_msg(snap, name, 20), 20);
    }
    json_decref(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_exit_pending_close, lk_reset),
        cmocka_unit_test_setup(test_exit_pending_atexit, lk_reset),
        cmocka_unit_test_setup(test_fork_child_logs, lk_reset),
        cmocka_unit_test_setup(test_fork_while_logging, lk_reset),
    };
    return cmocka_run_group_tests(tests, lk_setup, lk_teardown);
}
