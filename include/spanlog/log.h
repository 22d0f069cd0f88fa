/*
 * spanlog/log.h - loggers, typed fields, child loggers and the log macros.
 *
 * Threading: a logger may be used from any number of threads at once. It is
 * immutable once it has been shared, except for its level, which any thread
 * may change at any time (an atomic; children follow it). Log calls return
 * void: logging never fails the caller; what a sink could not write is
 * counted (sl_sink_stats, sl_logger_get_stats) and, unless a callback or
 * SPANLOG_DIAG=off says otherwise, told on stderr.
 *
 * Blocking: the logger itself takes no lock on the record path, but most
 * sinks do: the fd/stdout sink holds a mutex across each write(2), the Loki
 * and syslog TCP sinks lock their queue (docs/threading.md). A sink blocks
 * the caller only when configured to (a blocking fd that is full, syslog
 * timeout_ms, Loki SL_LOKI_BLOCK).
 *
 * Platform: Linux with glibc (pthreads, GNU strerror_r, glibc's adaptive
 * mutexes, /dev/log, O_CLOEXEC, SO_* options). The headers themselves are
 * C11 and C++17, for any compiler.
 *
 * Ownership: fields, messages and contexts passed to log calls are borrowed
 * for the duration of the call only. Option strings are copied at create.
 *
 * Memory: a record is encoded into a buffer owned by the calling thread
 * (grown once to the largest max_record_bytes it meets, freed when the
 * thread exits), so logging makes no heap allocation in steady state. The
 * macros' call-site table (about 23 KiB: each site's checked keys and
 * literal message) is allocated at the thread's first macro call and freed
 * with the buffer. One exception: vsnprintf may allocate for some
 * conversions (%ls, huge precisions).
 *
 * Size limit: a line (newline included) is never longer than
 * max_record_bytes. A longer record is cut inside its largest strings (msg
 * and the call's string fields, all cut to one common length so short ones
 * stay whole, on UTF-8 boundaries) and gets "truncated":true as its last key.
 * When even that cannot fit (huge keys or embedded JSON), the record keeps
 * only the head keys (time, level, msg cut to fit, service, trace ids) and
 * "truncated":true.
 *
 * At exit: the library's one atexit handler flushes every live sink, within 2 s
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
 * values (no heap allocation), valid in C11 and C++17/20. Keys are escaped like
 * any string; a NULL key is written as "". Duplicate keys are written as
 * given (JSON parsers keep the last).
 *
 * key_len is strlen(key), or 0 for "not known: measure it", in its low 31
 * bits; bit 31 (SL__KEY_PLAIN) says the key needs no JSON escaping. The
 * macros set both when the key is a compile-time constant (a literal key
 * then costs neither a strlen nor an escape check per record; GCC and clang
 * fold them) and leave 0 otherwise. A field built by hand must set key_len
 * to 0 or to the key's exact length, without the bit (designated
 * initialisers that omit it give 0): the encoder trusts both.
 */
typedef struct sl_field {
    const char *key;
    sl_field_type type;
    uint32_t key_len; /* strlen(key) | SL__KEY_PLAIN, or 0: unknown (was padding) */
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

#define SL__KEY_PLAIN   0x80000000u
#define SL__KEY_LEN_MAX 0x7fffffffu

/*
 * strlen(k) (0 for NULL or a key longer than SL__KEY_LEN_MAX: "unknown").
 * Used by SL__KEY_LEN only where the compiler sees a constant key, where it
 * folds.
 */
static inline uint32_t sl__key_len(const char *k)
{
    if (k == NULL) {
        return 0;
    }
#if defined(__GNUC__) || defined(__clang__)
    size_t n = __builtin_strlen(k);
#else
    size_t n = 0;
    while (k[n] != '\0') {
        n++;
    }
#endif
    return n > SL__KEY_LEN_MAX ? 0 : (uint32_t)n;
}
/* strlen(s), SL_NPOS for NULL: SL__STR_LEN's, for constant values. */
static inline size_t sl__str_len(const char *s)
{
    if (s == NULL) {
        return SL_NPOS;
    }
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_strlen(s);
#else
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
#endif
}
#if defined(__GNUC__) || defined(__clang__)
/*
 * Whether a constant key of up to 16 bytes is printable ASCII without '"'
 * or '\\' (its own JSON string body): an expression the compiler folds for
 * a literal, used only under __builtin_constant_p (never evaluated at run
 * time otherwise). It reads no byte past sizeof(k) (a literal's size, or a
 * pointer's: then at most its first 8 bytes), and a NULL key as 16 NULs.
 * Longer keys are "not known" and checked per record.
 */
/* clang-format off */
#define SL__KC(c) \
    ((unsigned char)(c) >= 0x20 && (unsigned char)(c) < 0x80 && (c) != '"' && (c) != '\\')
#define SL__KS(k, i, rest) \
    ((i) < sizeof(k) && (SL__KE(k)[i] == 0 || (SL__KC(SL__KE(k)[i]) && (rest))))
#define SL__KE(k) \
    ((const char *)(k) != NULL ? (const char *)(k) : "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")
#define SL__KPLAIN(k) \
    SL__KS(k, 0, SL__KS(k, 1, SL__KS(k, 2, SL__KS(k, 3, \
    SL__KS(k, 4, SL__KS(k, 5, SL__KS(k, 6, SL__KS(k, 7, \
    SL__KS(k, 8, SL__KS(k, 9, SL__KS(k, 10, SL__KS(k, 11, \
    SL__KS(k, 12, SL__KS(k, 13, SL__KS(k, 14, SL__KS(k, 15, 0))))))))))))))))
/* clang-format on */
/* k is evaluated once: __builtin_constant_p never evaluates its operand, and
 * it is true only for an expression without side effects. */
#define SL__KEY_LEN(k)                                                                   \
    ((__builtin_constant_p(k) ? sl__key_len(k) : 0u) |                                   \
     (__builtin_constant_p(SL__KPLAIN(k)) && SL__KPLAIN(k) ? SL__KEY_PLAIN : 0u))
/* The same for a string value: its length when constant, else SL_NPOS
 * ("NUL-terminated: measure it"); a NULL value stays SL_NPOS (null). */
#define SL__STR_LEN(s) (__builtin_constant_p(s) ? sl__str_len(s) : SL_NPOS)
/* A message's length when it is a string literal (its pointer is a
 * compile-time constant, so it always holds the same bytes), else SL_NPOS;
 * NULL stays SL_NPOS. A pointer to a buffer is never "constant" this way:
 * gcc and clang fold __builtin_constant_p only for a literal's address. */
#define SL__MSG_LEN(m) SL__STR_LEN(m)
#else
#define SL__MSG_LEN(m) SL_NPOS
#define SL__KEY_LEN(k) 0u
#define SL__STR_LEN(s) SL_NPOS
#endif

/*
 * The constructors behind the SL_* macros in C++ (a C compound literal is
 * not C++); C keeps its compound literals. Both build the same sl_field;
 * kl is SL__KEY_LEN(key), computed by the macro where the key is written.
 */
static inline sl_field sl__field(const char *key, uint32_t kl, sl_field_type type,
                                 size_t len)
{
    sl_field f;
    f.key = key;
    f.type = type;
    f.key_len = kl;
    f.len = len;
    f.v.u = 0;
    return f;
}
static inline sl_field sl__field_str(const char *key, uint32_t kl, const char *s,
                                     size_t len)
{
    sl_field f = sl__field(key, kl, SL_FIELD_STR, len);
    f.v.s = s;
    return f;
}
static inline sl_field sl__field_int(const char *key, uint32_t kl, sl_field_type type,
                                     int64_t i)
{
    sl_field f = sl__field(key, kl, type, 0);
    f.v.i = i;
    return f;
}
static inline sl_field sl__field_uint(const char *key, uint32_t kl, uint64_t u)
{
    sl_field f = sl__field(key, kl, SL_FIELD_UINT, 0);
    f.v.u = u;
    return f;
}
static inline sl_field sl__field_double(const char *key, uint32_t kl, double d)
{
    sl_field f = sl__field(key, kl, SL_FIELD_DOUBLE, 0);
    f.v.d = d;
    return f;
}
static inline sl_field sl__field_bool(const char *key, uint32_t kl, bool b)
{
    sl_field f = sl__field(key, kl, SL_FIELD_BOOL, 0);
    f.v.b = b;
    return f;
}
static inline sl_field sl__field_json(const char *key, uint32_t kl,
                                      const struct json_t *j)
{
    sl_field f = sl__field(key, kl, SL_FIELD_JSON, 0);
    f.v.json = j;
    return f;
}

#ifdef __cplusplus
#define SL_STR(k, str)     sl__field_str((k), SL__KEY_LEN(k), (str), SL__STR_LEN(str))
#define SL_STRN(k, str, n) sl__field_str((k), SL__KEY_LEN(k), (str), (n))
#define SL_INT(k, x)       sl__field_int((k), SL__KEY_LEN(k), SL_FIELD_INT, (int64_t)(x))
#define SL_UINT(k, x)      sl__field_uint((k), SL__KEY_LEN(k), (uint64_t)(x))
#define SL_DOUBLE(k, x)    sl__field_double((k), SL__KEY_LEN(k), (double)(x))
#define SL_BOOL(k, x)      sl__field_bool((k), SL__KEY_LEN(k), (x) ? true : false)
#define SL_NULL(k)         sl__field((k), SL__KEY_LEN(k), SL_FIELD_NULL, 0)
#define SL_ERRNO(k, e)     sl__field_int((k), SL__KEY_LEN(k), SL_FIELD_ERRNO, (int64_t)(e))
#define SL_JSON(k, j)      sl__field_json((k), SL__KEY_LEN(k), (j))
#else
/* C: compound literals, as before (lvalues: &SL_STR(...) stays valid C).
 * Every member is named, .len too: GCC then stores the fields instead of
 * zeroing the whole array first. */
#define SL__F(k, t)        .key = (k), .type = (t), .key_len = SL__KEY_LEN(k), .len = 0
#define SL__FS(k)          .key = (k), .type = SL_FIELD_STR, .key_len = SL__KEY_LEN(k)
#define SL_STR(k, str)     ((sl_field){SL__FS(k), .len = SL__STR_LEN(str), .v.s = (str)})
#define SL_STRN(k, str, n) ((sl_field){SL__FS(k), .len = (n), .v.s = (str)})
#define SL_INT(k, x)       ((sl_field){SL__F(k, SL_FIELD_INT), .v.i = (int64_t)(x)})
#define SL_UINT(k, x)      ((sl_field){SL__F(k, SL_FIELD_UINT), .v.u = (uint64_t)(x)})
#define SL_DOUBLE(k, x)    ((sl_field){SL__F(k, SL_FIELD_DOUBLE), .v.d = (double)(x)})
#define SL_BOOL(k, x)      ((sl_field){SL__F(k, SL_FIELD_BOOL), .v.b = (x) ? true : false})
#define SL_NULL(k)         ((sl_field){SL__F(k, SL_FIELD_NULL), .v.u = 0})
#define SL_ERRNO(k, e)     ((sl_field){SL__F(k, SL_FIELD_ERRNO), .v.i = (int64_t)(e)})
#define SL_JSON(k, j)      ((sl_field){SL__F(k, SL_FIELD_JSON), .v.json = (j)})
#endif

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
    size_t size;         /* sizeof(sl_logger_options) of the caller: set by _init */
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
    SL__ABI_TEST_TAIL
} sl_logger_options;

#define SL_MAX_BAGGAGE_KEYS 16

/*
 * Fills *opts with the defaults and sets opts->size. A macro, so that the
 * size is the caller's sizeof (a newer library then writes no further than
 * an older caller's struct holds); sl_logger_options_init_size() is the
 * function behind it, for bindings. Every options and stats struct of the
 * library works this way (see docs/abi.md). NULL is a no-op.
 */
SL_API void sl_logger_options_init_size(sl_logger_options *opts, size_t size);
#define sl_logger_options_init(opts)                                                     \
    sl_logger_options_init_size((opts), sizeof(sl_logger_options))

/*
 * Creates a logger with no sinks (records go nowhere until one is added).
 * opts may be NULL for the defaults. Returns SL_EINVAL (out NULL, an option
 * out of range, opts not prepared by sl_logger_options_init), SL_ENOMEM.
 */
SL_API sl_status sl_logger_new(const sl_logger_options *opts, sl_logger **out);

/*
 * A ready logger from the environment: SPANLOG_LEVEL (default info),
 * OTEL_SERVICE_NAME (overrides `service`), SPANLOG_FORMAT (a profile name,
 * or pretty|auto for the console), SPANLOG_MAX_RECORD_BYTES, SPANLOG_CALLER
 * (a bool), SPANLOG_BAGGAGE_KEYS, SPANLOG_SAMPLING and SPANLOG_REDACT*
 * (filter.h), SPANLOG_LEVEL_FILE (control.h), and the sinks of SPANLOG_SINK
 * (default "stdout"; targets as for sl_sink_from_uri). Adapters add their
 * own variables: SPANLOG_SYSLOG and SPANLOG_LOKI_URL each add a sink,
 * SPANLOG_SYSLOG_* and SPANLOG_LOKI_* set their options, OTEL_* set up the
 * OTLP exporters; library-wide, SPANLOG_DIAG (sink.h: sl_set_diagnostics)
 * and the OTEL_TRACES_SAMPLER variables (span.h). Every variable, with its
 * type, default and range: docs/configuration.md. Booleans are
 * 1/0/true/false/yes/no/on/off (case-insensitive), numbers decimal digits
 * only (no blanks, no '+'). Every sink target is parsed and checked before
 * any sink is opened. A value that does not follow its grammar is an error
 * (SL_EPARSE, or SL_ERANGE out of range), never silently ignored; err (may
 * be NULL; initialise it with sl_error_init) names the variable, the value
 * (never a secret) and the position of the fault. The sinks it makes are
 * reachable through the logger (sl_logger_sink_at, sl_logger_sink_by_name)
 * for statistics and error callbacks; until a callback is set, their errors
 * and drops are told on stderr. On success *out belongs to the caller
 * (sl_logger_free). Call it from one thread at a time, while nothing
 * changes the environment.
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

/*
 * Convenience for sl_child(). On failure (out of memory, bound fields too
 * large) it returns the parent itself, so that records are not lost: they
 * reach the sinks without the child's fields. The failure is counted
 * (sl_logger_stats.child_failures) and told once per logger family on
 * stderr (see sl_set_diagnostics). Free the result with sl_logger_free() as
 * usual: for a fallback that drops only this use of the parent. Since it is
 * the parent, sl_logger_set_level() on a fallback sets the parent's level.
 * NULL only when parent is NULL (a NULL logger is a no-op). Thread-safe.
 */
SL_API sl_logger *sl_logger_child_or_null(sl_logger *parent, const sl_field *fields,
                                          size_t nfields);

/*
 * Releases the logger. When it is the last logger sharing its sinks, they
 * are closed (each within 2 s) and destroyed. NULL is a no-op. Not
 * concurrently with calls on lg.
 */
SL_API void sl_logger_free(sl_logger *lg);

/*
 * Level: readable and settable from any thread. Setting a logger's level
 * sets it on every existing descendant that follows its parent: a child
 * follows its parent until sl_logger_set_level() is called on the child
 * itself (its level is then explicit, and it passes that level on to its
 * own descendants). sl_logger_inherit_level() makes a child follow its
 * parent again, taking the parent's current level. A child whose parent is
 * freed follows its grandparent. Out-of-range values are ignored by set;
 * after sl_logger_shutdown() set is ignored; get returns SL_LEVEL_OFF for
 * NULL. The record path still makes one relaxed load: setting takes a lock
 * and walks the children, logging does not.
 */
SL_API void sl_logger_set_level(sl_logger *lg, sl_level level);
SL_API void sl_logger_inherit_level(sl_logger *lg);
SL_API sl_level sl_logger_get_level(const sl_logger *lg);

/*
 * Flushes every sink of the logger, waiting at most timeout_ms (negative:
 * no bound). SL_ETIMEDOUT when some sink could not finish in time (the
 * first error any sink returned); SL_EINVAL for NULL.
 */
SL_API sl_status sl_logger_flush(sl_logger *lg, int timeout_ms);

/* ---- sinks, statistics and shutdown ------------------------------------- */

/*
 * The sinks of lg (shared by its family: the same for a child and its
 * root), in the order they were added, including those made from the
 * environment by sl_logger_from_env(). Use them for sl_sink_get_stats() and
 * sl_sink_set_error_callback() (set the callback before logging from
 * several threads). The logger owns them: do not free them. by_name matches
 * sl_sink_name() ("fd", "syslog", "loki", "null", ...), first match. NULL
 * (count 0) for a NULL logger, an index past the end or no match. Any
 * thread once setup is done.
 */
SL_API size_t sl_logger_sink_count(const sl_logger *lg);
SL_API sl_sink *sl_logger_sink_at(const sl_logger *lg, size_t index);
SL_API sl_sink *sl_logger_sink_by_name(const sl_logger *lg, const char *name);

/*
 * Totals over every sink of a logger. Caller-allocated: call
 * sl_logger_stats_init() first (it sets `size`, so that a newer library
 * fills only what an older caller's struct has room for).
 */
typedef struct sl_logger_stats {
    size_t size;             /* sizeof(sl_logger_stats) of the caller */
    uint64_t written;        /* sum of sl_sink_stats.written over the sinks */
    uint64_t dropped;        /* sum of .dropped: records lost, never silently */
    uint64_t errors;         /* sum of .errors */
    size_t nsinks;           /* number of sinks */
    uint64_t child_failures; /* sl_child calls that fell back to their parent */
    SL__ABI_TEST_TAIL
} sl_logger_stats;

SL_API void sl_logger_stats_init_size(sl_logger_stats *stats, size_t size);
#define sl_logger_stats_init(stats)                                                      \
    sl_logger_stats_init_size((stats), sizeof(sl_logger_stats))

/* Fills *out (initialised by sl_logger_stats_init). SL_EINVAL for NULL or
 * an uninitialised struct. Any thread. */
SL_API sl_status sl_logger_get_stats(const sl_logger *lg, sl_logger_stats *out);

/*
 * Shuts down lg's family: every logger sharing its sinks turns off (later
 * records are discarded, as at level off), then each sink is flushed and
 * closed within timeout_ms in total (negative: no bound); what a sink could
 * not deliver by then is dropped and counted. The loggers and sinks stay
 * readable (statistics, sl_logger_sink_at) until freed, so counts read after
 * this call are final. Idempotent. Not concurrently with log calls on the
 * family (it is the end of logging). Returns SL_OK, SL_ETIMEDOUT (some sink
 * could not finish in time: records dropped), the first other error a
 * sink's flush or close returned, SL_EINVAL for NULL.
 */
SL_API sl_status sl_logger_shutdown(sl_logger *lg, int timeout_ms);

/*
 * sl_logger_shutdown(), then the final totals into *final_stats (may be
 * NULL; initialise it with sl_logger_stats_init), then sl_logger_free(lg).
 * Returns what shutdown returned, or SL_EIO when it succeeded but records
 * were dropped at some point (final_stats->dropped > 0): SL_OK means every
 * record was delivered. Other loggers of the family must still be freed.
 */
SL_API sl_status sl_logger_close(sl_logger *lg, int timeout_ms,
                                 sl_logger_stats *final_stats);

/* ---- writing records --------------------------------------------------- */

/*
 * The record writer behind the macros. ctx NULL means "the calling thread's
 * current context"; otherwise *ctx is used instead (event-loop callbacks,
 * work handed to another thread); an invalid *ctx means no trace keys. src
 * may be NULL. msg NULL is written as "". fields may be NULL (nfields is
 * then ignored). level must be SL_LEVEL_TRACE..SL_LEVEL_FATAL; anything
 * else (SL_LEVEL_OFF included) writes nothing. A sink may itself log from
 * its write callback (that nested record uses a temporary buffer).
 * Never fails. It takes the locks its sinks take (see "Blocking" above) and
 * waits only where a sink was configured to.
 */
SL_API void sl_log_write(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                         const sl_src *src, const char *msg, const sl_field *fields,
                         size_t nfields);

/*
 * Private: the macros' entry, sl_log_write with what the call site knows.
 * site is the call site's own static sl_src (never NULL, never a copy), and
 * every key flagged SL__KEY_PLAIN has compile-time constant bytes. msg_len
 * is msg's length when msg is a string literal, else SL_NPOS. The
 * record written is byte for byte the one sl_log_write would write; the
 * site's checks (its keys, its literal message) are made once per thread
 * instead of per record. Ownership and thread-safety as sl_log_write.
 */
SL_API void sl__log_site(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                         const sl_src *site, const char *msg, size_t msg_len,
                         const sl_field *fields, size_t nfields);

/*
 * Private: the per-thread call-site caches find sites by address, so every
 * translation unit that includes this header tells the library when it is
 * unloaded (a dlclose()d plugin): the caches are then dropped before any
 * thread's next record, and a library mapped later at the same addresses is
 * never served the old keys or messages. Safe at any time, from any thread.
 */
SL_API void sl__sites_forget(void);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((destructor, unused)) static void sl__sites_unit_unloaded(void)
{
    sl__sites_forget();
}
#endif

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

/*
 * The level gate's one relaxed load. GCC and clang (C and C++) have the
 * __atomic builtins; another C11 compiler with <stdatomic.h> gets its
 * explicit load; anything else a volatile aligned int load, which is
 * single-copy atomic on every platform spanlog supports.
 */
#if defined(__GNUC__) || defined(__clang__)
#define SL__LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) &&                              \
    __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define SL__LOAD_RELAXED(p)                                                              \
    atomic_load_explicit((const volatile _Atomic int *)(p), memory_order_relaxed)
#else
#define SL__LOAD_RELAXED(p) (*(const volatile int *)(p))
#endif

/* 1 when a record at `level` would be written by lg. NULL lg: 0. */
static inline int sl_would_log(const sl_logger *lg, sl_level level)
{
    return lg != NULL &&
           (int)level >= SL__LOAD_RELAXED(
                             &((const struct sl__logger_head *)(const void *)lg)->level);
}

/* A block-scope static: valid C and C++, and one copy per call site. */
#define SL__SRC_DECL     static const sl_src sl__src = {__FILE__, __func__, __LINE__}
#define SL__FIELDS_END   SL_NULL(NULL)
#define SL__NFIELDS(arr) (sizeof(arr) / sizeof((arr)[0]) - 1)

/* Internal: msg is the first of __VA_ARGS__, then fields, then the end marker. */
#define SL__LOG(lg, lvl, ctx, msg, ...)                                                  \
    do {                                                                                 \
        sl_logger *sl__lg = (lg);                                                        \
        if (sl_would_log(sl__lg, (lvl))) {                                               \
            SL__SRC_DECL;                                                                \
            const sl_field sl__f[] = {__VA_ARGS__};                                      \
            sl__log_site(sl__lg, (lvl), (ctx), &sl__src, (msg), SL__MSG_LEN(msg), sl__f, \
                         SL__NFIELDS(sl__f));                                            \
        }                                                                                \
    } while (0)

/*
 * sl_info(lg, "msg", SL_STR("k", v), SL_INT("n", 3)) and friends. The level
 * is tested first: when it is off, no field argument is evaluated.
 *
 * sl_fatal / sl_fatalf write a record at level "fatal" and return, like
 * every other level: they neither flush nor end the program. For "log, make
 * sure it is out, then abort", call sl_logger_flush(lg, timeout_ms) (or
 * sl_logger_shutdown) and then abort() yourself: spanlog leaves the choice
 * of how a program dies (abort, exit code, core dump) to the program.
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
            SL__SRC_DECL;                                                                \
            sl_log_writef(sl__lg, (lvl), NULL, &sl__src, __VA_ARGS__);                   \
        }                                                                                \
    } while (0)
#define sl_tracef(lg, ...) SL__LOGF(lg, SL_LEVEL_TRACE, __VA_ARGS__)
#define sl_debugf(lg, ...) SL__LOGF(lg, SL_LEVEL_DEBUG, __VA_ARGS__)
#define sl_infof(lg, ...)  SL__LOGF(lg, SL_LEVEL_INFO, __VA_ARGS__)
#define sl_warnf(lg, ...)  SL__LOGF(lg, SL_LEVEL_WARN, __VA_ARGS__)
#define sl_errorf(lg, ...) SL__LOGF(lg, SL_LEVEL_ERROR, __VA_ARGS__)
#define sl_fatalf(lg, ...) SL__LOGF(lg, SL_LEVEL_FATAL, __VA_ARGS__)

/*
 * sl_child(parent, SL_STR("requestId", rid), ...): the child; sl_child(parent)
 * with no fields is valid. See sl_logger_child_or_null() for failure.
 */
#define sl_child(...) SL__CHILD(__VA_ARGS__, SL__FIELDS_END)
#ifdef __cplusplus
#define SL__CHILD(parent, ...)                                                           \
    ([&]() -> sl_logger * {                                                              \
        const sl_field sl__f[] = {__VA_ARGS__};                                          \
        return sl_logger_child_or_null((parent), sl__f, SL__NFIELDS(sl__f));             \
    }())
#else
#define SL__CHILD(parent, ...)                                                           \
    sl_logger_child_or_null((parent), (const sl_field[]){__VA_ARGS__},                   \
                            sizeof((const sl_field[]){__VA_ARGS__}) / sizeof(sl_field) - \
                                1)
#endif

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_LOG_H */
