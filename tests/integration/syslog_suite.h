/*
 * syslog_suite.h - what the cmocka programs testing the syslog sink against
 * rsyslogd share: one daemon for the whole group (g_rsl), its group setup and
 * teardown, and asserting wrappers around the harness's record counter.
 */
#ifndef SPANLOG_SYSLOG_SUITE_H
#define SPANLOG_SYSLOG_SUITE_H

#include <stddef.h>

#include "integration/rsyslog_harness.h"

/* The group's daemon: started by rsl_group_setup*, removed by the teardown. */
extern rsl g_rsl;

/* cmocka group setups: rsl_start() / rsl_start_tls() on g_rsl; -1 (with a
 * message on stderr) fails the group when the daemon cannot start. */
int rsl_group_setup(void **state);
int rsl_group_setup_tls(void **state);

/* cmocka group teardown: rsl_destroy(&g_rsl). */
int rsl_group_teardown(void **state);

/* rsl_counter_init() that fails the test when memory runs out. */
void rsl_expect_counter(rsl_counter *c, const char *marker, size_t n);

/* rsl_counter_wait() on g_rsl. */
void rsl_wait_count(rsl_counter *c, size_t want, int timeout_ms);

#endif /* SPANLOG_SYSLOG_SUITE_H */
