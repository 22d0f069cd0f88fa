# OTLP export benchmarks (issue 10 section 5): figures, never tests. The
# OpenTelemetry JS peer is in tests/bench/otel-js (npm install there first).
if(SPANLOG_WITH_OTLP)
  pkg_check_modules(MHD IMPORTED_TARGET libmicrohttpd)
  if(MHD_FOUND)
    add_executable(otlp_bench otlp_bench.c)
    target_compile_definitions(otlp_bench PRIVATE _GNU_SOURCE)
    target_include_directories(otlp_bench PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
    target_link_libraries(otlp_bench PRIVATE sl_bench_common spanlog_static PkgConfig::MHD
                          PkgConfig::JANSSON)
  endif()
endif()
