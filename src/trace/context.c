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
} entry;

typedef struct ctx_stack {
    entry *items;
    uint32_t depth;
    uint32_t cap;
    uint64_t serial;  /* this thread's token prefix, never 0 */
    uint32_t counter; /* pushes so far (wraps, skipping 0) */
} ctx_stack;

static _Thread_local ctx_stack *tl_stack;
static _Thread_local const sl_span_context *tl_current;

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
        return;
    }
    const sl_span_context *top = &s->items[s->depth - 1].ctx;
    tl_current = sl_span_context_is_valid(top) ? top : NULL;
}

sl_status sl_context_attach(const sl_span_context *ctx, sl_context_token *token)
{
    if (token != NULL) {
        token->id = 0; /* a failed attach hands out a token no detach accepts */
    }
    if (ctx == NULL || token == NULL) {
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
    if (++s->counter == 0) {
        s->counter = 1;
    }
    entry *e = &s->items[s->depth++];
    sl__span_context_copy(&e->ctx, ctx);
    e->token = (s->serial << 32) | s->counter;
    token->id = e->token;
    tl_current = sl_span_context_is_valid(&e->ctx) ? &e->ctx : NULL;
    return SL_OK;
}

sl_status sl_context_detach(sl_context_token token)
{
    ctx_stack *s = tl_stack;
    if (s == NULL || s->depth == 0 || token.id == 0 ||
        s->items[s->depth - 1].token != token.id) {
        return SL_ESTATE;
    }
    s->depth--;
    refresh_current(s);
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
