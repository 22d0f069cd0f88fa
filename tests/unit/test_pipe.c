/*
 * test_pipe.c - spanlog-pipe end to end: the real binary, real pipes and
 * files, every record parsed back with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>
#include "spanlog/features.h"
#if SPANLOG_WITH_LOKI
#include <curl/curl.h>
#endif
#include <jansson.h>

#include "unit/loopback.h"

#ifndef SPANLOG_PIPE_PATH
#error "SPANLOG_PIPE_PATH must name the spanlog-pipe binary"
#endif

struct run {
    int status; /* exit code, or -1 when killed */
    char *out;  /* stdout, NUL-terminated */
    size_t out_len;
    char *err;
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

/*
 * Runs spanlog-pipe with argv and extra environment (NAME=VALUE, NULL-ended)
 * on `in`, capturing stdout and stderr through files. closed_stdout: stdout
 * is a pipe whose read end is already closed (every write fails with EPIPE).
 */
static struct run run_pipe(const char *const *args, const char *const *env,
                           const void *in, size_t in_len, int closed_stdout)
{
    char dir[] = "/tmp/sl-pipe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char inp[64], outp[64], errp[64];
    snprintf(inp, sizeof(inp), "%s/in", dir);
    snprintf(outp, sizeof(outp), "%s/out", dir);
    snprintf(errp, sizeof(errp), "%s/err", dir);
    FILE *f = fopen(inp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(in, 1, in_len, f), in_len);
    fclose(f);

    int dead[2] = {-1, -1};
    if (closed_stdout) {
        assert_int_equal(pipe(dead), 0);
        close(dead[0]);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int i = open(inp, O_RDONLY);
        int o = closed_stdout ? dead[1] : open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (i < 0 || o < 0 || e < 0) {
            _exit(126);
        }
        dup2(i, 0);
        dup2(o, 1);
        dup2(e, 2);
        unsetenv("TRACEPARENT");
        unsetenv("TRACESTATE");
        unsetenv("OTEL_SERVICE_NAME");
        for (size_t k = 0; env != NULL && env[k] != NULL; k++) {
            putenv((char *)env[k]);
        }
        const char *argv[32] = {SPANLOG_PIPE_PATH};
        for (size_t k = 0; args != NULL && args[k] != NULL && k < 30; k++) {
            argv[k + 1] = args[k];
        }
        execv(SPANLOG_PIPE_PATH, (char *const *)argv);
        _exit(127);
    }
    if (closed_stdout) {
        close(dead[1]);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    struct run r = {.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1};
    if (closed_stdout) {
        r.out = calloc(1, 1);
        r.out_len = 0;
    } else {
        r.out = slurp(outp, &r.out_len);
    }
    r.err = slurp(errp, NULL);
    unlink(inp);
    unlink(outp);
    unlink(errp);
    rmdir(dir);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Splits stdout into parsed records; every line must be one JSON object. */
static size_t parse_lines(const struct run *r, json_t **recs, size_t max)
{
    size_t n = 0;
    const char *p = r->out, *end = r->out + r->out_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl); /* every record ends in a newline */
        json_error_t jerr;
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, &jerr);
        if (j == NULL) {
            fail_msg("line %zu is not JSON: %s", n + 1, jerr.text);
        }
        assert_true(json_is_object(j));
        assert_true(n < max);
        recs[n++] = j;
        p = nl + 1;
    }
    return n;
}

static const char *str(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    if (!json_is_string(v)) {
        fail_msg("key %s missing or not a string", key);
    }
    return json_string_value(v);
}

static void assert_correlated(json_t *rec)
{
    const char *t = str(rec, "traceId"), *s = str(rec, "spanId");
    assert_int_equal(strlen(t), 32);
    assert_int_equal(strlen(s), 16);
    assert_int_equal(strspn(t, "0123456789abcdef"), 32);
    assert_int_equal(strspn(s, "0123456789abcdef"), 16);
    char corr[18];
    snprintf(corr, sizeof(corr), "%.8s-%.8s", t, s);
    assert_string_equal(str(rec, "correlationId"), corr);
}

/*
 * The --stats line of sink `index` (0-based): stderr also carries the
 * library's diagnostics, so only lines that start with '{' count. Fails the
 * test when that line is missing or not JSON.
 */
static json_t *stats_line(const struct run *r, size_t index)
{
    size_t k = 0;
    for (const char *p = r->err; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len > 0 && p[0] == '{' && k++ == index) {
            json_error_t jerr;
            json_t *j = json_loadb(p, len, 0, &jerr);
            if (j == NULL) {
                fail_msg("stats line not JSON: %s (%s)", jerr.text, r->err);
            }
            return j;
        }
        p += len + (nl != NULL);
    }
    fail_msg("no stats line %zu in: %s", index, r->err);
    return NULL;
}

static json_int_t stat_of(const json_t *stats, const char *key)
{
    json_t *v = json_object_get(stats, key);
    if (!json_is_integer(v)) {
        fail_msg("stats key %s missing or not an integer", key);
    }
    return json_integer_value(v);
}

static void test_lines_become_records(void **state)
{
    const char in[] = "first line\nsecond \"quoted\" \\ line\r\n\nlast without newline";
    const char *args[] = {"--service", "billing", "--level", "warn", NULL};
    struct run r = run_pipe(args, NULL, in, sizeof(in) - 1, 0);
    assert_int_equal(r.status, 0);
    json_t *recs[8];
    size_t n = parse_lines(&r, recs, 8);
    assert_int_equal(n, 4);
    const char *want[] = {"first line", "second \"quoted\" \\ line", "",
                          "last without newline"};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(str(recs[i], "msg"), want[i]);
        assert_string_equal(str(recs[i], "level"), "warn");
        assert_string_equal(str(recs[i], "service"), "billing");
        assert_correlated(recs[i]);
        /* One span for the whole run. */
        assert_string_equal(str(recs[i], "traceId"), str(recs[0], "traceId"));
        assert_string_equal(str(recs[i], "spanId"), str(recs[0], "spanId"));
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(recs[i]);
    }
    run_free(&r);
}

static void test_traceparent_from_env_and_flag(void **state)
{
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const char *env[] = {
        "TRACEPARENT=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL};
    for (int use_flag = 0; use_flag < 2; use_flag++) {
        const char *args[] = {"--traceparent", tp, NULL};
        struct run r =
            run_pipe(use_flag ? args : NULL, use_flag ? NULL : env, "x\n", 2, 0);
        assert_int_equal(r.status, 0);
        json_t *rec[2];
        assert_int_equal(parse_lines(&r, rec, 2), 1);
        /* The run is a child span of the incoming parent: same trace, new span. */
        assert_string_equal(str(rec[0], "traceId"), "0af7651916cd43dd8448eb211c80319c");
        assert_string_not_equal(str(rec[0], "spanId"), "b7ad6b7169203331");
        assert_correlated(rec[0]);
        json_decref(rec[0]);
        run_free(&r);
    }
}

static void test_invalid_traceparent_starts_new_trace(void **state)
{
    /* Uppercase hex is invalid in version 00. */
    const char *args[] = {
        "--traceparent", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", NULL};
    struct run r = run_pipe(args, NULL, "x\n", 2, 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "invalid traceparent"));
    json_t *rec[2];
    assert_int_equal(parse_lines(&r, rec, 2), 1);
    assert_correlated(rec[0]);
    assert_string_not_equal(str(rec[0], "traceId"), "0af7651916cd43dd8448eb211c80319c");
    json_decref(rec[0]);
    run_free(&r);
}

static void test_hostile_lines(void **state)
{
    /* Control bytes, invalid UTF-8, an embedded NUL, and a 200 KiB line. */
    size_t big = 200 * 1024;
    size_t cap = big + 64;
    char *in = malloc(cap);
    assert_non_null(in);
    size_t n = 0;
    const char a[] = "bell\a tab\t esc\x1b del\x7f\n";
    memcpy(in + n, a, sizeof(a) - 1);
    n += sizeof(a) - 1;
    const char b[] = "bad \xff\xfe utf8 \xc3\n";
    memcpy(in + n, b, sizeof(b) - 1);
    n += sizeof(b) - 1;
    const char c[] = "nul\0byte\n";
    memcpy(in + n, c, sizeof(c) - 1);
    n += sizeof(c) - 1;
    memset(in + n, 'z', big - 40);
    n += big - 40;
    in[n++] = '\n';

    const char *args[] = {"--stats", NULL};
    struct run r = run_pipe(args, NULL, in, n, 0);
    free(in);
    assert_int_equal(r.status, 0);
    json_t *rec[8];
    assert_int_equal(parse_lines(&r, rec, 8), 4);
    assert_string_equal(str(rec[0], "msg"), "bell\a tab\t esc\x1b del\x7f");
    assert_string_equal(str(rec[1], "msg"),
                        "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd");
    assert_string_equal(str(rec[2], "msg"), "nul\xef\xbf\xbd"
                                            "byte");
    /* The long line is cut to the default 64 KiB record limit, still valid. */
    assert_true(json_is_true(json_object_get(rec[3], "truncated")));
    size_t len3 = strlen(str(rec[3], "msg"));
    assert_true(len3 > 1000 && len3 < 65536);
    const char *last = strrchr(r.out, '\n');
    const char *prev = last - 1;
    while (prev > r.out && *prev != '\n') {
        prev--;
    }
    assert_true((size_t)(last - prev) <= 65536);
    /* --stats: one JSON object per sink on stderr. */
    json_t *stats = stats_line(&r, 0);
    assert_int_equal(stat_of(stats, "written"), 4);
    assert_int_equal(stat_of(stats, "dropped"), 0);
    assert_string_equal(str(stats, "target"), "stdout");
    json_decref(stats);
    for (int i = 0; i < 4; i++) {
        json_decref(rec[i]);
    }
    run_free(&r);
}

static void test_closed_stdout_counts_drops_and_fails(void **state)
{
    const char in[] = "a\nb\nc\n";
    const char *args[] = {"--stats", NULL};
    struct run r = run_pipe(args, NULL, in, sizeof(in) - 1, 1);
    assert_int_equal(r.status, 1);
    json_t *stats = stats_line(&r, 0);
    assert_int_equal(stat_of(stats, "written"), 0);
    assert_int_equal(stat_of(stats, "dropped"), 3);
    json_decref(stats);
    /* Exit 1 is explained, and the library named the sink's trouble. */
    assert_non_null(strstr(r.err, "spanlog-pipe: 3 records dropped; exit status 1\n"));
    assert_non_null(strstr(r.err, "spanlog: fd stdout: write to fd 1: Broken pipe"));
    run_free(&r);
}

static void test_file_sink_and_profile(void **state)
{
    char path[] = "/tmp/sl-pipe-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char sink[64];
    snprintf(sink, sizeof(sink), "file:%s", path);
    const char *args[] = {"--sink", sink, "--format", "otel", "--service", "s", NULL};
    struct run r = run_pipe(args, NULL, "one\ntwo\n", 8, 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 0); /* nothing on stdout */
    free(r.out);
    r.out = slurp(path, &r.out_len);
    unlink(path);
    json_t *rec[4];
    assert_int_equal(parse_lines(&r, rec, 4), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(strlen(str(rec[i], "trace_id")), 32);
        assert_int_equal(strlen(str(rec[i], "span_id")), 16);
        assert_null(json_object_get(rec[i], "traceId"));
        json_decref(rec[i]);
    }
    run_free(&r);
}

static void test_usage_errors(void **state)
{
    /* Each bad command line, and the exact message it must give. */
    struct {
        const char *args[3];
        const char *msg;
    } bad[] = {
        {{"--level", "loud", NULL}, "spanlog-pipe: unknown level loud\n"},
        {{"--sink", "carrier-pigeon:x", NULL}, "spanlog-pipe: sink carrier-pigeon:x: "},
        {{"--format", "xml", NULL}, "spanlog-pipe: unknown format xml\n"},
        {{"--nope", NULL, NULL}, "spanlog-pipe: unknown option --nope\n"},
        {{"--bogus", "x", NULL}, "spanlog-pipe: unknown option --bogus\n"},
        {{"stray", NULL, NULL}, "spanlog-pipe: unknown argument stray\n"},
        {{"--level", NULL, NULL}, "spanlog-pipe: --level needs a value\n"},
        {{"--max-record-bytes", "-5", NULL},
         "spanlog-pipe: --max-record-bytes must be a whole number of bytes from 1024 to "
         "67108864, not \"-5\"\n"},
        {{"--max-record-bytes", "5", NULL},
         "spanlog-pipe: --max-record-bytes must be a whole number of bytes from 1024 to "
         "67108864, not \"5\"\n"},
        {{"--flush-timeout", "-5", NULL},
         "spanlog-pipe: --flush-timeout must be a whole number of milliseconds from 0 to "
         "3600000, not \"-5\"\n"},
        {{"--flush-timeout", "1e3", NULL},
         "spanlog-pipe: --flush-timeout must be a whole number of milliseconds from 0 to "
         "3600000, not \"1e3\"\n"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct run r = run_pipe(bad[i].args, NULL, "x\n", 2, 0);
        assert_int_equal(r.status, 2);
        assert_int_equal(r.out_len, 0);
        if (strncmp(r.err, bad[i].msg, strlen(bad[i].msg)) != 0) {
            fail_msg("case %zu: stderr is \"%s\", expected to start with \"%s\"", i,
                     r.err, bad[i].msg);
        }
        run_free(&r);
    }
}

static void test_help_states_exit_codes(void **state)
{
    const char *args[] = {"--help", NULL};
    struct run r = run_pipe(args, NULL, "", 0, 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "exit status:\n"));
    assert_non_null(strstr(r.out, "  0  every record was delivered\n"));
    assert_non_null(strstr(r.out, "  1  some record was dropped"));
    assert_non_null(strstr(r.out, "  2  usage or setup error\n"));
    assert_non_null(strstr(r.out, "1024 to 67108864"));
    assert_non_null(strstr(r.out, "0 to 3600000"));
    run_free(&r);
}

#if SPANLOG_WITH_LOKI
/*
 * Loki unreachable: the records still queued when the flush deadline runs
 * out are dropped at shutdown, and --stats, printed after it, counts them.
 * (It used to print before closing: "dropped":0 and exit 0.)
 */
static void test_stats_are_final_after_shutdown(void **state)
{
    /* Bound but not listening: every connection is refused, and no other
     * test can take the port meanwhile. */
    int port = 0;
    int sock = loopback_socket(SOCK_STREAM, &port);
    char target[64];
    snprintf(target, sizeof(target), "loki:http://127.0.0.1:%d", port);
    const char *args[] = {"--sink", target, "--stats", "--flush-timeout", "300", NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct run r = run_pipe(args, NULL, "a\nb\n", 4, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(r.status, 1);
    json_t *stats = stats_line(&r, 0);
    assert_string_equal(str(stats, "sink"), "loki");
    assert_int_equal(stat_of(stats, "written"), 0);
    assert_int_equal(stat_of(stats, "dropped"), 2);
    json_decref(stats);
    assert_non_null(strstr(r.err, "spanlog-pipe: 2 records dropped; exit status 1\n"));
    /* The library told stderr which sink lost what. */
    char want[96];
    snprintf(want, sizeof(want), "spanlog: loki http://127.0.0.1:%d: ", port);
    assert_non_null(strstr(r.err, want));
    fprintf(stderr, "stats after shutdown: %.2f s\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    close(sock);
    run_free(&r);
}
#else
/* Built without Loki: a loki: target is refused, by name, before anything
 * is read or opened. */
static void test_stats_are_final_after_shutdown(void **state)
{
    const char *args[] = {"--sink", "loki:http://127.0.0.1:9", NULL};
    struct run r = run_pipe(args, NULL, "a\n", 2, 0);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.out_len, 0);
    assert_non_null(strstr(r.err, "built without loki"));
    run_free(&r);
}
#endif

static void test_empty_input(void **state)
{
    struct run r = run_pipe(NULL, NULL, "", 0, 0);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 0);
    run_free(&r);
}

/* ---- through the adapters: Loki (the strict receiver) and syslog (UDP) ---- */

#if SPANLOG_WITH_LOKI
static size_t collect(char *p, size_t size, size_t n, void *user)
{
    char **buf = user;
    size_t old = *buf ? strlen(*buf) : 0;
    char *grown = realloc(*buf, old + size * n + 1);
    assert_non_null(grown);
    memcpy(grown + old, p, size * n);
    grown[old + size * n] = '\0';
    *buf = grown;
    return size * n;
}

/* An HTTP request to the receiver's control API; returns the body (or ""). */
static char *http(const char *method, const char *url)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char *body = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    return body ? body : calloc(1, 1);
}

static void test_pipe_to_loki(void **state)
{
    char portfile[] = "/tmp/sl-pipe-loki-XXXXXX";
    int fd = mkstemp(portfile);
    assert_true(fd >= 0);
    close(fd);
    unlink(portfile);
    char parent[32];
    snprintf(parent, sizeof(parent), "%d", (int)getpid());
    pid_t rx = fork();
    assert_true(rx >= 0);
    if (rx == 0) {
        execlp("python3", "python3", SL_SOURCE_DIR "/tests/integration/loki_receiver.py",
               "--port-file", portfile, "--parent-pid", parent, "--lifetime", "120",
               (char *)NULL);
        _exit(127);
    }
    /* Wait for the port with a deadline: the receiver writes it once listening. */
    int port = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", &port);
            fclose(f);
            if (ok == 1 && port > 0) {
                break;
            }
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - t0.tv_sec < 20);
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    unlink(portfile);

    char target[96], base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(target, sizeof(target), "loki:%s", base);
    const char *args[] = {"--sink", target, "--service", "pipe-test", "--stats", NULL};
    const char in[] = "one\ntwo \"2\"\nthree\n";
    struct run r = run_pipe(args, NULL, in, sizeof(in) - 1, 0);
    assert_int_equal(r.status, 0); /* the pipe flushes: everything acknowledged */
    json_error_t jerr;
    json_t *stats = stats_line(&r, 0);
    assert_int_equal(stat_of(stats, "written"), 3);
    assert_int_equal(stat_of(stats, "dropped"), 0);
    json_decref(stats);

    char url[128];
    snprintf(url, sizeof(url), "%s/control/entries", base);
    char *body = http("GET", url);
    json_t *got = json_loads(body, 0, &jerr);
    assert_non_null(got);
    json_t *streams = json_object_get(got, "streams");
    assert_int_equal(json_array_size(streams), 1);
    json_t *st = json_array_get(streams, 0);
    json_t *labels = json_object_get(st, "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "service_name")),
                        "pipe-test");
    json_t *entries = json_object_get(st, "entries");
    assert_int_equal(json_array_size(entries), 3);
    const char *want[] = {"one", "two \"2\"", "three"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(entries, i);
        json_t *rec = json_loads(json_string_value(json_object_get(e, "line")), 0, &jerr);
        assert_non_null(rec);
        assert_string_equal(str(rec, "msg"), want[i]);
        assert_string_equal(str(rec, "service"), "pipe-test");
        assert_correlated(rec);
        json_t *md = json_object_get(e, "metadata");
        assert_string_equal(json_string_value(json_object_get(md, "trace_id")),
                            str(rec, "traceId"));
        assert_string_equal(json_string_value(json_object_get(md, "span_id")),
                            str(rec, "spanId"));
        json_decref(rec);
    }
    json_decref(got);
    free(body);
    snprintf(url, sizeof(url), "%s/control/shutdown", base);
    free(http("POST", url));
    int wst = 0;
    assert_int_equal(waitpid(rx, &wst, 0), rx);
    run_free(&r);
}

#endif /* SPANLOG_WITH_LOKI */

static void test_pipe_to_syslog_udp(void **state)
{
    int port = 0;
    int s = loopback_socket(SOCK_DGRAM, &port);
    char target[64];
    snprintf(target, sizeof(target), "syslog:udp://127.0.0.1:%d", port);
    const char *args[] = {"--sink", target, "--service", "job", "--level", "error", NULL};
    struct run r = run_pipe(args, NULL, "disk full\nretrying\n", 19, 0);
    assert_int_equal(r.status, 0);
    for (int i = 0; i < 2; i++) {
        struct pollfd pfd = {.fd = s, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 10000), 1);
        char dg[4096];
        ssize_t n = recv(s, dg, sizeof(dg) - 1, MSG_DONTWAIT);
        assert_true(n > 0);
        dg[n] = '\0';
        /* RFC 5424: <PRI>1 ...; user.err = 1 * 8 + 3 = 11. */
        assert_int_equal(strncmp(dg, "<11>1 ", 6), 0);
        const char *json = strstr(dg, " {\"time\"");
        assert_non_null(json);
        json_error_t jerr;
        json_t *rec = json_loads(json + 1, 0, &jerr);
        if (rec == NULL) {
            fail_msg("MSG is not the JSON record: %s", jerr.text);
        }
        assert_string_equal(str(rec, "msg"), i == 0 ? "disk full" : "retrying");
        assert_string_equal(str(rec, "level"), "error");
        char sd[128];
        snprintf(sd, sizeof(sd), "[opentelemetry trace_id=\"%s\" span_id=\"%s\"",
                 str(rec, "traceId"), str(rec, "spanId"));
        assert_non_null(strstr(dg, sd));
        json_decref(rec);
    }
    char extra[16];
    assert_true(recv(s, extra, sizeof(extra), MSG_DONTWAIT) < 0);
    close(s);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_become_records),
        cmocka_unit_test(test_traceparent_from_env_and_flag),
        cmocka_unit_test(test_invalid_traceparent_starts_new_trace),
        cmocka_unit_test(test_hostile_lines),
        cmocka_unit_test(test_closed_stdout_counts_drops_and_fails),
        cmocka_unit_test(test_file_sink_and_profile),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_states_exit_codes),
        cmocka_unit_test(test_stats_are_final_after_shutdown),
        cmocka_unit_test(test_empty_input),
#if SPANLOG_WITH_LOKI
        cmocka_unit_test(test_pipe_to_loki),
#endif
        cmocka_unit_test(test_pipe_to_syslog_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
