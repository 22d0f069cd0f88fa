/*
 * test_nats_propagation.c - trace context across a real nats-server on
 * loopback (libnats client): publish -> consume keeps the trace with the
 * right parents and a new span id, carries tracestate and baggage, starts a
 * new trace (said once) for a missing or malformed traceparent, leaves
 * other producers' headers alone, turns handler failures into span status,
 * and works through JetStream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "integration/msg_spans.h"
#include "integration/nats_harness.h"
#include "spanlog/nats.h"

#define WAIT_MS 10000

/* What the handler saw, for the test thread to check. */
typedef struct seen {
    pthread_mutex_t mu;
    int n;
    int fail;               /* return this from the handler */
    const char *error_type; /* and set this */
    char headers[2048];     /* "key=value\n" for every value of the last message */
    char baggage_user[64];  /* sl_baggage_current()'s "user" in the handler */
    char current_span[SL_SPAN_ID_HEX_LEN + 1];
} seen;

static nsrv server;
static natsConnection *nc;
static capture cap;
static sl_logger *lg;
static span_rec spans;
static bool link_mode; /* subscribe() sets link_to_message from it */

static int handler(sl_nats_delivery *d, void *user)
{
    seen *s = user;
    const char **keys = NULL;
    int nkeys = 0;
    char buf[2048] = "";
    size_t len = 0;
    const char *v = NULL;
    size_t vlen = 0;
    const sl_span_context *cur = sl_context_current();

    if (natsMsgHeader_Keys(d->msg, &keys, &nkeys) == NATS_OK) {
        for (int i = 0; i < nkeys; i++) {
            const char **vals = NULL;
            int nv = 0;
            if (natsMsgHeader_Values(d->msg, keys[i], &vals, &nv) == NATS_OK) {
                for (int j = 0; j < nv; j++) {
                    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s=%s\n",
                                            keys[i], vals[j]);
                }
                free((void *)vals);
            }
        }
        free((void *)keys);
    }
    sl_info(
        d->log, "handled",
        SL_STRN("body", natsMsg_GetData(d->msg), (size_t)natsMsg_GetDataLength(d->msg)));
    pthread_mutex_lock(&s->mu);
    memcpy(s->headers, buf, sizeof(buf));
    s->baggage_user[0] = '\0';
    if (sl_baggage_get(sl_baggage_current(), "user", &v, &vlen) == SL_OK &&
        vlen < sizeof(s->baggage_user)) {
        memcpy(s->baggage_user, v, vlen);
        s->baggage_user[vlen] = '\0';
    }
    if (cur != NULL) {
        sl_span_id_to_hex(cur->span_id, s->current_span);
    }
    s->n++;
    d->error_type = s->error_type;
    pthread_mutex_unlock(&s->mu);
    return s->fail;
}

static int setup(void **state)
{
    natsOptions *o = NULL;
    (void)state;
    if (nsrv_launch(&server, false) != 0) {
        return -1;
    }
    capture_init(&cap);
    lg = capture_logger(NULL, &cap);
    span_rec_start(&spans);
    if (natsOptions_Create(&o) != NATS_OK ||
        natsOptions_SetURL(o, server.url) != NATS_OK ||
        natsConnection_Connect(&nc, o) != NATS_OK) {
        return -1;
    }
    natsOptions_Destroy(o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    natsConnection_Destroy(nc);
    span_rec_stop(&spans);
    sl_logger_free(lg);
    capture_clear(&cap);
    nsrv_destroy(&server);
    nats_Close();
    return 0;
}

/* A subscription on subject whose handler records into s. */
static natsSubscription *subscribe(const char *subject, seen *s, sl_nats_handler **h)
{
    sl_nats_handler_options o;
    natsSubscription *sub = NULL;
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    sl_nats_handler_options_init(&o);
    o.fn = handler;
    o.user = s;
    o.logger = lg;
    o.queue_group = "workers";
    o.link_to_message = link_mode;
    assert_int_equal(sl_nats_handler_new(&o, h), SL_OK);
    assert_int_equal(
        natsConnection_QueueSubscribe(&sub, nc, subject, "workers", sl_nats_on_msg, *h),
        NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    return sub;
}

static void unsubscribe(natsSubscription *sub, sl_nats_handler *h, seen *s)
{
    /* Drained: every callback has returned, so the handler can go. */
    assert_int_equal(natsSubscription_Drain(sub), NATS_OK);
    assert_int_equal(natsSubscription_WaitForDrainCompletion(sub, WAIT_MS), NATS_OK);
    natsSubscription_Destroy(sub);
    sl_nats_handler_free(h);
    pthread_mutex_destroy(&s->mu);
}

static void hex_of(const sl_span *span, char *trace, char *id)
{
    const sl_span_context *c = sl_span_get_context(span);
    sl_trace_id_to_hex(c->trace_id, trace);
    sl_span_id_to_hex(c->span_id, id);
}

static void test_context_survives(void **state)
{
    const char *subject = "orders.created";
    char trace[33], req_id[17];
    sl_nats_handler *h;
    seen s;
    (void)state;
    natsSubscription *sub = subscribe(subject, &s, &h);

    sl_span *req = sl_span_start("POST /orders", SL_SPAN_SERVER);
    hex_of(req, trace, req_id);
    assert_int_equal(sl_nats_publish_traced(nc, subject, "{\"id\":1}", 8), NATS_OK);
    sl_span_end(req);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);

    const rec_span *prod, *cons;
    msg_hop(&spans, "publish orders.created", "process orders.created", 0, WAIT_MS, &prod,
            &cons);
    /* One trace: request -> producer -> consumer, each a new span id. */
    assert_string_equal(prod->trace_id, trace);
    assert_string_equal(prod->parent_id, req_id);
    assert_int_equal(prod->parent_remote, 0);
    assert_string_equal(cons->trace_id, trace);
    assert_string_not_equal(cons->span_id, req_id);
    assert_string_equal(s.current_span, cons->span_id); /* current in the handler */
    assert_int_equal(cons->status, SL_SPAN_STATUS_UNSET);

    /* The conventions' attributes on both sides. */
    assert_string_equal(rec_str(prod, "messaging.system"), "nats");
    assert_string_equal(rec_str(prod, "messaging.destination.name"), subject);
    assert_string_equal(rec_str(prod, "messaging.operation.type"), "send");
    assert_string_equal(rec_str(prod, "messaging.operation.name"), "publish");
    assert_int_equal(rec_int(prod, "messaging.message.body.size"), 8);
    assert_string_equal(rec_str(prod, "server.address"), "127.0.0.1");
    assert_int_equal(rec_int(prod, "server.port"), server.port);
    assert_string_equal(rec_str(cons, "messaging.system"), "nats");
    assert_string_equal(rec_str(cons, "messaging.destination.name"), subject);
    assert_string_equal(rec_str(cons, "messaging.operation.type"), "process");
    assert_string_equal(rec_str(cons, "messaging.consumer.group.name"), "workers");
    assert_int_equal(rec_int(cons, "messaging.message.body.size"), 8);
    assert_false(rec_has(cons, "error.type"));

    /* The handler's record: the consumer span's ids, the message's fields. */
    json_t *o = msg_only_record(&cap, "handled", subject);
    assert_string_equal(get_str(o, "traceId"), trace);
    assert_string_equal(get_str(o, "spanId"), cons->span_id);
    assert_string_equal(get_str(o, "messaging.system"), "nats");
    assert_string_equal(get_str(o, "messaging.consumer.group.name"), "workers");
    assert_string_equal(get_str(o, "body"), "{\"id\":1}");
    json_decref(o);
    /* A continued trace says nothing about propagation. */
    json_t *none = msg_records(&cap, "message without trace context, new trace", subject);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    unsubscribe(sub, h, &s);
}

static void test_tracestate_and_baggage(void **state)
{
    const char *subject = "orders.state";
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sl_span_context parent;
    sl_baggage *bag = NULL;
    sl_context_token tok;
    sl_nats_handler *h;
    seen s;
    (void)state;
    natsSubscription *sub = subscribe(subject, &s, &h);

    assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &parent), SL_OK);
    assert_int_equal(sl_tracestate_parse("vendor=abc,other=1", 18, &parent), SL_OK);
    assert_int_equal(sl_baggage_parse("user=alice,tier=gold", 20, &bag, NULL), SL_OK);
    assert_int_equal(sl_baggage_attach(bag, &tok), SL_OK);
    sl_span *req = sl_span_start_with_parent("POST /orders", SL_SPAN_SERVER, &parent);
    assert_int_equal(sl_nats_publish_traced(nc, subject, "x", 1), NATS_OK);
    sl_span_end(req);
    assert_int_equal(sl_context_detach(tok), SL_OK);
    sl_baggage_free(bag);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);

    const rec_span *cons =
        span_rec_wait(&spans, "process orders.state", SL_SPAN_CONSUMER, 0, WAIT_MS);
    assert_non_null(cons);
    assert_string_equal(cons->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(cons->tracestate, "vendor=abc,other=1");
    assert_string_equal(s.baggage_user, "alice");
    assert_non_null(strstr(s.headers, "tracestate=vendor=abc,other=1\n"));
    assert_non_null(strstr(s.headers, "baggage=user=alice,tier=gold\n"));
    /* The baggage left with the handler: none on this thread, none after. */
    assert_null(sl_baggage_current());
    unsubscribe(sub, h, &s);
}

/* Publishes a message with exactly these headers (name, value pairs; a
 * name may repeat) and no trace context of ours. */
static void publish_raw(const char *subject, const char *const *hdrs, size_t n)
{
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, subject, NULL, "raw", 3), NATS_OK);
    for (size_t i = 0; i + 1 < n; i += 2) {
        assert_int_equal(natsMsgHeader_Add(m, hdrs[i], hdrs[i + 1]), NATS_OK);
    }
    assert_int_equal(natsConnection_PublishMsg(nc, m), NATS_OK);
    natsMsg_Destroy(m);
}

/* Link mode: the consumer span starts a new trace linked to the producer's
 * context (tracestate kept on the link); the handler's records carry the
 * new trace; a message without context gets no link. */
static void test_link_mode(void **state)
{
    const char *subject = "orders.linked";
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sl_span_context parent;
    sl_nats_handler *h;
    seen s;
    (void)state;
    link_mode = true;
    natsSubscription *sub = subscribe(subject, &s, &h);
    link_mode = false;

    assert_int_equal(sl_traceparent_parse(tp, strlen(tp), &parent), SL_OK);
    assert_int_equal(sl_tracestate_parse("vendor=abc", 10, &parent), SL_OK);
    sl_span *req = sl_span_start_with_parent("POST /linked", SL_SPAN_SERVER, &parent);
    assert_int_equal(sl_nats_publish_traced(nc, subject, "l1", 2), NATS_OK);
    sl_span_end(req);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);
    publish_raw(subject, (const char *const[]){"x-other", "1"}, 2);
    assert_int_equal(wait_count(&s.mu, &s.n, 2, WAIT_MS), 2);

    const rec_span *prod =
        span_rec_wait(&spans, "publish orders.linked", SL_SPAN_PRODUCER, 0, WAIT_MS);
    const rec_span *cons =
        span_rec_wait(&spans, "process orders.linked", SL_SPAN_CONSUMER, 0, WAIT_MS);
    const rec_span *bare =
        span_rec_wait(&spans, "process orders.linked", SL_SPAN_CONSUMER, 1, WAIT_MS);
    assert_non_null(prod);
    assert_non_null(cons);
    assert_non_null(bare);
    assert_string_equal(prod->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_not_equal(cons->trace_id, prod->trace_id);
    assert_string_equal(cons->parent_id, "");
    assert_int_equal(cons->nlinks, 1);
    assert_string_equal(cons->links[0].trace_id, prod->trace_id);
    assert_string_equal(cons->links[0].span_id, prod->span_id);
    assert_string_equal(cons->links[0].tracestate, "vendor=abc");
    assert_int_equal(bare->nlinks, 0);
    assert_string_equal(bare->parent_id, "");

    json_t *all = msg_records(&cap, "handled", subject);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(get_str(json_array_get(all, 0), "traceId"), cons->trace_id);
    assert_string_equal(get_str(json_array_get(all, 0), "spanId"), cons->span_id);
    assert_string_equal(get_str(json_array_get(all, 1), "traceId"), bare->trace_id);
    json_decref(all);
    unsubscribe(sub, h, &s);
}

/* A message with these headers starts a new trace, said in one record. */
static void check_new_trace(const char *subject, const char *const *hdrs, size_t n,
                            const char *notice, const char *level,
                            const char *propagation, const char *reason,
                            const char *bad_trace)
{
    sl_nats_handler *h;
    seen s;
    natsSubscription *sub = subscribe(subject, &s, &h);
    publish_raw(subject, hdrs, n);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);
    char name[128];
    snprintf(name, sizeof name, "process %s", subject);
    const rec_span *cons = span_rec_wait(&spans, name, SL_SPAN_CONSUMER, 0, WAIT_MS);
    assert_non_null(cons);
    assert_string_equal(cons->parent_id, "");  /* a root */
    assert_string_equal(cons->tracestate, ""); /* the old state is not carried */
    if (bad_trace != NULL) {
        assert_string_not_equal(cons->trace_id, bad_trace);
    }
    json_t *said = msg_only_record(&cap, notice, subject);
    assert_string_equal(get_str(said, "level"), level);
    assert_string_equal(get_str(said, "propagation"), propagation);
    if (reason != NULL) {
        assert_string_equal(get_str(said, "reason"), reason);
    } else {
        assert_null(json_object_get(said, "reason"));
    }
    assert_string_equal(get_str(said, "traceId"), cons->trace_id);
    json_decref(said);
    json_t *o = msg_only_record(&cap, "handled", subject);
    assert_string_equal(get_str(o, "traceId"), cons->trace_id);
    assert_string_equal(get_str(o, "spanId"), cons->span_id);
    json_decref(o);
    unsubscribe(sub, h, &s);
}

static void test_missing_and_malformed(void **state)
{
    static const char *const none[] = {"x-other", "1"};
    static const char *const bad[] = {"traceparent", "00-zz-not-a-traceparent-01",
                                      "tracestate", "vendor=old"};
    static const char *const twice[] = {
        "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    (void)state;
    check_new_trace("q.none", none, 2, "message without trace context, new trace", "info",
                    "new", NULL, NULL);
    check_new_trace("q.bad", bad, 4, "message trace context invalid, new trace", "warn",
                    "restarted", "invalid", NULL);
    /* W3C: a repeated traceparent is invalid, whatever its values. */
    check_new_trace("q.twice", twice, 4, "message trace context invalid, new trace",
                    "warn", "restarted", "repeated", "4bf92f3577b34da6a3ce929d0e0e4736");
}

static void test_other_headers_untouched(void **state)
{
    const char *subject = "orders.headers";
    natsMsg *m = NULL;
    sl_nats_handler *h;
    seen s;
    (void)state;
    natsSubscription *sub = subscribe(subject, &s, &h);
    assert_int_equal(natsMsg_Create(&m, subject, NULL, "h", 1), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "X-Request-Id", "r-42"), NATS_OK);
    assert_int_equal(natsMsgHeader_Add(m, "x-multi", "a"), NATS_OK);
    assert_int_equal(natsMsgHeader_Add(m, "x-multi", "b"), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "Nats-Msg-Id", "m-7"), NATS_OK);
    /* A stale context under another case, from an earlier hop: replaced. */
    assert_int_equal(
        natsMsgHeader_Set(m, "Traceparent",
                          "00-11111111111111111111111111111111-2222222222222222-01"),
        NATS_OK);
    sl_span *req = sl_span_start("job", SL_SPAN_INTERNAL);
    assert_int_equal(sl_nats_publish_msg_traced(nc, m), NATS_OK);
    sl_span_end(req);
    natsMsg_Destroy(m);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);

    const rec_span *prod, *cons;
    msg_hop(&spans, "publish orders.headers", "process orders.headers", 0, WAIT_MS, &prod,
            &cons);
    char want[128];
    snprintf(want, sizeof want, "traceparent=00-%s-%s-0", prod->trace_id, prod->span_id);
    assert_non_null(strstr(s.headers, want));
    assert_null(strstr(s.headers, "Traceparent="));
    assert_null(strstr(s.headers, "1111111111"));
    assert_non_null(strstr(s.headers, "X-Request-Id=r-42\n"));
    assert_non_null(strstr(s.headers, "x-multi=a\nx-multi=b\n"));
    assert_non_null(strstr(s.headers, "Nats-Msg-Id=m-7\n"));
    /* Nothing else: the four of the producer, ours, no baggage (none was current). */
    size_t lines = 0;
    for (const char *p = s.headers; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, 5);
    assert_string_equal(rec_str(prod, "messaging.message.id"), "m-7");
    assert_string_equal(rec_str(cons, "messaging.message.id"), "m-7");
    json_t *o = msg_only_record(&cap, "handled", subject);
    assert_string_equal(get_str(o, "messaging.message.id"), "m-7");
    json_decref(o);
    unsubscribe(sub, h, &s);
}

static void test_handler_error(void **state)
{
    const char *subject = "orders.fail";
    sl_nats_handler *h;
    seen s;
    (void)state;
    natsSubscription *sub = subscribe(subject, &s, &h);
    s.fail = 1;
    s.error_type = "bad_order";
    assert_int_equal(sl_nats_publish_traced(nc, subject, "1", 1), NATS_OK);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);
    pthread_mutex_lock(&s.mu);
    s.error_type = NULL;
    pthread_mutex_unlock(&s.mu);
    assert_int_equal(sl_nats_publish_traced(nc, subject, "2", 1), NATS_OK);
    assert_int_equal(wait_count(&s.mu, &s.n, 2, WAIT_MS), 2);

    const rec_span *c0 =
        span_rec_wait(&spans, "process orders.fail", SL_SPAN_CONSUMER, 0, WAIT_MS);
    const rec_span *c1 =
        span_rec_wait(&spans, "process orders.fail", SL_SPAN_CONSUMER, 1, WAIT_MS);
    assert_non_null(c0);
    assert_non_null(c1);
    assert_int_equal(c0->status, SL_SPAN_STATUS_ERROR);
    assert_string_equal(c0->status_message, "handler failed");
    assert_string_equal(rec_str(c0, "error.type"), "bad_order");
    assert_int_equal(c1->status, SL_SPAN_STATUS_ERROR);
    assert_string_equal(rec_str(c1, "error.type"), "_OTHER");
    /* Two messages, two traces (each publish was a root). */
    assert_string_not_equal(c0->trace_id, c1->trace_id);
    unsubscribe(sub, h, &s);

    /* Misuse: refused, nothing published, no crash. */
    assert_int_equal(sl_nats_publish_traced(NULL, subject, "x", 1), NATS_INVALID_ARG);
    assert_int_equal(sl_nats_publish_msg_traced(nc, NULL), NATS_INVALID_ARG);
    assert_int_equal(sl_nats_process(NULL, nc, NULL, NULL), SL_EINVAL);
    sl_nats_handler_options o;
    sl_nats_handler *bad = (sl_nats_handler *)&o;
    sl_nats_handler_options_init(&o);
    assert_int_equal(sl_nats_handler_new(&o, &bad), SL_EINVAL); /* no fn */
    assert_null(bad);
    sl_nats_handler_free(NULL);
}

/* JetStream: publish through a stream, consume from a push consumer. */
static void test_jetstream(void **state)
{
    nsrv js_server;
    natsConnection *jc = NULL;
    natsOptions *o = NULL;
    jsCtx *js = NULL;
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    jsPubAck *ack = NULL;
    natsSubscription *sub = NULL;
    const char *subjects[] = {"jobs.>"};
    sl_nats_handler_options ho;
    sl_nats_handler *h;
    natsMsg *m = NULL;
    seen s;
    char trace[33], req_id[17];
    (void)state;

    assert_int_equal(nsrv_launch(&js_server, true), 0);
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    assert_int_equal(natsOptions_SetURL(o, js_server.url), NATS_OK);
    assert_int_equal(natsConnection_Connect(&jc, o), NATS_OK);
    natsOptions_Destroy(o);
    assert_int_equal(natsConnection_JetStream(&js, jc, NULL), NATS_OK);
    jsStreamConfig_Init(&cfg);
    cfg.Name = "JOBS";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    assert_int_equal(js_AddStream(&si, js, &cfg, NULL, &jerr), NATS_OK);
    jsStreamInfo_Destroy(si);

    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    sl_nats_handler_options_init(&ho);
    ho.fn = handler;
    ho.user = &s;
    ho.logger = lg;
    assert_int_equal(sl_nats_handler_new(&ho, &h), SL_OK);

    assert_int_equal(natsMsg_Create(&m, "jobs.resize", NULL, "img", 3), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "Nats-Msg-Id", "job-1"), NATS_OK);
    sl_span *req = sl_span_start("POST /jobs", SL_SPAN_SERVER);
    hex_of(req, trace, req_id);
    assert_int_equal(sl_nats_js_publish_msg_traced(&ack, js, m, NULL, &jerr), NATS_OK);
    sl_span_end(req);
    assert_non_null(ack);
    assert_string_equal(ack->Stream, "JOBS");
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);

    /* The message was stored before anyone subscribed: a durable replay. */
    assert_int_equal(
        js_Subscribe(&sub, js, "jobs.>", sl_nats_on_msg, h, NULL, NULL, &jerr), NATS_OK);
    assert_int_equal(wait_count(&s.mu, &s.n, 1, WAIT_MS), 1);

    const rec_span *prod, *cons;
    msg_hop(&spans, "publish jobs.resize", "process jobs.resize", 0, WAIT_MS, &prod,
            &cons);
    assert_string_equal(prod->parent_id, req_id);
    assert_string_equal(cons->trace_id, trace);
    assert_string_equal(rec_str(cons, "messaging.message.id"), "job-1");
    assert_int_equal(prod->status, SL_SPAN_STATUS_UNSET);
    json_t *rec = msg_only_record(&cap, "handled", "jobs.resize");
    assert_string_equal(get_str(rec, "traceId"), trace);
    json_decref(rec);

    assert_int_equal(natsSubscription_Drain(sub), NATS_OK);
    assert_int_equal(natsSubscription_WaitForDrainCompletion(sub, WAIT_MS), NATS_OK);
    natsSubscription_Destroy(sub);
    sl_nats_handler_free(h);
    pthread_mutex_destroy(&s.mu);
    jsCtx_Destroy(js);
    natsConnection_Destroy(jc);
    nsrv_destroy(&js_server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_survives),
        cmocka_unit_test(test_tracestate_and_baggage),
        cmocka_unit_test(test_missing_and_malformed),
        cmocka_unit_test(test_link_mode),
        cmocka_unit_test(test_other_headers_untouched),
        cmocka_unit_test(test_handler_error),
        cmocka_unit_test(test_jetstream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
