# sources of adapters/stdout: list(APPEND SL_SOURCES adapters/stdout/file.c)
