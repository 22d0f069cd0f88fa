# Integration tests of the syslog adapter against a real rsyslogd (Debian
# package rsyslog; the TLS test also rsyslog-openssl and openssl) that each
# test program starts on loopback and stops. A missing daemon or module is a
# failure, never a skip.
sl_add_test(test_syslog_fields
  SOURCES integration/test_syslog_fields.c integration/rsyslog_harness.c
    integration/syslog_suite.c
  LABELS threads integration TIMEOUT 600)
sl_add_test(test_syslog_volume
  SOURCES integration/test_syslog_volume.c integration/rsyslog_harness.c
    integration/syslog_suite.c
  LABELS threads integration TIMEOUT 900)
if(SPANLOG_WITH_SYSLOG_TLS)
  sl_add_test(test_syslog_tls
    SOURCES integration/test_syslog_tls.c integration/rsyslog_harness.c
      integration/syslog_suite.c
    LABELS threads integration TIMEOUT 600)
endif()
