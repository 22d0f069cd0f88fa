/*
 * config.c - the one bool grammar, the one number grammar, and the option
 * tables that every adapter and the logger declare (see config.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "internal.h"

sl_status sl__parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    if (text == NULL) {
        return SL_EPARSE;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return SL_OK;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return SL_OK;
        }
    }
    return SL_EPARSE;
}

sl_status sl__parse_int(const char *text, long long lo, long long hi, long long *out,
                        int *pos)
{
    *pos = 0;
    if (text == NULL) {
        return SL_EPARSE;
    }
    const char *p = text;
    bool neg = false;
    if (*p == '-' && lo < 0) {
        neg = true;
        p++;
    }
    if (*p < '0' || *p > '9') {
        *pos = (int)(p - text);
        return SL_EPARSE;
    }
    /* Accumulate negatively so that LLONG_MIN fits; stop at overflow. */
    long long v = 0;
    bool overflow = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (v < (LLONG_MIN + d) / 10) {
            overflow = true;
        } else {
            v = v * 10 - d;
        }
    }
    if (*p != '\0') {
        *pos = (int)(p - text);
        return SL_EPARSE;
    }
    if (!neg && v == LLONG_MIN) {
        overflow = true;
    }
    if (!neg && !overflow) {
        v = -v;
    }
    if (overflow || v < lo || v > hi) {
        return SL_ERANGE;
    }
    *out = v;
    return SL_OK;
}

sl_status sl__opt_parse_level(const char *text, void *field, void *base, int *pos)
{
    return sl_level_parse(text, (sl_level *)field);
}

/* ---- one option ---------------------------------------------------------- */

static void *field(void *base, const sl__opt *o)
{
    return (char *)base + o->offset;
}

static const void *cfield(const void *base, const sl__opt *o)
{
    return (const char *)base + o->offset;
}

/* "a, b or c" into buf. */
static void join_names(const char *const *names, char *buf, size_t cap)
{
    size_t n = 0;
    while (names[n] != NULL) {
        n++;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(buf + len, cap - len, "%s%s", sep, names[i]);
        if (w < 0) {
            break;
        }
        len += (size_t)w;
    }
}

static sl_status set_number(const sl__opt *o, void *base, const char *text,
                            const char *name, sl_error *err)
{
    long long v = 0;
    int pos = 0;
    sl_status st = sl__parse_int(text, o->min, o->max, &v, &pos);
    if (st != SL_OK) {
        return sl__error_set(err, st, name, text, pos,
                             "%s: expected an integer from %lld to %lld (digits only), "
                             "got \"%s\"",
                             name, o->min, o->max, text);
    }
    if (o->type == SL__OPT_INT) {
        *(int *)field(base, o) = (int)v;
    } else {
        *(size_t *)field(base, o) = (size_t)v;
    }
    return SL_OK;
}

sl_status sl__opt_set(const sl__opt *o, void *base, const char *text, const char *name,
                      sl_error *err)
{
    if (name == NULL) {
        name = o->name;
    }
    switch (o->type) {
    case SL__OPT_BOOL:
        if (sl__parse_bool(text, (bool *)field(base, o)) != SL_OK) {
            return sl__error_set(err, SL_EPARSE, name, text, 0,
                                 "%s: expected %s, got \"%s\"", name, SL__BOOL_GRAMMAR,
                                 text);
        }
        return SL_OK;
    case SL__OPT_INT:
    case SL__OPT_SIZE:
        return set_number(o, base, text, name, err);
    case SL__OPT_STR:
    case SL__OPT_SECRET:
        *(const char **)field(base, o) = text;
        return SL_OK;
    case SL__OPT_ENUM:
        for (int i = 0; o->names[i] != NULL; i++) {
            if (strcasecmp(text, o->names[i]) == 0) {
                *(int *)field(base, o) = i;
                return SL_OK;
            }
        }
        {
            char list[160];
            join_names(o->names, list, sizeof list);
            return sl__error_set(err, SL_EPARSE, name, text, 0,
                                 "%s: expected %s, got \"%s\"", name, list, text);
        }
    case SL__OPT_CUSTOM: {
        int pos = -1;
        sl_status st = o->parse(text, field(base, o), base, &pos);
        if (st != SL_OK) {
            return sl__error_set(err, st, name, text, pos, "%s: expected %s, got \"%s\"",
                                 name, o->grammar, text);
        }
        return SL_OK;
    }
    }
    return sl__error_set(err, SL_EINVAL, name, NULL, -1, "%s: unknown option type", name);
}

/* ---- tables -------------------------------------------------------------- */

void sl__opts_defaults(const sl__opt_table *t, void *base)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->opts[i].def != NULL) {
            /* Defaults are in the table's own grammar: a test parses them all. */
            (void)sl__opt_set(&t->opts[i], base, t->opts[i].def, NULL, NULL);
        }
    }
}

void sl__opts_init(const sl__opt_table *t, void *caller, size_t caller_size,
                   void *scratch, size_t ours)
{
    memset(scratch, 0, ours);
    sl__opts_defaults(t, scratch);
    sl__abi_init(caller, caller_size, scratch, ours);
}

void sl__error_rename(sl_error *err, const char *name)
{
    if (err != NULL && err->size >= SL__ERROR_V1 && err->code != SL_OK) {
        snprintf(err->name, sizeof err->name, "%s", name);
    }
}

sl_status sl__opts_from_env(const sl__opt_table *t, void *base, sl_error *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const sl__opt *o = &t->opts[i];
        if (o->env == NULL) {
            continue;
        }
        const char *v = getenv(o->env);
        if (v == NULL || v[0] == '\0') {
            continue;
        }
        sl_status st = sl__opt_set(o, base, v, o->env, err);
        if (st != SL_OK) {
            return st;
        }
    }
    return SL_OK;
}

static const sl__opt *find_key(const sl__opt_table *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->opts[i].key != NULL && strcmp(t->opts[i].key, key) == 0) {
            return &t->opts[i];
        }
    }
    return NULL;
}

static void list_keys(const sl__opt_table *t, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n && len < cap; i++) {
        if (t->opts[i].key == NULL) {
            continue;
        }
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", t->opts[i].key);
        if (w < 0) {
            break;
        }
        len += (size_t)w;
    }
}

sl_status sl__opts_from_query(const sl__opt_table *t, void *base, char *query,
                              const char *what, sl_error *err)
{
    while (query != NULL && *query != '\0') {
        char *next = strchr(query, '&');
        if (next != NULL) {
            *next++ = '\0';
        }
        char *val = strchr(query, '=');
        if (val != NULL) {
            *val++ = '\0';
        }
        const sl__opt *o = t != NULL ? find_key(t, query) : NULL;
        if (o == NULL) {
            char keys[200] = "none";
            if (t != NULL) {
                list_keys(t, keys, sizeof keys);
            }
            return sl__error_set(err, SL_EPARSE, query, query, 0,
                                 "%s: unknown option \"%s\" (known: %s)", what, query,
                                 keys);
        }
        if (val == NULL) {
            return sl__error_set(err, SL_EPARSE, query, NULL, -1,
                                 "%s: option \"%s\" needs a value (%s=...)", what, query,
                                 query);
        }
        sl_status st = sl__opt_set(o, base, val, o->key, err);
        if (st != SL_OK) {
            return st;
        }
        query = next;
    }
    return SL_OK;
}

sl_status sl__opts_check(const sl__opt_table *t, const void *base, sl_error *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const sl__opt *o = &t->opts[i];
        long long v;
        if (o->type == SL__OPT_INT) {
            v = *(const int *)cfield(base, o);
        } else if (o->type == SL__OPT_SIZE) {
            size_t z = *(const size_t *)cfield(base, o);
            v = z > (size_t)LLONG_MAX ? LLONG_MAX : (long long)z;
        } else if (o->type == SL__OPT_ENUM) {
            unsigned e = *(const unsigned *)cfield(base, o);
            size_t n = 0;
            while (o->names[n] != NULL) {
                n++;
            }
            if (e >= n) {
                char list[160];
                join_names(o->names, list, sizeof list);
                return sl__error_set(err, SL_EINVAL, o->name, NULL, -1,
                                     "%s: unknown value %u (expected %s)", o->name, e,
                                     list);
            }
            continue;
        } else {
            continue;
        }
        if (v < o->min || v > o->max) {
            char num[24];
            snprintf(num, sizeof num, "%lld", v);
            return sl__error_set(err, SL_EINVAL, o->name, num, -1,
                                 "%s: %lld is out of range (%lld to %lld)", o->name, v,
                                 o->min, o->max);
        }
    }
    return SL_OK;
}

const sl__opt *sl__opts_find(const sl__opt_table *t, const char *name)
{
    for (size_t i = 0; t != NULL && i < t->n; i++) {
        if (strcmp(t->opts[i].name, name) == 0) {
            return &t->opts[i];
        }
    }
    return NULL;
}

void sl__opts_name_env(const sl__opt_table *t, const void *base, sl_error *err)
{
    if (err == NULL || err->size < SL__ERROR_V1 || err->code == SL_OK) {
        return;
    }
    const sl__opt *o = sl__opts_find(t, err->name);
    const char *v = o != NULL && o->env != NULL ? getenv(o->env) : NULL;
    if (v == NULL || v[0] == '\0') {
        return;
    }
    if ((o->type == SL__OPT_STR || o->type == SL__OPT_SECRET) &&
        *(const char *const *)cfield(base, o) != v) {
        return; /* the target or its query set it */
    }
    snprintf(err->name, sizeof err->name, "%s", o->env);
}
