# Integration tests of examples/http_service: they run the built binary, so
# they exist only when the examples are built. Both start the service and a
# recording downstream peer on 127.0.0.1 (ports picked by the kernel).
if(TARGET http_service)
  if(NOT TARGET CURL::libcurl)
    find_package(CURL REQUIRED) # the example found it (examples/http_service)
  endif()
  if(NOT TARGET PkgConfig::MHD)
    pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
  endif()
  foreach(t test_http_service test_http_propagation)
    sl_add_test(${t}
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c
              ${CMAKE_CURRENT_LIST_DIR}/httpsvc_checks.c
              ${CMAKE_CURRENT_LIST_DIR}/httpsvc_harness.c
      LIBS PkgConfig::MHD CURL::libcurl
      LABELS threads
      TIMEOUT 180)
    target_compile_definitions(${t} PRIVATE HTTP_SERVICE_BIN="$<TARGET_FILE:http_service>")
    add_dependencies(${t} http_service)
  endforeach()
endif()
