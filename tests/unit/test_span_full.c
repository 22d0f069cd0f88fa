/* test_span_full.c - what spans record and report: attributes, events,
 * status, exceptions, processors, unsampled spans, misuse and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>

#include "spanlog/span.h"

/* ---- a processor that copies what it receives ------------------------- */

#define MAXREC 16

typedef struct rec_attr {
    char key[64];
    sl_field_type type;
    char s[300];
    size_t len;
    int64_t i;
    double d;
    int b;
} rec_attr;

typedef struct rec_event {
    char name[64];
    int64_t time_ns;
    rec_attr attrs[SL_SPAN_MAX_EVENT_ATTRIBUTES];
    size_t nattrs;
    uint32_t dropped;
} rec_event;

typedef struct rec {
    char name[300];
    sl_span_kind kind;
    sl_span_context ctx;
    sl_span_id parent;
    int parent_remote;
    int64_t start_ns, end_ns;
    sl_span_status_code status;
    char status_message[128];
    rec_attr attrs[SL_SPAN_MAX_ATTRIBUTES];
    size_t nattrs;
    uint32_t dropped_attrs;
    rec_event events[SL_SPAN_MAX_EVENTS];
    size_t nevents;
    uint32_t dropped_events;
    int other_thread;
} rec;

static rec recs[MAXREC];
static size_t nrecs;
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

static void copy_attr(rec_attr *d, const sl_field *f)
{
    snprintf(d->key, sizeof d->key, "%s", f->key);
    d->type = f->type;
    if (f->type == SL_FIELD_STR) {
        d->len = f->len;
        memcpy(d->s, f->v.s, f->len < sizeof d->s - 1 ? f->len : sizeof d->s - 1);
        d->s[f->len < sizeof d->s - 1 ? f->len : sizeof d->s - 1] = '\0';
    }
    d->i = f->type == SL_FIELD_INT ? f->v.i : (int64_t)f->v.u;
    d->d = f->type == SL_FIELD_DOUBLE ? f->v.d : 0;
    d->b = f->type == SL_FIELD_BOOL ? f->v.b : 0;
}

static void on_end(const sl_span_data *d, void *user)
{
    (void)user;
    pthread_mutex_lock(&rec_lock);
    if (nrecs < MAXREC) {
        rec *r = &recs[nrecs++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", d->name);
        r->kind = d->kind;
        r->ctx = *d->context;
        r->parent = d->parent_span_id;
        r->parent_remote = d->parent_remote;
        r->start_ns = d->start_ns;
        r->end_ns = d->end_ns;
        r->status = d->status;
        snprintf(r->status_message, sizeof r->status_message, "%s", d->status_message);
        for (size_t i = 0; i < d->attribute_count; i++) {
            copy_attr(&r->attrs[i], &d->attributes[i]);
        }
        r->nattrs = d->attribute_count;
        r->dropped_attrs = d->dropped_attributes;
        for (size_t e = 0; e < d->event_count; e++) {
            rec_event *re = &r->events[e];
            snprintf(re->name, sizeof re->name, "%s", d->events[e].name);
            re->time_ns = d->events[e].time_ns;
            for (size_t i = 0; i < d->events[e].attribute_count; i++) {
                copy_attr(&re->attrs[i], &d->events[e].attributes[i]);
            }
            re->nattrs = d->events[e].attribute_count;
            re->dropped = d->events[e].dropped_attributes;
        }
        r->nevents = d->event_count;
        r->dropped_events = d->dropped_events;
        r->other_thread = d->ended_on_other_thread;
    }
    pthread_mutex_unlock(&rec_lock);
}

static int counter_calls;
static void counter(const sl_span_data *d, void *user)
{
    (void)d;
    counter_calls += *(int *)user;
}

static int setup(void **state)
{
    (void)state;
    nrecs = 0;
    sl_sampler on = {SL_SAMPLER_PARENTBASED_ALWAYS_ON, 1};
    sl_sampler_set(&on);
    return sl_span_processor_add(on_end, NULL) == SL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sl_span_processor_remove(on_end, NULL);
    return sl_context_depth() == 0 ? 0 : -1;
}

static const rec_attr *find(const rec *r, const char *key)
{
    for (size_t i = 0; i < r->nattrs; i++) {
        if (strcmp(r->attrs[i].key, key) == 0) {
            return &r->attrs[i];
        }
    }
    return NULL;
}

/* ---- tests --------------------------------------------------------------- */

static void test_attributes(void **state)
{
    (void)state;
    sl_span *s = sl_span_start("GET /users", SL_SPAN_SERVER);
    assert_true(sl_span_is_recording(s));
    char big[300];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char key[] = "http.method";
    assert_int_equal(sl_span_set(s, SL_STR(key, "GET"), SL_INT("http.status_code", 200),
                                 SL_UINT("bytes", 18446744073709551615ull),
                                 SL_DOUBLE("ratio", 0.5), SL_BOOL("cached", true),
                                 SL_STRN("part", "abcdef", 3), SL_STR("big", big)),
                     SL_OK);
    key[0] = 'X'; /* keys are copied */
    /* Replacing a value keeps one attribute. */
    assert_int_equal(sl_span_set(s, SL_INT("http.status_code", 404)), SL_OK);
    /* Unsupported types and bad keys are refused, not stored. */
    assert_int_equal(sl_span_set(s, SL_NULL("n")), SL_EINVAL);
    assert_int_equal(sl_span_set(s, SL_STR(NULL, "x")), SL_EINVAL);
    assert_int_equal(sl_span_set(s, SL_STR("", "x")), SL_EINVAL);
    assert_int_equal(sl_span_set_attributes(s, NULL, 1), SL_EINVAL);
    assert_int_equal(sl_span_set_attributes(s, NULL, 0), SL_OK);
    sl_span_end(s);
    assert_int_equal(nrecs, 1);
    const rec *r = &recs[0];
    assert_string_equal(r->name, "GET /users");
    assert_int_equal(r->kind, SL_SPAN_SERVER);
    assert_int_equal(r->nattrs, 7);
    assert_int_equal(r->dropped_attrs, 0);
    assert_string_equal(r->attrs[0].key, "http.method");
    assert_string_equal(find(r, "http.method")->s, "GET");
    assert_int_equal(find(r, "http.status_code")->type, SL_FIELD_INT);
    assert_int_equal(find(r, "http.status_code")->i, 404);
    assert_int_equal(find(r, "bytes")->type, SL_FIELD_UINT);
    assert_true((uint64_t)find(r, "bytes")->i == 18446744073709551615ull);
    assert_true(find(r, "ratio")->d == 0.5);
    assert_int_equal(find(r, "cached")->b, 1);
    assert_string_equal(find(r, "part")->s, "abc");
    assert_int_equal(find(r, "part")->len, 3);
    assert_int_equal(find(r, "big")->len, 299);
    assert_null(find(r, "n"));
    assert_true(r->start_ns > 0);
    assert_true(r->end_ns >= r->start_ns);
    assert_int_equal(r->status, SL_SPAN_STATUS_UNSET);
    assert_string_equal(r->status_message, "");
}

static void test_attribute_limit(void **state)
{
    (void)state;
    sl_span *s = sl_span_start("limit", SL_SPAN_INTERNAL);
    char key[16];
    for (int i = 0; i < SL_SPAN_MAX_ATTRIBUTES; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(sl_span_set(s, SL_INT(key, i)), SL_OK);
    }
    assert_int_equal(sl_span_set(s, SL_INT("one-too-many", 1)), SL_ERANGE);
    assert_int_equal(sl_span_set(s, SL_INT("two-too-many", 2), SL_INT("k0", 100)),
                     SL_ERANGE);
    sl_span_end(s);
    const rec *r = &recs[0];
    assert_int_equal(r->nattrs, SL_SPAN_MAX_ATTRIBUTES);
    assert_int_equal(r->dropped_attrs, 2);
    assert_int_equal(find(r, "k0")->i, 100); /* an existing key still updates */
    assert_null(find(r, "one-too-many"));
}

static void test_events_status_exceptions(void **state)
{
    (void)state;
    sl_span *s = sl_span_start("work", SL_SPAN_CLIENT);
    assert_int_equal(sl_span_add_event(s, "cache miss", NULL, 0), SL_OK);
    sl_field many[SL_SPAN_MAX_EVENT_ATTRIBUTES + 3];
    char keys[SL_SPAN_MAX_EVENT_ATTRIBUTES + 3][8];
    for (int i = 0; i < SL_SPAN_MAX_EVENT_ATTRIBUTES + 3; i++) {
        snprintf(keys[i], sizeof keys[i], "a%d", i);
        many[i] = SL_INT(keys[i], i);
    }
    assert_int_equal(
        sl_span_add_event(s, "retry", many, SL_SPAN_MAX_EVENT_ATTRIBUTES + 3), SL_OK);
    assert_int_equal(sl_span_record_errno(s, ENOENT), SL_OK);
    assert_int_equal(sl_span_record_error(s, "Timeout", "upstream slow"), SL_OK);
    assert_int_equal(sl_span_record_error(s, NULL, NULL), SL_OK);
    assert_int_equal(sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "boom"), SL_OK);
    assert_int_equal(sl_span_set_status(s, SL_SPAN_STATUS_UNSET, NULL), SL_OK);
    assert_int_equal(sl_span_set_status(s, (sl_span_status_code)9, NULL), SL_EINVAL);
    for (int i = 5; i < SL_SPAN_MAX_EVENTS; i++) {
        assert_int_equal(sl_span_add_event(s, "tick", NULL, 0), SL_OK);
    }
    assert_int_equal(sl_span_add_event(s, "dropped", NULL, 0), SL_ERANGE);
    sl_span_end(s);
    const rec *r = &recs[0];
    assert_int_equal(r->status, SL_SPAN_STATUS_ERROR);
    assert_string_equal(r->status_message, "boom");
    assert_int_equal(r->nevents, SL_SPAN_MAX_EVENTS);
    assert_int_equal(r->dropped_events, 1);
    assert_string_equal(r->events[0].name, "cache miss");
    assert_int_equal(r->events[0].nattrs, 0);
    assert_true(r->events[0].time_ns >= r->start_ns);
    assert_int_equal(r->events[1].nattrs, SL_SPAN_MAX_EVENT_ATTRIBUTES);
    assert_int_equal(r->events[1].dropped, 3);
    assert_int_equal(r->events[1].attrs[15].i, 15);
    const rec_event *ex = &r->events[2];
    assert_string_equal(ex->name, "exception");
    assert_int_equal(ex->nattrs, 3);
    assert_string_equal(ex->attrs[0].key, "exception.type");
    assert_string_equal(ex->attrs[0].s, "ENOENT");
    assert_string_equal(ex->attrs[1].key, "exception.message");
    assert_string_equal(ex->attrs[1].s, strerror(ENOENT));
    assert_string_equal(ex->attrs[2].key, "errno");
    assert_int_equal(ex->attrs[2].i, ENOENT);
    assert_string_equal(r->events[3].attrs[0].s, "Timeout");
    assert_string_equal(r->events[3].attrs[1].s, "upstream slow");
    assert_int_equal(r->events[4].nattrs, 1);
    assert_string_equal(r->events[4].attrs[0].key, "exception.message");
    assert_string_equal(r->events[4].attrs[0].s, "");
}

static void test_status_ok_is_final(void **state)
{
    (void)state;
    sl_span *s = sl_span_start("ok", SL_SPAN_INTERNAL);
    assert_int_equal(sl_span_set_status(s, SL_SPAN_STATUS_OK, "ignored"), SL_OK);
    assert_int_equal(sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "late"), SL_OK);
    sl_span_end(s);
    assert_int_equal(recs[0].status, SL_SPAN_STATUS_OK);
    assert_string_equal(recs[0].status_message, "");
}

static void test_parent_ids(void **state)
{
    (void)state;
    sl_span_context remote;
    assert_int_equal(
        sl_traceparent_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03",
                             55, &remote),
        SL_OK);
    sl_span *srv = sl_span_start_with_parent("srv", SL_SPAN_SERVER, &remote);
    sl_span *inner = sl_span_start("inner", SL_SPAN_INTERNAL);
    sl_span_end(inner);
    sl_span_end(srv);
    assert_int_equal(nrecs, 2);
    assert_memory_equal(&recs[0].parent, &recs[1].ctx.span_id, 8);
    assert_int_equal(recs[0].parent_remote, 0);
    assert_memory_equal(&recs[1].parent, &remote.span_id, 8);
    assert_int_equal(recs[1].parent_remote, 1);
    assert_memory_equal(&recs[1].ctx.trace_id, &remote.trace_id, 16);
    /* The parent's flags (sampled and random) are kept. */
    assert_int_equal(recs[1].ctx.flags, 3);
    assert_int_equal(recs[0].ctx.flags, 3);
    sl_span *root = sl_span_start("root", SL_SPAN_INTERNAL);
    sl_span_end(root);
    sl_span_id zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&recs[2].parent, &zero, 8);
}

static void test_unsampled(void **state)
{
    (void)state;
    sl_sampler off = {SL_SAMPLER_ALWAYS_OFF, 1};
    assert_int_equal(sl_sampler_set(&off), SL_OK);
    sl_span *s = sl_span_start("quiet", SL_SPAN_SERVER);
    assert_non_null(s);
    assert_false(sl_span_is_recording(s));
    const sl_span_context *c = sl_span_get_context(s);
    assert_true(sl_span_context_is_valid(c));
    assert_int_equal(c->flags, SL_TRACE_FLAG_RANDOM);
    assert_ptr_not_equal(sl_context_current(), NULL);
    assert_memory_equal(&sl_context_current()->span_id, &c->span_id, 8);
    char corr[SL_CORRELATION_ID_LEN + 1];
    assert_int_equal(sl_correlation_id(sl_context_current(), corr), SL_OK);
    /* Recording calls are accepted and do nothing. */
    assert_int_equal(sl_span_set(s, SL_INT("a", 1)), SL_OK);
    assert_int_equal(sl_span_add_event(s, "e", NULL, 0), SL_OK);
    assert_int_equal(sl_span_set_status(s, SL_SPAN_STATUS_ERROR, "x"), SL_OK);
    assert_int_equal(sl_span_record_errno(s, EIO), SL_OK);
    /* A child of an unsampled parent is unsampled under parentbased. */
    sl_sampler pb = {SL_SAMPLER_PARENTBASED_ALWAYS_ON, 1};
    assert_int_equal(sl_sampler_set(&pb), SL_OK);
    sl_span *child = sl_span_start("child", SL_SPAN_INTERNAL);
    assert_false(sl_span_is_recording(child));
    assert_int_equal(sl_span_get_context(child)->flags, SL_TRACE_FLAG_RANDOM);
    sl_span_end(child);
    sl_span_end(s);
    assert_int_equal(nrecs, 0);
    assert_null(sl_context_current());
}

static void test_processor_registry(void **state)
{
    (void)state;
    int one = 1, ten = 10;
    counter_calls = 0;
    assert_int_equal(sl_span_processor_add(NULL, NULL), SL_EINVAL);
    assert_int_equal(sl_span_processor_add(counter, &one), SL_OK);
    assert_int_equal(sl_span_processor_add(counter, &ten), SL_OK);
    sl_span_end(sl_span_start("a", SL_SPAN_INTERNAL));
    assert_int_equal(counter_calls, 11);
    assert_int_equal(sl_span_processor_remove(counter, &ten), SL_OK);
    assert_int_equal(sl_span_processor_remove(counter, &ten), SL_ENOENT);
    sl_span_end(sl_span_start("b", SL_SPAN_INTERNAL));
    assert_int_equal(counter_calls, 12);
    /* Fill the table: on_end and counter(&one) are in; 6 more fit. */
    for (int i = 0; i < SL_SPAN_MAX_PROCESSORS - 2; i++) {
        assert_int_equal(sl_span_processor_add(counter, &ten), SL_OK);
    }
    assert_int_equal(sl_span_processor_add(counter, &ten), SL_ERANGE);
    assert_int_equal(sl_span_processor_remove(counter, &ten), SL_OK);
    assert_int_equal(sl_span_processor_remove(counter, &one), SL_OK);
    assert_int_equal(nrecs, 2);
}

static void test_end_twice(void **state)
{
    (void)state;
    sl_span *outer = sl_span_start("outer", SL_SPAN_INTERNAL);
    sl_span *s = sl_span_start("twice", SL_SPAN_INTERNAL);
    uint64_t before = sl_span_double_end_count();
    sl_span_end(s);
    assert_int_equal(sl_context_depth(), 1);
    sl_span_end(s);
    assert_int_equal(sl_span_double_end_count(), before + 1);
    assert_int_equal(nrecs, 1);
    /* The outer span is still current and intact. */
    assert_int_equal(sl_context_depth(), 1);
    assert_memory_equal(&sl_context_current()->span_id,
                        &sl_span_get_context(outer)->span_id, 8);
    /* Recording calls on the ended span do nothing. */
    assert_false(sl_span_is_recording(s));
    assert_int_equal(sl_span_set(s, SL_INT("late", 1)), SL_OK);
    sl_span_end(outer);
    assert_int_equal(nrecs, 2);
    assert_int_equal(recs[0].nattrs, 0);
}

static void test_parent_before_child(void **state)
{
    (void)state;
    sl_span_context ext = sl_span_context_empty();
    ext.trace_id = sl_trace_id_random();
    ext.span_id = sl_span_id_random();
    ext.flags = 1;
    sl_context_token t;
    assert_int_equal(sl_context_attach(&ext, &t), SL_OK);
    sl_span *parent = sl_span_start("parent", SL_SPAN_INTERNAL);
    sl_span *child = sl_span_start("child", SL_SPAN_INTERNAL);
    assert_int_equal(sl_context_depth(), 3);
    sl_span_end(parent);
    /* Parent and child left the stack; what was current before is back. */
    assert_int_equal(sl_context_depth(), 1);
    assert_memory_equal(&sl_context_current()->span_id, &ext.span_id, 8);
    /* The child still records and reports; ending it touches no entry. */
    assert_true(sl_span_is_recording(child));
    assert_int_equal(sl_span_set(child, SL_STR("after", "parent")), SL_OK);
    sl_span_end(child);
    assert_int_equal(sl_context_depth(), 1);
    assert_int_equal(nrecs, 2);
    assert_string_equal(recs[1].name, "child");
    assert_string_equal(find(&recs[1], "after")->s, "parent");
    assert_int_equal(sl_context_detach(t), SL_OK);
}

typedef struct other_end {
    sl_span *span;
} other_end;

static void *end_elsewhere(void *p)
{
    other_end *o = p;
    sl_span_end(o->span);
    return NULL;
}

static void test_end_on_other_thread(void **state)
{
    (void)state;
    sl_span *parent = sl_span_start("parent", SL_SPAN_INTERNAL);
    sl_span *s = sl_span_start("wanderer", SL_SPAN_INTERNAL);
    sl_span_id sid = sl_span_get_context(s)->span_id;
    other_end o = {s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, end_elsewhere, &o), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(nrecs, 1);
    assert_string_equal(recs[0].name, "wanderer");
    assert_int_equal(recs[0].other_thread, 1);
    /* Still current here until the enclosing span ends. */
    assert_int_equal(sl_context_depth(), 2);
    assert_memory_equal(&sl_context_current()->span_id, &sid, 8);
    sl_span_end(parent);
    assert_int_equal(sl_context_depth(), 0);
    assert_int_equal(nrecs, 2);
    assert_int_equal(recs[1].other_thread, 0);
}

typedef struct handoff {
    sl_span_context parent;
    sl_span_context child;
    int recording;
} handoff;

static void *child_in_thread(void *p)
{
    handoff *h = p;
    sl_span *c = sl_span_start_with_parent("worker", SL_SPAN_CONSUMER, &h->parent);
    h->child = *sl_span_get_context(c);
    h->recording = sl_span_is_recording(c);
    sl_span_end(c);
    return NULL;
}

static void test_threads_hand_off(void **state)
{
    (void)state;
    sl_span *root = sl_span_start("producer", SL_SPAN_PRODUCER);
    enum { N = 4 };
    handoff h[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        h[i].parent = *sl_span_get_context(root);
        assert_int_equal(pthread_create(&th[i], NULL, child_in_thread, &h[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_memory_equal(&h[i].child.trace_id, &h[i].parent.trace_id, 16);
        assert_memory_not_equal(&h[i].child.span_id, &h[i].parent.span_id, 8);
        assert_true(h[i].recording);
    }
    sl_span_end(root);
    assert_int_equal(nrecs, N + 1);
    for (size_t i = 0; i < N; i++) {
        assert_string_equal(recs[i].name, "worker");
        assert_memory_equal(&recs[i].parent, &h[0].parent.span_id, 8);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribute_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_status_exceptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_ok_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsampled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processor_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_before_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_on_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_hand_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
