/*
 * url.c - strict checking of the http(s) URLs that network sinks are given
 * (Loki's push URL now, OTLP's endpoints next).
 *
 * A URL that libcurl would take but that can never work (a CR or LF in it,
 * no host, a port out of range) makes a sink whose every push fails and is
 * retried for a quarter of an hour; so it is refused when the sink is made,
 * with a reason. RFC 3986's rules, narrowed to what an HTTP client sends:
 *
 *   scheme "://" [ userinfo "@" ] host [ ":" port ] [ path ] [ "?" query ]
 *
 *   - scheme: http or https, compared case-insensitively (RFC 3986 3.1);
 *   - no byte below 0x21 (controls, space), no DEL, no byte >= 0x80: a URL
 *     is ASCII, and a CR or LF would end the request line;
 *   - host: a name or IPv4 address of [A-Za-z0-9._~-] and %XX escapes, or an
 *     IPv6 literal in brackets; never empty;
 *   - port: 1 to 65535 digits' worth of value, 1..65535, never empty;
 *   - '%' is always followed by two hex digits; no fragment ('#': it is
 *     never sent, so one in a push URL is a mistake).
 *
 * The URL may hold `user:password@`; no error text or value ever repeats
 * it: sl__url_redact() writes "***@" in its place.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * Where the authority starts: after "scheme://" when only scheme characters
 * (letters, digits, '+', '-', '.', and ':' between stacked schemes such as
 * "syslog:tcp") come before the first "://"; otherwise 0, and then all up
 * to the last '@' is hidden. A "://" further in ("//u:pw@h/x:http://...")
 * is text, not the URL's own: starting there would show the real password.
 */
static size_t authority_start(const char *url, size_t n)
{
    const char *p = strstr(url, "://");
    if (p == NULL || (size_t)(p - url) >= n || p == url) {
        return 0;
    }
    for (const char *q = url; q < p; q++) {
        if (!(is_alpha(*q) || is_digit(*q) || *q == '+' || *q == '-' || *q == '.' ||
              *q == ':')) {
            return 0;
        }
    }
    return (size_t)(p - url) + 3;
}

char sl__url_show(unsigned char c)
{
    return (c > 0x20 && c < 0x7f) ? (char)c : '?';
}

size_t sl__url_redact(const char *url, char *out, size_t cap)
{
    if (cap == 0) {
        return 0;
    }
    if (url == NULL) {
        url = "";
    }
    size_t n = strlen(url);
    size_t a = authority_start(url, n);
    /* The last '@' anywhere after the authority's start: a password may
     * hold an unescaped '/' or '?', so stopping at the path could leak it. */
    const char *at = strrchr(url + a, '@');
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        if (at != NULL && i == a) {
            static const char stars[] = "***";
            for (size_t k = 0; k < 3 && j + 1 < cap; k++) {
                out[j++] = stars[k];
            }
            i = (size_t)(at - url); /* continue at the '@' itself */
        }
        if (j + 1 >= cap) {
            break;
        }
        out[j++] = sl__url_show((unsigned char)url[i]);
    }
    out[j] = '\0';
    return j;
}

/* Fills err with the reason and the redacted URL as its value. */
static sl_status fail(sl_error *err, const char *what, const char *url, int pos,
                      const char *reason)
{
    char shown[128];
    sl__url_redact(url, shown, sizeof(shown));
    return sl__error_set(err, SL_EINVAL, what, shown, pos, "%s: %s (got \"%s\")", what,
                         reason, shown);
}

static bool pct_ok(const char *s, size_t i, size_t n)
{
    return i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2]);
}

sl_status sl__url_check(const char *url, const char *what, sl__url *out, sl_error *err)
{
    if (what == NULL) {
        what = "url";
    }
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (url == NULL || url[0] == '\0') {
        return sl__error_set(err, SL_EINVAL, what, NULL, -1, "%s: no URL given", what);
    }
    size_t n = strlen(url);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f) {
            const char *kind = c == '\r' || c == '\n' ? "a CR or LF"
                               : c == ' '             ? "a space"
                               : c >= 0x80 ? "a non-ASCII byte (percent-encode it)"
                                           : "a control character";
            char reason[96];
            snprintf(reason, sizeof(reason), "%s at byte %zu", kind, i);
            return fail(err, what, url, (int)i, reason);
        }
    }
    /* scheme */
    size_t i = 0;
    while (i < n && (is_alpha(url[i]) || (i > 0 && (is_digit(url[i]) || url[i] == '+' ||
                                                    url[i] == '-' || url[i] == '.')))) {
        i++;
    }
    if (i == 0 || i + 3 > n || memcmp(url + i, "://", 3) != 0) {
        return fail(err, what, url, (int)i, "expected http:// or https://");
    }
    bool https;
    if (i == 4 && lower(url[0]) == 'h' && lower(url[1]) == 't' && lower(url[2]) == 't' &&
        lower(url[3]) == 'p') {
        https = false;
    } else if (i == 5 && lower(url[0]) == 'h' && lower(url[1]) == 't' &&
               lower(url[2]) == 't' && lower(url[3]) == 'p' && lower(url[4]) == 's') {
        https = true;
    } else {
        return fail(err, what, url, 0, "the scheme must be http or https");
    }
    size_t a = i + 3;
    size_t e = a;
    while (e < n && url[e] != '/' && url[e] != '?' && url[e] != '#') {
        e++;
    }
    /* userinfo: up to the authority's last '@' (never echoed) */
    size_t h = a;
    for (size_t k = a; k < e; k++) {
        if (url[k] == '@') {
            h = k + 1;
        }
    }
    bool userinfo = h > a;
    for (size_t k = a; userinfo && k + 1 < h; k++) {
        if (url[k] == '%' && !pct_ok(url, k, h - 1)) {
            return fail(err, what, url, -1, "a bad %-escape in the user information");
        }
    }
    /* host */
    size_t host = h, host_end, p;
    if (h < e && url[h] == '[') {
        size_t k = h + 1;
        while (k < e && (is_hex(url[k]) || url[k] == ':' || url[k] == '.')) {
            k++;
        }
        if (k >= e || url[k] != ']' || k == h + 1) {
            return fail(err, what, url, (int)k, "a bad IPv6 address in brackets");
        }
        host = h + 1;
        host_end = k;
        p = k + 1;
    } else {
        size_t k = h;
        while (k < e && url[k] != ':') {
            char c = url[k];
            if (c == '%') {
                if (!pct_ok(url, k, e)) {
                    return fail(err, what, url, (int)k, "a bad %-escape in the host");
                }
                k += 3;
                continue;
            }
            if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_' ||
                  c == '~')) {
                return fail(err, what, url, (int)k, "an invalid character in the host");
            }
            k++;
        }
        host_end = k;
        p = k;
    }
    if (host_end == host) {
        return fail(err, what, url, (int)host, "no host");
    }
    int port = https ? 443 : 80;
    if (p < e) {
        if (url[p] != ':') {
            return fail(err, what, url, (int)p, "unexpected text after the host");
        }
        size_t k = p + 1;
        long v = 0;
        while (k < e && is_digit(url[k]) && v <= 65535) {
            v = v * 10 + (url[k] - '0');
            k++;
        }
        if (k == p + 1 || k != e || v < 1 || v > 65535) {
            return fail(err, what, url, (int)(p + 1),
                        "the port must be a number from 1 to 65535");
        }
        port = (int)v;
    }
    /* path and query */
    for (size_t k = e; k < n; k++) {
        if (url[k] == '#') {
            return fail(err, what, url, (int)k,
                        "a fragment ('#') is never sent: remove it");
        }
        if (url[k] == '%' && !pct_ok(url, k, n)) {
            return fail(err, what, url, (int)k, "a bad %-escape");
        }
    }
    if (out != NULL) {
        out->https = https;
        out->scheme_len = i;
        out->host = url + host;
        out->host_len = host_end - host;
        out->port = port;
        out->path = url + e;
        out->path_len = n - e;
        out->has_userinfo = userinfo;
    }
    return SL_OK;
}
