/*
 * test_nats_reconnect.c - the broker is down when the service starts and
 * restarts mid-stream: libnats retries the first connect and reconnects,
 * buffering what is published while it reconnects; every message arrives
 * once with its own trace context and its record carries it. No crash.
 * Before the very first connect libnats refuses messages with headers
 * (NATS_NO_SERVER_SUPPORT): the traced publish reports that.
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

#define PHASE   100
#define PHASES  4
#define WAIT_MS 30000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int total;

static int handle(sl_nats_delivery *d, void *user)
{
    char body[16];
    int len = natsMsg_GetDataLength(d->msg);
    (void)user;
    memcpy(body, natsMsg_GetData(d->msg), (size_t)len);
    body[len] = '\0';
    sl_info(d->log, "handled", SL_INT("seq", atoi(body)));
    pthread_mutex_lock(&mu);
    total++;
    pthread_mutex_unlock(&mu);
    return 0;
}

/* With a connected callback, libnats retries the first connect in the
 * background instead of blocking natsConnection_Connect. */
static void on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
}

static void publish_phase(natsConnection *nc, int phase,
                          char traces[][SL_TRACE_ID_HEX_LEN + 1], natsStatus want)
{
    for (int i = phase * PHASE; i < (phase + 1) * PHASE; i++) {
        char body[16];
        int n = snprintf(body, sizeof body, "%d", i);
        sl_span *req = sl_span_start("request", SL_SPAN_SERVER);
        sl_trace_id_to_hex(sl_span_get_context(req)->trace_id, traces[i]);
        assert_int_equal(sl_nats_publish_traced(nc, "events", body, n), want);
        sl_span_end(req);
    }
}

static void wait_status(natsConnection *nc, natsConnStatus want, bool equal)
{
    int64_t deadline = nsrv_now_ms() + WAIT_MS;
    while ((natsConnection_Status(nc) == want) != equal) {
        assert_true(nsrv_now_ms() < deadline);
        nsrv_pause();
    }
}

static void test_down_at_start_and_restarted(void **state)
{
    static char traces[PHASE * PHASES][SL_TRACE_ID_HEX_LEN + 1];
    nsrv server;
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    sl_nats_handler_options ho;
    sl_nats_handler *h;
    capture cap;
    (void)state;

    assert_int_equal(nsrv_prepare(&server, false), 0); /* nothing listens yet */
    capture_init(&cap);
    sl_logger *lg = capture_logger(NULL, &cap);
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    assert_int_equal(natsOptions_SetURL(o, server.url), NATS_OK);
    assert_int_equal(natsOptions_SetRetryOnFailedConnect(o, true, on_connected, NULL),
                     NATS_OK);
    assert_int_equal(natsOptions_SetMaxReconnect(o, -1), NATS_OK);
    assert_int_equal(natsOptions_SetReconnectWait(o, 50), NATS_OK);
    assert_int_equal(natsOptions_SetReconnectBufSize(o, 8 * 1024 * 1024), NATS_OK);
    assert_int_equal(natsConnection_Connect(&nc, o), NATS_NOT_YET_CONNECTED);
    natsOptions_Destroy(o);

    sl_nats_handler_options_init(&ho);
    ho.fn = handle;
    ho.logger = lg;
    assert_int_equal(sl_nats_handler_new(&ho, &h), SL_OK);
    assert_int_equal(natsConnection_Subscribe(&sub, nc, "events", sl_nats_on_msg, h),
                     NATS_OK);

    /* Never connected yet, libnats cannot know that the server takes
     * headers and refuses such messages: an error, not a crash, and the
     * producer span says so. The service publishes them again later. */
    span_rec spans;
    span_rec_start(&spans);
    publish_phase(nc, 0, traces, NATS_NO_SERVER_SUPPORT);
    const rec_span *refused =
        span_rec_find(&spans, "publish events", SL_SPAN_PRODUCER, 0);
    assert_non_null(refused);
    assert_int_equal(refused->status, SL_SPAN_STATUS_ERROR);
    assert_string_equal(rec_str(refused, "error.type"),
                        natsStatus_GetText(NATS_NO_SERVER_SUPPORT));
    span_rec_stop(&spans);
    assert_int_equal(nsrv_start(&server), 0);
    wait_status(nc, NATS_CONN_STATUS_CONNECTED, true);
    publish_phase(nc, 0, traces, NATS_OK);
    assert_int_equal(wait_count(&mu, &total, PHASE, WAIT_MS), PHASE);
    publish_phase(nc, 1, traces, NATS_OK);
    assert_int_equal(wait_count(&mu, &total, 2 * PHASE, WAIT_MS), 2 * PHASE);

    nsrv_stop(&server); /* mid-stream */
    wait_status(nc, NATS_CONN_STATUS_CONNECTED, false);
    publish_phase(nc, 2, traces, NATS_OK); /* disconnected: buffered by libnats */
    assert_int_equal(nsrv_start(&server), 0);
    wait_status(nc, NATS_CONN_STATUS_CONNECTED, true);
    assert_int_equal(wait_count(&mu, &total, 3 * PHASE, WAIT_MS), 3 * PHASE);
    publish_phase(nc, 3, traces, NATS_OK);
    assert_int_equal(wait_count(&mu, &total, 4 * PHASE, WAIT_MS), 4 * PHASE);

    assert_int_equal(natsSubscription_Drain(sub), NATS_OK);
    assert_int_equal(natsSubscription_WaitForDrainCompletion(sub, WAIT_MS), NATS_OK);
    natsSubscription_Destroy(sub);
    sl_nats_handler_free(h);

    json_t *all = msg_records(&cap, "handled", "events");
    msg_check_seqs(all, PHASE * PHASES, traces);
    json_decref(all);
    /* Nobody lost its context: no record says a trace was started anew. */
    json_t *fresh = msg_records(&cap, "message without trace context, new trace", NULL);
    assert_int_equal(json_array_size(fresh), 0);
    json_decref(fresh);

    natsConnection_Destroy(nc);
    sl_logger_free(lg);
    capture_clear(&cap);
    nsrv_destroy(&server);
    nats_Close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_at_start_and_restarted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
