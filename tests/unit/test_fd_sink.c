/*
 * test_fd_sink.c - the stdout / fd sink driven through the sl_sink API with
 * hand-made records and lines: O_APPEND from threads and processes at once,
 * EAGAIN on a full non-blocking pipe, short writes, write errors and the
 * rate-limited error callback, the buffered mode's flush rules (at exit
 * too) and fork. Every line read back is parsed with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core.h"
#include "internal.h"
#include "spanlog/stdout.h"
#include "unit/fd_files.h"

/* ---- helpers ---------------------------------------------------------------- */

/* ---- options -------------------------------------------------------------------- */

static void test_options(void **state)
{
    (void)state;
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    assert_int_equal(o.fd, 1);
    assert_null(o.path);
    assert_false(o.close_fd);
    assert_false(o.buffered);
    assert_int_equal(o.buffer_size, 64 * 1024);
    sl_fd_sink_options_init(NULL);

    sl_sink *s = (sl_sink *)1;
    assert_int_equal(sl_fd_sink_new(NULL, NULL, NULL), SL_EINVAL);
    o.fd = -1;
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EINVAL);
    assert_null(s);
    o.fd = 1000; /* not open */
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_fd_sink_options_init(&o);
    o.buffered = true;
    o.buffer_size = 1024;
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_fd_sink_options_init(&o);
    o.path = "/nonexistent-dir/x/y.log";
    assert_int_equal(sl_fd_sink_new(&o, &s, NULL), SL_EIO);

    assert_int_equal(sl_stdout_sink_new(&s), SL_OK);
    assert_string_equal(sl_sink_name(s), "fd");
    sl_sink_free(s, 0);
    assert_int_equal(sl_fd_sink_new(NULL, &s, NULL), SL_OK);
    sl_sink_free(s, 0);
}

/* ---- O_APPEND from threads and processes ------------------------------------------- */

#define APPEND_THREADS 4
#define APPEND_RECORDS 20000
#define APPEND_PROCS   2

typedef struct append_arg {
    sl_sink *sink;
    int p, t;
} append_arg;

static void *append_thread(void *p)
{
    append_arg *a = p;
    for (int i = 0; i < APPEND_RECORDS; i++) {
        put(a->sink, SL_LEVEL_INFO, a->p, a->t, i, (size_t)(i * 7919 % 300));
    }
    return NULL;
}

static int append_process(const char *path, int p)
{
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.path = path;
    sl_sink *sink;
    if (sl_fd_sink_new(&o, &sink, NULL) != SL_OK) {
        return 2;
    }
    pthread_t th[APPEND_THREADS];
    append_arg args[APPEND_THREADS];
    for (int t = 0; t < APPEND_THREADS; t++) {
        args[t] = (append_arg){sink, p, t};
        pthread_create(&th[t], NULL, append_thread, &args[t]);
    }
    for (int t = 0; t < APPEND_THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    sl_sink_stats st = stats(sink);
    sl_sink_free(sink, 1000);
    return st.written == APPEND_THREADS * APPEND_RECORDS && st.dropped == 0 &&
                   st.errors == 0
               ? 0
               : 3;
}

typedef struct seen {
    int next[APPEND_PROCS][APPEND_THREADS];
} seen;

static void check_append_line(json_t *obj, void *user)
{
    seen *s = user;
    int p = jint(obj, "p"), t = jint(obj, "t"), i = jint(obj, "i");
    assert_true(p >= 0 && p < APPEND_PROCS && t >= 0 && t < APPEND_THREADS);
    /* each thread's records arrive once, in order */
    assert_int_equal(i, s->next[p][t]);
    s->next[p][t]++;
    const char *pad = json_string_value(json_object_get(obj, "pad"));
    assert_non_null(pad);
    assert_int_equal(strlen(pad), (size_t)(i * 7919 % 300));
}

static void test_append_threads_processes(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "append");
    run_processes(APPEND_PROCS, append_process, path);
    size_t len;
    char *data = slurp(path, &len);
    seen s;
    memset(&s, 0, sizeof s);
    size_t lines = for_each_line(data, len, check_append_line, &s);
    assert_int_equal(lines, APPEND_PROCS * APPEND_THREADS * APPEND_RECORDS);
    for (int p = 0; p < APPEND_PROCS; p++) {
        for (int t = 0; t < APPEND_THREADS; t++) {
            assert_int_equal(s.next[p][t], APPEND_RECORDS);
        }
    }
    free(data);
    unlink(path);
}

/* ---- pipes: EAGAIN, a slow reader, short writes --------------------------------- */

static void make_pipe(int fds[2], bool nonblock_write, int size)
{
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    if (size > 0) {
        assert_true(fcntl(fds[1], F_SETPIPE_SZ, size) >= size);
    }
    if (nonblock_write) {
        int fl = fcntl(fds[1], F_GETFL);
        assert_int_equal(fcntl(fds[1], F_SETFL, fl | O_NONBLOCK), 0);
    }
}

static size_t drain_nonblock(int fd, char **out)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
    }
    fcntl(fd, F_SETFL, fl);
    *out = buf;
    return n;
}

typedef struct err_log {
    int calls;
    sl_status first_code;
    char first_text[256];
    uint64_t suppressed_sum;
} err_log;

static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    (void)sink;
    err_log *e = user;
    if (e->calls == 0) {
        e->first_code = code;
        snprintf(e->first_text, sizeof e->first_text, "%s", text);
    }
    e->calls++;
    e->suppressed_sum += suppressed;
}

static void test_eagain_full_pipe(void **state)
{
    (void)state;
    int fds[2];
    make_pipe(fds, true, 4096);
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fds[1];
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    err_log e = {0};
    sl_sink_set_error_callback(sink, on_error, &e);

    /* nobody reads: the pipe fills, then records are dropped and counted */
    const int n = 200;
    for (int i = 0; i < n; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 60);
    }
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.written + st.dropped, (uint64_t)n);
    assert_true(st.dropped > 0);
    assert_true(st.written > 0);
    assert_true(st.errors >= 1);
    assert_true(e.calls >= 1);
    assert_int_equal(e.first_code, SL_EAGAIN);

    /* what reached the pipe is exactly the written records, whole */
    char *data;
    size_t len = drain_nonblock(fds[0], &data);
    assert_int_equal(for_each_line(data, len, NULL, NULL), st.written);
    free(data);

    /* drained: the sink writes again */
    put(sink, SL_LEVEL_INFO, 0, 0, n, 60);
    assert_int_equal(stats(sink).written, st.written + 1);
    assert_int_equal(stats(sink).dropped, st.dropped);
    len = drain_nonblock(fds[0], &data);
    assert_int_equal(for_each_line(data, len, NULL, NULL), 1);
    free(data);

    sl_sink_free(sink, 0);
    close(fds[0]);
    close(fds[1]);
}

typedef struct reader {
    int fd;
    size_t chunk;
    char *data;
    size_t len, cap;
} reader;

/* Reads small chunks until EOF: a slow consumer that makes the writer see
 * EAGAIN and short writes. */
static void *reader_thread(void *p)
{
    reader *r = p;
    for (;;) {
        if (r->cap - r->len < r->chunk) {
            r->cap = r->cap * 2 + r->chunk;
            r->data = realloc(r->data, r->cap);
        }
        ssize_t n = read(r->fd, r->data + r->len, r->chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        r->len += (size_t)n;
    }
    return NULL;
}

typedef struct writer_arg {
    sl_sink *sink;
    int t, count;
    size_t pad;
} writer_arg;

static void *writer_thread(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        put(a->sink, SL_LEVEL_INFO, 0, a->t, i, a->pad + (size_t)(i % 50));
    }
    return NULL;
}

typedef struct per_thread {
    int next[8];
    size_t pad;
} per_thread;

static void check_writer_line(json_t *obj, void *user)
{
    per_thread *pt = user;
    int t = jint(obj, "t"), i = jint(obj, "i");
    assert_true(t >= 0 && t < 8);
    assert_int_equal(i, pt->next[t]);
    pt->next[t]++;
    assert_int_equal(strlen(json_string_value(json_object_get(obj, "pad"))),
                     pt->pad + (size_t)(i % 50));
}

/*
 * Lines bigger than the pipe, written by 2 threads to a non-blocking pipe
 * whose reader takes 1000 bytes at a time: every write is short or meets
 * EAGAIN, and still every line arrives whole and none is lost.
 */
static void run_slow_reader(size_t pad, int threads, int count)
{
    int fds[2];
    make_pipe(fds, true, 4096);
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fds[1];
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);

    reader r = {fds[0], 1000, NULL, 0, 0};
    pthread_t rt;
    pthread_create(&rt, NULL, reader_thread, &r);
    pthread_t wt[8];
    writer_arg wa[8];
    for (int t = 0; t < threads; t++) {
        wa[t] = (writer_arg){sink, t, count, pad};
        pthread_create(&wt[t], NULL, writer_thread, &wa[t]);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(wt[t], NULL);
    }
    sl_sink_stats st = stats(sink);
    sl_sink_free(sink, 0);
    close(fds[1]); /* EOF for the reader */
    pthread_join(rt, NULL);
    close(fds[0]);

    assert_int_equal(st.written, (uint64_t)(threads * count));
    assert_int_equal(st.dropped, 0);
    per_thread pt;
    memset(&pt, 0, sizeof pt);
    pt.pad = pad;
    assert_int_equal(for_each_line(r.data, r.len, check_writer_line, &pt),
                     (size_t)(threads * count));
    free(r.data);
}

static void test_slow_reader_short_writes(void **state)
{
    (void)state;
    run_slow_reader(10000, 2, 300); /* lines > pipe size: short writes */
    run_slow_reader(100, 2, 3000);  /* small lines, a slow reader: EAGAIN and poll */
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_closed_fd(void **state)
{
    (void)state;
    int fd = dup(2);
    assert_true(fd >= 0);
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fd;
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    err_log e = {0};
    sl_sink_set_error_callback(sink, on_error, &e);
    close(fd);

    int64_t t0 = sl__monotonic_ns();
    const int n = 5000;
    for (int i = 0; i < n; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 10);
    }
    int64_t elapsed_s = (sl__monotonic_ns() - t0) / 1000000000;
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.dropped, (uint64_t)n);
    assert_int_equal(st.errors, (uint64_t)n);
    /* at most once a second; the rest are counted as suppressed */
    assert_true(e.calls >= 1);
    assert_true(e.calls <= 1 + elapsed_s);
    assert_true(e.suppressed_sum <= (uint64_t)n - 1);
    assert_int_equal(e.first_code, SL_EIO);
    assert_non_null(strstr(e.first_text, strerror(EBADF)));
    sl_sink_free(sink, 0);
}

static void test_epipe(void **state)
{
    (void)state;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    int fds[2];
    make_pipe(fds, false, 0);
    close(fds[0]);
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fds[1];
    o.close_fd = true;
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    err_log e = {0};
    sl_sink_set_error_callback(sink, on_error, &e);
    put(sink, SL_LEVEL_INFO, 0, 0, 0, 10);
    put(sink, SL_LEVEL_INFO, 0, 0, 1, 10);
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.errors, 2);
    assert_int_equal(e.calls, 1);
    assert_non_null(strstr(e.first_text, strerror(EPIPE)));
    sl_sink_free(sink, 0); /* closes fds[1] */
    assert_int_equal(fcntl(fds[1], F_GETFD), -1);
    sigaction(SIGPIPE, &old, NULL);
}

/* ---- buffered mode --------------------------------------------------------------- */

static void test_buffered_rules(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "buf");
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.path = path;
    o.buffered = true;
    o.buffer_size = 4096;
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);

    char line[8192];
    size_t one = make_line(line, sizeof line, 0, 0, 0, 300);
    size_t fit = 4096 / one; /* records that fit in the buffer */
    assert_true(fit >= 2);
    for (size_t i = 0; i < fit; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, (int)i, 300);
    }
    /* all in the buffer, nothing written yet */
    assert_int_equal(file_lines(path), 0);
    assert_int_equal(stats(sink).written, 0);

    /* the next one would overflow: the buffer goes out first */
    put(sink, SL_LEVEL_INFO, 0, 0, (int)fit, 300);
    assert_int_equal(file_lines(path), fit);
    assert_int_equal(stats(sink).written, fit);

    /* an error record flushes itself and what is before it */
    put(sink, SL_LEVEL_WARN, 0, 0, (int)fit + 1, 10);
    assert_int_equal(file_lines(path), fit);
    put(sink, SL_LEVEL_ERROR, 0, 0, (int)fit + 2, 10);
    assert_int_equal(file_lines(path), fit + 3);
    put(sink, SL_LEVEL_FATAL, 0, 0, (int)fit + 3, 10);
    assert_int_equal(file_lines(path), fit + 4);

    /* explicit flush */
    put(sink, SL_LEVEL_DEBUG, 0, 0, (int)fit + 4, 10);
    assert_int_equal(file_lines(path), fit + 4);
    assert_int_equal(sl_sink_flush(sink, 100), SL_OK);
    assert_int_equal(file_lines(path), fit + 5);
    assert_int_equal(sl_sink_flush(sink, 100), SL_OK); /* empty: no-op */

    /* a record larger than the whole buffer goes straight out, in order */
    put(sink, SL_LEVEL_INFO, 0, 0, (int)fit + 5, 10);
    put(sink, SL_LEVEL_INFO, 0, 0, (int)fit + 6, 6000);
    assert_int_equal(file_lines(path), fit + 7);

    /* close flushes */
    put(sink, SL_LEVEL_INFO, 0, 0, (int)fit + 7, 10);
    assert_int_equal(file_lines(path), fit + 7);
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.written, fit + 7);
    sl_sink_free(sink, 100);
    assert_int_equal(file_lines(path), fit + 8);

    /* and the order is the order of the calls */
    size_t len;
    char *data = slurp(path, &len);
    per_thread pt;
    memset(&pt, 0, sizeof pt);
    size_t off = 0;
    for (int i = 0; off < len; i++) {
        const char *nl = memchr(data + off, '\n', len - off);
        json_t *obj = json_loadb(data + off, (size_t)(nl - data - off), 0, NULL);
        assert_non_null(obj);
        assert_int_equal(jint(obj, "i"), i);
        json_decref(obj);
        off = (size_t)(nl - data) + 1;
    }
    free(data);
    unlink(path);
}

/* A buffered sink that is never freed still writes its records at exit. */
static void test_buffered_at_exit(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "exit");
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        sl_fd_sink_options o;
        sl_fd_sink_options_init(&o);
        o.path = path;
        o.buffered = true;
        sl_sink *sink;
        if (sl_fd_sink_new(&o, &sink, NULL) != SL_OK) {
            _exit(2);
        }
        for (int i = 0; i < 10; i++) {
            put(sink, SL_LEVEL_INFO, 0, 0, i, 20);
        }
        exit(0); /* not freed, not flushed */
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(file_lines(path), 10);
    unlink(path);
}

static void count_child_line(json_t *obj, void *user)
{
    int *seen_kids = user;
    if (jint(obj, "p") == 1) {
        int i = jint(obj, "i");
        assert_true(i >= 0 && i < 20);
        seen_kids[i]++;
    }
}

static void check_fork_line(json_t *obj, void *user)
{
    int *next = user;
    int p = jint(obj, "p"), i = jint(obj, "i");
    assert_true(p == 0 || p == 1);
    assert_int_equal(i, next[p]);
    next[p]++;
}

/*
 * fork with records in the buffer: the parent writes them, the child does
 * not write them again, and the child can log (no lock left held).
 */
static void test_buffered_fork(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "fork");
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.path = path;
    o.buffered = true;
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    for (int i = 0; i < 5; i++) {
        put(sink, SL_LEVEL_INFO, 0, 0, i, 20);
    }
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        put(sink, SL_LEVEL_INFO, 1, 0, 0, 20);
        put(sink, SL_LEVEL_ERROR, 1, 0, 1, 20); /* flushes the child's buffer */
        exit(0);
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sl_sink_free(sink, 100);

    size_t len;
    char *data = slurp(path, &len);
    int next[2] = {0, 0};
    assert_int_equal(for_each_line(data, len, check_fork_line, next), 7);
    assert_int_equal(next[0], 5); /* the parent's records, once */
    assert_int_equal(next[1], 2); /* the child's */
    free(data);
    unlink(path);
}

/*
 * fork while other threads are writing (and may hold the sink's lock): the
 * child must be able to log at once. A deadlocked child is killed at the
 * deadline and fails the test.
 */
typedef struct busy_arg {
    sl_sink *sink;
    atomic_int *stop;
} busy_arg;

static void *busy_writer(void *p)
{
    busy_arg *a = p;
    for (int i = 0; !atomic_load(a->stop); i++) {
        put(a->sink, SL_LEVEL_INFO, 0, 1, i, 40);
    }
    return NULL;
}

static void fork_under_load(bool buffered)
{
    char path[256];
    temp_path(path, sizeof path, "forkload");
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.path = path;
    o.buffered = buffered;
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    atomic_int stop;
    atomic_init(&stop, 0);
    busy_arg a = {sink, &stop};
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        pthread_create(&th[t], NULL, busy_writer, &a);
    }
    for (int k = 0; k < 20; k++) {
        pid_t kid = fork();
        assert_true(kid >= 0);
        if (kid == 0) {
            put(sink, SL_LEVEL_ERROR, 1, 0, k, 10); /* error level: flushed at once */
            sl_sink_stats st = stats(sink);
            _exit(st.dropped == 0 ? 0 : 1);
        }
        int status = 0;
        int64_t deadline = sl__monotonic_ns() + 10 * 1000000000LL;
        pid_t r;
        while ((r = waitpid(kid, &status, WNOHANG)) == 0 &&
               sl__monotonic_ns() < deadline) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (r == 0) {
            kill(kid, SIGKILL);
            waitpid(kid, &status, 0);
            fail_msg("forked child %d did not finish: deadlock", k);
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    atomic_store(&stop, 1);
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
    }
    assert_int_equal(sl_sink_flush(sink, 100), SL_OK);
    sl_sink_stats st = stats(sink);
    assert_int_equal(st.dropped, 0);
    sl_sink_free(sink, 100);

    /* every line whole; each child's line exactly once */
    size_t len;
    char *data = slurp(path, &len);
    int kids_seen[20] = {0};
    size_t lines = for_each_line(data, len, count_child_line, kids_seen);
    for (int k = 0; k < 20; k++) {
        assert_int_equal(kids_seen[k], 1);
    }
    assert_int_equal(lines, st.written + 20);
    free(data);
    unlink(path);
}

static void test_fork_under_load(void **state)
{
    (void)state;
    fork_under_load(false);
    fork_under_load(true);
}

/* ---- allocation failures ------------------------------------------------------------
 */

static long fail_at = -1, n_calls;

static void *failing_malloc(size_t n)
{
    return fail_at >= 0 && n_calls++ == fail_at ? NULL : malloc(n);
}

static void *failing_realloc(void *p, size_t n)
{
    return fail_at >= 0 && n_calls++ == fail_at ? NULL : realloc(p, n);
}

/* Each allocation of sl_fd_sink_new fails in turn: SL_ENOMEM, nothing leaked
 * (the ASan build checks), and the caller's fd left open. */
static void test_alloc_failures(void **state)
{
    (void)state;
    const sl_allocator failing = {failing_malloc, failing_realloc, free};
    assert_int_equal(sl_set_allocator(&failing), SL_OK);
    int fd = dup(2);
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fd;
    o.buffered = true;
    int failures = 0;
    for (long k = 0;; k++) {
        fail_at = k;
        n_calls = 0;
        sl_sink *sink = NULL;
        sl_status st = sl_fd_sink_new(&o, &sink, NULL);
        if (st == SL_OK) {
            fail_at = -1;
            sl_sink_free(sink, 0);
            break;
        }
        assert_int_equal(st, SL_ENOMEM);
        assert_null(sink);
        assert_true(fcntl(fd, F_GETFD) >= 0);
        failures++;
    }
    assert_true(failures >= 3); /* state, buffer, wrapper */
    assert_int_equal(sl_set_allocator(NULL), SL_OK);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_append_threads_processes),
        cmocka_unit_test(test_eagain_full_pipe),
        cmocka_unit_test(test_slow_reader_short_writes),
        cmocka_unit_test(test_closed_fd),
        cmocka_unit_test(test_epipe),
        cmocka_unit_test(test_buffered_rules),
        cmocka_unit_test(test_buffered_at_exit),
        cmocka_unit_test(test_buffered_fork),
        cmocka_unit_test(test_fork_under_load),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
