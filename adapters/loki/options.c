/*
 * options.c - Loki sink options: defaults, the environment, and validation
 * into an owned configuration (labels: labels.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/loki/loki_internal.h"

#define PUSH_PATH "/loki/api/v1/push"

static void loki_defaults(sl_loki_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->tls_verify = true;
    opts->structured_metadata = true;
    opts->queue_bytes = 64u << 20;
    opts->overflow = SL_LOKI_DROP_NEWEST;
    opts->block_timeout_ms = 100;
    opts->batch_bytes = 1u << 20;
    opts->batch_age_ms = 1000;
    opts->line_limit = 256u << 10;
    opts->truncate_long_lines = true;
    opts->gzip = true;
    opts->encoding = SL_LOKI_ENCODING_PROTOBUF;
    opts->backoff_min_ms = 500;
    opts->backoff_max_ms = 300000;
    opts->jitter = SL_LOKI_JITTER_FULL;
    opts->max_batch_age_ms = 900000;
    opts->request_timeout_ms = 10000;
    opts->connect_timeout_ms = 5000;
}

void sl_loki_options_init_size(sl_loki_options *opts, size_t size)
{
    sl_loki_options d;
    loki_defaults(&d);
    sl__abi_init(opts, size, &d, sizeof(d));
}

void sl__loki_set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* ---- environment ------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

static sl_status env_bool(const char *name, bool *out, char *errbuf, size_t errlen)
{
    const char *v = env(name);
    if (v == NULL) {
        return SL_OK;
    }
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) {
        *out = true;
    } else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") ||
               !strcmp(v, "off")) {
        *out = false;
    } else {
        sl__loki_set_err(errbuf, errlen, "%s: expected 0/1/true/false, got \"%s\"", name,
                         v);
        return SL_EPARSE;
    }
    return SL_OK;
}

static sl_status env_num(const char *name, long long lo, long long hi, long long *out,
                         char *errbuf, size_t errlen)
{
    const char *v = env(name);
    if (v == NULL) {
        return SL_ENOENT;
    }
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
        sl__loki_set_err(errbuf, errlen,
                         "%s: expected an integer in [%lld, %lld], got \"%s\"", name, lo,
                         hi, v);
        return SL_EPARSE;
    }
    *out = x;
    return SL_OK;
}

sl_status sl_loki_options_from_env(sl_loki_options *opts, char *errbuf, size_t errlen)
{
    if (opts == NULL) {
        return SL_EINVAL;
    }
    const char *v;
    if ((v = env("SPANLOG_LOKI_URL")) != NULL) {
        opts->url = v;
    }
    if ((v = env("SPANLOG_LOKI_TENANT")) != NULL) {
        opts->tenant = v;
    }
    if ((v = env("SPANLOG_LOKI_LABELS")) != NULL) {
        opts->labels_text = v;
    }
    if ((v = env("SPANLOG_LOKI_USER")) != NULL) {
        opts->username = v;
    }
    if ((v = env("SPANLOG_LOKI_PASSWORD")) != NULL) {
        opts->password = v;
    }
    if ((v = env("SPANLOG_LOKI_TOKEN")) != NULL) {
        opts->bearer_token = v;
    }
    if ((v = env("SPANLOG_LOKI_CA_FILE")) != NULL) {
        opts->ca_file = v;
    }
    if ((v = env("SPANLOG_LOKI_OVERFLOW")) != NULL) {
        if (!strcmp(v, "drop_newest")) {
            opts->overflow = SL_LOKI_DROP_NEWEST;
        } else if (!strcmp(v, "drop_oldest")) {
            opts->overflow = SL_LOKI_DROP_OLDEST;
        } else if (!strcmp(v, "block")) {
            opts->overflow = SL_LOKI_BLOCK;
        } else {
            sl__loki_set_err(
                errbuf, errlen,
                "SPANLOG_LOKI_OVERFLOW: expected drop_newest, drop_oldest or block, "
                "got \"%s\"",
                v);
            return SL_EPARSE;
        }
    }
    if ((v = env("SPANLOG_LOKI_ENCODING")) != NULL) {
        if (!strcmp(v, "json")) {
            opts->encoding = SL_LOKI_ENCODING_JSON;
        } else if (!strcmp(v, "protobuf")) {
            opts->encoding = SL_LOKI_ENCODING_PROTOBUF;
        } else {
            sl__loki_set_err(
                errbuf, errlen,
                "SPANLOG_LOKI_ENCODING: expected json or protobuf, got \"%s\"", v);
            return SL_EPARSE;
        }
    }
    sl_status st;
    if ((st = env_bool("SPANLOG_LOKI_TLS_VERIFY", &opts->tls_verify, errbuf, errlen)) ||
        (st = env_bool("SPANLOG_LOKI_LEVEL_LABEL", &opts->level_label, errbuf, errlen)) ||
        (st = env_bool("SPANLOG_LOKI_METADATA", &opts->structured_metadata, errbuf,
                       errlen)) ||
        (st = env_bool("SPANLOG_LOKI_GZIP", &opts->gzip, errbuf, errlen))) {
        return st;
    }
    long long x;
    if ((st = env_num("SPANLOG_LOKI_QUEUE_BYTES", SL__LOKI_MIN_QUEUE, 1ll << 40, &x,
                      errbuf, errlen)) == SL_OK) {
        opts->queue_bytes = (size_t)x;
    } else if (st != SL_ENOENT) {
        return st;
    }
    if ((st = env_num("SPANLOG_LOKI_BATCH_BYTES", 1, SL__LOKI_MAX_BATCH, &x, errbuf,
                      errlen)) == SL_OK) {
        opts->batch_bytes = (size_t)x;
    } else if (st != SL_ENOENT) {
        return st;
    }
    if ((st = env_num("SPANLOG_LOKI_BATCH_MS", 1, 3600000, &x, errbuf, errlen)) ==
        SL_OK) {
        opts->batch_age_ms = (int)x;
    } else if (st != SL_ENOENT) {
        return st;
    }
    if ((st = env_num("SPANLOG_LOKI_TIMEOUT_MS", 1, 3600000, &x, errbuf, errlen)) ==
        SL_OK) {
        opts->request_timeout_ms = (int)x;
    } else if (st != SL_ENOENT) {
        return st;
    }
    return SL_OK;
}

/* ---- the owned configuration --------------------------------------------- */

static sl_status dup_opt(const char *in, char **out)
{
    *out = NULL;
    if (in == NULL || in[0] == '\0') {
        return SL_OK;
    }
    *out = sl__strdup(in);
    return *out != NULL ? SL_OK : SL_ENOMEM;
}

/*
 * The push URL from a checked base or push URL: the scheme lowercased, the
 * push path appended unless the path already ends with it, before the
 * query if there is one ("http://gw/loki?t=1" -> "http://gw/loki/loki/api/v1/push?t=1").
 */
static char *make_push_url(const char *url, const sl__url *u)
{
    size_t n = strlen(url);
    size_t plen = strlen(PUSH_PATH);
    const char *q = memchr(u->path, '?', u->path_len);
    size_t base = q != NULL ? (size_t)(q - url) : n;
    size_t tail = n - base;
    bool has_path = base >= plen && !memcmp(url + base - plen, PUSH_PATH, plen);
    size_t keep = base;
    while (!has_path && keep > (size_t)(u->path - url) && url[keep - 1] == '/') {
        keep--;
    }
    size_t add = has_path ? 0 : plen;
    char *s = sl__malloc(keep + add + tail + 1);
    if (s != NULL) {
        memcpy(s, url, keep);
        for (size_t i = 0; i < u->scheme_len; i++) {
            s[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        }
        memcpy(s + keep, PUSH_PATH, add);
        memcpy(s + keep + add, url + base, tail + 1);
    }
    return s;
}

static sl_status check_ranges(const sl_loki_options *o, sl__url *u, char *errbuf,
                              size_t errlen)
{
    sl_error e;
    sl_error_init(&e);
    if (sl__url_check(o->url, "loki url", u, &e) != SL_OK) {
        /* The text never holds the URL's user:password (sl__url_check). */
        sl__loki_set_err(errbuf, errlen, "%s", e.text);
        return SL_EINVAL;
    }
    if (o->queue_bytes < SL__LOKI_MIN_QUEUE) {
        sl__loki_set_err(errbuf, errlen, "loki queue_bytes: at least %u",
                         SL__LOKI_MIN_QUEUE);
        return SL_EINVAL;
    }
    if (o->line_limit < SL__LOKI_MIN_LINE || o->line_limit > SL__LOKI_MAX_LINE ||
        sl__loki_slot_size(SL__LOKI_MAX_SERVICE, o->line_limit) > o->queue_bytes / 2) {
        sl__loki_set_err(
            errbuf, errlen,
            "loki line_limit: between %u and %u bytes, and at most half of queue_bytes",
            SL__LOKI_MIN_LINE, SL__LOKI_MAX_LINE);
        return SL_EINVAL;
    }
    if (o->batch_bytes == 0 || o->batch_bytes > SL__LOKI_MAX_BATCH) {
        sl__loki_set_err(errbuf, errlen, "loki batch_bytes: between 1 and %u",
                         SL__LOKI_MAX_BATCH);
        return SL_EINVAL;
    }
    if (o->batch_age_ms <= 0 || o->backoff_min_ms <= 0 ||
        o->backoff_max_ms < o->backoff_min_ms || o->max_batch_age_ms < 0 ||
        o->request_timeout_ms <= 0 || o->connect_timeout_ms <= 0 ||
        o->block_timeout_ms < 0) {
        sl__loki_set_err(
            errbuf, errlen,
            "loki durations: batch_age, backoff_min, timeouts must be > 0, "
            "backoff_max >= backoff_min, max_batch_age and block_timeout >= 0");
        return SL_EINVAL;
    }
    if ((unsigned)o->overflow > SL_LOKI_BLOCK ||
        (unsigned)o->jitter > SL_LOKI_JITTER_NONE ||
        (unsigned)o->encoding > SL_LOKI_ENCODING_PROTOBUF) {
        sl__loki_set_err(errbuf, errlen, "loki overflow/jitter/encoding: unknown value");
        return SL_EINVAL;
    }
    const char *hdr[] = {o->tenant, o->username, o->password, o->bearer_token};
    const char *hdr_name[] = {"tenant", "username", "password", "bearer_token"};
    for (size_t i = 0; i < 4; i++) {
        for (const char *p = hdr[i]; p != NULL && *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                /* A CR or LF would end the header and start another one. */
                sl__loki_set_err(errbuf, errlen,
                                 "loki %s: control characters are not allowed",
                                 hdr_name[i]);
                return SL_EINVAL;
            }
        }
    }
    if ((o->username != NULL) != (o->password != NULL)) {
        sl__loki_set_err(errbuf, errlen,
                         "loki basic auth: username and password go together");
        return SL_EINVAL;
    }
    return SL_OK;
}

sl_status sl__loki_config_build(const sl_loki_options *o, sl__loki_config *cfg,
                                char *errbuf, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (o == NULL) {
        sl__loki_set_err(errbuf, errlen, "loki: no options");
        return SL_EINVAL;
    }
    sl__url u;
    sl_status st = check_ranges(o, &u, errbuf, errlen);
    if (st != SL_OK) {
        return st;
    }
    if (o->service_name != NULL &&
        (o->service_name[0] == '\0' || strlen(o->service_name) > SL__LOKI_MAX_SERVICE)) {
        sl__loki_set_err(errbuf, errlen,
                         "loki service_name: 1 to %u bytes, got %zu (the label is never "
                         "cut)",
                         SL__LOKI_MAX_SERVICE, strlen(o->service_name));
        return SL_EINVAL;
    }

    st = sl__loki_labels_build(o, cfg, errbuf, errlen);
    if (st != SL_OK) {
        sl__loki_config_free(cfg);
        return st;
    }

    cfg->push_url = make_push_url(o->url, &u);
    if (cfg->push_url == NULL || dup_opt(o->tenant, &cfg->tenant) ||
        dup_opt(o->username, &cfg->username) || dup_opt(o->password, &cfg->password) ||
        dup_opt(o->bearer_token, &cfg->bearer_token) ||
        dup_opt(o->ca_file, &cfg->ca_file) ||
        dup_opt(o->service_name, &cfg->service_name)) {
        sl__loki_config_free(cfg);
        sl__loki_set_err(errbuf, errlen, "loki: out of memory");
        return SL_ENOMEM;
    }
    cfg->tls_verify = o->tls_verify;
    cfg->level_label = o->level_label;
    cfg->structured_metadata = o->structured_metadata;
    cfg->queue_bytes = o->queue_bytes;
    cfg->overflow = o->overflow;
    cfg->block_timeout_ms = o->block_timeout_ms;
    cfg->batch_bytes = o->batch_bytes;
    cfg->batch_age_ms = o->batch_age_ms;
    cfg->line_limit = o->line_limit;
    cfg->truncate_long_lines = o->truncate_long_lines;
    cfg->gzip = o->gzip;
    cfg->encoding = o->encoding;
    cfg->backoff_min_ms = o->backoff_min_ms;
    cfg->backoff_max_ms = o->backoff_max_ms;
    cfg->jitter = o->jitter;
    cfg->max_batch_age_ms = o->max_batch_age_ms;
    cfg->request_timeout_ms = o->request_timeout_ms;
    cfg->connect_timeout_ms = o->connect_timeout_ms;
    return SL_OK;
}

static void wipe_free(char *s)
{
    /* Secrets should not linger in freed memory. */
    if (s != NULL) {
        volatile char *p = s;
        while (*p != '\0') {
            *p++ = '\0';
        }
        sl__free(s);
    }
}

void sl__loki_config_free(sl__loki_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    sl__free(cfg->push_url);
    sl__free(cfg->tenant);
    sl__free(cfg->username);
    wipe_free(cfg->password);
    wipe_free(cfg->bearer_token);
    sl__free(cfg->ca_file);
    sl__free(cfg->service_name);
    sl__free(cfg->labels_json);
    sl__free(cfg->labels_prom);
    memset(cfg, 0, sizeof(*cfg));
}
