/*
 * ring.c - the delivery runtime's bounded byte ring between logging threads
 * and the worker (moved here from the Loki sink, now shared by every sink).
 *
 * One allocation, made when the sink is created; records are copied into
 * contiguous slots, so the caller's thread never allocates. The ring is
 * rewound to offset 0 whenever it becomes empty, so a lightly loaded sink
 * only ever touches the first pages of its (lazily backed) buffer.
 *
 *   0                                                         cap
 *   [ free ........ | head: slot | slot | slot | tail: free | skip ]
 *
 * A slot that does not fit between tail and cap starts at 0 instead; the
 * bytes between tail and cap are then "skipped" and stay counted in `used`
 * until the reader passes them. A skip is marked in the ring by a slot
 * header with size 0 (or implied when fewer than a header's bytes remain).
 * Not thread-safe: the sink holds its lock around every call.
 */
#include <string.h>

#include "deliver/ring.h"

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

sl_status sl__ring_init(sl__ring *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    cap &= ~(size_t)7u;
    r->buf = sl__malloc(cap);
    if (r->buf == NULL) {
        return SL_ENOMEM;
    }
    r->cap = cap;
    return SL_OK;
}

void sl__ring_free(sl__ring *r)
{
    sl__free(r->buf);
    memset(r, 0, sizeof(*r));
}

void sl__ring_clear(sl__ring *r)
{
    r->head = r->tail = r->used = 0;
    r->records = 0;
    r->weight = 0;
}

size_t sl__ring_slot_size(size_t len)
{
    return ALIGN8(sizeof(sl__ring_slot) + len);
}

sl__ring_slot *sl__ring_reserve(sl__ring *r, size_t size)
{
    if (size > r->cap || size < sizeof(sl__ring_slot)) {
        return NULL;
    }
    if (r->used == 0) {
        r->head = r->tail = 0;
    }
    size_t at;
    if (r->used == 0 || r->tail > r->head) {
        /* Data in [head, tail): free space at the end, then before head. */
        if (r->cap - r->tail >= size) {
            at = r->tail;
        } else if (r->head >= size && r->used > 0) {
            at = 0;
        } else {
            return NULL;
        }
    } else {
        /* Wrapped: data in [head, cap) and [0, tail); free is [tail, head). */
        if (r->head - r->tail >= size) {
            at = r->tail;
        } else {
            return NULL;
        }
    }
    sl__ring_slot *s = (sl__ring_slot *)(void *)(r->buf + at);
    s->size = (uint32_t)size;
    return s;
}

void sl__ring_commit(sl__ring *r, sl__ring_slot *s)
{
    size_t at = (size_t)((char *)s - r->buf);
    if (at != r->tail) {
        /* Wrapped to 0: mark the skipped end so the reader jumps over it. */
        size_t skip = r->cap - r->tail;
        if (skip >= sizeof(sl__ring_slot)) {
            ((sl__ring_slot *)(void *)(r->buf + r->tail))->size = 0;
        }
        r->used += skip;
    }
    r->tail = at + s->size;
    r->used += s->size;
    r->records++;
    r->weight += s->weight;
}

/* Moves head past a skipped end, if it is at one. */
static void skip_end(sl__ring *r)
{
    size_t rest = r->cap - r->head;
    if (r->used > 0 && (rest < sizeof(sl__ring_slot) ||
                        ((sl__ring_slot *)(void *)(r->buf + r->head))->size == 0)) {
        r->used -= rest;
        r->head = 0;
    }
}

sl__ring_slot *sl__ring_peek(sl__ring *r)
{
    if (r->records == 0) {
        return NULL;
    }
    skip_end(r);
    return (sl__ring_slot *)(void *)(r->buf + r->head);
}

void sl__ring_pop(sl__ring *r)
{
    sl__ring_slot *s = sl__ring_peek(r);
    if (s == NULL) {
        return;
    }
    r->head += s->size;
    r->used -= s->size;
    r->records--;
    r->weight -= s->weight;
    if (r->records == 0) {
        /* Anything left is a skipped end: the ring is empty, rewind it. */
        r->head = r->tail = r->used = 0;
    } else if (r->head == r->cap) {
        r->head = 0;
    }
}
