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

#include <pthread.h>

#include "internal.h"
#include "lifecycle.h"
#include "spanlog/filter.h"
#include "spanlog/sink.h"

/* Longest service a logger accepts: 300 bytes once JSON-escaped (without the
 * quotes), whatever the profile's key; its pre-encoded fragment
 * (`,"service.name":"..."` at most) stays small enough for the smallest record
 * (1024 bytes) to hold every fixed key. */
#define SL__SERVICE_VALUE_MAX    300
#define SL__SERVICE_FRAG_MAX     (SL__SERVICE_VALUE_MAX + 32)
#define SL__MIN_RECORD_BYTES     1024u
#define SL__MAX_RECORD_BYTES     (64u * 1024u * 1024u)
#define SL__DEFAULT_RECORD_BYTES 65536u

/* The head keys of a profile, for renaming fields that reuse them. */
#define SL__RESERVED_MAX 16
typedef struct sl__reserved {
    uint8_t hash[32]; /* bitmap of sl__reserved_hash() over the keys: a quick reject */
    const char *const *keys;
    size_t n; /* <= SL__RESERVED_MAX */
    uint8_t len[SL__RESERVED_MAX];
} sl__reserved;

/* The quick-reject hash of a key: its first byte and its length. */
static inline unsigned sl__reserved_hash(unsigned char first, size_t len)
{
    return (first + 37u * (unsigned)len) & 255u;
}

typedef struct sl__sink_slot {
    sl_sink *sink;
    sl_level min_level;
} sl__sink_slot;

typedef struct sl__core {
    uint64_t id;   /* unique per core, never reused (the call-site cache's key) */
    uint64_t refs; /* atomic: loggers sharing this core */
    int sealed;    /* atomic: a child exists or a record was written */
    sl_profile profile;
    size_t max_record_bytes;
    bool caller_info;
    bool trace_flags;
    uint8_t trace_variant;        /* profile << 1 | trace flags written (profile.c) */
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
    struct sl__sampler *sampler;   /* NULL: no sampling or cap (sampling.c) */
    struct sl__redactor *redactor; /* NULL: no redaction (redact.c) */
    sl__life life; /* the one lifecycle registry: tree_lock across fork() */
    /* The tree of loggers sharing this core (parent/child links, explicit
     * levels, shutdown), for level propagation; never taken by the record
     * path. */
    pthread_mutex_t tree_lock;
    bool shut_down;            /* sl_logger_shutdown ran; tree_lock */
    struct sl_logger *loggers; /* every logger of the core; tree_lock */
    uint64_t child_failures;   /* atomic: sl_child calls that fell back */
    int child_failure_told;    /* atomic: the one diagnostic line was written */
} sl__core;

struct sl_logger {
    struct sl__logger_head head; /* first: read by sl_would_log() */
    sl__core *core;
    const sl_field *bound; /* copies, for the record view */
    size_t nbound;
    const char *bound_json; /* `,"k":v,...` encoded once, or NULL */
    size_t bound_json_len;
    void *arena; /* one allocation holding bound and bound_json */
    /* Level propagation, under core->tree_lock. */
    struct sl_logger *parent; /* NULL for a root or once the parent is freed */
    struct sl_logger *children;
    struct sl_logger *next_sibling, *prev_sibling;
    struct sl_logger *all_next, *all_prev; /* core->loggers */
    bool level_explicit; /* sl_logger_set_level was called on this logger */
    uint64_t extra_refs; /* atomic: sl_child fallbacks handed this logger out */
};

/* ---- sampling.c: sampling and the rate cap (spanlog/filter.h) --------------- */
typedef struct sl__sampler sl__sampler;
/* SL_OK with *out NULL when the options turn nothing on. */
sl_status sl__sampler_new(const sl_sampling_options *o, sl__sampler **out);
void sl__sampler_free(sl__sampler *s);
/* Whether a record of this level and message (or format) is written; a
 * record left out is counted. Lock-free, any thread. */
bool sl__sampler_keep(sl__sampler *s, sl_level level, const char *key, size_t key_len,
                      int64_t now);
/* Takes the counts left out since the last summary when one is due (an
 * interval passed, or force); exactly one caller gets each. */
bool sl__sampler_take_summary(sl__sampler *s, int64_t now, bool force, uint64_t *sampled,
                              uint64_t *limited);
uint32_t sl__sampler_interval_ms(const sl__sampler *s);
void sl__sampler_stats(const sl__sampler *s, sl_filter_stats *out);
/* record.c: writes the due summary record of lg's tree, if any. */
void sl__sampling_summary(sl_logger *lg, bool force);

/* ---- redact.c: redaction (spanlog/filter.h) ---------------------------------- */
typedef struct sl__redactor sl__redactor;
sl_status sl__redactor_new(const sl_redact_options *o, sl__redactor **out);
void sl__redactor_free(sl__redactor *r);
uint64_t sl__redactor_count(const sl__redactor *r);

#define SL__REDACT_STACK 32
/* A record's fields after redaction: `fields`/`n` to write, then release. */
typedef struct sl__redacted {
    const sl_field *fields;
    size_t n;
    const sl_field *in;
    size_t n_in;
    sl_field stack[SL__REDACT_STACK];
    sl_field *heap;
    size_t copies; /* SL_JSON values copied to redact inside them */
} sl__redacted;
/* False when memory ran out (nothing to release then). */
bool sl__redact_fields(sl__redactor *r, const sl_field *in, size_t n, sl__redacted *out);
void sl__redacted_release(sl__redacted *red);

/* ---- sink.c ---------------------------------------------------------------- */

/* Hands one encoded record to the sink's write callback. */
void sl__sink_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len);

/* Calls the sink's close callback once (later calls return SL_OK), then
 * reports the drops not reported yet (diagnostics). Not concurrently with
 * writes. */
sl_status sl__sink_close(sl_sink *sink, int timeout_ms);

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

/*
 * The per-call-site key cache: for the first SL__SITE_FIELDS fields of one
 * macro call site, each key's `,"key":` as the general path writes it,
 * checked once against the profile's head keys instead of per record.
 * Owned by one thread (record.c keeps them in its per-thread buffers); a
 * zeroed one is empty.
 */
#define SL__SITE_FIELDS 8
#define SL__SITE_FRAG   16
typedef struct sl__site_keys {
    const char *key[SL__SITE_FIELDS];  /* the key each slot was made for */
    uint32_t key_len[SL__SITE_FIELDS]; /* and its sl_field key_len */
    uint8_t frag_len[SL__SITE_FIELDS]; /* 0: that key takes the general path */
    char frag[SL__SITE_FIELDS][SL__SITE_FRAG];
} sl__site_keys;

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

/*
 * What a macro call site knows of its head (record.c keeps one per site and
 * thread): whether its literal msg is its own JSON string body, and then,
 * for one core and level, the bytes from the level to the service as one
 * segment (`Z","level":"info","msg":"...","service":"..."`), copied whole.
 */
#define SL__HEAD_SEG 96
typedef struct sl__site_head {
    bool msg_plain;
    uint8_t seg_len; /* 0: no segment (it would not fit): the general head */
    char seg[SL__HEAD_SEG];
} sl__site_head;

/*
 * Writes everything before the bound fields: the opening brace, time, level,
 * (pino: pid, hostname), msg (cut to msg_cap escaped bytes, SIZE_MAX: whole),
 * service, trace keys (r->ctx: valid or NULL) and caller info, by the core's
 * profile and options. Returns true when msg was cut. sh: the call site's
 * (NULL: none), only used when msg_cap is SIZE_MAX; the bytes are the same.
 */
bool sl__encode_head(sl__jw *w, const sl__core *core, const sl_record *h, size_t msg_cap,
                     bool with_caller, const sl__site_head *sh);

/* Fills sh->seg for core, level and the plain msg; sets sh->seg_len (0 when
 * it does not fit). */
void sl__head_segment(const sl__core *core, sl_level level, const char *msg,
                      size_t msg_len, sl__site_head *sh);

/* The core's trace_variant: which trace keys a profile writes, with or
 * without the flags (the per-thread trace fragment's key). */
uint8_t sl__profile_trace_variant(sl_profile profile, bool trace_flags);

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
static inline void sl__core_seal(sl__core *core)
{
    /* Read first: the common case (already sealed) then writes nothing. */
    if (!__atomic_load_n(&core->sealed, __ATOMIC_RELAXED)) {
        __atomic_store_n(&core->sealed, 1, __ATOMIC_RELAXED);
    }
}

#endif /* SPANLOG_CORE_H */
