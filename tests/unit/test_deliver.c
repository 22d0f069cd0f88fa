/*
 * test_deliver.c - the delivery runtime against scripted transports: every
 * verdict settles under its own counter (sent, rejected, rejected_partial,
 * too_large, retries_exhausted, closed), TOO_LARGE splits a batch in halves
 * until each part fits, RETRY honours Retry-After and keeps what a stream
 * transport got through, flush waits for exactly what was pushed before it,
 * overflow policies count every drop, close's deadline cancels a send in
 * flight, and after fork() the child delivers through a fresh worker.
 * Every entry carries its sequence number, and the transport checks that
 * each arrives, in order, and is delivered once.
 */
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

#include "deliver/deliver.h"
#include "lifecycle.h"

/* Under ThreadSanitizer, let a fork child start its worker thread (TSan
 * refuses threads after a multi-threaded fork unless told otherwise).
 * Ignored by other builds. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}

/* A scripted transport: what it answers, and what it saw. */
typedef struct script {
    pthread_mutex_t mu;
    size_t max_batch;       /* TOO_LARGE above this many entries; 0: none */
    uint32_t reject_seq;    /* a batch holding this seq is rejected (UINT32_MAX: none) */
    bool partial;           /* ... as REJECTED_PARTIAL */
    int retries_left;       /* answer RETRY this many times first */
    int64_t retry_after_ms; /* with this Retry-After */
    size_t settle_on_retry; /* RETRY reports this many delivered */
    bool hang;              /* wait until cancelled, then CANCELLED */
    uint32_t next;          /* the next seq expected, delivered in order */
    uint64_t delivered;     /* entries accepted */
    uint64_t calls;         /* send calls */
    int64_t first_retry_ns, second_try_ns;
    bool in_send;
    int report_fd; /* >= 0: each delivered seq is written here (4 bytes) */
    sl__deliver *d;
} script;

static void script_init(script *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->reject_seq = UINT32_MAX;
    s->retry_after_ms = -1;
    s->report_fd = -1;
}

static uint32_t seq_of(const sl__deliver_entry *e)
{
    uint32_t v;
    memcpy(&v, e->data, sizeof v);
    return v;
}

static void script_send(void *user, void *conn, const sl__deliver_batch *b,
                        sl__deliver_verdict *v)
{
    (void)conn;
    script *s = user;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    __atomic_store_n(&s->in_send, true, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->mu);
    if (s->hang) {
        while (!sl__deliver_cancelled(s->d)) {
            usleep(1000);
        }
        v->kind = SL__DELIVER_CANCELLED;
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    if (s->retries_left > 0) {
        s->retries_left--;
        if (s->first_retry_ns == 0) {
            s->first_retry_ns = sl__monotonic_ns();
        }
        v->kind = SL__DELIVER_RETRY;
        v->retry_after_ms = s->retry_after_ms;
        size_t k = s->settle_on_retry < b->n ? s->settle_on_retry : 0;
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(seq_of(&b->entries[i]), s->next);
            s->next++;
            s->delivered++;
        }
        v->settled = k;
        snprintf(v->text, sizeof v->text, "try again");
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    if (s->first_retry_ns != 0 && s->second_try_ns == 0) {
        s->second_try_ns = sl__monotonic_ns();
    }
    if (s->max_batch > 0 && b->n > s->max_batch) {
        v->kind = SL__DELIVER_TOO_LARGE;
        snprintf(v->text, sizeof v->text, "%zu entries: too large", b->n);
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (seq_of(&b->entries[i]) == s->reject_seq) {
            v->kind = s->partial ? SL__DELIVER_REJECTED_PARTIAL : SL__DELIVER_REJECTED;
            v->status = 400;
            snprintf(v->text, sizeof v->text, "bad entry %u", s->reject_seq);
            s->next = seq_of(&b->entries[b->n - 1]) + 1;
            pthread_mutex_unlock(&s->mu);
            goto out;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        assert_int_equal(seq_of(&b->entries[i]), s->next); /* in order, once */
        assert_int_equal(b->entries[i].len, 4 + b->entries[i].weight);
        s->next++;
        s->delivered++;
        if (s->report_fd >= 0) {
            uint32_t q = seq_of(&b->entries[i]);
            if (write(s->report_fd, &q, 4) != 4) {
                _exit(9);
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
out:
    __atomic_store_n(&s->in_send, false, __ATOMIC_RELAXED);
}

static const sl__deliver_ops script_ops = {.send = script_send};

static sl__deliver *make(script *s, sl__deliver_options *o, sl_sink **sink)
{
    assert_int_equal(sl_null_sink_new(sink), SL_OK);
    sl__deliver *d = NULL;
    assert_int_equal(sl__deliver_new(o, &script_ops, s, *sink, &d), SL_OK);
    s->d = d;
    return d;
}

static void opts(sl__deliver_options *o)
{
    sl__deliver_options_init(o);
    o->name = "test";
    o->queue_bytes = 1u << 20;
    o->batch_bytes = 64u << 10;
    o->batch_age_ms = 5;
    o->backoff_min_ms = 1;
    o->backoff_max_ms = 5;
}

/* Pushes seq followed by `pad` bytes; returns the push's status. */
static sl_status push(sl__deliver *d, uint32_t seq, size_t pad)
{
    static char fill[4096];
    sl__deliver_part p[2] = {{&seq, 4}, {fill, pad}};
    return sl__deliver_push(d, p, 2, (uint32_t)pad);
}

static void check_sink(sl_sink *sink, uint64_t written, uint64_t dropped)
{
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, written);
    assert_int_equal(st.dropped, dropped);
}

static void finish(sl__deliver *d, sl_sink *sink)
{
    sl__deliver_free(d);
    sl_sink_free(sink, 0);
}

static void test_sent_in_order(void **state)
{
    (void)state;
    script s;
    script_init(&s);
    sl__deliver_options o;
    opts(&o);
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    for (uint32_t i = 0; i < 5000; i++) {
        assert_int_equal(push(d, i, i % 300), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    sl__deliver_stats st;
    sl__deliver_get_stats(d, &st);
    assert_int_equal(st.sent_records, 5000);
    assert_int_equal(st.queued_records, 5000);
    assert_int_equal(st.pending_records, 0);
    assert_int_equal(st.pending_bytes, 0);
    assert_int_equal(st.sent_bytes, st.queued_bytes);
    assert_int_equal(s.delivered, 5000);
    assert_true(s.calls > 1 && s.calls < 5000); /* batched */
    check_sink(sink, 5000, 0);
    assert_int_equal(sl__deliver_close(d, 1000), SL_OK);
    assert_int_equal(push(d, 9, 0), SL_ECLOSED);
    sl__deliver_get_stats(d, &st);
    assert_int_equal(st.dropped_closed, 1);
    check_sink(sink, 5000, 1);
    finish(d, sink);
}

static void test_too_large_splits(void **state)
{
    (void)state;
    script s;
    script_init(&s);
    s.max_batch = 7; /* batches of up to 1000 must be split to 7 or fewer */
    sl__deliver_options o;
    opts(&o);
    o.batch_age_ms = 200;
    o.batch_max_entries = 1000;
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    for (uint32_t i = 0; i < 1000; i++) {
        assert_int_equal(push(d, i, 10), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    sl__deliver_stats st;
    sl__deliver_get_stats(d, &st);
    assert_int_equal(st.sent_records, 1000);
    assert_int_equal(st.dropped_too_large, 0);
    assert_true(st.splits > 0);
    assert_int_equal(s.delivered, 1000);
    check_sink(sink, 1000, 0);
    finish(d, sink);
}

/* A transport for which one entry is already too large. */
static void toolarge_send(void *user, void *conn, const sl__deliver_batch *b,
                          sl__deliver_verdict *v)
{
    (void)conn;
    uint64_t *calls = user;
    __atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
    bool big = false;
    for (size_t i = 0; i < b->n; i++) {
        big = big || b->entries[i].weight > 100;
    }
    if (big) {
        v->kind = SL__DELIVER_TOO_LARGE;
    }
}

static void test_single_too_large_dropped(void **state)
{
    (void)state;
    static const sl__deliver_ops ops = {.send = toolarge_send};
    uint64_t calls = 0;
    sl__deliver_options o;
    opts(&o);
    o.batch_age_ms = 100;
    sl_sink *sink;
    assert_int_equal(sl_null_sink_new(&sink), SL_OK);
    sl__deliver *d;
    assert_int_equal(sl__deliver_new(&o, &ops, &calls, sink, &d), SL_OK);
    /* 64 entries, of which 3 are too large whatever the split. */
    for (uint32_t i = 0; i < 64; i++) {
        assert_int_equal(push(d, i, i == 5 || i == 40 || i == 41 ? 200 : 10), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    sl__deliver_stats st;
    sl__deliver_get_stats(d, &st);
    assert_int_equal(st.dropped_too_large, 3);
    assert_int_equal(st.sent_records, 61);
    assert_true(st.splits >= 3);
    check_sink(sink, 61, 3);
    finish(d, sink);
}

static void test_rejected_and_partial(void **state)
{
    (void)state;
    for (int partial = 0; partial < 2; partial++) {
        script s;
        script_init(&s);
        s.reject_seq = 3;
        s.partial = partial;
        sl__deliver_options o;
        opts(&o);
        o.batch_age_ms = 1000; /* one batch: the flush sends it */
        sl_sink *sink;
        sl__deliver *d = make(&s, &o, &sink);
        for (uint32_t i = 0; i < 10; i++) {
            assert_int_equal(push(d, i, 8), SL_OK);
        }
        assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
        sl__deliver_stats st;
        sl__deliver_get_stats(d, &st);
        assert_int_equal(partial ? st.dropped_rejected_partial : st.dropped_rejected, 10);
        assert_int_equal(partial ? st.dropped_rejected : st.dropped_rejected_partial, 0);
        assert_int_equal(st.last_status, 400);
        assert_string_equal(st.last_error, "bad entry 3");
        check_sink(sink, 0, 10);
        /* The next batch flows. */
        assert_int_equal(push(d, 10, 8), SL_OK);
        assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
        check_sink(sink, 1, 10);
        finish(d, sink);
    }
}

static void test_retry_after_and_progress(void **state)
{
    (void)state;
    script s;
    script_init(&s);
    s.retries_left = 1;
    s.retry_after_ms = 1; /* a floor: seconds would make this test slow */
    s.settle_on_retry = 4;
    sl__deliver_options o;
    opts(&o);
    o.batch_age_ms = 1000;
    o.backoff_min_ms = 300; /* first retry: full jitter in [0, 300) */
    o.backoff_max_ms = 300;
    o.jitter = SL__JITTER_NONE; /* exactly the cap */
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(push(d, i, 8), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    sl__deliver_stats st;
    sl__deliver_get_stats(d, &st);
    assert_int_equal(st.sent_records, 10);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.requests, 2);
    assert_int_equal(s.delivered, 10); /* 4 before the failure, 6 after: once each */
    /* Progress restarts the backoff, but the wait still happened. */
    assert_true(s.second_try_ns - s.first_retry_ns >= 250 * 1000000LL);
    check_sink(sink, 10, 0);
    finish(d, sink);

    /* Retry-After above the backoff is the floor (up to backoff_max_ms). */
    script_init(&s);
    s.retries_left = 1;
    s.retry_after_ms = 400;
    opts(&o);
    o.batch_age_ms = 1000;
    o.backoff_max_ms = 1000;
    d = make(&s, &o, &sink);
    assert_int_equal(push(d, 0, 8), SL_OK);
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    assert_true(s.second_try_ns - s.first_retry_ns >= 390 * 1000000LL);
    check_sink(sink, 1, 0);
    finish(d, sink);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    script s;
    script_init(&s);
    s.retries_left = 1000000;
    sl__deliver_options o;
    opts(&o);
    o.max_batch_age_ms = 100;
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    for (uint32_t i = 0; i < 20; i++) {
        assert_int_equal(push(d, i, 8), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    sl__deliver_stats st;
    sl__deliver_get_stats(d, &st);
    assert_int_equal(st.dropped_retries_exhausted, 20);
    assert_string_equal(st.last_error, "try again");
    check_sink(sink, 0, 20);
    finish(d, sink);
}

static void test_overflow_policies(void **state)
{
    (void)state;
    for (int policy = 0; policy < 3; policy++) {
        script s;
        script_init(&s);
        s.hang = true; /* the worker is stuck in its first send */
        sl__deliver_options o;
        opts(&o);
        o.queue_bytes = 64u << 10;
        o.batch_age_ms = 0;
        o.batch_max_entries = 1;
        o.overflow = (sl__deliver_overflow)policy;
        o.block_timeout_ms = 30;
        sl_sink *sink;
        sl__deliver *d = make(&s, &o, &sink);
        assert_int_equal(push(d, 0, 1000), SL_OK);
        while (!__atomic_load_n(&s.in_send, __ATOMIC_RELAXED)) {
            usleep(1000);
        }
        int ok = 0, full = 0;
        int64_t t0 = sl__monotonic_ns();
        for (uint32_t i = 1; i <= 200; i++) {
            sl_status st = push(d, i, 1000);
            ok += st == SL_OK;
            full += st == SL_EAGAIN;
        }
        int64_t took = sl__monotonic_ns() - t0;
        sl__deliver_stats st;
        sl__deliver_get_stats(d, &st);
        assert_int_equal(st.queued_records, 1 + (uint64_t)ok);
        if (policy == SL__OVERFLOW_DROP_OLDEST) {
            assert_int_equal(ok, 200); /* each push evicts the oldest */
            assert_int_equal(st.dropped_queue_full, 200 - st.pending_records + 1);
        } else {
            assert_int_equal(ok + full, 200);
            assert_int_equal(st.dropped_queue_full, (uint64_t)full);
            assert_true(full > 100);
        }
        if (policy == SL__OVERFLOW_BLOCK) {
            assert_true(took >= (int64_t)full * 25 * 1000000); /* each waited */
        }
        /* close cancels the hung send: everything left is counted closed. */
        int64_t c0 = sl__monotonic_ns();
        assert_int_equal(sl__deliver_close(d, 50), SL_ETIMEDOUT);
        assert_true(sl__monotonic_ns() - c0 < 2000 * 1000000LL);
        sl__deliver_get_stats(d, &st);
        assert_int_equal(st.pending_records, 0);
        assert_int_equal(st.dropped_closed + st.dropped_queue_full, 201);
        check_sink(sink, 0, 201);
        finish(d, sink);
    }
}

/* flush waits for exactly what was pushed before it: a later push does not
 * hold it, and it times out (and says so) while a send hangs. */
static void test_flush_by_sequence(void **state)
{
    (void)state;
    script s;
    script_init(&s);
    s.hang = true;
    sl__deliver_options o;
    opts(&o);
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    assert_int_equal(push(d, 0, 8), SL_OK);
    int64_t t0 = sl__monotonic_ns();
    assert_int_equal(sl__deliver_flush(d, 100), SL_ETIMEDOUT);
    int64_t took = sl__monotonic_ns() - t0;
    assert_true(took >= 90 * 1000000LL && took < 2000 * 1000000LL);
    assert_int_equal(sl__deliver_close(d, 0), SL_ETIMEDOUT);
    finish(d, sink);

    script_init(&s);
    opts(&o);
    o.batch_age_ms = 60000; /* only flush sends */
    d = make(&s, &o, &sink);
    assert_int_equal(sl__deliver_flush(d, 0), SL_OK); /* nothing pushed */
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(push(d, i, 8), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 5000), SL_OK);
    assert_int_equal(s.delivered, 3);
    finish(d, sink);
}

/* After fork() the child's runtime starts empty (the parent's entries are
 * the parent's) and delivers through a worker of its own; the parent's is
 * unaffected. Entries in flight in the parent across the fork. */
static void test_fork_child_delivers(void **state)
{
    (void)state;
    script s;
    script_init(&s);
    sl__deliver_options o;
    opts(&o);
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    for (uint32_t i = 0; i < 20; i++) {
        for (uint32_t k = 0; k < 100; k++) {
            assert_int_equal(push(d, i * 100 + k, 50), SL_OK);
        }
        fflush(stdout);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* The child: its own sequence starts again at 0. */
            s.next = 0;
            s.delivered = 0;
            for (uint32_t k = 0; k < 50; k++) {
                if (push(d, k, 50) != SL_OK) {
                    _exit(2);
                }
            }
            if (sl__deliver_flush(d, 5000) != SL_OK) {
                _exit(3);
            }
            sl__deliver_stats st;
            sl__deliver_get_stats(d, &st);
            _exit(st.sent_records == 50 && s.delivered == 50 ? 0 : 4);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    assert_int_equal(s.delivered, 2000);
    check_sink(sink, 2000, 0);
    finish(d, sink);
}

/* A child that exits without flushing: `nhang` runtimes whose transport
 * never answers, and one that reports what it delivers to fd. Returns the
 * child's exit time in ms (from the exit() call to its end). */
static int64_t exit_child(int nhang, int fd)
{
    int64_t t0 = sl__monotonic_ns();
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static script hang[4], good;
        sl__deliver_options o;
        opts(&o);
        o.batch_age_ms = 60000; /* nothing goes out before exit */
        o.flush_at_exit = true;
        sl__deliver *d;
        for (int i = 0; i < nhang; i++) {
            script_init(&hang[i]);
            hang[i].hang = true;
            if (sl__deliver_new(&o, &script_ops, &hang[i], NULL, &d) != SL_OK) {
                _exit(2);
            }
            hang[i].d = d;
            push(d, 0, 8);
        }
        script_init(&good);
        good.report_fd = fd;
        if (sl__deliver_new(&o, &script_ops, &good, NULL, &d) != SL_OK) {
            _exit(2);
        }
        good.d = d;
        for (uint32_t i = 0; i < 100; i++) {
            push(d, i, 8);
        }
        exit(0); /* the library's one exit handler flushes every runtime */
    }
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return (sl__monotonic_ns() - t0) / 1000000;
}

static size_t read_seqs(int fd)
{
    uint32_t q;
    size_t n = 0;
    while (read(fd, &q, 4) == 4) {
        assert_int_equal(q, n); /* in order, once */
        n++;
    }
    close(fd);
    return n;
}

static void test_exit_flush(void **state)
{
    (void)state;
    int fds[2];
    /* Nothing stuck: everything queued is delivered at exit, at once. */
    assert_int_equal(pipe(fds), 0);
    int64_t ms = exit_child(0, fds[1]);
    assert_int_equal(read_seqs(fds[0]), 100);
    printf("exit flush, nothing stuck: %lld ms\n", (long long)ms);
    /* Three runtimes stuck before the good one: the budget is one 2 s for
     * all of them (not 2 s each); the good one, flushed last with what is
     * left, is at least woken (it may still deliver while exit finishes). */
    assert_int_equal(pipe(fds), 0);
    ms = exit_child(3, fds[1]);
    size_t got = read_seqs(fds[0]);
    printf("exit flush, 3 stuck: %lld ms, %zu delivered\n", (long long)ms, got);
    assert_true(ms >= SL__EXIT_FLUSH_MS - 100);
    assert_true(ms < SL__EXIT_FLUSH_MS + 1500); /* scheduler slack, not 3 x 2 s */
}

/* One lifecycle: runtimes and sinks are nodes of the one registry, and go
 * when freed. */
static void test_registry(void **state)
{
    (void)state;
    size_t before = sl__life_count();
    script s;
    script_init(&s);
    sl__deliver_options o;
    opts(&o);
    sl_sink *sink;
    sl__deliver *d = make(&s, &o, &sink);
    assert_int_equal(sl__life_count(), before + 2); /* the sink and the runtime */
    finish(d, sink);
    assert_int_equal(sl__life_count(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sent_in_order),
        cmocka_unit_test(test_too_large_splits),
        cmocka_unit_test(test_single_too_large_dropped),
        cmocka_unit_test(test_rejected_and_partial),
        cmocka_unit_test(test_retry_after_and_progress),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_overflow_policies),
        cmocka_unit_test(test_flush_by_sequence),
        cmocka_unit_test(test_fork_child_delivers),
        cmocka_unit_test(test_exit_flush),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
