list(APPEND SL_SOURCES src/status.c)
