# OTLP: the encoders checked by the independent decoder (python3-protobuf).
if(SPANLOG_WITH_OTLP)
  sl_add_test(test_otlp_encode SOURCES unit/test_otlp_encode.c)
  target_compile_definitions(test_otlp_encode PRIVATE
    SL_OTLP_DECODER="${PROJECT_SOURCE_DIR}/tests/integration/otlp/otlp_decode.py")
  set_tests_properties(test_otlp_encode PROPERTIES ENVIRONMENT
    "OTLP_PB2_DIR=${PROJECT_BINARY_DIR}/otlp_pb2")
endif()
