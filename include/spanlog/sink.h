/*
 * spanlog/sink.h - the sink contract, for adapter authors and users who
 * write their own sinks, and the statistics every sink keeps.
 *
 * A sink is a small versioned vtable plus a `void *` state, wrapped by the
 * library in an sl_sink that also holds the counters and the error callback.
 *
 *     logger ──record──▶ sl_sink { vtable, state, counters, on_error }
 *                           │ write(sink, record view, JSON line)
 *                           ▼
 *                        adapter state (fd, socket, queue + worker ...)
 */
#ifndef SPANLOG_SINK_H
#define SPANLOG_SINK_H

#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A read-only view of one record, valid only during the write callback.
 * Strings are not NUL-terminated unless stated; lengths are in bytes and the
 * bytes are what the logger received (not yet escaped or UTF-8-repaired).
 */
typedef struct sl_record {
    sl_level level;
    int64_t time_ns; /* CLOCK_REALTIME, nanoseconds since the epoch */
    const char *msg; /* never NULL */
    size_t msg_len;
    const char *service;        /* NUL-terminated, or NULL when not set */
    const sl_span_context *ctx; /* NULL when no valid span context applies */
    const sl_field *bound;      /* the logger's bound fields (outermost parent first) */
    size_t nbound;
    const sl_field *fields; /* the call's fields */
    size_t nfields;
    const sl_src *src; /* NULL when unknown */
    bool truncated;    /* the encoded line was shortened to fit the size limit */
} sl_record;

#define SL_SINK_VTABLE_VERSION 1

/*
 * The callbacks. Every one receives the sl_sink; sl_sink_state() gives the
 * state pointer passed to sl_sink_new().
 *
 * write:  required. Called on the logging thread, from many threads at once:
 *         it must be thread-safe and should not block. `line` is the encoded
 *         record, `len` bytes ending in '\n' (line[len] is NUL). It must
 *         count what it does with sl_sink_count_written()/_dropped() and
 *         sl_sink_report_error().
 * flush:  optional. Push out buffered records, waiting at most timeout_ms
 *         (negative: no bound). SL_ETIMEDOUT when it could not finish.
 * close:  optional. Called once before destroy: drain within timeout_ms,
 *         then drop (and count) whatever is left. No write follows it.
 * destroy: optional. Release the state. Called once, last.
 * atfork_prepare / atfork_parent / atfork_child: optional. Called around
 *         fork() (from pthread_atfork handlers) for every live sink, so that
 *         a sink can hold its locks across fork and restart its threads (or
 *         report itself closed) in the child. They must not call malloc.
 */
typedef struct sl_sink_vtable {
    int version; /* SL_SINK_VTABLE_VERSION */
    const char *name;
    void (*write)(sl_sink *sink, const sl_record *rec, const char *line, size_t len);
    sl_status (*flush)(sl_sink *sink, int timeout_ms);
    sl_status (*close)(sl_sink *sink, int timeout_ms);
    void (*destroy)(sl_sink *sink);
    void (*atfork_prepare)(sl_sink *sink);
    void (*atfork_parent)(sl_sink *sink);
    void (*atfork_child)(sl_sink *sink);
} sl_sink_vtable;

/*
 * Wraps a vtable and state into a sink. The vtable must outlive the sink
 * (normally a static const). Returns SL_EINVAL (NULL vtable or write,
 * unknown version), SL_ENOMEM. On failure the state is not touched.
 */
SL_API sl_status sl_sink_new(const sl_sink_vtable *vtable, void *state, sl_sink **out);

SL_API void *sl_sink_state(const sl_sink *sink);
SL_API const char *sl_sink_name(const sl_sink *sink);

/*
 * Closes (with close_timeout_ms) and destroys a sink that was never added to
 * a logger. Sinks added to a logger are freed by the logger. NULL is a no-op.
 */
SL_API void sl_sink_free(sl_sink *sink, int close_timeout_ms);

/* Flushes one sink; see the flush callback. SL_OK when it has none. */
SL_API sl_status sl_sink_flush(sl_sink *sink, int timeout_ms);

/* ---- statistics and errors -------------------------------------------- */

typedef struct sl_sink_stats {
    uint64_t written; /* records handed on (written, sent, or queued and later sent) */
    uint64_t dropped; /* records lost: counted, never silent */
    uint64_t errors;  /* failed operations (a record may be retried after one) */
} sl_sink_stats;

/* A consistent-enough snapshot (each counter read atomically). Any thread. */
SL_API void sl_sink_get_stats(const sl_sink *sink, sl_sink_stats *out);

/* For adapters: atomic counter updates. Any thread. */
SL_API void sl_sink_count_written(sl_sink *sink, uint64_t n);
SL_API void sl_sink_count_dropped(sl_sink *sink, uint64_t n);

/*
 * For adapters: counts one error and reports it to the error callback, at
 * most once a second per sink; errors in between are counted and their
 * number passed with the next report as `suppressed`.
 */
SL_API void sl_sink_report_error(sl_sink *sink, sl_status code, const char *fmt, ...)
    SL__PRINTF(3, 4);

/*
 * The error callback: called on whichever thread hit the error (a logging
 * thread or the sink's worker), never more than once a second per sink, never
 * with a lock of the caller's held. `text` is valid during the call only.
 */
typedef void (*sl_error_fn)(void *user, const sl_sink *sink, sl_status code,
                            const char *text, uint64_t suppressed);

/* Setup-time: set before the sink is used from several threads. */
SL_API void sl_sink_set_error_callback(sl_sink *sink, sl_error_fn fn, void *user);

/* ---- a null sink (benchmarks, tests): counts and discards ---------------- */
SL_API sl_status sl_null_sink_new(sl_sink **out);

/*
 * Creates a sink from a textual target, as used by SPANLOG_SINK and
 * spanlog-pipe --sink:
 *   "stdout", "stderr", "null", "file:PATH" (O_APPEND), each of the first
 *   and the last optionally with "?buffered=1&buffer_size=N",
 *   "syslog:" ("syslog:unix:/dev/log", "syslog:udp://host:port",
 *   "syslog:tcp://host:port?key=value"; "syslog" alone is the local socket;
 *   options from SPANLOG_SYSLOG_* first),
 *   "loki:URL" (the push endpoint's base URL, used whole; options from
 *   SPANLOG_LOKI_*).
 * Schemes are case-insensitive; the keys and variables of every adapter
 * are listed in docs/configuration.md. The whole target is parsed and
 * checked before anything is opened.
 * Returns SL_EINVAL (NULL), SL_EPARSE (unknown scheme, malformed target or
 * unknown key), SL_ERANGE (a number out of range), SL_ENOTSUP (an adapter
 * this build left out, e.g. loki with -DSPANLOG_WITH_LOKI=OFF), or what the
 * adapter's constructor returns; err (may be NULL) says what is wrong, with
 * the option or variable, the value (never a secret) and the position.
 * On success *out belongs to the caller (give it to a logger or free it);
 * on failure *out is NULL. Thread-safe.
 */
SL_API sl_status sl_sink_from_uri(const char *uri, sl_sink **out, sl_error *err);

/*
 * Parses and checks a target as sl_sink_from_uri() does, without opening
 * anything (no file, socket or thread), so that a list of targets can be
 * checked whole before any is opened. Returns SL_OK or sl_sink_from_uri's
 * errors, with err (may be NULL) filled. Thread-safe.
 */
SL_API sl_status sl_sink_uri_check(const char *uri, sl_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_SINK_H */
