# sources of adapters/loki: the Loki push sink (see adapters/loki/loki_internal.h)
# Built with -DSPANLOG_WITH_LOKI=ON (the default); it links libcurl and zlib.
find_package(ZLIB REQUIRED)
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
list(APPEND SL_ADAPTERS loki)
# What the library links, what the static library's users need (installed
# CMake package: find_dependency; pkg-config: Requires.private).
list(APPEND SL_LINK_LIBS ZLIB::ZLIB)
list(APPEND SL_FIND_DEPENDENCIES ZLIB)
list(APPEND SL_PC_REQUIRES zlib)
include(adapters/http/sources.cmake)
