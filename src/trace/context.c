/*
 * context.c - the per-thread stack of current span contexts.
 *
 * Each thread that attaches gets a heap stack, grown on demand up to
 * SL_CONTEXT_MAX_DEPTH entries and freed by a pthread key destructor when the
 * thread exits. (An entry is ~570 bytes; a static thread-local array of 256
 * would put 145 KiB of TLS in every thread of the process.)
 *
 *   tl_current ──────────────────────────┐
 *   tl_stack ─▶ items: [ e0 ][ e1 ][ e2 ] ◀ top (ctx valid? tl_current = &e2.ctx)
 *
 * The logger reads the current context on every record, so the answer is
 * cached in tl_current: one thread-local load, NULL when the stack is empty
 * or its top is invalid. Attach and detach keep it up to date.
 *
 * Each entry also holds a reference to the baggage current with it: baggage
 * belongs to the context, so it follows attach, detach and hand-off. An
 * attach of a span context keeps the baggage of the entry below.
 *
 * Tokens are (thread serial << 32 | per-thread push counter): unique per
 * thread and push, so a token from another thread, an out-of-order detach
 * or a second detach of the same token never matches the top.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "trace/trace_internal.h"

#define INITIAL_CAP 8

typedef struct entry {
    sl_span_context ctx;
    uint64_t token;
    sl_baggage *baggage; /* a reference held by the entry; NULL: none */
    int valid;           /* sl__ctx_valid(&ctx), decided at push */
} entry;

typedef struct ctx_stack {
    entry *items;
    uint32_t depth;
    uint32_t cap;
    uint64_t serial;  /* this thread's token prefix, never 0 */
    uint32_t counter; /* pushes so far (wraps, skipping 0) */
} ctx_stack;

static SL__TLS ctx_stack *tl_stack;
static SL__TLS const sl_span_context *tl_current;
static SL__TLS const sl_baggage *tl_baggage;

static atomic_uint_fast64_t next_serial = 1;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t stack_key;
static int key_ok;

static void stack_destroy(void *p)
{
    ctx_stack *s = p;
    if (s == NULL) {
        return;
    }
    if (tl_stack == s) {
        tl_stack = NULL;
        tl_current = NULL;
        tl_baggage = NULL;
    }
    for (uint32_t i = 0; i < s->depth; i++) {
        sl_baggage_free(s->items[i].baggage);
    }
    sl__free(s->items);
    sl__free(s);
}

static void make_key(void)
{
    key_ok = pthread_key_create(&stack_key, stack_destroy) == 0;
}

static ctx_stack *stack_get(void)
{
    ctx_stack *s = tl_stack;
    if (s != NULL) {
        return s;
    }
    pthread_once(&key_once, make_key);
    s = sl__calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->serial = atomic_fetch_add_explicit(&next_serial, 1, memory_order_relaxed);
    /* Without the key the stack leaks at thread exit; it still works. */
    if (key_ok) {
        (void)pthread_setspecific(stack_key, s);
    }
    tl_stack = s;
    return s;
}

static void refresh_current(const ctx_stack *s)
{
    if (s->depth == 0) {
        tl_current = NULL;
        tl_baggage = NULL;
        return;
    }
    const entry *top = &s->items[s->depth - 1];
    tl_current = top->valid ? &top->ctx : NULL;
    tl_baggage = top->baggage;
}

/*
 * Pushes ctx (NULL: the current top's context, or an empty one) with a new
 * reference to bag (inherit: the current top's baggage instead).
 */
static sl_status push(const sl_span_context *ctx, const sl_baggage *bag, int inherit,
                      sl_context_token *token)
{
    if (token != NULL) {
        token->id = 0; /* a failed attach hands out a token no detach accepts */
    }
    if (token == NULL) {
        return SL_EINVAL;
    }
    ctx_stack *s = stack_get();
    if (s == NULL) {
        return SL_ENOMEM;
    }
    if (s->depth >= SL_CONTEXT_MAX_DEPTH) {
        return SL_ERANGE;
    }
    if (s->depth == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : INITIAL_CAP;
        if (cap > SL_CONTEXT_MAX_DEPTH) {
            cap = SL_CONTEXT_MAX_DEPTH;
        }
        entry *items = sl__realloc(s->items, (size_t)cap * sizeof *items);
        if (items == NULL) {
            return SL_ENOMEM;
        }
        s->items = items;
        s->cap = cap;
        refresh_current(s); /* the old top may have moved */
    }
    const entry *below = s->depth ? &s->items[s->depth - 1] : NULL;
    if (inherit) {
        bag = below ? below->baggage : NULL;
    }
    if (++s->counter == 0) {
        s->counter = 1;
    }
    entry *e = &s->items[s->depth];
    /* Validity is read from the source, not from the copy just stored:
     * loads over fresh stores of another width are not forwarded. */
    int valid = 0;
    if (ctx != NULL) {
        valid = sl__ctx_valid(ctx);
        sl__span_context_copy(&e->ctx, ctx);
    } else if (below != NULL) {
        valid = below->valid;
        sl__span_context_copy(&e->ctx, &below->ctx);
    } else {
        memset(&e->ctx, 0, offsetof(sl_span_context, tracestate) + 1);
    }
    e->baggage = bag != NULL ? sl_baggage_ref(bag) : NULL;
    e->valid = valid;
    e->token = (s->serial << 32) | s->counter;
    s->depth++;
    token->id = e->token;
    tl_current = valid ? &e->ctx : NULL;
    tl_baggage = e->baggage;
    return SL_OK;
}

sl_status sl_context_attach(const sl_span_context *ctx, sl_context_token *token)
{
    if (ctx == NULL) {
        if (token != NULL) {
            token->id = 0;
        }
        return SL_EINVAL;
    }
    return push(ctx, NULL, 1, token);
}

sl_status sl_context_attach_with(const sl_span_context *ctx, const sl_baggage *b,
                                 sl_context_token *token)
{
    if (ctx == NULL) {
        if (token != NULL) {
            token->id = 0;
        }
        return SL_EINVAL;
    }
    return push(ctx, b, 0, token);
}

sl_status sl_baggage_attach(const sl_baggage *b, sl_context_token *token)
{
    return push(NULL, b, 0, token);
}

static void pop(ctx_stack *s)
{
    entry *e = &s->items[--s->depth];
    sl_baggage *bag = e->baggage;
    e->baggage = NULL;
    refresh_current(s);
    /* Freed after the caches are updated: a last reference going away must
     * never leave tl_baggage pointing at freed memory. */
    if (bag != NULL) {
        sl_baggage_free(bag);
    }
}

int sl__context_pop_to(uint64_t token)
{
    ctx_stack *s = tl_stack;
    if (s == NULL || token == 0) {
        return 0;
    }
    if (s->depth > 0 && s->items[s->depth - 1].token == token) {
        pop(s); /* the usual case: the span is the top */
        return 1;
    }
    for (uint32_t i = s->depth; i-- > 0;) {
        if (s->items[i].token == token) {
            int popped = 0;
            while (s->depth > i) {
                pop(s);
                popped++;
            }
            return popped;
        }
    }
    return 0;
}

sl_status sl_context_detach(sl_context_token token)
{
    ctx_stack *s = tl_stack;
    if (s == NULL || s->depth == 0 || token.id == 0 ||
        s->items[s->depth - 1].token != token.id) {
        return SL_ESTATE;
    }
    pop(s);
    return SL_OK;
}

const sl_span_context *sl_context_current(void)
{
    return tl_current;
}

const sl_span_context *sl__context_current(void)
{
    return tl_current;
}

size_t sl_context_depth(void)
{
    const ctx_stack *s = tl_stack;
    return s ? s->depth : 0;
}

const sl_baggage *sl_baggage_current(void)
{
    return tl_baggage;
}

const sl_baggage *sl__baggage_current(void)
{
    return tl_baggage;
}
