# Integration tests of the Loki sink against tests/integration/loki_receiver.py
# (a strict Loki push API stand-in, started by each test on a loopback port).
# Every one runs the sink's worker thread beside the logging threads: `threads`.
find_program(SL_PYTHON3_LOKI python3)
if(SL_PYTHON3_LOKI)
  foreach(t delivery faults process)
    sl_add_test(test_loki_${t}
      SOURCES integration/test_loki_${t}.c integration/loki_harness.c
      LIBS CURL::libcurl
      LABELS threads
      TIMEOUT 240)
    target_compile_definitions(test_loki_${t} PRIVATE SL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  endforeach()
else()
  message(WARNING "python3 not found: the Loki integration tests are not registered")
endif()
