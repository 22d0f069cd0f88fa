/*
 * spanlog/log.h - loggers, typed fields, child loggers and the log macros.
 *
 * Threading: a logger may be used from any number of threads at once. It is
 * immutable once it has been shared, except for its level, which any thread
 * may change at any time (an atomic). Log calls return void: logging never
 * fails the caller; what a sink could not write is counted (sl_sink_stats).
 *
 * Ownership: fields, messages and contexts passed to log calls are borrowed
 * for the duration of the call only. Option strings are copied at create.
 *
 * Memory: a record is encoded into a buffer owned by the calling thread
 * (grown once to the largest max_record_bytes it meets, freed when the
 * thread exits), so logging makes no heap allocation in steady state. One
 * exception: vsnprintf may allocate for some conversions (%ls, huge
 * precisions).
 *
 * Size limit: a line (newline included) is never longer than
 * max_record_bytes. A longer record is cut inside its largest strings (msg
 * and the call's string fields, all cut to one common length so short ones
 * stay whole, on UTF-8 boundaries) and gets "truncated":true as its last key.
 * When even that cannot fit (huge keys or embedded JSON), the record keeps
 * only the head keys (time, level, msg cut to fit, service, trace ids) and
 * "truncated":true.
 *
 * At exit: an atexit handler flushes every live logger's sinks, within 2 s
 * in total, so records buffered by a program that never calls
 * sl_logger_flush() are not lost.
 */
#ifndef SPANLOG_LOG_H
#define SPANLOG_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t; /* jansson's json_t; include <jansson.h> to build SL_JSON values */

typedef struct sl_logger sl_logger;
typedef struct sl_sink sl_sink;

/* ---- fields ---------------------------------------------------------- */

typedef enum sl_field_type {
    SL_FIELD_STR = 0,  /* v.s, len bytes (SL_NPOS: NUL-terminated); NULL -> null */
    SL_FIELD_INT = 1,  /* v.i */
    SL_FIELD_UINT = 2, /* v.u */
    SL_FIELD_DOUBLE =
        3, /* v.d; NaN/inf are written as strings "NaN", "Infinity", "-Infinity" */
    SL_FIELD_BOOL = 4, /* v.b */
    SL_FIELD_NULL = 5,
    SL_FIELD_ERRNO = 6, /* v.i: written as {"errno":N,"error":"strerror text"} */
    SL_FIELD_JSON = 7   /* v.json: embedded as JSON; NULL -> null */
} sl_field_type;

#define SL_NPOS ((size_t)-1)

/*
 * One key/value pair. Build them with the SL_* macros below; they are
 * compound literals, so they cost no heap allocation. Keys are escaped like
 * any string; a NULL key is written as "". Duplicate keys are written as
 * given (JSON parsers keep the last).
 */
typedef struct sl_field {
    const char *key;
    sl_field_type type;
    size_t len;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
        const struct json_t *json;
    } v;
} sl_field;

#define SL_STR(k, str)                                                                   \
    ((sl_field){.key = (k), .type = SL_FIELD_STR, .len = SL_NPOS, .v.s = (str)})
#define SL_STRN(k, str, n)                                                               \
    ((sl_field){.key = (k), .type = SL_FIELD_STR, .len = (n), .v.s = (str)})
#define SL_INT(k, x) ((sl_field){.key = (k), .type = SL_FIELD_INT, .v.i = (int64_t)(x)})
#define SL_UINT(k, x)                                                                    \
    ((sl_field){.key = (k), .type = SL_FIELD_UINT, .v.u = (uint64_t)(x)})
#define SL_DOUBLE(k, x)                                                                  \
    ((sl_field){.key = (k), .type = SL_FIELD_DOUBLE, .v.d = (double)(x)})
#define SL_BOOL(k, x)                                                                    \
    ((sl_field){.key = (k), .type = SL_FIELD_BOOL, .v.b = (x) ? true : false})
#define SL_NULL(k) ((sl_field){.key = (k), .type = SL_FIELD_NULL})
#define SL_ERRNO(k, e)                                                                   \
    ((sl_field){.key = (k), .type = SL_FIELD_ERRNO, .v.i = (int64_t)(e)})
#define SL_JSON(k, j) ((sl_field){.key = (k), .type = SL_FIELD_JSON, .v.json = (j)})

/*
 * SL_JSON values are written by spanlog's own JSON writer, not by jansson's
 * dump: no allocation and no recursion, keys and strings escaped like any
 * other string (invalid UTF-8 replaced by U+FFFD, NUL written as U+FFFD), so
 * the line stays JSON that jansson reads back. Containers nested deeper than
 * SL_JSON_MAX_DEPTH are written as the string SL_JSON_DEPTH_MARK. The value
 * is never cut: one that cannot fit leaves the record to its head keys.
 */
#define SL_JSON_MAX_DEPTH  64
#define SL_JSON_DEPTH_MARK "[spanlog: nested too deep]"

/* Caller information, filled in by the macros; used when the option is on. */
typedef struct sl_src {
    const char *file;
    const char *func;
    int line;
} sl_src;

/* ---- loggers ----------------------------------------------------------- */

/* Key-name profiles: which names and formats the record uses. */
typedef enum sl_profile {
    SL_PROFILE_DEFAULT =
        0,               /* time, level, msg, service, traceId, spanId, correlationId */
    SL_PROFILE_OTEL = 1, /* time, level, msg, service, trace_id, span_id, trace_flags */
    SL_PROFILE_ECS =
        2, /* @timestamp, log.level, message, service.name, trace.id, span.id */
    SL_PROFILE_PINO = 3 /* level (number), time (epoch ms), pid, hostname, msg, ... */
} sl_profile;

/* Parses "default", "otel", "ecs", "pino". SL_EPARSE for anything else. */
SL_API sl_status sl_profile_parse(const char *name, sl_profile *out);

/*
 * What happens to a field whose key is a head key of the logger's profile:
 *   default  time level msg service traceId spanId correlationId traceFlags
 *   otel     time level msg service trace_id span_id trace_flags
 *   ecs      @timestamp log.level message service.name trace.id span.id
 *            trace.flags log.origin.file.name log.origin.file.line
 *            log.origin.function
 *   pino     the default keys and pid, hostname
 * plus, in every profile but ecs, caller and func, and in all of them
 * "truncated". The set does not depend on options (caller_info etc.).
 */
typedef enum sl_head_keys {
    SL_HEAD_KEYS_RENAME = 0, /* default: written as SL_RESERVED_KEY_PREFIX + key */
    SL_HEAD_KEYS_KEEP = 1    /* written as given */
} sl_head_keys;

#define SL_RESERVED_KEY_PREFIX "_"

typedef struct sl_logger_options {
    const char *service; /* written as "service" (or the profile's key); NULL = omitted;
                            at most 300 bytes once JSON-escaped (SL_EINVAL) */
    sl_level level;      /* default SL_LEVEL_INFO */
    sl_profile profile;  /* default SL_PROFILE_DEFAULT */
    size_t max_record_bytes; /* default 65536, minimum 1024, maximum 64 MiB; the newline
                                counts; larger records are truncated */
    bool caller_info;        /* write "caller":"file:line" and "func" (ecs profile:
                                log.origin.file.name/.line, log.origin.function);
                                default false */
    bool trace_flags;        /* write the trace flags too, as 2 lowercase hex digits
                                ("traceFlags"; ecs "trace.flags"; otel always writes
                                "trace_flags") */
    /*
     * Baggage keys copied into every record (e.g. "tenantId"), after the bound
     * fields, when the calling thread's current baggage has them (the last
     * entry wins); absent keys are not written. Copied at create; default none
     * (NULL, 0). At most SL_MAX_BAGGAGE_KEYS; keys must be non-empty.
     */
    const char *const *baggage_keys;
    size_t nbaggage_keys;
    /*
     * Bound and call fields whose key is one the record's head uses in this
     * profile (SL_RESERVED_KEYS below) cannot forge it: by default they are
     * written with SL_RESERVED_KEY_PREFIX in front ("level" -> "_level").
     * SL_HEAD_KEYS_KEEP writes them as given, beside the real ones (parsers
     * that keep the last value then take the caller's).
     */
    sl_head_keys head_keys;
} sl_logger_options;

#define SL_MAX_BAGGAGE_KEYS 16

/* Fills *opts with the defaults. */
SL_API void sl_logger_options_init(sl_logger_options *opts);

/*
 * Creates a logger with no sinks (records go nowhere until one is added).
 * opts may be NULL for the defaults. Returns SL_EINVAL (out NULL, an option
 * out of range), SL_ENOMEM.
 */
SL_API sl_status sl_logger_new(const sl_logger_options *opts, sl_logger **out);

/*
 * A ready logger from the environment: SPANLOG_LEVEL (default info),
 * OTEL_SERVICE_NAME (overrides `service`), SPANLOG_FORMAT (a profile name),
 * SPANLOG_MAX_RECORD_BYTES, SPANLOG_CALLER (a bool), SPANLOG_BAGGAGE_KEYS,
 * and the sinks of SPANLOG_SINK (default "stdout"; targets as for
 * sl_sink_from_uri). Adapters add their own variables: SPANLOG_SYSLOG and
 * SPANLOG_LOKI_URL each add a sink, SPANLOG_SYSLOG_* and SPANLOG_LOKI_*
 * set their options. Every variable, with its type, default and range:
 * docs/configuration.md. Booleans are 1/0/true/false/yes/no/on/off
 * (case-insensitive), numbers decimal digits only (no blanks, no '+').
 * Every sink target is parsed and checked before any sink is opened.
 * A value that does not follow its grammar is an error (SL_EPARSE, or
 * SL_ERANGE out of range), never silently ignored; err (may be NULL) names
 * the variable, the value (never a secret) and the position of the fault.
 * On success *out belongs to the caller (sl_logger_free). Call it from one
 * thread at a time, while nothing changes the environment.
 */
SL_API sl_status sl_logger_from_env(const char *service, sl_logger **out, sl_error *err);

/*
 * Adds a sink; records at or above min_level (and the logger's level) reach
 * it. The logger takes ownership of the sink, also on failure: the sink is
 * closed and destroyed when the last logger sharing it is freed. Setup-time
 * only: call it before the logger is shared with other threads and before
 * any child is made (SL_ESTATE otherwise). SL_EINVAL for NULL arguments.
 */
SL_API sl_status sl_logger_add_sink(sl_logger *lg, sl_sink *sink, sl_level min_level);

/*
 * Makes a child logger: it shares the parent's sinks and options, starts
 * with the parent's current level, and writes the parent's bound fields and
 * then its own on every record. Field values are copied and encoded once
 * here (SL_JSON values are reference-counted with json_incref). Parent and
 * child may be freed in any order. Thread-safe. Returns SL_EINVAL (parent or
 * out NULL, fields NULL with nfields > 0), SL_ERANGE (the bound fields alone
 * would not fit in max_record_bytes), SL_ENOMEM; *out is NULL on failure.
 */
SL_API sl_status sl_logger_child(sl_logger *parent, const sl_field *fields,
                                 size_t nfields, sl_logger **out);

/* Convenience for sl_child(): the child, or NULL on failure (a NULL logger is a no-op).
 */
SL_API sl_logger *sl_logger_child_or_null(sl_logger *parent, const sl_field *fields,
                                          size_t nfields);

/*
 * Releases the logger. When it is the last logger sharing its sinks, they
 * are closed (each within 2 s) and destroyed. NULL is a no-op. Not
 * concurrently with calls on lg.
 */
SL_API void sl_logger_free(sl_logger *lg);

/* Level: readable and settable from any thread. Out-of-range values are
 * ignored by set; get returns SL_LEVEL_OFF for NULL. */
SL_API void sl_logger_set_level(sl_logger *lg, sl_level level);
SL_API sl_level sl_logger_get_level(const sl_logger *lg);

/*
 * Flushes every sink of the logger, waiting at most timeout_ms (negative:
 * no bound). SL_ETIMEDOUT when some sink could not finish in time (the
 * first error any sink returned); SL_EINVAL for NULL.
 */
SL_API sl_status sl_logger_flush(sl_logger *lg, int timeout_ms);

/* ---- writing records --------------------------------------------------- */

/*
 * The record writer behind the macros. ctx NULL means "the calling thread's
 * current context"; otherwise *ctx is used instead (event-loop callbacks,
 * work handed to another thread); an invalid *ctx means no trace keys. src
 * may be NULL. msg NULL is written as "". fields may be NULL (nfields is
 * then ignored). level must be SL_LEVEL_TRACE..SL_LEVEL_FATAL; anything
 * else (SL_LEVEL_OFF included) writes nothing. A sink may itself log from
 * its write callback (that nested record uses a temporary buffer).
 * Never fails, never blocks unless a sink was configured to.
 */
SL_API void sl_log_write(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                         const sl_src *src, const char *msg, const sl_field *fields,
                         size_t nfields);

/* printf-style: the formatted text is the message (fmt NULL: ""). The text
 * is formatted into a per-thread buffer, at most max_record_bytes long.
 * `%n` is never honoured: a format with a %n conversion (any flags, width or
 * length modifier) is written as the message literally, and no argument is
 * read. No compiler warns about a literal "%n" (gcc 12 and clang 14 accept
 * it even with -Wformat=2, and offer no hook to add a warning), so this is
 * a run-time rule. */
SL_API void sl_log_writef(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                          const sl_src *src, const char *fmt, ...) SL__PRINTF(5, 6);
SL_API void sl_log_writev(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                          const sl_src *src, const char *fmt, va_list ap)
    SL__PRINTF(5, 0);

/* Private: the first member of every logger, read inline by the level gate. */
struct sl__logger_head {
    int level;
};

/* 1 when a record at `level` would be written by lg. NULL lg: 0. */
static inline int sl_would_log(const sl_logger *lg, sl_level level)
{
    return lg != NULL &&
           (int)level >=
               __atomic_load_n(&((const struct sl__logger_head *)(const void *)lg)->level,
                               __ATOMIC_RELAXED);
}

#define SL__SRC          (&(const sl_src){__FILE__, __func__, __LINE__})
#define SL__FIELDS_END   ((sl_field){.key = NULL, .type = SL_FIELD_NULL})
#define SL__NFIELDS(arr) (sizeof(arr) / sizeof((arr)[0]) - 1)

/* Internal: msg is the first of __VA_ARGS__, then fields, then the end marker. */
#define SL__LOG(lg, lvl, ctx, msg, ...)                                                  \
    do {                                                                                 \
        sl_logger *sl__lg = (lg);                                                        \
        if (sl_would_log(sl__lg, (lvl))) {                                               \
            const sl_field sl__f[] = {__VA_ARGS__};                                      \
            sl_log_write(sl__lg, (lvl), (ctx), SL__SRC, (msg), sl__f,                    \
                         SL__NFIELDS(sl__f));                                            \
        }                                                                                \
    } while (0)

/*
 * sl_info(lg, "msg", SL_STR("k", v), SL_INT("n", 3)) and friends. The level
 * is tested first: when it is off, no field argument is evaluated.
 */
#define sl_log(lg, lvl, ...) SL__LOG(lg, lvl, NULL, __VA_ARGS__, SL__FIELDS_END)
#define sl_trace(lg, ...)    SL__LOG(lg, SL_LEVEL_TRACE, NULL, __VA_ARGS__, SL__FIELDS_END)
#define sl_debug(lg, ...)    SL__LOG(lg, SL_LEVEL_DEBUG, NULL, __VA_ARGS__, SL__FIELDS_END)
#define sl_info(lg, ...)     SL__LOG(lg, SL_LEVEL_INFO, NULL, __VA_ARGS__, SL__FIELDS_END)
#define sl_warn(lg, ...)     SL__LOG(lg, SL_LEVEL_WARN, NULL, __VA_ARGS__, SL__FIELDS_END)
#define sl_error(lg, ...)    SL__LOG(lg, SL_LEVEL_ERROR, NULL, __VA_ARGS__, SL__FIELDS_END)
#define sl_fatal(lg, ...)    SL__LOG(lg, SL_LEVEL_FATAL, NULL, __VA_ARGS__, SL__FIELDS_END)

/* With an explicit span context (const sl_span_context *) instead of the thread's. */
#define sl_log_ctx(lg, lvl, ctx, ...) SL__LOG(lg, lvl, ctx, __VA_ARGS__, SL__FIELDS_END)

/* printf-style helpers, for migrating printf logging; the compiler checks formats. */
#define SL__LOGF(lg, lvl, ...)                                                           \
    do {                                                                                 \
        sl_logger *sl__lg = (lg);                                                        \
        if (sl_would_log(sl__lg, (lvl))) {                                               \
            sl_log_writef(sl__lg, (lvl), NULL, SL__SRC, __VA_ARGS__);                    \
        }                                                                                \
    } while (0)
#define sl_tracef(lg, ...) SL__LOGF(lg, SL_LEVEL_TRACE, __VA_ARGS__)
#define sl_debugf(lg, ...) SL__LOGF(lg, SL_LEVEL_DEBUG, __VA_ARGS__)
#define sl_infof(lg, ...)  SL__LOGF(lg, SL_LEVEL_INFO, __VA_ARGS__)
#define sl_warnf(lg, ...)  SL__LOGF(lg, SL_LEVEL_WARN, __VA_ARGS__)
#define sl_errorf(lg, ...) SL__LOGF(lg, SL_LEVEL_ERROR, __VA_ARGS__)
#define sl_fatalf(lg, ...) SL__LOGF(lg, SL_LEVEL_FATAL, __VA_ARGS__)

/* sl_child(parent, SL_STR("requestId", rid), ...): the child or NULL. */
#define sl_child(parent, ...)                                                            \
    sl_logger_child_or_null(                                                             \
        (parent), (const sl_field[]){__VA_ARGS__, SL__FIELDS_END},                       \
        sizeof((const sl_field[]){__VA_ARGS__, SL__FIELDS_END}) / sizeof(sl_field) - 1)

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_LOG_H */
