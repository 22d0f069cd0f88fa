# sources of adapters/syslog: list(APPEND SL_SOURCES adapters/syslog/file.c)
