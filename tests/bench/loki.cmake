# Loki sink benchmarks (issue 5 section 4): figures, never tests.
# loki_bench runs an in-process libmicrohttpd "sink-hole" receiver (the
# sink's own send rate) and tests/integration/loki_receiver.py (end to end
# through a validating receiver).
pkg_check_modules(MHD IMPORTED_TARGET libmicrohttpd)
if(MHD_FOUND)
  add_executable(loki_bench loki_bench.c)
  target_compile_definitions(loki_bench PRIVATE _GNU_SOURCE
                             SL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(loki_bench PRIVATE spanlog_static PkgConfig::MHD)
else()
  message(WARNING "libmicrohttpd not found: loki_bench is not built")
endif()
