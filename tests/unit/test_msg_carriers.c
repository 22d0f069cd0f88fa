/*
 * test_msg_carriers.c - the NATS and Kafka carriers on header stores made
 * in memory (no broker): W3C repeated-header rules through both, inject
 * replacing every case of a name and nothing else, NULL stores, and the
 * broker URL splitter behind server.address/server.port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "messaging/common/msg.h"
#include "spanlog/kafka.h"
#include "spanlog/nats.h"

#define TP1 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TP2 "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static natsMsg *nats_msg(void)
{
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, "s", NULL, "", 0), NATS_OK);
    return m;
}

/* A carrier over no header store: nothing seen, nothing set, no crash. */
static void check_no_store(sl_carrier c)
{
    sl_span_context ctx;
    assert_int_equal(sl_extract(&c, &ctx, NULL), SL_ENOENT);
    assert_int_equal(sl_traceparent_parse(TP1, strlen(TP1), &ctx), SL_OK);
    assert_int_equal(sl_inject(&c, &ctx, NULL), SL_EIO);
}

static void test_nats_extract_rules(void **state)
{
    sl_span_context ctx;
    sl_baggage *bag = NULL;
    const char *v;
    (void)state;
    natsMsg *m = nats_msg();
    /* Any case; repeated tracestate and baggage values joined in order. */
    assert_int_equal(natsMsgHeader_Set(m, "TraceParent", TP1), NATS_OK);
    assert_int_equal(natsMsgHeader_Add(m, "tracestate", "a=1"), NATS_OK);
    assert_int_equal(natsMsgHeader_Add(m, "tracestate", "b=2"), NATS_OK);
    assert_int_equal(natsMsgHeader_Add(m, "Baggage", "k1=v1"), NATS_OK);
    assert_int_equal(natsMsgHeader_Add(m, "Baggage", "k2=v2"), NATS_OK);
    sl_carrier c = sl_nats_carrier(m);
    assert_int_equal(sl_extract(&c, &ctx, &bag), SL_OK);
    assert_string_equal(ctx.tracestate, "a=1,b=2");
    assert_int_equal(sl_baggage_count(bag), 2);
    assert_int_equal(sl_baggage_get(bag, "k2", &v, NULL), SL_OK);
    assert_string_equal(v, "v2");
    sl_baggage_free(bag);
    /* A second traceparent, under another case: invalid, even if equal. */
    assert_int_equal(natsMsgHeader_Add(m, "traceparent", TP1), NATS_OK);
    assert_int_equal(sl_extract(&c, &ctx, NULL), SL_EPARSE);
    assert_false(sl_span_context_is_valid(&ctx));
    natsMsg_Destroy(m);
}

static void test_nats_inject_replaces_every_case(void **state)
{
    sl_span_context ctx;
    const char **keys = NULL;
    int n = 0;
    const char *v;
    (void)state;
    natsMsg *m = nats_msg();
    assert_int_equal(natsMsgHeader_Set(m, "TRACEPARENT", TP2), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "Traceparent", TP2), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "X-Keep", "1"), NATS_OK);
    assert_int_equal(sl_traceparent_parse(TP1, strlen(TP1), &ctx), SL_OK);
    sl_carrier c = sl_nats_carrier(m);
    assert_int_equal(sl_inject(&c, &ctx, NULL), SL_OK);
    assert_int_equal(natsMsgHeader_Keys(m, &keys, &n), NATS_OK);
    assert_int_equal(n, 2);
    free((void *)keys);
    assert_int_equal(natsMsgHeader_Get(m, "traceparent", &v), NATS_OK);
    assert_string_equal(v, TP1);
    assert_int_equal(natsMsgHeader_Get(m, "X-Keep", &v), NATS_OK);
    assert_string_equal(v, "1");
    natsMsg_Destroy(m);

    check_no_store(sl_nats_carrier(NULL));
}

static void test_kafka_rules(void **state)
{
    sl_span_context ctx;
    const char *name;
    const void *val;
    size_t size;
    (void)state;
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "x-null", -1, NULL, 0);
    rd_kafka_header_add(h, "TRACEPARENT", -1, TP2, -1);
    rd_kafka_header_add(h, "tracestate", -1, "a=1", -1);
    rd_kafka_header_add(h, "TraceState", -1, "b=2", -1);
    sl_carrier c = sl_kafka_carrier(h);
    assert_int_equal(sl_extract(&c, &ctx, NULL), SL_OK);
    assert_string_equal(ctx.tracestate, "a=1,b=2");
    rd_kafka_header_add(h, "traceparent", -1, TP2, -1);
    assert_int_equal(sl_extract(&c, &ctx, NULL), SL_EPARSE);

    /* Inject: both traceparents go, one comes back; the rest in order. */
    assert_int_equal(sl_traceparent_parse(TP1, strlen(TP1), &ctx), SL_OK);
    assert_int_equal(sl_inject(&c, &ctx, NULL), SL_OK);
    assert_int_equal(rd_kafka_header_cnt(h), 4);
    const char *order[] = {"x-null", "tracestate", "TraceState", "traceparent"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(rd_kafka_header_get_all(h, i, &name, &val, &size),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_string_equal(name, order[i]);
    }
    assert_null(rd_kafka_header_get_all(h, 0, &name, &val, &size) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR
                    ? val
                    : "x");
    assert_int_equal(rd_kafka_header_get_last(h, "traceparent", &val, &size),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_memory_equal(val, TP1, size);
    rd_kafka_headers_destroy(h);

    check_no_store(sl_kafka_carrier(NULL));
}

static void test_split_url(void **state)
{
    char host[32];
    int port;
    (void)state;
    assert_true(sl__msg_split_url("nats://127.0.0.1:4222", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 4222);
    assert_true(
        sl__msg_split_url("nats://u:pw@broker.example:4223/x", host, sizeof host, &port));
    assert_string_equal(host, "broker.example");
    assert_int_equal(port, 4223);
    assert_true(sl__msg_split_url("[::1]:9092", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9092);
    assert_true(sl__msg_split_url("kafka", host, sizeof host, &port));
    assert_string_equal(host, "kafka");
    assert_int_equal(port, 0);
    assert_false(sl__msg_split_url("nats://:4222", host, sizeof host, &port));
    assert_false(sl__msg_split_url("[::1", host, sizeof host, &port));
    assert_false(
        sl__msg_split_url("averyveryveryverylonghostname.example", host, 8, &port));
    assert_false(sl__msg_split_url(NULL, host, sizeof host, &port));
    assert_true(sl__msg_name_eq("TraceParent", "traceparent"));
    assert_false(sl__msg_name_eq("traceparent", "traceparent2"));
}

/* libnats must be opened before a message is made without a connection. */
static int open_nats(void **state)
{
    (void)state;
    return nats_Open(-1) == NATS_OK ? 0 : -1;
}

static int close_nats(void **state)
{
    (void)state;
    nats_Close();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nats_extract_rules),
        cmocka_unit_test(test_nats_inject_replaces_every_case),
        cmocka_unit_test(test_kafka_rules),
        cmocka_unit_test(test_split_url),
    };
    return cmocka_run_group_tests(tests, open_nats, close_nats);
}
