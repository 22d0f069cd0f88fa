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

/*
 * Version 2 adds max_line_bytes. A version 1 vtable (without the field)
 * keeps working: it is read as "no limit".
 */
#define SL_SINK_VTABLE_VERSION 2

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
    /* Version 2. The longest line (bytes, the '\n' included) this sink can
     * carry whole; 0: no limit. The logger encodes every record to at most
     * the smallest limit of its sinks (and its own max_record_bytes), cutting
     * field values so that the line stays one valid JSON object marked
     * "truncated":true: a sink never needs to cut a line itself. */
    size_t max_line_bytes;
} sl_sink_vtable;

/*
 * Wraps a vtable and state into a sink. The vtable must outlive the sink
 * (normally a static const). Returns SL_EINVAL (NULL vtable or write,
 * unknown version), SL_ENOMEM. On failure the state is not touched.
 */
SL_API sl_status sl_sink_new(const sl_sink_vtable *vtable, void *state, sl_sink **out);

SL_API void *sl_sink_state(const sl_sink *sink);

/*
 * Sets this sink's line limit (bytes, '\n' included; 0: none), overriding the
 * vtable's max_line_bytes: for sinks whose limit is an option. Setup-time:
 * call before the sink is added to a logger (which reads it then). NULL is
 * a no-op.
 */
SL_API void sl_sink_set_max_line_bytes(sl_sink *sink, size_t max_line_bytes);

/* The line limit in force (see above); 0: none, or sink NULL. Any thread. */
SL_API size_t sl_sink_max_line_bytes(const sl_sink *sink);
SL_API const char *sl_sink_name(const sl_sink *sink);

/*
 * Closes (with close_timeout_ms) and destroys a sink that was never added to
 * a logger. Sinks added to a logger are freed by the logger. NULL is a no-op.
 */
SL_API void sl_sink_free(sl_sink *sink, int close_timeout_ms);

/* Flushes one sink; see the flush callback. SL_OK when it has none. */
SL_API sl_status sl_sink_flush(sl_sink *sink, int timeout_ms);

/* ---- statistics and errors -------------------------------------------- */

/*
 * Caller-allocated: call sl_sink_stats_init() first, which sets `size`, so
 * that a newer library writes only what an older caller's struct holds.
 */
typedef struct sl_sink_stats {
    size_t size;      /* sizeof(sl_sink_stats) of the caller, set by _init */
    uint64_t written; /* records handed on (written, sent, or queued and later sent) */
    uint64_t dropped; /* records lost: counted, never silent */
    uint64_t errors;  /* failed operations (a record may be retried after one) */
    SL__ABI_TEST_TAIL
} sl_sink_stats;

SL_API void sl_sink_stats_init_size(sl_sink_stats *stats, size_t size);
#define sl_sink_stats_init(stats) sl_sink_stats_init_size((stats), sizeof(sl_sink_stats))

/*
 * A consistent-enough snapshot (each counter read atomically) into *out,
 * which sl_sink_stats_init() prepared (an uninitialised struct, size 0, is
 * left alone). A NULL sink gives zeros. Any thread.
 */
SL_API void sl_sink_get_stats(const sl_sink *sink, sl_sink_stats *out);

/* For adapters: atomic counter updates. Any thread. */
SL_API void sl_sink_count_written(sl_sink *sink, uint64_t n);
SL_API void sl_sink_count_dropped(sl_sink *sink, uint64_t n);
/*
 * sl_sink_count_dropped() with the reason, for the DROP event of an event
 * callback (sl_sink_set_event_callback): `code` a status that says why
 * (SL_EAGAIN: a full queue, SL_ECLOSED: closed, SL_ERANGE: too large, ...;
 * SL_OK when none applies) and `why` a short text that must outlive the
 * sink (a string literal: "queue full"); NULL is "records dropped". Any
 * thread, any lock held: the event is told later, from a safe point.
 */
SL_API void sl_sink_count_dropped_reason(sl_sink *sink, uint64_t n, sl_status code,
                                         const char *why);

/*
 * For adapters: counts one error and reports it to the error callback, at
 * most once a second per sink; errors in between are counted and their
 * number passed with the next report as `suppressed`. Without a callback
 * the report goes to stderr (see sl_set_diagnostics) and the first one is
 * kept for a callback set later. sl_sink_count_dropped() likewise tells
 * stderr, at most once a second, when the sink has no callback.
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

/*
 * Setup-time: set before the sink is used from several threads. An error
 * the sink reported before a callback was set (the syslog sink's first
 * connection error happens in its constructor) is passed to fn at once,
 * from this call, with suppressed = the errors counted since it. fn NULL
 * removes the callback. Records dropped are not told to an sl_error_fn
 * (read them in sl_sink_get_stats, or use an event callback, below); it
 * replaces an event callback set before.
 */
SL_API void sl_sink_set_error_callback(sl_sink *sink, sl_error_fn fn, void *user);

/*
 * Events: errors and drops told apart. An event callback receives both,
 * each as an sl_sink_event that says which it is:
 *
 *   SL_SINK_EVENT_ERROR  what sl_error_fn receives: code, text, and in
 *                        `count` the errors not told since the last one;
 *                        at most once a second per sink.
 *   SL_SINK_EVENT_DROP   records were dropped: `count` of them since the
 *                        last DROP event, `total` the sink's dropped counter,
 *                        `code` and `text` the reason of the latest drop
 *                        (sl_sink_count_dropped_reason; "records dropped"
 *                        when the adapter gave none). At most once a second
 *                        per sink, and once more when the sink closes with
 *                        drops not told yet, so that the counts of all DROP
 *                        events add up to `total` at close.
 *
 * `ev` and its text are valid during the call only. A DROP event is never
 * told under a lock of the sink (a drop is often counted under one): it
 * comes from the next safe point, which is the sink's worker between
 * batches (Loki, OTLP, syslog over TCP), sl_sink_report_error() (which
 * adapters call outside their locks; the pending drops are told just before
 * the error), sl_sink_flush() and close. So the callback may log, even to a
 * logger that holds this sink (not with a blocking overflow policy, though:
 * from the worker, a full queue would then wait for itself). The thread is
 * whichever reached the safe point: a logging thread, the worker, or the
 * one that flushes or closes. Struct lent by the library: it may grow at
 * its end; read only the fields you know.
 */
typedef enum sl_sink_event_kind {
    SL_SINK_EVENT_ERROR = 1,
    SL_SINK_EVENT_DROP = 2
} sl_sink_event_kind;

typedef struct sl_sink_event {
    sl_sink_event_kind kind;
    sl_status code;   /* ERROR: the error; DROP: why (SL_OK: not said) */
    const char *text; /* ERROR: the message; DROP: the reason ("queue full") */
    uint64_t count;   /* ERROR: errors not told since; DROP: records since the last */
    uint64_t total;   /* the sink's error or dropped counter, after this event */
} sl_sink_event;

typedef void (*sl_sink_event_fn)(void *user, const sl_sink *sink,
                                 const sl_sink_event *ev);

/*
 * Setup-time, like sl_sink_set_error_callback(), which it replaces (one
 * callback per sink). On installing it, an error kept from before is told at
 * once (as with the error callback), then the drops it has not heard of
 * (all since the sink was made, the first time), as one DROP event. fn NULL
 * removes it. With an event callback nothing goes to stderr.
 */
SL_API void sl_sink_set_event_callback(sl_sink *sink, sl_sink_event_fn fn, void *user);

/*
 * Diagnostics: what happens to a sink's errors and drops when it has no
 * error callback. SL_DIAG_STDERR (the default) writes one short line per
 * sink and kind at most once a second to stderr, naming the sink and what
 * it was made from:
 *     spanlog: loki http://127.0.0.1:3100: push: HTTP 503 (2 more suppressed)
 *     spanlog: loki http://127.0.0.1:3100: 1,024 records dropped (1,024 in total)
 * plus a final line with the drops not yet reported when the sink closes,
 * and once per logger when a child logger could not be made. SL_DIAG_OFF
 * writes nothing (the counters still count). Until sl_set_diagnostics() is
 * called, SPANLOG_DIAG=off|stderr chooses (read once, at the first
 * diagnostic). Any thread; unknown values are ignored.
 */
typedef enum sl_diag { SL_DIAG_OFF = 0, SL_DIAG_STDERR = 1 } sl_diag;
SL_API void sl_set_diagnostics(sl_diag mode);
SL_API sl_diag sl_get_diagnostics(void);

/* ---- a null sink (benchmarks, tests): counts and discards ---------------- */
SL_API sl_status sl_null_sink_new(sl_sink **out);

/*
 * Creates a sink from a textual target, as used by SPANLOG_SINK and
 * spanlog-pipe --sink:
 *   "stdout", "stderr", "null", "file:PATH" (O_APPEND), "pretty",
 *   "pretty:stdout", "pretty:stderr" (the console format, pretty.h), all
 *   but null optionally with "?key=value&..." (buffered=1, async=1,
 *   color=never, ...; files also max_bytes=10M, max_files=N,
 *   rotate=daily|hourly|Nh, compress=1, utc=1: stdout.h),
 *   "syslog:" ("syslog:unix:/dev/log", "syslog:udp://host:port",
 *   "syslog:tcp://host:port?key=value"; "syslog" alone is the local socket;
 *   options from SPANLOG_SYSLOG_* first),
 *   "loki:URL" (the push endpoint's base URL, used whole; options from
 *   SPANLOG_LOKI_*), "otlp" or "otlp:URL" (OTLP/HTTP logs; options from
 *   OTEL_*: otlp.h).
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
 * anything (no file, socket, thread or connection; the adapter's variables,
 * SPANLOG_SYSLOG_* or SPANLOG_LOKI_*, are read and checked too), so that a
 * list of targets can be checked whole before any is opened, or untrusted
 * text can be judged. Allocates only temporarily; never keeps uri. Returns
 * SL_OK or sl_sink_from_uri's errors, with err (may be NULL) filled; uri
 * NULL is SL_EINVAL. Thread-safe while nothing changes the environment.
 */
SL_API sl_status sl_sink_uri_check(const char *uri, sl_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_SINK_H */
