/*
 * test_exit_flush.c - a program that ends without flushing or freeing its
 * loggers still has every sink flushed by the exit handler, within a bounded
 * total time even when one sink's flush uses up its whole allowance.
 */
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

#include "internal.h"
#include "spanlog/spanlog.h"

/* A sink that reports to a pipe: each line written and each flush. */
typedef struct pipe_sink {
    int fd;
    const char *name;
    bool slow; /* its flush takes all the time it is given (a stuck peer) */
} pipe_sink;

static void say(int fd, const char *text)
{
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        _exit(3);
    }
}

static void ps_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    (void)rec;
    (void)len;
    pipe_sink *p = sl_sink_state(sink);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s line %s", p->name, line);
    say(p->fd, buf);
    sl_sink_count_written(sink, 1);
}

static sl_status ps_flush(sl_sink *sink, int timeout_ms)
{
    pipe_sink *p = sl_sink_state(sink);
    char buf[128];
    snprintf(buf, sizeof(buf), "%s flush %d\n", p->name, timeout_ms);
    say(p->fd, buf);
    if (p->slow && timeout_ms > 0) {
        /* Simulates a sink honouring its bound while its peer never answers. */
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return SL_ETIMEDOUT;
    }
    return SL_OK;
}

static const sl_sink_vtable ps_vt = {.version = SL_SINK_VTABLE_VERSION,
                                     .name = "pipe",
                                     .write = ps_write,
                                     .flush = ps_flush};

static void child_main(int fd)
{
    static pipe_sink slow = {0, "slow", true}, quick = {0, "quick", false};
    slow.fd = quick.fd = fd;
    sl_logger *lg = NULL;
    sl_sink *a = NULL, *b = NULL;
    if (sl_logger_new(NULL, &lg) != SL_OK || sl_sink_new(&ps_vt, &slow, &a) != SL_OK ||
        sl_sink_new(&ps_vt, &quick, &b) != SL_OK ||
        sl_logger_add_sink(lg, a, SL_LEVEL_INFO) != SL_OK ||
        sl_logger_add_sink(lg, b, SL_LEVEL_INFO) != SL_OK) {
        _exit(2);
    }
    sl_info(lg, "before exit");
    exit(0); /* no flush, no free: the exit handler's job */
}

static void test_exit_flushes_within_bound(void **unused)
{
    (void)unused;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int64_t t0 = sl__monotonic_ns();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1]);
    }
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(out) - 1 && (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0) {
        n += (size_t)r;
    }
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    int64_t elapsed_ms = (sl__monotonic_ns() - t0) / 1000000;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_non_null(strstr(out, "slow line {"));
    assert_non_null(strstr(out, "quick line {"));
    int slow_t = -1, quick_t = -1;
    const char *p = strstr(out, "slow flush ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "slow flush %d", &slow_t), 1);
    p = strstr(out, "quick flush ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "quick flush %d", &quick_t), 1);
    /* The first sink got (nearly) the whole 2 s; the second what was left. */
    assert_true(slow_t > 1500 && slow_t <= 2000);
    assert_true(quick_t >= 0 && quick_t <= 2000 - slow_t + 50);
    /* The whole exit took the bound, not the sum of the sinks' wishes. */
    assert_true(elapsed_ms < 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_flushes_within_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
