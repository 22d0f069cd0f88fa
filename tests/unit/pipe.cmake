sl_add_test(test_pipe SOURCES unit/test_pipe.c)
target_compile_definitions(test_pipe PRIVATE SPANLOG_PIPE_PATH="$<TARGET_FILE:spanlog-pipe>")
add_dependencies(test_pipe spanlog-pipe)
