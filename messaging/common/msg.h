/*
 * msg.h - what the NATS and Kafka parts share: the OpenTelemetry messaging
 * conventions (span names, kinds, attributes), the consumer scope (extract,
 * span, baggage, child logger, status) and a broker URL parser.
 *
 * Built into each messaging library with hidden visibility and only the
 * public spanlog API underneath, so libspanlog-nats and libspanlog-kafka
 * link against an unchanged libspanlog. Names are sl__msg_*: none of this
 * is API.
 */
#ifndef SPANLOG_MESSAGING_MSG_H
#define SPANLOG_MESSAGING_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spanlog/spanlog.h"

/* One message, as the conventions describe it. Every string is borrowed
 * and may be NULL (the attribute is then left out). */
typedef struct sl__msg_info {
    const char *system; /* messaging.system: "nats", "kafka" */
    const char
        *operation_name;     /* messaging.operation.name: "publish", "send", "process" */
    const char *destination; /* messaging.destination.name */
    const char *message_id;  /* messaging.message.id */
    int64_t body_size;       /* messaging.message.body.size; < 0: unknown */
    const char *consumer_group; /* messaging.consumer.group.name */
    int64_t partition;          /* messaging.destination.partition.id; < 0: none */
    int64_t offset;             /* messaging.kafka.offset; < 0: none */
    const void *key;            /* messaging.kafka.message.key (bytes) */
    size_t key_len;
    const char *server_address; /* server.address */
    int server_port;            /* server.port; 0: unknown */
} sl__msg_info;

/* An info with every optional member unset. */
sl__msg_info sl__msg_info_empty(const char *system, const char *operation_name);

/*
 * Starts the PRODUCER span "<operation_name> <destination>" as a child of
 * the calling thread's current context, with the send attributes set. It is
 * current until sl__msg_send_end(). NULL only when memory ran out.
 */
sl_span *sl__msg_send_start(const sl__msg_info *info);

/* Ends a span of sl__msg_send_start() or sl__msg_process_begin():
 * error_type NULL means success; otherwise status ERROR with message and
 * the error.type attribute. */
void sl__msg_span_finish(sl_span *span, const char *error_type, const char *message);

/* The consumer side of one message, between begin and end. */
typedef struct sl__msg_scope {
    sl_span *span;    /* the CONSUMER span, current on this thread */
    sl_logger *log;   /* child of the given logger bound to the message, or NULL */
    sl_status origin; /* what sl_extract returned: SL_OK continued, else new trace */
    sl_baggage *baggage;
    sl_context_token baggage_token;
    bool baggage_attached;
} sl__msg_scope;

/*
 * Extracts traceparent, tracestate and baggage from `in`, makes the
 * baggage current, starts the CONSUMER span "process <destination>" as a
 * child of the message's context (a new trace when it has none or an
 * invalid one), sets the attributes and makes the child logger of `log`
 * (NULL: none) bound to the message. A message without a valid context is
 * said so once, in one record on the child logger (with what was wrong:
 * sl_extract_report_get's verdict on traceparent). Never fails: without
 * memory the span or logger may be NULL, which the other calls accept.
 * With `link`, the span is the root of a new trace instead and carries one
 * link to the message's context (with its tracestate); a message without
 * a valid context gets no link (and is said so, as above).
 */
void sl__msg_process_begin(sl__msg_scope *sc, const sl_carrier *in,
                           const sl__msg_info *info, sl_logger *log, bool link);

/* The handler's result: rc 0 success; otherwise status ERROR with
 * error_message (NULL: "handler failed") and error.type (NULL: "_OTHER").
 * Ends the span, frees the logger, restores the baggage. */
void sl__msg_process_end(sl__msg_scope *sc, int rc, const char *error_type,
                         const char *error_message);

/*
 * Splits a broker URL ("nats://user:pw@host:4222", "host:9092",
 * "[::1]:4222") into host (NUL-terminated, at most cap - 1 bytes) and
 * port (0 when absent). Returns false when it does not fit or is empty.
 */
bool sl__msg_split_url(const char *url, char *host, size_t cap, int *port);

/* ASCII case-insensitive equality of two NUL-terminated names. */
bool sl__msg_name_eq(const char *a, const char *b);

#endif /* SPANLOG_MESSAGING_MSG_H */
