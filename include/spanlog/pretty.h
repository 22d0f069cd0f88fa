/*
 * spanlog/pretty.h - records for humans: one short, colored line per JSON
 * record, the way pino-pretty, zerolog's ConsoleWriter or spdlog's colored
 * console print them.
 *
 *   10:15:30.123 INFO  card charged [0af76519-b7ad6b71] requestId=r-42 cents=1299
 *
 * The formatter reads one JSON line (spanlog's records in every profile,
 * pino's, or any object with level/msg-like keys) and prints: the time
 * (short, local or UTC), the level (colored), the message, the short
 * correlation id when the record has trace ids, then every other member as
 * key=value, nested objects and arrays compactly. Control characters,
 * escape sequences and invalid UTF-8 in keys and values are made visible
 * (\n, \t, \e, \xNN), never passed to the terminal. A line that is not a
 * JSON object is printed as it is, made visible the same way.
 *
 * The fd sink prints this format when its `format` option is
 * SL_FD_FORMAT_PRETTY (stdout.h); the `pretty` sink target and
 * SPANLOG_FORMAT=pretty (or =auto, on a terminal) choose it from the
 * environment; `spanlog-pretty` applies it to a stream of JSON lines.
 */
#ifndef SPANLOG_PRETTY_H
#define SPANLOG_PRETTY_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sl_color_mode {
    SL_COLOR_AUTO = 0, /* colors when the fd is a terminal (see sl_pretty_use_color) */
    SL_COLOR_ALWAYS = 1,
    SL_COLOR_NEVER = 2
} sl_color_mode;

typedef struct sl_pretty_options {
    size_t size;    /* sizeof(sl_pretty_options), set by _init */
    bool color;     /* write ANSI SGR colors; default false */
    bool utc;       /* time in UTC; default false: local time */
    bool show_time; /* default true */
    bool show_date; /* YYYY-MM-DD before the time; default false */
} sl_pretty_options;

/* Fills the defaults. Any thread. */
SL_API void sl_pretty_options_init(sl_pretty_options *opts);

/*
 * Whether to color output written to fd, by the no-color.org convention:
 * SL_COLOR_NEVER -> false, SL_COLOR_ALWAYS -> true; SL_COLOR_AUTO -> false
 * when NO_COLOR is set and not empty, true when FORCE_COLOR is set to
 * anything but "" or "0", false when TERM is "dumb", else isatty(fd).
 * Reads the environment: call it at setup, not concurrently with setenv().
 */
SL_API bool sl_pretty_use_color(int fd, sl_color_mode mode);

/*
 * Formats one JSON line (len bytes; a trailing '\n' is ignored) into out
 * (cap bytes), always NUL-terminated when cap > 0, ending in '\n'. Returns
 * the length the whole output takes (without the NUL), like snprintf: when
 * it is >= cap, the output was cut; call again with a bigger buffer. The
 * output is at most 8 * len + 128 bytes. opts NULL: the defaults. Pure and
 * thread-safe; makes no allocation; reads the local time zone when
 * opts->utc is false.
 */
SL_API size_t sl_pretty_format(const char *line, size_t len,
                               const sl_pretty_options *opts, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_PRETTY_H */
