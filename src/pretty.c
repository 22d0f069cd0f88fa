/*
 * pretty.c - one JSON record to one line for humans (spanlog/pretty.h).
 *
 * The line is scanned once into spans (no allocation, no tree): the members
 * of the top-level object, each a key and a raw value. The head keys are
 * looked up among them by the names every profile (and pino) uses, the
 * rest are printed in order:
 *
 *   {"time":"…T10:15:30.123456Z","level":"info","msg":"m","traceId":"0af7…","k":1}
 *     ─▶ 10:15:30.123 INFO  m [0af76519-b7ad6b71] k=1
 *
 * Everything that reaches the output is printable: control characters, DEL,
 * the C1 controls (U+0080..U+009F, which some terminals obey as escapes)
 * and invalid UTF-8 are written as visible escapes, so a hostile value can
 * never move the cursor, retitle the window or change colors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "spanlog/pretty.h"

#define MAX_MEMBERS 256

#define SGR_RESET "\033[0m"
#define SGR_DIM   "\033[2m"
#define SGR_KEY   "\033[36m"

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct member {
    span key;  /* raw, between the quotes */
    span val;  /* raw: a string without its quotes, or the literal/number/nested text */
    char kind; /* 's' string, 'v' number or literal, 'o' object or array */
    bool used; /* printed in the head */
} member;

/* ---- bounded output ---------------------------------------------------------- */

typedef struct ob {
    char *buf;
    size_t cap; /* bytes writable before the NUL */
    size_t len; /* bytes the whole output takes so far */
} ob;

static void put(ob *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put_s(ob *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_c(ob *o, char c)
{
    put(o, &c, 1);
}

static void put_hex_byte(ob *o, unsigned b)
{
    char t[5];
    snprintf(t, sizeof(t), "\\x%02x", b & 0xffu);
    put(o, t, 4);
}

/* ---- making text visible ----------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (n == 4 && (v < 0x10000 || v > 0x10ffff))) {
        return 0;
    }
    *cp = v;
    return n;
}

/* A code point as visible text: controls escaped, everything else as UTF-8. */
static void put_cp(ob *o, uint32_t cp)
{
    switch (cp) {
    case '\n':
        put(o, "\\n", 2);
        return;
    case '\t':
        put(o, "\\t", 2);
        return;
    case '\r':
        put(o, "\\r", 2);
        return;
    case 0x1b:
        put(o, "\\e", 2);
        return;
    default:
        break;
    }
    char t[12];
    if (cp < 0x20 || cp == 0x7f) {
        put_hex_byte(o, cp);
    } else if (cp < 0x80) {
        put_c(o, (char)cp);
    } else if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029) {
        snprintf(t, sizeof(t), "\\u{%x}", (unsigned)cp);
        put_s(o, t);
    } else if (cp < 0x800) {
        t[0] = (char)(0xc0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3f));
        put(o, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xe0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (char)(0x80 | (cp & 0x3f));
        put(o, t, 3);
    } else {
        t[0] = (char)(0xf0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (char)(0x80 | (cp & 0x3f));
        put(o, t, 4);
    }
}

/* One character (or one invalid byte) at p made visible; returns what follows. */
static const char *put_one_visible(ob *o, const char *p, const char *end)
{
    const unsigned char *u = (const unsigned char *)p;
    uint32_t cp;
    size_t k = utf8_len(u, (const unsigned char *)end, &cp);
    if (k == 0) {
        put_hex_byte(o, *u);
        return p + 1;
    }
    put_cp(o, cp);
    return p + k;
}

/* Raw bytes (not JSON-escaped) made visible. */
static void put_raw_visible(ob *o, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    while (p < end) {
        p = put_one_visible(o, p, end);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads the 4 hex digits of a \u escape at p (p + 4 <= end), or -1. */
static long hex4(const char *p, const char *end)
{
    if (end - p < 4) {
        return -1;
    }
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) {
            return -1;
        }
        v = (v << 4) | h;
    }
    return v;
}

/* The content of a JSON string (between its quotes) decoded and made visible. */
static void put_json_string(ob *o, span s)
{
    const char *p = s.p, *end = s.p + s.n;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\\' && (unsigned char)*q >= 0x20 &&
               (unsigned char)*q < 0x7f) {
            q++;
        }
        put(o, p, (size_t)(q - p));
        p = q;
        if (p == end) {
            break;
        }
        if (*p != '\\') {
            p = put_one_visible(o, p, end); /* UTF-8 or a control */
            continue;
        }
        if (end - p < 2) {
            put_c(o, '\\');
            break;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'n':
            put_cp(o, '\n');
            break;
        case 't':
            put_cp(o, '\t');
            break;
        case 'r':
            put_cp(o, '\r');
            break;
        case 'b':
            put_cp(o, 0x08);
            break;
        case 'f':
            put_cp(o, 0x0c);
            break;
        case 'u': {
            long v = hex4(p, end);
            if (v < 0) {
                put(o, "\\u", 2);
                break;
            }
            p += 4;
            uint32_t cp = (uint32_t)v;
            if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' &&
                p[1] == 'u') {
                long lo = hex4(p + 2, end);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                    p += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* a lone surrogate */
            }
            put_cp(o, cp);
            break;
        }
        default: /* '"', '\\', '/' and anything else: the character itself */
            put_raw_visible(o, &e, 1);
            break;
        }
    }
}

/* Nested JSON printed compactly: whitespace outside strings dropped. */
static void put_nested(ob *o, span s)
{
    bool in_str = false;
    const char *p = s.p, *end = s.p + s.n;
    while (p < end) {
        char c = *p;
        if (in_str) {
            if (c == '\\' && end - p >= 2) {
                put(o, p, 2);
                p += 2;
                continue;
            }
            if (c == '"') {
                in_str = false;
            }
            p = put_one_visible(o, p, end);
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
            continue;
        }
        if (c == '"') {
            in_str = true;
        }
        put_raw_visible(o, p, 1);
        p++;
    }
}

/* ---- scanning ------------------------------------------------------------------ */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* p at the opening quote; returns the position after the closing one, or NULL. */
static const char *scan_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* p at '{' or '['; returns the position after the matching close, or NULL. */
static const char *scan_nested(const char *p, const char *end)
{
    size_t depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = scan_string(p, end);
            if (p == NULL) {
                return NULL;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) {
                return p + 1;
            }
        }
        p++;
    }
    return NULL;
}

/* Splits the object into members; returns their number, or -1 when the line
 * is not a JSON object. More than `max` members: the rest are not kept and
 * *more counts them. */
static int scan_object(const char *p, const char *end, member *m, int max, int *more)
{
    *more = 0;
    p = skip_ws(p, end);
    if (p == end || *p != '{') {
        return -1;
    }
    p = skip_ws(p + 1, end);
    int n = 0;
    if (p < end && *p == '}') {
        return skip_ws(p + 1, end) == end ? 0 : -1;
    }
    for (;;) {
        if (p == end || *p != '"') {
            return -1;
        }
        const char *k = p + 1, *ke = scan_string(p, end);
        if (ke == NULL) {
            return -1;
        }
        p = skip_ws(ke, end);
        if (p == end || *p != ':') {
            return -1;
        }
        p = skip_ws(p + 1, end);
        if (p == end) {
            return -1;
        }
        member cur = {{k, (size_t)(ke - 1 - k)}, {p, 0}, 'v', false};
        const char *ve;
        if (*p == '"') {
            ve = scan_string(p, end);
            if (ve == NULL) {
                return -1;
            }
            cur.val.p = p + 1;
            cur.val.n = (size_t)(ve - 1 - (p + 1));
            cur.kind = 's';
        } else if (*p == '{' || *p == '[') {
            ve = scan_nested(p, end);
            if (ve == NULL) {
                return -1;
            }
            cur.val.n = (size_t)(ve - p);
            cur.kind = 'o';
        } else {
            ve = p;
            while (ve < end && *ve != ',' && *ve != '}' && *ve != ' ' && *ve != '\t' &&
                   *ve != '\r' && *ve != '\n') {
                ve++;
            }
            if (ve == p) {
                return -1;
            }
            cur.val.n = (size_t)(ve - p);
        }
        if (n < max) {
            m[n++] = cur;
        } else {
            (*more)++;
        }
        p = skip_ws(ve, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            return skip_ws(p + 1, end) == end ? n : -1;
        }
        return -1;
    }
}

static bool span_eq(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* The first unused member whose key is one of names (NULL-terminated list). */
static member *find(member *m, int n, const char *const *names)
{
    for (const char *const *k = names; *k != NULL; k++) {
        for (int i = 0; i < n; i++) {
            if (!m[i].used && span_eq(m[i].key, *k)) {
                return &m[i];
            }
        }
    }
    return NULL;
}

/* ---- the head -------------------------------------------------------------------- */

static const char *const time_keys[] = {"time", "@timestamp", "timestamp", "ts", NULL};
static const char *const level_keys[] = {"level", "log.level",     "severity",
                                         "lvl",   "severity_text", NULL};
static const char *const msg_keys[] = {"msg", "message", NULL};
static const char *const corr_keys[] = {"correlationId", NULL};
static const char *const trace_keys[] = {"traceId", "trace_id", "trace.id", NULL};
static const char *const span_keys[] = {"spanId", "span_id", "span.id", NULL};
static const char *const flag_keys[] = {"traceFlags", "trace_flags", "trace.flags", NULL};

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC 3339 text to Unix seconds and milliseconds; false when it is not one. */
static bool parse_rfc3339(span s, int64_t *sec, int *ms)
{
    const char *p = s.p;
    if (s.n < 20 || p[4] != '-' || p[7] != '-' ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || p[13] != ':' || p[16] != ':') {
        return false;
    }
    int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    int h = digits(p + 11, 2), mi = digits(p + 14, 2), se = digits(p + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 60) {
        return false;
    }
    size_t i = 19;
    int frac = 0, fd = 0;
    if (i < s.n && p[i] == '.') {
        for (i++; i < s.n && p[i] >= '0' && p[i] <= '9'; i++) {
            if (fd < 3) {
                frac = frac * 10 + (p[i] - '0');
                fd++;
            }
        }
        while (fd < 3) {
            frac *= 10;
            fd++;
        }
    }
    int64_t off = 0;
    if (i < s.n && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 6 == s.n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int oh = digits(p + i + 1, 2), om = digits(p + i + 4, 2);
        if (oh < 0 || om < 0) {
            return false;
        }
        off = (oh * 60 + om) * 60 * (p[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return false;
    }
    if (i != s.n) {
        return false;
    }
    *sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    *ms = frac;
    return true;
}

/* A JSON number as epoch time: milliseconds (pino) above 1e11, else seconds. */
static bool parse_epoch(span s, int64_t *sec, int *ms)
{
    char t[40];
    if (s.n == 0 || s.n >= sizeof(t)) {
        return false;
    }
    memcpy(t, s.p, s.n);
    t[s.n] = '\0';
    char *e = NULL;
    double v = strtod(t, &e);
    if (e != t + s.n || !(v > 0) || v > 1e15) {
        return false;
    }
    double msv = v > 1e11 ? v : v * 1000.0;
    int64_t m = (int64_t)msv;
    *sec = m / 1000;
    *ms = (int)(m % 1000);
    return true;
}

static void put_time(ob *o, const member *t, const sl_pretty_options *opt)
{
    int64_t sec = 0;
    int ms = 0;
    bool ok = t->kind == 's' ? parse_rfc3339(t->val, &sec, &ms)
                             : parse_epoch(t->val, &sec, &ms);
    if (!ok) {
        if (t->kind == 's') {
            put_json_string(o, t->val);
        } else {
            put_raw_visible(o, t->val.p, t->val.n);
        }
        return;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if ((opt->utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL) {
        put_raw_visible(o, t->val.p, t->val.n);
        return;
    }
    char b[48];
    int n;
    if (opt->show_date) {
        n = snprintf(b, sizeof(b), "%04d-%02d-%02d %02d:%02d:%02d.%03d%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ms, opt->utc ? "Z" : "");
    } else {
        n = snprintf(b, sizeof(b), "%02d:%02d:%02d.%03d%s", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ms, opt->utc ? "Z" : "");
    }
    put(o, b, (size_t)n);
}

typedef struct level_style {
    const char *name;  /* printed, padded to 5 */
    const char *color; /* SGR */
} level_style;

static const level_style styles[] = {
    {"TRACE", "\033[90m"}, {"DEBUG", "\033[34m"}, {"INFO ", "\033[32m"},
    {"WARN ", "\033[33m"}, {"ERROR", "\033[31m"}, {"FATAL", "\033[1;35m"},
};

/* A level member to its style index (0..5), or -1 when it is not a known one. */
static int level_index(const member *lv)
{
    if (lv->kind == 'v') {
        int n = lv->val.n <= 3 ? digits(lv->val.p, (int)lv->val.n) : -1;
        static const int pino[] = {10, 20, 30, 40, 50, 60};
        for (int i = 0; i < 6; i++) {
            if (n == pino[i]) {
                return i;
            }
        }
        return -1;
    }
    static const struct {
        const char *name;
        int idx;
    } names[] = {{"trace", 0}, {"debug", 1},    {"info", 2},  {"information", 2},
                 {"warn", 3},  {"warning", 3},  {"error", 4}, {"err", 4},
                 {"fatal", 5}, {"critical", 5}, {"crit", 5},  {"panic", 5}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i].name);
        if (lv->val.n == n && strncasecmp(lv->val.p, names[i].name, n) == 0) {
            return names[i].idx;
        }
    }
    return -1;
}

static void put_level(ob *o, const member *lv, bool color)
{
    int i = lv != NULL ? level_index(lv) : -1;
    if (i < 0) {
        if (lv == NULL) {
            put(o, "?    ", 5);
        } else if (lv->kind == 's') {
            put_json_string(o, lv->val);
        } else {
            put_raw_visible(o, lv->val.p, lv->val.n);
        }
        return;
    }
    if (color) {
        put_s(o, styles[i].color);
    }
    put(o, styles[i].name, 5);
    if (color) {
        put_s(o, SGR_RESET);
    }
}

/* The short correlation id: the record's, or built from its trace ids. */
static void put_correlation(ob *o, member *m, int n, bool color)
{
    member *c = find(m, n, corr_keys);
    member *t = find(m, n, trace_keys);
    member *s = find(m, n, span_keys);
    if (c == NULL && (t == NULL || t->kind != 's')) {
        return;
    }
    put(o, " ", 1);
    if (color) {
        put_s(o, SGR_DIM);
    }
    put_c(o, '[');
    if (c != NULL && c->kind == 's') {
        put_json_string(o, c->val);
    } else if (t != NULL) {
        span ts = {t->val.p, t->val.n < 8 ? t->val.n : 8};
        put_json_string(o, ts);
        if (s != NULL && s->kind == 's') {
            span ss = {s->val.p, s->val.n < 8 ? s->val.n : 8};
            put_c(o, '-');
            put_json_string(o, ss);
        }
    }
    put_c(o, ']');
    if (color) {
        put_s(o, SGR_RESET);
    }
    if (c != NULL) {
        c->used = true;
    }
    if (t != NULL) {
        t->used = true;
    }
    if (s != NULL) {
        s->used = true;
    }
    member *f = find(m, n, flag_keys); /* part of the short id's meaning */
    if (f != NULL) {
        f->used = true;
    }
}

/* A string value is quoted when it is empty or holds blanks, '=' or '"'. */
static bool needs_quotes(span v)
{
    if (v.n == 0) {
        return true;
    }
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (c == ' ' || c == '=' || c == '"') {
            return true;
        }
    }
    return false;
}

static void put_member(ob *o, const member *m, bool color)
{
    put_c(o, ' ');
    if (color) {
        put_s(o, SGR_KEY);
    }
    put_json_string(o, m->key);
    if (color) {
        put_s(o, SGR_RESET);
    }
    put_c(o, '=');
    if (m->kind == 's') {
        bool q = needs_quotes(m->val);
        if (q) {
            put_c(o, '"');
        }
        put_json_string(o, m->val);
        if (q) {
            put_c(o, '"');
        }
    } else if (m->kind == 'o') {
        put_nested(o, m->val);
    } else {
        put_raw_visible(o, m->val.p, m->val.n);
    }
}

void sl_pretty_options_init(sl_pretty_options *opts)
{
    if (opts == NULL) {
        return;
    }
    memset(opts, 0, sizeof(*opts));
    opts->size = sizeof(*opts);
    opts->show_time = true;
}

bool sl_pretty_use_color(int fd, sl_color_mode mode)
{
    if (mode == SL_COLOR_NEVER) {
        return false;
    }
    if (mode == SL_COLOR_ALWAYS) {
        return true;
    }
    const char *v = getenv("NO_COLOR");
    if (v != NULL && *v != '\0') {
        return false;
    }
    v = getenv("FORCE_COLOR");
    if (v != NULL && *v != '\0' && strcmp(v, "0") != 0) {
        return true;
    }
    v = getenv("TERM");
    if (v != NULL && strcmp(v, "dumb") == 0) {
        return false;
    }
    return isatty(fd) == 1;
}

size_t sl_pretty_format(const char *line, size_t len, const sl_pretty_options *opts,
                        char *out, size_t cap)
{
    sl_pretty_options def;
    if (opts == NULL || opts->size < sizeof(sl_pretty_options)) {
        sl_pretty_options_init(&def);
        opts = &def;
    }
    ob o = {out, cap > 0 ? cap - 1 : 0, 0};
    if (line == NULL) {
        len = 0;
        line = "";
    }
    if (len > 0 && line[len - 1] == '\n') {
        len--;
    }
    member m[MAX_MEMBERS];
    int more = 0;
    int n = scan_object(line, line + len, m, MAX_MEMBERS, &more);
    if (n < 0) {
        put_raw_visible(&o, line, len);
    } else {
        bool color = opts->color;
        member *t = find(m, n, time_keys);
        if (opts->show_time && t != NULL) {
            if (color) {
                put_s(&o, SGR_DIM);
            }
            put_time(&o, t, opts);
            if (color) {
                put_s(&o, SGR_RESET);
            }
            put_c(&o, ' ');
        }
        if (t != NULL) {
            t->used = true;
        }
        member *lv = find(m, n, level_keys);
        put_level(&o, lv, color);
        if (lv != NULL) {
            lv->used = true;
        }
        member *msg = find(m, n, msg_keys);
        if (msg != NULL) {
            put_c(&o, ' ');
            if (msg->kind == 's') {
                put_json_string(&o, msg->val);
            } else {
                put_nested(&o, msg->val);
            }
            msg->used = true;
        }
        put_correlation(&o, m, n, color);
        for (int i = 0; i < n; i++) {
            if (!m[i].used) {
                put_member(&o, &m[i], color);
            }
        }
        if (more > 0) {
            char b[48];
            int k = snprintf(b, sizeof(b), " (+%d more)", more);
            put(&o, b, (size_t)k);
        }
    }
    put_c(&o, '\n');
    if (cap > 0) {
        out[o.len < o.cap ? o.len : o.cap] = '\0';
    }
    return o.len;
}
