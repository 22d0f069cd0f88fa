/*
 * test_concurrency.c - many threads, one logger: 8 threads x 50,000 records
 * into one fd sink writing a temporary file (every line parses, the count is
 * exact, each line carries the traceId its thread had current and its
 * thread's records arrive in order); a level changed from another thread;
 * child loggers made, used and freed concurrently. Also run under TSan.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core_capture.h"
#include "internal.h"
#include "spanlog/stdout.h"

enum { THREADS = 8, PER_THREAD = 50000 };

typedef struct worker {
    sl_logger *lg;
    int index;
    char trace_hex[SL_TRACE_ID_HEX_LEN + 1];
    pthread_barrier_t *start;
} worker;

static void *log_many(void *arg)
{
    worker *w = arg;
    /* Each thread runs its own trace: a new root span, current on this thread. */
    sl_span *span = sl_span_start("worker", SL_SPAN_INTERNAL);
    if (span == NULL) {
        abort(); /* (cmocka's asserts belong to the main thread) */
    }
    sl_trace_id_to_hex(sl_span_get_context(span)->trace_id, w->trace_hex);
    sl_logger *child = sl_child(w->lg, SL_INT("thread", w->index));
    pthread_barrier_wait(w->start);
    for (int i = 0; i < PER_THREAD; i++) {
        if (i % 3 == 0) {
            sl_infof(child, "record %d of thread %d", i, w->index);
        } else {
            sl_info(child, "record", SL_INT("seq", i), SL_STR("pad", "0123456789"));
        }
    }
    sl_logger_free(child);
    sl_span_end(span);
    return NULL;
}

static void test_threads_into_one_file(void **unused)
{
    (void)unused;
    char path[] = "/tmp/spanlog-concurrency-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    close(tmp);

    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    sl_fd_sink_options fo;
    sl_fd_sink_options_init(&fo);
    fo.path = path;
    sl_sink *sink = NULL;
    assert_int_equal(sl_fd_sink_new(&fo, &sink, NULL), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){.lg = lg, .index = t, .start = &start};
        assert_int_equal(pthread_create(&th[t], NULL, log_many, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(sl_logger_flush(lg, 5000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, THREADS * PER_THREAD);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.errors, 0);
    sl_logger_free(lg);

    /* Read back: every line parses and belongs to its thread's trace. */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t count[THREADS] = {0};
    long next_seq[THREADS] = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t total = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        assert_int_equal(line[n - 1], '\n');
        json_error_t err;
        json_t *r = json_loadb(line, (size_t)n - 1, 0, &err);
        if (r == NULL) {
            fail_msg("line %zu does not parse: %s: %s", total, err.text, line);
        }
        json_int_t t = get_int(r, "thread");
        assert_true(t >= 0 && t < THREADS);
        assert_string_equal(get_str(r, "traceId"), w[t].trace_hex);
        /* A thread's records arrive in the order it wrote them. */
        json_t *seq = json_object_get(r, "seq");
        long s;
        if (seq != NULL) {
            s = (long)json_integer_value(seq);
        } else {
            assert_int_equal(sscanf(get_str(r, "msg"), "record %ld of thread", &s), 1);
        }
        assert_int_equal(s, next_seq[t]);
        next_seq[t]++;
        count[t]++;
        total++;
        json_decref(r);
    }
    free(line);
    fclose(f);
    unlink(path);
    assert_int_equal(total, THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(count[t], PER_THREAD);
    }
}

/* ---- the level, changed from another thread -------------------------------------- */

typedef struct level_run {
    sl_logger *lg;
    capture *cap;
    int64_t deadline;
    long attempts;
} level_run;

static size_t captured(capture *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void *log_until_seen(void *arg)
{
    level_run *r = arg;
    /* Keeps logging at info until a record gets through (or the deadline). */
    while (captured(r->cap) == 0 && sl__monotonic_ns() < r->deadline) {
        sl_info(r->lg, "info", SL_INT("attempt", r->attempts));
        r->attempts++;
    }
    return NULL;
}

static void test_level_changed_from_another_thread(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.level = SL_LEVEL_WARN;
    sl_logger *lg = capture_logger(&o, &c);
    level_run r = {lg, &c, sl__monotonic_ns() + 20LL * 1000000000, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, log_until_seen, &r), 0);
    sl_logger_set_level(lg, SL_LEVEL_INFO); /* the worker sees it */
    pthread_join(th, NULL);
    assert_true(captured(&c) >= 1);
    json_t *rec = capture_parse(&c, 0);
    assert_string_equal(get_str(rec, "level"), "info");
    json_decref(rec);
    sl_logger_free(lg);
    capture_clear(&c);
}

/* ---- children made, used and freed on many threads at once ----------------------- */

static void *churn_children(void *arg)
{
    sl_logger *parent = arg;
    for (int i = 0; i < 2000; i++) {
        sl_logger *child = sl_child(parent, SL_INT("i", i), SL_STR("k", "v"));
        sl_logger *grand = sl_child(child, SL_BOOL("g", true));
        sl_info(grand, "grandchild");
        sl_logger_free(child); /* before its own child */
        sl_debug(grand, "still fine");
        sl_logger_set_level(grand, SL_LEVEL_DEBUG);
        sl_debug(grand, "now on");
        sl_logger_free(grand);
    }
    return NULL;
}

static void test_children_across_threads(void **unused)
{
    (void)unused;
    sl_logger *lg = NULL;
    sl_sink *ns = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_null_sink_new(&ns), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, ns, SL_LEVEL_TRACE), SL_OK);
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_create(&th[t], NULL, churn_children, lg), 0);
    }
    /* Meanwhile: flips of the parent's level. */
    for (int i = 0; i < 1000; i++) {
        sl_logger_set_level(lg, i % 2 ? SL_LEVEL_INFO : SL_LEVEL_ERROR);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
    }
    sl_sink_stats st;
    sl_sink_get_stats(ns, &st);
    /* Each iteration's grandchild: "grandchild" depends on the parent's level
     * at creation, "now on" is always written. */
    assert_true(st.written >= 4 * 2000 && st.written <= 4 * 2000 * 2);
    sl_logger_free(lg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_into_one_file),
        cmocka_unit_test(test_level_changed_from_another_thread),
        cmocka_unit_test(test_children_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
