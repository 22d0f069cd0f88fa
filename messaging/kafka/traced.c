/*
 * traced.c - traced produce and per-record processing for Kafka.
 *
 * Produce: PRODUCER span -> inject into the record's headers -> produceva
 * (which takes the headers on success) -> status -> end. Process:
 * sl__msg_process_begin (extract, baggage, CONSUMER span, child logger)
 * -> the user's function -> end.
 */
#include <stdbool.h>
#include <string.h>

#include "messaging/common/msg.h"
#include "spanlog/kafka.h"

/* Keys longer than this are left out of the span (they are often binary). */
#define KEY_ATTRIBUTE_MAX 256

void sl_kafka_record_init(sl_kafka_record *rec)
{
    if (rec == NULL) {
        return;
    }
    memset(rec, 0, sizeof(*rec));
    rec->size = sizeof(*rec);
    rec->partition = RD_KAFKA_PARTITION_UA;
}

static void set_key(sl__msg_info *info, const void *key, size_t len)
{
    if (key != NULL && len <= KEY_ATTRIBUTE_MAX) {
        info->key = key;
        info->key_len = len;
    }
}

/* rd_kafka_produceva rather than producev: producev's type-checking macros
 * are GNU statement expressions, which clang -Wpedantic refuses. */
static rd_kafka_resp_err_t produce(rd_kafka_t *rk, const sl_kafka_record *rec,
                                   rd_kafka_headers_t *hdrs)
{
    rd_kafka_vu_t vu[7];
    rd_kafka_error_t *error;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    memset(vu, 0, sizeof(vu));
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = rec->topic;
    vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[1].u.i32 = rec->partition;
    vu[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[2].u.i = RD_KAFKA_MSG_F_COPY;
    vu[3].vtype = RD_KAFKA_VTYPE_KEY;
    vu[3].u.mem.ptr = (void *)rec->key;
    vu[3].u.mem.size = rec->key_len;
    vu[4].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[4].u.mem.ptr = (void *)rec->value;
    vu[4].u.mem.size = rec->value_len;
    vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[5].u.ptr = rec->opaque;
    vu[6].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[6].u.headers = hdrs;
    error = rd_kafka_produceva(rk, vu, sizeof(vu) / sizeof(vu[0]));
    if (error != NULL) {
        err = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
    }
    return err;
}

rd_kafka_resp_err_t sl_kafka_produce_traced(rd_kafka_t *rk, const sl_kafka_record *rec)
{
    rd_kafka_headers_t *hdrs;
    rd_kafka_resp_err_t err;
    sl__msg_info info;
    sl_carrier out;
    sl_span *span;

    if (rec == NULL) {
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    hdrs = rec->headers;
    if (rk == NULL || rec->size != sizeof(*rec) || rec->topic == NULL) {
        rd_kafka_headers_destroy(hdrs);
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    if (hdrs == NULL && (hdrs = rd_kafka_headers_new(4)) == NULL) {
        return RD_KAFKA_RESP_ERR__FAIL;
    }
    info = sl__msg_info_empty("kafka", "send");
    info.destination = rec->topic;
    info.body_size = rec->value != NULL ? (int64_t)rec->value_len : 0;
    info.partition = rec->partition >= 0 ? rec->partition : -1;
    set_key(&info, rec->key, rec->key_len);

    span = sl__msg_send_start(&info);
    out = sl_kafka_carrier(hdrs);
    if (sl_inject_current(&out) != SL_OK) {
        sl_span_add_event(span, "trace context not injected", NULL, 0);
    }
    err = produce(rk, rec, hdrs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs); /* taken only on success */
        sl__msg_span_finish(span, rd_kafka_err2name(err), rd_kafka_err2str(err));
    } else {
        sl__msg_span_finish(span, NULL, NULL);
    }
    return err;
}

void sl_kafka_process_options_init(sl_kafka_process_options *opts)
{
    if (opts != NULL) {
        memset(opts, 0, sizeof(*opts));
        opts->size = sizeof(*opts);
    }
}

sl_status sl_kafka_process(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                           const sl_kafka_process_options *opts, sl_kafka_handler_fn fn,
                           void *user)
{
    rd_kafka_headers_t *hdrs = NULL;
    sl_kafka_delivery d;
    sl__msg_scope sc;
    sl__msg_info info;
    sl_carrier in;
    bool link;
    int rc;

    if (msg == NULL || fn == NULL || msg->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        (opts != NULL && opts->size != sizeof(*opts))) {
        return SL_EINVAL;
    }
    info = sl__msg_info_empty("kafka", "process");
    info.destination = msg->rkt != NULL ? rd_kafka_topic_name(msg->rkt) : NULL;
    info.body_size = (int64_t)msg->len;
    info.partition = msg->partition >= 0 ? msg->partition : -1;
    info.offset = msg->offset >= 0 ? msg->offset : -1;
    info.consumer_group = opts != NULL ? opts->consumer_group : NULL;
    set_key(&info, msg->key, msg->key_len);

    /* No headers at all is RD_KAFKA_RESP_ERR__NOENT: hdrs stays NULL. */
    (void)rd_kafka_message_headers(msg, &hdrs);
    in = sl_kafka_carrier(hdrs);
    link = opts != NULL && opts->link_to_message;
    sl__msg_process_begin(&sc, &in, &info, opts != NULL ? opts->logger : NULL, link);
    memset(&d, 0, sizeof(d));
    d.rk = rk;
    d.msg = msg;
    d.log = sc.log;
    d.span = sc.span;
    rc = fn(&d, user);
    sl__msg_process_end(&sc, rc, d.error_type, d.error_message);
    return SL_OK;
}
