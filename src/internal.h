/*
 * internal.h - what the core shares with the adapters. Names are sl__*,
 * built with hidden visibility: none of this is API.
 */
#ifndef SPANLOG_INTERNAL_H
#define SPANLOG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "spanlog/spanlog.h"

/* ---- allocation (through the sl_set_allocator hook) -------------------- */
void *sl__malloc(size_t n);
void *sl__calloc(size_t count, size_t size); /* overflow-checked */
void *sl__realloc(void *p, size_t n);
void sl__free(void *p);
char *sl__strdup(const char *s); /* NULL -> NULL */
char *sl__strndup(const char *s, size_t n);

/* ---- error detail (status.c) ------------------------------------------- */
/*
 * Fills err (when not NULL and initialised by sl_error_init): code, the
 * name and value (each cut to fit, NULL for none), the position (-1: none)
 * and the text from fmt. Returns code, so that a caller can
 * `return sl__error_set(err, SL_EPARSE, ...)`.
 */
sl_status sl__error_set(sl_error *err, sl_status code, const char *name,
                        const char *value, int position, const char *fmt, ...)
    SL__PRINTF(6, 7);

/* ---- ABI: sized structs (abi.c) ----------------------------------------- */
/*
 * Every caller-allocated options and stats struct starts with `size_t
 * size`, set by its *_init to the caller's sizeof. The first version of
 * each (V1, below) is what every caller has; fields added later are read
 * or written only when the caller's size covers them.
 */
#define SL__V1_SIZE(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
#define SL__SINK_STATS_V1       SL__V1_SIZE(sl_sink_stats, errors)
#define SL__LOGGER_STATS_V1     SL__V1_SIZE(sl_logger_stats, child_failures)
#define SL__LOGGER_OPTIONS_V1   SL__V1_SIZE(sl_logger_options, head_keys)
/* (An adapter's own structs' V1 sizes are the adapter's: e.g.
 * SL__LOKI_OPTIONS_V1 in adapters/loki/loki_internal.h.) */
#define SL__ERROR_V1   SL__V1_SIZE(sl_error, position)
#define SL__CARRIER_V1 SL__V1_SIZE(sl_carrier, get_n)

/* Bytes of a stats struct to write for a caller whose struct says
 * `caller_size`: at least v1 (every caller has those), at most ours. */
static inline size_t sl__abi_size(size_t caller_size, size_t v1, size_t ours)
{
    return caller_size < v1 ? v1 : caller_size > ours ? ours : caller_size;
}

/*
 * Options: copies the caller's struct over `defaults` (already set by the
 * *_init of this library), as far as the caller's size reaches, so that
 * fields an older caller does not know keep their defaults. False (the
 * constructor returns SL_EINVAL) when the caller's size is below v1: the
 * struct was not initialised with its *_init.
 */
bool sl__abi_options(void *defaults, size_t ours, const void *caller, size_t v1);

/*
 * The body of every *_init_size: copies our `defaults` into the caller's
 * struct as far as caller_size reaches (zeroing what lies beyond ours, in a
 * newer caller's struct) and stores caller_size in its `size`. A size too
 * small to hold `size` itself: no-op. caller NULL: no-op.
 */
void sl__abi_init(void *caller, size_t caller_size, const void *defaults, size_t ours);

/* ---- diagnostics (diag.c) ----------------------------------------------- */
/*
 * One line "spanlog: <text>\n" on stderr in one write(2), unless
 * diagnostics are off (sl_set_diagnostics, SPANLOG_DIAG). Not rate limited:
 * callers are. errno is preserved.
 */
void sl__diag(const char *fmt, ...) SL__PRINTF(1, 2);

/* v with thousands separators ("1,024") into out; returns out. */
const char *sl__diag_count(uint64_t v, char out[32]);

/* sink.c: tells the event callback (if any) the drops not told yet, rate
 * limited. Call it only where no lock of the sink is held (the delivery
 * worker between batches): the callback may log to the same sink. */
void sl__sink_tell_drops(sl_sink *sink);

/* sink.c: what the sink was made from ("http://h:3100", "/dev/log"), named
 * in its diagnostics. Copied; NULL clears it. */
void sl__sink_set_target(sl_sink *sink, const char *target);

/* ---- printf formats (format_guard.c) ---------------------------------- */
/* true when fmt has a %n conversion (any flags, width or length): the
 * printf-style entry points then write fmt literally instead (log.h). */
bool sl__format_has_n(const char *fmt);

/* ---- control.c ----------------------------------------------------------- */
/* Bumped by sl_logger_reopen() and SIGHUP; file sinks reopen when it moves. */
unsigned sl__reopen_generation(void);

/* ---- URLs (url.c) -------------------------------------------------------- */
/* The parts of a checked http(s) URL; pointers into the checked string. */
typedef struct sl__url {
    bool https;
    size_t scheme_len; /* 4 or 5: url[0..scheme_len) is the scheme as written */
    const char *host;  /* without the brackets of an IPv6 literal */
    size_t host_len;
    int port;         /* as given, else 80 or 443 */
    const char *path; /* from the first '/' or '?' after the host; "" when none */
    size_t path_len;
    bool has_userinfo; /* `user:password@` present (never echoed) */
} sl__url;

/*
 * Checks url strictly (src/url.c: http/https in any case, no CR, LF, other
 * controls, space or non-ASCII byte, a non-empty host, a port 1..65535, no
 * fragment, well-formed %-escapes) and fills *out (may be NULL). On error
 * returns SL_EINVAL and fills err (may be NULL) with `what` as its name, the
 * URL with any user information replaced by "***" as its value, and a text
 * naming the reason; the credentials are never copied. Any thread.
 */
sl_status sl__url_check(const char *url, const char *what, sl__url *out, sl_error *err);

/*
 * Copies url into out (cap bytes, NUL-terminated) with `user:password@`
 * replaced by "***@" and bytes that are not printable ASCII by '?': the only
 * form in which a URL may appear in a message. Returns the length written.
 */
size_t sl__url_redact(const char *url, char *out, size_t cap);
/* How sl__url_redact() shows one byte of a URL: itself when printable
 * ASCII, '?' for a control, space, DEL or non-ASCII byte. */
char sl__url_show(unsigned char c);

/* ---- time --------------------------------------------------------------- */
/* CLOCK_REALTIME: inline, it is read once per record. */
static inline int64_t sl__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
int64_t sl__monotonic_ns(void); /* CLOCK_MONOTONIC */

/* Whole ms left until a CLOCK_MONOTONIC deadline (ns), 0 once it passed. */
static inline int sl__ms_left(int64_t deadline)
{
    int64_t left = deadline - sl__monotonic_ns();
    return left <= 0 ? 0 : left / 1000000 > INT32_MAX ? INT32_MAX : (int)(left / 1000000);
}

/*
 * RFC 3339 UTC with `digits` fractional digits (0, 3, 6 or 9), e.g.
 * "2026-11-21T10:15:30.123456Z". `out` must hold 31 bytes. Returns the
 * length written (without the NUL).
 */
size_t sl__format_rfc3339_utc(int64_t ns, int digits, char *out);

/* ---- JSON writer -------------------------------------------------------- */
/*
 * A streaming JSON writer into a caller-owned buffer. Fixed mode never
 * allocates: when the buffer is full it stops writing, sets `overflow` and
 * keeps counting what the full output would take (sl__jw_need()). Growable mode
 * (sl__jw_init_growable) reallocates through sl__realloc up to `max` bytes;
 * past that, or when an allocation fails, it behaves like a full fixed
 * buffer. Strings are always escaped to valid RFC 8259 output: '"', '\\'
 * and control characters escaped, invalid UTF-8 replaced by U+FFFD.
 */
typedef struct sl__jw {
    char *buf;
    size_t cap;  /* bytes available in buf */
    size_t len;  /* bytes written (<= cap) */
    size_t need; /* once overflow is set: bytes the whole output takes;
                  * meaningless before (read it through sl__jw_need()) */
    size_t max;  /* growable mode: the limit; 0 in fixed mode */
    bool overflow;
    bool growable;
} sl__jw;

static inline void sl__jw_init(sl__jw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    w->len = 0;
    w->need = 0;
    w->max = 0;
    w->overflow = false;
    w->growable = false;
}
void sl__jw_init_growable(sl__jw *w, size_t initial, size_t max);
void sl__jw_free(sl__jw *w);  /* growable mode: frees buf */
void sl__jw_reset(sl__jw *w); /* len = need = 0, overflow cleared, buffer kept */

/* Bytes the whole output takes: len, or more once the buffer overflowed. */
static inline size_t sl__jw_need(const sl__jw *w)
{
    return w->overflow ? w->need : w->len;
}

/*
 * The appends below are inline: a record makes some 25 of them, mostly of a
 * few bytes, and a call plus glibc's memcpy per append was a quarter of its
 * instructions. Only the full-buffer path is out of line; the fast path
 * leaves `need` alone (it is len until the first overflow), so that the
 * compiler cannot pair len and need into one 16-byte update whose load then
 * straddles two 8-byte stores. sl__jw_put_slow() accepts n == 0.
 */
void sl__jw_put_slow(sl__jw *w, const char *s, size_t n);

/*
 * Copies 1..32 bytes with two overlapping moves, longer runs by memcpy (n == 0: nothing).
 * GCC, when it inlines this for a small source array (sanitizer builds),
 * warns about the wider branches it cannot prove unreachable: they are.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
static inline void sl__jw_copy(char *d, const char *s, size_t n)
{
    /* A tree on n: two or three compares whatever the length. */
    if (n >= 8) {
        if (n <= 16) {
            memcpy(d, s, 8);
            memcpy(d + n - 8, s + n - 8, 8);
        } else if (n <= 32) {
            memcpy(d, s, 16);
            memcpy(d + n - 16, s + n - 16, 16);
        } else {
            memcpy(d, s, n);
        }
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Appended as is. */
static inline void sl__jw_raw(sl__jw *w, const char *s, size_t n)
{
    /* n - 1 wraps for n == 0, which the slow path ignores: the fast path
     * never does arithmetic on a NULL buffer. */
    if (n - 1 < w->cap - w->len) {
        sl__jw_copy(w->buf + w->len, s, n);
        w->len += n;
    } else {
        sl__jw_put_slow(w, s, n);
    }
}

static inline void sl__jw_char(sl__jw *w, char c)
{
    if (w->len < w->cap) {
        w->buf[w->len++] = c;
    } else {
        sl__jw_put_slow(w, &c, 1);
    }
}

/* For the few appends on every record's path that GCC would otherwise
 * outline as too large. */
#if defined(__GNUC__) || defined(__clang__)
#define SL__ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define SL__ALWAYS_INLINE inline
#endif
/* The rare branch of a hot function, kept out of it (no register saves). */
#if defined(__GNUC__) || defined(__clang__)
#define SL__NOINLINE_FN __attribute__((noinline))
#else
#define SL__NOINLINE_FN
#endif

/*
 * Word-at-a-time test for the bytes that end a plain run in a JSON string:
 * controls, '"', '\\' and every byte >= 0x80. Non-zero when any of the eight
 * bytes of x is one (exact: no false positive).
 */
static inline uint64_t sl__swar_special(uint64_t x)
{
    /* Each subtraction borrows out of a byte only below a byte that is
     * special (< 0x20, '"' or '\\'), so the result is non-zero exactly when
     * one is; `& ~x` may share one mask for the three (a byte < 0x80 keeps its
     * high bit clear under the xors), and `| x` adds the bytes >= 0x80. */
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t q = (x ^ (ones * '"')) - ones;
    uint64_t b = (x ^ (ones * '\\')) - ones;
    return ((((x - ones * 0x20) | q | b) & ~x) | x) & highs;
}

/*
 * True when s[0..n) is printable ASCII without '"' or '\\' (DEL included:
 * it is valid JSON), i.e. it is its own JSON string body. Reads only s[0..n),
 * in at most ceil(n / 8) + 1 loads: a short string is read as two
 * overlapping halves, a long one in words with the last word overlapping.
 */
static SL__ALWAYS_INLINE bool sl__plain_ascii(const char *s, size_t n)
{
    uint64_t x;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 < n; i += 8) {
            memcpy(&x, s + i, 8);
            if (sl__swar_special(x) != 0) {
                return false;
            }
        }
        memcpy(&x, s + n - 8, 8);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        x = (uint64_t)lo | (uint64_t)hi << 32;
    } else if (n > 0) {
        const unsigned char *u = (const unsigned char *)s;
        x = 0x2020202020202020u; /* spaces: plain */
        x = (x & ~(uint64_t)0xffffff) | u[0] | (uint64_t)u[n / 2] << 8 |
            (uint64_t)u[n - 1] << 16;
    } else {
        return true;
    }
    return sl__swar_special(x) == 0;
}

/* "escaped"; NULL: "". The common short plain string is written inline. */
void sl__jw_string_slow(sl__jw *w, const char *s, size_t n);

static SL__ALWAYS_INLINE void sl__jw_string(sl__jw *w, const char *s, size_t n)
{
    if (s != NULL && n <= 32 && w->cap - w->len >= 34 && sl__plain_ascii(s, n)) {
        char *d = w->buf + w->len;
        d[0] = '"';
        sl__jw_copy(d + 1, s, n);
        d[n + 1] = '"';
        w->len += n + 2;
    } else {
        sl__jw_string_slow(w, s, n);
    }
}
void sl__jw_string_body(sl__jw *w, const char *s, size_t n); /* escaped, no quotes */
void sl__jw_int(sl__jw *w, int64_t v);
void sl__jw_uint(sl__jw *w, uint64_t v);
/* The numbers as sl__jw_int/_uint/_double write them, straight into p, which
 * has room for SL__NUM_MAX bytes; return the end. */
#define SL__NUM_MAX 32
char *sl__put_double(char *p, double v);
void sl__jw_double(sl__jw *w, double v); /* shortest round-trip; NaN/inf as strings */
void sl__jw_bool(sl__jw *w, bool v);
void sl__jw_null(sl__jw *w);

/* "00".."99" back to back: sl__digits2[2 * v] and [2 * v + 1] are v's digits. */
extern const char sl__digits2[201];

/* x < 10000, without a loop (most logged integers are this small). */
static inline char *sl__put_small(char *p, unsigned x)
{
    if (x < 100) {
        if (x < 10) {
            p[0] = (char)('0' + x);
            return p + 1;
        }
        memcpy(p, sl__digits2 + 2 * x, 2);
        return p + 2;
    }
    unsigned hi = x / 100, lo = x % 100;
    if (hi < 10) {
        p[0] = (char)('0' + hi);
        memcpy(p + 1, sl__digits2 + 2 * lo, 2);
        return p + 3;
    }
    memcpy(p, sl__digits2 + 2 * hi, 2);
    memcpy(p + 2, sl__digits2 + 2 * lo, 2);
    return p + 4;
}

/* v >= 10000 (json_number.c). */
char *sl__put_uint_wide(char *p, uint64_t v);

/* The integers, inline: the small ones never leave the caller. */
static inline char *sl__put_uint(char *p, uint64_t v)
{
    return v < 10000 ? sl__put_small(p, (unsigned)v) : sl__put_uint_wide(p, v);
}

static inline char *sl__put_int(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
    }
    /* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
    return sl__put_uint(p, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

/* Bytes that sl__jw_string_body() writes for s (without quotes). */
size_t sl__json_escaped_len(const char *s, size_t n);

/*
 * Length of the longest prefix of s (at most `max` bytes) that does not end
 * in the middle of a UTF-8 sequence. Used to cut strings for truncation.
 */
size_t sl__utf8_cut(const char *s, size_t n, size_t max);

/*
 * At s (s[0] >= 0x80, avail >= 1 bytes): the length (2..4) of a well-formed
 * UTF-8 sequence, or 0 when ill-formed, with *sub set to the bytes that one
 * U+FFFD replaces (>= 1): the rule the JSON writer repairs strings by, for
 * other encoders (Loki's label values) to repair text exactly the same way.
 */
size_t sl__utf8_seq(const char *s, size_t avail, size_t *sub);

/*
 * Narrows [*a, *b) to drop leading and trailing blanks (space and tab: the
 * OWS of RFC 7230 that the W3C headers allow around values and list members,
 * and what name parsers accept around a name). Never moves *a past *b.
 */
static inline void sl__trim_blanks(const char **a, const char **b)
{
    while (*a < *b && (**a == ' ' || **a == '\t')) {
        (*a)++;
    }
    while (*b > *a && ((*b)[-1] == ' ' || (*b)[-1] == '\t')) {
        (*b)--;
    }
}

/* ---- trace context internals ------------------------------------------- */
/* The calling thread's current context as the logger sees it (NULL: none). */
const sl_span_context *sl__context_current(void);

/*
 * The calling thread's current baggage (NULL: none); one thread-local load.
 * Valid until the next attach/detach on this thread.
 */
const sl_baggage *sl__baggage_current(void);

/*
 * The value of the last entry of b whose key is exactly key[0..key_len),
 * with its length in *value_len (optional); NULL when absent or b is NULL.
 * For the logger's "copy these baggage keys into every record" option.
 */
const char *sl__baggage_value(const sl_baggage *b, const char *key, size_t key_len,
                              size_t *value_len);

/* ---- hostname / pid, cached (fork-aware) --------------------------------- */
const char *sl__hostname(void);
int sl__pid(void);

#endif /* SPANLOG_INTERNAL_H */
