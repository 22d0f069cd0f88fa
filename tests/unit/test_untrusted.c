/*
 * test_untrusted.c - hostile input to the logger core: printf formats with
 * %n, SL_JSON values a strict reader would refuse, keys that try to forge
 * the record's head, and records whose truncation used to be quadratic.
 * Every line is parsed back with jansson.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_capture.h"
#include "internal.h"

/* ---- %n ---------------------------------------------------------------- */

static void logv(sl_logger *lg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_log_writev(lg, SL_LEVEL_INFO, NULL, NULL, fmt, ap);
    va_end(ap);
}

static void test_percent_n_written_literally(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    int x = 12345;
    long lx = 777;
    sl_infof(lg, "abc%n", &x);
    sl_infof(lg, "%d then %ln", 1, &lx);
    /* A format from outside with %n and no argument at all. */
    volatile const char *hostile = "user %n%n%n %s";
    logv(lg, (const char *)hostile);
    sl_infof(lg, "100%% sure, %d", 3); /* %% is not a conversion */
    assert_int_equal(x, 12345);
    assert_int_equal(lx, 777);
    assert_int_equal(c.n, 4);
    const char *want[] = {"abc%n", "%d then %ln", "user %n%n%n %s", "100% sure, 3"};
    for (size_t i = 0; i < 4; i++) {
        json_t *o = capture_parse(&c, i);
        assert_string_equal(get_str(o, "msg"), want[i]);
        json_decref(o);
    }
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_format_has_n(void **unused)
{
    (void)unused;
    assert_true(sl__format_has_n("%n"));
    assert_true(sl__format_has_n("x %hhn"));
    assert_true(sl__format_has_n("%1$n"));
    assert_true(sl__format_has_n("%-*.*lln"));
    assert_true(sl__format_has_n("%zn %d"));
    assert_false(sl__format_has_n("%%n"));
    assert_false(sl__format_has_n("%s n %d"));
    assert_false(sl__format_has_n("trailing %"));
    assert_false(sl__format_has_n(NULL));
}

/* ---- non-regular files ---------------------------------------------------- */

static void test_fifo_without_reader_does_not_block(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/sl_fifo_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], spec[80];
    snprintf(path, sizeof path, "%s/fifo", dir);
    snprintf(spec, sizeof spec, "file:%s", path);
    assert_int_equal(mkfifo(path, 0600), 0);
    setenv("SPANLOG_SINK", spec, 1);

    /* No reader: refused at once (before, open(2) blocked here forever). */
    sl_logger *lg = NULL;
    assert_int_not_equal(sl_logger_from_env("svc", &lg), SL_OK);
    assert_null(lg);

    /* With a reader the sink works, and records arrive whole. */
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(sl_logger_from_env("svc", &lg), SL_OK);
    sl_info(lg, "through the fifo", SL_INT("n", 7));
    char buf[4096];
    ssize_t n = read(rd, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    json_error_t e;
    json_t *o = json_loadb(buf, (size_t)n, 0, &e);
    assert_non_null(o);
    assert_string_equal(get_str(o, "msg"), "through the fifo");
    assert_int_equal(get_int(o, "n"), 7);
    json_decref(o);
    sl_logger_free(lg);
    close(rd);
    unsetenv("SPANLOG_SINK");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_n_written_literally),
        cmocka_unit_test(test_format_has_n),
        cmocka_unit_test(test_fifo_without_reader_does_not_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
