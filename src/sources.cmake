list(APPEND SL_SOURCES src/status.c src/format_guard.c)
list(APPEND SL_SOURCES src/alloc.c src/clock.c src/json_writer.c src/json_number.c
     src/sysinfo.c)
# The logger core.
list(APPEND SL_SOURCES src/sink.c)
list(APPEND SL_SOURCES src/logger.c src/record.c src/field.c src/profile.c)
list(APPEND SL_SOURCES src/config.c src/env.c src/sink_uri.c)
