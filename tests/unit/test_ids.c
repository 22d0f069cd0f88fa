/* test_ids.c - random ids: never zero, distinct within and across threads,
 * and a forked child draws ids different from its parent's next ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spanlog/trace.h"

#define PER_THREAD 20000
#define THREADS    4

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t span64(sl_span_id id)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | id.bytes[i];
    }
    return v;
}

static void test_never_zero_and_distinct(void **state)
{
    (void)state;
    enum { N = 50000 };
    uint64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    unsigned ones = 0;
    for (int i = 0; i < N; i++) {
        sl_span_id s = sl_span_id_random();
        assert_true(sl_span_id_is_valid(s));
        v[i] = span64(s);
        ones += (unsigned)__builtin_popcountll(v[i]);
        sl_trace_id t = sl_trace_id_random();
        assert_true(sl_trace_id_is_valid(t));
    }
    qsort(v, N, sizeof *v, cmp_u64);
    for (int i = 1; i < N; i++) {
        assert_true(v[i] != v[i - 1]);
    }
    /* Bit balance: 64*N bits, expect half set; 6 sigma is ~0.3% here. */
    double frac = (double)ones / (64.0 * N);
    assert_true(frac > 0.49 && frac < 0.51);
    free(v);
}

static void test_trace_id_halves_differ(void **state)
{
    (void)state;
    /* Both halves come from separate draws: they should never repeat. */
    for (int i = 0; i < 1000; i++) {
        sl_trace_id t = sl_trace_id_random();
        assert_memory_not_equal(t.bytes, t.bytes + 8, 8);
    }
}

static void *draw(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        out[i] = span64(sl_span_id_random());
    }
    return NULL;
}

static void test_distinct_across_threads(void **state)
{
    (void)state;
    uint64_t *v = malloc((size_t)THREADS * PER_THREAD * sizeof *v);
    assert_non_null(v);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, draw, v + (size_t)i * PER_THREAD),
                         0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    size_t n = (size_t)THREADS * PER_THREAD;
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 1; i < n; i++) {
        assert_true(v[i] != v[i - 1]);
    }
    free(v);
}

static void test_fork_reseeds(void **state)
{
    (void)state;
    enum { K = 64 };
    (void)sl_span_id_random(); /* make sure the parent is seeded */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t ids[K];
        for (int i = 0; i < K; i++) {
            ids[i] = span64(sl_span_id_random());
        }
        ssize_t w = write(fds[1], ids, sizeof ids);
        _exit(w == (ssize_t)sizeof ids ? 0 : 1);
    }
    close(fds[1]);
    uint64_t parent[K], child[K];
    for (int i = 0; i < K; i++) {
        parent[i] = span64(sl_span_id_random());
    }
    size_t got = 0;
    while (got < sizeof child) {
        ssize_t r = read(fds[0], (char *)child + got, sizeof child - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < K; i++) {
        for (int j = 0; j < K; j++) {
            assert_true(child[i] != parent[j]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_zero_and_distinct),
        cmocka_unit_test(test_trace_id_halves_differ),
        cmocka_unit_test(test_distinct_across_threads),
        cmocka_unit_test(test_fork_reseeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
