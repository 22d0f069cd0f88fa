/*
 * spanlog/trace.h - trace and span ids, W3C trace context, the per-thread
 * stack of current contexts, and minimal spans.
 *
 * Ids and span contexts are plain values: copy them freely, between threads
 * too. The "current context" is per thread: a stack that attach pushes and
 * detach pops. Nothing here takes a lock.
 */
#ifndef SPANLOG_TRACE_H
#define SPANLOG_TRACE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_trace_id {
    uint8_t bytes[16];
} sl_trace_id;

typedef struct sl_span_id {
    uint8_t bytes[8];
} sl_span_id;

/* trace-flags bits (W3C Trace Context level 2). */
#define SL_TRACE_FLAG_SAMPLED 0x01u
#define SL_TRACE_FLAG_RANDOM  0x02u

/* Lengths of the text forms, without the terminating NUL. */
#define SL_TRACE_ID_HEX_LEN       32
#define SL_SPAN_ID_HEX_LEN        16
#define SL_CORRELATION_ID_LEN     17 /* 8 hex + '-' + 8 hex */
#define SL_TRACEPARENT_LEN        55 /* version 00 */
#define SL_TRACESTATE_MAX         512
#define SL_TRACESTATE_MAX_MEMBERS 32

/*
 * A span context: what crosses process and thread boundaries. A plain value;
 * `tracestate` is kept as received (validated, trimmed; see
 * sl_tracestate_parse for when it is rebuilt) and passed on; the
 * sl_tracestate_* calls read and edit its entries. A context is valid when
 * both ids are non-zero.
 */
typedef struct sl_span_context {
    sl_trace_id trace_id;
    sl_span_id span_id;
    uint8_t flags;  /* SL_TRACE_FLAG_* */
    uint8_t remote; /* 1 when parsed from a header (the span lives elsewhere) */
    uint16_t tracestate_len;
    char tracestate[SL_TRACESTATE_MAX + 1]; /* NUL-terminated */
} sl_span_context;

/* An all-zero span context (invalid, empty tracestate). */
SL_API sl_span_context sl_span_context_empty(void);

/* 1 when the id / both ids are non-zero, else 0. A NULL context is invalid. */
SL_API int sl_trace_id_is_valid(sl_trace_id id);
SL_API int sl_span_id_is_valid(sl_span_id id);
SL_API int sl_span_context_is_valid(const sl_span_context *ctx);

/*
 * Random ids from a per-thread generator seeded from getrandom(2) and
 * reseeded in a forked child. Never all-zero. Thread-safe, lock-free.
 */
SL_API sl_trace_id sl_trace_id_random(void);
SL_API sl_span_id sl_span_id_random(void);

/*
 * Lowercase hex forms. `out` must hold SL_*_HEX_LEN + 1 bytes; it is always
 * NUL-terminated.
 */
SL_API void sl_trace_id_to_hex(sl_trace_id id, char *out);
SL_API void sl_span_id_to_hex(sl_span_id id, char *out);

/*
 * Parses exactly 32 / 16 lowercase hex digits. Returns SL_EINVAL for NULL
 * arguments, SL_EPARSE for a wrong length or a non-lowercase-hex digit. An
 * all-zero id parses (SL_OK) but is not valid: check with *_is_valid().
 */
SL_API sl_status sl_trace_id_from_hex(const char *hex, size_t len, sl_trace_id *out);
SL_API sl_status sl_span_id_from_hex(const char *hex, size_t len, sl_span_id *out);

/*
 * correlationId: the first 8 hex digits of the trace id, '-', the first 8 of
 * the span id. `out` must hold SL_CORRELATION_ID_LEN + 1 bytes. Returns
 * SL_EINVAL (and writes "") when ctx is NULL or invalid.
 */
SL_API sl_status sl_correlation_id(const sl_span_context *ctx, char *out);

/*
 * W3C traceparent. Parses `len` bytes of `header` (not necessarily
 * NUL-terminated); surrounding spaces and tabs are trimmed. Version 00 must be
 * exactly 55 characters; higher versions (not ff) may carry further
 * '-'-separated fields, which are ignored. Lowercase hex only; all-zero ids
 * and version ff are invalid. On success *out holds the ids and flags,
 * remote = 1 and an empty tracestate. On failure returns SL_EPARSE (SL_EINVAL
 * for NULL) and *out is set to the empty context. No allocation.
 */
SL_API sl_status sl_traceparent_parse(const char *header, size_t len,
                                      sl_span_context *out);

/*
 * Writes the version-00 traceparent of ctx ("00-<trace>-<span>-<flags>")
 * and a NUL into buf, which must hold SL_TRACEPARENT_LEN + 1 bytes. Returns
 * SL_EINVAL for NULL or an invalid context, SL_ERANGE when cap is too small.
 */
SL_API sl_status sl_traceparent_format(const sl_span_context *ctx, char *buf, size_t cap);

/*
 * W3C tracestate, Trace Context Level 2. Validates `len` bytes of `header`
 * (key and value grammar, at most 32 list members; empty members and
 * surrounding blanks are allowed as the spec says) and stores it in
 * ctx->tracestate. Keys are `(lcalpha / DIGIT) 0*255 keychar`, keychar
 * including '@' (so "1vendor", "foo@", "a@b@c" are valid).
 *
 * - Duplicate keys do not invalidate the list: the first (leftmost, most
 *   recently updated) entry of a key is kept, later ones are removed.
 * - A valid list longer than SL_TRACESTATE_MAX (512) characters is
 *   truncated by whole entries: those longer than 128 characters first
 *   (rightmost first), then from the end.
 * - A list that needed neither is stored as received, outer blanks
 *   trimmed; otherwise as `key=value` entries joined by ','.
 * - An invalid header (a member breaking the grammar, a 33rd member) is
 *   discarded whole: ctx->tracestate becomes empty and SL_EPARSE is
 *   returned (SL_EINVAL for NULL arguments).
 *
 * The rest of ctx is not touched. No allocation. sl_tracestate_parse_info
 * also says, in *info (optional), how many entries were kept and removed.
 */
typedef struct sl_tracestate_info {
    uint32_t members;            /* entries kept */
    uint32_t duplicates_removed; /* later entries of a key already seen */
    uint32_t truncated_removed;  /* entries removed to fit SL_TRACESTATE_MAX */
} sl_tracestate_info;

SL_API sl_status sl_tracestate_parse(const char *header, size_t len,
                                     sl_span_context *ctx);
SL_API sl_status sl_tracestate_parse_info(const char *header, size_t len,
                                          sl_span_context *ctx, sl_tracestate_info *info);

/*
 * Entries of ctx's tracestate, for a vendor's own entry. Any thread (ctx is
 * a plain value: one writer at a time). Views point into ctx->tracestate
 * and are valid until ctx changes.
 *
 * sl_tracestate_count: the number of entries (empty members not counted);
 *   0 for NULL.
 * sl_tracestate_entry: entry `index` (0 is the leftmost) into *out;
 *   SL_ENOENT past the last, SL_EINVAL for NULL.
 * sl_tracestate_get: the value of `key` (NUL-terminated), not
 *   NUL-terminated itself: *value_len bytes (both outputs optional);
 *   SL_ENOENT when absent.
 * sl_tracestate_set: adds `key=value`, or updates it, as the leftmost entry
 *   (W3C: a vendor's modified entry moves to the left). With 32 entries
 *   already, the rightmost other entry is removed; past 512 characters,
 *   others are removed by the truncation rule above; the new entry never
 *   is. SL_EPARSE when key or value breaks the grammar, SL_ERANGE when the
 *   entry alone passes 512 characters, SL_EINVAL for NULL; on error ctx is
 *   unchanged. The list is then stored in the rebuilt form.
 * sl_tracestate_remove: removes `key`'s entry; SL_ENOENT when absent.
 */
typedef struct sl_tracestate_entry_view {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} sl_tracestate_entry_view;

SL_API size_t sl_tracestate_count(const sl_span_context *ctx);
SL_API sl_status sl_tracestate_entry(const sl_span_context *ctx, size_t index,
                                     sl_tracestate_entry_view *out);
SL_API sl_status sl_tracestate_get(const sl_span_context *ctx, const char *key,
                                   const char **value, size_t *value_len);
SL_API sl_status sl_tracestate_set(sl_span_context *ctx, const char *key,
                                   const char *value);
SL_API sl_status sl_tracestate_remove(sl_span_context *ctx, const char *key);

/*
 * The per-thread current context.
 *
 * sl_context_attach() copies *ctx onto the calling thread's stack and fills
 * *token. sl_context_detach() pops it; it must be given the token of the top
 * entry, on the same thread. A token that is not the top (out of order,
 * already detached, from another thread) makes detach return SL_ESTATE and
 * leaves the stack unchanged. attach returns SL_EINVAL for NULL arguments,
 * SL_ERANGE past SL_CONTEXT_MAX_DEPTH, SL_ENOMEM if the thread's stack could
 * not grow. An invalid context may be attached: it hides the outer context
 * (records then carry no trace ids). The new entry keeps the current
 * baggage (baggage.h: sl_context_attach_with sets both).
 */
#define SL_CONTEXT_MAX_DEPTH 256

typedef struct sl_context_token {
    uint64_t id; /* opaque */
} sl_context_token;

SL_API sl_status sl_context_attach(const sl_span_context *ctx, sl_context_token *token);
SL_API sl_status sl_context_detach(sl_context_token token);

/*
 * The calling thread's current context, or NULL when the stack is empty or
 * its top is not valid. The pointer is owned by the thread's stack and stays
 * valid until the next attach/detach on this thread; copy the struct to keep
 * it or to hand it to another thread.
 */
SL_API const sl_span_context *sl_context_current(void);

/* Number of entries on the calling thread's stack. */
SL_API size_t sl_context_depth(void);

/*
 * Minimal spans. A span is started as a child of the calling thread's
 * current context (same trace id, fresh span id, parent's flags kept), or as
 * the root of a new trace (fresh ids, sampled and random flags set) when
 * there is none. It becomes the current context at once; sl_span_end()
 * restores what was current before it.
 *
 * sl_span_start() copies `name`. It returns NULL only when memory runs out.
 * A span is owned by its caller until sl_span_end(), which frees it; pass it
 * to sl_span_end() on the thread that started it. sl_span_end(NULL) is a
 * no-op. What ending twice, ending on another thread or ending a parent
 * before its child does is defined in span.h ("misuse"); span.h also holds
 * attributes, events, status, sampling and the span-end hooks.
 */
typedef enum sl_span_kind {
    SL_SPAN_INTERNAL = 0,
    SL_SPAN_SERVER = 1,
    SL_SPAN_CLIENT = 2,
    SL_SPAN_PRODUCER = 3,
    SL_SPAN_CONSUMER = 4
} sl_span_kind;

typedef struct sl_span sl_span;

SL_API sl_span *sl_span_start(const char *name, sl_span_kind kind);

/* Like sl_span_start(), with an explicit parent (NULL or invalid: new root). */
SL_API sl_span *sl_span_start_with_parent(const char *name, sl_span_kind kind,
                                          const sl_span_context *parent);

SL_API void sl_span_end(sl_span *span);

/* The span's own context; NULL for a NULL span. Valid until sl_span_end(). */
SL_API const sl_span_context *sl_span_get_context(const sl_span *span);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_TRACE_H */
