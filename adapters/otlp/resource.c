/*
 * resource.c - the Resource every request carries, and the key=value list
 * grammar of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS.
 *
 * service.name, first found: the service_name option, OTEL_SERVICE_NAME,
 * service.name in OTEL_RESOURCE_ATTRIBUTES, the logger's service, else
 * "unknown_service:<process name>" (OpenTelemetry's resource semantic
 * conventions). Then telemetry.sdk.name/language/version, host.name and
 * process.pid; OTEL_RESOURCE_ATTRIBUTES entries replace those of the same
 * key (except telemetry.sdk.*, which describe this library).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "adapters/otlp/otlp_internal.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes [p, p+n) into a new string; NULL with *bad = offset on a
 * malformed escape, NULL with *bad = -1 when memory ran out. */
static char *pct_decode(const char *p, size_t n, int *bad)
{
    char *out = sl__malloc(n + 1);
    if (out == NULL) {
        *bad = -1;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            out[k++] = p[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)p[i + 1]) : -1;
        int lo = i + 2 < n ? hexval((unsigned char)p[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            sl__free(out);
            *bad = (int)i;
            return NULL;
        }
        out[k++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[k] = '\0';
    return out;
}

sl_status sl__otlp_kv_list_parse(const char *text, const char *var, bool secret,
                                 sl__otlp_kv_fn fn, void *user, sl_error *err)
{
    const char *p = text != NULL ? text : "";
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        const char *a = p, *b = end;
        sl__trim_blanks(&a, &b);
        int pos = (int)(a - text);
        if (a < b) {
            const char *eq = memchr(a, '=', (size_t)(b - a));
            const char *ka = a, *kb = eq != NULL ? eq : b;
            sl__trim_blanks(&ka, &kb);
            if (eq == NULL || ka == kb) {
                return sl__error_set(err, SL_EPARSE, var, secret ? NULL : text, pos,
                                     "%s: entry at byte %d is not key=value", var, pos);
            }
            const char *va = eq + 1, *vb = b;
            sl__trim_blanks(&va, &vb);
            int bad = 0;
            char *key = pct_decode(ka, (size_t)(kb - ka), &bad);
            char *val = key != NULL ? pct_decode(va, (size_t)(vb - va), &bad) : NULL;
            if (val == NULL) {
                sl__free(key);
                if (bad < 0) {
                    return SL_ENOMEM;
                }
                int at = (int)((key == NULL ? ka : va) - text) + bad;
                return sl__error_set(err, SL_EPARSE, var, secret ? NULL : text, at,
                                     "%s: bad percent-encoding at byte %d", var, at);
            }
            sl_status st = fn(user, key, val);
            if (st != SL_OK) {
                return st;
            }
        }
        p = *end == ',' ? end + 1 : end;
    }
    return SL_OK;
}

/* ---- the resource -------------------------------------------------------- */

static sl_status put(sl__otlp_resource *r, const char *key, const char *val, bool replace)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->attrs[i].key, key) == 0) {
            if (!replace) {
                return SL_OK;
            }
            char *v = sl__strdup(val);
            if (v == NULL) {
                return SL_ENOMEM;
            }
            sl__free(r->attrs[i].value);
            r->attrs[i].value = v;
            return SL_OK;
        }
    }
    sl__otlp_kv *na = sl__realloc(r->attrs, (r->n + 1) * sizeof *na);
    if (na == NULL) {
        return SL_ENOMEM;
    }
    r->attrs = na;
    char *k = sl__strdup(key), *v = sl__strdup(val);
    if (k == NULL || v == NULL) {
        sl__free(k);
        sl__free(v);
        return SL_ENOMEM;
    }
    r->attrs[r->n].key = k;
    r->attrs[r->n].value = v;
    r->n++;
    return SL_OK;
}

typedef struct env_ctx {
    sl__otlp_resource *r;
} env_ctx;

/* Takes ownership of key and val. */
static sl_status put_env(void *user, char *key, char *val)
{
    env_ctx *c = user;
    sl_status st = SL_OK;
    if (strncmp(key, "telemetry.sdk.", 14) != 0 && strcmp(key, "process.pid") != 0) {
        st = put(c->r, key, val, true);
    }
    sl__free(key);
    sl__free(val);
    return st;
}

static const char *nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

sl_status sl__otlp_resource_build(sl__otlp_resource *r, const char *service_name,
                                  const char *fallback_service,
                                  const char *resource_attrs, sl_error *err)
{
    memset(r, 0, sizeof *r);
    r->pid = sl__pid();
    sl__otlp_resource tmp;
    memset(&tmp, 0, sizeof tmp);
    const char *text =
        resource_attrs != NULL ? resource_attrs : getenv("OTEL_RESOURCE_ATTRIBUTES");
    env_ctx c = {&tmp};
    sl_status st =
        sl__otlp_kv_list_parse(text, "OTEL_RESOURCE_ATTRIBUTES", false, put_env, &c, err);
    if (st == SL_ENOMEM) {
        sl__otlp_resource_free(&tmp);
        return st;
    }
    if (st != SL_OK) {
        /* The specification: on a decoding error the whole value is
         * discarded (and the error reported, in *err). */
        sl__otlp_resource_free(&tmp);
        memset(&tmp, 0, sizeof tmp);
    }
    const char *svc = nonempty(service_name);
    if (svc == NULL) {
        svc = nonempty(getenv("OTEL_SERVICE_NAME"));
    }
    if (svc == NULL) {
        svc = sl__otlp_resource_get(&tmp, "service.name");
    }
    if (svc == NULL) {
        svc = nonempty(fallback_service);
    }
    char unknown[300];
    if (svc == NULL) {
        snprintf(unknown, sizeof unknown, "unknown_service:%s",
                 program_invocation_short_name);
        svc = unknown;
    }
    st = put(r, "service.name", svc, true);
    if (st == SL_OK) {
        st = put(r, "telemetry.sdk.name", "spanlog", true);
    }
    if (st == SL_OK) {
        st = put(r, "telemetry.sdk.language", "c", true);
    }
    if (st == SL_OK) {
        st = put(r, "telemetry.sdk.version", SPANLOG_VERSION_STRING, true);
    }
    if (st == SL_OK) {
        st = put(r, "host.name", sl__hostname(), true);
    }
    for (size_t i = 0; st == SL_OK && i < tmp.n; i++) {
        if (strcmp(tmp.attrs[i].key, "service.name") != 0) {
            st = put(r, tmp.attrs[i].key, tmp.attrs[i].value, true);
        }
    }
    sl__otlp_resource_free(&tmp);
    if (st != SL_OK) {
        sl__otlp_resource_free(r);
    }
    return st;
}

void sl__otlp_resource_free(sl__otlp_resource *r)
{
    for (size_t i = 0; i < r->n; i++) {
        sl__free(r->attrs[i].key);
        sl__free(r->attrs[i].value);
    }
    sl__free(r->attrs);
    r->attrs = NULL;
    r->n = 0;
}

const char *sl__otlp_resource_get(const sl__otlp_resource *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->attrs[i].key, key) == 0) {
            return r->attrs[i].value;
        }
    }
    return NULL;
}
