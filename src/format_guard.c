/*
 * format_guard.c - spotting %n in printf formats.
 *
 * %n makes printf store through a pointer argument: from a logging call it
 * is either a mistake or an attack (a user-supplied format with no argument
 * writes through whatever the stack holds). The printf-style helpers never
 * honour it; they write such a format as the message, literally, without
 * consuming any argument (log.h).
 */
#include "internal.h"

static bool is_length(char c)
{
    return c == 'h' || c == 'l' || c == 'L' || c == 'q' || c == 'j' || c == 'z' ||
           c == 'Z' || c == 't';
}

/* Flags, width, precision and positional parts of a conversion (glibc). */
static bool is_spec_part(char c)
{
    return (c >= '0' && c <= '9') || c == '$' || c == '#' || c == '-' || c == '+' ||
           c == ' ' || c == '\'' || c == 'I' || c == '*' || c == '.';
}

bool sl__format_has_n(const char *fmt)
{
    if (fmt == NULL) {
        return false;
    }
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            continue;
        }
        p++;
        while (is_spec_part(*p)) {
            p++;
        }
        while (is_length(*p)) {
            p++;
        }
        if (*p == 'n') {
            return true;
        }
        if (*p == '\0') {
            return false;
        }
    }
    return false;
}
