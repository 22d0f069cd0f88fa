# Integration tests of the Loki sink against tests/integration/loki_receiver.py
# (a strict Loki push API stand-in, started by each test on a loopback port).
# Every one runs the sink's worker thread beside the logging threads: `threads`.
# The receiver is the strict peer these tests stand on: without python3 the
# build fails rather than leave the sink untested.
find_program(SL_PYTHON3_LOKI python3 REQUIRED)
foreach(t delivery faults process labels)
  sl_add_test(test_loki_${t}
    SOURCES integration/test_loki_${t}.c integration/loki_harness.c
    LIBS CURL::libcurl
    LABELS threads
    TIMEOUT 240)
  target_compile_definitions(test_loki_${t} PRIVATE SL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endforeach()
