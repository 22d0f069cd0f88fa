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

void sl_otlp_options_init(sl_otlp_options *o, sl_otlp_signal signal)
{
    if (o == NULL) {
        return;
    }
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->signal = signal;
    o->base_endpoint = "http://localhost:4318";
    o->protocol = SL_OTLP_HTTP_PROTOBUF;
    o->timeout_ms = 10000;
    o->tls_verify = true;
    o->schedule_delay_ms = signal == SL_OTLP_LOGS ? 1000 : 5000;
    o->export_timeout_ms = 30000;
    o->max_queue_size = 2048;
    o->max_export_batch_size = 512;
    o->queue_bytes = 16u << 20;
    o->backoff_min_ms = 1000;
    o->backoff_max_ms = 30000;
    sl__otlp_limits l;
    sl__otlp_limits_default(&l);
    o->attribute_count_limit = l.attr_count;
    o->attribute_value_length_limit = l.value_len;
    o->event_count_limit = l.event_count;
    o->link_count_limit = l.link_count;
    o->event_attribute_count_limit = l.event_attr_count;
    o->link_attribute_count_limit = l.link_attr_count;
}

/* ---- environment -------------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The signal form (OTEL_EXPORTER_OTLP_TRACES_X) or the general one; *used
 * gets the name that was read. */
static const char *otlp_env(sl_otlp_signal s, const char *x, char *used, size_t cap)
{
    snprintf(used, cap, "OTEL_EXPORTER_OTLP_%s_%s", s == SL_OTLP_LOGS ? "LOGS" : "TRACES",
             x);
    const char *v = env(used);
    if (v == NULL) {
        snprintf(used, cap, "OTEL_EXPORTER_OTLP_%s", x);
        v = env(used);
    }
    return v;
}

static sl_status parse_u64(const char *name, const char *v, uint64_t max, uint64_t *out,
                           sl_error *err)
{
    const char *a = v, *b = v + strlen(v);
    sl__trim_blanks(&a, &b);
    uint64_t x = 0;
    if (a == b) {
        return sl__error_set(err, SL_EPARSE, name, v, 0, "%s: expected a number", name);
    }
    for (const char *p = a; p < b; p++) {
        if (*p < '0' || *p > '9') {
            return sl__error_set(err, SL_EPARSE, name, v, (int)(p - v),
                                 "%s: expected a non-negative integer", name);
        }
        x = x * 10 + (uint64_t)(*p - '0');
        if (x > max) {
            return sl__error_set(err, SL_EPARSE, name, v, 0, "%s: at most %llu", name,
                                 (unsigned long long)max);
        }
    }
    *out = x;
    return SL_OK;
}

static sl_status env_int(const char *name, int *out, sl_error *err)
{
    const char *v = env(name);
    uint64_t x;
    if (v == NULL) {
        return SL_OK;
    }
    sl_status st = parse_u64(name, v, INT32_MAX, &x, err);
    if (st == SL_OK) {
        *out = (int)x;
    }
    return st;
}

static sl_status env_size(const char *name, size_t *out, sl_error *err)
{
    const char *v = env(name);
    uint64_t x;
    if (v == NULL) {
        return SL_OK;
    }
    sl_status st = parse_u64(name, v, 1u << 30, &x, err);
    if (st == SL_OK) {
        *out = (size_t)x;
    }
    return st;
}

/* The first of the names that is set. */
static sl_status env_u32(const char *name, const char *fallback, uint32_t *out,
                         sl_error *err)
{
    const char *v = env(name);
    if (v == NULL && fallback != NULL) {
        name = fallback;
        v = env(name);
    }
    uint64_t x;
    if (v == NULL) {
        return SL_OK;
    }
    sl_status st = parse_u64(name, v, UINT32_MAX, &x, err);
    if (st == SL_OK) {
        *out = (uint32_t)x;
    }
    return st;
}

sl_status sl__otlp_parse_protocol(const char *name, const char *v, sl_otlp_protocol *out,
                                  sl_error *err)
{
    const char *a = v, *b = v + strlen(v);
    sl__trim_blanks(&a, &b);
    size_t n = (size_t)(b - a);
    if (n == 13 && strncasecmp(a, "http/protobuf", n) == 0) {
        *out = SL_OTLP_HTTP_PROTOBUF;
    } else if (n == 9 && strncasecmp(a, "http/json", n) == 0) {
        *out = SL_OTLP_HTTP_JSON;
    } else if (n == 4 && strncasecmp(a, "grpc", n) == 0) {
        return sl__error_set(err, SL_ENOTSUP, name, v, 0,
                             "%s=grpc is not supported by spanlog: use http/protobuf "
                             "(the default, port 4318) or http/json",
                             name);
    } else {
        return sl__error_set(err, SL_EPARSE, name, v, 0,
                             "%s: expected http/protobuf or http/json", name);
    }
    return SL_OK;
}

static sl_status parse_compression(const char *name, const char *v, bool *gzip,
                                   sl_error *err)
{
    const char *a = v, *b = v + strlen(v);
    sl__trim_blanks(&a, &b);
    size_t n = (size_t)(b - a);
    if (n == 4 && strncasecmp(a, "gzip", n) == 0) {
        *gzip = true;
    } else if (n == 4 && strncasecmp(a, "none", n) == 0) {
        *gzip = false;
    } else {
        return sl__error_set(err, SL_ENOTSUP, name, v, 0,
                             "%s: supported compressions are gzip and none", name);
    }
    return SL_OK;
}

sl_status sl_otlp_options_from_env(sl_otlp_options *o, sl_error *err)
{
    if (o == NULL) {
        return SL_EINVAL;
    }
    sl_otlp_signal s = o->signal;
    char name[64];
    const char *v;
    sl_status st = SL_OK;
    snprintf(name, sizeof name, "OTEL_EXPORTER_OTLP_%s_ENDPOINT",
             s == SL_OTLP_LOGS ? "LOGS" : "TRACES");
    if ((v = env(name)) != NULL) {
        o->endpoint = v;
    } else if ((v = env("OTEL_EXPORTER_OTLP_ENDPOINT")) != NULL) {
        o->base_endpoint = v;
        o->endpoint = NULL;
    }
    if ((v = otlp_env(s, "HEADERS", name, sizeof name)) != NULL) {
        o->headers = v;
    }
    if ((v = otlp_env(s, "TIMEOUT", name, sizeof name)) != NULL) {
        uint64_t x;
        if ((st = parse_u64(name, v, INT32_MAX, &x, err)) != SL_OK) {
            return st;
        }
        o->timeout_ms = (int)x;
    }
    if ((v = otlp_env(s, "PROTOCOL", name, sizeof name)) != NULL &&
        (st = sl__otlp_parse_protocol(name, v, &o->protocol, err)) != SL_OK) {
        return st;
    }
    if ((v = otlp_env(s, "COMPRESSION", name, sizeof name)) != NULL &&
        (st = parse_compression(name, v, &o->gzip, err)) != SL_OK) {
        return st;
    }
    if ((v = otlp_env(s, "CERTIFICATE", name, sizeof name)) != NULL) {
        o->certificate = v;
    }
    if ((v = otlp_env(s, "CLIENT_CERTIFICATE", name, sizeof name)) != NULL) {
        o->client_certificate = v;
    }
    if ((v = otlp_env(s, "CLIENT_KEY", name, sizeof name)) != NULL) {
        o->client_key = v;
    }
    const char *p = s == SL_OTLP_LOGS ? "OTEL_BLRP_" : "OTEL_BSP_";
    char n2[64];
#define BATCH(suffix, fn, field)                                                         \
    snprintf(n2, sizeof n2, "%s" suffix, p);                                             \
    if ((st = fn(n2, &o->field, err)) != SL_OK) {                                        \
        return st;                                                                       \
    }
    BATCH("SCHEDULE_DELAY", env_int, schedule_delay_ms)
    BATCH("EXPORT_TIMEOUT", env_int, export_timeout_ms)
    BATCH("MAX_QUEUE_SIZE", env_size, max_queue_size)
    BATCH("MAX_EXPORT_BATCH_SIZE", env_size, max_export_batch_size)
#undef BATCH
    if (s == SL_OTLP_TRACES) {
        if ((st = env_u32("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
                          &o->attribute_count_limit, err)) != SL_OK ||
            (st = env_u32("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                          "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                          &o->attribute_value_length_limit, err)) != SL_OK ||
            (st = env_u32("OTEL_SPAN_EVENT_COUNT_LIMIT", NULL, &o->event_count_limit,
                          err)) != SL_OK ||
            (st = env_u32("OTEL_SPAN_LINK_COUNT_LIMIT", NULL, &o->link_count_limit,
                          err)) != SL_OK ||
            (st = env_u32("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", NULL,
                          &o->event_attribute_count_limit, err)) != SL_OK ||
            (st = env_u32("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", NULL,
                          &o->link_attribute_count_limit, err)) != SL_OK) {
            return st;
        }
    } else if ((st = env_u32("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT",
                             "OTEL_ATTRIBUTE_COUNT_LIMIT", &o->attribute_count_limit,
                             err)) != SL_OK ||
               (st = env_u32("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                             "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                             &o->attribute_value_length_limit, err)) != SL_OK) {
        return st;
    }
    return SL_OK;
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
