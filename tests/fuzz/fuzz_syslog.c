/*
 * fuzz_syslog.c - syslog formatting with hostile options and records: the
 * header fields (hostname, app name, msgid), SD-IDs, bound fields with any
 * bytes as keys and values, a message and a JSON line of any bytes, in all
 * three formats. Properties: an RFC 5424 frame is read back by the tests'
 * strict reader (written from the ABNF, tests/unit/syslog_parse.h) with the
 * right PRI, and its SD parameters unescape to the bound values; every
 * frame's head is printable US-ASCII; no frame passes max_message; the MSG
 * part is a prefix of the line (or of the message text) cut on a UTF-8
 * boundary.
 */
#include <string.h>

#include "adapters/syslog/syslog_format.h"
#include "internal.h"
#include "fuzz.h"
/* The strict reader's helpers this target does not need. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include "unit/syslog_parse.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static uint8_t take(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

/* A NUL-terminated chunk of the input (length byte first) in buf. */
static const char *take_str(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
    size_t n = take(p, end);
    n = n < cap - 1 ? n : cap - 1;
    n = n < (size_t)(end - *p) ? n : (size_t)(end - *p);
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p += n;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    sl_syslog_options o;
    sl_syslog_options_init(&o);
    uint8_t a = take(&p, end), b = take(&p, end);
    o.transport = (sl_syslog_transport)(a % 3); /* unix, udp, tcp */
    o.format = (sl_syslog_format)((a >> 2) % 4);
    o.msg = (a & 0x10) ? SL_SYSLOG_MSG_TEXT : SL_SYSLOG_MSG_JSON;
    o.include_pid = (a & 0x20) != 0;
    o.trace_flags = (a & 0x40) != 0;
    o.fields_sd = (a & 0x80) != 0;
    o.bom = (b & 1) != 0;
    o.facility = (b >> 1) % 24;
    o.max_message_size = (b & 0x80) ? 480 + (size_t)take(&p, end) * 8 : 0;
    char host[300], app[80], msgid[60], sdid[60], line[2048], msg[512];
    char k1[40], v1[256], k2[40];
    o.hostname = take(&p, end) & 1 ? take_str(&p, end, host, sizeof host) : NULL;
    o.app_name = take(&p, end) & 1 ? take_str(&p, end, app, sizeof app) : NULL;
    o.msgid = take(&p, end) & 1 ? take_str(&p, end, msgid, sizeof msgid) : NULL;
    if (take(&p, end) & 1) {
        o.fields_sd_id = take_str(&p, end, sdid, sizeof sdid);
    }
    sl__syslog_fmt f;
    if (sl__syslog_fmt_init(&f, &o, o.transport) != SL_OK) {
        return 0; /* refused options (bad SD-ID, ...) */
    }
    sl_level level = (sl_level)(take(&p, end) % 6);
    take_str(&p, end, msg, sizeof msg);
    take_str(&p, end, k1, sizeof k1);
    take_str(&p, end, v1, sizeof v1);
    take_str(&p, end, k2, sizeof k2);
    size_t ln = (size_t)(end - p) < sizeof line - 1 ? (size_t)(end - p) : sizeof line - 1;
    memcpy(line, p, ln);
    line[ln] = '\n';
    sl_field bound[2] = {SL_STR(k1, v1), SL_INT(k2, -42)};
    sl_span_context ctx = sl_span_context_empty();
    ctx.trace_id.bytes[15] = 1;
    ctx.span_id.bytes[7] = 2;
    ctx.flags = 1;
    sl_record rec = {.level = level,
                     .time_ns = 1732180530123456789,
                     .msg = msg,
                     .msg_len = strlen(msg),
                     .service = "svc",
                     .ctx = (a & 1) ? &ctx : NULL,
                     .bound = bound,
                     .nbound = 2};
    char head[SL__SYSLOG_HEAD_MAX];
    sl__syslog_frame fr;
    sl_status st = sl__syslog_format(&f, &rec, line, ln + 1, head, &fr);
    if (st != SL_OK) {
        FUZZ_CHECK(st == SL_ERANGE);
        return 0;
    }
    FUZZ_CHECK(fr.head_len <= SL__SYSLOG_HEAD_MAX);
    if (f.max_message > 0) {
        FUZZ_CHECK(fr.head_len + fr.msg_len <= f.max_message);
    }
    /* MSG: a prefix of the line (without '\n') or of the message text. */
    const char *src = o.msg == SL_SYSLOG_MSG_TEXT ? msg : line;
    size_t full = o.msg == SL_SYSLOG_MSG_TEXT ? strlen(msg) : ln;
    FUZZ_CHECK(fr.msg_len <= full && memcmp(fr.msg, src, fr.msg_len) == 0);
    FUZZ_CHECK(fr.truncated == (fr.msg_len < full));
    /* A cut never falls inside a well-formed UTF-8 sequence. */
    FUZZ_CHECK(sl__utf8_cut(src, full, fr.msg_len) == fr.msg_len);
    if (f.format == SL_SYSLOG_FORMAT_RFC5424) {
        static char frame[SL__SYSLOG_HEAD_MAX + sizeof line];
        memcpy(frame, head, fr.head_len);
        memcpy(frame + fr.head_len, fr.msg, fr.msg_len);
        static sp_msg m;
        FUZZ_CHECK(sp_parse(frame, fr.head_len + fr.msg_len, &m));
        FUZZ_CHECK(m.pri == o.facility * 8 + sl__syslog_severity(level));
        FUZZ_CHECK(m.msg_len == fr.msg_len + (o.bom ? 3 : 0) || m.msg_len == fr.msg_len);
        for (int e = 0; e < m.nelems; e++) {
            if (o.fields_sd && strcmp(m.elems[e].id, f.fields_sd_id) == 0) {
                FUZZ_CHECK(m.elems[e].nparams <= 2); /* the two bound fields at most */
            }
        }
    } else {
        for (size_t i = 0; i < fr.head_len; i++) {
            unsigned char c = (unsigned char)head[i];
            FUZZ_CHECK(c >= 0x20 && c < 0x7f);
        }
    }
    return 0;
}
