# Unit tests of the Loki sink's pure parts: body, labels/options, backoff,
# queue, truncation.
sl_add_test(test_loki_body SOURCES unit/test_loki_body.c LIBS ZLIB::ZLIB)
sl_add_test(test_loki_config SOURCES unit/test_loki_config.c LABELS threads)
sl_add_test(test_loki_backoff SOURCES unit/test_loki_backoff.c)
sl_add_test(test_loki_truncate SOURCES unit/test_loki_truncate.c)
sl_add_test(test_loki_proto SOURCES unit/test_loki_proto.c)
sl_add_test(test_loki_nomem SOURCES unit/test_loki_nomem.c LABELS threads)
