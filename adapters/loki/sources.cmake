# sources of adapters/loki: list(APPEND SL_SOURCES adapters/loki/file.c)
