# sources of adapters/otlp: OTLP/HTTP export of spans and logs (see
# adapters/otlp/otlp_internal.h)
list(APPEND SL_SOURCES
  adapters/otlp/pb.c
  adapters/otlp/value.c
  adapters/otlp/keys.c
  adapters/otlp/span_enc.c
  adapters/otlp/log_enc.c
  adapters/otlp/resource.c
  adapters/otlp/request.c)
list(APPEND SL_SOURCES
  adapters/otlp/config.c
  adapters/otlp/http.c
  adapters/otlp/pipe.c
  adapters/otlp/exporter.c
  adapters/otlp/sink.c)
include(adapters/http/sources.cmake)
