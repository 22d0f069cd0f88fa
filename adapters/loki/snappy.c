/*
 * snappy.c - a Snappy block compressor (the raw format Loki expects around
 * a protobuf push body; not the framed/stream format).
 *
 * Format (github.com/google/snappy format_description.txt): the uncompressed
 * length as a varint, then elements. A literal is tag (len-1)<<2 | 0, with
 * lengths above 60 in 1-4 extra little-endian bytes; a copy here is always
 * the 2-byte-offset form, tag (len-1)<<2 | 2 with 1 <= len <= 64 and a
 * 16-bit little-endian offset. Any valid element sequence decodes, so a
 * simple greedy matcher over a hash of 4-byte sequences is enough: logs are
 * repetitive and this finds most of it at memcpy-like speed.
 */
#include <string.h>

#include "adapters/loki/loki_internal.h"

#define HASH_BITS  14
#define MAX_OFFSET 65535u

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t sl__loki_snappy_bound(size_t len)
{
    /* Worst case: all literals, 5 header bytes per 2^32, plus the preamble. */
    return 32 + len + len / 6;
}

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint32_t hash32(uint32_t v)
{
    return (v * 0x1e35a7bdu) >> (32 - HASH_BITS);
}

static uint8_t *emit_literal(uint8_t *op, const uint8_t *lit, size_t len)
{
    while (len > 0) {
        /* Chunks of at most 2^16 keep the length in two extra bytes. */
        size_t n = len > 65536 ? 65536 : len;
        size_t m = n - 1;
        if (m < 60) {
            *op++ = (uint8_t)(m << 2);
        } else if (m < 256) {
            *op++ = 60 << 2;
            *op++ = (uint8_t)m;
        } else {
            *op++ = 61 << 2;
            *op++ = (uint8_t)m;
            *op++ = (uint8_t)(m >> 8);
        }
        memcpy(op, lit, n);
        op += n;
        lit += n;
        len -= n;
    }
    return op;
}

static uint8_t *emit_copy(uint8_t *op, size_t offset, size_t len)
{
    while (len > 0) {
        size_t n = len > 64 ? 64 : len; /* the 2-byte-offset form takes 1..64 */
        *op++ = (uint8_t)(((n - 1) << 2) | 2);
        *op++ = (uint8_t)offset;
        *op++ = (uint8_t)(offset >> 8);
        len -= n;
    }
    return op;
}

size_t sl__loki_snappy(const char *in, size_t len, char *out)
{
    uint8_t *op = (uint8_t *)out;
    op += put_varint(op, len);
    const uint8_t *ip = (const uint8_t *)in;
    const uint8_t *end = ip + len;
    uint32_t table[1u << HASH_BITS];
    memset(table, 0, sizeof(table));
    const uint8_t *lit = ip;
    const uint8_t *p = ip;
    if (len >= 8) {
        const uint8_t *limit = end - 4;
        while (p < limit) {
            uint32_t v = load32(p);
            uint32_t h = hash32(v);
            const uint8_t *cand = ip + table[h];
            table[h] = (uint32_t)(p - ip);
            size_t off = (size_t)(p - cand);
            if (cand < p && off <= MAX_OFFSET && load32(cand) == v) {
                size_t m = 4;
                while (p + m < end && cand[m] == p[m]) {
                    m++;
                }
                op = emit_literal(op, lit, (size_t)(p - lit));
                op = emit_copy(op, off, m);
                p += m;
                lit = p;
            } else {
                p++;
            }
        }
    }
    op = emit_literal(op, lit, (size_t)(end - lit));
    return (size_t)(op - (uint8_t *)out);
}
