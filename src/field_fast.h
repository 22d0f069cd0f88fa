/*
 * field_fast.h - the common field's one-go encoding, shared by field.c (the
 * per-record path) and record.c (the macros' cached path, inlined there so
 * that a record is not one more call deep). Private to the library.
 */
#ifndef SPANLOG_FIELD_FAST_H
#define SPANLOG_FIELD_FAST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "internal.h"

/* Keys up to this long are copied with their separators in one go. */
#define KEY_FAST_MAX 60

/*
 * The common field written in one go through a local cursor: a short plain
 * key that is not a head key, and a number, a bool, null or a short plain
 * string (no cut needed). The caller made sure of FIELD_FAST_ROOM bytes.
 */
#define STR_FAST_MAX 32
#define FIELD_FAST_ROOM                                                                  \
    (KEY_FAST_MAX + 4 + (STR_FAST_MAX + 2 > 40 ? STR_FAST_MAX + 2 : 40))

/* The value of a fast field at p, or NULL (nothing counted as written) for
 * one that needs the general path. */
static SL__ALWAYS_INLINE char *sl__fast_value(char *p, const sl_field *f, size_t str_cap)
{
    switch (f->type) {
    case SL_FIELD_STR: {
        const char *s = f->v.s;
        if (s == NULL) {
            memcpy(p, "null", 4);
            return p + 4;
        }
        size_t sn = f->len == SL_NPOS ? strlen(s) : f->len;
        if (sn > STR_FAST_MAX || sn > str_cap || !sl__plain_ascii(s, sn)) {
            return NULL;
        }
        p[0] = '"';
        sl__jw_copy(p + 1, s, sn);
        p[sn + 1] = '"';
        return p + sn + 2;
    }
    case SL_FIELD_INT:
        return sl__put_int(p, f->v.i);
    case SL_FIELD_UINT:
        return sl__put_uint(p, f->v.u);
    case SL_FIELD_DOUBLE:
        return sl__put_double(p, f->v.d);
    case SL_FIELD_BOOL:
        if (f->v.b) {
            memcpy(p, "true", 4);
            return p + 4;
        }
        memcpy(p, "false", 5);
        return p + 5;
    case SL_FIELD_ERRNO:
    case SL_FIELD_JSON:
        return NULL;
    default:
        memcpy(p, "null", 4); /* SL_FIELD_NULL, or an unknown type */
        return p + 4;
    }
}

/* Slot i of kc made for f's key (field.c): `,"key":`, or length 0 for "the
 * general path". */
void sl__site_key_fill(sl__site_keys *kc, size_t i, const sl_field *f,
                       const sl__reserved *rk);

/* A field the cache does not cover, by the per-record path (field.c). */
void sl__site_field_slow(sl__jw *w, const sl_field *f, const sl__reserved *rk);

/* Room for every cached field at its largest: checked once, not per field. */
#define SITE_ROOM (SL__SITE_FIELDS * FIELD_FAST_ROOM)

/* sl__encode_fields(w, f, n, SIZE_MAX, rk), the same bytes, with keys taken
 * from (and added to) kc, which must have been made for the same rk. */
static SL__ALWAYS_INLINE void sl__encode_fields_site(sl__jw *w, const sl_field *f,
                                                     size_t n, const sl__reserved *rk,
                                                     sl__site_keys *kc)
{
    size_t i = 0;
    size_t m = n < SL__SITE_FIELDS ? n : SL__SITE_FIELDS;
    while (i < m && w->cap - w->len >= SITE_ROOM) {
        /* Roomy: every cached field at its largest fits, no check per field. */
        char *p = w->buf + w->len;
        for (; i < m; i++) {
            const sl_field *fi = &f[i];
            if (fi->key != kc->key[i] || fi->key_len != kc->key_len[i]) {
                sl__site_key_fill(kc, i, fi, rk);
            }
            size_t fl = kc->frag_len[i];
            if (fl == 0) {
                break;
            }
            memcpy(p, kc->frag[i], SL__SITE_FRAG); /* whole: no length dispatch */
            char *q = sl__fast_value(p + fl, fi, SIZE_MAX);
            if (q == NULL) {
                break;
            }
            p = q;
        }
        w->len = (size_t)(p - w->buf);
        if (i < m) {
            sl__site_field_slow(w, &f[i], rk); /* then back to the cached loop */
            i++;
        }
    }
    for (; i < n; i++) {
        sl__site_field_slow(w, &f[i], rk);
    }
}

#endif
