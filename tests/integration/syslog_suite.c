/*
 * syslog_suite.c - group fixtures and counter helpers shared by the syslog
 * integration tests (see syslog_suite.h).
 */
#include "integration/syslog_suite.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

rsl g_rsl;

/* Starts g_rsl with `start`; on failure says why the group cannot run. */
static int start_daemon(int (*start)(rsl *r), const char *failure)
{
    if (start(&g_rsl) != 0) {
        fprintf(stderr, "FAIL: %s\n", failure);
        return -1;
    }
    return 0;
}

int rsl_group_setup(void **state)
{
    (void)state;
    return start_daemon(rsl_start,
                        "could not start rsyslogd for the syslog integration tests");
}

int rsl_group_setup_tls(void **state)
{
    (void)state;
    return start_daemon(rsl_start_tls,
                        "could not start rsyslogd with TLS for the syslog TLS tests");
}

int rsl_group_teardown(void **state)
{
    (void)state;
    rsl_destroy(&g_rsl);
    return 0;
}

void rsl_expect_counter(rsl_counter *c, const char *marker, size_t n)
{
    assert_int_equal(rsl_counter_init(c, marker, n), 0);
}

void rsl_wait_count(rsl_counter *c, size_t want, int timeout_ms)
{
    rsl_counter_wait(&g_rsl, c, want, timeout_ms);
}
