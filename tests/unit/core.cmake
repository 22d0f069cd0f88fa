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
# A plugin unloaded and another loaded in its place: two builds of one call
# site, dlopen()ed by a host, all three on the shared library.
foreach(p a b)
  add_library(site_plugin_${p} MODULE unit/site_plugin.c)
  target_link_libraries(site_plugin_${p} PRIVATE spanlog)
  set_target_properties(site_plugin_${p} PROPERTIES PREFIX "lib"
                        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/plugins)
endforeach()
target_compile_definitions(site_plugin_a PRIVATE "PLUGIN_MSG=\"plugin one\"" "PLUGIN_KEY=\"ka\"")
target_compile_definitions(site_plugin_b PRIVATE "PLUGIN_MSG=\"plugin two\"" "PLUGIN_KEY=\"kb\"")
add_executable(test_site_reload unit/test_site_reload.c)
target_compile_definitions(test_site_reload PRIVATE _GNU_SOURCE)
target_link_libraries(test_site_reload PRIVATE spanlog PkgConfig::CMOCKA PkgConfig::JANSSON
                      ${CMAKE_DL_LIBS})
add_dependencies(test_site_reload site_plugin_a site_plugin_b)
add_test(NAME test_site_reload COMMAND test_site_reload)
set_tests_properties(test_site_reload PROPERTIES TIMEOUT 60 ENVIRONMENT
                     "SPANLOG_TEST_PLUGIN_DIR=${CMAKE_CURRENT_BINARY_DIR}/plugins")
