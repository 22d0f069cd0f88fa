/*
 * config.c - OTLP options: defaults, the OTEL_* variables, checks, and the
 * copy an exporter keeps.
 *
 * The endpoint is checked by the strict shared checker (src/url.c): http or
 * https, a host, a valid port, no controls, blanks, fragment or bad escape.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "adapters/otlp/otlp_exporter.h"
#include "config.h"

/* ---- the OTEL_* variables, one table per signal ------------------------------
 *
 * Each signal reads the general variable (OTEL_EXPORTER_OTLP_TIMEOUT) and
 * then its own (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT): two rows for one field,
 * the general first, so that the specific one wins when both are set. The
 * numbers follow the one grammar of config.h (digits only, no blanks). */

/* OTEL_EXPORTER_OTLP_ENDPOINT: a base, /v1/<signal> appended; it replaces
 * an endpoint set before (the specific variable, read after, wins). */
static sl_status parse_base(const char *text, void *field, void *base, int *pos)
{
    sl_otlp_options *o = base;
    o->base_endpoint = text;
    o->endpoint = NULL;
    return SL_OK;
}

static sl_status parse_protocol(const char *text, void *field, void *base, int *pos)
{
    if (strcasecmp(text, "http/protobuf") == 0) {
        *(sl_otlp_protocol *)field = SL_OTLP_HTTP_PROTOBUF;
    } else if (strcasecmp(text, "http/json") == 0) {
        *(sl_otlp_protocol *)field = SL_OTLP_HTTP_JSON;
    } else {
        *pos = 0;
        return strcasecmp(text, "grpc") == 0 ? SL_ENOTSUP : SL_EPARSE;
    }
    return SL_OK;
}

static sl_status parse_compression(const char *text, void *field, void *base, int *pos)
{
    if (strcasecmp(text, "gzip") == 0 || strcasecmp(text, "none") == 0) {
        *(bool *)field = (text[0] | 0x20) == 'g';
        return SL_OK;
    }
    *pos = 0;
    return SL_ENOTSUP;
}

static sl_status parse_u32(const char *text, void *field, void *base, int *pos)
{
    long long v;
    sl_status st = sl__parse_int(text, 0, UINT32_MAX, &v, pos);
    if (st == SL_OK) {
        *(uint32_t *)field = (uint32_t)v;
    }
    return st;
}

#define O       sl_otlp_options
#define X       "OTEL_EXPORTER_OTLP_"
#define U32     "0 to 4294967295"
#define PROTO   "http/protobuf or http/json (grpc is not supported: use port 4318)"
#define MAXSIZE (1 << 30)
/* The rows both signals share, for SIG = "TRACES_" or "LOGS_". */
#define EXPORT_ROWS(SIG, SIGNAL)                                                         \
    SL__O_CUSTOM(O, base_endpoint, "http://localhost:4318", parse_base,                  \
                 "an http(s) URL", X "ENDPOINT", NULL,                                   \
                 "base URL of every signal; /v1/traces, /v1/logs appended"),             \
        SL__O_STR(O, endpoint, NULL, X SIG "ENDPOINT", NULL,                             \
                  "the " SIGNAL " URL, used as given"),                                  \
        SL__O_SECRET(O, headers, X "HEADERS", NULL,                                      \
                     "request headers, `k=v,k=v` (percent-encoded); never echoed"),      \
        SL__O_SECRET(O, headers, X SIG "HEADERS", NULL, "the " SIGNAL " headers"),       \
        SL__O_INT(O, timeout_ms, "10000", 0, INT32_MAX, X "TIMEOUT", NULL,               \
                  "one export request, in ms"),                                          \
        SL__O_INT(O, timeout_ms, NULL, 0, INT32_MAX, X SIG "TIMEOUT", NULL,              \
                  "the " SIGNAL " request timeout"),                                     \
        SL__O_CUSTOM(O, protocol, "http/protobuf", parse_protocol, PROTO, X "PROTOCOL",  \
                     NULL, "request encoding"),                                          \
        SL__O_CUSTOM(O, protocol, NULL, parse_protocol, PROTO, X SIG "PROTOCOL", NULL,   \
                     "the " SIGNAL " encoding"),                                         \
        SL__O_CUSTOM(O, gzip, "none", parse_compression, "gzip or none",                 \
                     X "COMPRESSION", NULL, "request body compression"),                 \
        SL__O_CUSTOM(O, gzip, NULL, parse_compression, "gzip or none",                   \
                     X SIG "COMPRESSION", NULL, "the " SIGNAL " compression"),           \
        SL__O_STR(O, certificate, NULL, X "CERTIFICATE", NULL,                           \
                  "PEM CA bundle to verify the server; unset: the system's"),            \
        SL__O_STR(O, certificate, NULL, X SIG "CERTIFICATE", NULL,                       \
                  "the " SIGNAL " CA bundle"),                                           \
        SL__O_STR(O, client_certificate, NULL, X "CLIENT_CERTIFICATE", NULL,             \
                  "PEM client certificate (mTLS)"),                                      \
        SL__O_STR(O, client_certificate, NULL, X SIG "CLIENT_CERTIFICATE", NULL,         \
                  "the " SIGNAL " client certificate"),                                  \
        SL__O_STR(O, client_key, NULL, X "CLIENT_KEY", NULL, "its PEM private key"),     \
        SL__O_STR(O, client_key, NULL, X SIG "CLIENT_KEY", NULL,                         \
                  "the " SIGNAL " client key")

/* The batch processor's variables, for P = "OTEL_BSP_" or "OTEL_BLRP_". */
#define BATCH_ROWS(P, DELAY, WHAT)                                                       \
    SL__O_INT(O, schedule_delay_ms, DELAY, 0, INT32_MAX, P "SCHEDULE_DELAY", NULL,       \
              "a batch of " WHAT " waits at most this, in ms"),                          \
        SL__O_INT(O, export_timeout_ms, "30000", 0, INT32_MAX, P "EXPORT_TIMEOUT", NULL, \
                  "a batch retried this long (ms) is dropped"),                          \
        SL__O_SIZE(O, max_queue_size, "2048", 0, MAXSIZE, P "MAX_QUEUE_SIZE", NULL,      \
                   WHAT " waiting to be exported"),                                      \
        SL__O_SIZE(O, max_export_batch_size, "512", 0, MAXSIZE,                          \
                   P "MAX_EXPORT_BATCH_SIZE", NULL,                                      \
                   WHAT " per request (at most max_queue_size)")
/* The attribute limits: the general variable, then the signal's own
 * (P = "OTEL_SPAN_" or "OTEL_LOGRECORD_"). */
#define LIMIT_ROWS(P, WHAT)                                                              \
    SL__O_CUSTOM(O, attribute_count_limit, "128", parse_u32, U32,                        \
                 "OTEL_ATTRIBUTE_COUNT_LIMIT", NULL, "attributes per span or record"),   \
        SL__O_CUSTOM(O, attribute_count_limit, NULL, parse_u32, U32,                     \
                     P "ATTRIBUTE_COUNT_LIMIT", NULL, "attributes per " WHAT),           \
        SL__O_CUSTOM(O, attribute_value_length_limit, "0", parse_u32, U32,               \
                     "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", NULL,                          \
                     "bytes of an attribute value; 0: unlimited"),                       \
        SL__O_CUSTOM(O, attribute_value_length_limit, NULL, parse_u32, U32,              \
                     P "ATTRIBUTE_VALUE_LENGTH_LIMIT", NULL,                             \
                     "bytes of a " WHAT " attribute value")

static const sl__opt traces_opts[] = {
    EXPORT_ROWS("TRACES_", "traces"),
    BATCH_ROWS("OTEL_BSP_", "5000", "spans"),
    LIMIT_ROWS("OTEL_SPAN_", "span"),
    SL__O_CUSTOM(O, event_count_limit, "128", parse_u32, U32,
                 "OTEL_SPAN_EVENT_COUNT_LIMIT", NULL, "events per span"),
    SL__O_CUSTOM(O, link_count_limit, "128", parse_u32, U32, "OTEL_SPAN_LINK_COUNT_LIMIT",
                 NULL, "links per span"),
    SL__O_CUSTOM(O, event_attribute_count_limit, "128", parse_u32, U32,
                 "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", NULL, "attributes per event"),
    SL__O_CUSTOM(O, link_attribute_count_limit, "128", parse_u32, U32,
                 "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", NULL, "attributes per link"),
};

static const sl__opt logs_opts[] = {
    EXPORT_ROWS("LOGS_", "logs"),
    BATCH_ROWS("OTEL_BLRP_", "1000", "records"),
    LIMIT_ROWS("OTEL_LOGRECORD_", "record"),
};
#undef O
#undef X
#undef U32
#undef PROTO
#undef MAXSIZE
#undef EXPORT_ROWS
#undef BATCH_ROWS
#undef LIMIT_ROWS

const sl__opt_table sl__otlp_traces_options = {
    "OTLP span export (sl_otlp_options, traces)", traces_opts, SL__NOPTS(traces_opts)};
const sl__opt_table sl__otlp_logs_options = {"OTLP log export (sl_otlp_options, logs)",
                                             logs_opts, SL__NOPTS(logs_opts)};

static const sl__opt_table *signal_table(sl_otlp_signal s)
{
    return s == SL_OTLP_LOGS ? &sl__otlp_logs_options : &sl__otlp_traces_options;
}

void sl_otlp_options_init(sl_otlp_options *o, sl_otlp_signal signal)
{
    if (o == NULL) {
        return;
    }
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->signal = signal;
    /* What a variable sets: the table's defaults. */
    sl__opts_defaults(signal_table(signal), o);
    /* What none does. */
    o->tls_verify = true;
    o->queue_bytes = 16u << 20;
    o->backoff_min_ms = 1000;
    o->backoff_max_ms = 30000;
    if (signal == SL_OTLP_LOGS) {
        /* Span limits are no variables of logs; the defaults all the same. */
        sl__otlp_limits l;
        sl__otlp_limits_default(&l);
        o->event_count_limit = l.event_count;
        o->link_count_limit = l.link_count;
        o->event_attribute_count_limit = l.event_attr_count;
        o->link_attribute_count_limit = l.link_attr_count;
    }
}

sl_status sl_otlp_options_from_env(sl_otlp_options *o, sl_error *err)
{
    if (o == NULL) {
        return sl__error_set(err, SL_EINVAL, "o", NULL, -1, "otlp: options are NULL");
    }
    return sl__opts_from_env(signal_table(o->signal), o, err);
}

/* ---- checks and the copy ------------------------------------------------------------
 */

typedef struct hdr_ctx {
    sl__otlp_config *c;
} hdr_ctx;

static sl_status add_header(void *user, char *key, char *val)
{
    sl__otlp_config *c = ((hdr_ctx *)user)->c;
    size_t n = strlen(key) + strlen(val) + 3;
    char *line = sl__malloc(n);
    char **nh = line ? sl__realloc(c->headers, (c->nheaders + 1) * sizeof(char *)) : NULL;
    bool ok = nh != NULL && strpbrk(key, ":\r\n") == NULL && strpbrk(val, "\r\n") == NULL;
    if (ok) {
        snprintf(line, n, "%s: %s", key, val);
        c->headers = nh;
        c->headers[c->nheaders++] = line;
    } else {
        sl__free(line);
        if (nh != NULL) {
            c->headers = nh;
        }
    }
    sl__free(key);
    sl__free(val);
    return ok ? SL_OK : nh == NULL ? SL_ENOMEM : SL_EPARSE;
}

static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL) {
        return true;
    }
    *out = sl__strdup(s);
    return *out != NULL;
}

sl_status sl__otlp_config_init(sl__otlp_config *c, const sl_otlp_options *o,
                               sl_error *err)
{
    memset(c, 0, sizeof *c);
    c->signal = o->signal == SL_OTLP_LOGS ? SL__OTLP_LOGS : SL__OTLP_TRACES;
    if (o->protocol != SL_OTLP_HTTP_PROTOBUF && o->protocol != SL_OTLP_HTTP_JSON) {
        return sl__error_set(err, SL_EINVAL, "protocol", NULL, -1,
                             "otlp: unknown protocol");
    }
    if (o->timeout_ms <= 0 || o->max_queue_size == 0 || o->max_export_batch_size == 0) {
        return sl__error_set(err, SL_EINVAL, NULL, NULL, -1,
                             "otlp: timeout, max_queue_size and max_export_batch_size "
                             "must be positive");
    }
    c->json = o->protocol == SL_OTLP_HTTP_JSON || o->console; /* console: OTLP JSON */
    c->gzip = o->gzip;
    c->console = o->console;
    c->tls_verify = o->tls_verify;
    c->timeout_ms = o->timeout_ms;
    c->max_queue = o->max_queue_size;
    c->batch = o->max_export_batch_size < o->max_queue_size ? o->max_export_batch_size
                                                            : o->max_queue_size;
    c->schedule_delay_ms = o->schedule_delay_ms;
    c->export_timeout_ms = o->export_timeout_ms;
    c->queue_bytes = o->queue_bytes;
    c->backoff_min_ms = o->backoff_min_ms;
    c->backoff_max_ms = o->backoff_max_ms;
    c->lim.attr_count = o->attribute_count_limit;
    c->lim.value_len = o->attribute_value_length_limit;
    c->lim.event_count = o->event_count_limit;
    c->lim.link_count = o->link_count_limit;
    c->lim.event_attr_count = o->event_attribute_count_limit;
    c->lim.link_attr_count = o->link_attribute_count_limit;
    sl_status st = SL_OK;
    if (!c->console) {
        const char *path = c->signal == SL__OTLP_LOGS ? "/v1/logs" : "/v1/traces";
        if (o->endpoint != NULL) {
            c->url = sl__strdup(o->endpoint);
        } else {
            const char *base =
                o->base_endpoint ? o->base_endpoint : "http://localhost:4318";
            size_t n = strlen(base);
            while (n > 0 && base[n - 1] == '/') {
                n--;
            }
            c->url = sl__malloc(n + strlen(path) + 1);
            if (c->url != NULL) {
                memcpy(c->url, base, n);
                strcpy(c->url + n, path);
            }
        }
        if (c->url == NULL) {
            return SL_ENOMEM;
        }
        if ((st = sl__url_check(c->url, "otlp endpoint", NULL, err)) != SL_OK) {
            sl__otlp_config_free(c);
            return st;
        }
    }
    hdr_ctx hc = {c};
    if (o->headers != NULL &&
        (st = sl__otlp_kv_list_parse(o->headers, "OTEL_EXPORTER_OTLP_HEADERS", true,
                                     add_header, &hc, err)) != SL_OK) {
        if (st == SL_EPARSE && err != NULL && err->code == SL_OK) {
            sl__error_set(err, st, "OTEL_EXPORTER_OTLP_HEADERS", NULL, -1,
                          "OTEL_EXPORTER_OTLP_HEADERS: a header name or value holds ':' "
                          "or a line break");
        }
        sl__otlp_config_free(c);
        return st;
    }
    if (!dup_opt(o->certificate, &c->ca) || !dup_opt(o->client_certificate, &c->cert) ||
        !dup_opt(o->client_key, &c->key)) {
        sl__otlp_config_free(c);
        return SL_ENOMEM;
    }
    if (o->nbaggage_keys > 0) {
        c->bkeys = sl__calloc(o->nbaggage_keys, sizeof(char *));
        if (c->bkeys == NULL) {
            sl__otlp_config_free(c);
            return SL_ENOMEM;
        }
        for (size_t i = 0; i < o->nbaggage_keys; i++) {
            if (o->baggage_keys[i] == NULL ||
                !dup_opt(o->baggage_keys[i], &c->bkeys[i])) {
                c->nbkeys = i;
                sl__otlp_config_free(c);
                return SL_ENOMEM;
            }
        }
        c->nbkeys = o->nbaggage_keys;
    }
    return SL_OK;
}

void sl__otlp_config_free(sl__otlp_config *c)
{
    sl__free(c->url);
    for (size_t i = 0; i < c->nheaders; i++) {
        sl__free(c->headers[i]);
    }
    sl__free(c->headers);
    sl__free(c->ca);
    sl__free(c->cert);
    sl__free(c->key);
    for (size_t i = 0; i < c->nbkeys; i++) {
        sl__free(c->bkeys[i]);
    }
    sl__free(c->bkeys);
    memset(c, 0, sizeof *c);
}
