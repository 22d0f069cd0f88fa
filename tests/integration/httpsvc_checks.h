/*
 * httpsvc_checks.h - shared by the http_service test programs: the group's
 * service and receiver, the protocol request helpers and the checks that
 * compare the wire, the answer and the records. cmocka assertions: call
 * these from the test's main thread only.
 */
#ifndef SPANLOG_TEST_HTTPSVC_CHECKS_H
#define SPANLOG_TEST_HTTPSVC_CHECKS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "integration/httpsvc_harness.h"

#ifndef HTTP_SERVICE_BIN
#error "HTTP_SERVICE_BIN must name the built http_service"
#endif

#define START_TIMEOUT_MS 15000
#define HTTP_TIMEOUT_MS  15000
#define STOP_TIMEOUT_MS  15000
#define MAX_CALLS        8

#define HEX_TRACE 33 /* 32 hex digits and a NUL */
#define HEX_SPAN  17

#define IN_TRACE  "4bf92f3577b34da6a3ce929d0e0e4736"
#define IN_PARENT "00f067aa0ba902b7"

/* Started by hc_group_setup with --log-spans; stopped by the teardown. */
extern hs_service g_svc;
extern hs_receiver g_recv;
extern atomic_uint g_sent;   /* requests sent to g_svc, for the final count */
extern atomic_uint g_prefix; /* unique receiver path prefixes */

typedef struct wire_call {
    char trace[HEX_TRACE];
    char span[HEX_SPAN];
    char flags[3];
    const char *tracestate; /* NULL: the header was absent */
} wire_call;

typedef struct expect {
    const char *origin;     /* "new", "continued", "restarted" */
    const char *trace;      /* the trace id that must continue; NULL for a new trace */
    const char *not_trace;  /* a trace id that must NOT appear (restarted) */
    const char *parent;     /* the incoming parent-id (continued) */
    const char *flags;      /* expected flags on the wire */
    const char *tracestate; /* incoming tracestate passed on (after the service's
                               own svc entry); NULL: none passed on */
} expect;

/* 32/16 lowercase hex digits, not all zero. */
bool is_hex(const char *s, size_t len);
const char *str_field(const json_t *rec, const char *key);

/* time, level, service and the child logger's requestId, method, path. */
void check_request_record(const json_t *rec, const char *level, const char *rid,
                          const char *method, const char *path);
/* traceId, spanId and the correlationId derived from them. */
void check_ids(const json_t *rec, const char *trace, const char *span);

/* "/<tag><n>": a receiver path prefix no other request uses. */
char *next_prefix(char *buf, size_t cap, const char *tag);
/* [{"url": receiver+prefix/i, "arguments": [...]}] for i < ncalls. */
json_t *make_calls(const char *prefix, size_t ncalls);
/* One request to g_svc (counted in g_sent). */
int send_to_service(const char *method, const char *path, const char *const *headers,
                    const char *body, hs_response *resp);
/* POSTs make_calls(prefix, ncalls) to g_svc; returns the calls. */
json_t *post_protocol(const char *const *headers, const char *prefix, size_t ncalls,
                      hs_response *resp);

/* The wire, the answer and the records of one protocol request agree with e. */
void check_propagated(const hs_response *resp, const json_t *calls, const char *prefix,
                      const expect *e);
/* post_protocol + check_propagated under a fresh prefix. */
void roundtrip(const char *const *headers, size_t ncalls, const expect *e);

/*
 * Stops g_svc with SIGTERM and checks it went cleanly: exit 0 within the
 * deadline, every line valid JSON, "stopping" (SIGTERM) and "stopped" last,
 * with every request sent answered and none abandoned.
 */
void check_clean_stop(void);

/* cmocka group setup/teardown: receiver, service (stopped with SIGTERM, checked). */
int hc_group_setup(void **state);
int hc_group_teardown(void **state);

#endif /* SPANLOG_TEST_HTTPSVC_CHECKS_H */
