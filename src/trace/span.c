/*
 * span.c - the span lifecycle: start (sampling, ids, attach), recording
 * (attributes, events, status) and end (detach, report).
 *
 * Start and end sit on hot paths (a span per request, per downstream
 * call), so span objects are recycled through a per-thread FIFO instead of
 * a malloc/free pair each. The FIFO doubles as a quarantine: an ended span
 * is only reused after SL_SPAN_QUARANTINE newer ones, so a second
 * sl_span_end() on it still finds it marked ended (span.h, "misuse").
 *
 * Handles. A `sl_span *` is not an address but a handle: the span's slot
 * index and the generation it was started with,
 *
 *     63            32 31             0
 *    ┌────────────────┬────────────────┐
 *    │ word at start  │   index + 1    │      word: odd while live,
 *    └────────────────┴────────────────┘      incremented at start and at end
 *
 * Span objects live in chunks that are never freed (a thread that exits
 * gives its spans to a global lock-free free list, not back to malloc), so
 * any handle, however stale, can be looked up without a memory error, and
 * its generation compared with the slot's: a second end, or an end with a
 * handle from before the slot was reused, is recognised and touches no
 * other span. Memory stays at the peak number of spans alive at once.
 *
 * An unsampled span is only a context: no clock read, no name copy, no
 * arena. A sampled span copies its strings into a small arena: an inline
 * block first, then heap blocks that are freed when the span is recycled.
 * Strings never move once copied, so the sl_field views handed to
 * processors point straight into it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "trace/trace_internal.h"

#define ARENA_INLINE 256
#define CACHE_MAX    (2 * SL_SPAN_QUARANTINE)

#define CHUNK_SHIFT 8 /* 256 spans per chunk */
#define CHUNK_SPANS (1u << CHUNK_SHIFT)
#define MAX_CHUNKS  4096 /* at most 1M spans alive at once */

_Static_assert(sizeof(uintptr_t) >= 8, "span handles need 64-bit pointers");

typedef struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    /* data follows */
} arena_block;

struct sl_span {
    sl_span_context ctx;
    uint64_t token;             /* the context entry pushed at start; 0: none */
    const void *owner;          /* identifies the starting thread (a TLS address) */
    atomic_uint_least32_t word; /* generation: odd while live (see above) */
    uint32_t index;             /* slot number */
    atomic_uint_least32_t next_global; /* global free list: index + 1, 0: end */
    int recording;
    sl_span_kind kind;
    sl_span_id parent_span_id;
    int parent_remote;
    int64_t start_ns;
    sl_span_status_code status;
    const char *status_message;
    const char *name;
    /* attributes and events: allocated on first use, kept across reuse */
    sl_field *attrs;
    uint32_t nattrs, dropped_attrs;
    sl_span_event_data *events;
    uint32_t nevents, dropped_events;
    sl_span_link_data *links;
    uint32_t nlinks, dropped_links;
    /* arena */
    arena_block *blocks;
    size_t inline_used;
    _Alignas(max_align_t) char inline_buf[ARENA_INLINE];
    struct sl_span *next_free;
};

/* ---- slots and handles --------------------------------------------------- */

static _Atomic(sl_span *) chunks[MAX_CHUNKS];
static atomic_uint_least32_t slots_used;
/* Treiber stack of free slots: (tag << 32) | (index + 1); the tag defeats ABA. */
static atomic_uint_least64_t global_free;

static sl_span *slot_at(uint32_t index)
{
    sl_span *c =
        atomic_load_explicit(&chunks[index >> CHUNK_SHIFT], memory_order_acquire);
    return c != NULL ? &c[index & (CHUNK_SPANS - 1)] : NULL;
}

static sl_span *handle_of(const sl_span *s, uint32_t word)
{
    return (sl_span *)(uintptr_t)(((uint64_t)word << 32) | ((uint64_t)s->index + 1));
}

/* The slot a handle names and the generation it carries; NULL when none. */
static sl_span *slot_of(const sl_span *h, uint32_t *word)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    uint32_t low = (uint32_t)v;
    *word = (uint32_t)(v >> 32);
    if (low == 0 || low - 1 >= atomic_load_explicit(&slots_used, memory_order_acquire)) {
        return NULL;
    }
    return slot_at(low - 1);
}

/* The span a handle names when it is live and of that generation, else NULL. */
static sl_span *live_span(const sl_span *h)
{
    uint32_t word;
    sl_span *s = slot_of(h, &word);
    if (s == NULL || (word & 1u) == 0 ||
        atomic_load_explicit(&s->word, memory_order_acquire) != word) {
        return NULL;
    }
    return s;
}

static void global_push(sl_span *s)
{
    uint64_t head = atomic_load_explicit(&global_free, memory_order_relaxed);
    uint64_t next;
    do {
        atomic_store_explicit(&s->next_global, (uint32_t)head, memory_order_relaxed);
        next = (((head >> 32) + 1) << 32) | ((uint64_t)s->index + 1);
    } while (!atomic_compare_exchange_weak_explicit(
        &global_free, &head, next, memory_order_release, memory_order_relaxed));
}

static sl_span *global_pop(void)
{
    uint64_t head = atomic_load_explicit(&global_free, memory_order_acquire);
    for (;;) {
        uint32_t low = (uint32_t)head;
        if (low == 0) {
            return NULL;
        }
        sl_span *s = slot_at(low - 1);
        uint32_t after = atomic_load_explicit(&s->next_global, memory_order_relaxed);
        uint64_t next = (((head >> 32) + 1) << 32) | after;
        if (atomic_compare_exchange_weak_explicit(
                &global_free, &head, next, memory_order_acquire, memory_order_acquire)) {
            return s;
        }
    }
}

/* A slot never used before; NULL when memory or the table runs out. */
static sl_span *slot_new(void)
{
    uint32_t index = atomic_fetch_add_explicit(&slots_used, 0, memory_order_relaxed);
    do {
        if (index >= MAX_CHUNKS * CHUNK_SPANS) {
            return NULL;
        }
        uint32_t c = index >> CHUNK_SHIFT;
        if (atomic_load_explicit(&chunks[c], memory_order_acquire) == NULL) {
            sl_span *fresh = sl__calloc(CHUNK_SPANS, sizeof(sl_span));
            if (fresh == NULL) {
                return NULL;
            }
            for (uint32_t i = 0; i < CHUNK_SPANS; i++) {
                fresh[i].index = c * CHUNK_SPANS + i;
            }
            sl_span *expected = NULL;
            if (!atomic_compare_exchange_strong_explicit(&chunks[c], &expected, fresh,
                                                         memory_order_acq_rel,
                                                         memory_order_acquire)) {
                sl__free(fresh); /* another thread made it */
            }
        }
    } while (!atomic_compare_exchange_weak_explicit(
        &slots_used, &index, index + 1, memory_order_acq_rel, memory_order_relaxed));
    return slot_at(index);
}

/* ---- per-thread recycling ---------------------------------------------- */

typedef struct span_cache {
    sl_span *head, *tail;
    unsigned count;
    int registered;
} span_cache;

static SL__TLS span_cache tl_cache;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static int key_ok;
static atomic_uint_fast64_t double_ends;

/* Gives a slot to the global free list; what it allocated goes back now. */
static void span_retire(sl_span *s)
{
    sl__free(s->attrs);
    sl__free(s->events);
    sl__free(s->links);
    s->attrs = NULL;
    s->events = NULL;
    s->links = NULL;
    global_push(s);
}

static void cache_destroy(void *p)
{
    span_cache *c = p;
    while (c->head != NULL) {
        sl_span *s = c->head;
        c->head = s->next_free;
        span_retire(s);
    }
    c->tail = NULL;
    c->count = 0;
    c->registered = 0;
}

static void make_key(void)
{
    key_ok = pthread_key_create(&cache_key, cache_destroy) == 0;
}

static sl_span *span_alloc(void)
{
    span_cache *c = &tl_cache;
    if (c->count > SL_SPAN_QUARANTINE) {
        sl_span *s = c->head;
        c->head = s->next_free;
        if (c->head == NULL) {
            c->tail = NULL;
        }
        c->count--;
        return s;
    }
    sl_span *s = global_pop();
    return s != NULL ? s : slot_new();
}

static void arena_reset(sl_span *s)
{
    while (s->blocks != NULL) {
        arena_block *b = s->blocks;
        s->blocks = b->next;
        sl__free(b);
    }
    s->inline_used = 0;
}

/* Puts an ended span at the tail of the calling thread's FIFO. */
static void span_release(sl_span *s)
{
    arena_reset(s);
    span_cache *c = &tl_cache;
    if (!c->registered) {
        /* Keep spans only when they will be handed back at thread exit. */
        pthread_once(&key_once, make_key);
        if (!key_ok || pthread_setspecific(cache_key, c) != 0) {
            span_retire(s);
            return;
        }
        c->registered = 1;
    }
    s->next_free = NULL;
    if (c->tail != NULL) {
        c->tail->next_free = s;
    } else {
        c->head = s;
    }
    c->tail = s;
    c->count++;
    if (c->count > CACHE_MAX) {
        sl_span *old = c->head;
        c->head = old->next_free;
        c->count--;
        span_retire(old);
    }
}

/* ---- arena ------------------------------------------------------------- */

static void *arena_alloc(sl_span *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (ARENA_INLINE - s->inline_used >= n) {
        void *p = s->inline_buf + s->inline_used;
        s->inline_used += n;
        return p;
    }
    arena_block *b = s->blocks;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 1024 ? n : 1024;
        b = sl__malloc(sizeof(arena_block) + 16 + cap);
        if (b == NULL) {
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        b->next = s->blocks;
        s->blocks = b;
    }
    char *data = (char *)b + ((sizeof(arena_block) + 15) & ~(size_t)15);
    void *p = data + b->used;
    b->used += n;
    return p;
}

static const char *arena_strndup(sl_span *s, const char *str, size_t n)
{
    char *p = arena_alloc(s, n + 1);
    if (p != NULL) {
        memcpy(p, str, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- start ------------------------------------------------------------- */

sl_span *sl_span_start_with_parent(const char *name, sl_span_kind kind,
                                   const sl_span_context *parent)
{
    sl_span *s = span_alloc();
    if (s == NULL) {
        return NULL;
    }
    uint8_t base_flags;
    if (sl__ctx_valid(parent)) {
        /* A child: same trace, its parent's flags (random included) and
         * tracestate. */
        sl__span_context_copy(&s->ctx, parent);
        s->parent_span_id = parent->span_id;
        s->parent_remote = parent->remote != 0;
        base_flags = parent->flags;
    } else {
        /* A root: our ids are random, so say so (Trace Context level 2). */
        s->ctx.trace_id = sl_trace_id_random();
        s->ctx.tracestate_len = 0;
        s->ctx.tracestate[0] = '\0';
        memset(&s->parent_span_id, 0, sizeof s->parent_span_id);
        s->parent_remote = 0;
        base_flags = SL_TRACE_FLAG_RANDOM;
        parent = NULL;
    }
    int sampled = sl__sampler_decide(parent, s->ctx.trace_id);
    s->ctx.flags = (uint8_t)((base_flags & ~SL_TRACE_FLAG_SAMPLED) |
                             (sampled ? SL_TRACE_FLAG_SAMPLED : 0));
    s->ctx.span_id = sl_span_id_random();
    s->ctx.remote = 0;
    s->kind = kind;
    s->owner = &tl_cache;
    s->recording = sampled;
    s->blocks = NULL;
    s->inline_used = 0;
    s->nattrs = s->dropped_attrs = 0;
    s->nevents = s->dropped_events = 0;
    s->nlinks = s->dropped_links = 0;
    s->status = SL_SPAN_STATUS_UNSET;
    s->status_message = "";
    s->name = "";
    if (sampled) {
        s->start_ns = sl__now_ns();
        const char *n = arena_strndup(s, name ? name : "", name ? strlen(name) : 0);
        if (n == NULL) {
            arena_reset(s);
            span_release(s);
            return NULL;
        }
        s->name = n;
    } else {
        s->start_ns = 0;
    }
    /* Ended (even) to live (odd): a new generation. Release, so that another
     * thread that sees the word also sees the span's fields. */
    uint32_t word = atomic_load_explicit(&s->word, memory_order_relaxed) + 1;
    atomic_store_explicit(&s->word, word, memory_order_release);
    sl_context_token tok;
    /* Stack full or out of memory: the span still has ids and can be ended;
     * it just does not become current. */
    s->token = sl_context_attach(&s->ctx, &tok) == SL_OK ? tok.id : 0;
    return handle_of(s, word);
}

sl_span *sl_span_start(const char *name, sl_span_kind kind)
{
    return sl_span_start_with_parent(name, kind, sl_context_current());
}

const sl_span_context *sl_span_get_context(const sl_span *span)
{
    const sl_span *s = live_span(span);
    return s ? &s->ctx : NULL;
}

/* ---- recording ----------------------------------------------------------- */

/* The span behind handle h when it is live and recording, else NULL. */
static sl_span *live_recording(const sl_span *h)
{
    sl_span *s = live_span(h);
    return s != NULL && s->recording ? s : NULL;
}

int sl_span_is_recording(const sl_span *span)
{
    return live_recording(span) != NULL;
}

/* An attribute needs a non-empty key and a string, number or bool value. */
static int attr_ok(const sl_field *f)
{
    sl_field_type t = f->type;
    return f->key != NULL && f->key[0] != '\0' &&
           (t == SL_FIELD_STR || t == SL_FIELD_INT || t == SL_FIELD_UINT ||
            t == SL_FIELD_DOUBLE || t == SL_FIELD_BOOL);
}

/* Copies f into *dst, strings into the arena. */
static sl_status copy_field(sl_span *s, sl_field *dst, const sl_field *f, const char *key)
{
    *dst = *f;
    dst->key = key;
    if (f->type == SL_FIELD_STR) {
        const char *v = f->v.s ? f->v.s : "";
        size_t n = f->v.s ? (f->len == SL_NPOS ? strlen(v) : f->len) : 0;
        const char *c = arena_strndup(s, v, n);
        if (c == NULL) {
            return SL_ENOMEM;
        }
        dst->v.s = c;
        dst->len = n;
    }
    return SL_OK;
}

sl_status sl_span_set_attributes(sl_span *span, const sl_field *attrs, size_t n)
{
    span = live_recording(span);
    if (span == NULL) {
        return SL_OK;
    }
    if (attrs == NULL && n > 0) {
        return SL_EINVAL;
    }
    sl_status st = SL_OK;
    for (size_t i = 0; i < n; i++) {
        const sl_field *f = &attrs[i];
        if (!attr_ok(f)) {
            st = SL_EINVAL;
            continue;
        }
        sl_field *slot = NULL;
        for (uint32_t k = 0; k < span->nattrs; k++) {
            if (strcmp(span->attrs[k].key, f->key) == 0) {
                slot = &span->attrs[k];
                break;
            }
        }
        if (slot != NULL) {
            sl_status r = copy_field(span, slot, f, slot->key);
            if (r != SL_OK) {
                st = r;
            }
            continue;
        }
        if (span->nattrs == SL_SPAN_MAX_ATTRIBUTES) {
            span->dropped_attrs++;
            if (st == SL_OK) {
                st = SL_ERANGE;
            }
            continue;
        }
        if (span->attrs == NULL) {
            span->attrs = sl__malloc(SL_SPAN_MAX_ATTRIBUTES * sizeof(sl_field));
            if (span->attrs == NULL) {
                return SL_ENOMEM;
            }
        }
        const char *key = arena_strndup(span, f->key, strlen(f->key));
        sl_field tmp;
        if (key == NULL || copy_field(span, &tmp, f, key) != SL_OK) {
            st = SL_ENOMEM;
            continue;
        }
        span->attrs[span->nattrs++] = tmp;
    }
    return st;
}

/* Copies up to `keep` valid attributes of attrs[0..n) into the arena: *out
 * and *used; the valid ones past `keep` are counted in *dropped. */
static sl_status copy_attr_list(sl_span *span, const sl_field *attrs, size_t n,
                                size_t keep, const sl_field **out, size_t *used,
                                uint32_t *dropped)
{
    sl_field *fa = keep ? arena_alloc(span, keep * sizeof(sl_field)) : NULL;
    if (keep && fa == NULL) {
        return SL_ENOMEM;
    }
    size_t k = 0;
    sl_status st = SL_OK;
    for (size_t i = 0; i < n; i++) {
        const sl_field *f = &attrs[i];
        if (!attr_ok(f)) {
            st = SL_EINVAL;
            continue;
        }
        if (k == keep) {
            (*dropped)++;
            continue;
        }
        const char *key = arena_strndup(span, f->key, strlen(f->key));
        if (key == NULL || copy_field(span, &fa[k], f, key) != SL_OK) {
            return SL_ENOMEM;
        }
        k++;
    }
    *out = fa;
    *used = k;
    return st;
}

sl_status sl_span_add_event(sl_span *span, const char *name, const sl_field *attrs,
                            size_t n)
{
    span = live_recording(span);
    if (span == NULL) {
        return SL_OK;
    }
    if (attrs == NULL && n > 0) {
        return SL_EINVAL;
    }
    if (span->nevents == SL_SPAN_MAX_EVENTS) {
        span->dropped_events++;
        return SL_ERANGE;
    }
    if (span->events == NULL) {
        span->events = sl__malloc(SL_SPAN_MAX_EVENTS * sizeof(sl_span_event_data));
        if (span->events == NULL) {
            return SL_ENOMEM;
        }
    }
    sl_span_event_data ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ns = sl__now_ns();
    ev.name = arena_strndup(span, name ? name : "", name ? strlen(name) : 0);
    if (ev.name == NULL) {
        return SL_ENOMEM;
    }
    size_t keep = n < SL_SPAN_MAX_EVENT_ATTRIBUTES ? n : SL_SPAN_MAX_EVENT_ATTRIBUTES;
    sl_status st = copy_attr_list(span, attrs, n, keep, &ev.attributes,
                                  &ev.attribute_count, &ev.dropped_attributes);
    if (st == SL_ENOMEM) {
        return st;
    }
    span->events[span->nevents++] = ev;
    return st;
}

sl_status sl_span_add_link(sl_span *span, const sl_span_context *ctx,
                           const sl_field *attrs, size_t n)
{
    span = live_recording(span);
    if (span == NULL) {
        return SL_OK;
    }
    if (!sl__ctx_valid(ctx) || (attrs == NULL && n > 0)) {
        return SL_EINVAL;
    }
    if (span->nlinks == SL_SPAN_MAX_LINKS) {
        span->dropped_links++;
        return SL_ERANGE;
    }
    if (span->links == NULL) {
        span->links = sl__malloc(SL_SPAN_MAX_LINKS * sizeof(sl_span_link_data));
        if (span->links == NULL) {
            return SL_ENOMEM;
        }
    }
    sl_span_link_data ln;
    memset(&ln, 0, sizeof ln);
    ln.trace_id = ctx->trace_id;
    ln.span_id = ctx->span_id;
    ln.flags = ctx->flags;
    ln.remote = ctx->remote != 0;
    size_t tsn = ctx->tracestate_len <= SL_TRACESTATE_MAX ? ctx->tracestate_len : 0;
    ln.tracestate = arena_strndup(span, ctx->tracestate, tsn);
    if (ln.tracestate == NULL) {
        return SL_ENOMEM;
    }
    size_t keep = n < SL_SPAN_MAX_EVENT_ATTRIBUTES ? n : SL_SPAN_MAX_EVENT_ATTRIBUTES;
    sl_status st = copy_attr_list(span, attrs, n, keep, &ln.attributes,
                                  &ln.attribute_count, &ln.dropped_attributes);
    if (st == SL_ENOMEM) {
        return st;
    }
    span->links[span->nlinks++] = ln;
    return st;
}

sl_status sl_span_set_status(sl_span *span, sl_span_status_code code, const char *message)
{
    if (code != SL_SPAN_STATUS_UNSET && code != SL_SPAN_STATUS_OK &&
        code != SL_SPAN_STATUS_ERROR) {
        return SL_EINVAL;
    }
    span = live_recording(span);
    if (span == NULL || span->status == SL_SPAN_STATUS_OK ||
        code == SL_SPAN_STATUS_UNSET) {
        return SL_OK;
    }
    span->status = code;
    span->status_message = "";
    if (code == SL_SPAN_STATUS_ERROR && message != NULL) {
        const char *m = arena_strndup(span, message, strlen(message));
        if (m == NULL) {
            return SL_ENOMEM;
        }
        span->status_message = m;
    }
    return SL_OK;
}

sl_status sl_span_record_error(sl_span *span, const char *type, const char *message)
{
    sl_field f[2];
    size_t n = 0;
    if (type != NULL) {
        f[n++] = SL_STR("exception.type", type);
    }
    f[n++] = SL_STR("exception.message", message ? message : "");
    return sl_span_add_event(span, "exception", f, n);
}

sl_status sl_span_record_errno(sl_span *span, int err)
{
    if (live_recording(span) == NULL) {
        return SL_OK;
    }
    char type[32];
    const char *name = strerrorname_np(err);
    if (name == NULL) {
        snprintf(type, sizeof type, "errno %d", err);
        name = type;
    }
    char msg[256];
    const char *text = strerror_r(err, msg, sizeof msg); /* GNU variant */
    sl_field f[3] = {SL_STR("exception.type", name), SL_STR("exception.message", text),
                     SL_INT("errno", err)};
    return sl_span_add_event(span, "exception", f, 3);
}

/* ---- end ------------------------------------------------------------------ */

void sl_span_end(sl_span *handle)
{
    if (handle == NULL) {
        return;
    }
    uint32_t word;
    sl_span *span = slot_of(handle, &word);
    if (span == NULL || (word & 1u) == 0) {
        atomic_fetch_add_explicit(&double_ends, 1, memory_order_relaxed);
        return; /* never a handle spanlog gave out */
    }
    /* owner is read only once the generation matched (a stale handle's slot
     * may be in use by another thread). */
    if (atomic_load_explicit(&span->word, memory_order_acquire) != word) {
        atomic_fetch_add_explicit(&double_ends, 1, memory_order_relaxed);
        return;
    }
    int other_thread = span->owner != (const void *)&tl_cache;
    if (!other_thread) {
        /* The usual case: ended where it started. A locked compare-and-swap
         * here drained the store buffer start had just filled (45 % of a
         * start+end loop); a plain check suffices, since a span is ended by
         * one thread at a time (trace.h) and a second end on this thread
         * comes after this store. */
        atomic_store_explicit(&span->word, word + 1, memory_order_relaxed);
    } else {
        uint32_t expected = word;
        if (!atomic_compare_exchange_strong_explicit(&span->word, &expected, word + 1,
                                                     memory_order_acq_rel,
                                                     memory_order_relaxed)) {
            atomic_fetch_add_explicit(&double_ends, 1, memory_order_relaxed);
            return;
        }
    }
    if (!other_thread && span->token != 0) {
        /* Pops this span and anything still attached above it. */
        (void)sl__context_pop_to(span->token);
    }
    if (span->recording) {
        sl_span_data d;
        d.name = span->name;
        d.kind = span->kind;
        d.context = &span->ctx;
        d.parent_span_id = span->parent_span_id;
        d.parent_remote = span->parent_remote;
        d.start_ns = span->start_ns;
        d.end_ns = sl__now_ns();
        d.status = span->status;
        d.status_message = span->status_message;
        d.attributes = span->attrs;
        d.attribute_count = span->nattrs;
        d.dropped_attributes = span->dropped_attrs;
        d.events = span->events;
        d.event_count = span->nevents;
        d.dropped_events = span->dropped_events;
        d.links = span->links;
        d.link_count = span->nlinks;
        d.dropped_links = span->dropped_links;
        d.ended_on_other_thread = other_thread;
        sl__span_report(&d);
    }
    span_release(span);
}

uint64_t sl_span_double_end_count(void)
{
    return atomic_load_explicit(&double_ends, memory_order_relaxed);
}
