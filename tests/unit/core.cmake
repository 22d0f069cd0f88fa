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
sl_add_test(test_diag SOURCES unit/test_diag.c unit/core_capture.c TIMEOUT 60)
sl_add_test(test_level_threads SOURCES unit/test_level_threads.c LABELS threads TIMEOUT 120)
sl_add_test(test_untrusted SOURCES unit/test_untrusted.c unit/core_capture.c TIMEOUT 120)
sl_add_test(test_url SOURCES unit/test_url.c)
sl_add_test(test_sink_uri_secrets SOURCES unit/test_sink_uri_secrets.c TIMEOUT 60)
sl_add_test(test_sink_events SOURCES unit/test_sink_events.c LABELS threads TIMEOUT 60)
# -O2 always: the macros mark literal keys and messages only when GCC or
# clang folds them, and this test checks the cache those marks enable.
sl_add_test(test_site_cache SOURCES unit/test_site_cache.c unit/core_capture.c TIMEOUT 60)
set_source_files_properties(unit/test_site_cache.c PROPERTIES COMPILE_OPTIONS "-O2")
