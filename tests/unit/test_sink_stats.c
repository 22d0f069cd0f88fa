/*
 * test_sink_stats.c - the sink wrapper: argument checks, counters, the
 * rate-limited error callback (also raced by several threads), the
 * close/destroy life cycle, the null sink and the fork hooks.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"
#include "internal.h"

/* ---- a recording sink ------------------------------------------------------ */

typedef struct rec_state {
    int writes, flushes, closes, destroys;
    int prepares, parents, children;
    int order; /* sequence number source for close/destroy ordering */
    int close_seq, destroy_seq;
    sl_status flush_result;
} rec_state;

static void rec_write(sl_sink *s, const sl_record *r, const char *line, size_t len)
{
    (void)r;
    (void)line;
    (void)len;
    ((rec_state *)sl_sink_state(s))->writes++;
    sl_sink_count_written(s, 1);
}
static sl_status rec_flush(sl_sink *s, int t)
{
    (void)t;
    rec_state *st = sl_sink_state(s);
    st->flushes++;
    return st->flush_result;
}
static sl_status rec_close(sl_sink *s, int t)
{
    (void)t;
    rec_state *st = sl_sink_state(s);
    st->closes++;
    st->close_seq = ++st->order;
    return SL_OK;
}
static void rec_destroy(sl_sink *s)
{
    rec_state *st = sl_sink_state(s);
    st->destroys++;
    st->destroy_seq = ++st->order;
}
static void rec_prepare(sl_sink *s)
{
    ((rec_state *)sl_sink_state(s))->prepares++;
}
static void rec_parent(sl_sink *s)
{
    ((rec_state *)sl_sink_state(s))->parents++;
}
static void rec_child(sl_sink *s)
{
    ((rec_state *)sl_sink_state(s))->children++;
}

static const sl_sink_vtable rec_vt = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "recorder",
    .write = rec_write,
    .flush = rec_flush,
    .close = rec_close,
    .destroy = rec_destroy,
    .atfork_prepare = rec_prepare,
    .atfork_parent = rec_parent,
    .atfork_child = rec_child,
};

static const sl_sink_vtable minimal_vt = {
    .version = SL_SINK_VTABLE_VERSION,
    .write = rec_write,
};

/* ---- tests ------------------------------------------------------------------- */

static void test_new_rejects_bad_arguments(void **unused)
{
    (void)unused;
    rec_state st = {0};
    sl_sink *s = (sl_sink *)&st; /* must be overwritten with NULL */
    assert_int_equal(sl_sink_new(NULL, &st, &s), SL_EINVAL);
    assert_null(s);
    assert_int_equal(sl_sink_new(&rec_vt, &st, NULL), SL_EINVAL);

    sl_sink_vtable no_write = rec_vt;
    no_write.write = NULL;
    assert_int_equal(sl_sink_new(&no_write, &st, &s), SL_EINVAL);
    sl_sink_vtable bad_version = rec_vt;
    bad_version.version = 0;
    assert_int_equal(sl_sink_new(&bad_version, &st, &s), SL_EINVAL);
    bad_version.version = SL_SINK_VTABLE_VERSION + 1;
    assert_int_equal(sl_sink_new(&bad_version, &st, &s), SL_EINVAL);
    assert_null(s);
    /* The state was never touched by the failed constructors. */
    assert_int_equal(st.closes + st.destroys + st.writes, 0);
}

static void test_state_name_and_null_handling(void **unused)
{
    (void)unused;
    rec_state st = {0};
    sl_sink *s = NULL;
    assert_int_equal(sl_sink_new(&rec_vt, &st, &s), SL_OK);
    assert_ptr_equal(sl_sink_state(s), &st);
    assert_string_equal(sl_sink_name(s), "recorder");
    sl_sink *m = NULL;
    assert_int_equal(sl_sink_new(&minimal_vt, NULL, &m), SL_OK);
    assert_string_equal(sl_sink_name(m), "sink");
    assert_null(sl_sink_state(m));
    assert_int_equal(sl_sink_flush(m, 100), SL_OK); /* no flush callback */

    /* NULL sinks: no crash, harmless results. */
    assert_null(sl_sink_state(NULL));
    assert_non_null(sl_sink_name(NULL));
    assert_int_equal(sl_sink_flush(NULL, 0), SL_EINVAL);
    sl_sink_count_written(NULL, 1);
    sl_sink_count_dropped(NULL, 1);
    sl_sink_report_error(NULL, SL_EIO, "x");
    sl_sink_set_error_callback(NULL, NULL, NULL);
    sl_sink_stats z;
    sl_sink_stats_init(&z);
    z.written = z.dropped = z.errors = 7;
    sl_sink_get_stats(NULL, &z);
    assert_true(z.written == 0 && z.dropped == 0 && z.errors == 0);
    sl_sink_get_stats(s, NULL);
    sl_sink_free(NULL, 0);

    sl_sink_free(m, 0);
    sl_sink_free(s, 0);
}

static void test_counters(void **unused)
{
    (void)unused;
    rec_state st = {0};
    sl_sink *s = NULL;
    assert_int_equal(sl_sink_new(&rec_vt, &st, &s), SL_OK);
    sl_sink_stats stats;
    sl_sink_get_stats(s, &stats);
    assert_true(stats.written == 0 && stats.dropped == 0 && stats.errors == 0);
    sl_sink_count_written(s, 3);
    sl_sink_count_written(s, 4);
    sl_sink_count_dropped(s, 5);
    sl_sink_report_error(s, SL_EIO, "no callback set: %d", 1);
    sl_sink_report_error(s, SL_EIO, "no callback set: %d", 2);
    sl_sink_get_stats(s, &stats);
    assert_int_equal(stats.written, 7);
    assert_int_equal(stats.dropped, 5);
    assert_int_equal(stats.errors, 2);
    sl_sink_free(s, 0);
}

static void test_flush_close_destroy_once_in_order(void **unused)
{
    (void)unused;
    rec_state st = {0};
    st.flush_result = SL_ETIMEDOUT;
    sl_sink *s = NULL;
    size_t live = sl__sink_live_count();
    assert_int_equal(sl_sink_new(&rec_vt, &st, &s), SL_OK);
    assert_int_equal(sl__sink_live_count(), live + 1);
    assert_int_equal(sl_sink_flush(s, 10), SL_ETIMEDOUT);
    assert_int_equal(st.flushes, 1);
    sl__sink_write(s, NULL, "{}\n", 3);
    assert_int_equal(st.writes, 1);
    sl_sink_free(s, 10);
    assert_int_equal(st.closes, 1);
    assert_int_equal(st.destroys, 1);
    assert_true(st.close_seq < st.destroy_seq);
    assert_int_equal(sl__sink_live_count(), live);
}

static void test_null_sink_counts(void **unused)
{
    (void)unused;
    assert_int_equal(sl_null_sink_new(NULL), SL_EINVAL);
    sl_sink *s = NULL;
    assert_int_equal(sl_null_sink_new(&s), SL_OK);
    assert_string_equal(sl_sink_name(s), "null");
    for (int i = 0; i < 10; i++) {
        sl__sink_write(s, NULL, "{}\n", 3);
    }
    sl_sink_stats stats;
    sl_sink_get_stats(s, &stats);
    assert_int_equal(stats.written, 10);
    assert_int_equal(stats.dropped, 0);
    assert_int_equal(sl_sink_flush(s, 0), SL_OK);
    sl_sink_free(s, 0);
}

/* ---- the error callback ------------------------------------------------------ */

typedef struct err_log {
    pthread_mutex_t mu;
    int calls;
    sl_status last_code;
    char last_text[600];
    uint64_t last_suppressed;
    uint64_t total_suppressed;
    bool reenter; /* the callback reports another error on the same sink */
} err_log;

static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    err_log *e = user;
    pthread_mutex_lock(&e->mu);
    e->calls++;
    e->last_code = code;
    snprintf(e->last_text, sizeof(e->last_text), "%s", text);
    e->last_suppressed = suppressed;
    e->total_suppressed += suppressed;
    bool reenter = e->reenter;
    pthread_mutex_unlock(&e->mu);
    if (reenter) {
        /* No sink lock is held here: reporting again must neither deadlock nor
         * recurse into a second call within the same second. */
        sl_sink_report_error((sl_sink *)sink, SL_EIO, "from the callback");
    }
}

/* Waits, by polling the monotonic clock, until `ns` have passed since t0. */
static void wait_until_elapsed(int64_t t0, int64_t ns)
{
    while (sl__monotonic_ns() - t0 < ns) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void test_error_callback_rate_limited(void **unused)
{
    (void)unused;
    err_log e = {.mu = PTHREAD_MUTEX_INITIALIZER, .reenter = true};
    sl_sink *s = NULL;
    assert_int_equal(sl_null_sink_new(&s), SL_OK);
    sl_sink_set_error_callback(s, on_error, &e);

    int64_t t0 = sl__monotonic_ns();
    sl_sink_report_error(s, SL_EIO, "write failed: %s (%d)", "broken pipe", 32);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.last_code, SL_EIO);
    assert_string_equal(e.last_text, "write failed: broken pipe (32)");
    assert_int_equal(e.last_suppressed, 0);

    /* The re-entrant report plus these five all fall inside the same second. */
    for (int i = 0; i < 5; i++) {
        sl_sink_report_error(s, SL_ETIMEDOUT, "again %d", i);
    }
    if (sl__monotonic_ns() - t0 < 1000000000LL) {
        assert_int_equal(e.calls, 1);
    }
    sl_sink_stats stats;
    sl_sink_get_stats(s, &stats);
    assert_int_equal(stats.errors, 7);

    /* A second later the next error is reported, with the count in between. */
    wait_until_elapsed(t0, 1000000000LL);
    e.reenter = false;
    sl_sink_report_error(s, SL_EPROTO, "later");
    assert_int_equal(e.calls, 2);
    assert_int_equal(e.last_code, SL_EPROTO);
    assert_string_equal(e.last_text, "later");
    assert_int_equal(e.last_suppressed, 6);
    sl_sink_get_stats(s, &stats);
    assert_int_equal(stats.errors, 8);

    /* Long texts are cut, not overflowed; a NULL format gives "". */
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wait_until_elapsed(sl__monotonic_ns(), 1000000000LL);
    sl_sink_report_error(s, SL_EIO, "%s", big);
    assert_int_equal(e.calls, 3);
    assert_true(strlen(e.last_text) > 100 && strlen(e.last_text) < sizeof(big));
    sl_sink_free(s, 0);
}

enum { RACERS = 8 };

typedef struct race {
    sl_sink *sink;
    pthread_barrier_t start;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < 100; i++) {
        sl_sink_report_error(r->sink, SL_EIO, "racer");
    }
    return NULL;
}

static void test_error_callback_race_reports_once(void **unused)
{
    (void)unused;
    err_log e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    race r;
    assert_int_equal(sl_null_sink_new(&r.sink), SL_OK);
    sl_sink_set_error_callback(r.sink, on_error, &e);
    pthread_barrier_init(&r.start, NULL, RACERS);
    pthread_t th[RACERS];
    int64_t t0 = sl__monotonic_ns();
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, racer, &r), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
    }
    int64_t t1 = sl__monotonic_ns();
    sl_sink_stats stats;
    sl_sink_get_stats(r.sink, &stats);
    assert_int_equal(stats.errors, RACERS * 100);
    /* Within one second of the first report, one call at most. */
    if (t1 - t0 < 1000000000LL) {
        assert_int_equal(e.calls, 1);
    }
    /* Nothing is lost: reported + suppressed account for every error. */
    wait_until_elapsed(t1, 1000000000LL);
    sl_sink_report_error(r.sink, SL_EIO, "final");
    pthread_mutex_lock(&e.mu);
    assert_int_equal((uint64_t)e.calls + e.total_suppressed, RACERS * 100 + 1);
    pthread_mutex_unlock(&e.mu);
    pthread_barrier_destroy(&r.start);
    sl_sink_free(r.sink, 0);
}

/*
 * `written` from many threads: each thread counts into a slot of its own
 * (the first 16) or into the shared counter (the rest); a slot freed at
 * thread exit passes to a thread of the next round. Nothing may be lost or
 * counted twice, in either of two sinks counted by the same threads.
 */
#define COUNTERS 24 /* more threads than per-thread slots */
#define COUNTS   2000

typedef struct count_race {
    sl_sink *a, *b;
    pthread_barrier_t start;
} count_race;

static void *counter(void *arg)
{
    count_race *r = arg;
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < COUNTS; i++) {
        sl_sink_count_written(r->a, 1);
        sl_sink_count_written(r->b, 2);
    }
    return NULL;
}

static void test_written_counted_from_many_threads(void **unused)
{
    (void)unused;
    count_race r;
    assert_int_equal(sl_null_sink_new(&r.a), SL_OK);
    assert_int_equal(sl_null_sink_new(&r.b), SL_OK);
    sl_sink_count_written(r.a, 5); /* this thread's own slot */
    for (int round = 1; round <= 2; round++) {
        pthread_barrier_init(&r.start, NULL, COUNTERS);
        pthread_t th[COUNTERS];
        for (int i = 0; i < COUNTERS; i++) {
            assert_int_equal(pthread_create(&th[i], NULL, counter, &r), 0);
        }
        for (int i = 0; i < COUNTERS; i++) {
            pthread_join(th[i], NULL);
        }
        pthread_barrier_destroy(&r.start);
        sl_sink_stats sa, sb;
        sl_sink_get_stats(r.a, &sa);
        sl_sink_get_stats(r.b, &sb);
        assert_int_equal(sa.written, 5 + (uint64_t)round * COUNTERS * COUNTS);
        assert_int_equal(sb.written, (uint64_t)round * COUNTERS * COUNTS * 2);
    }
    sl_sink_free(r.a, 0);
    sl_sink_free(r.b, 0);
}

/* ---- fork hooks -------------------------------------------------------------- */

static void test_fork_hooks(void **unused)
{
    (void)unused;
    rec_state a = {0}, b = {0};
    sl_sink *sa = NULL, *sb = NULL;
    assert_int_equal(sl_sink_new(&rec_vt, &a, &sa), SL_OK);
    assert_int_equal(sl_sink_new(&rec_vt, &b, &sb), SL_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Child: prepare ran, then child, never parent; the registry works. */
        int ok = a.prepares == 1 && b.prepares == 1 && a.children == 1 &&
                 b.children == 1 && a.parents == 0 && b.parents == 0;
        sl_sink *sc = NULL;
        ok = ok && sl_null_sink_new(&sc) == SL_OK;
        sl_sink_free(sc, 0);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(a.prepares, 1);
    assert_int_equal(a.parents, 1);
    assert_int_equal(a.children, 0);
    assert_int_equal(b.parents, 1);
    /* Freed sinks are no longer called around fork. */
    sl_sink_free(sa, 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(a.prepares, 1);
    assert_int_equal(b.prepares, 2);
    assert_int_equal(b.parents, 2);
    sl_sink_free(sb, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_arguments),
        cmocka_unit_test(test_state_name_and_null_handling),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_flush_close_destroy_once_in_order),
        cmocka_unit_test(test_null_sink_counts),
        cmocka_unit_test(test_error_callback_rate_limited),
        cmocka_unit_test(test_error_callback_race_reports_once),
        cmocka_unit_test(test_written_counted_from_many_threads),
        cmocka_unit_test(test_fork_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
