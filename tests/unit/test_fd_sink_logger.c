/*
 * test_fd_sink_logger.c - the fd sink behind a real logger: records from
 * 2 processes x 4 threads, each thread inside its own span, into one
 * O_APPEND file; per-sink levels; a buffered sink that is never freed is
 * still written at exit. Every line is parsed with jansson, key by key.
 */
#include <fcntl.h>
#include <pthread.h>
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

#include "spanlog/spanlog.h"
#include "spanlog/stdout.h"
#include "unit/fd_files.h"

#define PROCS   2
#define THREADS 4
#define RECORDS 20000

static const char hostile[] = "quote\" back\\ nl\n tab\t ctl\x01 bad\xff end";
static const char hostile_decoded[] =
    "quote\" back\\ nl\n tab\t ctl\x01 bad\xef\xbf\xbd end";

/* ---- many threads and processes through loggers ---------------------------------- */

typedef struct worker {
    sl_logger *lg;
    int p, t;
    char trace_hex[SL_TRACE_ID_HEX_LEN + 1];
    char span_hex[SL_SPAN_ID_HEX_LEN + 1];
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    sl_span *span = sl_span_start("work", SL_SPAN_INTERNAL);
    const sl_span_context *ctx = sl_span_get_context(span);
    sl_trace_id_to_hex(ctx->trace_id, w->trace_hex);
    sl_span_id_to_hex(ctx->span_id, w->span_hex);
    for (int i = 0; i < RECORDS; i++) {
        sl_info(w->lg, "hello", SL_INT("p", w->p), SL_INT("t", w->t), SL_INT("i", i),
                SL_STR("s", hostile), SL_STR("trace", w->trace_hex));
    }
    sl_span_end(span);
    return NULL;
}

static int process_main(const char *path, int p)
{
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = "svc";
    sl_logger *lg;
    if (sl_logger_new(&lo, &lg) != SL_OK) {
        return 2;
    }
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.path = path;
    sl_sink *sink;
    if (sl_fd_sink_new(&o, &sink, NULL) != SL_OK ||
        sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE)) {
        return 3;
    }
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){.lg = lg, .p = p, .t = t};
        pthread_create(&th[t], NULL, worker_main, &w[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    sl_logger_free(lg);
    return st.written == THREADS * RECORDS && st.dropped == 0 ? 0 : 4;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        fail_msg("key %s is not a string", key);
    }
    return json_string_value(v);
}

/* What the reader has seen of each thread: its next record and its trace. */
typedef struct seen {
    int next[PROCS][THREADS];
    char traces[PROCS][THREADS][SL_TRACE_ID_HEX_LEN + 1];
} seen;

static void check_line(json_t *obj, void *user)
{
    seen *s = user;
    assert_string_equal(jstr(obj, "level"), "info");
    assert_string_equal(jstr(obj, "msg"), "hello");
    assert_string_equal(jstr(obj, "service"), "svc");
    assert_int_equal(strlen(jstr(obj, "time")), 27); /* microseconds */
    assert_string_equal(jstr(obj, "s"), hostile_decoded);
    int p = jint(obj, "p"), t = jint(obj, "t"), i = jint(obj, "i");
    assert_true(p >= 0 && p < PROCS && t >= 0 && t < THREADS);
    assert_int_equal(i, s->next[p][t]);
    s->next[p][t]++;
    /* the record carries the span its thread had current */
    const char *trace = jstr(obj, "traceId");
    assert_string_equal(trace, jstr(obj, "trace"));
    if (i == 0) {
        snprintf(s->traces[p][t], sizeof s->traces[p][t], "%s", trace);
    } else {
        assert_string_equal(trace, s->traces[p][t]);
    }
    char corr[SL_CORRELATION_ID_LEN + 1];
    snprintf(corr, sizeof corr, "%.8s-%.8s", trace, jstr(obj, "spanId"));
    assert_string_equal(jstr(obj, "correlationId"), corr);
}

static void test_threads_processes(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "lg");
    run_processes(PROCS, process_main, path);

    size_t len;
    char *data = slurp(path, &len);
    seen s;
    memset(&s, 0, sizeof s);
    size_t lines = for_each_line(data, len, check_line, &s);
    assert_int_equal(lines, PROCS * THREADS * RECORDS);
    for (int p = 0; p < PROCS; p++) {
        for (int t = 0; t < THREADS; t++) {
            assert_int_equal(s.next[p][t], RECORDS);
        }
    }
    free(data);
    unlink(path);
}

/* ---- per-sink level, buffered at exit ---------------------------------------------- */

typedef struct msg_count {
    const char *msg;
    size_t n;
} msg_count;

static void count_line(json_t *obj, void *user)
{
    msg_count *c = user;
    if (strcmp(jstr(obj, "msg"), c->msg) == 0) {
        c->n++;
    }
}

static size_t count_msgs(const char *path, const char *msg)
{
    size_t len;
    char *data = slurp(path, &len);
    msg_count c = {msg, 0};
    for_each_line(data, len, count_line, &c);
    free(data);
    return c.n;
}

static void test_sink_level(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "lvl");
    sl_logger *lg;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.path = path;
    sl_sink *sink;
    assert_int_equal(sl_fd_sink_new(&o, &sink, NULL), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_WARN), SL_OK);
    sl_info(lg, "quiet");
    sl_warn(lg, "loud", SL_DOUBLE("ratio", 0.5));
    sl_error(lg, "loud");
    sl_logger_free(lg);
    assert_int_equal(count_msgs(path, "quiet"), 0);
    assert_int_equal(count_msgs(path, "loud"), 2);
    unlink(path);
}

/* A logger and its buffered sink, never freed: the records still reach the
 * file when the process exits. */
static void test_buffered_at_exit(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "lgexit");
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        sl_logger *lg;
        sl_fd_sink_options o;
        sl_fd_sink_options_init(&o);
        o.path = path;
        o.buffered = true;
        sl_sink *sink;
        if (sl_logger_new(NULL, &lg) != SL_OK ||
            sl_fd_sink_new(&o, &sink, NULL) != SL_OK ||
            sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) != SL_OK) {
            _exit(2);
        }
        for (int i = 0; i < 25; i++) {
            sl_info(lg, "buffered", SL_INT("i", i));
        }
        exit(0);
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(count_msgs(path, "buffered"), 25);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_processes),
        cmocka_unit_test(test_sink_level),
        cmocka_unit_test(test_buffered_at_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
