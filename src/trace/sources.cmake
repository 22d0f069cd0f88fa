# sources of src/trace
list(APPEND SL_SOURCES
  src/trace/ids.c
  src/trace/traceparent.c
  src/trace/tracestate.c
  src/trace/context.c
  src/trace/span.c
  src/trace/sampler.c
  src/trace/processor.c
  src/trace/span_record.c
  src/trace/baggage.c
  src/trace/propagation.c)
