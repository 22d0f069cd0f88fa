# Unit tests of the encoding foundation: JSON writer, clock, allocator hook.
sl_add_test(test_json_writer SOURCES unit/test_json_writer.c LIBS m)
sl_add_test(test_clock SOURCES unit/test_clock.c)
sl_add_test(test_alloc SOURCES unit/test_alloc.c)
sl_add_test(test_double SOURCES unit/test_double.c LIBS m)
