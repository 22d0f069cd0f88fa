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
#include <string.h>
#include <strings.h>

#include "core.h"

typedef struct profile_keys {
    const char *time;
    const char *level;
    const char *msg;
    const char *service;
    const char *trace_id;
    const char *span_id;
    const char *correlation_id; /* NULL: not written */
    const char *trace_flags;
    bool flags_always; /* written whenever a context applies, option or not */
} profile_keys;

static const profile_keys keys[] = {
    [SL_PROFILE_DEFAULT] = {"time", "level", "msg", "service", "traceId", "spanId",
                            "correlationId", "traceFlags", false},
    [SL_PROFILE_OTEL] = {"time", "level", "msg", "service", "trace_id", "span_id", NULL,
                         "trace_flags", true},
    [SL_PROFILE_ECS] = {"@timestamp", "log.level", "message", "service.name", "trace.id",
                        "span.id", NULL, "trace.flags", false},
    [SL_PROFILE_PINO] = {"time", "level", "msg", "service", "traceId", "spanId",
                         "correlationId", "traceFlags", false},
};

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

static void quoted(sl__jw *w, const char *s, size_t n)
{
    sl__jw_char(w, '"');
    sl__jw_raw(w, s, n);
    sl__jw_char(w, '"');
}

static const int pino_levels[] = {10, 20, 30, 40, 50, 60};

static void write_trace(sl__jw *w, const sl__core *core, const profile_keys *k,
                        const sl_span_context *ctx)
{
    char tid[SL_TRACE_ID_HEX_LEN + 1];
    char sid[SL_SPAN_ID_HEX_LEN + 1];
    sl_trace_id_to_hex(ctx->trace_id, tid);
    sl_span_id_to_hex(ctx->span_id, sid);
    key(w, k->trace_id, false);
    quoted(w, tid, SL_TRACE_ID_HEX_LEN);
    key(w, k->span_id, false);
    quoted(w, sid, SL_SPAN_ID_HEX_LEN);
    if (k->correlation_id != NULL) {
        char cid[SL_CORRELATION_ID_LEN];
        memcpy(cid, tid, 8);
        cid[8] = '-';
        memcpy(cid + 9, sid, 8);
        key(w, k->correlation_id, false);
        quoted(w, cid, SL_CORRELATION_ID_LEN);
    }
    if (k->flags_always || core->trace_flags) {
        static const char hex[] = "0123456789abcdef";
        char f[2] = {hex[ctx->flags >> 4], hex[ctx->flags & 15]};
        key(w, k->trace_flags, false);
        quoted(w, f, 2);
    }
}

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

bool sl__encode_head(sl__jw *w, const sl__core *core, const sl__record_head *h,
                     bool with_caller)
{
    const profile_keys *k = &keys[core->profile];
    bool cut;
    sl__jw_char(w, '{');
    if (core->profile == SL_PROFILE_PINO) {
        key(w, k->level, true);
        sl__jw_int(w, pino_levels[h->level]);
        key(w, k->time, false);
        int64_t ms = h->time_ns / 1000000;
        sl__jw_int(w, ms);
        key(w, "pid", false);
        sl__jw_int(w, sl__pid());
        key(w, "hostname", false);
        const char *host = sl__hostname();
        sl__jw_string(w, host, strlen(host));
    } else {
        char ts[40];
        size_t tn = sl__format_rfc3339_utc(h->time_ns, 6, ts);
        key(w, k->time, true);
        quoted(w, ts, tn);
        key(w, k->level, false);
        const char *name = sl_level_name(h->level);
        quoted(w, name, strlen(name));
    }
    key(w, k->msg, false);
    cut = sl__encode_string_capped(w, h->msg, h->msg_len, h->msg_cap);
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
