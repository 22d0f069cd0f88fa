# Tracing benchmarks (issue 3): figures, never tests.
add_executable(span_bench span_bench.c)
target_compile_definitions(span_bench PRIVATE _GNU_SOURCE)
target_link_libraries(span_bench PRIVATE spanlog_static)
