# sources of adapters/otlp: OTLP/HTTP export of spans and logs (see
# adapters/otlp/otlp_internal.h). Built with -DSPANLOG_WITH_OTLP=ON (the
# default); it links libcurl and zlib.
find_package(ZLIB REQUIRED)
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
list(APPEND SL_ADAPTERS otlp)
list(APPEND SL_LINK_LIBS ZLIB::ZLIB)
list(APPEND SL_FIND_DEPENDENCIES ZLIB)
list(APPEND SL_PC_REQUIRES zlib)
include(adapters/http/sources.cmake)
