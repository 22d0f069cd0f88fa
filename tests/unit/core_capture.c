/* core_capture.c - the capture sink and parse-back checks for core tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_capture.h"

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void cap_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    capture *c = sl_sink_state(sink);
    cap_line l = {
        .text = dup_n(line, len),
        .len = len,
        .level = rec->level,
        .truncated = rec->truncated,
        .had_ctx = rec->ctx != NULL,
        .nbound = rec->nbound,
        .nfields = rec->nfields,
        .msg = dup_n(rec->msg, rec->msg_len),
        .service =
            rec->service != NULL ? dup_n(rec->service, strlen(rec->service)) : NULL,
    };
    /* The contract: line ends in '\n' and line[len] is NUL. */
    assert_true(len > 0 && line[len - 1] == '\n' && line[len] == '\0');
    pthread_mutex_lock(&c->mu);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->lines = realloc(c->lines, c->cap * sizeof(*c->lines));
        assert_non_null(c->lines);
    }
    c->lines[c->n++] = l;
    pthread_mutex_unlock(&c->mu);
    sl_sink_count_written(sink, 1);
}

static sl_status cap_close(sl_sink *sink, int timeout_ms)
{
    (void)timeout_ms;
    ((capture *)sl_sink_state(sink))->closes++;
    return SL_OK;
}

static void cap_destroy(sl_sink *sink)
{
    ((capture *)sl_sink_state(sink))->destroyed = true;
}

static const sl_sink_vtable cap_vt = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "capture",
    .write = cap_write,
    .close = cap_close,
    .destroy = cap_destroy,
};

void capture_init(capture *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
}

void capture_clear(capture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->lines[i].text);
        free(c->lines[i].msg);
        free(c->lines[i].service);
    }
    free(c->lines);
    c->lines = NULL;
    c->n = c->cap = 0;
}

sl_sink *capture_sink(capture *c)
{
    sl_sink *s = NULL;
    assert_int_equal(sl_sink_new(&cap_vt, c, &s), SL_OK);
    return s;
}

sl_logger *capture_logger(const sl_logger_options *opts, capture *c)
{
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(opts, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, capture_sink(c), SL_LEVEL_TRACE), SL_OK);
    return lg;
}

json_t *capture_parse(const capture *c, size_t i)
{
    assert_true(i < c->n);
    const cap_line *l = &c->lines[i];
    /* One line: the only newline is the last byte. */
    assert_ptr_equal(memchr(l->text, '\n', l->len), l->text + l->len - 1);
    json_error_t err;
    json_t *o = json_loadb(l->text, l->len - 1, JSON_PRESERVE_ORDER, &err);
    if (o == NULL) {
        fail_msg("line %zu does not parse (%s at %d): %.300s", i, err.text, err.position,
                 l->text);
    }
    assert_true(json_is_object(o));
    return o;
}

void assert_keys(const json_t *o, const char *const *keys, size_t n)
{
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)o); it != NULL;
         it = json_object_iter_next((json_t *)o, it), i++) {
        if (i >= n) {
            fail_msg("unexpected extra key \"%s\" at position %zu",
                     json_object_iter_key(it), i);
        }
        if (strcmp(json_object_iter_key(it), keys[i]) != 0) {
            fail_msg("key %zu is \"%s\", expected \"%s\"", i, json_object_iter_key(it),
                     keys[i]);
        }
    }
    if (i != n) {
        fail_msg("%zu keys, expected %zu (next expected \"%s\")", i, n, keys[i]);
    }
}

const char *get_str(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        fail_msg("\"%s\" is missing or not a string", key);
    }
    return json_string_value(v);
}

json_int_t get_int(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) {
        fail_msg("\"%s\" is missing or not an integer", key);
    }
    return json_integer_value(v);
}
