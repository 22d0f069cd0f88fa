/*
 * test_sink_uri_secrets.c - a refused sink target never repeats the
 * credentials of a URL written in it, whichever adapter refuses it (found
 * by tests/fuzz/fuzz_sink_uri.c: the syslog target and the console target
 * echoed the whole target, "user:password@" included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spanlog/spanlog.h"

static void refused_without(const char *uri, const char *secret)
{
    sl_error err;
    sl_error_init(&err);
    sl_status st = sl_sink_uri_check(uri, &err);
    assert_int_not_equal(st, SL_OK);
    assert_int_equal(err.code, st);
    assert_true(err.text[0] != '\0');
    if (strstr(err.text, secret) != NULL || strstr(err.value, secret) != NULL) {
        fail_msg("\"%s\" echoed: %s [%s]", uri, err.text, err.value);
    }
    /* sl_sink_from_uri says the same, and makes nothing */
    sl_error again;
    sl_error_init(&again);
    sl_sink *s = NULL;
    assert_int_equal(sl_sink_from_uri(uri, &s, &again), st);
    assert_null(s);
    assert_string_equal(again.text, err.text);
}

static void test_syslog_target(void **state)
{
    (void)state;
    refused_without("syslog:tcp://user:Hunter2pw@[::1]:6514", "Hunter2pw");
    refused_without("syslog:tcp://user:Hunter2pw@host:99999", "Hunter2pw");
    refused_without("syslog:udp://user:Hunter2pw@:514", "Hunter2pw");
}

static void test_any_adapter(void **state)
{
    (void)state;
    refused_without("pretty:http://user:Hunter2pw@h", "Hunter2pw");
    refused_without("stdout?buffered=http://user:Hunter2pw@h", "Hunter2pw");
    /* a password holding '/' (read to the last '@' as well) */
    refused_without("pretty:http://user:Hun/ter2pw@h", "Hun/ter2pw");
    refused_without("pretty:http://user:Hunter2pw@h/x@y", "Hunter2pw");
}

/* A "://" further in is not the target's own: the redactor started there and
 * showed the real password before it (CI's fuzz run), with the password as
 * written or with a byte the error shows as '?'. Both leaked before the fix. */
static void test_scheme_then_text(void **state)
{
    (void)state;
    refused_without("syslog://user:Hunter2pw@h\xae\xae@z:http://q@r", "Hunter2pw");
    refused_without("syslog://user:Hunt"
                    "\xae"
                    "er2pw@h:http://q@r",
                    "er2pw");
}

static void test_text_still_says_why(void **state)
{
    (void)state;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(sl_sink_uri_check("pretty:http://user:Hunter2pw@h", &err),
                     SL_EPARSE);
    assert_non_null(strstr(err.text, "***"));
    assert_non_null(strstr(err.text, "expected pretty"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syslog_target),
        cmocka_unit_test(test_any_adapter),
        cmocka_unit_test(test_scheme_then_text),
        cmocka_unit_test(test_text_still_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
