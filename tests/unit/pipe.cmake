if(SPANLOG_WITH_LOKI)
  sl_add_test(test_pipe SOURCES unit/test_pipe.c LIBS CURL::libcurl TIMEOUT 120)
else()
  sl_add_test(test_pipe SOURCES unit/test_pipe.c TIMEOUT 120)
endif()
target_compile_definitions(test_pipe PRIVATE SPANLOG_PIPE_PATH="$<TARGET_FILE:spanlog-pipe>"
                           SL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(test_pipe spanlog-pipe)
