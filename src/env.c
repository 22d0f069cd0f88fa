/*
 * env.c - sl_logger_from_env(): a ready logger from the environment.
 *
 * The core's variables are declared once, in sl__core_options below; each
 * adapter declares its own (its option table, and the variable that adds
 * one of its sinks: SPANLOG_SYSLOG, SPANLOG_LOKI_URL), read through the
 * registry (config.h). Every target is checked before any sink is opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "internal.h"

/* What the environment fills: the logger's options and the core's lists. */
typedef struct env_config {
    sl_logger_options lo;
    const char *sink;         /* comma-separated targets */
    const char *baggage_keys; /* comma-separated keys */
} env_config;

static sl_status parse_profile(const char *text, void *field, int *pos)
{
    return sl_profile_parse(text, (sl_profile *)field);
}

static const sl__opt core_opts[] = {
    SL__O_CUSTOM(env_config, lo.level, "info", sl__opt_parse_level, SL__LEVEL_GRAMMAR,
                 "SPANLOG_LEVEL", NULL,
                 "the logger's level (aliases: warning, err, critical, crit, none)"),
    SL__O_STR(env_config, lo.service, NULL, "OTEL_SERVICE_NAME", NULL,
              "the service name; overrides the one given in code"),
    SL__O_CUSTOM(env_config, lo.profile, "default", parse_profile,
                 "default, otel, ecs or pino", "SPANLOG_FORMAT", NULL,
                 "key names of the record (docs/record-schema.md)"),
    SL__O_SIZE(env_config, lo.max_record_bytes, "65536" /* SL__DEFAULT_RECORD_BYTES */,
               SL__MIN_RECORD_BYTES, SL__MAX_RECORD_BYTES, "SPANLOG_MAX_RECORD_BYTES",
               NULL, "record size limit in bytes, newline included"),
    SL__O_BOOL(env_config, lo.caller_info, "false", "SPANLOG_CALLER", NULL,
               "write the caller's file, line and function"),
    SL__O_STR(env_config, baggage_keys, NULL, "SPANLOG_BAGGAGE_KEYS", NULL,
              "comma-separated baggage keys copied into every record (at most 16)"),
    SL__O_STR(env_config, sink, "stdout", "SPANLOG_SINK", NULL,
              "comma-separated sink targets (see Sink targets); all are checked "
              "before any is opened"),
};

const sl__opt_table sl__core_options = {"Logger (sl_logger_from_env)", core_opts,
                                        SL__NOPTS(core_opts)};

/* Splits `list` (a copy the caller frees) into at most SL_MAX_BAGGAGE_KEYS keys. */
static sl_status split_keys(char *list, const char **keys, size_t *n, sl_error *err)
{
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ", \t", &save); t != NULL;
         t = strtok_r(NULL, ", \t", &save)) {
        if (*n == SL_MAX_BAGGAGE_KEYS) {
            return sl__error_set(err, SL_ERANGE, "SPANLOG_BAGGAGE_KEYS", NULL,
                                 (int)(t - list), "SPANLOG_BAGGAGE_KEYS: at most %d keys",
                                 SL_MAX_BAGGAGE_KEYS);
        }
        keys[(*n)++] = t;
    }
    return SL_OK;
}

/* ---- the sink plan: every target checked before any is opened ------------ */

typedef struct target {
    char *uri;       /* owned */
    const char *var; /* the variable it came from */
} target;

typedef struct plan {
    target *t;
    size_t n, cap;
} plan;

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        sl__free(p->t[i].uri);
    }
    sl__free(p->t);
}

/* Adds "prefix" + text (text of length len), from variable var, to the plan. */
static sl_status plan_add(plan *p, const char *var, const char *prefix, const char *text,
                          size_t len)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        target *t = sl__realloc(p->t, cap * sizeof *t);
        if (t == NULL) {
            return SL_ENOMEM;
        }
        p->t = t;
        p->cap = cap;
    }
    size_t plen = strlen(prefix);
    char *uri = sl__malloc(plen + len + 1);
    if (uri == NULL) {
        return SL_ENOMEM;
    }
    memcpy(uri, prefix, plen);
    memcpy(uri + plen, text, len);
    uri[plen + len] = '\0';
    p->t[p->n].uri = uri;
    p->t[p->n++].var = var;
    return SL_OK;
}

static sl_status plan_list(plan *p, const char *list)
{
    const char *s = list;
    while (*s != '\0') {
        const char *e = strchr(s, ',');
        if (e == NULL) {
            e = s + strlen(s);
        }
        const char *a = s, *b = e;
        sl__trim_blanks(&a, &b);
        if (b > a) {
            sl_status st = plan_add(p, "SPANLOG_SINK", "", a, (size_t)(b - a));
            if (st != SL_OK) {
                return st;
            }
        }
        s = *e == ',' ? e + 1 : e;
    }
    return SL_OK;
}

static sl_status plan_var(plan *p, const char *var, const char *scheme, bool empty_ok)
{
    const char *v = var != NULL ? getenv(var) : NULL;
    if (v == NULL || (v[0] == '\0' && !empty_ok)) {
        return SL_OK;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s%s", scheme, v[0] != '\0' ? ":" : "");
    return plan_add(p, var, prefix, v, strlen(v));
}

/* SPANLOG_SINK, then each adapter's own variable (SPANLOG_SYSLOG, ...), and
 * those of adapters left out of the build, which are then refused. */
static sl_status plan_build(plan *p, const char *list)
{
    sl_status st = plan_list(p, list);
    for (size_t i = 0; st == SL_OK && sl__adapters[i] != NULL; i++) {
        const sl__adapter *a = sl__adapters[i];
        st = plan_var(p, a->env_target, a->schemes[0], a->env_target_empty_ok);
    }
    for (size_t i = 0; st == SL_OK && sl__adapters_absent[i].name != NULL; i++) {
        st = plan_var(p, sl__adapters_absent[i].env_target, sl__adapters_absent[i].name,
                      false);
    }
    return st;
}

/* A target's error that names no variable (or only "target") names the
 * variable the target came from. */
static void name_target_var(const target *t, sl_error *err)
{
    if (err != NULL && err->size >= sizeof(sl_error) &&
        (err->name[0] == '\0' || strcmp(err->name, "target") == 0)) {
        snprintf(err->name, sizeof err->name, "%s", t->var);
    }
}

sl_status sl_logger_from_env(const char *service, sl_logger **out, sl_error *err)
{
    if (out == NULL) {
        return sl__error_set(err, SL_EINVAL, "out", NULL, -1,
                             "sl_logger_from_env: out is NULL");
    }
    *out = NULL;
    env_config c;
    memset(&c, 0, sizeof c);
    sl_logger_options_init(&c.lo);
    c.sink = "stdout";
    c.lo.service = service;
    sl_status st = sl__opts_from_env(&sl__core_options, &c, err);
    if (st != SL_OK) {
        return st;
    }
    const char *keys[SL_MAX_BAGGAGE_KEYS];
    char *key_list = NULL;
    if (c.baggage_keys != NULL) {
        if ((key_list = sl__strdup(c.baggage_keys)) == NULL) {
            return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "out of memory");
        }
        if ((st = split_keys(key_list, keys, &c.lo.nbaggage_keys, err)) != SL_OK) {
            sl__free(key_list);
            return st;
        }
        c.lo.baggage_keys = keys;
    }

    plan p = {0};
    st = plan_build(&p, c.sink);
    if (st != SL_OK) {
        sl__error_set(err, st, NULL, NULL, -1, "out of memory");
    }
    for (size_t i = 0; st == SL_OK && i < p.n; i++) {
        sl_sink *none = NULL;
        st = sl__sink_target(p.t[i].uri, true, &none, err);
        if (st != SL_OK) {
            name_target_var(&p.t[i], err);
        }
    }
    for (size_t i = 0; st == SL_OK && sl__adapters[i] != NULL; i++) {
        if (sl__adapters[i]->env_setup != NULL) {
            st = sl__adapters[i]->env_setup(NULL, c.lo.service, c.sink, true, err);
        }
    }
    sl_logger *lg = NULL;
    if (st == SL_OK) {
        st = sl_logger_new(&c.lo, &lg);
        if (st != SL_OK) {
            sl__error_set(err, st, NULL, NULL, -1, "logger options: %s", sl_strerror(st));
        }
    }
    sl__free(key_list); /* the logger copied the keys */
    for (size_t i = 0; st == SL_OK && i < p.n; i++) {
        sl_sink *sink = NULL;
        st = sl__sink_target(p.t[i].uri, false, &sink, err);
        if (st != SL_OK) {
            name_target_var(&p.t[i], err);
        } else if ((st = sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE)) != SL_OK) {
            /* Not the target: a Loki URL may hold credentials. */
            sl__error_set(err, st, p.t[i].var, NULL, -1, "%s: cannot add a sink: %s",
                          p.t[i].var, sl_strerror(st));
        }
    }
    plan_free(&p);
    for (size_t i = 0; st == SL_OK && sl__adapters[i] != NULL; i++) {
        if (sl__adapters[i]->env_setup != NULL) {
            st = sl__adapters[i]->env_setup(lg, c.lo.service, c.sink, false, err);
        }
    }
    if (st != SL_OK) {
        sl_logger_free(lg);
        return st;
    }
    *out = lg;
    return SL_OK;
}
