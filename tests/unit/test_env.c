/*
 * test_env.c - sl_logger_from_env(, NULL) and sl_sink_from_uri(, NULL): every variable,
 * every bad value, records read back from the file sink they name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>

#include <cmocka.h>
#include <jansson.h>

#include "spanlog/spanlog.h"
#include "unit/loopback.h"

static const char *const vars[] = {"SPANLOG_LEVEL",       "OTEL_SERVICE_NAME",
                                   "SPANLOG_FORMAT",      "SPANLOG_MAX_RECORD_BYTES",
                                   "SPANLOG_CALLER",      "SPANLOG_SINK",
                                   "SPANLOG_SYSLOG",      "SPANLOG_LOKI_URL",
                                   "SPANLOG_BAGGAGE_KEYS"};

static int clear_env(void **state)
{
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        unsetenv(vars[i]);
    }
    return 0;
}

/* A temp file path, and SPANLOG_SINK pointing at it. */
static void sink_to_file(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/sl-env-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char target[128];
    snprintf(target, sizeof(target), "file:%s", path);
    setenv("SPANLOG_SINK", target, 1);
}

/* Reads the file's records (at most max) and removes the file. */
static size_t read_records(const char *path, json_t **out, size_t max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (j == NULL) {
            fail_msg("not JSON: %s", err.text);
        }
        assert_true(n < max);
        out[n++] = j;
    }
    fclose(f);
    unlink(path);
    return n;
}

static void test_defaults_write_info_to_the_sink(void **state)
{
    char path[64];
    sink_to_file(path, sizeof(path));
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("checkout", &lg, NULL), SL_OK);
    assert_int_equal(sl_logger_get_level(lg), SL_LEVEL_INFO);
    sl_debug(lg, "hidden");
    sl_info(lg, "shown");
    sl_logger_free(lg);
    json_t *r[4];
    assert_int_equal(read_records(path, r, 4), 1);
    assert_string_equal(json_string_value(json_object_get(r[0], "msg")), "shown");
    assert_string_equal(json_string_value(json_object_get(r[0], "service")), "checkout");
    json_decref(r[0]);
}

static void test_every_variable(void **state)
{
    char path[64];
    sink_to_file(path, sizeof(path));
    setenv("SPANLOG_LEVEL", " Debug ", 1);
    setenv("OTEL_SERVICE_NAME", "from-env", 1);
    setenv("SPANLOG_FORMAT", "otel", 1);
    setenv("SPANLOG_MAX_RECORD_BYTES", "2048", 1);
    setenv("SPANLOG_CALLER", "true", 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("from-code", &lg, NULL), SL_OK);
    assert_int_equal(sl_logger_get_level(lg), SL_LEVEL_DEBUG);
    sl_span *span = sl_span_start("s", SL_SPAN_INTERNAL);
    char big[4096];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sl_debug(lg, big);
    sl_span_end(span);
    sl_logger_free(lg);
    json_t *r[4];
    assert_int_equal(read_records(path, r, 4), 1);
    assert_string_equal(json_string_value(json_object_get(r[0], "service")), "from-env");
    assert_string_equal(json_string_value(json_object_get(r[0], "level")), "debug");
    assert_int_equal(strlen(json_string_value(json_object_get(r[0], "trace_id"))), 32);
    assert_true(json_is_string(json_object_get(r[0], "caller")));
    assert_true(json_is_true(json_object_get(r[0], "truncated")));
    char *line = json_dumps(r[0], JSON_COMPACT);
    assert_true(strlen(line) < 2048);
    free(line);
    json_decref(r[0]);
}

static void test_bad_values_are_errors(void **state)
{
    const char *bad[][2] = {
        {"SPANLOG_LEVEL", "loud"},
        {"SPANLOG_FORMAT", "xml"},
        {"SPANLOG_MAX_RECORD_BYTES", "12k"},
        {"SPANLOG_MAX_RECORD_BYTES", "-1"},
        {"SPANLOG_SINK", "stdout,pigeon:coop"},
        {"SPANLOG_SINK", "file:"},
        {"SPANLOG_BAGGAGE_KEYS", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"},
    };
    const sl_status want[] = {SL_EPARSE, SL_EPARSE, SL_EPARSE, SL_EPARSE,
                              SL_EPARSE, SL_EPARSE, SL_ERANGE};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clear_env(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        sl_logger *lg = (sl_logger *)&lg; /* must be reset to NULL */
        assert_int_equal(sl_logger_from_env("s", &lg, NULL), want[i]);
        assert_null(lg);
    }
    clear_env(NULL);
    setenv("SPANLOG_MAX_RECORD_BYTES", "100", 1); /* below the 1024 minimum */
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("s", &lg, NULL), SL_ERANGE);
    assert_int_equal(sl_logger_from_env("s", NULL, NULL), SL_EINVAL);
}

static void test_sink_list_and_uris(void **state)
{
    char path[64];
    sink_to_file(path, sizeof(path));
    char list[160];
    snprintf(list, sizeof(list), " null , file:%s ,", path);
    setenv("SPANLOG_SINK", list, 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env(NULL, &lg, NULL), SL_OK);
    sl_warn(lg, "twice?");
    sl_logger_free(lg);
    json_t *r[4];
    assert_int_equal(read_records(path, r, 4), 1);
    assert_null(json_object_get(r[0], "service"));
    json_decref(r[0]);

    sl_sink *s = (sl_sink *)&s;
    assert_int_equal(sl_sink_from_uri(NULL, &s, NULL), SL_EINVAL);
    assert_int_equal(sl_sink_from_uri("stdout", NULL, NULL), SL_EINVAL);
    const char *bad[] = {"", "file:", "http://x", "stdout2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = (sl_sink *)&s;
        assert_int_equal(sl_sink_from_uri(bad[i], &s, NULL), SL_EPARSE);
        assert_null(s);
    }
    assert_int_equal(sl_sink_from_uri("file:/nonexistent-dir/x.log", &s, NULL), SL_EIO);
    const char *good[] = {"stdout", "stderr", "null", "STDOUT", "Null"}; /* RFC 3986 */
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(sl_sink_from_uri(good[i], &s, NULL), SL_OK);
        assert_non_null(s);
        sl_sink_free(s, 0);
    }
}

/* SPANLOG_SYSLOG adds a syslog sink: records reach a UDP socket we bind. */
static void test_syslog_variable(void **state)
{
    int port = 0;
    int s = loopback_socket(SOCK_DGRAM, &port);
    char target[64];
    snprintf(target, sizeof(target), "udp://127.0.0.1:%d", port);
    setenv("SPANLOG_SINK", "null", 1);
    setenv("SPANLOG_SYSLOG", target, 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("env-syslog", &lg, NULL), SL_OK);
    sl_warn(lg, "to syslog");
    sl_logger_free(lg);
    struct pollfd pfd = {.fd = s, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    char dg[2048];
    ssize_t n = recv(s, dg, sizeof(dg) - 1, 0);
    assert_true(n > 0);
    dg[n] = '\0';
    assert_int_equal(strncmp(dg, "<12>1 ", 6), 0); /* user.warning */
    assert_non_null(strstr(dg, "\"msg\":\"to syslog\""));
    close(s);

    setenv("SPANLOG_SYSLOG", "carrier://pigeon", 1);
    lg = (sl_logger *)&lg;
    assert_int_equal(sl_logger_from_env("s", &lg, NULL), SL_EPARSE);
    assert_null(lg);
}

#if SPANLOG_WITH_LOKI
/*
 * SPANLOG_LOKI_URL adds a Loki sink. Nothing listens on the port, so a flush
 * cannot be acknowledged: the timeout proves the sink is there and queued it.
 */
static void test_loki_variable(void **state)
{
    int port = 0;
    close(loopback_socket(SOCK_STREAM, &port)); /* a port that refuses connections */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    setenv("SPANLOG_SINK", "null", 1);
    setenv("SPANLOG_LOKI_URL", url, 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("env-loki", &lg, NULL), SL_OK);
    sl_info(lg, "queued for Loki");
    assert_int_equal(sl_logger_flush(lg, 300), SL_ETIMEDOUT);
    sl_logger_free(lg);

    setenv("SPANLOG_SINK", "null", 1);
    unsetenv("SPANLOG_LOKI_URL");
    assert_int_equal(sl_logger_from_env("env-loki", &lg, NULL), SL_OK);
    sl_info(lg, "no Loki now");
    assert_int_equal(sl_logger_flush(lg, 300), SL_OK);
    sl_logger_free(lg);
}
#else
/* A build without the Loki sink refuses SPANLOG_LOKI_URL, naming it. */
static void test_loki_variable(void **state)
{
    setenv("SPANLOG_SINK", "null", 1);
    setenv("SPANLOG_LOKI_URL", "http://127.0.0.1:3100", 1);
    sl_logger *lg = NULL;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("env-loki", &lg, &err), SL_ENOTSUP);
    assert_null(lg);
    assert_string_equal(err.name, "SPANLOG_LOKI_URL");
    assert_non_null(strstr(err.text, "without loki"));
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_write_info_to_the_sink, clear_env),
        cmocka_unit_test_setup(test_every_variable, clear_env),
        cmocka_unit_test_setup(test_bad_values_are_errors, clear_env),
        cmocka_unit_test_setup(test_sink_list_and_uris, clear_env),
        cmocka_unit_test_setup(test_syslog_variable, clear_env),
        cmocka_unit_test_setup(test_loki_variable, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
