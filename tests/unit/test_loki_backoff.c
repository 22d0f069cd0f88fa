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
    const char *bad = "entry for stream '{a=\"b\"}' has timestamp too old";
    assert_int_equal(sl__loki_classify(400, bad, strlen(bad)), SL__LOKI_REJECTED);
    assert_int_equal(sl__loki_classify(413, "", 0), SL__LOKI_REJECTED);
    const char *m1 = "structured metadata is not allowed";
    assert_int_equal(sl__loki_classify(400, m1, strlen(m1)), SL__LOKI_NO_METADATA);
    const char *m2 =
        "stream '{service_name=\"x\"}' includes Structured Metadata, but this "
        "feature is disallowed. Please see `limits_config`";
    assert_int_equal(sl__loki_classify(400, m2, strlen(m2)), SL__LOKI_NO_METADATA);
    const char *big = "rpc error: code = ResourceExhausted desc = grpc: received message "
                      "larger than max (5000000 vs. 4194304)";
    assert_int_equal(sl__loki_classify(500, big, strlen(big)), SL__LOKI_REJECTED);
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
