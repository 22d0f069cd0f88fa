# syslog adapter figures: the formatter (ns per record) and records per
# second into a real rsyslogd over the local socket and TCP. Never a test.
add_executable(syslog_bench syslog_bench.c
  ${PROJECT_SOURCE_DIR}/tests/integration/rsyslog_harness.c)
target_compile_definitions(syslog_bench PRIVATE _GNU_SOURCE)
target_include_directories(syslog_bench PRIVATE ${PROJECT_SOURCE_DIR}/src
                           ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(syslog_bench PRIVATE spanlog_static Threads::Threads)
