# Unit tests of the logger core (src/sink.c, src/logger.c, ...).
sl_add_test(test_sink_stats SOURCES unit/test_sink_stats.c LABELS threads TIMEOUT 60)
sl_add_test(test_record SOURCES unit/test_record.c unit/core_capture.c TIMEOUT 60)
sl_add_test(test_truncate SOURCES unit/test_truncate.c unit/core_capture.c TIMEOUT 120)
sl_add_test(test_child SOURCES unit/test_child.c unit/core_capture.c TIMEOUT 60)
