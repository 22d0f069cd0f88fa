# sources of src/trace
list(APPEND SL_SOURCES
  src/trace/ids.c
  src/trace/traceparent.c
  src/trace/tracestate.c
  src/trace/context.c
  src/trace/span.c
  src/trace/alloc_fallback.c)
