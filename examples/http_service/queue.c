/*
 * queue.c - --nats URL: each answered request is also published to NATS,
 * with its trace context, for examples/queue_worker to pick up.
 *
 * sl_nats_publish_traced() does the tracing: a PRODUCER span under the
 * request's SERVER span, its traceparent (and tracestate, baggage) in the
 * message headers. The worker continues the trace from there, so one trace
 * runs HTTP -> NATS -> worker. Built with libspanlog-nats only
 * (SVC_WITH_NATS); without it --nats is refused at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

#ifdef SVC_WITH_NATS
#include <spanlog/nats.h>

int svc_queue_open(svc *s)
{
    natsConnection *nc = NULL;
    natsOptions *o = NULL;
    natsStatus st;
    if (s->cfg.nats_url == NULL) {
        return 0;
    }
    /* Keep reconnecting if the server goes away; buffer meanwhile. */
    st = natsOptions_Create(&o);
    if (st == NATS_OK) {
        st = natsOptions_SetURL(o, s->cfg.nats_url);
    }
    if (st == NATS_OK) {
        st = natsOptions_SetMaxReconnect(o, -1);
    }
    if (st == NATS_OK) {
        st = natsConnection_Connect(&nc, o);
    }
    natsOptions_Destroy(o);
    if (st != NATS_OK) {
        sl_fatal(s->log, "cannot connect to NATS", SL_STR("url", s->cfg.nats_url),
                 SL_STR("error", natsStatus_GetText(st)));
        return -1;
    }
    sl_info(s->log, "publishing requests to NATS", SL_STR("url", s->cfg.nats_url),
            SL_STR("subject", s->cfg.nats_subject));
    s->queue = nc;
    return 0;
}

void svc_queue_close(svc *s)
{
    if (s->queue != NULL) {
        natsConnection_FlushTimeout(s->queue, 2000);
        natsConnection_Destroy(s->queue);
        s->queue = NULL;
        nats_Close();
    }
}

void svc_queue_request(svc *s, sl_logger *req, const char *request_id, const char *method,
                       const char *path, unsigned status)
{
    json_t *job = json_pack("{s:s,s:s,s:s,s:i}", "requestId", request_id, "method",
                            method, "path", path, "status", (int)status);
    char *body = job != NULL ? json_dumps(job, JSON_COMPACT) : NULL;
    natsStatus st = NATS_NO_MEMORY;
    if (body != NULL) {
        st = sl_nats_publish_traced(s->queue, s->cfg.nats_subject, body,
                                    (int)strlen(body));
    }
    if (st == NATS_OK) {
        sl_info(req, "request queued", SL_STR("subject", s->cfg.nats_subject));
    } else {
        sl_warn(req, "request not queued", SL_STR("subject", s->cfg.nats_subject),
                SL_STR("error", natsStatus_GetText(st)));
    }
    free(body);
    json_decref(job);
}

#else /* no libnats */

int svc_queue_open(svc *s)
{
    if (s->cfg.nats_url != NULL) {
        fprintf(stderr, "http_service: built without libnats, --nats is not available\n");
        return -1;
    }
    return 0;
}

void svc_queue_close(svc *s)
{
    (void)s;
}

void svc_queue_request(svc *s, sl_logger *req, const char *request_id, const char *method,
                       const char *path, unsigned status)
{
    (void)s;
    (void)req;
    (void)request_id;
    (void)method;
    (void)path;
    (void)status;
}
#endif
