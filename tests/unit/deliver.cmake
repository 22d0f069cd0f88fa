# Unit tests of the delivery runtime (src/deliver/): the ring, the retry
# policy, and the runtime itself against scripted transports.
sl_add_test(test_deliver_ring SOURCES unit/test_deliver_ring.c)
sl_add_test(test_deliver_backoff SOURCES unit/test_deliver_backoff.c)
sl_add_test(test_deliver SOURCES unit/test_deliver.c LABELS threads)
if(SPANLOG_WITH_LOKI)
# Loki's transport honours the runtime's close deadline with a push in flight.
sl_add_test(test_loki_close SOURCES integration/test_loki_close.c LABELS threads)
# The runtime splits a Loki batch above the server's ingestion burst
# (tests/integration/loki_receiver.py's burst_bytes).
sl_add_test(test_loki_split
  SOURCES integration/test_loki_split.c integration/loki_harness.c
  LIBS CURL::libcurl LABELS threads TIMEOUT 240)
target_compile_definitions(test_loki_split PRIVATE SL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()
