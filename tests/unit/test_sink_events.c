/*
 * test_sink_events.c - an event callback tells drops from errors: DROP
 * events with the count and the reason, never from under the sink's lock,
 * adding up to the sink's dropped counter at close; ERROR events as the
 * error callback had them. Also through the delivery runtime, whose worker
 * tells the drops it settles, to a callback that pushes to the same queue.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deliver/deliver.h"
#include "internal.h"
#include "spanlog/spanlog.h"

typedef struct event {
    sl_sink_event_kind kind;
    sl_status code;
    char text[128];
    uint64_t count, total;
    bool on_main;
} event;

typedef struct events {
    pthread_mutex_t mu;
    event ev[64];
    int n;
    int error_fn_calls;
    sl__deliver *push_to; /* the DROP callback pushes one entry here */
} events;

static pthread_t main_thread;

static void on_event(void *user, const sl_sink *sink, const sl_sink_event *ev)
{
    (void)sink;
    events *e = user;
    pthread_mutex_lock(&e->mu);
    assert_true(e->n < 64);
    event *r = &e->ev[e->n++];
    r->kind = ev->kind;
    r->code = ev->code;
    snprintf(r->text, sizeof r->text, "%s", ev->text);
    r->count = ev->count;
    r->total = ev->total;
    r->on_main = pthread_equal(pthread_self(), main_thread);
    sl__deliver *d = e->push_to;
    pthread_mutex_unlock(&e->mu);
    if (d != NULL && ev->kind == SL_SINK_EVENT_DROP) {
        /* what a callback that logs to the same sink does */
        static const char line[] = "told";
        sl__deliver_part p = {line, sizeof line};
        assert_int_equal(sl__deliver_push(d, &p, 1, 10), SL_OK);
    }
}

static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    (void)sink;
    (void)code;
    (void)text;
    (void)suppressed;
    ((events *)user)->error_fn_calls++;
}

static void events_init(events *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
}

static uint64_t drops_told(events *e)
{
    uint64_t sum = 0;
    for (int i = 0; i < e->n; i++) {
        if (e->ev[i].kind == SL_SINK_EVENT_DROP) {
            sum += e->ev[i].count;
        }
    }
    return sum;
}

/* A sink that drops every record (the reason given), and reports an error
 * for every record when `fail` is set: the fd sink's pattern, the error
 * outside its lock. */
typedef struct dropper {
    pthread_mutex_t mu;
    bool fail;
} dropper;

static void drop_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    (void)rec;
    (void)line;
    (void)len;
    dropper *d = sl_sink_state(sink);
    pthread_mutex_lock(&d->mu);
    sl_sink_count_dropped_reason(sink, 1, SL_EAGAIN, "queue full");
    pthread_mutex_unlock(&d->mu);
    if (d->fail) {
        sl_sink_report_error(sink, SL_EIO, "dropper: write failed");
    }
}

static const sl_sink_vtable drop_vt = {
    .version = SL_SINK_VTABLE_VERSION, .name = "dropper", .write = drop_write};

static sl_logger *logger_on(sl_sink *sink)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(&o, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    return lg;
}

/* A dropper sink (failing writes when `fail`) on a logger, the event
 * callback set first when `install`. */
static sl_logger *dropper_logger(events *e, dropper *dr, bool fail, bool install,
                                 sl_sink **sink)
{
    events_init(e);
    pthread_mutex_init(&dr->mu, NULL);
    dr->fail = fail;
    assert_int_equal(sl_sink_new(&drop_vt, dr, sink), SL_OK);
    if (install) {
        sl_sink_set_event_callback(*sink, on_event, e);
    }
    return logger_on(*sink);
}

static void test_drops_told_with_count_and_reason(void **state)
{
    (void)state;
    events e;
    dropper dr;
    sl_sink *sink = NULL;
    sl_logger *lg = dropper_logger(&e, &dr, false, true, &sink);
    for (int i = 0; i < 10; i++) {
        sl_info(lg, "lost");
    }
    assert_int_equal(e.n, 0); /* counted under the sink's lock: not told there */
    assert_int_equal(sl_sink_flush(sink, 0), SL_OK);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.ev[0].kind, SL_SINK_EVENT_DROP);
    assert_int_equal(e.ev[0].count, 10);
    assert_int_equal(e.ev[0].total, 10);
    assert_int_equal(e.ev[0].code, SL_EAGAIN);
    assert_string_equal(e.ev[0].text, "queue full");
    for (int i = 0; i < 5; i++) {
        sl_info(lg, "lost");
    }
    sl_sink_flush(sink, 0); /* within the second: held back */
    assert_int_equal(e.n, 1);
    sl_sink_stats st;
    sl_sink_stats_init(&st);
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.dropped, 15);
    sl_logger_free(lg); /* it owns the sink: closing it tells the rest */
    assert_int_equal(e.n, 2);
    assert_int_equal(e.ev[1].count, 5);
    assert_int_equal(e.ev[1].total, 15);
    assert_int_equal(drops_told(&e), 15);
}

static void test_errors_and_drops_told_apart(void **state)
{
    (void)state;
    events e;
    dropper dr;
    sl_sink *sink = NULL;
    sl_logger *lg = dropper_logger(&e, &dr, true, true, &sink);
    sl_info(lg, "lost");
    /* the error is reported outside the lock: the drop goes first, then it */
    assert_int_equal(e.n, 2);
    assert_int_equal(e.ev[0].kind, SL_SINK_EVENT_DROP);
    assert_int_equal(e.ev[0].count, 1);
    assert_int_equal(e.ev[1].kind, SL_SINK_EVENT_ERROR);
    assert_int_equal(e.ev[1].code, SL_EIO);
    assert_string_equal(e.ev[1].text, "dropper: write failed");
    assert_int_equal(e.ev[1].total, 1);
    sl_info(lg, "lost"); /* within the second: counted, held back */
    sl_info(lg, "lost");
    assert_int_equal(e.n, 2);
    sl_logger_free(lg);
    assert_int_equal(drops_told(&e), 3);
}

static void test_installed_late_and_replaced(void **state)
{
    (void)state;
    events e;
    dropper dr;
    sl_sink *sink = NULL;
    sl_logger *lg = dropper_logger(&e, &dr, true, false, &sink);
    sl_info(lg, "before any callback"); /* to stderr (off here), error kept */
    sl_info(lg, "again");
    sl_sink_set_event_callback(sink, on_event, &e);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.ev[0].kind, SL_SINK_EVENT_ERROR);
    assert_int_equal(e.ev[0].code, SL_EIO);
    assert_int_equal(e.ev[1].kind, SL_SINK_EVENT_DROP);
    assert_int_equal(e.ev[1].count, 2);

    /* an error callback replaces it: errors go there, drops are not told */
    sl_sink_set_error_callback(sink, on_error, &e);
    sl_info(lg, "lost");
    sl_sink_flush(sink, 0);
    assert_int_equal(e.n, 2);
    /* and back */
    sl_sink_set_event_callback(sink, on_event, &e);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.ev[2].kind, SL_SINK_EVENT_DROP);
    assert_int_equal(e.ev[2].count, 1);
    assert_int_equal(e.ev[2].total, 3);
    sl_sink_set_event_callback(sink, NULL, NULL);
    sl_info(lg, "lost");
    sl_logger_free(lg);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.error_fn_calls, 0); /* rate limit: within the second */
}

/* ---- through the delivery runtime ---------------------------------------------- */

static void toolarge_send(void *user, void *conn, const sl__deliver_batch *b,
                          sl__deliver_verdict *v)
{
    (void)user;
    (void)conn;
    v->kind = SL__DELIVER_SENT;
    for (size_t i = 0; i < b->n; i++) {
        if (b->entries[i].weight > 100) {
            v->kind = SL__DELIVER_TOO_LARGE;
        }
    }
}

static void test_worker_tells_drops(void **state)
{
    (void)state;
    static const sl__deliver_ops ops = {.send = toolarge_send};
    events e;
    events_init(&e);
    sl__deliver_options o;
    sl__deliver_options_init(&o);
    o.name = "test";
    o.queue_bytes = 1u << 20;
    o.batch_bytes = 64u << 10;
    o.batch_age_ms = 100;
    o.backoff_min_ms = 1;
    o.backoff_max_ms = 5;
    sl_sink *sink;
    assert_int_equal(sl_null_sink_new(&sink), SL_OK);
    sl_sink_set_event_callback(sink, on_event, &e);
    sl__deliver *d;
    assert_int_equal(sl__deliver_new(&o, &ops, NULL, sink, &d), SL_OK);
    e.push_to = d;
    static char fill[512];
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t w = i == 5 || i == 40 || i == 41 ? 200 : 10;
        sl__deliver_part p = {fill, w};
        assert_int_equal(sl__deliver_push(d, &p, 1, w), SL_OK);
    }
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    pthread_mutex_lock(&e.mu);
    /* the runtime's error comes first ("a record too large ..."), then the
     * drop it settles, told by the worker while it held no lock: the
     * callback's own push went through */
    int drop = 0;
    while (drop < e.n && e.ev[drop].kind != SL_SINK_EVENT_DROP) {
        assert_int_equal(e.ev[drop].kind, SL_SINK_EVENT_ERROR);
        assert_int_equal(e.ev[drop].code, SL_ERANGE);
        drop++;
    }
    assert_true(drop > 0 && drop < e.n);
    assert_false(e.ev[drop].on_main);
    assert_int_equal(e.ev[drop].code, SL_ERANGE);
    assert_string_equal(e.ev[drop].text, "too large for the receiver");
    e.push_to = NULL;
    pthread_mutex_unlock(&e.mu);
    assert_int_equal(sl__deliver_flush(d, 10000), SL_OK);
    sl_sink_stats st;
    sl_sink_stats_init(&st);
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.dropped, 3);
    sl__deliver_free(d);
    sl_sink_free(sink, 0);
    assert_int_equal(drops_told(&e), 3); /* all told by close */
}

int main(void)
{
    main_thread = pthread_self();
    sl_set_diagnostics(SL_DIAG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drops_told_with_count_and_reason),
        cmocka_unit_test(test_errors_and_drops_told_apart),
        cmocka_unit_test(test_installed_late_and_replaced),
        cmocka_unit_test(test_worker_tells_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
