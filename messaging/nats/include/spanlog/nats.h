/*
 * spanlog/nats.h - traces across NATS: a carrier over message headers,
 * traced publish, and a handler wrapper for subscriptions (libspanlog-nats,
 * built when libnats is found; link spanlog::spanlog-nats or
 * `pkg-config spanlog-nats`).
 *
 * Publish side: sl_nats_publish_traced() runs the publish in a PRODUCER
 * span "publish <subject>" and injects its context (traceparent,
 * tracestate) and the current baggage into the message's headers.
 *
 * Consume side: a sl_nats_handler wraps your function. For each message it
 * extracts the context from the headers, makes the baggage current, starts
 * a CONSUMER span "process <subject>" as a child of the message's context
 * (a new trace when it has none, or an invalid one; that is said once, in
 * one record) or, with link_to_message, the root of a new trace linked to
 * the message's context; makes a child logger bound to the message, runs your
 * function, sets the span status from its result and ends the span:
 *
 *   static int work(sl_nats_delivery *d, void *user) {
 *       sl_info(d->log, "order received", SL_INT("bytes",
 * natsMsg_GetDataLength(d->msg))); if (!store(d->msg)) { d->error_type = "store_failed";
 * return 1; } return 0;
 *   }
 *   sl_nats_handler_options o; sl_nats_handler_options_init(&o);
 *   o.fn = work; o.logger = log; o.queue_group = "workers";
 *   sl_nats_handler *h; sl_nats_handler_new(&o, &h);
 *   natsConnection_QueueSubscribe(&sub, nc, "orders", "workers", sl_nats_on_msg, h);
 *
 * Headers: NATS header names are case-sensitive since libnats 3.0; spanlog
 * reads traceparent, tracestate and baggage under any case and sees every
 * value of a repeated header (a repeated traceparent is invalid, repeated
 * tracestate and baggage values are joined, as W3C says). Injecting
 * replaces any existing value under any case of the name and leaves every
 * other header as it was.
 *
 * Threading: libnats headers are not thread-safe: one message is read or
 * written by one thread at a time. A handler object is immutable once
 * made and may serve any number of subscriptions and threads at once.
 */
#ifndef SPANLOG_NATS_H
#define SPANLOG_NATS_H

#include <stdbool.h>

#include <nats/nats.h>

#include <spanlog/spanlog.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A carrier over msg's headers: foreach sees every value of every header,
 * set replaces a header (all its values, under any case of its name).
 * msg is borrowed: the carrier is valid while msg is. A NULL msg gives a
 * carrier whose foreach sees nothing and whose set fails. set fails (-1)
 * when libnats refuses the header (e.g. no memory); a message without
 * headers yet gets them.
 */
SL_API sl_carrier sl_nats_carrier(natsMsg *msg);

/*
 * Publishes msg on nc (natsConnection_PublishMsg) inside a PRODUCER span
 * "publish <subject>", a child of the calling thread's current context,
 * with messaging.system "nats", messaging.destination.name,
 * messaging.operation.type "send", messaging.message.id (the Nats-Msg-Id
 * header, when set), messaging.message.body.size and server.address/port.
 * The span's context and the current baggage are injected first, so the
 * consumer's span becomes its child. msg stays the caller's (destroy it
 * as usual). Returns what libnats returned (NATS_INVALID_ARG for NULL
 * nc or msg); on failure the span's status is ERROR with error.type set to
 * the natsStatus text. While reconnecting, libnats buffers the message
 * (NATS_OK); before the connection's very first connect (with
 * natsOptions_SetRetryOnFailedConnect) it refuses any message with
 * headers as NATS_NO_SERVER_SUPPORT, since it cannot yet know that the
 * server takes them: publish again once connected. Any thread, with the
 * caller's own msg.
 */
SL_API natsStatus sl_nats_publish_msg_traced(natsConnection *nc, natsMsg *msg);

/* sl_nats_publish_msg_traced() of a message made from subject and data
 * (len bytes; data may be NULL when len is 0), destroyed afterwards. */
SL_API natsStatus sl_nats_publish_traced(natsConnection *nc, const char *subject,
                                         const void *data, int len);

/*
 * JetStream: js_PublishMsg(ack, js, msg, opts, err) inside the PRODUCER
 * span, as above; the span ends when the stream's ack arrived (or the
 * publish failed). ack, opts and err are as js_PublishMsg takes them (ack
 * and err may be NULL). Returns what js_PublishMsg returned.
 */
SL_API natsStatus sl_nats_js_publish_msg_traced(jsPubAck **ack, jsCtx *js, natsMsg *msg,
                                                jsPubOptions *opts, jsErrCode *err);

/* What a wrapped handler is given for one message. */
typedef struct sl_nats_delivery {
    natsConnection *nc;
    natsSubscription *sub;
    natsMsg *msg; /* still owned by the wrapper: do not destroy it (ack it if needed) */
    /* A child of the handler's logger, bound to the message
     * (messaging.system, messaging.destination.name, messaging.message.id,
     * messaging.consumer.group.name); NULL when the handler has no logger.
     * Valid until the handler returns. */
    sl_logger *log;
    sl_span *span; /* the CONSUMER span, current on this thread; ended by the wrapper */
    /* A failing handler may set these (static or long-lived strings):
     * error.type (low cardinality; default "_OTHER") and the status
     * message (default "handler failed"). */
    const char *error_type;
    const char *error_message;
} sl_nats_delivery;

/* Your function: 0 when the message was handled, anything else when it
 * failed (the span's status becomes ERROR). */
typedef int (*sl_nats_handler_fn)(sl_nats_delivery *d, void *user);

typedef struct sl_nats_handler_options {
    size_t size;           /* sizeof, set by sl_nats_handler_options_init */
    sl_nats_handler_fn fn; /* required */
    void *user;            /* passed to fn */
    sl_logger *logger; /* borrowed; parent of the per-message child loggers; NULL: none */
    const char *queue_group; /* messaging.consumer.group.name; copied; NULL: none */
    bool destroy_msg; /* sl_nats_on_msg destroys the message after fn (default true) */
    /* Link mode (default false: child mode). When true, the CONSUMER span
     * of each message is the root of a NEW trace carrying one link to the
     * message's context (its ids, flags and tracestate), instead of being
     * its child, as the messaging conventions allow for batch receives; a
     * message without a valid context gets no link (and the new trace is
     * said once, as in child mode). d->log's records carry the new trace's
     * ids. Copied into the handler at sl_nats_handler_new: the handler
     * stays immutable and thread-safe. */
    bool link_to_message;
} sl_nats_handler_options;

typedef struct sl_nats_handler sl_nats_handler;

/* Defaults: no fn, no logger, no queue group, destroy_msg true,
 * link_to_message false. NULL: no-op. */
SL_API void sl_nats_handler_options_init(sl_nats_handler_options *opts);

/*
 * Makes a handler. SL_EINVAL (NULL opts or out, no fn, opts not from
 * sl_nats_handler_options_init), SL_ENOMEM; *out is NULL on failure. The
 * logger must outlive the handler. Free it (sl_nats_handler_free) only
 * once no subscription can call it any more (after natsSubscription_Unsubscribe
 * and its drain, or natsConnection_Destroy).
 */
SL_API sl_status sl_nats_handler_new(const sl_nats_handler_options *opts,
                                     sl_nats_handler **out);

/* Frees a handler. NULL is a no-op. */
SL_API void sl_nats_handler_free(sl_nats_handler *h);

/*
 * Runs h's function for msg inside the consumer span, as described at the
 * top. For pull loops (natsSubscription_NextMsg, natsSubscription_Fetch):
 * the message stays the caller's (it is not destroyed). Returns SL_OK when
 * the function ran (whatever it returned: that went to the span status),
 * SL_EINVAL without running it for NULL h or msg. Any thread.
 */
SL_API sl_status sl_nats_process(sl_nats_handler *h, natsConnection *nc,
                                 natsSubscription *sub, natsMsg *msg);

/*
 * A natsMsgHandler: pass it to natsConnection_Subscribe (and the other
 * subscribe calls) with the handler as closure. It is sl_nats_process(),
 * then natsMsg_Destroy(msg) unless destroy_msg was false.
 */
SL_API void sl_nats_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                           void *handler);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_NATS_H */
