/* status.c - status texts and level names. */
#include <string.h>
#include <strings.h>

#include "internal.h"

const char *sl_strerror(sl_status status)
{
    switch (status) {
    case SL_OK:
        return "success";
    case SL_EINVAL:
        return "invalid argument";
    case SL_ENOMEM:
        return "out of memory";
    case SL_EPARSE:
        return "malformed input";
    case SL_ERANGE:
        return "value or size out of range";
    case SL_ESTATE:
        return "operation not valid in the current state";
    case SL_EIO:
        return "I/O error";
    case SL_ETIMEDOUT:
        return "timed out";
    case SL_ECLOSED:
        return "closed";
    case SL_ENOTSUP:
        return "not supported";
    case SL_ENOENT:
        return "not found";
    case SL_EAGAIN:
        return "resource temporarily unavailable";
    case SL_EPROTO:
        return "protocol error";
    }
    return "unknown status";
}

static const char *const level_names[] = {"trace", "debug", "info", "warn",
                                          "error", "fatal", "off"};

const char *sl_level_name(sl_level level)
{
    if ((unsigned)level > (unsigned)SL_LEVEL_OFF) {
        return "?";
    }
    return level_names[level];
}

static const struct {
    const char *name;
    sl_level level;
} level_aliases[] = {
    {"warning", SL_LEVEL_WARN}, {"err", SL_LEVEL_ERROR}, {"critical", SL_LEVEL_FATAL},
    {"crit", SL_LEVEL_FATAL},   {"none", SL_LEVEL_OFF},
};

sl_status sl_level_parse(const char *name, sl_level *out)
{
    if (name == NULL || out == NULL) {
        return SL_EINVAL;
    }
    const char *end = name + strlen(name);
    sl__trim_blanks(&name, &end);
    size_t n = (size_t)(end - name);
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strlen(level_names[i]) == n && strncasecmp(name, level_names[i], n) == 0) {
            *out = (sl_level)i;
            return SL_OK;
        }
    }
    for (size_t i = 0; i < sizeof(level_aliases) / sizeof(level_aliases[0]); i++) {
        if (strlen(level_aliases[i].name) == n &&
            strncasecmp(name, level_aliases[i].name, n) == 0) {
            *out = level_aliases[i].level;
            return SL_OK;
        }
    }
    return SL_EPARSE;
}
