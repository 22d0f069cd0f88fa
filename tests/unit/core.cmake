# Unit tests of the logger core (src/sink.c, src/logger.c, ...).
sl_add_test(test_sink_stats SOURCES unit/test_sink_stats.c LABELS threads TIMEOUT 60)
sl_add_test(test_record SOURCES unit/test_record.c unit/core_capture.c TIMEOUT 60)
sl_add_test(test_truncate SOURCES unit/test_truncate.c unit/core_capture.c TIMEOUT 120)
sl_add_test(test_child SOURCES unit/test_child.c unit/core_capture.c TIMEOUT 60)
sl_add_test(test_noalloc SOURCES unit/test_noalloc.c TIMEOUT 120)
sl_add_test(test_concurrency SOURCES unit/test_concurrency.c unit/core_capture.c
            LABELS threads TIMEOUT 600)
sl_add_test(test_core_chaos SOURCES unit/test_core_chaos.c TIMEOUT 120)
sl_add_test(test_exit_flush SOURCES unit/test_exit_flush.c TIMEOUT 60)
sl_add_test(test_record_baggage SOURCES unit/test_record_baggage.c unit/core_capture.c TIMEOUT 60)
sl_add_test(test_env SOURCES unit/test_env.c TIMEOUT 60)
sl_add_test(test_untrusted SOURCES unit/test_untrusted.c unit/core_capture.c TIMEOUT 120)
