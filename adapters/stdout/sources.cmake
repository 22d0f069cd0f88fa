list(APPEND SL_SOURCES adapters/stdout/fd_sink.c adapters/stdout/fd_async.c)
