# Integration tests of messaging/ against real brokers on loopback:
# nats-server (started by the tests on a free port) with libnats, and
# librdkafka's in-process mock cluster. Built only with the libraries.
if(TARGET spanlog-nats_static)
  set(SL_NATS_TEST_SOURCES ${CMAKE_CURRENT_LIST_DIR}/nats_harness.c
      ${CMAKE_CURRENT_LIST_DIR}/msg_spans.c ${CMAKE_CURRENT_SOURCE_DIR}/unit/core_capture.c)
  sl_add_test(test_nats_propagation
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nats_propagation.c ${SL_NATS_TEST_SOURCES}
    LIBS spanlog-nats_static LABELS threads TIMEOUT 120)
  sl_add_test(test_nats_threads
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nats_threads.c ${SL_NATS_TEST_SOURCES}
    LIBS spanlog-nats_static LABELS threads TIMEOUT 300)
  sl_add_test(test_nats_reconnect
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nats_reconnect.c ${SL_NATS_TEST_SOURCES}
    LIBS spanlog-nats_static LABELS threads TIMEOUT 180)
endif()
if(TARGET spanlog-kafka_static)
  sl_add_test(test_kafka_propagation
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kafka_propagation.c
            ${CMAKE_CURRENT_LIST_DIR}/msg_spans.c ${CMAKE_CURRENT_SOURCE_DIR}/unit/core_capture.c
    LIBS spanlog-kafka_static TIMEOUT 300)
  # Not labelled `threads`: ThreadSanitizer cannot run librdkafka. Debian's
  # build starts its threads with C11 thrd_create, which glibc implements
  # without going through pthread_create, so TSan never sees those threads
  # start and crashes in its allocator on their first malloc (seen with
  # GCC 12's TSan on Debian 12). The test still runs in the normal, ASan
  # and clang builds.
endif()
# The examples: HTTP -> NATS -> worker in one trace (scripts/queue-demo.sh,
# the README's command, on the built binaries), and the Kafka worker's
# self-contained mock run.
if(TARGET queue_worker AND TARGET http_service)
  add_test(NAME queue_worker_demo
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/queue-demo.sh --bin-dir ${PROJECT_BINARY_DIR})
  set_tests_properties(queue_worker_demo PROPERTIES TIMEOUT 120)
endif()
if(TARGET kafka_worker)
  add_test(NAME kafka_worker_mock
           COMMAND bash -c "set -o pipefail; $<TARGET_FILE:kafka_worker> --mock | python3 ${CMAKE_CURRENT_LIST_DIR}/check_kafka_worker.py")
  set_tests_properties(kafka_worker_mock PROPERTIES TIMEOUT 120)
endif()
