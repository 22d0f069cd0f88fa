/*
 * env.c - sl_logger_from_env(): a ready logger from the environment.
 *
 *   SPANLOG_LEVEL             trace|debug|info|warn|error|fatal|off (default info)
 *   OTEL_SERVICE_NAME         overrides the service name given in code
 *   SPANLOG_FORMAT            default|otel|ecs|pino, or pretty|auto (console)
 *   SPANLOG_MAX_RECORD_BYTES  record size limit (default 65536)
 *   SPANLOG_CALLER            1/true: write the caller's file, line, function
 *   SPANLOG_BAGGAGE_KEYS      comma-separated baggage keys copied into records
 *   SPANLOG_SINK              comma-separated sink targets (sl_sink_from_uri),
 *                             default "stdout"
 *   SPANLOG_SYSLOG            adds a syslog sink for this target ("" = /dev/log)
 *   SPANLOG_LOKI_URL          adds a Loki sink (its other options: loki.h)
 *   SPANLOG_SAMPLING          log sampling and a rate cap (filter.h)
 *   SPANLOG_REDACT            keys and paths to redact, with _CENSOR, _REMOVE
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

static int env_flag(const char *v)
{
    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
                         strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}

/* Splits `list` (a copy the caller frees) into at most SL_MAX_BAGGAGE_KEYS keys. */
static sl_status split_keys(char *list, const char **keys, size_t *n)
{
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ", \t", &save); t != NULL;
         t = strtok_r(NULL, ", \t", &save)) {
        if (*n == SL_MAX_BAGGAGE_KEYS) {
            return SL_ERANGE;
        }
        keys[(*n)++] = t;
    }
    return SL_OK;
}

/*
 * SPANLOG_FORMAT=pretty writes the human console format to the stdout and
 * stderr sinks (files and network sinks keep JSON); =auto does so only
 * when stdout is a terminal, so that a service run by hand is readable and
 * the same service under a supervisor or in a container writes JSON.
 */
static bool console_format(const char *v)
{
    return strcasecmp(v, "pretty") == 0 || strcasecmp(v, "auto") == 0;
}

static bool pretty_wanted(void)
{
    const char *v = getenv("SPANLOG_FORMAT");
    if (v == NULL) {
        return false;
    }
    return strcasecmp(v, "pretty") == 0 || (strcasecmp(v, "auto") == 0 && isatty(1) == 1);
}

static sl_status read_options(const char *service, sl_logger_options *o)
{
    sl_logger_options_init(o);
    const char *svc = getenv("OTEL_SERVICE_NAME");
    o->service = (svc != NULL && *svc != '\0') ? svc : service;

    const char *v = getenv("SPANLOG_LEVEL");
    if (v != NULL && *v != '\0' && sl_level_parse(v, &o->level) != SL_OK) {
        return SL_EPARSE;
    }
    v = getenv("SPANLOG_FORMAT");
    if (v != NULL && *v != '\0' && !console_format(v) &&
        sl_profile_parse(v, &o->profile) != SL_OK) {
        return SL_EPARSE;
    }
    v = getenv("SPANLOG_MAX_RECORD_BYTES");
    if (v != NULL && *v != '\0') {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
            return SL_EPARSE;
        }
        o->max_record_bytes = (size_t)n;
    }
    o->caller_info = env_flag(getenv("SPANLOG_CALLER"));
    return SL_OK;
}

/*
 * SPANLOG_SAMPLING (first:N,thereafter:N,per:1s,max:N,keep:LEVEL) and
 * SPANLOG_REDACT (comma-separated paths), SPANLOG_REDACT_CENSOR,
 * SPANLOG_REDACT_REMOVE (1/true/yes/on): spanlog/filter.h.
 */
static sl_status filters_from_env(sl_logger *lg)
{
    const char *v = getenv("SPANLOG_SAMPLING");
    if (v != NULL && *v != '\0') {
        sl_sampling_options so;
        sl_status st = sl_sampling_parse(v, &so, NULL);
        if (st == SL_OK) {
            st = sl_logger_set_sampling(lg, &so);
        }
        if (st != SL_OK) {
            return st;
        }
    }
    v = getenv("SPANLOG_REDACT");
    if (v == NULL || *v == '\0') {
        return SL_OK;
    }
    char *copy = sl__strdup(v);
    if (copy == NULL) {
        return SL_ENOMEM;
    }
    const char *paths[64];
    size_t n = 0;
    sl_status st = SL_OK;
    char *save = NULL;
    for (char *t = strtok_r(copy, ", \t", &save); t != NULL && st == SL_OK;
         t = strtok_r(NULL, ", \t", &save)) {
        if (n == sizeof(paths) / sizeof(paths[0])) {
            st = SL_ERANGE;
        } else {
            paths[n++] = t;
        }
    }
    if (st == SL_OK) {
        sl_redact_options ro;
        sl_redact_options_init(&ro);
        ro.paths = paths;
        ro.npaths = n;
        const char *c = getenv("SPANLOG_REDACT_CENSOR");
        if (c != NULL) {
            ro.censor = c;
        }
        ro.remove = env_flag(getenv("SPANLOG_REDACT_REMOVE"));
        st = sl_logger_set_redaction(lg, &ro);
    }
    sl__free(copy);
    return st;
}

/* Adds one sink by target; the logger owns it from then on. */
static sl_status add_target(sl_logger *lg, const char *target)
{
    sl_sink *sink = NULL;
    if (pretty_wanted() &&
        (strcmp(target, "stdout") == 0 || strcmp(target, "stderr") == 0)) {
        target = target[3] == 'o' ? "pretty:stdout" : "pretty:stderr";
    }
    sl_status st = sl_sink_from_uri(target, &sink);
    if (st != SL_OK) {
        return st;
    }
    return sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE);
}

static sl_status add_sink_list(sl_logger *lg, const char *list)
{
    char *copy = sl__strdup(list);
    if (copy == NULL) {
        return SL_ENOMEM;
    }
    sl_status st = SL_OK;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && st == SL_OK;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t') {
            t++;
        }
        size_t n = strlen(t);
        while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t')) {
            t[--n] = '\0';
        }
        if (n > 0) {
            st = add_target(lg, t);
        }
    }
    sl__free(copy);
    return st;
}

sl_status sl_logger_from_env(const char *service, sl_logger **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    sl_logger_options o;
    sl_status st = read_options(service, &o);
    if (st != SL_OK) {
        return st;
    }
    const char *keys[SL_MAX_BAGGAGE_KEYS];
    char *key_list = NULL;
    const char *v = getenv("SPANLOG_BAGGAGE_KEYS");
    if (v != NULL && *v != '\0') {
        if ((key_list = sl__strdup(v)) == NULL) {
            return SL_ENOMEM;
        }
        if ((st = split_keys(key_list, keys, &o.nbaggage_keys)) != SL_OK) {
            sl__free(key_list);
            return st;
        }
        o.baggage_keys = keys;
    }
    sl_logger *lg = NULL;
    st = sl_logger_new(&o, &lg);
    sl__free(key_list); /* the logger copied the keys */
    if (st != SL_OK) {
        return st;
    }
    st = filters_from_env(lg);
    const char *list = getenv("SPANLOG_SINK");
    if (st == SL_OK) {
        st = add_sink_list(lg, (list != NULL && *list != '\0') ? list : "stdout");
    }

    const char *syslog_target = getenv("SPANLOG_SYSLOG");
    if (st == SL_OK && syslog_target != NULL) {
        char buf[512];
        int n = snprintf(buf, sizeof(buf), "syslog:%s", syslog_target);
        st = (n < 0 || (size_t)n >= sizeof(buf)) ? SL_ERANGE : add_target(lg, buf);
    }
    const char *loki = getenv("SPANLOG_LOKI_URL");
    if (st == SL_OK && loki != NULL && *loki != '\0') {
        char buf[2048];
        int n = snprintf(buf, sizeof(buf), "loki:%s", loki);
        st = (n < 0 || (size_t)n >= sizeof(buf)) ? SL_ERANGE : add_target(lg, buf);
    }
#ifdef SPANLOG_WITH_OTLP
    if (st == SL_OK) {
        /* OTEL_TRACES_EXPORTER / OTEL_LOGS_EXPORTER and the OTLP endpoints */
        st = sl__otlp_env_setup(lg, o.service, list);
    }
#endif
    if (st != SL_OK) {
        sl_logger_free(lg);
        return st;
    }
    *out = lg;
    return SL_OK;
}
