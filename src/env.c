/*
 * env.c - sl_logger_from_env(): a ready logger from the environment.
 *
 * The core's variables are declared once, in sl__core_options below (the
 * logger's options, the sink list, the filters, and SPANLOG_DIAG and
 * SPANLOG_LEVEL_FILE, which diag.c and control.c read when they need them
 * and which are checked here); each adapter declares its own (its option
 * table, the variable that adds one of its sinks: SPANLOG_SYSLOG,
 * SPANLOG_LOKI_URL, and an env_setup for OTEL_*), read through the registry
 * (config.h). Every target and every filter is checked before any sink is
 * opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "internal.h"

/* What the environment fills: the logger's options and the core's lists. */
typedef struct env_config {
    sl_logger_options lo;
    const char *sink;         /* comma-separated targets */
    const char *baggage_keys; /* comma-separated keys */
    int console;              /* SPANLOG_FORMAT: CONSOLE_* */
    int diag;                 /* SPANLOG_DIAG, checked here, read by diag.c */
    const char *sampling;     /* SPANLOG_SAMPLING: sl_sampling_parse */
    const char *redact;       /* comma-separated paths */
    const char *redact_censor;
    bool redact_remove;
    const char *level_file; /* read by sl_signals_install (control.c) */
    /* Read where they are used, checked here: the span sampler
     * (src/trace/sampler.c) and the console's colors (src/pretty.c). */
    const char *sampler, *sampler_arg;
    const char *no_color, *force_color;
} env_config;

enum { CONSOLE_NONE, CONSOLE_PRETTY, CONSOLE_AUTO };

/*
 * SPANLOG_FORMAT: a profile (key names of JSON records), or pretty / auto:
 * the human console format for the stdout and stderr sinks (files and
 * network sinks keep JSON); auto does so only when stdout is a terminal, so
 * that a service run by hand is readable and the same service under a
 * supervisor or in a container writes JSON.
 */
static sl_status parse_format(const char *text, void *field, void *base, int *pos)
{
    env_config *c = base;
    if (strcasecmp(text, "pretty") == 0 || strcasecmp(text, "auto") == 0) {
        c->console = (text[0] | 0x20) == 'p' ? CONSOLE_PRETTY : CONSOLE_AUTO;
        return SL_OK;
    }
    c->console = CONSOLE_NONE;
    return sl_profile_parse(text, (sl_profile *)field);
}

static const char *const diag_names[] = {"off", "stderr", NULL};
_Static_assert(SL_DIAG_OFF == 0 && SL_DIAG_STDERR == 1, "diag_names follows sl_diag");

static const sl__opt core_opts[] = {
    SL__O_CUSTOM(env_config, lo.level, "info", sl__opt_parse_level, SL__LEVEL_GRAMMAR,
                 "SPANLOG_LEVEL", NULL,
                 "the logger's level (aliases: warning, err, critical, crit, none)"),
    SL__O_STR(env_config, lo.service, NULL, "OTEL_SERVICE_NAME", NULL,
              "the service name; overrides the one given in code"),
    SL__O_CUSTOM(env_config, lo.profile, "default", parse_format,
                 "default, otel, ecs, pino, pretty or auto", "SPANLOG_FORMAT", NULL,
                 "key names of the record (docs/record-schema.md); pretty: the console "
                 "format on stdout and stderr, auto: pretty when stdout is a terminal"),
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
    SL__O_STR(env_config, sampling, NULL, "SPANLOG_SAMPLING", NULL,
              "log sampling and a rate cap, `first:N,thereafter:N,per:1s,max:N,"
              "keep:LEVEL` (filter.h)"),
    SL__O_STR(env_config, redact, NULL, "SPANLOG_REDACT", NULL,
              "comma-separated keys and paths to redact (at most 64; filter.h)"),
    SL__O_STR(env_config, redact_censor, NULL, "SPANLOG_REDACT_CENSOR", NULL,
              "what a redacted value becomes; unset: `[REDACTED]`"),
    SL__O_BOOL(env_config, redact_remove, "false", "SPANLOG_REDACT_REMOVE", NULL,
               "remove redacted keys instead of censoring them"),
    SL__O_STR(env_config, level_file, NULL, "SPANLOG_LEVEL_FILE", NULL,
              "sl_signals_install: SIGHUP sets the level from this file's first word "
              "(control.h)"),
    SL__O_ENUM(env_config, diag, "stderr", diag_names, "SPANLOG_DIAG", NULL,
               "where a sink without an error callback tells its errors and drops "
               "(sl_set_diagnostics)"),
    SL__O_STR(env_config, sampler, "parentbased_always_on", "OTEL_TRACES_SAMPLER", NULL,
              "the span sampler: always_on, always_off, traceidratio, parentbased_* "
              "(span.h)"),
    SL__O_STR(env_config, sampler_arg, NULL, "OTEL_TRACES_SAMPLER_ARG", NULL,
              "the ratio of the traceidratio samplers, 0 to 1"),
    SL__O_STR(env_config, no_color, NULL, "NO_COLOR", NULL,
              "any value: the console format never colors (no-color.org)"),
    SL__O_STR(env_config, force_color, NULL, "FORCE_COLOR", NULL,
              "any value but 0: the console format colors even when not a terminal"),
};

const sl__opt_table sl__core_options = {"Logger (sl_logger_from_env)", core_opts,
                                        SL__NOPTS(core_opts)};

/* Splits `list` (a copy the caller frees), separated by commas and blanks,
 * into at most max items; more is SL_ERANGE naming var. */
static sl_status split_list(char *list, const char **items, size_t max, size_t *n,
                            const char *var, sl_error *err)
{
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ", \t", &save); t != NULL;
         t = strtok_r(NULL, ", \t", &save)) {
        if (*n == max) {
            return sl__error_set(err, SL_ERANGE, var, NULL, (int)(t - list),
                                 "%s: at most %zu items", var, max);
        }
        items[(*n)++] = t;
    }
    return SL_OK;
}

/*
 * SPANLOG_SAMPLING and SPANLOG_REDACT* (spanlog/filter.h), parsed and
 * checked before any sink is opened; applied to lg when it is not NULL.
 */
static sl_status filters(const env_config *c, sl_logger *lg, sl_error *err)
{
    sl_sampler sm;
    if (lg == NULL && c->sampler != NULL &&
        sl_sampler_parse(c->sampler, c->sampler_arg, &sm) != SL_OK) {
        /* The value named is the sampler's, or its argument's. */
        return sl__error_set(
            err, SL_EPARSE, "OTEL_TRACES_SAMPLER", c->sampler, -1,
            "OTEL_TRACES_SAMPLER=%s%s%s: expected always_on, always_off, "
            "traceidratio or parentbased_* (with OTEL_TRACES_SAMPLER_ARG "
            "a ratio from 0 to 1)",
            c->sampler, c->sampler_arg != NULL ? " with ARG=" : "",
            c->sampler_arg != NULL ? c->sampler_arg : "");
    }
    if (c->sampling != NULL) {
        sl_sampling_options so;
        sl_status st = sl_sampling_parse(c->sampling, &so, err);
        if (st == SL_OK && lg != NULL &&
            (st = sl_logger_set_sampling(lg, &so)) != SL_OK) {
            sl__error_set(err, st, "SPANLOG_SAMPLING", c->sampling, -1,
                          "SPANLOG_SAMPLING: %s", sl_strerror(st));
        }
        if (st != SL_OK) {
            return st;
        }
    }
    if (c->redact == NULL) {
        return SL_OK;
    }
    char *copy = sl__strdup(c->redact);
    if (copy == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "out of memory");
    }
    const char *paths[64];
    size_t n = 0;
    sl_status st = split_list(copy, paths, sizeof paths / sizeof paths[0], &n,
                              "SPANLOG_REDACT", err);
    if (st == SL_OK && lg != NULL) {
        sl_redact_options ro;
        sl_redact_options_init(&ro);
        ro.paths = paths;
        ro.npaths = n;
        if (c->redact_censor != NULL) {
            ro.censor = c->redact_censor;
        }
        ro.remove = c->redact_remove;
        if ((st = sl_logger_set_redaction(lg, &ro)) != SL_OK) {
            sl__error_set(err, st, "SPANLOG_REDACT", NULL, -1,
                          "SPANLOG_REDACT: a path is not valid (%s)", sl_strerror(st));
        }
    }
    sl__free(copy);
    return st;
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

static sl_status plan_list(plan *p, const char *list, int console)
{
    /* SPANLOG_FORMAT=pretty|auto turns the stdout and stderr targets into
     * the console format (auto: when stdout is a terminal). */
    bool pretty =
        console == CONSOLE_PRETTY || (console == CONSOLE_AUTO && isatty(1) == 1);
    const char *s = list;
    while (*s != '\0') {
        const char *e = strchr(s, ',');
        if (e == NULL) {
            e = s + strlen(s);
        }
        const char *a = s, *b = e;
        sl__trim_blanks(&a, &b);
        size_t n = (size_t)(b - a);
        bool to_console =
            pretty && n == 6 &&
            (strncasecmp(a, "stdout", 6) == 0 || strncasecmp(a, "stderr", 6) == 0);
        sl_status st =
            n > 0 ? plan_add(p, "SPANLOG_SINK", to_console ? "pretty:" : "", a, n)
                  : SL_OK;
        if (st != SL_OK) {
            return st;
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
static sl_status plan_build(plan *p, const char *list, int console)
{
    sl_status st = plan_list(p, list, console);
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
    if (err != NULL && err->size >= SL__ERROR_V1 && err->code != SL_OK &&
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
        if ((st = split_list(key_list, keys, SL_MAX_BAGGAGE_KEYS, &c.lo.nbaggage_keys,
                             "SPANLOG_BAGGAGE_KEYS", err)) != SL_OK) {
            sl__free(key_list);
            return st;
        }
        c.lo.baggage_keys = keys;
    }

    plan p = {0};
    st = plan_build(&p, c.sink, c.console);
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
    if (st == SL_OK) {
        st = filters(&c, NULL, err);
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
    if (st == SL_OK) {
        st = filters(&c, lg, err);
    }
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
