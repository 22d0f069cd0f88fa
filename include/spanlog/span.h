/*
 * spanlog/span.h - what a span records (attributes, events, status,
 * exceptions), sampling, and the span-end hook (processors).
 *
 * Spans are started and ended with the calls of trace.h (sl_span_start,
 * sl_span_start_with_parent, sl_span_end). This header adds what a sampled
 * span records between the two, and who receives it at the end.
 *
 * Sampling decides whether a span *records*; it never changes ids, never
 * stops a span from becoming current, and never drops a log record. An
 * unsampled span has ids, becomes current and correlates log records like
 * any other; every recording call below is a cheap no-op on it.
 *
 * Threading: a span is meant to be used by one thread at a time. Recording
 * calls (set attributes, add events, set status) on one span from several
 * threads at once are a data race. Processors and the sampler are global
 * and may be configured from any thread (see each function).
 */
#ifndef SPANLOG_SPAN_H
#define SPANLOG_SPAN_H

#include "common.h"
#include "log.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ----------------------------------------------------------- */

/* Per span. Attributes and events past these are dropped and counted. */
#define SL_SPAN_MAX_ATTRIBUTES       32
#define SL_SPAN_MAX_EVENTS           32
#define SL_SPAN_MAX_EVENT_ATTRIBUTES 16 /* also per link */
#define SL_SPAN_MAX_LINKS            16

/* ---- recording -------------------------------------------------------- */

/* 1 when the span records (it was sampled and has not ended), else 0. */
SL_API int sl_span_is_recording(const sl_span *span);

/*
 * Sets attributes, typed like log fields: SL_STR/SL_STRN, SL_INT, SL_UINT,
 * SL_DOUBLE, SL_BOOL (other field types are refused with SL_EINVAL and not
 * counted as dropped). Keys and string values are copied. Setting a key the
 * span already has replaces its value (OpenTelemetry semantics). A new key
 * past SL_SPAN_MAX_ATTRIBUTES is dropped and counted (SL_ERANGE). A NULL
 * or empty key is refused (SL_EINVAL). On an unsampled or ended span this
 * does nothing and returns SL_OK. SL_ENOMEM when a copy could not be made.
 */
SL_API sl_status sl_span_set_attributes(sl_span *span, const sl_field *attrs, size_t n);

/*
 * sl_span_set(span, SL_STR("http.method", "GET"), SL_INT("http.status_code", 200))
 * returns what sl_span_set_attributes() returns. Gated like the log calls:
 * on a span that does not record, no attribute argument is evaluated (and
 * the call returns what sl_span_set_attributes(span, NULL, 0) does). In C
 * the span expression is evaluated twice: pass a variable. sl_span_set(span)
 * with no attributes is valid.
 */
#define sl_span_set(...) SL__SPAN_SET(__VA_ARGS__, SL__FIELDS_END)
#ifdef __cplusplus
#define SL__SPAN_SET(span, ...)                                                          \
    ([&]() -> sl_status {                                                                \
        sl_span *sl__s = (span);                                                         \
        if (!sl_span_is_recording(sl__s)) {                                              \
            return sl_span_set_attributes(sl__s, NULL, 0);                               \
        }                                                                                \
        const sl_field sl__f[] = {__VA_ARGS__};                                          \
        return sl_span_set_attributes(sl__s, sl__f, SL__NFIELDS(sl__f));                 \
    }())
#else
#define SL__SPAN_SET(span, ...)                                                          \
    (sl_span_is_recording(span)                                                          \
         ? sl_span_set_attributes(                                                       \
               (span), (const sl_field[]){__VA_ARGS__},                                  \
               sizeof((const sl_field[]){__VA_ARGS__}) / sizeof(sl_field) - 1)           \
         : sl_span_set_attributes((span), NULL, 0))
#endif

/*
 * Adds an event (a timestamped, named annotation) with up to
 * SL_SPAN_MAX_EVENT_ATTRIBUTES attributes (more are dropped and counted on
 * the event). Past SL_SPAN_MAX_EVENTS the event is dropped and counted
 * (SL_ERANGE). Name and attributes are copied; attrs may be NULL when n is 0.
 * No-op (SL_OK) on an unsampled or ended span.
 */
SL_API sl_status sl_span_add_event(sl_span *span, const char *name, const sl_field *attrs,
                                   size_t n);

/*
 * Adds a link to another span's context (a batch job linking the requests
 * it serves, a consumer linking a message's producer), with up to
 * SL_SPAN_MAX_EVENT_ATTRIBUTES attributes (more are dropped and counted on
 * the link). The context's ids, flags, remote bit and tracestate are
 * copied; so are the attributes. Returns SL_EINVAL for an invalid or NULL
 * ctx (or attrs NULL with n > 0), SL_ERANGE past SL_SPAN_MAX_LINKS (the
 * link is dropped and counted), SL_ENOMEM. No-op (SL_OK) on an unsampled
 * or ended span. Same thread rules as the other recording calls.
 */
SL_API sl_status sl_span_add_link(sl_span *span, const sl_span_context *ctx,
                                  const sl_field *attrs, size_t n);

typedef enum sl_span_status_code {
    SL_SPAN_STATUS_UNSET = 0,
    SL_SPAN_STATUS_OK = 1,
    SL_SPAN_STATUS_ERROR = 2
} sl_span_status_code;

/*
 * Sets the status. The message is kept only with SL_SPAN_STATUS_ERROR (as
 * OpenTelemetry says) and is copied. As in OpenTelemetry, OK is final: once
 * set, later calls are ignored; UNSET never overrides a set status.
 * SL_EINVAL for an unknown code. No-op (SL_OK) on an unsampled/ended span.
 */
SL_API sl_status sl_span_set_status(sl_span *span, sl_span_status_code code,
                                    const char *message);

/*
 * Records an exception event named "exception" with the OpenTelemetry
 * attributes exception.type and exception.message. sl_span_record_errno
 * uses the errno name as the type ("ENOENT"; "errno N" when the C library
 * has no name for it) and strerror(err) as the message, plus an integer
 * attribute "errno". sl_span_record_error uses the given texts (type may be
 * NULL: only the message is written; message NULL: ""). Neither changes the
 * status: call sl_span_set_status for that. No-op on unsampled/ended spans.
 */
SL_API sl_status sl_span_record_errno(sl_span *span, int err);
SL_API sl_status sl_span_record_error(sl_span *span, const char *type,
                                      const char *message);

/* ---- the finished span, as processors see it ----------------------------- */

typedef struct sl_span_event_data {
    const char *name;
    int64_t time_ns; /* CLOCK_REALTIME */
    const sl_field *attributes;
    size_t attribute_count;
    uint32_t dropped_attributes;
} sl_span_event_data;

typedef struct sl_span_link_data {
    sl_trace_id trace_id;
    sl_span_id span_id;
    uint8_t flags;          /* the linked context's trace flags */
    uint8_t remote;         /* 1 when the linked context came from a header */
    const char *tracestate; /* "" when none */
    const sl_field *attributes;
    size_t attribute_count;
    uint32_t dropped_attributes;
} sl_span_link_data;

/*
 * A read-only view of an ended span, valid only during the processor call
 * that receives it: copy what you keep. Strings are NUL-terminated;
 * attribute values of type SL_FIELD_STR carry their length in `len`.
 */
typedef struct sl_span_data {
    const char *name;
    sl_span_kind kind;
    const sl_span_context *context; /* the span's own ids, flags, tracestate */
    sl_span_id parent_span_id;      /* all zero for a root span */
    int parent_remote;              /* 1 when the parent came from a header */
    int64_t start_ns;               /* CLOCK_REALTIME */
    int64_t end_ns;
    sl_span_status_code status;
    const char *status_message; /* "" unless status is ERROR with a message */
    const sl_field *attributes;
    size_t attribute_count;
    uint32_t dropped_attributes;
    const sl_span_event_data *events;
    size_t event_count;
    uint32_t dropped_events;
    int ended_on_other_thread; /* 1 when sl_span_end ran on another thread than start */
    const sl_span_link_data *links;
    size_t link_count;
    uint32_t dropped_links;
} sl_span_data;

/*
 * A span processor: called on the ending thread, synchronously inside
 * sl_span_end(), once per ended *sampled* span, in registration order. It
 * must not end the span it receives; it may log, start and end other spans.
 */
typedef void (*sl_span_on_end_fn)(const sl_span_data *span, void *user);

#define SL_SPAN_MAX_PROCESSORS 8

/*
 * Registers a processor. Thread-safe with respect to spans ending
 * concurrently (they see it from some point on). SL_EINVAL for a NULL fn,
 * SL_ERANGE past SL_SPAN_MAX_PROCESSORS.
 */
SL_API sl_status sl_span_processor_add(sl_span_on_end_fn fn, void *user);

/*
 * Removes every processor registered with this fn and user. SL_ENOENT when
 * there was none. Call it only when no span can be ending concurrently (at
 * shutdown, in tests): a span ending at the same time may still call it.
 */
SL_API sl_status sl_span_processor_remove(sl_span_on_end_fn fn, void *user);

/*
 * Writes a record for every ended sampled span to `lg` at `level`: message
 * "span end", with span.name, span.kind, durationMs (a double), status and,
 * for errors, statusMessage; the record carries the span's own trace ids.
 * lg NULL turns it off. The logger is borrowed: keep it alive until this is
 * turned off. Setup-time: not concurrently with spans ending.
 */
SL_API void sl_span_set_end_logger(sl_logger *lg, sl_level level);

/* ---- misuse -------------------------------------------------------------
 *
 * - Ending a span twice, or with a handle kept from before: always a
 *   recognised no-op (counted by sl_span_double_end_count()), whatever
 *   happened in between (newer spans, the starting thread's exit). A
 *   sl_span * is a handle carrying a generation, not an address: the
 *   object it names is never freed, only reused, and a stale handle never
 *   reaches the span that reuses it. The same holds for every other call
 *   taking a span (a no-op, sl_span_get_context() returns NULL).
 *   (Generations are 31 bits: a handle kept through 2^31 reuses of one
 *   slot is the limit.) Span objects are kept for reuse: memory stays at
 *   the most spans alive at once.
 * - Ending a span on another thread than the one that started it: the span
 *   is ended and reported there (ended_on_other_thread = 1), but it cannot
 *   be taken off the starting thread's stack from the outside: it stays that
 *   thread's current context until that thread ends an enclosing span (which
 *   pops everything above it) or the thread exits.
 * - Ending a parent before its child (same thread): the parent's entry and
 *   everything above it (the child) leave the stack; what was current before
 *   the parent is current again. The child is still a live span: it records,
 *   and ending it later reports it and touches no stack entry.
 * - sl_context_detach() is stricter: it only pops the top (trace.h).
 * Every recording call on an ended span is a no-op. */
#define SL_SPAN_QUARANTINE 16 /* ended spans a thread keeps before reusing one */

/* Number of sl_span_end() calls that found their span already ended. */
SL_API uint64_t sl_span_double_end_count(void);

/* ---- sampling ------------------------------------------------------------ */

typedef enum sl_sampler_kind {
    SL_SAMPLER_ALWAYS_ON = 0,
    SL_SAMPLER_ALWAYS_OFF = 1,
    SL_SAMPLER_TRACEIDRATIO = 2,
    SL_SAMPLER_PARENTBASED_ALWAYS_ON = 3, /* the default */
    SL_SAMPLER_PARENTBASED_ALWAYS_OFF = 4,
    SL_SAMPLER_PARENTBASED_TRACEIDRATIO = 5
} sl_sampler_kind;

/*
 * A sampler, as OpenTelemetry defines them:
 * - always_on / always_off: every span / none is sampled.
 * - traceidratio: sampled when the trace id's randomness (its least
 *   significant 56 bits, W3C Trace Context level 2) is at least the
 *   rejection threshold round((1 - ratio) * 2^56): every service that
 *   sees the trace decides the same. ratio is clamped to [0, 1].
 * - parentbased_X: a span with a valid parent follows the parent's
 *   sampled flag (remote or local); a root span asks X.
 */
typedef struct sl_sampler {
    sl_sampler_kind kind;
    double ratio; /* for the *traceidratio kinds */
} sl_sampler;

/*
 * The decision for a new span with this parent (NULL or invalid: a root)
 * and trace id: 1 sampled, 0 not. Pure: no global state.
 */
SL_API int sl_sampler_should_sample(const sl_sampler *sampler,
                                    const sl_span_context *parent, sl_trace_id trace_id);

/*
 * Parses OTEL_TRACES_SAMPLER-style names (always_on, always_off,
 * traceidratio, parentbased_always_on, parentbased_always_off,
 * parentbased_traceidratio; case-insensitive, blanks trimmed) and the
 * OTEL_TRACES_SAMPLER_ARG ratio (NULL or "" means 1.0). Returns SL_EPARSE
 * for an unknown name or a ratio that is not a number in [0, 1]; *out then
 * holds the OpenTelemetry fallback (parentbased_always_on, or the named
 * kind with ratio 1.0 for a bad ratio). SL_EINVAL for NULL name or out.
 */
SL_API sl_status sl_sampler_parse(const char *name, const char *arg, sl_sampler *out);

/*
 * The process-wide sampler used by sl_span_start*. Until set, it is read
 * once from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (unset or invalid:
 * parentbased_always_on). Thread-safe; spans started concurrently use the
 * old or the new sampler. SL_EINVAL for NULL or an unknown kind.
 */
SL_API sl_status sl_sampler_set(const sl_sampler *sampler);
SL_API sl_sampler sl_sampler_get(void);

/* Re-reads the environment into the process-wide sampler; returns what
 * sl_sampler_parse returned (the fallback is installed on SL_EPARSE). */
SL_API sl_status sl_sampler_from_env(void);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_SPAN_H */
