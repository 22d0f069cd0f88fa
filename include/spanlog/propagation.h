/*
 * spanlog/propagation.h - carrying trace context and baggage across
 * process boundaries: extract from incoming headers, inject into outgoing
 * ones (W3C traceparent, tracestate and baggage).
 *
 * A carrier is any header store seen through a few callbacks, so the same
 * calls work with libmicrohttpd requests, libcurl header lists, message
 * metadata or a test's array. Example with libmicrohttpd and libcurl:
 *
 *   static enum MHD_Result visit_mhd(void *cls, enum MHD_ValueKind k,
 *                                    const char *name, const char *value) {
 *       sl_header_visit *v = cls;
 *       v->fn(v->arg, name, strlen(name), value, strlen(value));
 *       return MHD_YES;
 *   }
 *   static void foreach_mhd(void *conn, sl_header_visit_fn fn, void *arg) {
 *       sl_header_visit v = {fn, arg};
 *       MHD_get_connection_values(conn, MHD_HEADER_KIND, visit_mhd, &v);
 *   }
 *   static int set_curl(void *list, const char *name, const char *value) {
 *       char line[9000];
 *       snprintf(line, sizeof line, "%s: %s", name, value);
 *       struct curl_slist **l = list, *n = curl_slist_append(*l, line);
 *       if (n == NULL) return -1;
 *       *l = n;
 *       return 0;
 *   }
 *
 *   sl_carrier in = {.ctx = connection, .foreach = foreach_mhd};
 *   sl_span_context parent; sl_baggage *bag = NULL;
 *   sl_extract(&in, &parent, &bag);     // any failure: parent is empty
 *   sl_context_token bt; sl_baggage_attach(bag, &bt);
 *   sl_span *srv = sl_span_start_with_parent("GET /x", SL_SPAN_SERVER, &parent);
 *   ...
 *   struct curl_slist *hdrs = NULL;
 *   sl_carrier out = {.ctx = &hdrs, .set = set_curl};
 *   sl_inject_current(&out);
 */
#ifndef SPANLOG_PROPAGATION_H
#define SPANLOG_PROPAGATION_H

#include "baggage.h"
#include "common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called by a carrier's foreach for each header; name and value need not be
 * NUL-terminated and are only read during the call. */
typedef void (*sl_header_visit_fn)(void *arg, const char *name, size_t name_len,
                                   const char *value, size_t value_len);

/* Convenience pair for carriers that wrap another library's iterator. */
typedef struct sl_header_visit {
    sl_header_visit_fn fn;
    void *arg;
} sl_header_visit;

/*
 * A carrier: the caller's header store and the callbacks that read and write
 * it. Caller-allocated, usually with a designated initializer
 * (`sl_carrier in = {.ctx = conn, .foreach = fn};`), which leaves `size` 0:
 * the library reads a `size` of 0 as this first sized layout (every field
 * below), so such code keeps working unchanged. sl_carrier_init() sets
 * `size` to the caller's sizeof, which is what a caller that wants fields
 * added by a later version must do (or `.size = sizeof(sl_carrier)`): the
 * library reads only the fields the caller's size covers. A size that is
 * neither 0 nor at least the first layout's is refused (SL_EINVAL).
 */
typedef struct sl_carrier {
    size_t size; /* 0, or sizeof(sl_carrier) of the caller (sl_carrier_init) */
    void *ctx;   /* the header store, passed back to every callback */
    /*
     * Extract, preferred: calls visit(arg, ...) once per header field, any
     * order. spanlog matches names case-insensitively and sees repeated
     * fields, so a duplicate traceparent is caught and repeated tracestate
     * or baggage fields are joined with ',' (RFC 7230 field order).
     */
    void (*foreach)(void *ctx, sl_header_visit_fn visit, void *arg);
    /*
     * Extract, simpler (used when foreach is NULL): the value of the header
     * named `name` (given in lowercase; match it case-insensitively), NULL
     * when absent. Repeated fields should come back joined with ','.
     */
    const char *(*get)(void *ctx, const char *name);
    /* Inject: adds or replaces header `name` (lowercase) with value (both
     * NUL-terminated, borrowed for the call). Nonzero means it failed. */
    int (*set)(void *ctx, const char *name, const char *value);
    /*
     * Extract, length-aware (used when foreach is NULL, before get): like
     * get, with the value's length in *len, so a value holding NUL is seen
     * whole (and then found invalid) rather than cut at the NUL.
     */
    const char *(*get_n)(void *ctx, const char *name, size_t *len);
    SL__ABI_TEST_TAIL
} sl_carrier;

/*
 * Clears *c and sets c->size to `size` (a macro: the caller's sizeof). NULL
 * is a no-op. Any thread. Optional: a zero-initialised carrier works too.
 */
SL_API void sl_carrier_init_size(sl_carrier *c, size_t size);
#define sl_carrier_init(c) sl_carrier_init_size((c), sizeof(sl_carrier))

/*
 * A ready carrier over a plain array of header pairs (a request's header
 * list, a message's metadata): sl_carrier_pairs() fills *c to extract from
 * pairs[0..n) through foreach, every field seen (repeated ones included),
 * values by length. The array is borrowed: keep it alive while *c is used.
 * Extract only (set is NULL). It writes the first sized layout of *c only
 * (and says so in c->size), so a caller's struct of any later size is fine.
 * Returns c; NULL pairs with n > 0 gives a carrier that sees nothing.
 */
typedef struct sl_header_pair {
    const char *name; /* NUL-terminated */
    const char *value;
    size_t value_len; /* SL_NPOS: value is NUL-terminated */
} sl_header_pair;

typedef struct sl_header_pairs {
    const sl_header_pair *pairs;
    size_t n;
} sl_header_pairs;

SL_API sl_carrier *sl_carrier_pairs(sl_carrier *c, sl_header_pairs *pairs);

/* What sl_extract_report() found for one header. */
typedef enum sl_header_verdict {
    SL_HEADER_ABSENT = 0,   /* not in the carrier */
    SL_HEADER_USED = 1,     /* parsed and used (maybe with entries removed) */
    SL_HEADER_INVALID = 2,  /* dropped: breaks its grammar */
    SL_HEADER_REPEATED = 3, /* dropped: traceparent in more than one field */
    SL_HEADER_TOO_LONG = 4, /* dropped: longer than extract reads */
    SL_HEADER_NO_PARENT = 5 /* tracestate dropped: no valid traceparent */
} sl_header_verdict;

typedef struct sl_extract_report {
    sl_header_verdict traceparent, tracestate, baggage;
    unsigned traceparent_fields; /* fields seen, per header */
    unsigned tracestate_fields;
    unsigned baggage_fields;
    sl_tracestate_info tracestate_info; /* entries kept and removed */
    size_t baggage_dropped;             /* baggage members dropped (sl_baggage_parse) */
} sl_extract_report;

/* Returns the text of a verdict ("absent", "used", "invalid", "repeated",
 * "too long", "no parent"); "unknown" otherwise. */
SL_API const char *sl_header_verdict_name(sl_header_verdict v);

/* Longest joined tracestate extract looks at; longer ones are dropped. It
 * holds 32 entries of the longest (513 characters) with a blank around each
 * comma: valid lists longer than 512 are truncated by entries instead
 * (sl_tracestate_parse). */
#define SL_TRACESTATE_JOINED_MAX (32 * 516)

/*
 * Reads traceparent, tracestate and baggage from the carrier.
 *
 * *parent: on SL_OK the remote parent (ids, flags, remote = 1) with the
 * incoming tracestate, repeated fields joined (dropped, leaving it empty,
 * when invalid or past SL_TRACESTATE_JOINED_MAX: a bad tracestate does not
 * invalidate traceparent; duplicate keys and lists past 512 characters are
 * handled as sl_tracestate_parse says). Otherwise the empty
 * context, so sl_span_start_with_parent() starts a new trace, and the
 * incoming tracestate is not kept (W3C: a restarted trace does not carry
 * the old state).
 *
 * *baggage (optional; NULL skips it): the parsed baggage or NULL; baggage
 * is independent of traceparent. The caller owns it (sl_baggage_free).
 *
 * Returns SL_OK; SL_ENOENT when there is no traceparent; SL_EPARSE when it
 * is invalid or appears more than once; SL_EINVAL for a NULL carrier or
 * parent, a carrier with neither foreach nor get, or one whose size is
 * wrong (see sl_carrier); SL_ENOMEM when memory
 * ran out (tracestate or baggage could not be read; *parent is still
 * filled in when traceparent was valid).
 */
SL_API sl_status sl_extract(const sl_carrier *carrier, sl_span_context *parent,
                            sl_baggage **baggage);

/*
 * sl_extract() that also says, per header, what was used, what was dropped
 * and why, into *report (optional; zeroed first). Same returns, with
 * SL_EPARSE for a repeated traceparent told apart by
 * report->traceparent == SL_HEADER_REPEATED.
 */
SL_API sl_status sl_extract_report_get(const sl_carrier *carrier, sl_span_context *parent,
                                       sl_baggage **baggage, sl_extract_report *report);

/*
 * Writes traceparent (when ctx is valid), tracestate (when ctx has one) and
 * baggage (when b has entries; trailing members are left out if the header
 * would pass SL_BAGGAGE_MAX_BYTES) through carrier->set. ctx and b may be
 * NULL. Returns SL_EINVAL for a NULL carrier or set, or a wrong size (see
 * sl_carrier); SL_EIO when set failed (the remaining headers are still
 * attempted).
 */
SL_API sl_status sl_inject(const sl_carrier *carrier, const sl_span_context *ctx,
                           const sl_baggage *b);

/* sl_inject() with the calling thread's current context and baggage. */
SL_API sl_status sl_inject_current(const sl_carrier *carrier);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_PROPAGATION_H */
