# sources of adapters/loki: the Loki push sink (see adapters/loki/loki_internal.h)
list(APPEND SL_SOURCES
  adapters/loki/options.c
  adapters/loki/labels.c
  adapters/loki/truncate.c
  adapters/loki/body.c
  adapters/loki/proto.c
  adapters/loki/snappy.c
  adapters/loki/http.c
  adapters/loki/sink.c
  adapters/loki/worker.c)
include(adapters/http/sources.cmake)
