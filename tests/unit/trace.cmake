# Unit tests of src/trace: ids, traceparent, tracestate, context stack, spans.
sl_add_test(test_traceparent SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_traceparent.c)
sl_add_test(test_tracestate SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tracestate.c)
sl_add_test(test_ids SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ids.c LABELS threads)
sl_add_test(test_context SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_context.c LABELS threads)
sl_add_test(test_span SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_span.c)
