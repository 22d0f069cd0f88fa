list(APPEND SL_SOURCES src/status.c src/abi.c src/format_guard.c)
# Strict http(s) URL checking for the network sinks.
list(APPEND SL_SOURCES src/url.c)
list(APPEND SL_SOURCES src/alloc.c src/clock.c src/json_writer.c src/json_number.c
     src/sysinfo.c)
# The logger core.
list(APPEND SL_SOURCES src/sink.c src/lifecycle.c src/diag.c)
# The delivery runtime under every background sink (src/deliver/deliver.h).
list(APPEND SL_SOURCES src/deliver/ring.c src/deliver/backoff.c src/deliver/deliver.c)
list(APPEND SL_SOURCES src/logger.c src/record.c src/field.c src/profile.c)
list(APPEND SL_SOURCES src/config.c src/env.c src/sink_uri.c src/pretty.c)
list(APPEND SL_SOURCES src/filter.c src/sampling.c src/redact.c src/control.c)
