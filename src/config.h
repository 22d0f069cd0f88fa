/*
 * config.h - option tables and the adapter registry (fluent-bit's
 * config_map, for spanlog).
 *
 * Every option of the logger and of every adapter is declared once, in a
 * table of sl__opt: its field in the options struct, type, default, range,
 * environment variable, URI query key and one line of documentation. The
 * defaults (`*_options_init`), the environment (`sl_logger_from_env`,
 * `sl_loki_options_from_env`, ...), the `?key=value` part of sink targets,
 * the range checks of the constructors and the tables in
 * docs/configuration.md all come from these tables.
 *
 * Adapters register themselves: each defines one `const sl__adapter
 * sl__adapter_<name>`, and the build generates the NULL-terminated list
 * `sl__adapters` from the adapters it compiles (CMakeLists.txt). The core
 * reads that list and never names an adapter, so every dependency runs
 * from an adapter down to the core. A generated table rather than
 * constructor-attribute registration: an adapter object in libspanlog.a
 * that nothing references is not linked, so a constructor would never run
 * in a static link (without --whole-archive); the table references every
 * entry, costs nothing at load time and lists the adapters in a fixed order.
 *
 * Adding an adapter NAME: in adapters/NAME/sources.cmake append its sources
 * to SL_SOURCES, `NAME` to SL_ADAPTERS, its link targets to SL_LINK_LIBS,
 * its packages to SL_FIND_DEPENDENCIES and pkg-config modules to
 * SL_PC_REQUIRES; define `sl__adapter_NAME` with its option table. An
 * optional adapter gets a SPANLOG_WITH_NAME option in CMakeLists.txt
 * (left out: `NAME:VARIABLE` appended to SL_ADAPTERS_ABSENT) and a line in
 * cmake/features.h.in.
 */
#ifndef SPANLOG_CONFIG_H
#define SPANLOG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "spanlog/spanlog.h"

/* ---- the grammars --------------------------------------------------------- */

/* 1/0, true/false, yes/no, on/off, case-insensitive; else SL_EPARSE. */
sl_status sl__parse_bool(const char *text, bool *out);

/* The grammar of every bool, for messages and docs. */
#define SL__BOOL_GRAMMAR "1/0, true/false, yes/no or on/off"

/*
 * A decimal integer in [lo, hi]: digits only, a leading '-' only when lo is
 * negative; no blanks, no '+', no other base. SL_EPARSE (with *pos at the
 * first byte that is not allowed) or SL_ERANGE (*pos 0); *out is unchanged
 * on failure.
 */
sl_status sl__parse_int(const char *text, long long lo, long long hi, long long *out,
                        int *pos);

/* A level name (sl_level_parse) into an sl_level field: SL__OPT_CUSTOM. */
sl_status sl__opt_parse_level(const char *text, void *field, void *base, int *pos);
#define SL__LEVEL_GRAMMAR "trace, debug, info, warn, error, fatal or off"

/* ---- option tables ------------------------------------------------------- */

typedef enum sl__opt_type {
    SL__OPT_BOOL,   /* bool */
    SL__OPT_INT,    /* int, in [min, max] */
    SL__OPT_SIZE,   /* size_t, in [min, max] */
    SL__OPT_STR,    /* const char *, borrowed from the text it was read from */
    SL__OPT_SECRET, /* a STR that is never echoed in an error or the docs */
    SL__OPT_ENUM,   /* an enum (int-sized): names[i] is the value i */
    SL__OPT_CUSTOM  /* parse() writes the field; grammar says what it accepts */
} sl__opt_type;

typedef struct sl__opt {
    const char *name; /* the field in the options struct */
    sl__opt_type type;
    size_t offset;            /* of the field in the options struct */
    const char *def;          /* default, in the option's own grammar; NULL: zero/NULL */
    long long min, max;       /* INT, SIZE */
    const char *env;          /* environment variable, or NULL */
    const char *key;          /* URI query key, or NULL */
    const char *const *names; /* ENUM: NULL-terminated */
    /* CUSTOM: parses text into the field (base: the whole options struct,
     * for an option that sets two fields); on failure sets *pos (or leaves
     * -1). */
    sl_status (*parse)(const char *text, void *field, void *base, int *pos);
    const char *grammar; /* CUSTOM: what is accepted, e.g. "a level name" */
    const char *doc;     /* one line */
} sl__opt;

typedef struct sl__opt_table {
    const char *title; /* "Loki sink (sl_loki_options)" */
    const sl__opt *opts;
    size_t n;
} sl__opt_table;

#define SL__NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/* Declaration helpers: S is the options struct type, F the field. */
#define SL__O_BOOL(S, F, DEF, ENV, KEY, DOC)                                             \
    {                                                                                    \
        .name = #F, .type = SL__OPT_BOOL, .offset = offsetof(S, F), .def = DEF,          \
        .env = ENV, .key = KEY, .doc = DOC                                               \
    }
#define SL__O_INT(S, F, DEF, LO, HI, ENV, KEY, DOC)                                      \
    {                                                                                    \
        .name = #F, .type = SL__OPT_INT, .offset = offsetof(S, F), .def = DEF,           \
        .min = LO, .max = HI, .env = ENV, .key = KEY, .doc = DOC                         \
    }
#define SL__O_SIZE(S, F, DEF, LO, HI, ENV, KEY, DOC)                                     \
    {                                                                                    \
        .name = #F, .type = SL__OPT_SIZE, .offset = offsetof(S, F), .def = DEF,          \
        .min = LO, .max = HI, .env = ENV, .key = KEY, .doc = DOC                         \
    }
#define SL__O_STR(S, F, DEF, ENV, KEY, DOC)                                              \
    {                                                                                    \
        .name = #F, .type = SL__OPT_STR, .offset = offsetof(S, F), .def = DEF,           \
        .env = ENV, .key = KEY, .doc = DOC                                               \
    }
#define SL__O_SECRET(S, F, ENV, KEY, DOC)                                                \
    {                                                                                    \
        .name = #F, .type = SL__OPT_SECRET, .offset = offsetof(S, F), .env = ENV,        \
        .key = KEY, .doc = DOC                                                           \
    }
#define SL__O_ENUM(S, F, DEF, NAMES, ENV, KEY, DOC)                                      \
    {                                                                                    \
        .name = #F, .type = SL__OPT_ENUM, .offset = offsetof(S, F), .def = DEF,          \
        .names = NAMES, .env = ENV, .key = KEY, .doc = DOC                               \
    }
#define SL__O_CUSTOM(S, F, DEF, PARSE, GRAMMAR, ENV, KEY, DOC)                           \
    {                                                                                    \
        .name = #F, .type = SL__OPT_CUSTOM, .offset = offsetof(S, F), .def = DEF,        \
        .parse = PARSE, .grammar = GRAMMAR, .env = ENV, .key = KEY, .doc = DOC           \
    }

/* Writes every default of the table into the struct at base (fields without
 * a default are left as they are: zero them first). */
void sl__opts_defaults(const sl__opt_table *t, void *base);

/*
 * The body of an `*_options_init_size`: our defaults (the table's, over
 * zeroes) are built in scratch (a struct of ours bytes, our sizeof), then
 * copied into the caller's struct as far as caller_size reaches, with its
 * size set (sl__abi_init: an older caller's smaller struct is never
 * overrun). NULL caller is a no-op.
 */
void sl__opts_init(const sl__opt_table *t, void *caller, size_t caller_size,
                   void *scratch, size_t ours);

/* Renames what a filled err names (a checker's "loki url" to the option
 * "url", say). No-op when err is NULL or holds no error. */
void sl__error_rename(sl_error *err, const char *name);

/*
 * Parses text into one option. `name` is what the error names: the
 * variable, the URI key or the field. Errors: SL_EPARSE / SL_ERANGE with err
 * filled (the value copied unless the option is a secret).
 */
sl_status sl__opt_set(const sl__opt *o, void *base, const char *text, const char *name,
                      sl_error *err);

/* Every option with a variable that is set and non-empty. String fields
 * then point into the environment. */
sl_status sl__opts_from_env(const sl__opt_table *t, void *base, sl_error *err);

/*
 * Applies "key=value&key=value" (query is modified in place; string fields
 * point into it). An unknown key or a missing '=' is SL_EPARSE naming the
 * key and listing the known ones; `what` ("syslog target") prefixes texts.
 */
sl_status sl__opts_from_query(const sl__opt_table *t, void *base, char *query,
                              const char *what, sl_error *err);

/* Ranges of INT and SIZE options, the values of ENUMs; names the field. */
sl_status sl__opts_check(const sl__opt_table *t, const void *base, sl_error *err);

/* The option called `name` (field), or NULL. */
const sl__opt *sl__opts_find(const sl__opt_table *t, const char *name);

/* When err names a field of t whose value came from its variable (set; for
 * strings, the field still points at the environment's value), names the
 * variable instead. base: the options struct. */
void sl__opts_name_env(const sl__opt_table *t, const void *base, sl_error *err);

/* ---- the adapter registry ------------------------------------------------ */

typedef struct sl__adapter {
    const char *name;           /* "loki" */
    const char *const *schemes; /* NULL-terminated: "loki" */
    const char *usage;          /* "loki:URL[?key=value&...]", for messages */
    const char *env_prefix;     /* "SPANLOG_LOKI_" */
    const char *env_target;     /* set: sl_logger_from_env adds a sink, or NULL */
    bool env_target_empty_ok;   /* an empty env_target value still adds one */
    const sl__opt_table *opts;  /* NULL: none */
    /* Further tables of the adapter (OTLP's per-signal variables), NULL
     * terminated, or NULL: documented and checked like opts. */
    const sl__opt_table *const *more;
    /*
     * Makes a sink from a target: `scheme` is the one matched, `rest` what
     * follows "scheme:" (NULL when the target is the bare scheme). With
     * check_only, parses and validates everything that can be checked
     * without opening anything (no file, socket or thread) and leaves *out
     * NULL. Fills err on failure.
     */
    sl_status (*open)(const char *scheme, const char *rest, bool check_only,
                      sl_sink **out, sl_error *err);
    /*
     * Optional: what sl_logger_from_env sets up beyond sinks (an exporter
     * read from OTEL_* variables, say). Called once with check_only and
     * lg NULL before any sink is opened (parse and validate only), then
     * with the logger after its sinks were added. `service` is the
     * logger's service, `sinks` the SPANLOG_SINK list. NULL: nothing.
     */
    sl_status (*env_setup)(sl_logger *lg, const char *service, const char *sinks,
                           bool check_only, sl_error *err);
} sl__adapter;

/* Generated by the build: the adapters compiled in, then NULL. */
extern const sl__adapter *const sl__adapters[];
/* Generated too: adapters this build left out (their scheme and the
 * variable that would add one), then {NULL, NULL}: so that a target or a
 * variable naming one is refused (SL_ENOTSUP), never silently ignored. */
typedef struct sl__adapter_absent {
    const char *name;
    const char *env_target;
} sl__adapter_absent;
extern const sl__adapter_absent sl__adapters_absent[];

/* The core's own table (env.c): SPANLOG_LEVEL, SPANLOG_SINK, ... */
extern const sl__opt_table sl__core_options;

/*
 * Checks (check_only) or opens one sink target, reporting into err with
 * the target named. sink_uri.c.
 */
sl_status sl__sink_target(const char *uri, bool check_only, sl_sink **out, sl_error *err);

#endif /* SPANLOG_CONFIG_H */
