list(APPEND SL_SOURCES adapters/stdout/fd_sink.c adapters/stdout/rotate.c
     adapters/stdout/fd_async.c adapters/stdout/options.c)
list(APPEND SL_ADAPTERS stdout)
# gzip of rotated files: only when zlib is linked for Loki or OTLP anyway
# (SPANLOG_WITH_GZIP in spanlog/features.h).
