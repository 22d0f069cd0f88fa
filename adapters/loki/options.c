/*
 * options.c - Loki sink options: defaults, the environment, and validation
 * into an owned configuration (labels: labels.c).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/loki/loki_internal.h"
#include "config.h"

#define PUSH_PATH "/loki/api/v1/push"

_Static_assert(sizeof(sl_loki_overflow) == sizeof(int) &&
                   sizeof(sl_loki_encoding) == sizeof(int) &&
                   sizeof(sl_loki_jitter) == sizeof(int),
               "option tables store enums as int");

static const char *const overflow_names[] = {"drop_newest", "drop_oldest", "block", NULL};
static const char *const encoding_names[] = {"json", "protobuf", NULL};
static const char *const jitter_names[] = {"full", "equal", "none", NULL};

#define O  sl_loki_options
#define E  "SPANLOG_LOKI_"
#define MS 3600000
/* Every option, once: sl_loki_options_init, the environment, the range
 * checks and docs/configuration.md. No URI keys: a query in "loki:URL"
 * belongs to the URL (it is kept in the push URL). */
static const sl__opt loki_opts[] = {
    SL__O_STR(O, url, NULL, E "URL", NULL,
              "base URL (http://loki:3100) or the full push URL; the variable adds a "
              "Loki sink"),
    SL__O_STR(O, tenant, NULL, E "TENANT", NULL, "X-Scope-OrgID"),
    SL__O_STR(O, username, NULL, E "USER", NULL, "basic auth user (with the password)"),
    SL__O_SECRET(O, password, E "PASSWORD", NULL, "basic auth password; never echoed"),
    SL__O_SECRET(O, bearer_token, E "TOKEN", NULL,
                 "Authorization: Bearer token; never echoed"),
    SL__O_STR(O, ca_file, NULL, E "CA_FILE", NULL,
              "PEM bundle to verify the server with; unset: the system's"),
    SL__O_BOOL(O, tls_verify, "true", E "TLS_VERIFY", NULL,
               "verify the server's certificate and host name"),
    SL__O_STR(O, labels_text, NULL, E "LABELS", NULL,
              "static labels, `k=v,k=v` (names `[a-zA-Z_:][a-zA-Z0-9_:]*`)"),
    SL__O_STR(O, service_name, NULL, NULL, NULL,
              "the service_name label; unset: the record's service"),
    SL__O_BOOL(O, level_label, "false", E "LEVEL_LABEL", NULL, "add a level label"),
    SL__O_BOOL(O, structured_metadata, "true", E "METADATA", NULL,
               "trace_id and span_id as structured metadata"),
    SL__O_SIZE(O, queue_bytes, "67108864", SL__LOKI_MIN_QUEUE, 1ll << 40, E "QUEUE_BYTES",
               NULL, "queue limit in bytes"),
    SL__O_ENUM(O, overflow, "drop_newest", overflow_names, E "OVERFLOW", NULL,
               "what a full queue does with a new record"),
    SL__O_INT(O, block_timeout_ms, "100", 0, MS, E "BLOCK_TIMEOUT_MS", NULL,
              "overflow=block: the longest wait of a log call"),
    SL__O_SIZE(O, batch_bytes, "1048576", 1, SL__LOKI_MAX_BATCH, E "BATCH_BYTES", NULL,
               "body bytes per push (JSON-encoded size)"),
    SL__O_INT(O, batch_age_ms, "1000", 1, MS, E "BATCH_MS", NULL,
              "the oldest record waits at most this long"),
    SL__O_SIZE(O, line_limit, "262144", SL__LOKI_MIN_LINE, SL__LOKI_MAX_LINE,
               E "LINE_LIMIT", NULL, "longest line sent (at most half of queue_bytes)"),
    SL__O_BOOL(O, truncate_long_lines, "true", E "TRUNCATE", NULL,
               "truncate a longer line to a valid record; false: drop it"),
    SL__O_BOOL(O, gzip, "true", E "GZIP", NULL, "gzip the JSON body"),
    SL__O_ENUM(O, encoding, "protobuf", encoding_names, E "ENCODING", NULL,
               "push body: protobuf (snappy), or JSON (gzip; see its label caveat)"),
    SL__O_INT(O, backoff_min_ms, "500", 1, MS, E "BACKOFF_MIN_MS", NULL,
              "first retry delay"),
    SL__O_INT(O, backoff_max_ms, "300000", 1, 24 * MS, E "BACKOFF_MAX_MS", NULL,
              "retry delay cap (>= backoff_min_ms)"),
    SL__O_ENUM(O, jitter, "full", jitter_names, E "JITTER", NULL,
               "retry delay spread: [0, cap], [cap/2, cap] or cap"),
    SL__O_INT(O, max_batch_age_ms, "900000", 0, INT_MAX, E "MAX_BATCH_AGE_MS", NULL,
              "a batch retried longer is dropped; 0: forever"),
    SL__O_INT(O, request_timeout_ms, "10000", 1, MS, E "TIMEOUT_MS", NULL,
              "whole request"),
    SL__O_INT(O, connect_timeout_ms, "5000", 1, MS, E "CONNECT_TIMEOUT_MS", NULL,
              "connection"),
};
#undef O
#undef E
#undef MS

static const sl__opt_table sl__loki_options = {"Loki (sl_loki_options)", loki_opts,
                                               SL__NOPTS(loki_opts)};

void sl_loki_options_init_size(sl_loki_options *opts, size_t size)
{
    sl_loki_options d;
    sl__opts_init(&sl__loki_options, opts, size, &d, sizeof d);
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

sl_status sl_loki_options_from_env(sl_loki_options *opts, sl_error *err)
{
    if (opts == NULL) {
        return sl__error_set(err, SL_EINVAL, NULL, NULL, -1, "loki: opts is NULL");
    }
    return sl__opts_from_env(&sl__loki_options, opts, err);
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

static sl_status check_ranges(const sl_loki_options *o, sl__url *u, sl_error *err)
{
    if (sl__url_check(o->url, "loki url", u, err) != SL_OK) {
        /* The text and value never hold the URL's user:password
         * (sl__url_check); the option is "url" (SPANLOG_LOKI_URL). */
        sl__error_rename(err, "url");
        return SL_EINVAL;
    }
    sl_status st = sl__opts_check(&sl__loki_options, o, err);
    if (st != SL_OK) {
        return st;
    }
    if (sl__loki_slot_size(SL__LOKI_MAX_SERVICE, o->line_limit) > o->queue_bytes / 2) {
        return sl__error_set(err, SL_EINVAL, "line_limit", NULL, -1,
                             "loki line_limit: at most half of queue_bytes (%zu)",
                             o->queue_bytes);
    }
    if (o->backoff_max_ms < o->backoff_min_ms) {
        return sl__error_set(err, SL_EINVAL, "backoff_max_ms", NULL, -1,
                             "loki backoff_max_ms: at least backoff_min_ms (%d)",
                             o->backoff_min_ms);
    }
    const char *hdr[] = {o->tenant, o->username, o->password, o->bearer_token};
    const char *hdr_name[] = {"tenant", "username", "password", "bearer_token"};
    for (size_t i = 0; i < 4; i++) {
        for (const char *p = hdr[i]; p != NULL && *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                /* A CR or LF would end the header and start another one. */
                return sl__error_set(err, SL_EINVAL, hdr_name[i], NULL, (int)(p - hdr[i]),
                                     "loki %s: control characters are not allowed",
                                     hdr_name[i]);
            }
        }
    }
    if ((o->username != NULL) != (o->password != NULL)) {
        return sl__error_set(err, SL_EINVAL,
                             o->username != NULL ? "password" : "username", NULL, -1,
                             "loki basic auth: username and password go together");
    }
    return SL_OK;
}

/* The text names the label (between its first quotes): when that label is
 * in labels_text, the error names labels_text and the label's position. */
static sl_status label_error(const sl_loki_options *o, sl_status st, const char *text,
                             sl_error *err)
{
    const char *q = strchr(text, '"');
    const char *e = q != NULL ? strchr(q + 1, '"') : NULL;
    const char *at = NULL;
    if (e != NULL && e > q + 1 && o->labels_text != NULL) {
        size_t n = (size_t)(e - q - 1);
        for (const char *p = o->labels_text; *p != '\0'; p++) {
            if (strncmp(p, q + 1, n) == 0) {
                at = p;
                break;
            }
        }
    }
    if (at != NULL) {
        return sl__error_set(err, st, "labels_text", o->labels_text,
                             (int)(at - o->labels_text), "%s", text);
    }
    return sl__error_set(err, st, "labels", NULL, -1, "%s",
                         text[0] != '\0' ? text : sl_strerror(st));
}

sl_status sl__loki_config_build(const sl_loki_options *o, sl__loki_config *cfg,
                                sl_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (o == NULL) {
        return sl__error_set(err, SL_EINVAL, NULL, NULL, -1, "loki: no options");
    }
    sl__url u;
    sl_status st = check_ranges(o, &u, err);
    if (st != SL_OK) {
        return st;
    }
    if (o->service_name != NULL &&
        (o->service_name[0] == '\0' || strlen(o->service_name) > SL__LOKI_MAX_SERVICE)) {
        return sl__error_set(err, SL_EINVAL, "service_name", NULL, -1,
                             "loki service_name: 1 to %u bytes, got %zu (the label is "
                             "never cut)",
                             SL__LOKI_MAX_SERVICE, strlen(o->service_name));
    }

    char text[sizeof(((sl_error *)0)->text)] = "";
    st = sl__loki_labels_build(o, cfg, text, sizeof text);
    if (st != SL_OK) {
        sl__loki_config_free(cfg);
        return label_error(o, st, text, err);
    }

    cfg->push_url = make_push_url(o->url, &u);
    if (cfg->push_url == NULL || dup_opt(o->tenant, &cfg->tenant) ||
        dup_opt(o->username, &cfg->username) || dup_opt(o->password, &cfg->password) ||
        dup_opt(o->bearer_token, &cfg->bearer_token) ||
        dup_opt(o->ca_file, &cfg->ca_file) ||
        dup_opt(o->service_name, &cfg->service_name)) {
        sl__loki_config_free(cfg);
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "loki: out of memory");
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

/* ---- the registry entry ----------------------------------------------------- */

sl_status sl__loki_open_url(const char *url, bool check_only, sl_sink **out,
                            sl_error *err)
{
    sl_loki_options o;
    sl_loki_options_init(&o);
    sl_status st = sl__opts_from_env(&sl__loki_options, &o, err);
    if (st != SL_OK) {
        return st;
    }
    if (url == NULL || url[0] == '\0') {
        return sl__error_set(err, SL_EPARSE, "url", NULL, -1,
                             "loki: needs a URL (loki:http://HOST:3100)");
    }
    o.url = url; /* whole: its query belongs to the URL */
    if (check_only) {
        sl__loki_config cfg;
        st = sl__loki_config_build(&o, &cfg, err);
        sl__loki_config_free(&cfg);
    } else {
        st = sl_loki_sink_new(&o, out, err);
    }
    sl__opts_name_env(&sl__loki_options, &o, err);
    return st;
}

static sl_status loki_open(const char *scheme, const char *rest, bool check_only,
                           sl_sink **out, sl_error *err)
{
    return sl__loki_open_url(rest, check_only, out, err);
}

static const char *const loki_schemes[] = {"loki", NULL};

const sl__adapter sl__adapter_loki = {
    .name = "loki",
    .schemes = loki_schemes,
    .usage = "loki:URL",
    .env_prefix = "SPANLOG_LOKI_",
    .env_target = "SPANLOG_LOKI_URL",
    .env_target_empty_ok = false,
    .opts = &sl__loki_options,
    .open = loki_open,
};
