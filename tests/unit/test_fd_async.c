/*
 * test_fd_async.c - the fd sink's asynchronous mode (adapters/stdout/
 * fd_async.c): 8 threads x 50,000 records into one file (every line once,
 * whole, parsed, in each thread's order), exact counts when a small ring
 * overflows behind a stalled reader (DROP and BLOCK), flush, synchronous
 * error records, a line larger than the ring, fork (the child writes its
 * own records, never the parent's queued ones, and can log), exit (the
 * logger's exit flush writes what is queued), close dropping what is left
 * past its deadline, and the options' checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core.h"
#include "internal.h"
#include "spanlog/spanlog.h"
#include "unit/fd_files.h"

#define THREADS 8
#define RECORDS 50000

/* Under ThreadSanitizer, let the fork test's child start its writer thread
 * (TSan refuses threads after a multi-threaded fork unless told otherwise).
 * Ignored by other builds. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}

static sl_sink *new_async(const char *path, int fd, size_t queue, sl_fd_overflow ov,
                          int block_ms, sl_level sync_level)
{
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.async = true;
    o.path = path;
    o.fd = fd;
    if (queue != 0) {
        o.queue_bytes = queue;
    }
    o.overflow = ov;
    o.block_ms = block_ms;
    o.sync_level = sync_level;
    sl_sink *sink = NULL;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    return sink;
}

/* ---- options ------------------------------------------------------------------ */

static void test_options(void **state)
{
    (void)state;
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    assert_false(o.async);
    assert_int_equal(o.queue_bytes, 1024 * 1024);
    assert_int_equal(o.overflow, SL_FD_OVERFLOW_DROP);
    assert_int_equal(o.block_ms, 100);
    assert_int_equal(o.sync_level, SL_LEVEL_OFF);
    o.async = true;
    sl_sink *s = NULL;
    o.queue_bytes = 100;
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EINVAL);
    o.queue_bytes = 4096;
    o.overflow = (sl_fd_overflow)7;
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EINVAL);
    o.overflow = SL_FD_OVERFLOW_BLOCK;
    o.block_ms = -1;
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EINVAL);
    assert_null(s);
    o.block_ms = 0;
    o.path = "/nonexistent-dir/x.log";
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EIO);
    o.path = NULL;
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_OK);
    assert_string_equal(sl_sink_name(s), "fd");
    sl_sink_free(s, 100); /* never written: no thread was started */
}

/* ---- 8 threads x 50,000 ------------------------------------------------------- */

typedef struct thread_arg {
    sl_sink *sink;
    int t;
} thread_arg;

static void *writer_thread(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < RECORDS; i++) {
        put(a->sink, SL_LEVEL_INFO, 0, a->t, i, (size_t)(i % 64));
    }
    return NULL;
}

typedef struct seen {
    int next[THREADS];
} seen;

static void check_thread_line(json_t *obj, void *user)
{
    seen *s = user;
    int t = jint(obj, "t"), i = jint(obj, "i");
    assert_true(t >= 0 && t < THREADS);
    /* each thread's records once, in its own order */
    assert_int_equal(i, s->next[t]);
    s->next[t]++;
    const char *pad = json_string_value(json_object_get(obj, "pad"));
    assert_non_null(pad);
    assert_int_equal(strlen(pad), (size_t)(i % 64));
}

static void test_threads(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "async-threads");
    /* BLOCK with a long bound: nothing may be dropped here */
    sl_sink *sink =
        new_async(path, -1, 64 * 1024, SL_FD_OVERFLOW_BLOCK, 30000, SL_LEVEL_OFF);
    pthread_t th[THREADS];
    thread_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (thread_arg){sink, t};
        assert_int_equal(pthread_create(&th[t], NULL, writer_thread, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    assert_int_equal(sl_sink_flush(sink, -1), SL_OK);
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.written, (uint64_t)THREADS * RECORDS);
    assert_int_equal(st.dropped, 0);
    size_t len;
    char *data = slurp(path, &len);
    seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(for_each_line(data, len, check_thread_line, &s),
                     (size_t)THREADS * RECORDS);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(s.next[t], RECORDS);
    }
    free(data);
    sl_sink_free(sink, 1000);
    unlink(path);
}

/* ---- a small ring behind a stalled reader ------------------------------------- */

typedef struct drain_arg {
    int fd;
    char *buf;
    size_t len, cap;
} drain_arg;

static void *drain_thread(void *p)
{
    drain_arg *d = p;
    for (;;) {
        if (d->len == d->cap) {
            d->cap *= 2;
            d->buf = realloc(d->buf, d->cap);
        }
        ssize_t r = read(d->fd, d->buf + d->len, d->cap - d->len);
        if (r <= 0) {
            break;
        }
        d->len += (size_t)r;
    }
    return NULL;
}

static void check_unique_line(json_t *obj, void *user)
{
    int *count = user;
    int i = jint(obj, "i");
    assert_true(i >= 0 && i < 20000);
    count[i]++;
    assert_int_equal(count[i], 1);
}

/*
 * The writer is stuck in write(2) on a full pipe nobody reads; the 4 KiB
 * ring fills and the rest is dropped (DROP) or dropped after the bound
 * (BLOCK). Then the reader drains: every record is either read back exactly
 * once or counted as dropped, and the counts add up exactly.
 */
static void overflow_case(sl_fd_overflow ov, int block_ms)
{
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_true(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
    sl_sink *sink = new_async(NULL, fds[1], 4096, ov, block_ms, SL_LEVEL_OFF);
    const int n = ov == SL_FD_OVERFLOW_DROP ? 20000 : 200;
    for (int i = 0; i < n; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 100);
    }
    sl_sink_stats mid = stats(sink);
    /* pipe (a page or a few) + ring (4 KiB) hold far fewer than n lines */
    assert_true(mid.dropped > 0);
    assert_true(mid.dropped < (uint64_t)n);

    drain_arg d = {fds[0], malloc(1 << 16), 0, 1 << 16};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, drain_thread, &d), 0);
    assert_int_equal(sl_sink_flush(sink, 10000), SL_OK);
    sl_sink_stats st = stats(sink);
    sl_sink_free(sink, 1000);
    close(fds[1]);
    pthread_join(th, NULL);
    close(fds[0]);

    int *count = calloc((size_t)n > 20000 ? (size_t)n : 20000, sizeof(int));
    size_t lines = for_each_line(d.buf, d.len, check_unique_line, count);
    assert_int_equal(st.written + st.dropped, (uint64_t)n);
    assert_int_equal(lines, st.written);
    assert_int_equal(st.dropped, mid.dropped); /* nothing dropped after the stall */
    free(count);
    free(d.buf);
}

static void test_overflow_drop(void **state)
{
    (void)state;
    overflow_case(SL_FD_OVERFLOW_DROP, 0);
}

static void test_overflow_block(void **state)
{
    (void)state;
    /* each record past the ring waits 5 ms, then is dropped */
    int64_t t0 = sl__monotonic_ns();
    overflow_case(SL_FD_OVERFLOW_BLOCK, 5);
    /* it did wait: ~150 records x 5 ms */
    assert_true(sl__monotonic_ns() - t0 > 100 * 1000000LL);
}

/* BLOCK: a reader that catches up lets every record through. */
static void test_block_no_loss(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    sl_sink *sink =
        new_async(NULL, fds[1], 4096, SL_FD_OVERFLOW_BLOCK, 30000, SL_LEVEL_OFF);
    drain_arg d = {fds[0], malloc(1 << 16), 0, 1 << 16};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, drain_thread, &d), 0);
    for (int i = 0; i < 20000; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 100);
    }
    assert_int_equal(sl_sink_flush(sink, -1), SL_OK);
    sl_sink_stats st = stats(sink);
    sl_sink_free(sink, 1000);
    close(fds[1]);
    pthread_join(th, NULL);
    close(fds[0]);
    int *count = calloc(20000, sizeof(int));
    assert_int_equal(for_each_line(d.buf, d.len, check_unique_line, count), 20000);
    assert_int_equal(st.written, 20000);
    assert_int_equal(st.dropped, 0);
    free(count);
    free(d.buf);
}

/* ---- flush, synchronous records, oversized lines --------------------------------- */

static void check_order_line(json_t *obj, void *user)
{
    int *next = user;
    assert_int_equal(jint(obj, "i"), *next);
    (*next)++;
}

static void test_flush_sync_oversize(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "async-flush");
    sl_sink *sink =
        new_async(path, -1, 4096, SL_FD_OVERFLOW_BLOCK, 30000, SL_LEVEL_ERROR);
    for (int i = 0; i < 100; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 10);
    }
    assert_int_equal(sl_sink_flush(sink, 5000), SL_OK);
    assert_int_equal(file_lines(path), 100); /* on disk when flush returns */

    for (int i = 100; i < 150; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 10);
    }
    put(sink, SL_LEVEL_ERROR, 0, 0, 150, 10);
    /* no flush: the error record and all before it are written already */
    assert_int_equal(file_lines(path), 151);

    /* a line larger than the ring: written by the caller, in order */
    put(sink, SL_LEVEL_INFO, 0, 0, 151, 10);
    put(sink, SL_LEVEL_INFO, 0, 0, 152, 9000);
    put(sink, SL_LEVEL_INFO, 0, 0, 153, 10);
    assert_int_equal(sl_sink_flush(sink, 5000), SL_OK);
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.written, 154);
    assert_int_equal(st.dropped, 0);
    sl_sink_free(sink, 1000);

    size_t len;
    char *data = slurp(path, &len);
    int next = 0;
    assert_int_equal(for_each_line(data, len, check_order_line, &next), 154);
    free(data);
    unlink(path);
}

/* close past its deadline: what is still queued is dropped and counted */
static void test_close_deadline(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_true(fcntl(fds[1], F_SETPIPE_SZ, 4096) >= 4096);
    /* a non-blocking write end: the stuck writer gives up after 100 ms */
    int fl = fcntl(fds[1], F_GETFL);
    assert_int_equal(fcntl(fds[1], F_SETFL, fl | O_NONBLOCK), 0);
    sl_sink *sink =
        new_async(NULL, fds[1], 1 << 16, SL_FD_OVERFLOW_DROP, 0, SL_LEVEL_OFF);
    for (int i = 0; i < 300; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 100);
    }
    sl_sink_stats before = stats(sink);
    assert_int_equal(before.dropped, 0); /* 300 x ~130 B fit the 64 KiB ring */
    assert_int_equal(sl_sink_flush(sink, 20), SL_ETIMEDOUT); /* nobody reads */
    int64_t t0 = sl__monotonic_ns();
    sl_sink_free(sink, 20);
    /* the writer's own bound (100 ms per stuck write) plus the close's */
    assert_true(sl__monotonic_ns() - t0 < 2000 * 1000000LL);
    close(fds[1]);
    close(fds[0]);
}

/* ---- fork and exit -------------------------------------------------------------- */

static void check_fork_line(json_t *obj, void *user)
{
    int *next = user;
    int p = jint(obj, "p"), i = jint(obj, "i");
    assert_true(p == 0 || p == 1);
    assert_int_equal(i, next[p]);
    next[p]++;
}

static void test_fork(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "async-fork");
    sl_sink *sink = new_async(path, -1, 0, SL_FD_OVERFLOW_BLOCK, 30000, SL_LEVEL_OFF);
    for (int i = 0; i < 1000; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 20);
    }
    pid_t kid = fork(); /* records may still be queued: the parent writes them */
    assert_true(kid >= 0);
    if (kid == 0) {
        for (int i = 0; i < 50; i++) {
            put(sink, SL_LEVEL_INFO, 1, 0, i, 20);
        }
        _exit(sl_sink_flush(sink, 5000) == SL_OK && stats(sink).dropped == 0 ? 0 : 3);
    }
    for (int i = 1000; i < 2000; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 20);
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(sl_sink_flush(sink, 5000), SL_OK);
    sl_sink_free(sink, 1000);

    size_t len;
    char *data = slurp(path, &len);
    int next[2] = {0, 0};
    assert_int_equal(for_each_line(data, len, check_fork_line, next), 2050);
    assert_int_equal(next[0], 2000); /* the parent's, once each */
    assert_int_equal(next[1], 50);   /* the child's */
    free(data);
    unlink(path);
}

/* A logger's async sink never freed: exit() writes what is queued. */
static void test_exit(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "async-exit");
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        sl_sink *sink = new_async(path, -1, 0, SL_FD_OVERFLOW_BLOCK, 30000, SL_LEVEL_OFF);
        sl_logger_options lo;
        sl_logger_options_init(&lo);
        lo.service = "exit-test";
        sl_logger *lg = NULL;
        if (sl_logger_new(&lo, &lg) != SL_OK ||
            sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE)) {
            _exit(2);
        }
        for (int i = 0; i < 5000; i++) {
            sl_info(lg, "queued", SL_INT("i", i));
        }
        exit(0); /* neither flushed nor freed */
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t len;
    char *data = slurp(path, &len);
    int next = 0;
    assert_int_equal(for_each_line(data, len, check_order_line, &next), 5000);
    free(data);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_overflow_drop),  cmocka_unit_test(test_overflow_block),
        cmocka_unit_test(test_block_no_loss),  cmocka_unit_test(test_flush_sync_oversize),
        cmocka_unit_test(test_close_deadline), cmocka_unit_test(test_fork),
        cmocka_unit_test(test_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
