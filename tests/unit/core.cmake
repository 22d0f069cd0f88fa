# Unit tests of the logger core (src/sink.c, src/logger.c, ...).
sl_add_test(test_sink_stats SOURCES unit/test_sink_stats.c LABELS threads TIMEOUT 60)
