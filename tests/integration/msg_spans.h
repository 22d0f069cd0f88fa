/*
 * msg_spans.h - for the messaging tests: a span processor that keeps a
 * copy of every ended span (ids as hex, attributes as text or integers),
 * and lookups that fail the test when something is missing.
 */
#ifndef SPANLOG_TEST_MSG_SPANS_H
#define SPANLOG_TEST_MSG_SPANS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "spanlog/spanlog.h"

typedef struct rec_attr {
    char *key;
    sl_field_type type;
    char *s;   /* SL_FIELD_STR */
    int64_t i; /* SL_FIELD_INT / SL_FIELD_UINT */
} rec_attr;

typedef struct rec_span {
    char *name;
    sl_span_kind kind;
    char trace_id[SL_TRACE_ID_HEX_LEN + 1];
    char span_id[SL_SPAN_ID_HEX_LEN + 1];
    char parent_id[SL_SPAN_ID_HEX_LEN + 1]; /* "" for a root */
    int parent_remote;
    char tracestate[SL_TRACESTATE_MAX + 1];
    sl_span_status_code status;
    char *status_message;
    rec_attr attrs[SL_SPAN_MAX_ATTRIBUTES];
    size_t nattrs;
    size_t nevents;
    size_t nlinks; /* all of them; the first SL_SPAN_MAX_LINKS kept below */
    struct {
        char trace_id[SL_TRACE_ID_HEX_LEN + 1];
        char span_id[SL_SPAN_ID_HEX_LEN + 1];
        char tracestate[SL_TRACESTATE_MAX + 1];
    } links[SL_SPAN_MAX_LINKS];
} rec_span;

typedef struct span_rec {
    pthread_mutex_t mu;
    rec_span **v; /* each span its own allocation: pointers stay valid */
    size_t n;
    size_t cap;
} span_rec;

/* Registers the processor (and a fresh store); stop removes and frees. */
void span_rec_start(span_rec *r);
void span_rec_stop(span_rec *r);
size_t span_rec_count(span_rec *r);

/* The nth (from 0) span with this name and kind, or NULL. The pointer is
 * valid until span_rec_stop. */
const rec_span *span_rec_find(span_rec *r, const char *name, sl_span_kind kind,
                              size_t nth);
/* span_rec_find, polled until it is there or timeout_ms ran out (a
 * consumer span ends after the handler returned, on another thread). */
const rec_span *span_rec_wait(span_rec *r, const char *name, sl_span_kind kind,
                              size_t nth, int timeout_ms);
/* The span with this id, or NULL. */
const rec_span *span_rec_by_id(span_rec *r, const char *span_id);

/* Attribute lookups: fail the test when missing or of another type. */
const char *rec_str(const rec_span *s, const char *key);
int64_t rec_int(const rec_span *s, const char *key);
bool rec_has(const rec_span *s, const char *key);

#endif

/* ---- records ------------------------------------------------------------ */
#include <jansson.h>

#include "unit/core_capture.h"

/*
 * Every line of c parsed back (failing the test on one that does not
 * parse), filtered: msg equal to `msg` (NULL: any) and the bound
 * messaging.destination.name equal to `dest` (NULL: any). A new array.
 * Call when no thread is logging to c.
 */
json_t *msg_records(const capture *c, const char *msg, const char *dest);

/* Waits until *counter (read under mu) reaches want, at most timeout_ms.
 * Returns the last value read. */
int wait_count(pthread_mutex_t *mu, const int *counter, int want, int timeout_ms);

/* The one record of `msg` for dest (a new reference); fails unless exactly one. */
json_t *msg_only_record(const capture *c, const char *msg, const char *dest);

/*
 * The nth producer span `prod_name` and the nth consumer span `cons_name`
 * (waited for up to timeout_ms), checked to be one hop: same trace, the
 * consumer's remote parent is the producer, a new span id. Fails otherwise.
 */
void msg_hop(span_rec *r, const char *prod_name, const char *cons_name, size_t nth,
             int timeout_ms, const rec_span **prod, const rec_span **cons);

/*
 * Records carrying an integer "seq" in [0, n): checks there are n, each
 * seq once, and each with traces[seq] as its traceId and a spanId no other
 * record has. traces: n hex trace ids.
 */
void msg_check_seqs(const json_t *records, size_t n,
                    char (*traces)[SL_TRACE_ID_HEX_LEN + 1]);
