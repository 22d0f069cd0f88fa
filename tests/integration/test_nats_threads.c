/*
 * test_nats_threads.c - 10,000 messages, each its own trace, consumed by 4
 * queue subscriptions (4 libnats delivery threads): every record a handler
 * writes carries its own message's trace id, parsed back one by one.
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

#define MESSAGES  10000
#define CONSUMERS 4

typedef struct worker {
    int index;
    pthread_mutex_t *mu;
    int *total;
    int handled;
} worker;

static int handle(sl_nats_delivery *d, void *user)
{
    worker *w = user;
    char body[16];
    int len = natsMsg_GetDataLength(d->msg);
    memcpy(body, natsMsg_GetData(d->msg), (size_t)len);
    body[len] = '\0';
    sl_info(d->log, "handled", SL_INT("seq", atoi(body)), SL_INT("worker", w->index));
    pthread_mutex_lock(w->mu);
    w->handled++;
    (*w->total)++;
    pthread_mutex_unlock(w->mu);
    return 0;
}

static void test_ten_thousand_four_threads(void **state)
{
    static char traces[MESSAGES][SL_TRACE_ID_HEX_LEN + 1];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int total = 0;
    nsrv server;
    natsConnection *pub = NULL, *con = NULL;
    natsSubscription *subs[CONSUMERS];
    sl_nats_handler *handlers[CONSUMERS];
    worker workers[CONSUMERS];
    span_rec spans;
    capture cap;
    (void)state;

    assert_int_equal(nsrv_launch(&server, false), 0);
    capture_init(&cap);
    sl_logger *lg = capture_logger(NULL, &cap);
    span_rec_start(&spans);
    assert_int_equal(natsConnection_ConnectTo(&pub, server.url), NATS_OK);
    assert_int_equal(natsConnection_ConnectTo(&con, server.url), NATS_OK);
    for (int i = 0; i < CONSUMERS; i++) {
        sl_nats_handler_options o;
        workers[i] = (worker){.index = i, .mu = &mu, .total = &total};
        sl_nats_handler_options_init(&o);
        o.fn = handle;
        o.user = &workers[i];
        o.logger = lg;
        o.queue_group = "pool";
        assert_int_equal(sl_nats_handler_new(&o, &handlers[i]), SL_OK);
        assert_int_equal(natsConnection_QueueSubscribe(&subs[i], con, "work", "pool",
                                                       sl_nats_on_msg, handlers[i]),
                         NATS_OK);
        /* No slow-consumer drops while the publisher runs ahead. */
        assert_int_equal(natsSubscription_SetPendingLimits(subs[i], -1, -1), NATS_OK);
    }
    assert_int_equal(natsConnection_Flush(con), NATS_OK);

    for (int i = 0; i < MESSAGES; i++) {
        char body[16];
        int n = snprintf(body, sizeof body, "%d", i);
        sl_span *req = sl_span_start("request", SL_SPAN_SERVER);
        sl_trace_id_to_hex(sl_span_get_context(req)->trace_id, traces[i]);
        assert_int_equal(sl_nats_publish_traced(pub, "work", body, n), NATS_OK);
        sl_span_end(req);
    }
    assert_int_equal(natsConnection_Flush(pub), NATS_OK);
    assert_int_equal(wait_count(&mu, &total, MESSAGES, 120000), MESSAGES);
    for (int i = 0; i < CONSUMERS; i++) {
        assert_int_equal(natsSubscription_Drain(subs[i]), NATS_OK);
        assert_int_equal(natsSubscription_WaitForDrainCompletion(subs[i], 30000),
                         NATS_OK);
        natsSubscription_Destroy(subs[i]);
        sl_nats_handler_free(handlers[i]);
        /* The queue group spread the load over every subscription's thread. */
        assert_true(workers[i].handled > 0);
    }

    /* Every record parsed back: one per message, its own trace, a fresh span. */
    json_t *all = msg_records(&cap, NULL, NULL);
    msg_check_seqs(all, MESSAGES, traces);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        assert_string_equal(get_str(o, "msg"), "handled");
        assert_string_equal(get_str(o, "messaging.destination.name"), "work");
        assert_string_equal(get_str(o, "messaging.consumer.group.name"), "pool");
    }
    /* request + publish + process for each message. */
    assert_int_equal(span_rec_count(&spans), 3 * MESSAGES);
    json_decref(all);

    natsConnection_Destroy(pub);
    natsConnection_Destroy(con);
    span_rec_stop(&spans);
    sl_logger_free(lg);
    capture_clear(&cap);
    nsrv_destroy(&server);
    nats_Close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_thousand_four_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
