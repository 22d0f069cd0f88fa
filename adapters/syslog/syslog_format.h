/*
 * syslog_format.h - the pure syslog formatter: a record view and its JSON
 * line in, the bytes of one syslog message out. No I/O, no locks, no heap.
 *
 * A message is produced as two pieces so that the transports can send the
 * JSON line without copying it:
 *
 *   head: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD...] " (+ BOM)
 *         written into a caller buffer of SL__SYSLOG_HEAD_MAX bytes
 *   msg:  a slice of the JSON line (or of the message text), possibly cut
 */
#ifndef SPANLOG_SYSLOG_FORMAT_H
#define SPANLOG_SYSLOG_FORMAT_H

#include "internal.h"
#include "spanlog/syslog.h"

/* Largest head: the fixed header fields take at most ~520 bytes; the rest
 * is room for the structured data. */
#define SL__SYSLOG_HEAD_MAX 4096

/* RFC limits on the header fields. */
#define SL__SYSLOG_HOSTNAME_MAX 255
#define SL__SYSLOG_APPNAME_MAX  48
#define SL__SYSLOG_TAG_MAX      32 /* RFC 3164 TAG */
#define SL__SYSLOG_MSGID_MAX    32
#define SL__SYSLOG_SDNAME_MAX   32 /* SD-ID and PARAM-NAME */
#define SL__SYSLOG_MIN_MESSAGE  480

/* Everything the formatter needs, prepared (sanitised) once at create. */
typedef struct sl__syslog_fmt {
    sl_syslog_format format; /* resolved: never AUTO */
    sl_syslog_msg msg;
    int facility;
    bool include_pid;
    bool trace_flags;
    bool fields_sd;
    bool bom;
    bool hostname_auto; /* take sl__hostname() per record (follows changes) */
    bool app_auto;      /* take the record's service per record */
    char hostname[SL__SYSLOG_HOSTNAME_MAX + 1]; /* sanitised; "-" when empty */
    char app_name[SL__SYSLOG_APPNAME_MAX + 1];  /* sanitised for the format */
    char msgid[SL__SYSLOG_MSGID_MAX + 1];
    char trace_sd_id[SL__SYSLOG_SDNAME_MAX + 1]; /* "" = no trace element */
    char fields_sd_id[SL__SYSLOG_SDNAME_MAX + 1];
    size_t max_message; /* 0: no limit */
} sl__syslog_fmt;

typedef struct sl__syslog_frame {
    size_t head_len;
    const char *msg; /* points into the line or the record's message */
    size_t msg_len;
    bool truncated; /* msg was cut to respect max_message */
} sl__syslog_frame;

/*
 * Checks what sl_syslog_sink_new() needs of the options, without opening
 * anything: ranges and names from the option table (target.c), the
 * transport's rules, SD-IDs. Fills err naming the option.
 */
sl_status sl__syslog_options_check(const sl_syslog_options *o, sl_error *err);

/*
 * Prepares *f from the options for `transport` (resolving the AUTO format
 * and the transport's default size). Returns SL_EINVAL for a facility out of
 * range, an invalid SD-ID (empty allowed for trace_sd_id only, at most 32
 * printable US-ASCII characters without '=', ' ', ']', '"'), or a
 * max_message_size below SL__SYSLOG_MIN_MESSAGE.
 */
sl_status sl__syslog_fmt_init(sl__syslog_fmt *f, const sl_syslog_options *opts,
                              sl_syslog_transport transport);

/*
 * Formats one record. `line`/`len` is the encoded JSON line (its trailing
 * '\n' is not sent). `head` must hold SL__SYSLOG_HEAD_MAX bytes. Returns
 * SL_OK, or SL_ERANGE when even the head alone exceeds max_message (the
 * record cannot be sent; the caller drops and counts it).
 */
sl_status sl__syslog_format(const sl__syslog_fmt *f, const sl_record *rec,
                            const char *line, size_t len, char *head,
                            sl__syslog_frame *out);

/* Severity (RFC 5424) for a level: trace/debug 7, info 6, warn 4, error 3, fatal 2. */
int sl__syslog_severity(sl_level level);

/*
 * Sanitisers, exposed for the tests. Each writes at most `max` bytes plus a
 * NUL into out (which holds max + 1) and returns the length.
 *  header: printable US-ASCII (33..126) kept, any other byte or UTF-8
 *          sequence becomes one '_'; empty input gives "-".
 *  tag:    as header, and ':', '[', ']' also become '_' (RFC 3164 TAG).
 *  sdname: as header, and '=', ']', '"' also become '_'; empty gives "_".
 */
size_t sl__syslog_clean_header(const char *s, size_t n, char *out, size_t max);
size_t sl__syslog_clean_tag(const char *s, size_t n, char *out, size_t max);
size_t sl__syslog_clean_sdname(const char *s, size_t n, char *out, size_t max);

/*
 * Appends `s` as an SD PARAM-VALUE body to out (escaping '"', '\\', ']' with
 * a backslash, replacing invalid UTF-8 with U+FFFD). Writes nothing and
 * returns SIZE_MAX when it would not fit in `cap` bytes; otherwise returns
 * the bytes written.
 */
size_t sl__syslog_sd_escape(const char *s, size_t n, char *out, size_t cap);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid. */
size_t sl__syslog_utf8_seq(const unsigned char *s, size_t n);

#endif /* SPANLOG_SYSLOG_FORMAT_H */
