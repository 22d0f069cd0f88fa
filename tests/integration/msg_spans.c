/*
 * msg_spans.c - the span recorder of msg_spans.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "msg_spans.h"

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    assert_non_null(d);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void on_end(const sl_span_data *d, void *user)
{
    span_rec *r = user;
    rec_span *sp = calloc(1, sizeof(*sp));
    assert_non_null(sp);
    rec_span s;
    memset(&s, 0, sizeof s);
    s.name = dupn(d->name, strlen(d->name));
    s.kind = d->kind;
    sl_trace_id_to_hex(d->context->trace_id, s.trace_id);
    sl_span_id_to_hex(d->context->span_id, s.span_id);
    if (sl_span_id_is_valid(d->parent_span_id)) {
        sl_span_id_to_hex(d->parent_span_id, s.parent_id);
    }
    s.parent_remote = d->parent_remote;
    memcpy(s.tracestate, d->context->tracestate, d->context->tracestate_len);
    s.status = d->status;
    s.status_message = dupn(d->status_message, strlen(d->status_message));
    for (size_t i = 0; i < d->attribute_count && i < SL_SPAN_MAX_ATTRIBUTES; i++) {
        const sl_field *f = &d->attributes[i];
        rec_attr *a = &s.attrs[s.nattrs++];
        a->key = dupn(f->key, strlen(f->key));
        a->type = f->type;
        if (f->type == SL_FIELD_STR) {
            a->s = dupn(f->v.s, f->len);
        } else if (f->type == SL_FIELD_INT) {
            a->i = f->v.i;
        } else if (f->type == SL_FIELD_UINT) {
            a->i = (int64_t)f->v.u;
        }
    }
    s.nevents = d->event_count;
    s.nlinks = d->link_count;
    for (size_t i = 0; i < d->link_count && i < SL_SPAN_MAX_LINKS; i++) {
        const sl_span_link_data *l = &d->links[i];
        sl_trace_id_to_hex(l->trace_id, s.links[i].trace_id);
        sl_span_id_to_hex(l->span_id, s.links[i].span_id);
        snprintf(s.links[i].tracestate, sizeof s.links[i].tracestate, "%s",
                 l->tracestate);
    }
    pthread_mutex_lock(&r->mu);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    *sp = s;
    r->v[r->n++] = sp;
    pthread_mutex_unlock(&r->mu);
}

void span_rec_start(span_rec *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    assert_int_equal(sl_span_processor_add(on_end, r), SL_OK);
}

void span_rec_stop(span_rec *r)
{
    (void)sl_span_processor_remove(on_end, r);
    for (size_t i = 0; i < r->n; i++) {
        rec_span *s = r->v[i];
        free(s->name);
        free(s->status_message);
        for (size_t j = 0; j < s->nattrs; j++) {
            free(s->attrs[j].key);
            free(s->attrs[j].s);
        }
        free(s);
    }
    free(r->v);
    pthread_mutex_destroy(&r->mu);
    memset(r, 0, sizeof(*r));
}

size_t span_rec_count(span_rec *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

const rec_span *span_rec_find(span_rec *r, const char *name, sl_span_kind kind,
                              size_t nth)
{
    const rec_span *hit = NULL;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && hit == NULL; i++) {
        if (strcmp(r->v[i]->name, name) == 0 && r->v[i]->kind == kind && nth-- == 0) {
            hit = r->v[i];
        }
    }
    pthread_mutex_unlock(&r->mu);
    return hit;
}

const rec_span *span_rec_wait(span_rec *r, const char *name, sl_span_kind kind,
                              size_t nth, int timeout_ms)
{
    struct timespec pause = {0, 5 * 1000000};
    const rec_span *s;
    for (int waited = 0;
         (s = span_rec_find(r, name, kind, nth)) == NULL && waited < timeout_ms;
         waited += 5) {
        nanosleep(&pause, NULL);
    }
    return s;
}

const rec_span *span_rec_by_id(span_rec *r, const char *span_id)
{
    const rec_span *hit = NULL;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && hit == NULL; i++) {
        if (strcmp(r->v[i]->span_id, span_id) == 0) {
            hit = r->v[i];
        }
    }
    pthread_mutex_unlock(&r->mu);
    return hit;
}

static const rec_attr *find(const rec_span *s, const char *key)
{
    for (size_t i = 0; i < s->nattrs; i++) {
        if (strcmp(s->attrs[i].key, key) == 0) {
            return &s->attrs[i];
        }
    }
    return NULL;
}

bool rec_has(const rec_span *s, const char *key)
{
    return find(s, key) != NULL;
}

const char *rec_str(const rec_span *s, const char *key)
{
    const rec_attr *a = find(s, key);
    if (a == NULL || a->type != SL_FIELD_STR) {
        fail_msg("span %s: no string attribute %s", s->name, key);
    }
    return a->s;
}

int64_t rec_int(const rec_span *s, const char *key)
{
    const rec_attr *a = find(s, key);
    if (a == NULL || (a->type != SL_FIELD_INT && a->type != SL_FIELD_UINT)) {
        fail_msg("span %s: no integer attribute %s", s->name, key);
    }
    return a->i;
}

json_t *msg_records(const capture *c, const char *msg, const char *dest)
{
    json_t *out = json_array();
    for (size_t i = 0; i < c->n; i++) {
        json_t *o = capture_parse(c, i);
        const json_t *m = json_object_get(o, "msg");
        const json_t *d = json_object_get(o, "messaging.destination.name");
        if ((msg == NULL ||
             (json_is_string(m) && strcmp(json_string_value(m), msg) == 0)) &&
            (dest == NULL ||
             (json_is_string(d) && strcmp(json_string_value(d), dest) == 0))) {
            json_array_append(out, o);
        }
        json_decref(o);
    }
    return out;
}

int wait_count(pthread_mutex_t *mu, const int *counter, int want, int timeout_ms)
{
    struct timespec start, now, pause = {0, 5 * 1000000};
    int v;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pthread_mutex_lock(mu);
        v = *counter;
        pthread_mutex_unlock(mu);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (v >= want ||
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
                timeout_ms) {
            return v;
        }
        nanosleep(&pause, NULL);
    }
}

json_t *msg_only_record(const capture *c, const char *msg, const char *dest)
{
    json_t *all = msg_records(c, msg, dest);
    assert_int_equal(json_array_size(all), 1);
    json_t *o = json_incref(json_array_get(all, 0));
    json_decref(all);
    return o;
}

void msg_hop(span_rec *r, const char *prod_name, const char *cons_name, size_t nth,
             int timeout_ms, const rec_span **prod, const rec_span **cons)
{
    const rec_span *c = span_rec_wait(r, cons_name, SL_SPAN_CONSUMER, nth, timeout_ms);
    const rec_span *p = span_rec_find(r, prod_name, SL_SPAN_PRODUCER, nth);
    assert_non_null(p);
    assert_non_null(c);
    assert_string_equal(c->trace_id, p->trace_id);
    assert_string_equal(c->parent_id, p->span_id);
    assert_int_equal(c->parent_remote, 1);
    assert_string_not_equal(c->span_id, p->span_id);
    *prod = p;
    *cons = c;
}

void msg_check_seqs(const json_t *records, size_t n,
                    char (*traces)[SL_TRACE_ID_HEX_LEN + 1])
{
    char *seen = calloc(n, 1);
    json_t *ids = json_object();
    size_t i;
    const json_t *o;
    assert_non_null(seen);
    assert_int_equal(json_array_size(records), n);
    json_array_foreach(records, i, o)
    {
        json_int_t seq = get_int(o, "seq");
        assert_true(seq >= 0 && (size_t)seq < n);
        assert_false(seen[seq]);
        seen[seq] = 1;
        assert_string_equal(get_str(o, "traceId"), traces[seq]);
        const char *sid = get_str(o, "spanId");
        assert_null(json_object_get(ids, sid));
        json_object_set_new(ids, sid, json_true());
    }
    free(seen);
    json_decref(ids);
}
