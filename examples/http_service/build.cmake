# examples/http_service: included by examples/CMakeLists.txt.
# libmicrohttpd for the server side, libcurl for the downstream calls.
# The example calls libcurl itself: without it (a build without the Loki
# sink need not have it) the example is not built.
if(NOT TARGET CURL::libcurl)
  find_package(CURL QUIET)
  if(NOT CURL_FOUND)
    message(STATUS "examples: no libcurl, http_service is not built")
    return()
  endif()
endif()
if(NOT TARGET PkgConfig::MHD)
  pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
endif()
add_executable(http_service
  ${CMAKE_CURRENT_LIST_DIR}/main.c
  ${CMAKE_CURRENT_LIST_DIR}/handler.c
  ${CMAKE_CURRENT_LIST_DIR}/propagation.c
  ${CMAKE_CURRENT_LIST_DIR}/downstream.c
  ${CMAKE_CURRENT_LIST_DIR}/span_log.c
  ${CMAKE_CURRENT_LIST_DIR}/queue.c)
target_compile_definitions(http_service PRIVATE _GNU_SOURCE)
target_link_libraries(http_service PRIVATE spanlog PkgConfig::MHD CURL::libcurl
                      PkgConfig::JANSSON Threads::Threads)
# --nats (publish each request to NATS) exists when libspanlog-nats is built.
if(TARGET spanlog-nats)
  target_compile_definitions(http_service PRIVATE SVC_WITH_NATS)
  target_link_libraries(http_service PRIVATE spanlog-nats)
endif()
