# Unit tests for issue 3: spans, sampling, baggage, propagation.
sl_add_test(test_sampler SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sampler.c)
sl_add_test(test_span_full SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_span_full.c LABELS threads)
sl_add_test(test_baggage SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_baggage.c LABELS threads)
sl_add_test(test_propagation SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_propagation.c)
sl_add_test(test_span_record SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_span_record.c
            ${CMAKE_CURRENT_LIST_DIR}/core_capture.c)
sl_add_test(test_trace_nomem SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_trace_nomem.c LABELS threads)
sl_add_test(test_span_handles SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_span_handles.c LABELS threads)
