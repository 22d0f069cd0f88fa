/*
 * format.c - RFC 5424 / RFC 3164 messages from a record view, on bytes only.
 *
 * The head is built with a small bounded appender; MSG is never copied but
 * returned as a slice of the caller's line, so the datagram transports send
 * head and line with one sendmsg() and two iovecs.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/syslog/syslog_format.h"

int sl__syslog_severity(sl_level level)
{
    switch (level) {
    case SL_LEVEL_TRACE:
    case SL_LEVEL_DEBUG:
        return 7;
    case SL_LEVEL_INFO:
        return 6;
    case SL_LEVEL_WARN:
        return 4;
    case SL_LEVEL_ERROR:
        return 3;
    case SL_LEVEL_FATAL:
        return 2;
    default:
        return 5; /* out of range: notice, neither silent nor alarming */
    }
}

/* ---- a bounded appender for the head ---------------------------------- */

typedef struct hbuf {
    char *p;
    size_t len;
    size_t cap;
} hbuf;

static void put(hbuf *b, const char *s, size_t n)
{
    /* The fixed fields are bounded well below SL__SYSLOG_HEAD_MAX; this
     * guard only keeps a future mistake from writing past the buffer. */
    if (n > b->cap - b->len) {
        n = b->cap - b->len;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(hbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putc_(hbuf *b, char c)
{
    put(b, &c, 1);
}

static void put_uint(hbuf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(b, tmp + i, sizeof tmp - i);
}

/* ---- timestamps ---------------------------------------------------------- */

/* "Mmm dd hh:mm:ss" in local time, as glibc's syslog(3) writes it. Cached
 * per thread for the current second: localtime_r takes a global lock. */
static size_t format_3164_time(int64_t ns, char *out)
{
    static _Thread_local int64_t cached_sec = INT64_MIN;
    static _Thread_local char cached[16];
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t sec = ns / 1000000000;
    if (ns < 0 && ns % 1000000000 != 0) {
        sec -= 1;
    }
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        if (localtime_r(&t, &tm) == NULL) {
            memset(&tm, 0, sizeof tm);
        }
        /* "Mmm dd hh:mm:ss", the day padded with a space (RFC 3164 4.1.2). */
        int mon = tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0;
        memcpy(cached, months[mon], 3);
        cached[3] = ' ';
        cached[4] = tm.tm_mday >= 10 ? (char)('0' + tm.tm_mday / 10) : ' ';
        cached[5] = (char)('0' + tm.tm_mday % 10);
        const int hms[3] = {tm.tm_hour, tm.tm_min, tm.tm_sec};
        for (int i = 0; i < 3; i++) {
            cached[6 + 3 * i] = i == 0 ? ' ' : ':';
            cached[7 + 3 * i] = (char)('0' + hms[i] / 10 % 10);
            cached[8 + 3 * i] = (char)('0' + hms[i] % 10);
        }
        cached_sec = sec;
    }
    memcpy(out, cached, 15);
    return 15;
}

/* ---- structured data ------------------------------------------------------ */

static void put_trace_sd(const sl__syslog_fmt *f, const sl_span_context *ctx, hbuf *b)
{
    char tid[SL_TRACE_ID_HEX_LEN + 1], sid[SL_SPAN_ID_HEX_LEN + 1];
    sl_trace_id_to_hex(ctx->trace_id, tid);
    sl_span_id_to_hex(ctx->span_id, sid);
    putc_(b, '[');
    puts_(b, f->trace_sd_id);
    puts_(b, " trace_id=\"");
    put(b, tid, SL_TRACE_ID_HEX_LEN);
    puts_(b, "\" span_id=\"");
    put(b, sid, SL_SPAN_ID_HEX_LEN);
    if (f->trace_flags) {
        static const char hex[] = "0123456789abcdef";
        char fl[2] = {hex[ctx->flags >> 4], hex[ctx->flags & 15]};
        puts_(b, "\" trace_flags=\"");
        put(b, fl, 2);
    }
    puts_(b, "\"]");
}

/* The text of a bound field's value, before SD escaping. */
static size_t field_text(const sl_field *fd, char *tmp, size_t cap, const char **out)
{
    sl__jw w;
    switch (fd->type) {
    case SL_FIELD_STR:
        if (fd->v.s == NULL) {
            *out = "null";
            return 4;
        }
        *out = fd->v.s;
        return fd->len == SL_NPOS ? strlen(fd->v.s) : fd->len;
    case SL_FIELD_INT:
    case SL_FIELD_ERRNO:
        *out = tmp;
        return (size_t)snprintf(tmp, cap, "%lld", (long long)fd->v.i);
    case SL_FIELD_UINT:
        *out = tmp;
        return (size_t)snprintf(tmp, cap, "%llu", (unsigned long long)fd->v.u);
    case SL_FIELD_DOUBLE:
        /* The JSON writer's shortest round-trip form, without its quotes
         * around NaN and the infinities. */
        sl__jw_init(&w, tmp, cap);
        sl__jw_double(&w, fd->v.d);
        *out = tmp;
        if (w.len >= 2 && tmp[0] == '"') {
            *out = tmp + 1;
            return w.len - 2;
        }
        return w.len;
    case SL_FIELD_BOOL:
        *out = fd->v.b ? "true" : "false";
        return strlen(*out);
    case SL_FIELD_JSON:
        if (fd->v.json != NULL) {
            size_t need =
                json_dumpb(fd->v.json, tmp, cap, JSON_COMPACT | JSON_ENCODE_ANY);
            if (need > 0 && need <= cap) {
                *out = tmp;
                return need;
            }
            *out = "";
            return SIZE_MAX; /* too large for the SD element: left out */
        }
        *out = "null";
        return 4;
    default:
        *out = "null";
        return 4;
    }
}

/* Appends [fields-id name="value" ...] with the params that fit below
 * `limit` bytes of head; nothing when none fits. */
static void put_fields_sd(const sl__syslog_fmt *f, const sl_record *rec, hbuf *b,
                          size_t limit)
{
    size_t start = b->len;
    size_t id_len = strlen(f->fields_sd_id);
    if (start + 1 + id_len + 1 > limit) {
        return;
    }
    putc_(b, '[');
    put(b, f->fields_sd_id, id_len);
    size_t nparams = 0;
    char tmp[1024];
    for (size_t i = 0; i < rec->nbound; i++) {
        const sl_field *fd = &rec->bound[i];
        const char *text;
        size_t tlen = field_text(fd, tmp, sizeof tmp, &text);
        if (tlen == SIZE_MAX) {
            continue;
        }
        char name[SL__SYSLOG_SDNAME_MAX + 1];
        const char *key = fd->key ? fd->key : "";
        size_t nlen =
            sl__syslog_clean_sdname(key, strlen(key), name, SL__SYSLOG_SDNAME_MAX);
        /* ' ' name '="' value '"' and the closing ']' must all fit. */
        size_t fixed = 1 + nlen + 2 + 1 + 1;
        if (b->len + fixed > limit) {
            break;
        }
        size_t mark = b->len;
        putc_(b, ' ');
        put(b, name, nlen);
        put(b, "=\"", 2);
        size_t room = limit - b->len - 2; /* '"' and ']' */
        size_t w = sl__syslog_sd_escape(text, tlen, b->p + b->len, room);
        if (w == SIZE_MAX) {
            b->len = mark; /* does not fit: stop here, keep order */
            break;
        }
        b->len += w;
        putc_(b, '"');
        nparams++;
    }
    if (nparams == 0) {
        b->len = start;
        return;
    }
    putc_(b, ']');
}

/* ---- the message ----------------------------------------------------------- */

static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t seq = sl__syslog_utf8_seq(p + i, n - i);
        if (seq == 0) {
            return false;
        }
        i += seq;
    }
    return true;
}

static void put_app(const sl__syslog_fmt *f, const sl_record *rec, hbuf *b, bool tag)
{
    if (!f->app_auto || rec->service == NULL || rec->service[0] == '\0') {
        puts_(b, f->app_name);
        return;
    }
    char tmp[SL__SYSLOG_APPNAME_MAX + 1];
    size_t n = tag ? sl__syslog_clean_tag(rec->service, strlen(rec->service), tmp,
                                          SL__SYSLOG_TAG_MAX)
                   : sl__syslog_clean_header(rec->service, strlen(rec->service), tmp,
                                             SL__SYSLOG_APPNAME_MAX);
    put(b, tmp, n);
}

sl_status sl__syslog_format(const sl__syslog_fmt *f, const sl_record *rec,
                            const char *line, size_t len, char *head,
                            sl__syslog_frame *out)
{
    hbuf b = {head, 0, SL__SYSLOG_HEAD_MAX};
    const char *msg;
    size_t msg_len;
    if (f->msg == SL_SYSLOG_MSG_TEXT) {
        msg = rec->msg;
        msg_len = rec->msg_len;
    } else {
        msg = line;
        msg_len = (len > 0 && line[len - 1] == '\n') ? len - 1 : len;
    }

    putc_(&b, '<');
    put_uint(&b, (uint64_t)(f->facility * 8 + sl__syslog_severity(rec->level)));
    putc_(&b, '>');

    if (f->format == SL_SYSLOG_FORMAT_RFC5424) {
        puts_(&b, "1 ");
        if (rec->time_ns > 0) {
            char ts[32];
            put(&b, ts, sl__format_rfc3339_utc(rec->time_ns, 6, ts));
        } else {
            putc_(&b, '-'); /* RFC 5424 6.2.3: unknown time is NILVALUE */
        }
        putc_(&b, ' ');
        puts_(&b, f->hostname);
        putc_(&b, ' ');
        put_app(f, rec, &b, false);
        putc_(&b, ' ');
        if (f->include_pid) {
            put_uint(&b, (uint64_t)sl__pid());
        } else {
            putc_(&b, '-');
        }
        putc_(&b, ' ');
        puts_(&b, f->msgid);
        putc_(&b, ' ');
        size_t sd_start = b.len;
        if (f->trace_sd_id[0] != '\0' && rec->ctx != NULL &&
            sl_span_context_is_valid(rec->ctx)) {
            put_trace_sd(f, rec->ctx, &b);
        }
        if (f->fields_sd && rec->nbound > 0) {
            /* Leave MSG at least half of a bounded message. */
            size_t limit = SL__SYSLOG_HEAD_MAX - 8;
            if (f->max_message != 0 && f->max_message / 2 < limit) {
                limit = f->max_message / 2;
            }
            put_fields_sd(f, rec, &b, limit);
        }
        if (b.len == sd_start) {
            putc_(&b, '-');
        }
        if (msg_len > 0) {
            putc_(&b, ' ');
            /* A BOM promises UTF-8 (RFC 5424 6.4); text that is not gets none. */
            if (f->bom && (f->msg == SL_SYSLOG_MSG_JSON || utf8_valid(msg, msg_len))) {
                put(&b, "\xEF\xBB\xBF", 3);
            }
        }
    } else {
        char ts[16];
        put(&b, ts, format_3164_time(rec->time_ns, ts));
        putc_(&b, ' ');
        if (f->format == SL_SYSLOG_FORMAT_RFC3164) {
            puts_(&b, f->hostname);
            putc_(&b, ' ');
        }
        put_app(f, rec, &b, true);
        if (f->include_pid) {
            putc_(&b, '[');
            put_uint(&b, (uint64_t)sl__pid());
            putc_(&b, ']');
        }
        put(&b, ": ", 2);
    }

    out->head_len = b.len;
    out->truncated = false;
    if (f->max_message != 0) {
        if (b.len > f->max_message) {
            return SL_ERANGE;
        }
        size_t room = f->max_message - b.len;
        if (msg_len > room) {
            msg_len = sl__utf8_cut(msg, msg_len, room);
            out->truncated = true;
        }
    }
    out->msg = msg;
    out->msg_len = msg_len;
    return SL_OK;
}

/* ---- preparing the options --------------------------------------------------- */

/* An SD-ID is valid when sanitising leaves it unchanged (and it fits). */
static bool sd_id_valid(const char *s)
{
    size_t n = strlen(s);
    char clean[SL__SYSLOG_SDNAME_MAX + 1];
    return n > 0 && n <= SL__SYSLOG_SDNAME_MAX &&
           sl__syslog_clean_sdname(s, n, clean, SL__SYSLOG_SDNAME_MAX) == n &&
           memcmp(clean, s, n) == 0;
}

sl_status sl__syslog_fmt_init(sl__syslog_fmt *f, const sl_syslog_options *o,
                              sl_syslog_transport transport)
{
    memset(f, 0, sizeof *f);
    if (o->facility < 0 || o->facility > 23 || (unsigned)o->msg > SL_SYSLOG_MSG_TEXT ||
        (unsigned)o->format > SL_SYSLOG_FORMAT_LOCAL) {
        return SL_EINVAL;
    }
    f->format = o->format;
    if (f->format == SL_SYSLOG_FORMAT_AUTO) {
        f->format = transport == SL_SYSLOG_UNIX ? SL_SYSLOG_FORMAT_LOCAL
                                                : SL_SYSLOG_FORMAT_RFC5424;
    }
    f->msg = o->msg;
    f->facility = o->facility;
    f->include_pid = o->include_pid;
    f->trace_flags = o->trace_flags;
    f->fields_sd = o->fields_sd;
    f->bom = o->bom;

    const char *trace_id = o->trace_sd_id ? o->trace_sd_id : "opentelemetry";
    if (trace_id[0] != '\0' && !sd_id_valid(trace_id)) {
        return SL_EINVAL;
    }
    strcpy(f->trace_sd_id, trace_id);
    const char *fields_id = o->fields_sd_id ? o->fields_sd_id : "fields@32473";
    if (!sd_id_valid(fields_id)) {
        return SL_EINVAL;
    }
    strcpy(f->fields_sd_id, fields_id);

    const char *host = o->hostname ? o->hostname : sl__hostname();
    sl__syslog_clean_header(host, host ? strlen(host) : 0, f->hostname,
                            SL__SYSLOG_HOSTNAME_MAX);
    const char *msgid = o->msgid ? o->msgid : "";
    sl__syslog_clean_header(msgid, strlen(msgid), f->msgid, SL__SYSLOG_MSGID_MAX);

    /* Without a configured name, the record's service is used; this is the
     * fallback when a record has none. */
    f->app_auto = o->app_name == NULL;
    const char *app = o->app_name ? o->app_name : program_invocation_short_name;
    if (f->format == SL_SYSLOG_FORMAT_RFC5424) {
        sl__syslog_clean_header(app, app ? strlen(app) : 0, f->app_name,
                                SL__SYSLOG_APPNAME_MAX);
    } else {
        sl__syslog_clean_tag(app, app ? strlen(app) : 0, f->app_name, SL__SYSLOG_TAG_MAX);
    }

    f->max_message = o->max_message_size;
    if (f->max_message == 0) {
        f->max_message = transport == SL_SYSLOG_UNIX  ? 131072
                         : transport == SL_SYSLOG_UDP ? 2048
                                                      : 0;
    } else if (f->max_message < SL__SYSLOG_MIN_MESSAGE) {
        return SL_EINVAL;
    }
    return SL_OK;
}
