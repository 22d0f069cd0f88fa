/*
 * spanlog/kafka.h - traces across Kafka: a carrier over record headers,
 * traced produce, and a wrapper that processes one consumed record inside
 * its consumer span (libspanlog-kafka, built when librdkafka is found;
 * link spanlog::spanlog-kafka or `pkg-config spanlog-kafka`).
 *
 * Produce side: sl_kafka_produce_traced() enqueues the record inside a
 * PRODUCER span "send <topic>" whose context (traceparent, tracestate) and
 * the current baggage go into the record's headers.
 *
 * Consume side, in your poll loop:
 *
 *   rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
 *   if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
 *       sl_kafka_process(rk, m, &opts, work, NULL);  // CONSUMER span around work()
 *   }
 *   if (m != NULL) rd_kafka_message_destroy(m);
 *
 * sl_kafka_process extracts the record's context, makes its baggage
 * current, starts a CONSUMER span "process <topic>" as a child of it (a new
 * trace when there is none or it is invalid; that is said once, in one
 * record; with opts->link_to_message, always a new trace linked to it), with
 * messaging.system "kafka", messaging.destination.name,
 * messaging.destination.partition.id, messaging.kafka.offset,
 * messaging.kafka.message.key, messaging.consumer.group.name and
 * messaging.message.body.size; gives your function a child logger bound
 * to the record; sets the status from its result; ends the span.
 *
 * Headers: Kafka header names are case-sensitive byte strings and may
 * repeat. spanlog reads traceparent, tracestate and baggage under any case
 * and sees every value (a repeated traceparent is invalid, repeated
 * tracestate and baggage values are joined, as W3C says); injecting
 * replaces the name under any case and leaves every other header alone.
 *
 * Threading: a headers list is used by one thread at a time. Everything
 * here may be called from any thread.
 */
#ifndef SPANLOG_KAFKA_H
#define SPANLOG_KAFKA_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include <spanlog/spanlog.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A carrier over hdrs: foreach sees every header (a NULL value as ""),
 * set removes the name under any case and adds name=value. hdrs is
 * borrowed: the carrier is valid while hdrs is. Read-only lists (those of
 * a consumed message, rd_kafka_message_headers) can be extracted from; set
 * on them fails (-1). A NULL hdrs gives a carrier that sees nothing and
 * whose set fails.
 */
SL_API sl_carrier sl_kafka_carrier(rd_kafka_headers_t *hdrs);

/* One record to produce. */
typedef struct sl_kafka_record {
    size_t size;       /* sizeof, set by sl_kafka_record_init */
    const char *topic; /* required */
    int32_t partition; /* default RD_KAFKA_PARTITION_UA (the partitioner picks) */
    const void *key;   /* copied; NULL: no key */
    size_t key_len;
    const void *value; /* copied; NULL: a tombstone */
    size_t value_len;
    /* Headers to send besides spanlog's (NULL: none). Always taken over:
     * on success librdkafka owns them, on failure they are destroyed. */
    rd_kafka_headers_t *headers;
    void *opaque; /* the delivery report's msg_opaque */
} sl_kafka_record;

/* Clears *rec, sets size and partition = RD_KAFKA_PARTITION_UA. NULL: no-op. */
SL_API void sl_kafka_record_init(sl_kafka_record *rec);

/*
 * Enqueues rec on producer rk (rd_kafka_produceva, key and value copied)
 * inside a PRODUCER span "send <topic>", a child of the calling thread's
 * current context, with messaging.system "kafka",
 * messaging.destination.name, messaging.operation.type "send",
 * messaging.destination.partition.id (when given), messaging.kafka.message.key
 * and messaging.message.body.size. The span covers the enqueue, not the
 * broker's acknowledgement (librdkafka reports that later, on another
 * thread, in the delivery report). Returns the error code rd_kafka_produceva gave
 * (RD_KAFKA_RESP_ERR__INVALID_ARG for NULL rk, rec or topic, or rec not
 * from sl_kafka_record_init; RD_KAFKA_RESP_ERR__FAIL when no header
 * list could be made); on failure the span's status is ERROR with
 * error.type the librdkafka error name. Any thread.
 */
SL_API rd_kafka_resp_err_t sl_kafka_produce_traced(rd_kafka_t *rk,
                                                   const sl_kafka_record *rec);

/* What the processing function is given for one record. */
typedef struct sl_kafka_delivery {
    rd_kafka_t *rk;
    const rd_kafka_message_t *msg; /* the caller's; valid until the function returns */
    /* A child of the options' logger bound to the record
     * (messaging.system, messaging.destination.name,
     * messaging.destination.partition.id, messaging.kafka.offset,
     * messaging.consumer.group.name); NULL without a logger. */
    sl_logger *log;
    sl_span *span; /* the CONSUMER span, current on this thread */
    /* A failing function may set these (static or long-lived strings):
     * error.type (default "_OTHER") and the status message (default
     * "handler failed"). */
    const char *error_type;
    const char *error_message;
} sl_kafka_delivery;

/* 0 when the record was handled; anything else marks the span ERROR. */
typedef int (*sl_kafka_handler_fn)(sl_kafka_delivery *d, void *user);

typedef struct sl_kafka_process_options {
    size_t size;       /* sizeof, set by sl_kafka_process_options_init */
    sl_logger *logger; /* borrowed; parent of the per-record loggers; NULL: none */
    const char
        *consumer_group; /* messaging.consumer.group.name (your group.id); NULL: none */
    /* Link mode (default false: child mode). When true, the CONSUMER span
     * is the root of a NEW trace carrying one link to the record's context
     * (its ids, flags and tracestate), instead of being its child, as the
     * messaging conventions allow for batch receives; a record without a
     * valid context gets no link (the new trace is said once, as in child
     * mode). d->log's records carry the new trace's ids. Read only during
     * the call, like the rest of opts; any thread. */
    bool link_to_message;
} sl_kafka_process_options;

/* Defaults: no logger, no group, link_to_message false. NULL: no-op. */
SL_API void sl_kafka_process_options_init(sl_kafka_process_options *opts);

/*
 * Runs fn for msg inside its CONSUMER span, as described at the top. opts
 * may be NULL (no logger, no group); it is only read during the call.
 * Returns SL_OK when fn ran (its result went to the span status);
 * SL_EINVAL without running it for NULL msg or fn, opts not initialised,
 * or a message that carries an error or event (msg->err set) rather than
 * a record. msg stays the caller's. Any thread.
 */
SL_API sl_status sl_kafka_process(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                                  const sl_kafka_process_options *opts,
                                  sl_kafka_handler_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_KAFKA_H */
