# Unit tests of the syslog adapter: the pure formatter on bytes, options and targets.
sl_add_test(test_syslog_format SOURCES unit/test_syslog_format.c LIBS m TIMEOUT 60)
