/*
 * sink_uri.c - sl_sink_from_uri(): one textual way to name a sink, shared by
 * SPANLOG_SINK and spanlog-pipe --sink. "null" is the core's; every other
 * scheme belongs to an adapter found in the registry (config.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "internal.h"

/* The adapter whose scheme starts uri ("scheme" or "scheme:..."). */
static const sl__adapter *find(const char *uri, const char **scheme, const char **rest)
{
    for (size_t i = 0; sl__adapters[i] != NULL; i++) {
        for (const char *const *s = sl__adapters[i]->schemes; *s != NULL; s++) {
            size_t n = strlen(*s);
            if (strncasecmp(uri, *s, n) == 0 &&
                (uri[n] == '\0' || uri[n] == ':' || uri[n] == '?')) {
                *scheme = *s;
                /* "stdout?buffered=1": the rest is only the query. */
                *rest = uri[n] == ':' ? uri + n + 1 : uri[n] == '?' ? uri + n : NULL;
                return sl__adapters[i];
            }
        }
    }
    return NULL;
}

/* The part before ':' names an adapter this build left out. */
static const char *absent(const char *uri)
{
    size_t n = strcspn(uri, ":");
    for (size_t i = 0; sl__adapters_absent[i].name != NULL; i++) {
        const char *name = sl__adapters_absent[i].name;
        if (strlen(name) == n && strncasecmp(uri, name, n) == 0) {
            return name;
        }
    }
    return NULL;
}

static void known_targets(char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "null");
    for (size_t i = 0; sl__adapters[i] != NULL && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, ", %s", sl__adapters[i]->usage);
        if (w < 0) {
            break;
        }
        len += (size_t)w;
    }
}

/* Replaces each occurrence of s[0..n) in text (a NUL-terminated field) by
 * "***" (as many stars as bytes when n < 3, so the text never grows). A
 * byte of s matches itself or the byte sl__url_show() writes for it, so
 * what an error quotes through sl__url_redact() is found too. */
static void scrub_field(char *text, const char *s, size_t n)
{
    size_t r = n < 3 ? n : 3;
    for (char *p = text; *p != '\0';) {
        size_t i = 0;
        while (i < n && p[i] != '\0' &&
               (p[i] == s[i] || p[i] == sl__url_show((unsigned char)s[i]))) {
            i++;
        }
        if (i == n) {
            memmove(p + r, p + n, strlen(p + n) + 1);
            memset(p, '*', r);
            p += r;
        } else {
            p++;
        }
    }
}

static void scrub_both(sl_error *err, const char *s, size_t n)
{
    scrub_field(err->text, s, n);
    scrub_field(err->value, s, n);
}

/*
 * Whatever an adapter's error says, it never repeats the credentials of a
 * URL in the target: "user:password@" (after any "://") and the password
 * alone, when it is long enough not to be a word of the message (4 bytes),
 * become "***" in the text and the value, as written or as an error shows
 * it (sl__url_redact()'s '?' for odd bytes). Which '@' ends the userinfo is
 * read every way a parser might: RFC 3986's first, the last of the
 * authority, the last at all (a password may hold an unescaped '/'); every
 * reading is hidden.
 */
static void scrub_credentials(const char *uri, sl_error *err)
{
    if (err == NULL || err->size < SL__ERROR_V1 || err->code == SL_OK) {
        return; /* not initialised, or nothing was said */
    }
    for (const char *p = strstr(uri, "://"); p != NULL; p = strstr(p + 1, "://")) {
        const char *start = p + 3;
        const char *colon = NULL;
        for (const char *at = strchr(start, '@'); at != NULL; at = strchr(at + 1, '@')) {
            if (colon == NULL) {
                colon = memchr(start, ':', (size_t)(at - start));
                if (colon == NULL) {
                    continue;
                }
            }
            size_t info = (size_t)(at + 1 - start), pw = (size_t)(at - colon - 1);
            scrub_both(err, start, info);
            if (pw >= 4) {
                scrub_both(err, colon + 1, pw);
            }
        }
    }
}

sl_status sl__sink_target(const char *uri, bool check_only, sl_sink **out, sl_error *err)
{
    *out = NULL;
    if (strcasecmp(uri, "null") == 0) {
        return check_only ? SL_OK : sl_null_sink_new(out);
    }
    const char *scheme = NULL, *rest = NULL;
    const sl__adapter *a = find(uri, &scheme, &rest);
    if (a == NULL) {
        const char *name = absent(uri);
        if (name != NULL) {
            return sl__error_set(err, SL_ENOTSUP, NULL, name, 0,
                                 "sink \"%s\": this spanlog was built without %s", name,
                                 name);
        }
        char known[256];
        known_targets(known, sizeof known);
        /* Only the scheme is echoed: what follows may hold credentials. */
        char scheme_text[64];
        snprintf(scheme_text, sizeof scheme_text, "%.*s", (int)strcspn(uri, ":?"), uri);
        return sl__error_set(err, SL_EPARSE, NULL, scheme_text, 0,
                             "sink \"%s\": unknown sink (known: %s)", scheme_text, known);
    }
    sl_status st = a->open(scheme, rest, check_only, out, err);
    if (st != SL_OK) {
        scrub_credentials(uri, err);
    }
    if (st == SL_OK && *out != NULL) {
        /* Diagnostics name the sink by what it was made from. */
        sl__sink_set_target(*out, rest != NULL                     ? rest
                                  : strcasecmp(uri, "syslog") == 0 ? "/dev/log"
                                                                   : uri);
    }
    return st;
}

sl_status sl_sink_from_uri(const char *uri, sl_sink **out, sl_error *err)
{
    if (uri == NULL || out == NULL) {
        return sl__error_set(err, SL_EINVAL, NULL, NULL, -1,
                             "sl_sink_from_uri: uri or out is NULL");
    }
    *out = NULL;
    /* Checked whole first, so that a bad option opens no file or socket. */
    sl_sink *none = NULL;
    sl_status st = sl__sink_target(uri, true, &none, err);
    if (st != SL_OK) {
        return st;
    }
    return sl__sink_target(uri, false, out, err);
}

sl_status sl_sink_uri_check(const char *uri, sl_error *err)
{
    if (uri == NULL) {
        return sl__error_set(err, SL_EINVAL, NULL, NULL, -1,
                             "sl_sink_uri_check: uri is NULL");
    }
    sl_sink *none = NULL;
    return sl__sink_target(uri, true, &none, err);
}
