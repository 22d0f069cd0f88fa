/*
 * propagation.c - spanlog carriers over libmicrohttpd (in) and libcurl (out).
 *
 * The W3C rules live in sl_extract()/sl_inject(): names compared
 * case-insensitively, a duplicated traceparent restarts the trace, repeated
 * tracestate and baggage fields are joined in arrival order, an invalid
 * traceparent drops the incoming tracestate. All the service has to do is
 * show spanlog every header field (foreach, not get, so repeated fields are
 * seen) and append what it is given to the outgoing list.
 *
 * The service also keeps its own tracestate entry, as a vendor would:
 * `svc=<the calling span's id>` on every outgoing call, put leftmost with
 * sl_tracestate_set() (W3C: a vendor's updated entry moves to the left; at
 * 32 entries the rightmost other one is removed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

static enum MHD_Result visit_mhd(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    const sl_header_visit *v = cls;
    (void)kind;
    if (key != NULL && value != NULL) {
        v->fn(v->arg, key, strlen(key), value, strlen(value));
    }
    return MHD_YES;
}

static void foreach_mhd(void *conn, sl_header_visit_fn fn, void *arg)
{
    sl_header_visit v = {fn, arg};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, visit_mhd, &v);
}

const char *svc_origin_name(svc_origin origin)
{
    switch (origin) {
    case SVC_ORIGIN_CONTINUED:
        return "continued";
    case SVC_ORIGIN_RESTARTED:
        return "restarted";
    case SVC_ORIGIN_NEW:
    default:
        return "new";
    }
}

svc_origin svc_extract(struct MHD_Connection *conn, sl_span_context *parent,
                       sl_baggage **baggage)
{
    sl_carrier in = {.ctx = conn, .foreach = foreach_mhd};
    sl_status st = sl_extract(&in, parent, baggage);
    if (st == SL_ENOENT) {
        return SVC_ORIGIN_NEW;
    }
    /* SL_ENOMEM concerns the baggage only: a valid parent still continues. */
    return sl_span_context_is_valid(parent) ? SVC_ORIGIN_CONTINUED : SVC_ORIGIN_RESTARTED;
}

bool svc_header_append(struct curl_slist **headers, const char *line)
{
    struct curl_slist *next = curl_slist_append(*headers, line);
    if (next == NULL) {
        return false;
    }
    *headers = next;
    return true;
}

static int set_curl(void *list, const char *name, const char *value)
{
    size_t n = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(n);
    bool ok;
    if (line == NULL) {
        return -1;
    }
    snprintf(line, n, "%s: %s", name, value);
    ok = svc_header_append(list, line);
    free(line);
    return ok ? 0 : -1;
}

bool svc_inject_current(struct curl_slist **headers)
{
    sl_carrier out = {.ctx = headers, .set = set_curl};
    const sl_span_context *cur = sl_context_current();
    if (!sl_span_context_is_valid(cur)) {
        return sl_inject_current(&out) == SL_OK;
    }
    sl_span_context ctx = *cur;
    char id[SL_SPAN_ID_HEX_LEN + 1];
    sl_span_id_to_hex(ctx.span_id, id);
    /* A 16-digit hex value under our own key: always valid, always fits. */
    (void)sl_tracestate_set(&ctx, SVC_TRACESTATE_KEY, id);
    return sl_inject(&out, &ctx, sl_baggage_current()) == SL_OK;
}
