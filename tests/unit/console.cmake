# The human console format (src/pretty.c), its fd sink mode and spanlog-pretty.
sl_add_test(test_pretty SOURCES unit/test_pretty.c unit/core_capture.c TIMEOUT 60)
target_compile_definitions(test_pretty PRIVATE
                           SPANLOG_PRETTY_PATH="$<TARGET_FILE:spanlog-pretty>")
add_dependencies(test_pretty spanlog-pretty)
# Sampling, the rate cap and redaction (src/filter.c, sampling.c, redact.c).
sl_add_test(test_filter SOURCES unit/test_filter.c unit/core_capture.c LABELS threads
            TIMEOUT 120)
# Files that rotate and reopen (adapters/stdout/rotate.c), levels by signal
# (src/control.c).
if(SL_WITH_GZIP) # zlib reads the rotated files back
  sl_add_test(test_rotate SOURCES unit/test_rotate.c unit/core_capture.c LIBS ZLIB::ZLIB
              LABELS threads TIMEOUT 300)
else()
  sl_add_test(test_rotate SOURCES unit/test_rotate.c unit/core_capture.c LABELS threads
              TIMEOUT 300)
endif()
