# OTLP: the encoders checked by the independent decoder (python3-protobuf).
if(SPANLOG_WITH_OTLP)
  sl_add_test(test_otlp_encode SOURCES unit/test_otlp_encode.c)
  target_compile_definitions(test_otlp_encode PRIVATE
    SL_OTLP_DECODER="${PROJECT_SOURCE_DIR}/tests/integration/otlp/otlp_decode.py")
  set_tests_properties(test_otlp_encode PROPERTIES ENVIRONMENT
    "OTLP_PB2_DIR=${PROJECT_BINARY_DIR}/otlp_pb2")
endif()
if(SPANLOG_WITH_OTLP)
  # Against the strict receiver (tests/integration/otlp/otlp_receiver.py).
  sl_add_test(test_otlp_export SOURCES integration/test_otlp_export.c integration/otlp_harness.c
              LIBS CURL::libcurl LABELS threads TIMEOUT 600)
  target_compile_definitions(test_otlp_export PRIVATE
    SL_OTLP_RECEIVER="${PROJECT_SOURCE_DIR}/tests/integration/otlp/otlp_receiver.py")
  set_tests_properties(test_otlp_export PROPERTIES ENVIRONMENT
    "OTLP_PB2_DIR=${PROJECT_BINARY_DIR}/otlp_pb2")
  add_test(NAME otlp_receiver_selftest
           COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/integration/otlp/otlp_receiver_selftest.py)
  set_tests_properties(otlp_receiver_selftest PROPERTIES ENVIRONMENT
    "OTLP_PB2_DIR=${PROJECT_BINARY_DIR}/otlp_pb2")
endif()
if(SPANLOG_WITH_OTLP AND TARGET http_service)
  sl_add_test(test_otlp_http_service
    SOURCES integration/test_otlp_http_service.c integration/otlp_harness.c
            integration/httpsvc_harness.c
    LIBS PkgConfig::MHD CURL::libcurl LABELS threads TIMEOUT 180)
  target_compile_definitions(test_otlp_http_service PRIVATE
    HTTP_SERVICE_BIN="$<TARGET_FILE:http_service>"
    SL_OTLP_RECEIVER="${PROJECT_SOURCE_DIR}/tests/integration/otlp/otlp_receiver.py")
  set_tests_properties(test_otlp_http_service PROPERTIES ENVIRONMENT
    "OTLP_PB2_DIR=${PROJECT_BINARY_DIR}/otlp_pb2")
  add_dependencies(test_otlp_http_service http_service)
endif()
if(SPANLOG_WITH_OTLP)
  sl_add_test(test_otlp_tls SOURCES integration/test_otlp_tls.c integration/otlp_harness.c
              LIBS CURL::libcurl TIMEOUT 120)
  target_compile_definitions(test_otlp_tls PRIVATE
    SL_OTLP_RECEIVER="${PROJECT_SOURCE_DIR}/tests/integration/otlp/otlp_receiver.py")
  set_tests_properties(test_otlp_tls PROPERTIES ENVIRONMENT
    "OTLP_PB2_DIR=${PROJECT_BINARY_DIR}/otlp_pb2")
endif()
