/*
 * test_deliver_backoff.c - the delivery runtime's one retry policy (moved
 * from the Loki sink): delays (cap doubling to the maximum, the three jitter
 * shapes) and Retry-After as delta-seconds and as each HTTP-date form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/deliver.h"

static void test_caps(void **state)
{
    (void)state;
    /* Without jitter the delay is the cap: 500, 1000, 2000 ... up to 5 min. */
    int64_t want = 500;
    for (int a = 0; a < 20; a++) {
        int64_t d = sl__deliver_backoff_ms(a, 500, 300000, SL__JITTER_NONE, 0.5);
        assert_int_equal(d, want);
        want = want * 2 > 300000 ? 300000 : want * 2;
    }
    assert_int_equal(sl__deliver_backoff_ms(1000, 500, 300000, SL__JITTER_NONE, 0.5),
                     300000);
    assert_int_equal(sl__deliver_backoff_ms(-3, 500, 300000, SL__JITTER_NONE, 0.5), 500);
}

static void test_jitter(void **state)
{
    (void)state;
    for (int a = 0; a < 12; a++) {
        int64_t cap = sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_NONE, 0);
        int64_t lo_full = sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_FULL, 0.0);
        int64_t hi_full =
            sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_FULL, 0.9999999);
        assert_int_equal(lo_full, 0);
        assert_true(hi_full <= cap && hi_full >= cap - 1);
        int64_t mid = sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_FULL, 0.5);
        assert_int_equal(mid, cap / 2);
        int64_t lo_eq = sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_EQUAL, 0.0);
        int64_t hi_eq = sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_EQUAL, 0.9999999);
        assert_int_equal(lo_eq, cap / 2);
        assert_true(hi_eq <= cap && hi_eq >= cap - 1);
        /* Out-of-range random values are clamped, never beyond the cap. */
        assert_true(sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_FULL, 7.0) <= cap);
        assert_int_equal(sl__deliver_backoff_ms(a, 20, 10000, SL__JITTER_FULL, -1.0), 0);
    }
}

static void test_retry_after(void **state)
{
    (void)state;
    const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(sl__deliver_retry_after_ms("2", 1, now), 2000);
    assert_int_equal(sl__deliver_retry_after_ms(" 120\r\n", 6, now), 120000);
    assert_int_equal(sl__deliver_retry_after_ms("0", 1, now), 0);
    const char *d1 = "Sun, 06 Nov 1994 08:49:47 GMT";
    assert_int_equal(sl__deliver_retry_after_ms(d1, strlen(d1), now), 10000);
    const char *d2 = "Sunday, 06-Nov-94 08:49:40 GMT";
    assert_int_equal(sl__deliver_retry_after_ms(d2, strlen(d2), now), 3000);
    const char *d3 = "Sun Nov  6 08:49:42 1994"; /* asctime */
    assert_int_equal(sl__deliver_retry_after_ms(d3, strlen(d3), now), 5000);
    const char *d4 = "Sun, 07 Nov 1994 08:49:37 GMT"; /* the next day */
    assert_int_equal(sl__deliver_retry_after_ms(d4, strlen(d4), now), 86400000);
    const char *bad1 = "Sun, 06 Foo 1994 08:49:47 GMT";
    assert_int_equal(sl__deliver_retry_after_ms(bad1, strlen(bad1), now), -1);
    const char *bad2 = "Sun, 06 Nov 1994 08:49:47 PST";
    assert_int_equal(sl__deliver_retry_after_ms(bad2, strlen(bad2), now), -1);
    const char *bad3 = "Sun, 06 Nov 1994 25:49:47 GMT";
    assert_int_equal(sl__deliver_retry_after_ms(bad3, strlen(bad3), now), -1);
    const char *past = "Sun, 06 Nov 1994 08:00:00 GMT";
    assert_int_equal(sl__deliver_retry_after_ms(past, strlen(past), now), 0);
    assert_int_equal(sl__deliver_retry_after_ms("", 0, now), -1);
    assert_int_equal(sl__deliver_retry_after_ms("1.5", 3, now), -1);
    assert_int_equal(sl__deliver_retry_after_ms("12a", 3, now), -1);
    assert_int_equal(sl__deliver_retry_after_ms("soon", 4, now), -1);
    char big[100];
    memset(big, '9', sizeof(big));
    assert_int_equal(sl__deliver_retry_after_ms(big, sizeof(big), now), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
