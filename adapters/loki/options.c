/*
 * options.c - Loki sink options: defaults, the environment, and validation
 * into an owned configuration. Label problems are caught here, at creation,
 * with a message naming the label, rather than as a stream of 400s later.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/loki/loki_internal.h"

#define PUSH_PATH "/loki/api/v1/push"

void sl_loki_options_init(sl_loki_options *opts)
{
    if (opts == NULL) {
        return;
    }
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
    opts->backoff_min_ms = 500;
    opts->backoff_max_ms = 300000;
    opts->jitter = SL_LOKI_JITTER_FULL;
    opts->max_batch_age_ms = 900000;
    opts->request_timeout_ms = 10000;
    opts->connect_timeout_ms = 5000;
}

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) SL__PRINTF(3, 4);
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
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
        set_err(errbuf, errlen, "%s: expected 0/1/true/false, got \"%s\"", name, v);
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
        set_err(errbuf, errlen, "%s: expected an integer in [%lld, %lld], got \"%s\"",
                name, lo, hi, v);
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
            set_err(errbuf, errlen,
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
            set_err(errbuf, errlen,
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

/* ---- labels --------------------------------------------------------------- */

bool sl__loki_label_name_ok(const char *name, size_t len)
{
    if (name == NULL || len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values above U+10FFFF), no
 * NUL. */
static bool utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0) {
            return false;
        } else if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return false;
        }
        if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) {
            return false;
        }
        for (size_t k = 2; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
        }
        i += len;
    }
    return true;
}

/* One label checked and appended to the JSON fragment; names kept to catch duplicates. */
typedef struct label_acc {
    sl__jw w;
    sl__jw prom;
    const char *names[SL__LOKI_MAX_LABELS + 2];
    size_t name_lens[SL__LOKI_MAX_LABELS + 2];
    size_t n;
} label_acc;

static sl_status add_label(label_acc *acc, const char *name, size_t nlen,
                           const char *value, size_t vlen, char *errbuf, size_t errlen)
{
    if (!sl__loki_label_name_ok(name, nlen)) {
        set_err(errbuf, errlen,
                "loki label \"%.*s\": invalid name (must match [a-zA-Z_:][a-zA-Z0-9_:]*)",
                (int)nlen, name != NULL ? name : "");
        return SL_EINVAL;
    }
    if (nlen >= 2 && name[0] == '_' && name[1] == '_') {
        set_err(errbuf, errlen,
                "loki label \"%.*s\": names starting with \"__\" are reserved", (int)nlen,
                name);
        return SL_EINVAL;
    }
    if (value == NULL || vlen == 0) {
        set_err(errbuf, errlen,
                "loki label \"%.*s\": empty value (Loki drops such labels)", (int)nlen,
                name);
        return SL_EINVAL;
    }
    if (!utf8_valid(value, vlen)) {
        set_err(errbuf, errlen, "loki label \"%.*s\": value is not valid UTF-8",
                (int)nlen, name);
        return SL_EINVAL;
    }
    for (size_t i = 0; i < acc->n; i++) {
        if (acc->name_lens[i] == nlen && !memcmp(acc->names[i], name, nlen)) {
            set_err(
                errbuf, errlen, "loki label \"%.*s\": given twice%s", (int)nlen, name,
                (!strncmp(name, "service_name", nlen) || !strncmp(name, "level", nlen))
                    ? " (the sink sets it itself)"
                    : "");
            return SL_EINVAL;
        }
    }
    if (acc->n >= SL__LOKI_MAX_LABELS) {
        set_err(
            errbuf, errlen,
            "loki label \"%.*s\": too many labels (Loki accepts at most %d per stream, "
            "service_name and level included)",
            (int)nlen, name, SL__LOKI_MAX_LABELS);
        return SL_EINVAL;
    }
    acc->names[acc->n] = name;
    acc->name_lens[acc->n] = nlen;
    acc->n++;
    sl__jw_char(&acc->w, ',');
    sl__jw_string(&acc->w, name, nlen);
    sl__jw_char(&acc->w, ':');
    sl__jw_string(&acc->w, value, vlen);
    sl__jw_raw(&acc->prom, ", ", 2);
    sl__jw_raw(&acc->prom, name, nlen);
    sl__jw_char(&acc->prom, '=');
    sl__loki_prom_quote(&acc->prom, value, vlen);
    return SL_OK;
}

/* "k=v,k=v" with blanks around items trimmed. */
static sl_status add_labels_text(label_acc *acc, const char *text, char *errbuf,
                                 size_t errlen)
{
    const char *p = text;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t')) {
            a++;
        }
        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) {
            b--;
        }
        if (a < b) {
            const char *eq = memchr(a, '=', (size_t)(b - a));
            if (eq == NULL) {
                set_err(errbuf, errlen, "loki labels: \"%.*s\" is not name=value",
                        (int)(b - a), a);
                return SL_EINVAL;
            }
            const char *ne = eq, *vs = eq + 1;
            while (ne > a && (ne[-1] == ' ' || ne[-1] == '\t')) {
                ne--;
            }
            while (vs < b && (*vs == ' ' || *vs == '\t')) {
                vs++;
            }
            sl_status st =
                add_label(acc, a, (size_t)(ne - a), vs, (size_t)(b - vs), errbuf, errlen);
            if (st != SL_OK) {
                return st;
            }
        }
        p = *end == ',' ? end + 1 : end;
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

static char *make_push_url(const char *url)
{
    size_t n = strlen(url);
    size_t plen = strlen(PUSH_PATH);
    if (n >= plen && !strcmp(url + n - plen, PUSH_PATH)) {
        return sl__strdup(url);
    }
    while (n > 0 && url[n - 1] == '/') {
        n--;
    }
    char *s = sl__malloc(n + plen + 1);
    if (s != NULL) {
        memcpy(s, url, n);
        memcpy(s + n, PUSH_PATH, plen + 1);
    }
    return s;
}

static sl_status check_ranges(const sl_loki_options *o, char *errbuf, size_t errlen)
{
    if (o->url == NULL ||
        (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))) {
        set_err(errbuf, errlen, "loki url: expected http:// or https://, got \"%s\"",
                o->url != NULL ? o->url : "(none)");
        return SL_EINVAL;
    }
    if (o->queue_bytes < SL__LOKI_MIN_QUEUE) {
        set_err(errbuf, errlen, "loki queue_bytes: at least %u", SL__LOKI_MIN_QUEUE);
        return SL_EINVAL;
    }
    if (o->line_limit < SL__LOKI_MIN_LINE || o->line_limit > SL__LOKI_MAX_LINE ||
        sl__loki_slot_size(SL__LOKI_MAX_SERVICE, o->line_limit) > o->queue_bytes / 2) {
        set_err(
            errbuf, errlen,
            "loki line_limit: between %u and %u bytes, and at most half of queue_bytes",
            SL__LOKI_MIN_LINE, SL__LOKI_MAX_LINE);
        return SL_EINVAL;
    }
    if (o->batch_bytes == 0 || o->batch_bytes > SL__LOKI_MAX_BATCH) {
        set_err(errbuf, errlen, "loki batch_bytes: between 1 and %u", SL__LOKI_MAX_BATCH);
        return SL_EINVAL;
    }
    if (o->batch_age_ms <= 0 || o->backoff_min_ms <= 0 ||
        o->backoff_max_ms < o->backoff_min_ms || o->max_batch_age_ms < 0 ||
        o->request_timeout_ms <= 0 || o->connect_timeout_ms <= 0 ||
        o->block_timeout_ms < 0) {
        set_err(errbuf, errlen,
                "loki durations: batch_age, backoff_min, timeouts must be > 0, "
                "backoff_max >= backoff_min, max_batch_age and block_timeout >= 0");
        return SL_EINVAL;
    }
    if ((unsigned)o->overflow > SL_LOKI_BLOCK ||
        (unsigned)o->jitter > SL_LOKI_JITTER_NONE ||
        (unsigned)o->encoding > SL_LOKI_ENCODING_PROTOBUF) {
        set_err(errbuf, errlen, "loki overflow/jitter/encoding: unknown value");
        return SL_EINVAL;
    }
    const char *hdr[] = {o->tenant, o->username, o->password, o->bearer_token};
    const char *hdr_name[] = {"tenant", "username", "password", "bearer_token"};
    for (size_t i = 0; i < 4; i++) {
        for (const char *p = hdr[i]; p != NULL && *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                /* A CR or LF would end the header and start another one. */
                set_err(errbuf, errlen, "loki %s: control characters are not allowed",
                        hdr_name[i]);
                return SL_EINVAL;
            }
        }
    }
    if ((o->username != NULL) != (o->password != NULL)) {
        set_err(errbuf, errlen, "loki basic auth: username and password go together");
        return SL_EINVAL;
    }
    return SL_OK;
}

sl_status sl__loki_config_build(const sl_loki_options *o, sl__loki_config *cfg,
                                char *errbuf, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    if (o == NULL) {
        set_err(errbuf, errlen, "loki: no options");
        return SL_EINVAL;
    }
    sl_status st = check_ranges(o, errbuf, errlen);
    if (st != SL_OK) {
        return st;
    }
    if (o->service_name != NULL &&
        (o->service_name[0] == '\0' || strlen(o->service_name) > SL__LOKI_MAX_SERVICE)) {
        set_err(errbuf, errlen, "loki service_name: 1 to %u bytes", SL__LOKI_MAX_SERVICE);
        return SL_EINVAL;
    }

    label_acc acc;
    memset(&acc, 0, sizeof(acc));
    sl__jw_init_growable(&acc.w, 256, 64u << 10);
    sl__jw_init_growable(&acc.prom, 256, 64u << 10);
    /* The sink's own labels come first so that a static one cannot shadow them. */
    acc.names[acc.n] = "service_name";
    acc.name_lens[acc.n++] = strlen("service_name");
    if (o->level_label) {
        acc.names[acc.n] = "level";
        acc.name_lens[acc.n++] = strlen("level");
    }
    for (size_t i = 0; st == SL_OK && i < o->nlabels; i++) {
        const char *name = o->labels != NULL ? o->labels[i].name : NULL;
        const char *value = o->labels != NULL ? o->labels[i].value : NULL;
        st = add_label(&acc, name, name != NULL ? strlen(name) : 0, value,
                       value != NULL ? strlen(value) : 0, errbuf, errlen);
    }
    if (st == SL_OK && o->labels_text != NULL) {
        st = add_labels_text(&acc, o->labels_text, errbuf, errlen);
    }
    if (st == SL_OK && (acc.w.overflow || acc.prom.overflow)) {
        set_err(errbuf, errlen, "loki labels: too long or out of memory");
        st = SL_ENOMEM;
    }
    if (st == SL_OK) {
        cfg->labels_json = sl__strndup(acc.w.buf != NULL ? acc.w.buf : "", acc.w.len);
        cfg->labels_prom =
            sl__strndup(acc.prom.buf != NULL ? acc.prom.buf : "", acc.prom.len);
        cfg->nlabels = acc.n - (o->level_label ? 2 : 1);
        if (cfg->labels_json == NULL || cfg->labels_prom == NULL) {
            st = SL_ENOMEM;
        }
    }
    sl__jw_free(&acc.w);
    sl__jw_free(&acc.prom);
    if (st != SL_OK) {
        sl__loki_config_free(cfg);
        return st;
    }

    cfg->push_url = make_push_url(o->url);
    if (cfg->push_url == NULL || dup_opt(o->tenant, &cfg->tenant) ||
        dup_opt(o->username, &cfg->username) || dup_opt(o->password, &cfg->password) ||
        dup_opt(o->bearer_token, &cfg->bearer_token) ||
        dup_opt(o->ca_file, &cfg->ca_file) ||
        dup_opt(o->service_name, &cfg->service_name)) {
        sl__loki_config_free(cfg);
        set_err(errbuf, errlen, "loki: out of memory");
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
