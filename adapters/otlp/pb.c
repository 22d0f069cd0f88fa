/*
 * pb.c - a small protobuf writer: varints, fixed-width numbers, strings and
 * nested messages, into a buffer that starts on the caller's stack and moves
 * to the heap only when it must grow.
 *
 * A nested message is written in place: sl__pb_begin() reserves one length
 * byte, sl__pb_end() fills it in, and moves the body up by the few bytes a
 * longer length varint needs. Most OTLP submessages (attributes, ids,
 * status) are under 128 bytes, so the move is rare and small; the outer
 * messages of a request are moved once each.
 */
#include <stdlib.h>

#include "adapters/otlp/otlp_internal.h"

void sl__pb_init(sl__pb *b, uint8_t *buf, size_t cap, size_t max)
{
    b->buf = buf;
    b->cap = buf != NULL ? cap : 0;
    b->len = 0;
    b->max = max;
    b->heap = false;
    b->failed = false;
}

void sl__pb_free(sl__pb *b)
{
    if (b->heap) {
        sl__free(b->buf);
    }
    b->buf = NULL;
    b->cap = b->len = 0;
    b->heap = false;
}

bool sl__pb_grow(sl__pb *b, size_t n)
{
    if (b->failed) {
        return false;
    }
    if (b->cap - b->len >= n) {
        return true;
    }
    if (n > b->max || b->len > b->max - n) {
        b->failed = true;
        b->cap = b->len;
        return false;
    }
    size_t cap = b->cap < 256 ? 256 : b->cap;
    while (cap - b->len < n) {
        cap = cap > b->max / 2 ? b->max : cap * 2;
    }
    uint8_t *p;
    if (b->heap) {
        p = sl__realloc(b->buf, cap);
    } else {
        p = sl__malloc(cap);
        if (p != NULL && b->len > 0) {
            memcpy(p, b->buf, b->len);
        }
    }
    if (p == NULL) {
        b->failed = true;
        b->cap = b->len;
        return false;
    }
    b->buf = p;
    b->cap = cap;
    b->heap = true;
    return true;
}

void sl__pb_string_utf8(sl__pb *b, uint32_t field, const char *s, size_t n)
{
    size_t valid = sl__otlp_utf8_valid_prefix(s, n);
    if (valid == n) {
        sl__pb_bytes(b, field, s, n);
        return;
    }
    size_t mark = sl__pb_begin(b, field);
    sl__otlp_utf8_repair(b, s, n);
    sl__pb_end(b, mark);
}

void sl__pb_string_opt(sl__pb *b, uint32_t field, const char *s, size_t n)
{
    if (s != NULL && n > 0) {
        sl__pb_string(b, field, s, n);
    }
}

void sl__pb_end_long(sl__pb *b, size_t mark)
{
    if (b->failed) {
        return;
    }
    size_t body = b->len - mark;
    size_t k = sl__pb_varint_len(body);
    if (k > 1) {
        if (!sl__pb_room(b, k - 1)) {
            return;
        }
        memmove(b->buf + mark + k - 1, b->buf + mark, body);
        b->len += k - 1;
    }
    uint8_t *d = b->buf + mark - 1;
    while (body >= 0x80) {
        *d++ = (uint8_t)(body | 0x80);
        body >>= 7;
    }
    *d = (uint8_t)body;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/*
 * At p: the length of the valid UTF-8 sequence (1..4) in *valid, or 0 with
 * the length of its maximal subpart (the bytes that begin a valid sequence
 * but do not finish it; at least 1) as the return.
 */
static size_t utf8_scan(const unsigned char *p, size_t avail, size_t *valid)
{
    unsigned c = p[0];
    *valid = 0;
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80) {
        *valid = 1;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 1;
    }
    size_t k = 1;
    if (k < avail && p[1] >= lo && p[1] <= hi) {
        k++;
        while (k < n && k < avail && (p[k] & 0xc0) == 0x80) {
            k++;
        }
    }
    if (k == n) {
        *valid = n;
    }
    return k;
}

size_t sl__otlp_utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* eight ASCII bytes at a time: the usual name, key or value */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull) {
                break;
            }
            i += 8;
        }
        if (i == n) {
            break;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k;
        size_t sub = utf8_scan(p + i, n - i, &k);
        if (k == 0) {
            return i;
        }
        i += sub;
    }
    return i;
}

void sl__otlp_utf8_repair(sl__pb *b, const char *s, size_t n)
{
    static const char fffd[3] = {(char)0xef, (char)0xbf, (char)0xbd};
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = sl__otlp_utf8_valid_prefix(s + i, n - i);
        sl__pb_raw(b, p + i, run);
        i += run;
        if (i < n) {
            /* One U+FFFD per maximal subpart (Unicode's recommended
             * practice, and what the JSON writer does). */
            size_t k;
            sl__pb_raw(b, fffd, 3);
            i += utf8_scan(p + i, n - i, &k);
        }
    }
}
