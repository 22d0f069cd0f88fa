/*
 * profile.c - the head of a record (everything before the bound fields),
 * written with the key names and formats of the logger's profile:
 *
 *   default  {"time":"<rfc3339>","level":"info","msg":..,"service":..,
 *             "traceId":..,"spanId":..,"correlationId":..[,"traceFlags":"01"]
 *   otel     {"time":..,"level":..,"msg":..,"service":..,"trace_id":..,
 *             "span_id":..,"trace_flags":"01"
 *   ecs      {"@timestamp":..,"log.level":..,"message":..,"service.name":..,
 *             "trace.id":..,"span.id":..[,"trace.flags":"01"]
 *   pino     {"level":30,"time":<epoch ms>,"pid":N,"hostname":..,"msg":..,
 *             "service":..,"traceId":..,"spanId":..,"correlationId":..
 *
 * then caller info when enabled ("caller":"file:line","func":..; ECS:
 * log.origin.file.name, log.origin.file.line, log.origin.function).
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "core.h"

/*
 * Key names as ready-made fragments, so the head of a record is a handful of
 * memcpy calls rather than a key-by-key walk through the writer.
 */
typedef struct profile_keys {
    const char *time_open;  /* `{"time":"` (pino: unused) */
    const char *msg_open;   /* pino: `,"msg":` (the others: level_frags below) */
    const char *service;    /* the service key (encoded once per logger) */
    const char *trace_open; /* `,"traceId":"` */
    const char *span_open;  /* `","spanId":"` */
    const char *corr_open;  /* `","correlationId":"`, NULL: not written */
    const char *flags_open; /* `","traceFlags":"` */
    bool flags_always;      /* written whenever a context applies, option or not */
} profile_keys;

static const profile_keys keys[] = {
    [SL_PROFILE_DEFAULT] = {"{\"time\":\"", NULL, "service", ",\"traceId\":\"",
                            "\",\"spanId\":\"", "\",\"correlationId\":\"",
                            "\",\"traceFlags\":\"", false},
    [SL_PROFILE_OTEL] = {"{\"time\":\"", NULL, "service", ",\"trace_id\":\"",
                         "\",\"span_id\":\"", NULL, "\",\"trace_flags\":\"", true},
    [SL_PROFILE_ECS] = {"{\"@timestamp\":\"", NULL, "service.name", ",\"trace.id\":\"",
                        "\",\"span.id\":\"", NULL, "\",\"trace.flags\":\"", false},
    [SL_PROFILE_PINO] = {NULL, ",\"msg\":", "service", ",\"traceId\":\"",
                         "\",\"spanId\":\"", "\",\"correlationId\":\"",
                         "\",\"traceFlags\":\"", false},
};

/* ---- head keys (log.h, sl_head_keys) --------------------------------------- */

static const char *const reserved_default[] = {
    "time",          "level",      "msg",    "service", "traceId",  "spanId",
    "correlationId", "traceFlags", "caller", "func",    "truncated"};
static const char *const reserved_otel[] = {
    "time",    "level",       "msg",    "service", "trace_id",
    "span_id", "trace_flags", "caller", "func",    "truncated"};
static const char *const reserved_ecs[] = {"@timestamp",
                                           "log.level",
                                           "message",
                                           "service.name",
                                           "trace.id",
                                           "span.id",
                                           "trace.flags",
                                           "log.origin.file.name",
                                           "log.origin.file.line",
                                           "log.origin.function",
                                           "truncated"};
static const char *const reserved_pino[] = {
    "level",  "time",          "pid",        "hostname", "msg",  "service",  "traceId",
    "spanId", "correlationId", "traceFlags", "caller",   "func", "truncated"};

#define RESERVED(list)                                                                   \
    {                                                                                    \
        {0}, list, sizeof(list) / sizeof(list[0]),                                       \
        {                                                                                \
            0                                                                            \
        }                                                                                \
    }

static sl__reserved reserved[] = {
    [SL_PROFILE_DEFAULT] = RESERVED(reserved_default),
    [SL_PROFILE_OTEL] = RESERVED(reserved_otel),
    [SL_PROFILE_ECS] = RESERVED(reserved_ecs),
    [SL_PROFILE_PINO] = RESERVED(reserved_pino),
};
static pthread_once_t reserved_once = PTHREAD_ONCE_INIT;

static void reserved_init(void)
{
    for (size_t p = 0; p < sizeof(reserved) / sizeof(reserved[0]); p++) {
        for (size_t i = 0; i < reserved[p].n; i++) {
            const char *k = reserved[p].keys[i];
            size_t n = strlen(k);
            unsigned h = sl__reserved_hash((unsigned char)k[0], n);
            reserved[p].len[i] = (uint8_t)n;
            reserved[p].hash[h >> 3] |= (uint8_t)(1u << (h & 7));
        }
    }
}

const sl__reserved *sl__profile_reserved(sl_profile profile)
{
    if ((size_t)profile >= sizeof(reserved) / sizeof(reserved[0])) {
        return NULL;
    }
    pthread_once(&reserved_once, reserved_init);
    return &reserved[profile];
}

static const char *const profile_names[] = {"default", "otel", "ecs", "pino"};

sl_status sl_profile_parse(const char *name, sl_profile *out)
{
    if (name == NULL || out == NULL) {
        return SL_EINVAL;
    }
    for (size_t i = 0; i < sizeof(profile_names) / sizeof(profile_names[0]); i++) {
        if (strcasecmp(name, profile_names[i]) == 0) {
            *out = (sl_profile)i;
            return SL_OK;
        }
    }
    return SL_EPARSE;
}

const char *sl__profile_service_key(sl_profile profile)
{
    return keys[profile].service;
}

/* ---- per-thread caches ----------------------------------------------------- */

/*
 * Two things change far less often than records are written: the second
 * (the calendar part of the timestamp) and the span context a thread logs
 * under. Each thread keeps the last of each, formatted.
 */
typedef struct trace_cache {
    sl_trace_id trace_id;
    sl_span_id span_id;
    uint8_t flags;
    uint8_t variant; /* the core's trace_variant it was built for; UINT8_MAX: empty */
    uint8_t len;
    char frag[160]; /* `,"traceId":"...","spanId":"...",...` */
} trace_cache;

/*
 * The head of a record up to the microseconds, `{"time":"YYYY-MM-DDTHH:MM:SS.`
 * (with the profile's key), kept per thread for the last second it was
 * built for; a new second within the same minute rewrites only the two
 * digits of the seconds.
 */
typedef struct time_cache {
    int64_t sec;     /* INT64_MIN: empty */
    uint64_t base;   /* sec * 10^9 in unsigned (wrapping) arithmetic */
    uint8_t profile; /* UINT8_MAX while empty: no profile matches it */
    uint8_t len;     /* bytes of prefix (at most 36) */
    char prefix[48]; /* copied whole: see write_time_level */
} time_cache;

static _Thread_local time_cache ttime = {.sec = INT64_MIN, .profile = UINT8_MAX};
static _Thread_local trace_cache tcache = {.variant = UINT8_MAX};

static size_t append(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

/* A string literal with its length, padded so that it is copied whole. */
#define FRAG_PAD 48
typedef struct frag {
    char s[FRAG_PAD];
    size_t n;
} frag;
#define FRAG(lit)                                                                        \
    {                                                                                    \
        lit, sizeof(lit) - 1                                                             \
    }

/* `Z","level":"info","msg":` for each profile (pino aside) and level. */
#define LEVEL_FRAGS(lk, mk)                                                              \
    {                                                                                    \
        FRAG("Z\",\"" lk "\":\"trace\",\"" mk "\":"),                                    \
            FRAG("Z\",\"" lk "\":\"debug\",\"" mk "\":"),                                \
            FRAG("Z\",\"" lk "\":\"info\",\"" mk "\":"),                                 \
            FRAG("Z\",\"" lk "\":\"warn\",\"" mk "\":"),                                 \
            FRAG("Z\",\"" lk "\":\"error\",\"" mk "\":"),                                \
            FRAG("Z\",\"" lk "\":\"fatal\",\"" mk "\":")                                 \
    }

static const frag level_frags[][SL_LEVEL_FATAL + 1] = {
    [SL_PROFILE_DEFAULT] = LEVEL_FRAGS("level", "msg"),
    [SL_PROFILE_OTEL] = LEVEL_FRAGS("level", "msg"),
    [SL_PROFILE_ECS] = LEVEL_FRAGS("log.level", "message"),
};

static void build_time_prefix(time_cache *tc, const profile_keys *k, sl_profile profile,
                              int64_t sec)
{
    if (tc->sec != INT64_MIN && tc->profile == (uint8_t)profile && sec >= 0 &&
        tc->sec >= 0 && tc->sec / 60 == sec / 60) {
        /* the same minute: only the seconds, the two digits before the '.' */
        unsigned ss = (unsigned)(sec % 60);
        tc->prefix[tc->len - 3] = sl__digits2[2 * ss];
        tc->prefix[tc->len - 2] = sl__digits2[2 * ss + 1];
        tc->sec = sec;
        return;
    }
    char full[40];
    size_t n = append(tc->prefix, k->time_open);
    sl__format_rfc3339_utc(sec * 1000000000, 0, full);
    memcpy(tc->prefix + n, full, 19);
    n += 19;
    tc->prefix[n++] = '.';
    tc->len = (uint8_t)n;
    tc->profile = (uint8_t)profile;
    tc->sec = sec;
}

/*
 * `{"time":"YYYY-MM-DDTHH:MM:SS.ffffffZ","level":"info","msg":` into d,
 * which has room for HEAD_MAX bytes; returns the length. The cached prefix
 * and the level fragment are copied as whole padded arrays (constant-size
 * moves, no length dispatch), the bytes past the length being overwritten
 * by what follows.
 */
#define HEAD_MAX 112
_Static_assert(48 + 6 + FRAG_PAD <= HEAD_MAX, "the head's padded copies fit");

/* `{"time":"YYYY-MM-DDTHH:MM:SS.ffffff` into d (room: 48 + 6 bytes). */
static SL__ALWAYS_INLINE size_t write_time(char *d, const profile_keys *k,
                                           sl_profile profile, int64_t ns)
{
    time_cache *tc = &ttime;
    /* Within the cached second: one subtraction, no division. Unsigned, so
     * that it wraps instead of overflowing; the result is exact mod 2^64. */
    uint64_t frac = (uint64_t)ns - tc->base;
    if (frac >= 1000000000u || tc->profile != (uint8_t)profile) {
        int64_t sec = ns / 1000000000;
        if (ns % 1000000000 < 0) {
            sec--; /* floor: times before 1970 keep a positive fraction */
        }
        build_time_prefix(tc, k, profile, sec);
        tc->base = (uint64_t)sec * 1000000000u;
        frac = (uint64_t)ns - tc->base;
    }
    size_t n = tc->len;
    memcpy(d, tc->prefix, sizeof(tc->prefix)); /* whole: d has room, see HEAD_MAX */
    uint32_t us = (uint32_t)frac / 1000;
    uint32_t hi = us / 10000, mid = us / 100 % 100, lo = us % 100;
    memcpy(d + n, sl__digits2 + 2 * hi, 2);
    memcpy(d + n + 2, sl__digits2 + 2 * mid, 2);
    memcpy(d + n + 4, sl__digits2 + 2 * lo, 2);
    return n + 6;
}

static SL__ALWAYS_INLINE size_t write_time_level(char *d, const profile_keys *k,
                                                 sl_profile profile, int64_t ns,
                                                 sl_level level)
{
    size_t n = write_time(d, k, profile, ns);
    const frag *lf = &level_frags[profile][level];
    memcpy(d + n, lf->s, FRAG_PAD); /* whole, and n + 6 + FRAG_PAD <= HEAD_MAX */
    return n + lf->n;
}

SL__NOINLINE_FN static void build_trace(trace_cache *tc, const profile_keys *k,
                                        const sl_span_context *ctx, uint8_t variant)
{
    bool with_flags = (variant & 1) != 0;
    char tid[SL_TRACE_ID_HEX_LEN + 1];
    char sid[SL_SPAN_ID_HEX_LEN + 1];
    sl_trace_id_to_hex(ctx->trace_id, tid);
    sl_span_id_to_hex(ctx->span_id, sid);
    char *p = tc->frag;
    p += append(p, k->trace_open);
    p += append(p, tid);
    p += append(p, k->span_open);
    p += append(p, sid);
    if (k->corr_open != NULL) {
        p += append(p, k->corr_open);
        memcpy(p, tid, 8);
        p[8] = '-';
        memcpy(p + 9, sid, 8);
        p += SL_CORRELATION_ID_LEN;
    }
    if (with_flags) {
        static const char hex[] = "0123456789abcdef";
        p += append(p, k->flags_open);
        *p++ = hex[ctx->flags >> 4];
        *p++ = hex[ctx->flags & 15];
    }
    *p++ = '"';
    tc->len = (uint8_t)(p - tc->frag);
    tc->trace_id = ctx->trace_id;
    tc->span_id = ctx->span_id;
    tc->flags = ctx->flags;
    tc->variant = variant;
}

uint8_t sl__profile_trace_variant(sl_profile profile, bool trace_flags)
{
    return (uint8_t)((unsigned)profile << 1 |
                     (keys[profile].flags_always || trace_flags));
}

static SL__ALWAYS_INLINE void write_trace(sl__jw *w, const sl__core *core,
                                          const profile_keys *k,
                                          const sl_span_context *ctx)
{
    trace_cache *tc = &tcache;
    /* The ids compared as three words and the flags, branch-free. */
    uint64_t a[3], b[3];
    memcpy(&a[0], &tc->trace_id, 16);
    memcpy(&a[2], &tc->span_id, 8);
    memcpy(&b[0], &ctx->trace_id, 16);
    memcpy(&b[2], &ctx->span_id, 8);
    uint64_t diff = (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
                    (uint64_t)(tc->flags ^ ctx->flags);
    if (tc->variant != core->trace_variant || diff != 0) {
        build_trace(tc, k, ctx, core->trace_variant);
    }
    if (tc->len <= 128 && w->cap - w->len >= 128) {
        memcpy(w->buf + w->len, tc->frag, 128); /* whole: no length dispatch */
        w->len += tc->len;
    } else {
        sl__jw_raw(w, tc->frag, tc->len);
    }
}

/* ---- pieces ------------------------------------------------------------------ */

static void raw_str(sl__jw *w, const char *s)
{
    sl__jw_raw(w, s, strlen(s));
}

/* `,"key":` for a key known to need no escaping. */
static void key(sl__jw *w, const char *k, bool first)
{
    if (!first) {
        sl__jw_char(w, ',');
    }
    sl__jw_char(w, '"');
    raw_str(w, k);
    sl__jw_raw(w, "\":", 2);
}

static const int pino_levels[] = {10, 20, 30, 40, 50, 60};

static void write_caller(sl__jw *w, sl_profile profile, const sl_src *src)
{
    const char *file = src->file != NULL ? src->file : "";
    const char *func = src->func != NULL ? src->func : "";
    if (profile == SL_PROFILE_ECS) {
        key(w, "log.origin.file.name", false);
        sl__jw_string(w, file, strlen(file));
        key(w, "log.origin.file.line", false);
        sl__jw_int(w, src->line);
        key(w, "log.origin.function", false);
        sl__jw_string(w, func, strlen(func));
        return;
    }
    /* "caller":"file:line" */
    char num[24];
    size_t n = 0;
    int64_t line = src->line;
    uint64_t u = line < 0 ? (uint64_t)(-line) : (uint64_t)line;
    do {
        num[sizeof(num) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (line < 0) {
        num[sizeof(num) - 1 - n++] = '-';
    }
    key(w, "caller", false);
    sl__jw_char(w, '"');
    sl__jw_string_body(w, file, strlen(file));
    sl__jw_char(w, ':');
    sl__jw_raw(w, num + sizeof(num) - n, n);
    sl__jw_char(w, '"');
    key(w, "func", false);
    sl__jw_string(w, func, strlen(func));
}

/*
 * The head of a call site with a segment (sl__head_segment): the cached
 * time prefix and the microseconds, the segment copied whole, then the
 * trace keys and caller. The caller made sure of HEAD_SEG_ROOM bytes.
 */
static SL__ALWAYS_INLINE void head_site(sl__jw *w, const sl__core *core,
                                        const sl_record *h, bool with_caller,
                                        const sl__site_head *sh)
{
    const profile_keys *k = &keys[core->profile];
    char *d = w->buf + w->len;
    d += write_time(d, k, core->profile, h->time_ns);
    memcpy(d, sh->seg, SL__HEAD_SEG); /* whole: no length dispatch */
    w->len = (size_t)(d + sh->seg_len - w->buf);
    if (h->ctx != NULL) {
        write_trace(w, core, k, h->ctx);
    }
    if (with_caller && core->caller_info && h->src != NULL) {
        write_caller(w, core->profile, h->src);
    }
}

void sl__head_segment(const sl__core *core, sl_level level, const char *msg,
                      size_t msg_len, sl__site_head *sh)
{
    /* The bytes head_general writes after the microseconds for this core,
     * level and msg (pino has no level fragment: never a segment). */
    sh->seg_len = 0;
    if (core->profile == SL_PROFILE_PINO || !sh->msg_plain) {
        return;
    }
    const frag *lf = &level_frags[core->profile][level];
    size_t svc = core->service_frag != NULL ? core->service_frag_len : 0;
    if (lf->n + 2 + svc > SL__HEAD_SEG || msg_len > SL__HEAD_SEG - lf->n - 2 - svc) {
        return;
    }
    char *d = sh->seg;
    memset(d, 0, SL__HEAD_SEG);
    memcpy(d, lf->s, lf->n);
    d += lf->n;
    d[0] = '"';
    memcpy(d + 1, msg, msg_len);
    d[msg_len + 1] = '"';
    d += msg_len + 2;
    if (svc != 0) {
        memcpy(d, core->service_frag, svc);
    }
    sh->seg_len = (uint8_t)(lf->n + 2 + msg_len + svc);
}

/* Every other head: pino's, no segment, a message to cut, a full buffer. */
SL__NOINLINE_FN static bool head_general(sl__jw *w, const sl__core *core,
                                         const sl_record *h, size_t msg_cap,
                                         bool with_caller)
{
    const profile_keys *k = &keys[core->profile];
    if (core->profile == SL_PROFILE_PINO) {
        sl__jw_raw(w, "{\"level\":", 9);
        sl__jw_int(w, pino_levels[h->level]);
        sl__jw_raw(w, ",\"time\":", 8);
        sl__jw_int(w, h->time_ns / 1000000);
        sl__jw_raw(w, ",\"pid\":", 7);
        sl__jw_int(w, sl__pid());
        sl__jw_raw(w, ",\"hostname\":", 12);
        const char *host = sl__hostname();
        sl__jw_string(w, host, strlen(host));
        sl__jw_raw(w, k->msg_open, strlen(k->msg_open));
    } else if (w->cap - w->len >= HEAD_MAX) {
        /* {"time":"2026-11-21T10:15:30.123456Z","level":"info","msg": */
        w->len +=
            write_time_level(w->buf + w->len, k, core->profile, h->time_ns, h->level);
    } else {
        char head[HEAD_MAX];
        sl__jw_raw(w, head,
                   write_time_level(head, k, core->profile, h->time_ns, h->level));
    }
    bool cut = false;
    if (msg_cap == SIZE_MAX) {
        sl__jw_string(w, h->msg, h->msg_len);
    } else {
        cut = sl__encode_string_capped(w, h->msg, h->msg_len, msg_cap);
    }
    if (core->service_frag != NULL) {
        sl__jw_raw(w, core->service_frag, core->service_frag_len);
    }
    if (h->ctx != NULL) {
        write_trace(w, core, k, h->ctx);
    }
    if (with_caller && core->caller_info && h->src != NULL) {
        write_caller(w, core->profile, h->src);
    }
    return cut;
}

/* Room for head_site: the padded prefix and digits, then the whole
 * segment. */
#define HEAD_SEG_ROOM (48 + 6 + SL__HEAD_SEG)

bool sl__encode_head(sl__jw *w, const sl__core *core, const sl_record *h, size_t msg_cap,
                     bool with_caller, const sl__site_head *sh)
{
    if (sh != NULL && sh->seg_len != 0 && msg_cap == SIZE_MAX &&
        w->cap - w->len >= HEAD_SEG_ROOM) {
        head_site(w, core, h, with_caller, sh);
        return false;
    }
    return head_general(w, core, h, msg_cap, with_caller);
}
