# Integration test of examples/http_service: it runs the built binary, so it
# exists only when the examples are built.
if(TARGET http_service)
  if(NOT TARGET PkgConfig::MHD)
    pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
  endif()
  sl_add_test(test_http_service
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_service.c
            ${CMAKE_CURRENT_LIST_DIR}/httpsvc_harness.c
    LIBS PkgConfig::MHD CURL::libcurl
    LABELS threads
    TIMEOUT 180)
  target_compile_definitions(test_http_service PRIVATE
    HTTP_SERVICE_BIN="$<TARGET_FILE:http_service>")
  add_dependencies(test_http_service http_service)
endif()
