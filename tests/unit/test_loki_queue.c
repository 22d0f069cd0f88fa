/*
 * test_loki_queue.c - the bounded byte ring: FIFO order, exact fill limit,
 * wrap-around with skipped ends, rewind when empty, and a long random run
 * checked against a simple model (a FIFO of expected records).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/loki/loki_internal.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool push(sl__loki_ring *r, uint32_t id, size_t line_len)
{
    sl__loki_slot *s = sl__loki_ring_reserve(r, sl__loki_slot_size(3, line_len));
    if (s == NULL) {
        return false;
    }
    s->line_len = (uint32_t)line_len;
    s->service_len = 3;
    s->ts = id;
    char *p = (char *)(s + 1);
    memcpy(p, "svc", 3);
    for (size_t i = 0; i < line_len; i++) {
        p[3 + i] = (char)('a' + (id + i) % 26);
    }
    sl__loki_ring_commit(r, s);
    return true;
}

static void check_pop(sl__loki_ring *r, uint32_t id, size_t line_len)
{
    sl__loki_slot *s = sl__loki_ring_peek(r);
    assert_non_null(s);
    assert_int_equal(s->ts, id);
    assert_int_equal(s->line_len, line_len);
    assert_memory_equal(sl__loki_slot_service(s), "svc", 3);
    const char *l = sl__loki_slot_line(s);
    for (size_t i = 0; i < line_len; i++) {
        assert_int_equal(l[i], (char)('a' + (id + i) % 26));
    }
    sl__loki_ring_pop(r);
}

static void test_fill_and_order(void **state)
{
    (void)state;
    sl__loki_ring r;
    assert_int_equal(sl__loki_ring_init(&r, 4096), SL_OK);
    assert_null(sl__loki_ring_peek(&r));
    size_t slot = sl__loki_slot_size(3, 53); /* 48 + 56 = 104 -> 104 */
    assert_int_equal(slot % 8, 0);
    uint32_t n = 0;
    while (push(&r, n, 53)) {
        n++;
    }
    assert_int_equal(n, 4096 / slot);
    assert_int_equal(r.records, n);
    assert_int_equal(r.line_bytes, (size_t)n * 53);
    for (uint32_t i = 0; i < n; i++) {
        check_pop(&r, i, 53);
    }
    assert_null(sl__loki_ring_peek(&r));
    assert_int_equal(r.used, 0);
    assert_int_equal(r.head, 0); /* rewound */
    /* Too big for the ring at all. */
    assert_null(sl__loki_ring_reserve(&r, 8192));
    sl__loki_ring_free(&r);
}

static void test_wrap(void **state)
{
    (void)state;
    sl__loki_ring r;
    assert_int_equal(sl__loki_ring_init(&r, 1024), SL_OK);
    /* 3 slots of 304 bytes: 912 used, 112 left at the end. */
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(push(&r, i, 253));
    }
    assert_false(push(&r, 3, 253));
    check_pop(&r, 0, 253);
    /* Does not fit at the end (112 bytes), fits at the start (304 free). */
    assert_true(push(&r, 3, 253));
    assert_int_equal(r.tail, 304);
    assert_int_equal(r.used, 1024);
    assert_false(push(&r, 4, 1));
    check_pop(&r, 1, 253);
    check_pop(&r, 2, 253); /* then the reader skips the end */
    check_pop(&r, 3, 253);
    assert_int_equal(r.used, 0);
    /* A gap smaller than a header at the end is skipped without a marker. */
    for (uint32_t i = 0; i < 2; i++) {
        assert_true(push(&r, 10 + i, 461)); /* 512 each: exactly full */
    }
    check_pop(&r, 10, 461);
    assert_true(push(&r, 12, 8));
    check_pop(&r, 11, 461);
    check_pop(&r, 12, 8);
    sl__loki_ring_free(&r);
}

static void test_random_against_model(void **state)
{
    (void)state;
    sl__loki_ring r;
    assert_int_equal(sl__loki_ring_init(&r, 8192), SL_OK);
    enum { MAXQ = 4096 };
    static uint32_t ids[MAXQ];
    static size_t lens[MAXQ];
    size_t qh = 0, qn = 0;
    uint32_t next = 0;
    size_t model_bytes = 0;
    for (int step = 0; step < 200000; step++) {
        if (rnd() % 100 < 55) {
            size_t len = rnd() % 700;
            bool ok = push(&r, next, len);
            /* Never refuses when the ring is empty, never exceeds the capacity. */
            if (qn == 0) {
                assert_true(ok);
            }
            if (ok) {
                ids[(qh + qn) % MAXQ] = next;
                lens[(qh + qn) % MAXQ] = len;
                qn++;
                model_bytes += sl__loki_slot_size(3, len);
                next++;
            } else {
                /* A refusal means no contiguous room: at most one slot's worth is
                 * lost to a skipped end, so the ring is well used. */
                assert_true(model_bytes + sl__loki_slot_size(3, len) > 8192 - 800);
            }
        } else if (qn > 0) {
            check_pop(&r, ids[qh], lens[qh]);
            model_bytes -= sl__loki_slot_size(3, lens[qh]);
            qh = (qh + 1) % MAXQ;
            qn--;
        }
        assert_int_equal(r.records, qn);
        assert_true(r.used <= r.cap);
        assert_true(r.used >= model_bytes);
    }
    sl__loki_ring_clear(&r);
    assert_null(sl__loki_ring_peek(&r));
    sl__loki_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_and_order),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
