/*
 * test_loki_backoff.c - how Loki's answers are classified (the retry delays
 * and Retry-After moved with the runtime: test_deliver_backoff.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/loki/loki_internal.h"

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
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
