# Fuzz targets (tests/fuzz, docs/fuzzing.md).
#
# Every build: each target linked with driver.c and run by ctest over its
# seed corpus and its committed regression inputs (fuzz_<name>_inputs).
# -DSPANLOG_FUZZ=ON (clang): also the libFuzzer binaries, fuzz_<name>, with
# the library instrumented for coverage (scripts/fuzz.sh runs them).
set(SL_FUZZ_TARGETS traceparent tracestate baggage extract record syslog env sink_uri)
if(NOT DEFINED SPANLOG_WITH_OTLP OR SPANLOG_WITH_OTLP)
  list(APPEND SL_FUZZ_TARGETS otlp)
endif()
if(NOT DEFINED SPANLOG_WITH_LOKI OR SPANLOG_WITH_LOKI)
  list(APPEND SL_FUZZ_TARGETS loki)
endif()
set(SL_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

# fuzz_sink_uri checks that a target check opens nothing: every call that
# opens, connects, resolves or starts a thread goes through its wrapper.
set(SL_FUZZ_WRAPS open socket connect getaddrinfo pipe2 rename unlink pthread_create)
set(SL_FUZZ_WRAP_CURL OFF)
if((NOT DEFINED SPANLOG_WITH_LOKI OR SPANLOG_WITH_LOKI) OR
   (NOT DEFINED SPANLOG_WITH_OTLP OR SPANLOG_WITH_OTLP))
  list(APPEND SL_FUZZ_WRAPS curl_easy_init)
  set(SL_FUZZ_WRAP_CURL ON)
endif()
function(sl_fuzz_wraps target)
  foreach(w ${SL_FUZZ_WRAPS})
    target_link_options(${target} PRIVATE -Wl,--wrap=${w})
  endforeach()
  if(SL_FUZZ_WRAP_CURL)
    target_compile_definitions(${target} PRIVATE SL_FUZZ_WRAP_CURL)
  endif()
endfunction()

foreach(t ${SL_FUZZ_TARGETS})
  add_executable(fuzz_${t}_inputs ${SL_FUZZ_DIR}/driver.c ${SL_FUZZ_DIR}/fuzz_${t}.c)
  target_compile_definitions(fuzz_${t}_inputs PRIVATE _GNU_SOURCE)
  target_include_directories(fuzz_${t}_inputs PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(fuzz_${t}_inputs PRIVATE spanlog_static PkgConfig::JANSSON
                        Threads::Threads)
  add_test(NAME fuzz_${t}_inputs
           COMMAND fuzz_${t}_inputs ${SL_FUZZ_DIR}/corpus/${t} ${SL_FUZZ_DIR}/regressions/${t})
  set_tests_properties(fuzz_${t}_inputs PROPERTIES TIMEOUT 300 LABELS fuzz)
  if(t STREQUAL "sink_uri")
    sl_fuzz_wraps(fuzz_${t}_inputs)
  endif()
  if(SPANLOG_FUZZ)
    add_executable(fuzz_${t} ${SL_FUZZ_DIR}/fuzz_${t}.c)
    target_compile_definitions(fuzz_${t} PRIVATE _GNU_SOURCE)
    target_include_directories(fuzz_${t} PRIVATE ${PROJECT_SOURCE_DIR}/src
                               ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/tests)
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${t} PRIVATE spanlog_static PkgConfig::JANSSON
                          Threads::Threads)
    if(t STREQUAL "sink_uri")
      sl_fuzz_wraps(fuzz_${t})
    endif()
  endif()
endforeach()
