/*
 * target.c - syslog options: defaults, facility names, and the textual
 * targets "unix:/path", "udp://host:port", "tcp://host:port?k=v&...".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/syslog/syslog_format.h"

static void syslog_defaults(sl_syslog_options *o)
{
    memset(o, 0, sizeof *o);
    o->transport = SL_SYSLOG_UNIX;
    o->path = "/dev/log";
    o->host = "127.0.0.1";
    o->port = 0; /* the transport's: 514, or 6514 for tls */
    o->format = SL_SYSLOG_FORMAT_AUTO;
    o->framing = SL_SYSLOG_FRAMING_OCTET_COUNTING;
    o->msg = SL_SYSLOG_MSG_JSON;
    o->facility = SL_SYSLOG_FACILITY_USER;
    o->include_pid = true;
    o->trace_sd_id = "opentelemetry";
    o->trace_flags = true;
    o->fields_sd_id = "fields@32473";
    o->connect_timeout_ms = 2000;
    o->reconnect_min_ms = 100;
    o->reconnect_max_ms = 10000;
    o->queue_bytes = 4u << 20;
    o->tls_verify = true;
}

void sl_syslog_options_init_size(sl_syslog_options *opts, size_t size)
{
    sl_syslog_options d;
    syslog_defaults(&d);
    sl__abi_init(opts, size, &d, sizeof d);
}

static const char *const facility_names[24] = {
    "kern",   "user",     "mail",    "daemon",       "auth",     "syslog",
    "lpr",    "news",     "uucp",    "cron",         "authpriv", "ftp",
    "ntp",    "security", "console", "solaris-cron", "local0",   "local1",
    "local2", "local3",   "local4",  "local5",       "local6",   "local7"};

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

sl_status sl_syslog_facility_parse(const char *name, int *out)
{
    if (name == NULL || out == NULL) {
        return SL_EINVAL;
    }
    unsigned long v;
    if (parse_uint(name, 23, &v)) {
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

/* One "key=value" of the query; `o`'s strings point into the caller's copy. */
static sl_status apply_param(sl_syslog_options *o, char *kv)
{
    char *val = strchr(kv, '=');
    if (val == NULL) {
        return SL_EPARSE;
    }
    *val++ = '\0';
    unsigned long n;
    if (strcmp(kv, "format") == 0) {
        if (strcasecmp(val, "rfc5424") == 0) {
            o->format = SL_SYSLOG_FORMAT_RFC5424;
        } else if (strcasecmp(val, "rfc3164") == 0) {
            o->format = SL_SYSLOG_FORMAT_RFC3164;
        } else if (strcasecmp(val, "local") == 0) {
            o->format = SL_SYSLOG_FORMAT_LOCAL;
        } else {
            return SL_EPARSE;
        }
    } else if (strcmp(kv, "facility") == 0) {
        return sl_syslog_facility_parse(val, &o->facility);
    } else if (strcmp(kv, "framing") == 0) {
        if (strcasecmp(val, "octet") == 0) {
            o->framing = SL_SYSLOG_FRAMING_OCTET_COUNTING;
        } else if (strcasecmp(val, "lf") == 0) {
            o->framing = SL_SYSLOG_FRAMING_LF;
        } else {
            return SL_EPARSE;
        }
    } else if (strcmp(kv, "msg") == 0) {
        if (strcasecmp(val, "json") == 0) {
            o->msg = SL_SYSLOG_MSG_JSON;
        } else if (strcasecmp(val, "text") == 0) {
            o->msg = SL_SYSLOG_MSG_TEXT;
        } else {
            return SL_EPARSE;
        }
    } else if (strcmp(kv, "app") == 0) {
        o->app_name = val;
    } else if (strcmp(kv, "msgid") == 0) {
        o->msgid = val;
    } else if (strcmp(kv, "hostname") == 0) {
        o->hostname = val;
    } else if (strcmp(kv, "max") == 0 && parse_uint(val, 1ul << 30, &n)) {
        o->max_message_size = n;
    } else if (strcmp(kv, "timeout_ms") == 0 && parse_uint(val, 3600000, &n)) {
        o->timeout_ms = (int)n;
    } else if (strcmp(kv, "fields") == 0 && parse_uint(val, 1, &n)) {
        o->fields_sd = n == 1;
    } else if (strcmp(kv, "verify") == 0 && parse_uint(val, 1, &n)) {
        o->tls_verify = n == 1;
    } else if (strcmp(kv, "ca") == 0) {
        o->tls_ca_file = val;
    } else if (strcmp(kv, "servername") == 0) {
        o->tls_server_name = val;
    } else if (strcmp(kv, "cert") == 0) {
        o->tls_cert_file = val;
    } else if (strcmp(kv, "key") == 0) {
        o->tls_key_file = val;
    } else {
        return SL_EPARSE;
    }
    return SL_OK;
}

/* "host:port", "[v6]:port", "host", "[v6]" in place. */
static sl_status split_host_port(char *s, sl_syslog_options *o, uint16_t default_port)
{
    char *port = NULL;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (close == NULL || close == s + 1) {
            return SL_EPARSE;
        }
        *close = '\0';
        o->host = s + 1;
        if (close[1] == ':') {
            port = close + 2;
        } else if (close[1] != '\0') {
            return SL_EPARSE;
        }
    } else {
        char *colon = strchr(s, ':');
        if (colon != NULL) {
            if (strchr(colon + 1, ':') != NULL) {
                return SL_EPARSE; /* a bare IPv6 address needs brackets */
            }
            *colon = '\0';
            port = colon + 1;
        }
        if (*s == '\0') {
            return SL_EPARSE;
        }
        o->host = s;
    }
    o->port = default_port;
    if (port != NULL) {
        unsigned long v;
        if (!parse_uint(port, 65535, &v) || v == 0) {
            return SL_EPARSE;
        }
        o->port = (uint16_t)v;
    }
    return SL_OK;
}

/* Fills *o from target, with strings pointing into `copy` (a writable copy). */
static sl_status parse_target(char *copy, sl_syslog_options *o)
{
    char *query = strchr(copy, '?');
    if (query != NULL) {
        *query++ = '\0';
    }
    sl_status st = SL_OK;
    if (*copy == '\0') {
        o->transport = SL_SYSLOG_UNIX;
        o->path = "/dev/log";
    } else if (strncmp(copy, "unix:", 5) == 0) {
        o->transport = SL_SYSLOG_UNIX;
        o->path = copy + 5;
        if (*o->path == '\0') {
            o->path = "/dev/log";
        }
    } else if (strncmp(copy, "udp://", 6) == 0) {
        o->transport = SL_SYSLOG_UDP;
        st = split_host_port(copy + 6, o, 514);
    } else if (strncmp(copy, "tcp://", 6) == 0) {
        o->transport = SL_SYSLOG_TCP;
        st = split_host_port(copy + 6, o, 514);
    } else if (strncmp(copy, "tls://", 6) == 0) {
        o->transport = SL_SYSLOG_TLS;
        st = split_host_port(copy + 6, o, 6514);
    } else {
        return SL_EPARSE;
    }
    while (st == SL_OK && query != NULL && *query != '\0') {
        char *next = strchr(query, '&');
        if (next != NULL) {
            *next++ = '\0';
        }
        st = apply_param(o, query);
        query = next;
    }
    return st;
}

sl_status sl_syslog_sink_new_target(const sl_syslog_options *base, const char *target,
                                    sl_sink **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    sl_syslog_options o;
    if (base != NULL) {
        o = *base;
    } else {
        sl_syslog_options_init(&o);
    }
    char *copy = sl__strdup(target ? target : "");
    if (copy == NULL) {
        return SL_ENOMEM;
    }
    sl_status st = parse_target(copy, &o);
    if (st == SL_OK) {
        /* The sink copies what it keeps, so the copy can go afterwards. */
        st = sl_syslog_sink_new(&o, out);
    }
    sl__free(copy);
    return st;
}

sl_status sl_syslog_sink_from_target(const char *target, sl_sink **out)
{
    return sl_syslog_sink_new_target(NULL, target, out);
}
