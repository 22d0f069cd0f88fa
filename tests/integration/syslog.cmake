# Integration tests of the syslog adapter against a real rsyslogd (Debian
# package rsyslog) that the test starts on loopback and stops. A missing
# rsyslogd is a failure, never a skip.
sl_add_test(test_syslog_rsyslog
  SOURCES integration/test_syslog_rsyslog.c integration/rsyslog_harness.c
  LABELS threads integration TIMEOUT 900)
