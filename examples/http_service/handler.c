/*
 * handler.c - one HTTP request, from its headers to its answer.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per chunk of body, and a last time with no
 * data. All the work happens in that last call, on one thread, so that the
 * server span can be started, made current and ended there: a span (and the
 * thread's context stack) never outlives the callback that started it,
 * whatever threading mode the daemon runs in.
 *
 *   first call     allocate the request, note its start time
 *   body chunks    append (bounded by max_body)
 *   last call      extract context -> SERVER span -> child logger
 *                  -> "request received" -> work (downstream calls, each in
 *                  a CLIENT span) -> "request completed" -> queue answer
 *                  -> end span
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

typedef struct svc_request {
    int64_t start_ns;
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
} svc_request;

static void append_body(const svc *s, svc_request *rq, const char *data, size_t n)
{
    if (rq->too_large || rq->len + n > s->cfg.max_body) {
        rq->too_large = true; /* keep reading, answer 413 at the end */
        return;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 1024;
        char *grown;
        while (cap < rq->len + n + 1) {
            cap *= 2;
        }
        grown = realloc(rq->body, cap);
        if (grown == NULL) {
            rq->too_large = true;
            return;
        }
        rq->body = grown;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
}

/* Checks the whole body before making any call: all or nothing. */
static const char *check_calls(const svc *s, const json_t *root)
{
    size_t i;
    const json_t *call;
    if (!json_is_array(root)) {
        return "expected a JSON array of {\"url\": ..., \"arguments\": ...}";
    }
    if (json_array_size(root) > s->cfg.max_calls) {
        return "too many downstream calls";
    }
    json_array_foreach(root, i, call)
    {
        if (!json_is_object(call) || !json_is_string(json_object_get(call, "url")) ||
            json_object_get(call, "arguments") == NULL) {
            return "every element needs a string \"url\" and \"arguments\"";
        }
    }
    return NULL;
}

/* The W3C interop protocol: POST json(arguments) to each url, in order. */
static unsigned run_calls(const svc *s, sl_logger *req, const svc_request *rq,
                          json_t *answer)
{
    json_error_t err;
    json_t *root = json_loadb(rq->body ? rq->body : "", rq->len, 0, &err);
    const char *problem;
    json_t *calls;
    json_t *call;
    size_t i;
    bool failed = false;

    if (root == NULL) {
        sl_warn(req, "bad request body", SL_STR("error", err.text),
                SL_INT("line", err.line), SL_INT("column", err.column));
        json_object_set_new(answer, "error", json_string(err.text));
        return 400;
    }
    problem = check_calls(s, root);
    if (problem != NULL) {
        sl_warn(req, "bad request body", SL_STR("error", problem));
        json_object_set_new(answer, "error", json_string(problem));
        json_decref(root);
        return 400;
    }
    calls = json_array();
    json_array_foreach(root, i, call)
    {
        const char *url = json_string_value(json_object_get(call, "url"));
        long status =
            svc_call_downstream(s, req, i, url, json_object_get(call, "arguments"));
        failed = failed || status == 0;
        json_array_append_new(calls,
                              json_pack("{s:s,s:i}", "url", url, "status", (int)status));
    }
    json_object_set_new(answer, "calls", calls);
    json_decref(root);
    return failed ? 502 : 200;
}

static void log_completed(sl_logger *req, unsigned status, int64_t start_ns)
{
    sl_level level = status >= 500   ? SL_LEVEL_ERROR
                     : status >= 400 ? SL_LEVEL_WARN
                                     : SL_LEVEL_INFO;
    sl_log(req, level, "request completed", SL_UINT("status", status),
           SL_DOUBLE("durationMs", svc_ms_since(start_ns)));
}

static enum MHD_Result answer_json(struct MHD_Connection *conn, unsigned status,
                                   const json_t *answer, const char *request_id)
{
    char *text = json_dumps(answer, JSON_COMPACT);
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (text == NULL) {
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "X-Request-Id", request_id);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/*
 * GET /level answers the service's log level; PUT /level with a level name
 * as the body sets it (children follow: every request logger too), the way
 * zap's level handler does. A real service puts this behind its admin port.
 */
static enum MHD_Result handle_level(svc *s, struct MHD_Connection *conn,
                                    const char *method, const svc_request *rq)
{
    unsigned status = 200;
    json_t *answer = json_object();
    if (strcmp(method, "PUT") == 0) {
        char name[16] = "";
        size_t n = rq->len < sizeof(name) - 1 ? rq->len : sizeof(name) - 1;
        if (rq->body != NULL) {
            memcpy(name, rq->body, n);
        }
        name[n] = '\0';
        sl_level lv;
        if (sl_level_parse(name, &lv) != SL_OK) {
            json_object_set_new(answer, "error", json_string("not a level"));
            status = 400;
        } else {
            sl_level was = sl_logger_get_level(s->log);
            sl_logger_set_level(s->log, lv);
            sl_warn(s->log, "log level changed", SL_STR("from", sl_level_name(was)),
                    SL_STR("to", sl_level_name(lv)), SL_STR("by", "PUT /level"));
        }
    } else if (strcmp(method, "GET") != 0) {
        json_object_set_new(answer, "error", json_string("GET or PUT"));
        status = 405;
    }
    json_object_set_new(answer, "level",
                        json_string(sl_level_name(sl_logger_get_level(s->log))));
    char id[SL_SPAN_ID_HEX_LEN + 1];
    sl_span_id_to_hex(sl_span_id_random(), id);
    enum MHD_Result ret = answer_json(conn, status, answer, id);
    json_decref(answer);
    return ret;
}

static enum MHD_Result handle(svc *s, struct MHD_Connection *conn, const char *url,
                              const char *method, svc_request *rq)
{
    if (strcmp(url, "/level") == 0) {
        return handle_level(s, conn, method, rq);
    }
    char request_id[SL_SPAN_ID_HEX_LEN + 1];
    char parent_id[SL_SPAN_ID_HEX_LEN + 1];
    char trace_id[SL_TRACE_ID_HEX_LEN + 1] = "";
    char name[32];
    sl_span_context parent;
    sl_baggage *baggage = NULL;
    sl_context_token baggage_token;
    bool baggage_attached;
    svc_origin origin = svc_extract(conn, &parent, &baggage);
    const sl_span_context *ctx;
    bool health = strcmp(url, "/health") == 0;
    json_t *answer = json_object();
    sl_logger *req;
    sl_span *span;
    unsigned status;
    enum MHD_Result ret;

    /* Span names stay low-cardinality: the method, plus the route we know. */
    snprintf(name, sizeof(name), "%s%s", method, health ? " /health" : "");
    /* Baggage first, so the span (and the client spans under it) carry it. */
    baggage_attached = sl_baggage_attach(baggage, &baggage_token) == SL_OK;
    span = sl_span_start_with_parent(name, SL_SPAN_SERVER,
                                     origin == SVC_ORIGIN_CONTINUED ? &parent : NULL);
    sl_span_set(span, SL_STR("http.request.method", method), SL_STR("url.path", url));
    ctx = sl_span_get_context(span);
    if (ctx != NULL) {
        sl_trace_id_to_hex(ctx->trace_id, trace_id);
    }
    sl_span_id_to_hex(sl_span_id_random(), request_id);
    sl_span_id_to_hex(parent.span_id, parent_id);

    req = sl_child(s->log, SL_STR("requestId", request_id), SL_STR("method", method),
                   SL_STR("path", url));
    sl_info(req, "request received", SL_STR("propagation", svc_origin_name(origin)),
            SL_STR("parentSpanId", origin == SVC_ORIGIN_CONTINUED ? parent_id : NULL),
            SL_UINT("bodyBytes", rq->len),
            SL_UINT("baggageEntries", sl_baggage_count(baggage)));

    if (rq->too_large) {
        sl_warn(req, "request body too large", SL_UINT("limit", s->cfg.max_body));
        json_object_set_new(answer, "error", json_string("request body too large"));
        status = 413;
    } else if (strcmp(method, "POST") == 0) {
        status = run_calls(s, req, rq, answer);
    } else {
        json_object_set_new(answer, "status", json_string("ok"));
        status = 200;
    }
    json_object_set_new(answer, "requestId", json_string(request_id));
    json_object_set_new(answer, "traceId", json_string(trace_id));

    if (s->queue != NULL && !health) {
        svc_queue_request(s, req, request_id, method, url, status);
    }
    sl_span_set(span, SL_UINT("http.response.status_code", status));
    if (status >= 500) {
        sl_span_set_status(span, SL_SPAN_STATUS_ERROR, "server error");
    }
    /* Logged, and the span ended (its processors run), before the answer is
     * queued: whoever holds the answer can read every record of the request. */
    log_completed(req, status, rq->start_ns);
    sl_logger_free(req);
    sl_span_end(span);
    if (baggage_attached) {
        sl_context_detach(baggage_token);
    }
    sl_baggage_free(baggage);

    ret = answer_json(conn, status, answer, request_id);
    json_decref(answer);
    return ret;
}

enum MHD_Result svc_access(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version,
                           const char *upload_data, size_t *upload_data_size,
                           void **req_cls)
{
    svc *s = cls;
    svc_request *rq = *req_cls;
    (void)version;

    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL) {
            return MHD_NO;
        }
        rq->start_ns = svc_monotonic_ns();
        *req_cls = rq;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        append_body(s, rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle(s, conn, url, method, rq);
}

void svc_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                   enum MHD_RequestTerminationCode toe)
{
    svc *s = cls;
    svc_request *rq = *req_cls;
    unsigned long answered;
    (void)conn;
    (void)toe;

    if (rq == NULL) {
        return;
    }
    free(rq->body);
    free(rq);
    *req_cls = NULL;

    answered = atomic_fetch_add(&s->answered, 1) + 1;
    pthread_mutex_lock(&s->mu);
    if (--s->inflight == 0) {
        pthread_cond_broadcast(&s->idle);
    }
    pthread_mutex_unlock(&s->mu);

    /* Process-directed, so the main thread's sigwait() takes it. */
    if (s->cfg.max_requests > 0 && answered == s->cfg.max_requests &&
        !atomic_exchange(&s->max_reached, true)) {
        kill(getpid(), SIGTERM);
    }
}
