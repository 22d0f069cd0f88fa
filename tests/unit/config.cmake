# The option tables and the adapter registry (src/config.h): the grammars,
# the error texts, the docs generated from the tables, and what a build
# with adapters left out links.
sl_add_test(test_config SOURCES unit/test_config.c TIMEOUT 60)
# The build's own SPANLOG_* options (cache variables): the docs may name them.
get_cmake_property(sl_cache_vars CACHE_VARIABLES)
set(sl_cmake_options ",")
foreach(v ${sl_cache_vars})
  if(v MATCHES "^SPANLOG_")
    string(APPEND sl_cmake_options "${v},")
  endif()
endforeach()
target_compile_definitions(test_config PRIVATE SL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           SL_CMAKE_OPTIONS="${sl_cmake_options}")
add_test(NAME linked_dependencies
         # SL_WITH_*: 0/1, set by CMakeLists.txt for features.h
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/check_deps.sh ${PROJECT_BINARY_DIR}
                 ${SL_WITH_LOKI} ${SL_WITH_SYSLOG_TLS} ${SL_WITH_OTLP})
# Nothing under src/ includes or names an adapter (a grep of the sources).
add_test(NAME core_names_no_adapter
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/check_layering.sh ${PROJECT_SOURCE_DIR})
