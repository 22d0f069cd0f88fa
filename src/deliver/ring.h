/*
 * ring.h - the runtime's bounded byte ring (ring.c), shared with its tests.
 *
 * One allocation, made when the runtime is created; entries are copied into
 * contiguous 8-byte aligned slots, so a caller's thread never allocates.
 * Not thread-safe: the runtime holds its lock around every call.
 */
#ifndef SPANLOG_DELIVER_RING_H
#define SPANLOG_DELIVER_RING_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* One queued entry: this header, then `len` bytes of data. */
typedef struct sl__ring_slot {
    uint32_t size; /* whole slot, header included, multiple of 8; 0: skipped end */
    uint32_t len;
    uint32_t weight;
    uint32_t pad;
} sl__ring_slot;

typedef struct sl__ring {
    char *buf;
    size_t cap;
    size_t head, tail; /* read and write offsets */
    size_t used;       /* bytes taken, skipped ends included */
    size_t records;
    uint64_t weight; /* sum of the queued entries' weights */
} sl__ring;

sl_status sl__ring_init(sl__ring *r, size_t cap);
void sl__ring_free(sl__ring *r);
void sl__ring_clear(sl__ring *r);
/* The slot size for `len` data bytes. */
size_t sl__ring_slot_size(size_t len);
/* Space for a slot of `size` bytes (from sl__ring_slot_size), or NULL when full. */
sl__ring_slot *sl__ring_reserve(sl__ring *r, size_t size);
/* Makes the reserved slot visible; its len and weight are filled in. */
void sl__ring_commit(sl__ring *r, sl__ring_slot *slot);
/* The oldest slot, or NULL; it stays valid until sl__ring_pop(). */
sl__ring_slot *sl__ring_peek(sl__ring *r);
void sl__ring_pop(sl__ring *r);

static inline char *sl__ring_data(sl__ring_slot *s)
{
    return (char *)(s + 1);
}

#endif /* SPANLOG_DELIVER_RING_H */
