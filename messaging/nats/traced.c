/*
 * traced.c - traced publish and the handler wrapper for NATS.
 *
 * Publish: PRODUCER span -> inject its context into the headers -> publish
 * -> status -> end. Consume: sl__msg_process_begin (extract, baggage,
 * CONSUMER span, child logger) -> the user's function -> end.
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/common/msg.h"
#include "spanlog/nats.h"

struct sl_nats_handler {
    sl_nats_handler_fn fn;
    void *user;
    sl_logger *logger;
    char *queue_group;
    bool destroy_msg;
    bool link_to_message;
};

/* Fills what both sides know of msg: subject, id, size, the server. */
static sl__msg_info nats_info(natsConnection *nc, natsMsg *msg, const char *operation,
                              char *host, size_t host_cap)
{
    char url[256];
    const char *id = NULL;
    sl__msg_info info = sl__msg_info_empty("nats", operation);
    info.destination = natsMsg_GetSubject(msg);
    info.body_size = natsMsg_GetDataLength(msg);
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK) {
        info.message_id = id;
    }
    if (nc != NULL && natsConnection_GetConnectedUrl(nc, url, sizeof(url)) == NATS_OK &&
        sl__msg_split_url(url, host, host_cap, &info.server_port)) {
        info.server_address = host;
    }
    return info;
}

/* Starts the producer span and injects its context; the span is current. */
static sl_span *send_begin(natsConnection *nc, natsMsg *msg)
{
    char host[128];
    sl__msg_info info = nats_info(nc, msg, "publish", host, sizeof(host));
    sl_span *span = sl__msg_send_start(&info);
    sl_carrier out = sl_nats_carrier(msg);
    if (sl_inject_current(&out) != SL_OK) {
        sl_span_add_event(span, "trace context not injected", NULL, 0);
    }
    return span;
}

static natsStatus send_end(sl_span *span, natsStatus s)
{
    sl__msg_span_finish(span, s == NATS_OK ? NULL : natsStatus_GetText(s),
                        s == NATS_OK ? NULL : nats_GetLastError(NULL));
    return s;
}

natsStatus sl_nats_publish_msg_traced(natsConnection *nc, natsMsg *msg)
{
    if (nc == NULL || msg == NULL) {
        return NATS_INVALID_ARG;
    }
    sl_span *span = send_begin(nc, msg);
    return send_end(span, natsConnection_PublishMsg(nc, msg));
}

natsStatus sl_nats_publish_traced(natsConnection *nc, const char *subject,
                                  const void *data, int len)
{
    natsMsg *msg = NULL;
    natsStatus s;
    if (nc == NULL) {
        return NATS_INVALID_ARG;
    }
    s = natsMsg_Create(&msg, subject, NULL, data, len);
    if (s != NATS_OK) {
        return s;
    }
    s = sl_nats_publish_msg_traced(nc, msg);
    natsMsg_Destroy(msg);
    return s;
}

natsStatus sl_nats_js_publish_msg_traced(jsPubAck **ack, jsCtx *js, natsMsg *msg,
                                         jsPubOptions *opts, jsErrCode *err)
{
    if (js == NULL || msg == NULL) {
        return NATS_INVALID_ARG;
    }
    /* libnats does not hand out a JetStream context's connection: no server.address. */
    sl_span *span = send_begin(NULL, msg);
    return send_end(span, js_PublishMsg(ack, js, msg, opts, err));
}

void sl_nats_handler_options_init(sl_nats_handler_options *opts)
{
    if (opts == NULL) {
        return;
    }
    memset(opts, 0, sizeof(*opts));
    opts->size = sizeof(*opts);
    opts->destroy_msg = true;
}

sl_status sl_nats_handler_new(const sl_nats_handler_options *opts, sl_nats_handler **out)
{
    sl_nats_handler *h;
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (opts == NULL || opts->size != sizeof(*opts) || opts->fn == NULL) {
        return SL_EINVAL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return SL_ENOMEM;
    }
    h->fn = opts->fn;
    h->user = opts->user;
    h->logger = opts->logger;
    h->destroy_msg = opts->destroy_msg;
    h->link_to_message = opts->link_to_message;
    if (opts->queue_group != NULL &&
        (h->queue_group = strdup(opts->queue_group)) == NULL) {
        free(h);
        return SL_ENOMEM;
    }
    *out = h;
    return SL_OK;
}

void sl_nats_handler_free(sl_nats_handler *h)
{
    if (h != NULL) {
        free(h->queue_group);
        free(h);
    }
}

sl_status sl_nats_process(sl_nats_handler *h, natsConnection *nc, natsSubscription *sub,
                          natsMsg *msg)
{
    char host[128];
    sl__msg_scope sc;
    sl_nats_delivery d;
    sl__msg_info info;
    sl_carrier in;
    int rc;
    if (h == NULL || msg == NULL) {
        return SL_EINVAL;
    }
    info = nats_info(nc, msg, "process", host, sizeof(host));
    info.consumer_group = h->queue_group;
    in = sl_nats_carrier(msg);
    sl__msg_process_begin(&sc, &in, &info, h->logger, h->link_to_message);
    memset(&d, 0, sizeof(d));
    d.nc = nc;
    d.sub = sub;
    d.msg = msg;
    d.log = sc.log;
    d.span = sc.span;
    rc = h->fn(&d, h->user);
    sl__msg_process_end(&sc, rc, d.error_type, d.error_message);
    return SL_OK;
}

void sl_nats_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                    void *handler)
{
    sl_nats_handler *h = handler;
    bool destroy =
        h == NULL || h->destroy_msg; /* read before: h may go once fn returned */
    (void)sl_nats_process(h, nc, sub, msg);
    if (destroy) {
        natsMsg_Destroy(msg);
    }
}
