/* status.c - status texts and level names. */
#include <stdio.h>
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

void sl_error_init_size(sl_error *err, size_t size)
{
    sl_error d;
    memset(&d, 0, sizeof(d));
    d.code = SL_OK;
    d.position = -1;
    sl__abi_init(err, size, &d, sizeof(d));
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = src == NULL ? 0 : strnlen(src, cap - 1);
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

sl_status sl__error_set(sl_error *err, sl_status code, const char *name,
                        const char *value, int position, const char *fmt, ...)
{
    /* An older caller's struct is smaller: fill only what it has room for.
     * Every field up to `position` exists since the first version. */
    if (err == NULL || err->size < SL__ERROR_V1) {
        return code;
    }
    err->code = code;
    copy_cut(err->name, sizeof(err->name), name);
    copy_cut(err->value, sizeof(err->value), value);
    err->position = position;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return code;
}
