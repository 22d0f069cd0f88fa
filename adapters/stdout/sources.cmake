list(APPEND SL_SOURCES adapters/stdout/fd_sink.c adapters/stdout/fd_async.c
     adapters/stdout/options.c)
list(APPEND SL_ADAPTERS stdout)
