/*
 * core.h - what the logger core shares between its own files (sink.c,
 * logger.c, record.c, field.c, profile.c) and its tests. Not for adapters:
 * they use internal.h and the public sink contract.
 *
 *   sl_logger (one per sl_logger_new / child)      sl__core (shared, refcounted)
 *   ┌──────────────────────────┐                   ┌──────────────────────────┐
 *   │ head.level (atomic)      │── core ──────────▶│ options, service fragment│
 *   │ bound fields (view copy) │                   │ sinks + per-sink levels  │
 *   │ bound JSON `,"k":v,...`  │                   │ refs (atomic)            │
 *   └──────────────────────────┘                   └──────────────────────────┘
 */
#ifndef SPANLOG_CORE_H
#define SPANLOG_CORE_H

#include "internal.h"
#include "spanlog/sink.h"

/* Longest pre-encoded service fragment (`,"service":"..."`) a logger accepts:
 * keeps the smallest record (1024 bytes) able to hold every fixed key. */
#define SL__SERVICE_FRAG_MAX     300
#define SL__MIN_RECORD_BYTES     1024u
#define SL__MAX_RECORD_BYTES     (64u * 1024u * 1024u)
#define SL__DEFAULT_RECORD_BYTES 65536u

/* The head keys of a profile, for renaming fields that reuse them. */
typedef struct sl__reserved {
    uint8_t first[32]; /* bitmap of the keys' first bytes: a quick reject */
    const char *const *keys;
    size_t n;
} sl__reserved;

typedef struct sl__sink_slot {
    sl_sink *sink;
    sl_level min_level;
} sl__sink_slot;

typedef struct sl__core {
    uint64_t refs; /* atomic: loggers sharing this core */
    int sealed;    /* atomic: a child exists or a record was written */
    sl_profile profile;
    size_t max_record_bytes;
    bool caller_info;
    bool trace_flags;
    const sl__reserved *reserved; /* head keys to rename, NULL: keep fields' keys */
    char *service;                /* NUL-terminated copy, or NULL */
    char *service_frag;           /* pre-encoded `,"<key>":"<service>"`, or NULL */
    size_t service_frag_len;
    sl__sink_slot *sinks;
    size_t nsinks;
    int min_sink_level; /* lowest min_level over the sinks; OFF when none */
    /* Baggage keys to copy into records: the raw key (for the lookup) and its
     * pre-encoded `,"key":` fragment, all in one allocation. */
    struct sl__baggage_key {
        const char *key;
        size_t key_len;
        const char *frag;
        size_t frag_len;
    } * baggage_keys;
    size_t nbaggage_keys;
    struct sl__core *prev, *next; /* the live-core registry (logger.c) */
} sl__core;

struct sl_logger {
    struct sl__logger_head head; /* first: read by sl_would_log() */
    sl__core *core;
    const sl_field *bound; /* copies, for the record view */
    size_t nbound;
    const char *bound_json; /* `,"k":v,...` encoded once, or NULL */
    size_t bound_json_len;
    void *arena; /* one allocation holding bound and bound_json */
};

/* ---- sink.c ---------------------------------------------------------------- */

/* Hands one encoded record to the sink's write callback. */
void sl__sink_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len);

/* Installs the library's one pthread_atfork handler (idempotent). */
void sl__atfork_install(void);

/* logger.c: the live-logger registry lock, taken first around fork(). */
void sl__cores_fork_lock(void);
void sl__cores_fork_unlock(void);

/* Number of sinks currently alive (created and not yet freed). For tests. */
size_t sl__sink_live_count(void);

/* ---- field.c --------------------------------------------------------------- */

/*
 * Writes `,"key":value` for each field. String values whose escaped length
 * exceeds str_cap are cut (on a UTF-8 boundary) to fit it; SIZE_MAX means no
 * limit. Keys in *rk (NULL: none) get SL_RESERVED_KEY_PREFIX. Returns true
 * when some string was cut.
 */
bool sl__encode_fields(sl__jw *w, const sl_field *f, size_t n, size_t str_cap,
                       const sl__reserved *rk);

/* Writes s (n bytes) as a JSON string, cut to at most `cap` escaped bytes
 * (SIZE_MAX: whole). Returns true when it was cut. */
bool sl__encode_string_capped(sl__jw *w, const char *s, size_t n, size_t cap);

/*
 * sl__json_escaped_len() for the truncation path, adding n to this
 * thread's sl__trunc_scanned: the bytes truncation has looked at, which
 * tests compare with the record's size (truncation is linear in it).
 */
size_t sl__escaped_len_counted(const char *s, size_t n);
extern _Thread_local size_t sl__trunc_scanned;

/* The byte length of a field's string value (SL_NPOS resolved); 0 for NULL. */
size_t sl__field_str_len(const sl_field *f);

/* ---- profile.c ------------------------------------------------------------- */

typedef struct sl__record_head {
    sl_level level;
    int64_t time_ns;
    const char *msg;
    size_t msg_len;
    size_t msg_cap;             /* escaped-length cap for msg, SIZE_MAX for none */
    const sl_span_context *ctx; /* valid, or NULL */
    const sl_src *src;
} sl__record_head;

/*
 * Writes everything before the bound fields: the opening brace, time, level,
 * (pino: pid, hostname), msg, service, trace keys and caller info, by the
 * core's profile and options. Returns true when msg was cut.
 */
bool sl__encode_head(sl__jw *w, const sl__core *core, const sl__record_head *h,
                     bool with_caller);

/* The head keys of a profile (log.h, sl_head_keys). */
const sl__reserved *sl__profile_reserved(sl_profile profile);

/* The key the profile uses for the service name ("service", "service.name"). */
const char *sl__profile_service_key(sl_profile profile);

/* ---- record.c -------------------------------------------------------------- */

/* Frees the calling thread's record buffers (the exit handler, for the main
 * thread, whose thread-exit destructors never run). */
void sl__scratch_release(void);

/* ---- logger.c -------------------------------------------------------------- */

/* Marks the core as in use: no more sinks may be added. */
void sl__core_seal(sl__core *core);

#endif /* SPANLOG_CORE_H */
