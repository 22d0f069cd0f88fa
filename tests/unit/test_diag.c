/*
 * test_diag.c - nothing lost without the user being told: a sink's errors
 * and drops on stderr when it has no error callback (one line, rate-limited,
 * naming the sink), SPANLOG_DIAG / sl_set_diagnostics, the first error
 * replayed to a callback set later, sinks made from the environment reached
 * through the logger, final counts at shutdown, and a failed child logger
 * falling back to its parent. stderr is captured into a file for each case.
 */
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core_capture.h"
#include "spanlog/spanlog.h"

/* ---- stderr capture ------------------------------------------------------- */

typedef struct {
    int saved;
    char path[64];
} err_capture;

static void capture_stderr(err_capture *c)
{
    snprintf(c->path, sizeof(c->path), "/tmp/sl-diag-XXXXXX");
    int fd = mkstemp(c->path);
    assert_true(fd >= 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

/* Restores stderr and returns what was written (caller frees). */
static char *captured(err_capture *c)
{
    fflush(stderr);
    assert_int_equal(dup2(c->saved, 2), 2);
    close(c->saved);
    FILE *f = fopen(c->path, "r");
    assert_non_null(f);
    static const size_t cap = 1 << 16;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(c->path);
    return buf;
}

static size_t count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* ---- a sink that fails every record ------------------------------------------ */

static void failing_write(sl_sink *sink, const sl_record *rec, const char *line,
                          size_t len)
{
    (void)rec;
    (void)line;
    (void)len;
    sl_sink_count_dropped(sink, 1);
    sl_sink_report_error(sink, SL_EIO, "failing: peer said 503");
}

static const sl_sink_vtable failing_vt = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "failing",
    .write = failing_write,
};

static sl_logger *failing_logger(void)
{
    sl_logger *lg = NULL;
    sl_sink *s = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_sink_new(&failing_vt, NULL, &s), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, s, SL_LEVEL_TRACE), SL_OK);
    return lg;
}

static int reset(void **state)
{
    (void)state;
    unsetenv("SPANLOG_SINK");
    unsetenv("SPANLOG_SYSLOG");
    unsetenv("SPANLOG_LOKI_URL");
    sl_set_diagnostics(SL_DIAG_STDERR);
    return 0;
}

/* ---- cases ----------------------------------------------------------------------- */

/* Errors and drops without a callback: one line each, at most once a second. */
static void test_drops_and_errors_reach_stderr_rate_limited(void **state)
{
    (void)state;
    sl_logger *lg = failing_logger();
    err_capture c;
    capture_stderr(&c);
    for (int i = 0; i < 1500; i++) {
        sl_info(lg, "lost");
    }
    sl_logger_stats st;
    sl_logger_stats_init(&st);
    assert_int_equal(sl_logger_close(lg, 1000, &st), SL_EIO); /* records were lost */
    char *err = captured(&c);
    assert_int_equal(st.dropped, 1500);
    assert_int_equal(st.errors, 1500);
    /* The burst took well under a second: one error line, one drop line,
     * and the final count when the sink closed. */
    assert_int_equal(count_lines_with(err, "spanlog: failing: peer said 503\n"), 1);
    assert_int_equal(
        count_lines_with(err, "spanlog: failing: 1 record dropped (1 in total)\n"), 1);
    assert_non_null(
        strstr(err, "spanlog: failing: 1,499 records dropped (1,500 in total"));
    free(err);
}

static void test_diagnostics_off(void **state)
{
    (void)state;
    sl_set_diagnostics(SL_DIAG_OFF);
    assert_int_equal(sl_get_diagnostics(), SL_DIAG_OFF);
    sl_logger *lg = failing_logger();
    err_capture c;
    capture_stderr(&c);
    sl_info(lg, "lost quietly");
    sl_logger_stats st;
    sl_logger_stats_init(&st);
    assert_int_equal(sl_logger_close(lg, 1000, &st), SL_EIO);
    char *err = captured(&c);
    assert_string_equal(err, "");
    assert_int_equal(st.dropped, 1); /* still counted */
    free(err);
    sl_set_diagnostics((sl_diag)42); /* unknown: ignored */
    assert_int_equal(sl_get_diagnostics(), SL_DIAG_OFF);
}

struct seen {
    int calls;
    sl_status code;
    char text[256];
};

static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    (void)sink;
    (void)suppressed;
    struct seen *s = user;
    s->calls++;
    s->code = code;
    snprintf(s->text, sizeof(s->text), "%s", text);
}

/*
 * SPANLOG_SINK=syslog on a host without the socket used to print nothing,
 * write nothing to stderr and exit 0. Now stderr names the sink and why, the
 * sink is reachable through the logger, and its first (constructor-time)
 * error reaches a callback installed afterwards.
 */
static void test_env_syslog_without_socket_is_not_silent(void **state)
{
    (void)state;
    char target[96];
    snprintf(target, sizeof(target), "syslog:unix:/tmp/sl-no-such-dir-%d/log",
             (int)getpid());
    setenv("SPANLOG_SINK", target, 1);
    err_capture c;
    capture_stderr(&c);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    sl_info(lg, "nobody hears this");
    /* Delivery is the worker's (src/deliver): settled once the flush returns. */
    (void)sl_logger_flush(lg, 5000);
    char *err = captured(&c);
    /* The constructor's error names the path itself (the sink's target is
     * known once it exists); the drop line names the target. */
    char want[160];
    snprintf(want, sizeof(want),
             "spanlog: syslog: connect unix:/tmp/sl-no-such-dir-%d/log: ", (int)getpid());
    if (strstr(err, want) == NULL) {
        fail_msg("stderr has no \"%s\": \"%s\"", want, err);
    }
    assert_non_null(strstr(err, "No such file or directory"));
    snprintf(want, sizeof(want),
             "spanlog: syslog unix:/tmp/sl-no-such-dir-%d/log: 1 record dropped (1 in "
             "total)\n",
             (int)getpid());
    assert_non_null(strstr(err, want));
    free(err);

    assert_int_equal(sl_logger_sink_count(lg), 1);
    sl_sink *s = sl_logger_sink_by_name(lg, "syslog");
    assert_non_null(s);
    assert_ptr_equal(s, sl_logger_sink_at(lg, 0));
    assert_null(sl_logger_sink_at(lg, 1));
    assert_null(sl_logger_sink_by_name(lg, "loki"));
    sl_sink_stats ss;
    sl_sink_stats_init(&ss);
    sl_sink_get_stats(s, &ss);
    assert_int_equal(ss.dropped, 1);

    struct seen seen = {0};
    sl_sink_set_error_callback(s, on_error, &seen);
    assert_int_equal(seen.calls, 1); /* the constructor's error, replayed */
    assert_int_equal(seen.code, SL_EIO);
    assert_non_null(strstr(seen.text, "connect"));
    sl_sink_set_error_callback(s, on_error, &seen);
    assert_int_equal(seen.calls, 1); /* once */
    sl_logger_free(lg);
}

/* Sinks and totals through the logger, children share them. */
static void test_sinks_and_stats_through_the_logger(void **state)
{
    (void)state;
    char path[] = "/tmp/sl-diag-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char list[128];
    snprintf(list, sizeof(list), "null, file:%s", path);
    setenv("SPANLOG_SINK", list, 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    sl_logger *kid = sl_child(lg, SL_STR("k", "v"));
    assert_int_equal(sl_logger_sink_count(kid), 2);
    assert_string_equal(sl_sink_name(sl_logger_sink_at(kid, 0)), "null");
    assert_string_equal(sl_sink_name(sl_logger_sink_at(kid, 1)), "fd");
    sl_info(lg, "a");
    sl_info(kid, "b");
    sl_logger_stats st;
    sl_logger_stats_init(&st);
    assert_int_equal(sl_logger_get_stats(kid, &st), SL_OK);
    assert_int_equal(st.nsinks, 2);
    assert_int_equal(st.written, 4); /* two records, two sinks */
    assert_int_equal(st.dropped, 0);
    assert_int_equal(sl_logger_get_stats(NULL, &st), SL_EINVAL);
    assert_int_equal(sl_logger_sink_count(NULL), 0);
    assert_null(sl_logger_sink_by_name(lg, NULL));

    /* Shutdown turns the whole family off; counts stay readable. */
    assert_int_equal(sl_logger_shutdown(lg, 1000), SL_OK);
    assert_int_equal(sl_logger_get_level(kid), SL_LEVEL_OFF);
    sl_logger_set_level(kid, SL_LEVEL_TRACE); /* ignored after shutdown */
    assert_int_equal(sl_logger_get_level(kid), SL_LEVEL_OFF);
    sl_info(kid, "after shutdown");
    assert_int_equal(sl_logger_shutdown(lg, 1000), SL_OK); /* idempotent */
    assert_int_equal(sl_logger_get_stats(lg, &st), SL_OK);
    assert_int_equal(st.written, 4);
    sl_logger_free(kid);
    assert_int_equal(sl_logger_close(lg, 1000, NULL), SL_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        json_error_t jerr;
        json_t *r = json_loads(line, 0, &jerr);
        assert_non_null(r);
        assert_string_equal(get_str(r, "msg"), n == 0 ? "a" : "b");
        json_decref(r);
        n++;
    }
    fclose(f);
    unlink(path);
    assert_int_equal(n, 2);
}

/* A child that cannot be made: records go to the parent, counted, said once. */
static void test_failed_child_falls_back_to_parent(void **state)
{
    (void)state;
    capture cap;
    capture_init(&cap);
    sl_logger *lg = capture_logger(NULL, &cap);
    char *big = malloc(70000);
    assert_non_null(big);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    err_capture c;
    capture_stderr(&c);
    sl_logger *kid = sl_child(lg, SL_STR("big", big));
    sl_logger *kid2 = sl_child(lg, SL_STR("big", big));
    char *err = captured(&c);
    assert_ptr_equal(kid, lg);
    assert_ptr_equal(kid2, lg);
    assert_int_equal(count_lines_with(err, "spanlog: a child logger could not be made"),
                     1);
    assert_non_null(strstr(err, "(value or size out of range)"));
    free(err);
    sl_info(kid, "via the fallback");
    assert_int_equal(cap.n, 1);
    json_t *r = capture_parse(&cap, 0);
    assert_string_equal(get_str(r, "msg"), "via the fallback");
    assert_null(json_object_get(r, "big"));
    json_decref(r);
    sl_logger_stats st;
    sl_logger_stats_init(&st);
    assert_int_equal(sl_logger_get_stats(lg, &st), SL_OK);
    assert_int_equal(st.child_failures, 2);
    /* Freeing the fallbacks drops only those uses: the parent still logs. */
    sl_logger_free(kid);
    sl_logger_free(kid2);
    sl_info(lg, "parent alive");
    assert_int_equal(cap.n, 2);
    assert_null(sl_child(NULL, SL_STR("k", "v")));
    sl_logger_free(lg);
    assert_true(cap.destroyed);
    capture_clear(&cap);
    free(big);
}

/* stderr a pipe nobody reads, SIGPIPE at its default (fatal): a diagnostic
 * must neither kill the program nor leave a SIGPIPE pending. */
static void test_closed_stderr_does_not_kill(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    fflush(stderr);
    int saved = dup(2);
    assert_int_equal(dup2(p[1], 2), 2);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
    sl_logger *lg = failing_logger();
    sl_info(lg, "lost, and the diagnostic cannot be written");
    sl_logger_stats st;
    sl_logger_stats_init(&st);
    assert_int_equal(sl_logger_close(lg, 1000, &st), SL_EIO);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    assert_int_equal(st.dropped, 1);
    sigset_t pending;
    sigemptyset(&pending);
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGPIPE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_drops_and_errors_reach_stderr_rate_limited, reset),
        cmocka_unit_test_setup(test_diagnostics_off, reset),
        cmocka_unit_test_setup(test_env_syslog_without_socket_is_not_silent, reset),
        cmocka_unit_test_setup(test_sinks_and_stats_through_the_logger, reset),
        cmocka_unit_test_setup(test_failed_child_falls_back_to_parent, reset),
        cmocka_unit_test_setup(test_closed_stderr_does_not_kill, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
