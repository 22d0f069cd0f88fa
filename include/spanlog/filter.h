/*
 * spanlog/filter.h - what reaches the sinks: log sampling, a rate cap and
 * redaction, set on a logger tree at setup.
 *
 * Sampling (zap's scheme): per level and message, the first `first`
 * records of each interval are written, then every `thereafter`-th; a cap
 * bounds the records per second of the whole logger tree. Records at or
 * above `keep_level` (error by default) are never sampled or capped away.
 * Every record left out is counted (sl_logger_get_filter_stats), and each
 * interval that left records out is followed by one summary record at warn
 * level, so the loss is visible where the logs go:
 *
 *   {"time":…,"level":"warn","msg":"sampled","service":…,"dropped":1234,
 *    "sampled":1200,"rateLimited":34,"intervalMs":1000}
 *
 * (written by the first record after the interval, or by sl_logger_flush
 * and the last sl_logger_free). The decision takes no lock and makes no
 * allocation: a few relaxed atomic operations on one of 256 counters per
 * level, chosen by a hash of the message (for the printf helpers, of the
 * format string), so different messages may now and then share a counter.
 *
 * Redaction (pino's `redact`): keys and dotted paths whose values are
 * replaced by a censor ("[REDACTED]" by default) or removed: `password`
 * (a top-level key), `card.number` (a member of an SL_JSON object, or a
 * key written literally as "card.number"), `headers.*` (every member of
 * headers), `*.token` (token in any top-level object). It applies to the
 * call's fields, to bound fields (once, when the child is made) and inside
 * SL_JSON values at any depth; the message is never touched. With no
 * redaction set it costs one pointer test per record; an SL_JSON value
 * that a path reaches into is copied (json_deep_copy) for that record.
 */
#ifndef SPANLOG_FILTER_H
#define SPANLOG_FILTER_H

#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_sampling_options {
    size_t size;          /* sizeof(sl_sampling_options), set by _init */
    uint32_t first;       /* kept per level and message each interval; 0: no sampling */
    uint32_t thereafter;  /* then every Nth is kept; 0: none after the first */
    uint32_t interval_ms; /* default 1000 */
    uint32_t max_per_second; /* cap for the logger tree; 0 (default): none */
    sl_level keep_level;     /* never sampled or capped at or above; default error */
} sl_sampling_options;

/* Fills the defaults (sampling and cap off). Any thread. */
SL_API void sl_sampling_options_init(sl_sampling_options *opts);

/*
 * Parses the SPANLOG_SAMPLING syntax into *opts (which it initialises
 * first): comma-separated `first:N`, `thereafter:N`, `per:DURATION`
 * (`500ms`, `1s`, `2m`), `max:N` (records per second), `keep:LEVEL`.
 * Returns SL_EINVAL (NULL), SL_EPARSE with err naming the item; *opts is
 * then the defaults.
 */
SL_API sl_status sl_sampling_parse(const char *spec, sl_sampling_options *opts,
                                   sl_error *err);

/*
 * Turns sampling on for lg's whole logger tree (opts is copied). Setup
 * time, like sl_logger_add_sink: before the logger is shared or has a child
 * (SL_ESTATE otherwise). SL_EINVAL for NULL or an interval of 0 with
 * sampling on; SL_ENOMEM. Calling it again replaces the settings.
 */
SL_API sl_status sl_logger_set_sampling(sl_logger *lg, const sl_sampling_options *opts);

typedef struct sl_redact_options {
    size_t size;              /* sizeof(sl_redact_options), set by _init */
    const char *const *paths; /* keys and dotted paths (see above); copied */
    size_t npaths;            /* at most 64 */
    const char *censor;       /* default "[REDACTED]"; copied */
    bool remove;              /* remove the key instead; default false */
} sl_redact_options;

SL_API void sl_redact_options_init(sl_redact_options *opts);

/*
 * Sets redaction for lg's whole logger tree. Setup time, as above
 * (SL_ESTATE). SL_EINVAL for NULL, an empty path or segment, more than 64
 * paths; SL_ENOMEM.
 */
SL_API sl_status sl_logger_set_redaction(sl_logger *lg, const sl_redact_options *opts);

typedef struct sl_filter_stats {
    size_t size;           /* set by the caller: sizeof(sl_filter_stats) */
    uint64_t sampled;      /* records left out by sampling */
    uint64_t rate_limited; /* records left out by the cap */
    uint64_t summaries;    /* "sampled" summary records written */
    uint64_t redacted;     /* values censored or removed */
} sl_filter_stats;

/* Counters of lg's logger tree; zeros for NULL or when nothing is set. */
SL_API void sl_logger_get_filter_stats(const sl_logger *lg, sl_filter_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_FILTER_H */
