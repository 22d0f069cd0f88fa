/*
 * target.c - syslog options, declared once in the option table below
 * (defaults, variables, URI keys, ranges), facility names, the textual
 * targets "unix:/path", "udp://host:port", "tcp://host:port?k=v&...", and
 * the adapter's entry in the registry.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/syslog/syslog_format.h"
#include "config.h"

_Static_assert(sizeof(sl_syslog_format) == sizeof(int) &&
                   sizeof(sl_syslog_framing) == sizeof(int) &&
                   sizeof(sl_syslog_msg) == sizeof(int) &&
                   sizeof(sl_syslog_transport) == sizeof(int),
               "option tables store enums as int");

static const char *const facility_names[24] = {
    "kern",   "user",     "mail",    "daemon",       "auth",     "syslog",
    "lpr",    "news",     "uucp",    "cron",         "authpriv", "ftp",
    "ntp",    "security", "console", "solaris-cron", "local0",   "local1",
    "local2", "local3",   "local4",  "local5",       "local6",   "local7"};

sl_status sl_syslog_facility_parse(const char *name, int *out)
{
    if (name == NULL || out == NULL) {
        return SL_EINVAL;
    }
    long long v;
    int pos;
    if (sl__parse_int(name, 0, 23, &v, &pos) == SL_OK) {
        *out = (int)v;
        return SL_OK;
    }
    for (int i = 0; i < 24; i++) {
        if (strcasecmp(name, facility_names[i]) == 0) {
            *out = i;
            return SL_OK;
        }
    }
    return SL_EPARSE;
}

static sl_status parse_facility(const char *text, void *field, void *base, int *pos)
{
    return sl_syslog_facility_parse(text, (int *)field);
}

static sl_status parse_port(const char *text, void *field, void *base, int *pos)
{
    long long v;
    sl_status st = sl__parse_int(text, 0, 65535, &v, pos);
    if (st == SL_OK) {
        *(uint16_t *)field = (uint16_t)v;
    }
    return st;
}

static const char *const transport_names[] = {"unix", "udp", "tcp", "tls", NULL};
static const char *const format_names[] = {"auto", "rfc5424", "rfc3164", "local", NULL};
static const char *const framing_names[] = {"octet", "lf", NULL};
static const char *const msg_names[] = {"json", "text", NULL};

#define O  sl_syslog_options
#define MS 3600000
static const sl__opt syslog_opts[] = {
    SL__O_ENUM(O, transport, "unix", transport_names, NULL, NULL,
               "set by the target: unix:, udp://, tcp://, tls://"),
    SL__O_STR(O, path, "/dev/log", NULL, NULL, "unix: the socket's path"),
    SL__O_STR(O, host, "127.0.0.1", NULL, NULL, "udp, tcp, tls: name or address"),
    SL__O_CUSTOM(O, port, "0", parse_port, "a port number 0 to 65535", NULL, NULL,
                 "0: 514, or 6514 for tls"),
    SL__O_ENUM(O, format, "auto", format_names, "SPANLOG_SYSLOG_FORMAT", "format",
               "auto: local for unix, rfc5424 for udp, tcp, tls"),
    SL__O_CUSTOM(O, facility, "user", parse_facility,
                 "a facility name (kern, user, daemon, local0..local7, ...) or 0 to 23",
                 "SPANLOG_SYSLOG_FACILITY", "facility", "the facility of every record"),
    SL__O_ENUM(O, framing, "octet", framing_names, "SPANLOG_SYSLOG_FRAMING", "framing",
               "tcp: octet counting (RFC 6587) or LF; tls needs octet"),
    SL__O_ENUM(O, msg, "json", msg_names, "SPANLOG_SYSLOG_MSG", "msg",
               "MSG is the JSON line, or the record's message text only"),
    SL__O_STR(O, app_name, NULL, "SPANLOG_SYSLOG_APP", "app",
              "APP-NAME / TAG; unset: the record's service, else the program"),
    SL__O_STR(O, msgid, NULL, "SPANLOG_SYSLOG_MSGID", "msgid",
              "RFC 5424 MSGID; unset: -"),
    SL__O_STR(O, hostname, NULL, "SPANLOG_SYSLOG_HOSTNAME", "hostname",
              "HOSTNAME; unset: gethostname()"),
    SL__O_BOOL(O, include_pid, "true", NULL, NULL, "write PROCID / [PID]"),
    SL__O_STR(O, trace_sd_id, "opentelemetry", NULL, NULL,
              "SD-ID of the trace ids' element; empty leaves them out"),
    SL__O_BOOL(O, trace_flags, "true", NULL, NULL, "add trace_flags to that element"),
    SL__O_BOOL(O, fields_sd, "false", "SPANLOG_SYSLOG_FIELDS", "fields",
               "the logger's bound fields as an SD element"),
    SL__O_STR(O, fields_sd_id, "fields@32473", NULL, NULL, "SD-ID of that element"),
    SL__O_BOOL(O, bom, "false", NULL, NULL, "UTF-8 BOM before MSG (RFC 5424)"),
    SL__O_SIZE(O, max_message_size, "0", 0, 1 << 30, "SPANLOG_SYSLOG_MAX", "max",
               "bytes per message; 0: unix 131072, udp 2048, tcp no limit; else >= 480"),
    SL__O_INT(O, timeout_ms, "0", 0, MS, "SPANLOG_SYSLOG_TIMEOUT_MS", "timeout_ms",
              "how long a log call may wait for room; 0: never wait"),
    SL__O_INT(O, connect_timeout_ms, "2000", 1, MS, NULL, NULL, "tcp: connect timeout"),
    SL__O_INT(O, reconnect_min_ms, "100", 1, MS, NULL, NULL, "tcp: first backoff"),
    SL__O_INT(O, reconnect_max_ms, "10000", 1, MS, NULL, NULL,
              "tcp: backoff cap (>= reconnect_min_ms)"),
    SL__O_SIZE(O, queue_bytes, "4194304", 0, 1ll << 40, "SPANLOG_SYSLOG_QUEUE_BYTES",
               "queue_bytes", "tcp: bounded queue of frames (minimum 65536)"),
    SL__O_BOOL(O, tls_verify, "true", "SPANLOG_SYSLOG_TLS_VERIFY", "verify",
               "tls: verify the server's certificate and name"),
    SL__O_STR(O, tls_ca_file, NULL, "SPANLOG_SYSLOG_TLS_CA", "ca",
              "tls: PEM file of trusted CAs; unset: the system's store"),
    SL__O_STR(O, tls_server_name, NULL, "SPANLOG_SYSLOG_TLS_SERVERNAME", "servername",
              "tls: name to verify and send as SNI; unset: host"),
    SL__O_STR(O, tls_cert_file, NULL, "SPANLOG_SYSLOG_TLS_CERT", "cert",
              "tls: client certificate chain (PEM)"),
    SL__O_STR(O, tls_key_file, NULL, "SPANLOG_SYSLOG_TLS_KEY", "key",
              "tls: its private key (PEM)"),
};
#undef O
#undef MS

static const sl__opt_table syslog_table = {"syslog (sl_syslog_options)", syslog_opts,
                                           SL__NOPTS(syslog_opts)};

void sl_syslog_options_init_size(sl_syslog_options *opts, size_t size)
{
    sl_syslog_options d;
    sl__opts_init(&syslog_table, opts, size, &d, sizeof d);
}

sl_status sl__syslog_options_check(const sl_syslog_options *o, sl_error *err)
{
    sl_status st = sl__opts_check(&syslog_table, o, err);
    if (st != SL_OK) {
        return st;
    }
    bool stream = o->transport == SL_SYSLOG_TCP || o->transport == SL_SYSLOG_TLS;
#if !SPANLOG_WITH_SYSLOG_TLS
    if (o->transport == SL_SYSLOG_TLS) {
        return sl__error_set(err, SL_ENOTSUP, "transport", "tls", -1,
                             "syslog tls: this spanlog was built without TLS "
                             "(SPANLOG_WITH_SYSLOG_TLS=OFF)");
    }
#endif
    if (o->facility < 0 || o->facility > 23) {
        return sl__error_set(err, SL_EINVAL, "facility", NULL, -1,
                             "syslog facility: %d is out of range (0 to 23)",
                             o->facility);
    }
    if (o->reconnect_max_ms < o->reconnect_min_ms) {
        return sl__error_set(err, SL_EINVAL, "reconnect_max_ms", NULL, -1,
                             "syslog reconnect_max_ms: at least reconnect_min_ms (%d)",
                             o->reconnect_min_ms);
    }
    if (stream && o->queue_bytes < 65536) {
        return sl__error_set(err, SL_EINVAL, "queue_bytes", NULL, -1,
                             "syslog queue_bytes: at least 65536 for tcp and tls");
    }
    if (o->transport == SL_SYSLOG_TLS && o->framing != SL_SYSLOG_FRAMING_OCTET_COUNTING) {
        /* RFC 5425 frames with octet counting only */
        return sl__error_set(err, SL_EINVAL, "framing", "lf", -1,
                             "syslog tls: framing must be octet (RFC 5425)");
    }
    if (o->max_message_size != 0 && o->max_message_size < SL__SYSLOG_MIN_MESSAGE) {
        return sl__error_set(err, SL_EINVAL, "max_message_size", NULL, -1,
                             "syslog max_message_size: 0 or at least %d bytes",
                             SL__SYSLOG_MIN_MESSAGE);
    }
    sl__syslog_fmt f; /* fills a struct, opens nothing */
    if (sl__syslog_fmt_init(&f, o, o->transport) != SL_OK) {
        return sl__error_set(err, SL_EINVAL, "trace_sd_id", NULL, -1,
                             "syslog trace_sd_id or fields_sd_id: not a valid SD-ID "
                             "(1 to 32 printable ASCII characters, no = ] \" or space)");
    }
    return SL_OK;
}

/* "host:port", "[v6]:port", "host", "[v6]" in place; pos: offset of s in the target. */
static sl_status split_host_port(char *s, int pos, sl_syslog_options *o,
                                 uint16_t default_port, const char *target, sl_error *err)
{
    char *port = NULL;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (close == NULL || close == s + 1) {
            return sl__error_set(err, SL_EPARSE, "target", target, pos,
                                 "syslog target \"%s\": unterminated or empty [address]",
                                 target);
        }
        *close = '\0';
        o->host = s + 1;
        if (close[1] == ':') {
            port = close + 2;
        } else if (close[1] != '\0') {
            return sl__error_set(err, SL_EPARSE, "target", target,
                                 pos + (int)(close + 1 - s),
                                 "syslog target \"%s\": expected :port after ]", target);
        }
    } else {
        char *colon = strchr(s, ':');
        if (colon != NULL) {
            if (strchr(colon + 1, ':') != NULL) {
                return sl__error_set(err, SL_EPARSE, "target", target, pos,
                                     "syslog target \"%s\": an IPv6 address needs "
                                     "brackets ([::1]:514)",
                                     target);
            }
            *colon = '\0';
            port = colon + 1;
        }
        if (*s == '\0') {
            return sl__error_set(err, SL_EPARSE, "target", target, pos,
                                 "syslog target \"%s\": no host", target);
        }
        o->host = s;
    }
    o->port = default_port;
    if (port != NULL) {
        long long v;
        int p;
        if (sl__parse_int(port, 1, 65535, &v, &p) != SL_OK) {
            return sl__error_set(
                err, SL_EPARSE, "target", target, pos + (int)(port - s) + p,
                "syslog target \"%s\": expected a port from 1 to 65535", target);
        }
        o->port = (uint16_t)v;
    }
    return SL_OK;
}

/* The parse, with `target` the text that errors show. */
static sl_status parse_target_shown(char *copy, const char *target, sl_syslog_options *o,
                                    sl_error *err)
{
    char *query = strchr(copy, '?');
    if (query != NULL) {
        *query++ = '\0';
    }
    static const struct {
        const char *prefix;
        sl_syslog_transport transport;
        uint16_t port;
    } schemes[] = {{"udp://", SL_SYSLOG_UDP, 514},
                   {"tcp://", SL_SYSLOG_TCP, 514},
                   {"tls://", SL_SYSLOG_TLS, 6514}};
    sl_status st = SL_OK;
    if (*copy == '\0') {
        o->transport = SL_SYSLOG_UNIX;
        o->path = "/dev/log";
    } else if (strncasecmp(copy, "unix:", 5) == 0) {
        o->transport = SL_SYSLOG_UNIX;
        o->path = copy[5] != '\0' ? copy + 5 : "/dev/log";
    } else {
        size_t i = 0;
        while (i < 3 && strncasecmp(copy, schemes[i].prefix, 6) != 0) {
            i++;
        }
        if (i == 3) {
            return sl__error_set(err, SL_EPARSE, "target", target, 0,
                                 "syslog target \"%s\": expected unix:PATH, udp://, "
                                 "tcp:// or tls://HOST[:PORT]",
                                 target);
        }
        o->transport = schemes[i].transport;
        st = split_host_port(copy + 6, 6, o, schemes[i].port, target, err);
    }
    if (st == SL_OK && query != NULL) {
        st = sl__opts_from_query(&syslog_table, o, query, "syslog target", err);
    }
    return st;
}

/*
 * Fills *o from target, with strings pointing into `copy` (a writable copy).
 * Errors show the target with any `user:password@` as `***@` (syslog takes
 * no credentials, but one written there by mistake is never echoed); their
 * positions then count in what is shown only when nothing was hidden.
 */
static sl_status parse_target(char *copy, const char *raw, sl_syslog_options *o,
                              sl_error *err)
{
    char target[128];
    sl__url_redact(raw, target, sizeof target);
    bool hidden = strstr(target, "://***@") != NULL;
    sl_status st = parse_target_shown(copy, target, o, err);
    if (st != SL_OK && hidden && err != NULL && err->code == st) {
        err->position = -1;
    }
    return st;
}

sl_status sl_syslog_sink_new_target(const sl_syslog_options *base, const char *target,
                                    sl_sink **out, sl_error *err)
{
    if (out == NULL) {
        return sl__error_set(err, SL_EINVAL, "out", NULL, -1, "syslog sink: out is NULL");
    }
    *out = NULL;
    sl_syslog_options o;
    sl_syslog_options_init(&o);
    /* The caller's struct, as far as its size reaches, over our defaults. */
    if (base != NULL && !sl__abi_options(&o, sizeof o, base, SL__SYSLOG_OPTIONS_V1)) {
        return sl__error_set(err, SL_EINVAL, "base", NULL, -1,
                             "syslog: options not prepared by sl_syslog_options_init");
    }
    char *copy = sl__strdup(target ? target : "");
    if (copy == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "out of memory");
    }
    sl_status st = parse_target(copy, target ? target : "", &o, err);
    if (st == SL_OK) {
        /* The sink copies what it keeps, so the copy can go afterwards. */
        st = sl_syslog_sink_new(&o, out, err);
    }
    sl__free(copy);
    return st;
}

sl_status sl_syslog_sink_from_target(const char *target, sl_sink **out, sl_error *err)
{
    return sl_syslog_sink_new_target(NULL, target, out, err);
}

/* ---- the registry entry ----------------------------------------------------- */

/* "syslog[:TARGET]": the defaults, then SPANLOG_SYSLOG_*, then the target. */
static sl_status syslog_open(const char *scheme, const char *rest, bool check_only,
                             sl_sink **out, sl_error *err)
{
    sl_syslog_options o;
    sl_syslog_options_init(&o);
    sl_status st = sl__opts_from_env(&syslog_table, &o, err);
    if (st != SL_OK) {
        return st;
    }
    const char *target = rest != NULL ? rest : "";
    char *copy = sl__strdup(target);
    if (copy == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "out of memory");
    }
    st = parse_target(copy, target, &o, err);
    if (st == SL_OK) {
        st = check_only ? sl__syslog_options_check(&o, err)
                        : sl_syslog_sink_new(&o, out, err);
        sl__opts_name_env(&syslog_table, &o, err);
    }
    sl__free(copy);
    return st;
}

static const char *const syslog_schemes[] = {"syslog", NULL};

const sl__adapter sl__adapter_syslog = {
    .name = "syslog",
    .schemes = syslog_schemes,
    .usage = "syslog[:unix:PATH|udp://|tcp://|tls://HOST[:PORT]][?key=value&...]",
    .env_prefix = "SPANLOG_SYSLOG_",
    .env_target = "SPANLOG_SYSLOG",
    .env_target_empty_ok = true,
    .opts = &syslog_table,
    .open = syslog_open,
};
