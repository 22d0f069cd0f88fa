/*
 * test_loki_backoff.c - retry delays (cap doubling to the maximum, the three
 * jitter shapes), Retry-After in both forms, and how answers are classified.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/loki/loki_internal.h"

static void test_caps(void **state)
{
    (void)state;
    /* Without jitter the delay is the cap: 500, 1000, 2000 ... up to 5 min. */
    int64_t want = 500;
    for (int a = 0; a < 20; a++) {
        int64_t d = sl__loki_backoff_ms(a, 500, 300000, SL_LOKI_JITTER_NONE, 0.5);
        assert_int_equal(d, want);
        want = want * 2 > 300000 ? 300000 : want * 2;
    }
    assert_int_equal(sl__loki_backoff_ms(1000, 500, 300000, SL_LOKI_JITTER_NONE, 0.5),
                     300000);
    assert_int_equal(sl__loki_backoff_ms(-3, 500, 300000, SL_LOKI_JITTER_NONE, 0.5), 500);
}

static void test_jitter(void **state)
{
    (void)state;
    for (int a = 0; a < 12; a++) {
        int64_t cap = sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_NONE, 0);
        int64_t lo_full = sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_FULL, 0.0);
        int64_t hi_full =
            sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_FULL, 0.9999999);
        assert_int_equal(lo_full, 0);
        assert_true(hi_full <= cap && hi_full >= cap - 1);
        int64_t mid = sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_FULL, 0.5);
        assert_int_equal(mid, cap / 2);
        int64_t lo_eq = sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_EQUAL, 0.0);
        int64_t hi_eq =
            sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_EQUAL, 0.9999999);
        assert_int_equal(lo_eq, cap / 2);
        assert_true(hi_eq <= cap && hi_eq >= cap - 1);
        /* Out-of-range random values are clamped, never beyond the cap. */
        assert_true(sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_FULL, 7.0) <= cap);
        assert_int_equal(sl__loki_backoff_ms(a, 20, 10000, SL_LOKI_JITTER_FULL, -1.0), 0);
    }
}

static void test_retry_after(void **state)
{
    (void)state;
    const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(sl__loki_retry_after_ms("2", 1, now), 2000);
    assert_int_equal(sl__loki_retry_after_ms(" 120\r\n", 6, now), 120000);
    assert_int_equal(sl__loki_retry_after_ms("0", 1, now), 0);
    const char *d1 = "Sun, 06 Nov 1994 08:49:47 GMT";
    assert_int_equal(sl__loki_retry_after_ms(d1, strlen(d1), now), 10000);
    const char *d2 = "Sunday, 06-Nov-94 08:49:40 GMT";
    assert_int_equal(sl__loki_retry_after_ms(d2, strlen(d2), now), 3000);
    const char *past = "Sun, 06 Nov 1994 08:00:00 GMT";
    assert_int_equal(sl__loki_retry_after_ms(past, strlen(past), now), 0);
    assert_int_equal(sl__loki_retry_after_ms("", 0, now), -1);
    assert_int_equal(sl__loki_retry_after_ms("1.5", 3, now), -1);
    assert_int_equal(sl__loki_retry_after_ms("12a", 3, now), -1);
    assert_int_equal(sl__loki_retry_after_ms("soon", 4, now), -1);
    char big[100];
    memset(big, '9', sizeof(big));
    assert_int_equal(sl__loki_retry_after_ms(big, sizeof(big), now), -1);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(sl__loki_classify(204, "", 0), SL__LOKI_SENT);
    assert_int_equal(sl__loki_classify(200, "", 0), SL__LOKI_SENT);
    assert_int_equal(sl__loki_classify(429, "slow down", 9), SL__LOKI_RETRY);
    assert_int_equal(sl__loki_classify(500, "x", 1), SL__LOKI_RETRY);
    assert_int_equal(sl__loki_classify(503, "x", 1), SL__LOKI_RETRY);
    assert_int_equal(sl__loki_classify(0, NULL, 0), SL__LOKI_RETRY);
    assert_int_equal(sl__loki_classify(401, "no org id", 9), SL__LOKI_AUTH);
    assert_int_equal(sl__loki_classify(403, "", 0), SL__LOKI_AUTH);
    /* Loki's per-entry / per-stream validation: it stored the rest of the push. */
    static const char *const partial[] = {
        "entry for stream '{a=\"b\"}' has timestamp too old: 2020-01-01, oldest "
        "acceptable timestamp is: 2026-11-26",
        "Max entry size '1024' bytes exceeded for stream '{service_name=\"x\"}' while "
        "adding an entry with length '2000' bytes",
        "entry with timestamp 2026-12-03 ignored, reason: 'entry too far behind, oldest "
        "acceptable timestamp is: ...' for stream: {a=\"b\"},\ntotal ignored: 1 out of "
        "10",
        "stream '{a=\"b\"}' has structured metadata too large: '70000' bytes",
    };
    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        assert_int_equal(sl__loki_classify(400, partial[i], strlen(partial[i])),
                         SL__LOKI_REJECTED_PARTIAL);
    }
    /* A 400 from the decoder: nothing was stored. */
    const char *dec = "loghttp.PushRequest.Streams: ReadString: expects \" or n";
    assert_int_equal(sl__loki_classify(400, dec, strlen(dec)), SL__LOKI_REJECTED);
    assert_int_equal(sl__loki_classify(400, "rejected by test", 16), SL__LOKI_REJECTED);
    assert_int_equal(sl__loki_classify(400, NULL, 0), SL__LOKI_REJECTED);
    /* Too large for the server at once: split. */
    assert_int_equal(sl__loki_classify(413, "", 0), SL__LOKI_TOO_LARGE);
    const char *burst =
        "ingestion rate limit exceeded for user fake (limit: 524288 bytes/sec) while "
        "attempting to ingest '10000' lines totaling '2300000' bytes, reduce log volume "
        "or contact your Loki administrator to see if the limit can be increased";
    assert_int_equal(sl__loki_classify(429, burst, strlen(burst)), SL__LOKI_TOO_LARGE);
    const char *empty_bucket =
        "Ingestion rate limit exceeded for user acme (limit: 4194304 bytes/sec) while "
        "attempting to ingest '100' lines totaling '20000' bytes, reduce log volume";
    assert_int_equal(sl__loki_classify(429, empty_bucket, strlen(empty_bucket)),
                     SL__LOKI_RETRY);
    /* The numbers are read, not guessed: a body cut before them is a retry. */
    assert_int_equal(sl__loki_classify(429, burst, 70), SL__LOKI_RETRY);
    const char *m1 = "structured metadata is not allowed";
    assert_int_equal(sl__loki_classify(400, m1, strlen(m1)), SL__LOKI_NO_METADATA);
    const char *m2 =
        "stream '{service_name=\"x\"}' includes Structured Metadata, but this "
        "feature is disallowed. Please see `limits_config`";
    assert_int_equal(sl__loki_classify(400, m2, strlen(m2)), SL__LOKI_NO_METADATA);
    const char *big = "rpc error: code = ResourceExhausted desc = grpc: received message "
                      "larger than max (5000000 vs. 4194304)";
    assert_int_equal(sl__loki_classify(500, big, strlen(big)), SL__LOKI_TOO_LARGE);
    /* The same words with another status are not the metadata case. */
    assert_int_equal(sl__loki_classify(500, m1, strlen(m1)), SL__LOKI_RETRY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
