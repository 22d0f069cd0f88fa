/*
 * span.c - spans: a span context with a name and a kind that becomes the
 * calling thread's current context on start and stops being it on end.
 *
 * Start and end sit on hot paths (a span per request, per downstream call),
 * so span objects are recycled through a small per-thread free list instead
 * of a malloc/free pair each; the list is freed at thread exit.
 */
#include <pthread.h>

#include "trace/trace_internal.h"

#define NAME_INLINE   48
#define FREE_LIST_MAX 32

struct sl_span {
    sl_span_context ctx;
    sl_context_token token;
    sl_span_kind kind;
    char *name; /* name_inline or a heap copy */
    char name_inline[NAME_INLINE];
    struct sl_span *next_free;
};

typedef struct span_cache {
    sl_span *head;
    unsigned count;
} span_cache;

static _Thread_local span_cache tl_cache;
static _Thread_local int tl_cache_registered;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static int key_ok;

static void cache_destroy(void *p)
{
    span_cache *c = p;
    while (c->head != NULL) {
        sl_span *s = c->head;
        c->head = s->next_free;
        sl__free(s);
    }
    c->count = 0;
    tl_cache_registered = 0;
}

static void make_key(void)
{
    key_ok = pthread_key_create(&cache_key, cache_destroy) == 0;
}

static sl_span *span_alloc(void)
{
    span_cache *c = &tl_cache;
    sl_span *s = c->head;
    if (s != NULL) {
        c->head = s->next_free;
        c->count--;
        return s;
    }
    return sl__malloc(sizeof(sl_span));
}

static void span_release(sl_span *s)
{
    if (s->name != s->name_inline) {
        sl__free(s->name);
    }
    span_cache *c = &tl_cache;
    if (c->count >= FREE_LIST_MAX) {
        sl__free(s);
        return;
    }
    if (!tl_cache_registered) {
        /* Only keep spans when they will be freed at thread exit. */
        pthread_once(&key_once, make_key);
        if (!key_ok || pthread_setspecific(cache_key, c) != 0) {
            sl__free(s);
            return;
        }
        tl_cache_registered = 1;
    }
    s->next_free = c->head;
    c->head = s;
    c->count++;
}

static int set_name(sl_span *s, const char *name)
{
    if (name == NULL) {
        name = "";
    }
    size_t n = strlen(name);
    if (n < NAME_INLINE) {
        memcpy(s->name_inline, name, n + 1);
        s->name = s->name_inline;
        return 0;
    }
    s->name = sl__malloc(n + 1);
    if (s->name == NULL) {
        return -1;
    }
    memcpy(s->name, name, n + 1);
    return 0;
}

sl_span *sl_span_start_with_parent(const char *name, sl_span_kind kind,
                                   const sl_span_context *parent)
{
    sl_span *s = span_alloc();
    if (s == NULL) {
        return NULL;
    }
    if (set_name(s, name) != 0) {
        s->name = s->name_inline;
        span_release(s);
        return NULL;
    }
    s->kind = kind;
    if (sl_span_context_is_valid(parent)) {
        /* A child: same trace, its parent's flags and tracestate. */
        sl__span_context_copy(&s->ctx, parent);
    } else {
        /* A root: our ids are random, so say so (Trace Context level 2). */
        s->ctx.trace_id = sl_trace_id_random();
        s->ctx.flags = SL_TRACE_FLAG_SAMPLED | SL_TRACE_FLAG_RANDOM;
        s->ctx.tracestate_len = 0;
        s->ctx.tracestate[0] = '\0';
    }
    s->ctx.span_id = sl_span_id_random();
    s->ctx.remote = 0;
    if (sl_context_attach(&s->ctx, &s->token) != SL_OK) {
        /* Stack full or out of memory: the span still has ids and can be
         * ended; it just does not become current (token 0 detaches nothing). */
        s->token.id = 0;
    }
    return s;
}

sl_span *sl_span_start(const char *name, sl_span_kind kind)
{
    return sl_span_start_with_parent(name, kind, sl_context_current());
}

void sl_span_end(sl_span *span)
{
    if (span == NULL) {
        return;
    }
    if (span->token.id != 0) {
        (void)sl_context_detach(span->token);
    }
    span_release(span);
}

const sl_span_context *sl_span_get_context(const sl_span *span)
{
    return span ? &span->ctx : NULL;
}
