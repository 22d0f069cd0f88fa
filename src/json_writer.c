/*
 * json_writer.c - the streaming JSON writer's buffer and its string escaping.
 *
 * Buffer rule: buf[0..len) is always a prefix of the full output. An append
 * that does not fit writes what fits, sets `overflow` and from then on only
 * counts into `need`; so overflow implies len == cap, and the fast path needs
 * a single comparison.
 *
 * Strings are written as RFC 8259 JSON that any strict parser accepts:
 *   - '"' and '\\' are escaped; control characters below 0x20 use \b \t \n
 *     \f \r or \u00XX; DEL (0x7f) is valid JSON and stays raw;
 *   - NUL is replaced by U+FFFD: "\u0000" is valid JSON, but common C
 *     readers refuse it (jansson without JSON_ALLOW_NUL, anything that
 *     keeps NUL-terminated strings), and a NUL in a log string is binary
 *     garbage, not text; a line every reader accepts is worth more;
 *   - U+2028 and U+2029 are written as \u2028 and \u2029: they are valid
 *     JSON, but JavaScript before ES2019 (and some log viewers) treat them
 *     as line breaks, and the pino services beside ours are JavaScript;
 *   - ill-formed UTF-8 (stray or missing continuation bytes, overlong forms,
 *     surrogates D800-DFFF, code points above U+10FFFF, bytes C0 C1 F5-FF)
 *     is replaced by U+FFFD, one per maximal subpart of an ill-formed
 *     sequence, as Unicode recommends (chapter 3, "U+FFFD Substitution of
 *     Maximal Subparts").
 */
#include <string.h>

#include "internal.h"

#if defined(__GNUC__) || defined(__clang__)
#define SL_LIKELY(x)   __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SL_LIKELY(x)   (x)
#define SL_UNLIKELY(x) (x)
#endif

/* ---- buffer ------------------------------------------------------------- */

void sl__jw_init(sl__jw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    w->len = 0;
    w->need = 0;
    w->max = 0;
    w->overflow = false;
    w->growable = false;
}

void sl__jw_init_growable(sl__jw *w, size_t initial, size_t max)
{
    if (max == 0) {
        max = SIZE_MAX;
    }
    if (initial > max) {
        initial = max;
    }
    if (initial == 0) {
        initial = max < 256 ? max : 256;
    }
    sl__jw_init(w, sl__malloc(initial), initial);
    w->max = max;
    w->growable = true;
    /* No memory: behave like a full buffer until reset. */
    w->overflow = w->buf == NULL;
}

void sl__jw_free(sl__jw *w)
{
    if (w == NULL) {
        return;
    }
    if (w->growable) {
        sl__free(w->buf);
        w->buf = NULL;
        w->cap = 0;
    }
    w->len = 0;
    w->need = 0;
    w->overflow = false;
}

void sl__jw_reset(sl__jw *w)
{
    w->len = 0;
    w->need = 0;
    w->overflow = false;
}

/*
 * Growable mode: makes room for `n` more bytes, or as many as the limit
 * allows (the caller then keeps the prefix that fits). An allocation
 * failure leaves the buffer as it was.
 */
static void jw_grow(sl__jw *w, size_t n)
{
    size_t want = n > w->max - w->len ? w->max : w->len + n;
    size_t cap = w->cap > 0 ? w->cap : 64;
    while (cap < want) {
        cap = cap > w->max / 2 ? w->max : cap * 2;
    }
    if (cap > w->max) {
        cap = w->max;
    }
    char *p = sl__realloc(w->buf, cap);
    if (p != NULL) {
        w->buf = p;
        w->cap = cap;
    }
}

void sl__jw_put_slow(sl__jw *w, const char *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (!w->overflow && w->growable && w->cap < w->max) {
        jw_grow(w, n);
        if (w->cap - w->len >= n) {
            memcpy(w->buf + w->len, p, n);
            w->len += n;
            return;
        }
    }
    /* Out of room for good: keep the prefix that fits, then only count
     * (need was len until now). */
    if (!w->overflow) {
        size_t fit = w->cap - w->len;
        if (fit > 0) {
            memcpy(w->buf + w->len, p, fit);
        }
        w->need = w->len + n;
        w->len = w->cap;
        w->overflow = true;
        return;
    }
    w->need += n;
}

static inline void jw_put(sl__jw *w, const char *p, size_t n)
{
    sl__jw_raw(w, p, n);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/*
 * At p (p[0] >= 0x80, avail >= 1 bytes): the length (2..4) of a well-formed
 * sequence, or 0 when ill-formed, with *sub set to the length of its maximal
 * subpart (the bytes one U+FFFD replaces, >= 1). Ranges from Unicode
 * table 3-7: the second byte's range depends on the lead, the rest are 80..BF.
 */
static inline size_t utf8_seq(const unsigned char *p, size_t avail, size_t *sub)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0xC2) {
        *sub = 1; /* a stray continuation byte, or an overlong C0/C1 lead */
        return 0;
    } else if (c < 0xE0) {
        len = 2;
    } else if (c < 0xF0) {
        len = 3;
        if (c == 0xE0) {
            lo = 0xA0; /* overlong */
        } else if (c == 0xED) {
            hi = 0x9F; /* surrogates */
        }
    } else if (c < 0xF5) {
        len = 4;
        if (c == 0xF0) {
            lo = 0x90; /* overlong */
        } else if (c == 0xF4) {
            hi = 0x8F; /* above U+10FFFF */
        }
    } else {
        *sub = 1;
        return 0;
    }
    if (avail < 2 || p[1] < lo || p[1] > hi) {
        *sub = 1;
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (i >= avail || (p[i] & 0xC0) != 0x80) {
            *sub = i;
            return 0;
        }
    }
    return len;
}

static inline bool is_line_sep(const unsigned char *p)
{
    /* U+2028 E2 80 A8, U+2029 E2 80 A9 */
    return p[0] == 0xE2 && p[1] == 0x80 && (p[2] & 0xFE) == 0xA8;
}

size_t sl__utf8_cut(const char *s, size_t n, size_t max)
{
    if (max >= n) {
        return n;
    }
    const unsigned char *p = (const unsigned char *)s;
    /* Only a well-formed sequence that starts before max and ends after it is
     * protected; ill-formed bytes are replaced one subpart at a time anyway. */
    for (size_t back = 1; back <= 3 && back <= max; back++) {
        size_t k = max - back;
        if ((p[k] & 0xC0) != 0x80) {
            if (p[k] >= 0xC2) {
                size_t sub;
                size_t len = utf8_seq(p + k, n - k, &sub);
                if (len > back) {
                    return k;
                }
            }
            break;
        }
    }
    return max;
}

size_t sl__utf8_seq(const char *s, size_t avail, size_t *sub)
{
    return utf8_seq((const unsigned char *)s, avail, sub);
}

/* ---- string escaping -------------------------------------------------------- */

/* Bytes that end a run of plain ASCII: controls, '"', '\\' and every byte >= 0x80. */
static inline bool is_special(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

/* Eight bytes at a time: non-zero when any of them is special. */
static inline uint64_t swar_special(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return sl__swar_special(x);
}

static inline const unsigned char *skip_plain(const unsigned char *p,
                                              const unsigned char *end)
{
    while (end - p >= 8 && swar_special(p) == 0) {
        p += 8;
    }
    while (p < end && !is_special(*p)) {
        p++;
    }
    return p;
}

static const char sl_hex[] = "0123456789abcdef";

/* The escape for an ASCII special byte into e (up to 6 bytes); its length. */
static inline size_t escape_ascii(unsigned char c, char *e)
{
    if (c == 0) {
        /* NUL: see the file comment */
        memcpy(e, "\xEF\xBF\xBD", 3);
        return 3;
    }
    e[0] = '\\';
    switch (c) {
    case '"':
        e[1] = '"';
        return 2;
    case '\\':
        e[1] = '\\';
        return 2;
    case '\b':
        e[1] = 'b';
        return 2;
    case '\t':
        e[1] = 't';
        return 2;
    case '\n':
        e[1] = 'n';
        return 2;
    case '\f':
        e[1] = 'f';
        return 2;
    case '\r':
        e[1] = 'r';
        return 2;
    default:
        e[1] = 'u';
        e[2] = '0';
        e[3] = '0';
        e[4] = sl_hex[c >> 4];
        e[5] = sl_hex[c & 15];
        return 6;
    }
}

void sl__jw_string_body(sl__jw *w, const char *s, size_t n)
{
    if (n == 0 || s == NULL) {
        return;
    }
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    const unsigned char *run = p; /* start of bytes copied verbatim */
    for (;;) {
        p = skip_plain(p, end);
        if (p == end) {
            break;
        }
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t sub;
            size_t len = utf8_seq(p, (size_t)(end - p), &sub);
            if (len > 0 && !(len == 3 && is_line_sep(p))) {
                /* well-formed: part of the verbatim run, and so are the
                 * non-ASCII characters that follow it (text in other scripts) */
                p += len;
                while (p < end && *p >= 0x80 &&
                       (len = utf8_seq(p, (size_t)(end - p), &sub)) > 0 &&
                       !(len == 3 && is_line_sep(p))) {
                    p += len;
                }
                continue;
            }
            jw_put(w, (const char *)run, (size_t)(p - run));
            if (len > 0) {
                jw_put(w, p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                p += 3;
            } else {
                jw_put(w, "\xEF\xBF\xBD", 3);
                p += sub;
            }
        } else {
            char e[6];
            jw_put(w, (const char *)run, (size_t)(p - run));
            jw_put(w, e, escape_ascii(c, e));
            p++;
        }
        run = p;
    }
    jw_put(w, (const char *)run, (size_t)(end - run));
}

void sl__jw_string_slow(sl__jw *w, const char *s, size_t n)
{
    sl__jw_char(w, '"');
    sl__jw_string_body(w, s, n);
    sl__jw_char(w, '"');
}

size_t sl__json_escaped_len(const char *s, size_t n)
{
    if (s == NULL) {
        return 0;
    }
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t out = n;
    for (;;) {
        p = skip_plain(p, end);
        if (p == end) {
            return out;
        }
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t sub;
            size_t len = utf8_seq(p, (size_t)(end - p), &sub);
            if (len == 3 && is_line_sep(p)) {
                out += 3; /* 3 bytes in, \u202x out */
                p += 3;
            } else if (len > 0) {
                p += len;
            } else {
                out = out - sub + 3;
                p += sub;
            }
        } else {
            char e[6];
            out += escape_ascii(c, e) - 1;
            p++;
        }
    }
}
