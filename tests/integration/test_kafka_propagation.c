/*
 * test_kafka_propagation.c - trace context across Kafka, against
 * librdkafka's in-process mock cluster (real protocol over loopback):
 * produce -> consume keeps the trace with the right parents and a new span
 * id, with partition, offset, key and group on the consumer span; carries
 * tracestate and baggage; starts a new trace (said once) for a missing,
 * malformed or repeated traceparent; leaves other producers' headers
 * (repeated, binary, null-valued) alone; handler failures set the status;
 * and 10,000 records over 4 partitions, 4 consumer threads, each log with
 * their own trace id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "integration/msg_spans.h"
#include "spanlog/kafka.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h, which kafka.h includes */

#define WAIT_MS 30000

static rd_kafka_t *host; /* the mock cluster's handle */
static rd_kafka_mock_cluster_t *cluster;
static rd_kafka_t *producer;
static capture cap;
static sl_logger *lg;
static span_rec spans;
static bool link_mode; /* consume() sets link_to_message from it */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                       rd_kafka_mock_cluster_bootstraps(cluster), err,
                                       sizeof err),
                     RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof err);
    } else {
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == NULL) {
        fail_msg("rd_kafka_new: %s", err);
    }
    return rk;
}

static int setup(void **state)
{
    char err[256];
    (void)state;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (host == NULL || (cluster = rd_kafka_mock_cluster_new(host, 1)) == NULL) {
        return -1;
    }
    producer = client(RD_KAFKA_PRODUCER, NULL);
    capture_init(&cap);
    lg = capture_logger(NULL, &cap);
    span_rec_start(&spans);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rd_kafka_destroy(producer);
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(host);
    span_rec_stop(&spans);
    sl_logger_free(lg);
    capture_clear(&cap);
    return 0;
}

/* What the handler saw. */
typedef struct seen {
    int n;
    int fail;
    const char *error_type;
    char headers[2048]; /* "name=value\n" ("name=<null>" for a null value) */
    char baggage_user[64];
    char current_span[SL_SPAN_ID_HEX_LEN + 1];
} seen;

static int handler(sl_kafka_delivery *d, void *user)
{
    seen *s = user;
    rd_kafka_headers_t *hdrs = NULL;
    const char *name;
    const void *value;
    size_t size, len = 0;
    const char *v;
    size_t vlen;
    const sl_span_context *cur = sl_context_current();

    s->headers[0] = '\0';
    if (rd_kafka_message_headers(d->msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             i++) {
            len +=
                (size_t)snprintf(s->headers + len, sizeof(s->headers) - len, "%s=", name);
            if (value == NULL) {
                len += (size_t)snprintf(s->headers + len, sizeof(s->headers) - len,
                                        "<null>");
            } else {
                for (size_t j = 0; j < size; j++) { /* binary bytes as \xNN */
                    unsigned char c = ((const unsigned char *)value)[j];
                    len += (size_t)snprintf(s->headers + len, sizeof(s->headers) - len,
                                            c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
                }
            }
            len += (size_t)snprintf(s->headers + len, sizeof(s->headers) - len, "\n");
        }
    }
    s->baggage_user[0] = '\0';
    if (sl_baggage_get(sl_baggage_current(), "user", &v, &vlen) == SL_OK &&
        vlen < sizeof(s->baggage_user)) {
        memcpy(s->baggage_user, v, vlen);
        s->baggage_user[vlen] = '\0';
    }
    if (cur != NULL) {
        sl_span_id_to_hex(cur->span_id, s->current_span);
    }
    sl_info(d->log, "handled", SL_STRN("body", d->msg->payload, d->msg->len));
    s->n++;
    d->error_type = s->error_type;
    return s->fail;
}

/* Consumes `want` records of topic (1 partition, from the start) on this
 * thread through sl_kafka_process. */
static void consume(const char *topic, int want, seen *s)
{
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, "billing");
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    sl_kafka_process_options o;
    sl_kafka_process_options_init(&o);
    o.logger = lg;
    o.consumer_group = "billing";
    o.link_to_message = link_mode;
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(c, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);
    for (int64_t deadline = now_ms() + WAIT_MS; s->n < want && now_ms() < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 50);
        if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            assert_int_equal(sl_kafka_process(c, m, &o, handler, s), SL_OK);
        }
        if (m != NULL) {
            rd_kafka_message_destroy(m);
        }
    }
    assert_int_equal(s->n, want);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

static void make_topic(const char *topic, int partitions)
{
    assert_int_equal(rd_kafka_mock_topic_create(cluster, topic, partitions, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void produce(const char *topic, const char *key, const char *value,
                    rd_kafka_headers_t *hdrs)
{
    sl_kafka_record r;
    sl_kafka_record_init(&r);
    r.topic = topic;
    r.partition = 0;
    r.key = key;
    r.key_len = key != NULL ? strlen(key) : 0;
    r.value = value;
    r.value_len = strlen(value);
    r.headers = hdrs;
    assert_int_equal(sl_kafka_produce_traced(producer, &r), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(producer, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void test_context_survives(void **state)
{
    char trace[33], req_id[17];
    seen s = {0};
    (void)state;
    make_topic("orders", 1);
    produce("orders", "warmup", "w", NULL); /* offset 0: the checked record is at 1 */
    sl_span *req = sl_span_start("POST /orders", SL_SPAN_SERVER);
    sl_trace_id_to_hex(sl_span_get_context(req)->trace_id, trace);
    sl_span_id_to_hex(sl_span_get_context(req)->span_id, req_id);
    produce("orders", "order-17", "{\"id\":17}", NULL);
    sl_span_end(req);
    consume("orders", 2, &s);

    const rec_span *prod, *cons;
    msg_hop(&spans, "send orders", "process orders", 1, WAIT_MS, &prod, &cons);
    assert_string_equal(prod->trace_id, trace);
    assert_string_equal(prod->parent_id, req_id);
    assert_string_equal(cons->trace_id, trace);
    assert_string_equal(s.current_span, cons->span_id);

    assert_string_equal(rec_str(prod, "messaging.system"), "kafka");
    assert_string_equal(rec_str(prod, "messaging.operation.type"), "send");
    assert_string_equal(rec_str(prod, "messaging.operation.name"), "send");
    assert_string_equal(rec_str(prod, "messaging.destination.name"), "orders");
    assert_string_equal(rec_str(prod, "messaging.destination.partition.id"), "0");
    assert_string_equal(rec_str(prod, "messaging.kafka.message.key"), "order-17");
    assert_int_equal(rec_int(prod, "messaging.message.body.size"), 9);
    assert_string_equal(rec_str(cons, "messaging.system"), "kafka");
    assert_string_equal(rec_str(cons, "messaging.operation.type"), "process");
    assert_string_equal(rec_str(cons, "messaging.destination.name"), "orders");
    assert_string_equal(rec_str(cons, "messaging.destination.partition.id"), "0");
    assert_int_equal(rec_int(cons, "messaging.kafka.offset"), 1);
    assert_string_equal(rec_str(cons, "messaging.kafka.message.key"), "order-17");
    assert_string_equal(rec_str(cons, "messaging.consumer.group.name"), "billing");
    assert_int_equal(rec_int(cons, "messaging.message.body.size"), 9);

    json_t *all = msg_records(&cap, "handled", "orders");
    assert_int_equal(json_array_size(all), 2);
    json_t *o = json_array_get(all, 1);
    assert_string_equal(get_str(o, "traceId"), trace);
    assert_string_equal(get_str(o, "spanId"), cons->span_id);
    assert_string_equal(get_str(o, "messaging.destination.partition.id"), "0");
    assert_int_equal(get_int(o, "messaging.kafka.offset"), 1);
    assert_string_equal(get_str(o, "messaging.consumer.group.name"), "billing");
    assert_string_equal(get_str(o, "body"), "{\"id\":17}");
    json_decref(all);
}

static void test_tracestate_and_baggage(void **state)
{
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sl_span_context parent;
    sl_baggage *bag = NULL;
    sl_context_token tok;
    seen s = {0};
    (void)state;
    make_topic("state", 1);
    assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &parent), SL_OK);
    assert_int_equal(sl_tracestate_parse("vendor=abc,other=1", 18, &parent), SL_OK);
    assert_int_equal(sl_baggage_parse("user=alice,tier=gold", 20, &bag, NULL), SL_OK);
    assert_int_equal(sl_baggage_attach(bag, &tok), SL_OK);
    sl_span *req = sl_span_start_with_parent("POST /x", SL_SPAN_SERVER, &parent);
    produce("state", NULL, "x", NULL);
    sl_span_end(req);
    assert_int_equal(sl_context_detach(tok), SL_OK);
    sl_baggage_free(bag);
    consume("state", 1, &s);
    const rec_span *cons = span_rec_find(&spans, "process state", SL_SPAN_CONSUMER, 0);
    assert_non_null(cons);
    assert_string_equal(cons->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(cons->tracestate, "vendor=abc,other=1");
    assert_false(rec_has(cons, "messaging.kafka.message.key"));
    assert_string_equal(s.baggage_user, "alice");
    assert_non_null(strstr(s.headers, "tracestate=vendor=abc,other=1\n"));
    assert_non_null(strstr(s.headers, "baggage=user=alice,tier=gold\n"));
    assert_null(sl_baggage_current());
}

static void produce_raw(const char *topic, const char *const *hdrs, size_t n);

/* Link mode: the consumer span starts a new trace linked to the producer's
 * context (tracestate kept on the link); the handler's records carry the
 * new trace; a record without context gets no link. */
static void test_link_mode(void **state)
{
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sl_span_context parent;
    seen s = {0};
    (void)state;
    make_topic("linked", 1);
    assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &parent), SL_OK);
    assert_int_equal(sl_tracestate_parse("vendor=abc", 10, &parent), SL_OK);
    sl_span *req = sl_span_start_with_parent("POST /linked", SL_SPAN_SERVER, &parent);
    produce("linked", "k", "linked-1", NULL);
    sl_span_end(req);
    produce_raw("linked", (const char *const[]){"x-other", "1"}, 2);
    link_mode = true;
    consume("linked", 2, &s);
    link_mode = false;

    const rec_span *prod = span_rec_find(&spans, "send linked", SL_SPAN_PRODUCER, 0);
    const rec_span *cons = span_rec_find(&spans, "process linked", SL_SPAN_CONSUMER, 0);
    assert_non_null(prod);
    assert_non_null(cons);
    assert_string_equal(prod->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_not_equal(cons->trace_id, prod->trace_id);
    assert_string_equal(cons->parent_id, "");
    assert_int_equal(cons->nlinks, 1);
    assert_string_equal(cons->links[0].trace_id, prod->trace_id);
    assert_string_equal(cons->links[0].span_id, prod->span_id);
    assert_string_equal(cons->links[0].tracestate, "vendor=abc");

    const rec_span *bare = span_rec_find(&spans, "process linked", SL_SPAN_CONSUMER, 1);
    assert_non_null(bare);
    assert_int_equal(bare->nlinks, 0);
    assert_string_equal(bare->parent_id, "");

    json_t *all = msg_records(&cap, "handled", "linked");
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(get_str(json_array_get(all, 0), "traceId"), cons->trace_id);
    assert_string_equal(get_str(json_array_get(all, 0), "spanId"), cons->span_id);
    assert_string_equal(get_str(json_array_get(all, 1), "traceId"), bare->trace_id);
    json_decref(all);
}

/* A record with exactly these headers (not through spanlog). */
static void produce_raw(const char *topic, const char *const *hdrs, size_t n)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    for (size_t i = 0; i + 1 < n; i += 2) {
        rd_kafka_header_add(h, hdrs[i], -1, hdrs[i + 1], -1);
    }
    /* produceva: producev's macros are GNU statement expressions (clang -Wpedantic). */
    rd_kafka_vu_t vu[4];
    memset(vu, 0, sizeof vu);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[1].u.i32 = 0;
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = "raw";
    vu[2].u.mem.size = 3;
    vu[3].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[3].u.headers = h;
    assert_null(rd_kafka_produceva(producer, vu, 4));
    assert_int_equal(rd_kafka_flush(producer, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void check_new_trace(const char *topic, const char *const *hdrs, size_t n,
                            const char *notice, const char *level, const char *reason,
                            const char *bad_trace)
{
    char name[64];
    seen s = {0};
    make_topic(topic, 1);
    produce_raw(topic, hdrs, n);
    consume(topic, 1, &s);
    snprintf(name, sizeof name, "process %s", topic);
    const rec_span *cons = span_rec_find(&spans, name, SL_SPAN_CONSUMER, 0);
    assert_non_null(cons);
    assert_string_equal(cons->parent_id, "");
    assert_string_equal(cons->tracestate, "");
    if (bad_trace != NULL) {
        assert_string_not_equal(cons->trace_id, bad_trace);
    }
    json_t *said = msg_only_record(&cap, notice, topic);
    assert_string_equal(get_str(said, "level"), level);
    assert_string_equal(get_str(said, "traceId"), cons->trace_id);
    if (reason != NULL) {
        assert_string_equal(get_str(said, "reason"), reason);
    }
    json_decref(said);
    json_t *o = msg_only_record(&cap, "handled", topic);
    assert_string_equal(get_str(o, "traceId"), cons->trace_id);
    json_decref(o);
}

static void test_missing_and_malformed(void **state)
{
    static const char *const none[] = {"x-other", "1"};
    static const char *const bad[] = {
        "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736", "tracestate", "vendor=old"};
    static const char *const twice[] = {
        "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    (void)state;
    check_new_trace("k.none", none, 2, "message without trace context, new trace", "info",
                    NULL, NULL);
    check_new_trace("k.bad", bad, 4, "message trace context invalid, new trace", "warn",
                    "invalid", "4bf92f3577b34da6a3ce929d0e0e4736");
    check_new_trace("k.twice", twice, 4, "message trace context invalid, new trace",
                    "warn", "repeated", "4bf92f3577b34da6a3ce929d0e0e4736");
}

static void test_other_headers_untouched(void **state)
{
    seen s = {0};
    (void)state;
    make_topic("hdrs", 1);
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "x-request-id", -1, "r-42", -1);
    rd_kafka_header_add(h, "x-multi", -1, "a", -1);
    rd_kafka_header_add(h, "TRACEPARENT", -1,
                        "00-11111111111111111111111111111111-2222222222222222-01", -1);
    rd_kafka_header_add(h, "x-bin", -1, "\x00\x01\xff", 3);
    rd_kafka_header_add(h, "x-null", -1, NULL, 0);
    rd_kafka_header_add(h, "x-multi", -1, "b", -1);
    sl_span *req = sl_span_start("job", SL_SPAN_INTERNAL);
    produce("hdrs", NULL, "h", h);
    sl_span_end(req);
    consume("hdrs", 1, &s);
    const rec_span *prod, *cons;
    msg_hop(&spans, "send hdrs", "process hdrs", 0, WAIT_MS, &prod, &cons);
    /* Others in their order, values byte for byte; the stale one replaced. */
    char want[512];
    snprintf(want, sizeof want,
             "x-request-id=r-42\nx-multi=a\nx-bin=\\x00\\x01\\xff\nx-null=<null>\n"
             "x-multi=b\ntraceparent=00-%s-%s-0",
             prod->trace_id, prod->span_id);
    assert_memory_equal(s.headers, want, strlen(want));
    assert_string_equal(s.headers + strlen(want) + 1, "\n"); /* the flags digit */
    assert_null(strstr(s.headers, "TRACEPARENT"));
}

static void test_handler_error_and_misuse(void **state)
{
    seen s = {.fail = 1, .error_type = "bad_invoice"};
    rd_kafka_message_t event;
    (void)state;
    make_topic("fail", 1);
    produce("fail", NULL, "1", NULL);
    consume("fail", 1, &s);
    const rec_span *cons = span_rec_find(&spans, "process fail", SL_SPAN_CONSUMER, 0);
    assert_non_null(cons);
    assert_int_equal(cons->status, SL_SPAN_STATUS_ERROR);
    assert_string_equal(cons->status_message, "handler failed");
    assert_string_equal(rec_str(cons, "error.type"), "bad_invoice");

    /* An error event is not a record: the handler is not run. */
    memset(&event, 0, sizeof event);
    event.err = RD_KAFKA_RESP_ERR__PARTITION_EOF;
    s.n = 0;
    assert_int_equal(sl_kafka_process(NULL, &event, NULL, handler, &s), SL_EINVAL);
    assert_int_equal(sl_kafka_process(NULL, NULL, NULL, handler, &s), SL_EINVAL);
    assert_int_equal(s.n, 0);
    /* A refused produce: the headers are freed, the span says why. */
    sl_kafka_record r;
    sl_kafka_record_init(&r);
    r.topic = "fail";
    r.partition = 99; /* no such partition */
    r.value = "x";
    r.value_len = 1;
    r.headers = rd_kafka_headers_new(1);
    rd_kafka_resp_err_t err = sl_kafka_produce_traced(producer, &r);
    assert_int_not_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    const rec_span *refused = span_rec_find(&spans, "send fail", SL_SPAN_PRODUCER, 1);
    assert_non_null(refused);
    assert_int_equal(refused->status, SL_SPAN_STATUS_ERROR);
    assert_string_equal(rec_str(refused, "error.type"), rd_kafka_err2name(err));
    r.topic = NULL;
    r.headers = rd_kafka_headers_new(1);
    assert_int_equal(sl_kafka_produce_traced(producer, &r),
                     RD_KAFKA_RESP_ERR__INVALID_ARG);
    assert_int_equal(sl_kafka_produce_traced(NULL, NULL), RD_KAFKA_RESP_ERR__INVALID_ARG);
}

/* ---- 10,000 records, 4 partitions, 4 consumer threads ---------------------- */

#define MESSAGES   10000
#define PARTITIONS 4

static char traces[MESSAGES][SL_TRACE_ID_HEX_LEN + 1];

typedef struct part_worker {
    pthread_t thread;
    int partition;
    int n;
    int want;
} part_worker;

static int count_handler(sl_kafka_delivery *d, void *user)
{
    part_worker *w = user;
    char body[16];
    memcpy(body, d->msg->payload, d->msg->len);
    body[d->msg->len] = '\0';
    sl_info(d->log, "counted", SL_INT("seq", atoi(body)), SL_INT("worker", w->partition));
    w->n++;
    return 0;
}

static void *part_consumer(void *arg)
{
    part_worker *w = arg;
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER, "counters");
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    sl_kafka_process_options o;
    sl_kafka_process_options_init(&o);
    o.logger = lg;
    o.consumer_group = "counters";
    rd_kafka_topic_partition_list_add(parts, "many", w->partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    for (int64_t deadline = now_ms() + 120000; w->n < w->want && now_ms() < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 50);
        if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            sl_kafka_process(c, m, &o, count_handler, w);
        }
        if (m != NULL) {
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return NULL;
}

static void test_ten_thousand_four_threads(void **state)
{
    part_worker w[PARTITIONS];
    (void)state;
    make_topic("many", PARTITIONS);
    size_t before = cap.n;
    for (int i = 0; i < MESSAGES; i++) {
        char body[16];
        sl_kafka_record r;
        sl_kafka_record_init(&r);
        r.topic = "many";
        r.partition = i % PARTITIONS;
        r.value = body;
        r.value_len = (size_t)snprintf(body, sizeof body, "%d", i);
        sl_span *req = sl_span_start("request", SL_SPAN_SERVER);
        sl_trace_id_to_hex(sl_span_get_context(req)->trace_id, traces[i]);
        rd_kafka_resp_err_t err;
        while ((err = sl_kafka_produce_traced(producer, &r)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer, 10);
        }
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        sl_span_end(req);
    }
    assert_int_equal(rd_kafka_flush(producer, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int p = 0; p < PARTITIONS; p++) {
        w[p] = (part_worker){.partition = p, .want = MESSAGES / PARTITIONS};
        assert_int_equal(pthread_create(&w[p].thread, NULL, part_consumer, &w[p]), 0);
    }
    for (int p = 0; p < PARTITIONS; p++) {
        pthread_join(w[p].thread, NULL);
        assert_int_equal(w[p].n, MESSAGES / PARTITIONS);
    }
    json_t *all = msg_records(&cap, "counted", "many");
    assert_true(cap.n >= before + MESSAGES);
    msg_check_seqs(all, MESSAGES, traces);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        json_int_t seq = get_int(o, "seq");
        char part[8];
        snprintf(part, sizeof part, "%d", (int)(seq % PARTITIONS));
        assert_string_equal(get_str(o, "messaging.destination.partition.id"), part);
        assert_int_equal(get_int(o, "worker"), seq % PARTITIONS);
        assert_int_equal(get_int(o, "messaging.kafka.offset"), seq / PARTITIONS);
    }
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_survives),
        cmocka_unit_test(test_tracestate_and_baggage),
        cmocka_unit_test(test_missing_and_malformed),
        cmocka_unit_test(test_link_mode),
        cmocka_unit_test(test_other_headers_untouched),
        cmocka_unit_test(test_handler_error_and_misuse),
        cmocka_unit_test(test_ten_thousand_four_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
