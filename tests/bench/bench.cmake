# Benchmark programs (issue 2 section 12, issue 6): figures, never tests.
# Nothing here is registered with ctest. tests/bench/run.sh builds these
# and runs them; see docs/performance.md.

# The harness: timing, statistics, JSON output, the multi-threaded runner
# and the shared workload. alloc_count.c interposes malloc for the whole
# process, so it goes into each program itself, and not under sanitizers,
# which bring their own allocator.
add_library(sl_bench_common STATIC common/harness.c common/runner.c common/workload.c)
target_include_directories(sl_bench_common PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(sl_bench_common PUBLIC _GNU_SOURCE)
target_link_libraries(sl_bench_common PUBLIC Threads::Threads m)

set(SL_BENCH_ALLOC ${CMAKE_CURRENT_SOURCE_DIR}/common/alloc_count.c)
set_property(SOURCE ${SL_BENCH_ALLOC} APPEND PROPERTY COMPILE_DEFINITIONS _GNU_SOURCE)
if(SPANLOG_SANITIZE)
  set_property(SOURCE ${SL_BENCH_ALLOC} APPEND PROPERTY COMPILE_DEFINITIONS BENCH_NO_INTERPOSE)
endif()

# spanlog: its own operations (issue 2) and the side-by-side scenarios. The
# static library, as the tests use it; sl_would_log is inline either way.
add_executable(bench_spanlog_micro bench_spanlog_micro.c ${SL_BENCH_ALLOC})
target_link_libraries(bench_spanlog_micro PRIVATE sl_bench_common spanlog_static)
add_executable(bench_cmp_spanlog cmp_spanlog.c ${SL_BENCH_ALLOC})
target_link_libraries(bench_cmp_spanlog PRIVATE sl_bench_common spanlog_static)

# jansson baseline: a json_t tree per record.
add_executable(bench_cmp_jansson cmp_jansson.c ${SL_BENCH_ALLOC})
target_link_libraries(bench_cmp_jansson PRIVATE sl_bench_common PkgConfig::JANSSON)

# spdlog peer (C++): only when a C++ compiler and Debian's spdlog are there.
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  find_package(spdlog CONFIG QUIET)
endif()
if(CMAKE_CXX_COMPILER AND spdlog_FOUND)
  add_executable(bench_cmp_spdlog cmp_spdlog.cpp ${SL_BENCH_ALLOC})
  set_target_properties(bench_cmp_spdlog PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON
                        CXX_EXTENSIONS OFF)
  # The project's warning list includes C-only flags: keep them for C only.
  get_target_property(sl_bench_opts bench_cmp_spdlog COMPILE_OPTIONS)
  if(sl_bench_opts)
    list(REMOVE_ITEM sl_bench_opts -Wstrict-prototypes -Wmissing-prototypes)
    set_target_properties(bench_cmp_spdlog PROPERTIES COMPILE_OPTIONS "${sl_bench_opts}")
  endif()
  target_compile_options(bench_cmp_spdlog PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes -Wmissing-prototypes>
    $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Woverloaded-virtual>)
  target_link_libraries(bench_cmp_spdlog PRIVATE sl_bench_common spdlog::spdlog)
else()
  message(STATUS "spanlog bench: no C++ compiler or spdlog package, spdlog peer not built")
endif()

# Loki: spanlog's Loki sink (once the Loki adapter is in the tree) against
# pino-loki, both pushing into one lean receiver (libmicrohttpd + zlib +
# jansson) that counts bytes on the wire and entries.
pkg_check_modules(SL_BENCH_MHD QUIET IMPORTED_TARGET libmicrohttpd)
if(SL_BENCH_MHD_FOUND AND SPANLOG_WITH_LOKI)
  add_executable(bench_loki_recv loki_recv.c)
  target_compile_definitions(bench_loki_recv PRIVATE _GNU_SOURCE)
  target_link_libraries(bench_loki_recv PRIVATE PkgConfig::SL_BENCH_MHD PkgConfig::JANSSON
                        ZLIB::ZLIB)
else()
  message(STATUS "spanlog bench: no libmicrohttpd, the Loki comparison is not built")
endif()
if(SPANLOG_WITH_LOKI)
  add_executable(bench_cmp_spanlog_loki cmp_spanlog_loki.c ${SL_BENCH_ALLOC})
  target_link_libraries(bench_cmp_spanlog_loki PRIVATE sl_bench_common spanlog_static)
endif()

# What redaction and sampling add to a record (spanlog/filter.h).
add_executable(bench_filter filter_bench.c)
target_link_libraries(bench_filter PRIVATE spanlog_static)
