/*
 * test_pretty.c - the human console format: the formatter on records every
 * profile writes (each parsed back with jansson to build what the line must
 * say), hostile values made visible, colors by the no-color.org rules, the
 * fd sink on a pseudo-terminal (exact bytes, with colors and with
 * NO_COLOR), SPANLOG_FORMAT=pretty/auto, and the spanlog-pretty filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "spanlog/spanlog.h"
#include "unit/core_capture.h"

#ifndef SPANLOG_PRETTY_PATH
#error "SPANLOG_PRETTY_PATH must name the spanlog-pretty binary"
#endif

static const char *const TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

static char *fmt(const char *line, const sl_pretty_options *o)
{
    size_t need = sl_pretty_format(line, strlen(line), o, NULL, 0);
    char *out = malloc(need + 1);
    assert_non_null(out);
    assert_int_equal(sl_pretty_format(line, strlen(line), o, out, need + 1), need);
    assert_int_equal(strlen(out), need);
    return out;
}

static sl_pretty_options utc_plain(void)
{
    sl_pretty_options o;
    sl_pretty_options_init(&o);
    o.utc = true;
    return o;
}

/* "HH:MM:SS.mmmZ" from the record's RFC 3339 time. */
static void short_time(const char *rfc3339, char *out)
{
    assert_true(strlen(rfc3339) >= 23);
    memcpy(out, rfc3339 + 11, 12);
    out[12] = 'Z';
    out[13] = '\0';
}

/* One record through a real logger with a span from TP, captured. */
static json_t *one_record(sl_profile profile, capture *c, sl_level level)
{
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.profile = profile;
    lo.service = "checkout";
    lo.level = SL_LEVEL_TRACE;
    capture_init(c);
    sl_logger *lg = capture_logger(&lo, c);
    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(TP, strlen(TP), &ctx), SL_OK);
    sl_log_ctx(lg, level, &ctx, "card charged", SL_STR("requestId", "r 42"),
               SL_INT("cents", 1299), SL_BOOL("retry", false), SL_DOUBLE("rate", 0.25));
    sl_logger_free(lg);
    assert_int_equal(c->n, 1);
    return capture_parse(c, 0);
}

static void test_default_profile_snapshot(void **state)
{
    (void)state;
    capture c;
    json_t *j = one_record(SL_PROFILE_DEFAULT, &c, SL_LEVEL_INFO);
    char t[16];
    short_time(get_str(j, "time"), t);
    char want[512];
    snprintf(want, sizeof want,
             "%s INFO  card charged [0af76519-b7ad6b71] service=checkout "
             "requestId=\"r 42\" cents=1299 retry=false rate=0.25\n",
             t);
    sl_pretty_options o = utc_plain();
    char *got = fmt(c.lines[0].text, &o);
    assert_string_equal(got, want);
    free(got);
    json_decref(j);
    capture_clear(&c);
}

/* Every profile's head keys are recognised: same level, message and short id. */
static void test_every_profile(void **state)
{
    (void)state;
    const sl_profile profiles[] = {SL_PROFILE_DEFAULT, SL_PROFILE_OTEL, SL_PROFILE_ECS,
                                   SL_PROFILE_PINO};
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        capture c;
        json_t *j = one_record(profiles[i], &c, SL_LEVEL_WARN);
        sl_pretty_options o = utc_plain();
        o.show_time = false;
        char *got = fmt(c.lines[0].text, &o);
        const char *head = "WARN  card charged [0af76519-b7ad6b71] ";
        assert_memory_equal(got, head, strlen(head));
        /* the head keys are not repeated as fields */
        assert_null(strstr(got, "trace"));
        assert_null(strstr(got, "msg="));
        assert_null(strstr(got, "level="));
        assert_non_null(strstr(got, " cents=1299"));
        json_decref(j);
        free(got);
        capture_clear(&c);
    }
}

static void test_pino_line(void **state)
{
    (void)state;
    sl_pretty_options o = utc_plain();
    char *got =
        fmt("{\"level\":50,\"time\":1700000000123,\"pid\":7,\"hostname\":\"h\","
            "\"msg\":\"boom\",\"err\":{\"type\":\"Error\", \"stack\":\"a\\nb\"}}\n",
            &o);
    assert_string_equal(got, "22:13:20.123Z ERROR boom pid=7 hostname=h "
                             "err={\"type\":\"Error\",\"stack\":\"a\\nb\"}\n");
    free(got);
}

/* No byte that a terminal would act on survives, whatever the value. */
static void assert_inert(const char *s)
{
    size_t n = strlen(s);
    assert_true(n > 0 && s[n - 1] == '\n');
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char b = (unsigned char)s[i];
        assert_true(b >= 0x20 && b != 0x7f);
        /* a C1 control in UTF-8 is C2 80..C2 9F */
        if (b == 0xc2) {
            assert_true((unsigned char)s[i + 1] > 0x9f);
        }
    }
}

static void test_hostile_values_made_visible(void **state)
{
    (void)state;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    const char evil[] = "a\x1b]0;owned\x07"
                        "b\xc2\x9b"
                        "31mc\xff\xfe\x7f\r\nd";
    sl_info(lg, "msg\x1b[2J", SL_STR("k\x1b", evil), SL_STRN("nul", "x\0y", 3));
    sl_logger_free(lg);
    sl_pretty_options o = utc_plain();
    char *got = fmt(c.lines[0].text, &o);
    assert_inert(got);
    assert_non_null(strstr(got, "msg\\e[2J"));
    assert_non_null(strstr(got, "k\\e=a\\e]0;owned\\x07b\\u{9b}31mc"));
    free(got);

    /* raw bytes in a line that is not even JSON */
    got = fmt("plain \x1b[31mred\x9b\xc0\x80 text", &o);
    assert_inert(got);
    assert_string_equal(got, "plain \\e[31mred\\x9b\\xc0\\x80 text\n");
    free(got);
    capture_clear(&c);
}

static void test_cut_output_reports_need(void **state)
{
    (void)state;
    const char *line = "{\"level\":\"info\",\"msg\":\"hello world\",\"k\":\"v\"}";
    sl_pretty_options o = utc_plain();
    size_t need = sl_pretty_format(line, strlen(line), &o, NULL, 0);
    char small[8];
    assert_int_equal(sl_pretty_format(line, strlen(line), &o, small, sizeof small), need);
    assert_int_equal(strlen(small), sizeof small - 1);
    char *full = fmt(line, &o);
    assert_memory_equal(small, full, sizeof small - 1);
    assert_string_equal(full, "INFO  hello world k=v\n");
    assert_true(need <= 8 * strlen(line) + 128);
    free(full);
}

static void test_color_rules(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    unsetenv("NO_COLOR");
    unsetenv("FORCE_COLOR");
    setenv("TERM", "xterm", 1);
    assert_false(sl_pretty_use_color(p[1], SL_COLOR_AUTO)); /* not a terminal */
    assert_true(sl_pretty_use_color(p[1], SL_COLOR_ALWAYS));
    setenv("FORCE_COLOR", "1", 1);
    assert_true(sl_pretty_use_color(p[1], SL_COLOR_AUTO));
    setenv("FORCE_COLOR", "0", 1);
    assert_false(sl_pretty_use_color(p[1], SL_COLOR_AUTO));
    unsetenv("FORCE_COLOR");

    int m, s;
    assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
    assert_true(sl_pretty_use_color(s, SL_COLOR_AUTO));
    setenv("NO_COLOR", "1", 1);
    assert_false(sl_pretty_use_color(s, SL_COLOR_AUTO));
    assert_false(sl_pretty_use_color(s, SL_COLOR_NEVER));
    setenv("NO_COLOR", "", 1); /* empty: not set, by the convention */
    assert_true(sl_pretty_use_color(s, SL_COLOR_AUTO));
    unsetenv("NO_COLOR");
    setenv("TERM", "dumb", 1);
    assert_false(sl_pretty_use_color(s, SL_COLOR_AUTO));
    setenv("TERM", "xterm", 1);
    close(m);
    close(s);
    close(p[0]);
    close(p[1]);
}

/* What the fd sink writes to a pseudo-terminal for one record. */
static size_t pty_record(char *out, size_t cap)
{
    int m, s;
    assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
    struct termios tio;
    assert_int_equal(tcgetattr(s, &tio), 0);
    cfmakeraw(&tio); /* no \n -> \r\n, the bytes as written */
    assert_int_equal(tcsetattr(s, TCSANOW, &tio), 0);

    sl_fd_sink_options fo;
    sl_fd_sink_options_init(&fo);
    fo.fd = s;
    fo.format = SL_FD_FORMAT_PRETTY;
    fo.utc = true;
    sl_sink *sink = NULL;
    assert_int_equal(sl_fd_sink_new(&fo, &sink, NULL), SL_OK);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    sl_error(lg, "disk full", SL_STR("path", "/var"));
    sl_logger_free(lg);

    size_t n = 0;
    while (n == 0 || out[n - 1] != '\n') {
        ssize_t r = read(m, out + n, cap - 1 - n);
        assert_true(r > 0);
        n += (size_t)r;
    }
    out[n] = '\0';
    close(s);
    close(m);
    return n;
}

static bool is_time(const char *p)
{
    for (int i = 0; i < 12; i++) {
        char c = p[i];
        bool digit = c >= '0' && c <= '9';
        if ((i == 2 || i == 5) ? c != ':' : i == 8 ? c != '.' : !digit) {
            return false;
        }
    }
    return p[12] == 'Z';
}

static void test_pty_snapshot_colors_and_no_color(void **state)
{
    (void)state;
    unsetenv("NO_COLOR");
    unsetenv("FORCE_COLOR");
    setenv("TERM", "xterm", 1);
    char buf[512];
    pty_record(buf, sizeof buf);
    const char *pre = "\033[2m";
    assert_memory_equal(buf, pre, 4);
    assert_true(is_time(buf + 4));
    assert_string_equal(
        buf + 4 + 13,
        "\033[0m \033[31mERROR\033[0m disk full \033[36mpath\033[0m=/var\n");

    setenv("NO_COLOR", "1", 1);
    pty_record(buf, sizeof buf);
    unsetenv("NO_COLOR");
    assert_true(is_time(buf));
    assert_string_equal(buf + 13, " ERROR disk full path=/var\n");
}

/* Runs from_env with fd 1 redirected to a pipe and returns what it wrote. */
static char *env_output(const char *format)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    int saved = dup(1);
    assert_int_equal(dup2(p[1], 1), 1);
    setenv("SPANLOG_FORMAT", format, 1);
    setenv("SPANLOG_SINK", "stdout", 1);
    unsetenv("SPANLOG_SYSLOG");
    unsetenv("SPANLOG_LOKI_URL");
    sl_logger *lg = NULL;
    sl_status st = sl_logger_from_env("svc", &lg, NULL);
    if (st == SL_OK) {
        sl_info(lg, "hello", SL_INT("n", 1));
        sl_logger_free(lg);
    }
    dup2(saved, 1);
    close(saved);
    close(p[1]);
    unsetenv("SPANLOG_FORMAT");
    unsetenv("SPANLOG_SINK");
    assert_int_equal(st, SL_OK);
    char *out = calloc(1, 4096);
    assert_non_null(out);
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], out + n, 4095 - n)) > 0) {
        n += (size_t)r;
    }
    close(p[0]);
    return out;
}

static void test_env_pretty_and_auto(void **state)
{
    (void)state;
    setenv("NO_COLOR", "1", 1);
    char *out = env_output("pretty");
    /* local time, HH:MM:SS.mmm without the Z, then the rest exactly */
    assert_true(strlen(out) > 12 && out[2] == ':' && out[5] == ':' && out[8] == '.');
    assert_string_equal(out + 12, " INFO  hello service=svc n=1\n");
    free(out);

    /* auto on a pipe: JSON, parsed back field by field */
    out = env_output("auto");
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    assert_non_null(j);
    assert_string_equal(get_str(j, "msg"), "hello");
    assert_string_equal(get_str(j, "level"), "info");
    assert_int_equal(get_int(j, "n"), 1);
    json_decref(j);
    free(out);
    unsetenv("NO_COLOR");
}

static int run_filter(const char *const *args, const char *in, char *out, size_t cap)
{
    int ip[2], op[2];
    assert_int_equal(pipe(ip), 0);
    assert_int_equal(pipe(op), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(ip[0], 0);
        dup2(op[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        close(ip[1]);
        close(op[0]);
        const char *argv[8] = {SPANLOG_PRETTY_PATH};
        for (int k = 0; args[k] != NULL && k < 6; k++) {
            argv[k + 1] = args[k];
        }
        execv(SPANLOG_PRETTY_PATH, (char *const *)argv);
        _exit(127);
    }
    close(ip[0]);
    close(op[1]);
    size_t len = strlen(in);
    assert_int_equal(write(ip[1], in, len), (ssize_t)len);
    close(ip[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(op[0], out + n, cap - 1 - n)) > 0) {
        n += (size_t)r;
    }
    out[n] = '\0';
    close(op[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_filter_on_pino_and_spanlog(void **state)
{
    (void)state;
    capture c;
    json_t *j = one_record(SL_PROFILE_DEFAULT, &c, SL_LEVEL_DEBUG);
    char in[2048];
    snprintf(in, sizeof in, "%s{\"level\":30,\"time\":1700000000123,\"msg\":\"pino\"}\n",
             c.lines[0].text);
    char out[2048];
    const char *args[] = {"--utc", "--color=never", NULL};
    assert_int_equal(run_filter(args, in, out, sizeof out), 0);
    char t[16];
    short_time(get_str(j, "time"), t);
    char want[1024];
    snprintf(want, sizeof want,
             "%s DEBUG card charged [0af76519-b7ad6b71] service=checkout "
             "requestId=\"r 42\" cents=1299 retry=false rate=0.25\n"
             "22:13:20.123Z INFO  pino\n",
             t);
    assert_string_equal(out, want);
    json_decref(j);
    capture_clear(&c);

    const char *bad[] = {"--bogus", NULL};
    assert_int_equal(run_filter(bad, "", out, sizeof out), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_profile_snapshot),
        cmocka_unit_test(test_every_profile),
        cmocka_unit_test(test_pino_line),
        cmocka_unit_test(test_hostile_values_made_visible),
        cmocka_unit_test(test_cut_output_reports_need),
        cmocka_unit_test(test_color_rules),
        cmocka_unit_test(test_pty_snapshot_colors_and_no_color),
        cmocka_unit_test(test_env_pretty_and_auto),
        cmocka_unit_test(test_filter_on_pino_and_spanlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
