/*
 * truncate.c - shortening an oversized record to a line Loki accepts that is
 * still one valid JSON object.
 *
 * The line is a compact JSON object written by our encoder. We walk it once,
 * remembering the last top-level member boundary (a ',' at depth 1) and,
 * while inside a top-level string value, the last character boundary. When
 * the budget runs out inside such a string (the usual case: a huge "msg"),
 * the string is cut there and closed; otherwise the member that crosses the
 * budget is left out. Either way the object ends with "truncated":true.
 */
#include <string.h>

#include "adapters/loki/loki_internal.h"

/* Length of the escape sequence starting at s[0] == '\\' (a surrogate pair counts as
 * one). */
static size_t escape_len(const char *s, size_t avail)
{
    if (avail < 2) {
        return avail;
    }
    if (s[1] != 'u') {
        return 2;
    }
    if (avail >= 12 && (s[2] == 'd' || s[2] == 'D') &&
        (s[3] == '8' || s[3] == '9' || s[3] == 'a' || s[3] == 'b' || s[3] == 'A' ||
         s[3] == 'B') &&
        s[6] == '\\' && s[7] == 'u') {
        return 12;
    }
    return avail < 6 ? avail : 6;
}

static size_t utf8_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        return 2;
    }
    if ((c & 0xF0) == 0xE0) {
        return 3;
    }
    if ((c & 0xF8) == 0xF0) {
        return 4;
    }
    return 1;
}

size_t sl__loki_truncate(const char *line, size_t len, size_t limit, char *out)
{
    if (len <= limit) {
        memcpy(out, line, len);
        return len;
    }
    const size_t slen = SL__LOKI_TRUNC_SUFFIX_LEN;
    if (len < 2 || line[0] != '{' || limit < slen + 2) {
        size_t n = sl__utf8_cut(line, len, limit);
        memcpy(out, line, n);
        return n;
    }
    /* Bytes usable for the kept prefix: the suffix, and a closing quote, must fit. */
    const size_t budget = limit - slen - 1;
    size_t boundary = 1; /* end of the last complete member (after '{') */
    size_t depth = 0;
    bool in_str = false, top_value_str = false, after_colon = false;
    size_t i = 0;
    while (i < len) {
        char c = line[i];
        if (in_str) {
            size_t step =
                c == '\\' ? escape_len(line + i, len - i) : utf8_len((unsigned char)c);
            if (c == '"') {
                in_str = false;
                top_value_str = false;
                i++;
                continue;
            }
            if (top_value_str) {
                if (i + step > budget) {
                    /* The string crosses the budget: cut it at i and close it. */
                    memcpy(out, line, i);
                    out[i] = '"';
                    memcpy(out + i + 1, SL__LOKI_TRUNC_SUFFIX, slen);
                    return i + 1 + slen;
                }
            }
            i += step;
            continue;
        }
        if (i >= budget) {
            break;
        }
        if (c == '"') {
            in_str = true;
            top_value_str = depth == 1 && after_colon;
            after_colon = false;
        } else if (c == '{' || c == '[') {
            depth++;
            after_colon = false;
        } else if (c == '}' || c == ']') {
            depth--;
            after_colon = false;
        } else if (c == ':' && depth == 1) {
            after_colon = true;
        } else if (c == ',' && depth == 1) {
            boundary = i;
            after_colon = false;
        }
        i++;
    }
    /* Keep the complete members only. */
    memcpy(out, line, boundary);
    if (boundary == 1) {
        /* No member survived: `{` then the suffix without its comma. */
        memcpy(out + 1, &SL__LOKI_TRUNC_SUFFIX[1], slen - 1);
        return slen;
    }
    memcpy(out + boundary, SL__LOKI_TRUNC_SUFFIX, slen);
    return boundary + slen;
}
