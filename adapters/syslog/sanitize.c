/*
 * sanitize.c - the character rules of the syslog formats: UTF-8 sequences,
 * header fields (PRINTUSASCII), RFC 3164 TAGs, SD-NAMEs and SD PARAM-VALUE
 * escaping. Pure functions on bytes.
 */
#include <string.h>

#include "adapters/syslog/syslog_format.h"

size_t sl__syslog_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    unsigned c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) {
            lo = 0xA0; /* no overlong forms */
        } else if (c == 0xED) {
            hi = 0x9F; /* no surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F; /* nothing above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return len;
}

/* Which bytes a header-like field may keep, beyond printable US-ASCII. */
enum clean_kind { CLEAN_HEADER, CLEAN_TAG, CLEAN_SDNAME };

static bool clean_keeps(enum clean_kind kind, unsigned char c)
{
    if (c < 33 || c > 126) {
        return false;
    }
    switch (kind) {
    case CLEAN_TAG:
        return c != ':' && c != '[' && c != ']';
    case CLEAN_SDNAME:
        return c != '=' && c != ']' && c != '"';
    default:
        return true;
    }
}

static size_t clean(enum clean_kind kind, const char *s, size_t n, char *out, size_t max)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (s == NULL) {
        n = 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o < max;) {
        if (clean_keeps(kind, p[i])) {
            out[o++] = (char)p[i++];
            continue;
        }
        /* One '_' per character, not per byte, for readable names. */
        size_t seq = p[i] >= 0x80 ? sl__syslog_utf8_seq(p + i, n - i) : 0;
        i += seq ? seq : 1;
        out[o++] = '_';
    }
    if (o == 0 && max > 0) {
        out[o++] = kind == CLEAN_SDNAME ? '_' : '-';
    }
    out[o] = '\0';
    return o;
}

size_t sl__syslog_clean_header(const char *s, size_t n, char *out, size_t max)
{
    return clean(CLEAN_HEADER, s, n, out, max);
}

size_t sl__syslog_clean_tag(const char *s, size_t n, char *out, size_t max)
{
    return clean(CLEAN_TAG, s, n, out, max);
}

size_t sl__syslog_clean_sdname(const char *s, size_t n, char *out, size_t max)
{
    return clean(CLEAN_SDNAME, s, n, out, max);
}

size_t sl__syslog_sd_escape(const char *s, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\' || c == ']') {
            if (o + 2 > cap) {
                return SIZE_MAX;
            }
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
            continue;
        }
        size_t seq = c < 0x80 ? 1 : sl__syslog_utf8_seq(p + i, n - i);
        if (seq == 0) {
            /* PARAM-VALUE is UTF-8 (RFC 5424 6.3.3): repair, never send broken. */
            if (o + 3 > cap) {
                return SIZE_MAX;
            }
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        if (o + seq > cap) {
            return SIZE_MAX;
        }
        memcpy(out + o, p + i, seq);
        o += seq;
        i += seq;
    }
    return o;
}
