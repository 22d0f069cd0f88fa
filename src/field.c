/*
 * field.c - encoding typed fields as `,"key":value`, and strings cut to an
 * escaped-length cap (the truncation of oversized records).
 */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "field_fast.h"

size_t sl__field_str_len(const sl_field *f)
{
    if (f->v.s == NULL) {
        return 0;
    }
    return f->len == SL_NPOS ? strlen(f->v.s) : f->len;
}

_Thread_local size_t sl__trunc_scanned;

size_t sl__escaped_len_counted(const char *s, size_t n)
{
    sl__trunc_scanned += n;
    return sl__json_escaped_len(s, n);
}

#define PREFIX_CHUNK 256

/*
 * The longest prefix of s, ending on a UTF-8 boundary, whose escaped form
 * takes at most `cap` bytes. Escaping never shrinks a string (every input
 * byte yields at least one output byte), so the answer is at most cap bytes
 * long. One forward pass in chunks cut on UTF-8 boundaries, then a binary
 * search inside the chunk that crosses cap: O(cap), whatever n is. (A cut
 * can split an ill-formed sequence, which then yields one more U+FFFD in
 * the sum than in the string: the sum never undercounts.) Runs only for
 * records over the size limit.
 */
static size_t prefix_within(const char *s, size_t n, size_t cap)
{
    size_t hi = n < cap ? n : cap;
    size_t pos = 0, used = 0;
    while (pos < hi) {
        size_t end =
            sl__utf8_cut(s, n, pos + PREFIX_CHUNK < hi ? pos + PREFIX_CHUNK : hi);
        if (end <= pos) {
            end = sl__utf8_cut(s, n, hi); /* a sequence straddles hi */
            if (end <= pos) {
                break;
            }
        }
        size_t e = sl__escaped_len_counted(s + pos, end - pos);
        if (used + e > cap) {
            /* The answer is inside [pos, end): search it. */
            size_t lo = 0, top = end - pos;
            while (lo < top) {
                size_t mid = lo + (top - lo + 1) / 2;
                size_t q = sl__utf8_cut(s + pos, end - pos, mid);
                if (used + sl__escaped_len_counted(s + pos, q) <= cap) {
                    lo = mid;
                } else {
                    top = mid - 1;
                }
            }
            return pos + sl__utf8_cut(s + pos, end - pos, lo);
        }
        used += e;
        pos = end;
    }
    return pos;
}

bool sl__encode_string_capped(sl__jw *w, const char *s, size_t n, size_t cap)
{
    if (cap == SIZE_MAX || n == 0) {
        sl__jw_string(w, s, n);
        return false;
    }
    /* Quick accept: escaping at most multiplies the length by 6. */
    if (n <= cap / 6 || sl__escaped_len_counted(s, n) <= cap) {
        sl__jw_string(w, s, n);
        return false;
    }
    sl__jw_string(w, s, prefix_within(s, n, cap));
    return true;
}

/*
 * `,"key":`. Keys are nearly always short plain ASCII: those are checked a
 * word at a time (sl__plain_ascii) and copied with their separators in one
 * go; anything else goes through the escaping writer.
 */

/* Whether key[0..n) is one of the profile's head keys. Nearly every key is
 * rejected by one bitmap test on (first byte, length). */
static SL__ALWAYS_INLINE bool is_reserved(const sl__reserved *rk, const char *key,
                                          size_t n)
{
    if (rk == NULL || n == 0) {
        return false;
    }
    unsigned h = sl__reserved_hash((unsigned char)key[0], n);
    if ((rk->hash[h >> 3] & (1u << (h & 7))) == 0) {
        return false;
    }
    for (size_t i = 0; i < rk->n; i++) {
        if (rk->len[i] == n && memcmp(rk->keys[i], key, n) == 0) {
            return true;
        }
    }
    return false;
}

static void write_key_slow(sl__jw *w, const char *key, size_t n, bool reserved)
{
    if (reserved) {
        /* A head key: renamed so that it cannot forge the record (log.h). */
        sl__jw_raw(w, ",\"" SL_RESERVED_KEY_PREFIX, 2 + strlen(SL_RESERVED_KEY_PREFIX));
        sl__jw_string_body(w, key, n);
        sl__jw_raw(w, "\":", 2);
        return;
    }
    sl__jw_char(w, ',');
    sl__jw_string(w, key, n);
    sl__jw_char(w, ':');
}

/* The key's length: the one the macros computed at compile time when they
 * could (sl_field.key_len), else measured. *plain: the macros found the key
 * needs no escaping. */
static SL__ALWAYS_INLINE size_t key_length(const sl_field *f, bool *plain)
{
    uint32_t kl = f->key_len;
    *plain = (kl & SL__KEY_PLAIN) != 0;
    if ((kl & SL__KEY_LEN_MAX) != 0) {
        return kl & SL__KEY_LEN_MAX;
    }
    return f->key != NULL ? strlen(f->key) : 0;
}

static SL__ALWAYS_INLINE void write_key(sl__jw *w, const sl_field *f,
                                        const sl__reserved *rk)
{
    const char *key = f->key;
    if (key == NULL) {
        sl__jw_raw(w, ",\"\":", 4);
        return;
    }
    bool plain;
    size_t n = key_length(f, &plain);
    bool reserved = is_reserved(rk, key, n);
    if (!reserved && n <= KEY_FAST_MAX && w->cap - w->len >= KEY_FAST_MAX + 4 &&
        (plain || sl__plain_ascii(key, n))) {
        char *d = w->buf + w->len;
        d[0] = ',';
        d[1] = '"';
        sl__jw_copy(d + 2, key, n);
        d[n + 2] = '"';
        d[n + 3] = ':';
        w->len += n + 4;
        return;
    }
    write_key_slow(w, key, n, reserved);
}

static void write_errno(sl__jw *w, int64_t e)
{
    char text[256];
    const char *msg;
    if (e >= INT_MIN && e <= INT_MAX) {
        /* GNU strerror_r (this library builds with _GNU_SOURCE): it returns
         * the text, either a static string or one written into `text`. */
        msg = strerror_r((int)e, text, sizeof(text));
    } else {
        msg = "Unknown error";
    }
    sl__jw_raw(w, "{\"errno\":", 9);
    sl__jw_int(w, e);
    sl__jw_raw(w, ",\"error\":", 9);
    sl__jw_string(w, msg, strlen(msg));
    sl__jw_char(w, '}');
}

/*
 * Embedded JSON, written by spanlog's own writer rather than jansson's dump:
 * keys and strings go through the same escaping as every other string (so
 * invalid UTF-8 from jansson's _nocheck setters is repaired and NUL becomes
 * U+FFFD, which jansson's dump would write as \u0000 or, for a bad key,
 * silently drop), nothing is allocated, and there is no recursion: an
 * explicit stack of SL_JSON_MAX_DEPTH frames walks the tree, and a
 * container nested deeper is written as the string SL_JSON_DEPTH_MARK.
 *
 * Work is bounded too: values shared inside one tree (jansson allows
 * DAGs, and cycles through json_object_set) could expand without end, so
 * once the value alone needs more than the whole buffer, the walk stops
 * and leaves `need` past any limit: a value that big can never fit, and the
 * record falls back to its head (record.c), the child logger to SL_ERANGE.
 */
typedef struct json_frame {
    const json_t *c;
    void *iter; /* objects: the next member */
    size_t i;   /* members written so far / arrays: the next index */
} json_frame;

static void write_json_scalar(sl__jw *w, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        sl__jw_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        sl__jw_int(w, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        sl__jw_double(w, json_real_value(v));
        break;
    case JSON_TRUE:
        sl__jw_bool(w, true);
        break;
    case JSON_FALSE:
        sl__jw_bool(w, false);
        break;
    default:
        sl__jw_null(w);
        break;
    }
}

/* Writes v's opening bracket and pushes it, or the marker when too deep. */
static void json_open(sl__jw *w, json_frame *st, size_t *depth, const json_t *v)
{
    if (*depth == SL_JSON_MAX_DEPTH) {
        sl__jw_string(w, SL_JSON_DEPTH_MARK, sizeof(SL_JSON_DEPTH_MARK) - 1);
        return;
    }
    json_frame *f = &st[(*depth)++];
    f->c = v;
    f->i = 0;
    if (json_is_object(v)) {
        sl__jw_char(w, '{');
        f->iter = json_object_iter((json_t *)v);
    } else {
        sl__jw_char(w, '[');
        f->iter = NULL;
    }
}

/* The next value to write, after its separator and key; NULL when done. */
static const json_t *json_next(sl__jw *w, json_frame *st, size_t *depth)
{
    while (*depth > 0) {
        json_frame *f = &st[*depth - 1];
        if (json_is_object(f->c)) {
            if (f->iter != NULL) {
                void *it = f->iter;
                if (f->i++ > 0) {
                    sl__jw_char(w, ',');
                }
                sl__jw_string(w, json_object_iter_key(it), json_object_iter_key_len(it));
                sl__jw_char(w, ':');
                f->iter = json_object_iter_next((json_t *)f->c, it);
                return json_object_iter_value(it);
            }
            sl__jw_char(w, '}');
        } else {
            if (f->i < json_array_size(f->c)) {
                if (f->i > 0) {
                    sl__jw_char(w, ',');
                }
                const json_t *v = json_array_get(f->c, f->i++);
                if (v != NULL) {
                    return v;
                }
                sl__jw_null(w);
                continue;
            }
            sl__jw_char(w, ']');
        }
        (*depth)--;
    }
    return NULL;
}

static void write_json(sl__jw *w, const json_t *root)
{
    json_frame st[SL_JSON_MAX_DEPTH];
    size_t depth = 0;
    size_t start = sl__jw_need(w);
    size_t limit = w->growable ? w->max : w->cap;
    for (const json_t *v = root; v != NULL; v = json_next(w, st, &depth)) {
        if (sl__jw_need(w) - start > limit) {
            w->need = SIZE_MAX / 4; /* overflowed: see above */
            return;
        }
        if (json_is_object(v) || json_is_array(v)) {
            json_open(w, st, &depth, v);
        } else {
            write_json_scalar(w, v);
        }
    }
    if (root == NULL) {
        sl__jw_null(w);
    }
}

/*
 * The common field written in one go through a local cursor: a short plain
 * key that is not a head key, and a number, a bool, null or a short plain
 * string (no cut needed). The caller made sure of FIELD_FAST_ROOM bytes.
 * Returns false, having written nothing, for anything else.
 */
static SL__ALWAYS_INLINE bool fast_field(sl__jw *w, const sl_field *f, size_t str_cap,
                                         const sl__reserved *rk)
{
    const char *key = f->key;
    if (key == NULL) {
        return false;
    }
    bool plain;
    size_t n = key_length(f, &plain);
    if (n > KEY_FAST_MAX || is_reserved(rk, key, n) ||
        !(plain || sl__plain_ascii(key, n))) {
        return false;
    }
    /* The key goes in past w->len first: nothing is committed until w->len
     * moves, so a value that needs the general path just returns false. */
    char *p = w->buf + w->len;
    p[0] = ',';
    p[1] = '"';
    sl__jw_copy(p + 2, key, n);
    p += n + 2;
    p[0] = '"';
    p[1] = ':';
    p = sl__fast_value(p + 2, f, str_cap);
    if (p == NULL) {
        return false;
    }
    w->len = (size_t)(p - w->buf);
    return true;
}

/* One field by the general path: any key, any value, cut to str_cap. */
static bool general_field(sl__jw *w, const sl_field *f, size_t str_cap,
                          const sl__reserved *rk)
{
    bool cut = false;
    write_key(w, f, rk);
    switch (f->type) {
    case SL_FIELD_STR:
        if (f->v.s == NULL) {
            sl__jw_null(w);
        } else if (str_cap == SIZE_MAX) {
            sl__jw_string(w, f->v.s, sl__field_str_len(f));
        } else {
            cut = sl__encode_string_capped(w, f->v.s, sl__field_str_len(f), str_cap);
        }
        break;
    case SL_FIELD_INT:
        sl__jw_int(w, f->v.i);
        break;
    case SL_FIELD_UINT:
        sl__jw_uint(w, f->v.u);
        break;
    case SL_FIELD_DOUBLE:
        sl__jw_double(w, f->v.d);
        break;
    case SL_FIELD_BOOL:
        sl__jw_bool(w, f->v.b);
        break;
    case SL_FIELD_ERRNO:
        write_errno(w, f->v.i);
        break;
    case SL_FIELD_JSON:
        write_json(w, (const json_t *)f->v.json);
        break;
    case SL_FIELD_NULL:
    default:
        /* An unknown type still yields valid JSON. */
        sl__jw_null(w);
        break;
    }
    return cut;
}

bool sl__encode_fields(sl__jw *w, const sl_field *f, size_t n, size_t str_cap,
                       const sl__reserved *rk)
{
    bool cut = false;
    for (size_t i = 0; i < n; i++) {
        if (w->cap - w->len >= FIELD_FAST_ROOM && fast_field(w, &f[i], str_cap, rk)) {
            continue;
        }
        cut |= general_field(w, &f[i], str_cap, rk);
    }
    return cut;
}

/*
 * Makes slot i of kc hold `,"key":` for f's key when the general path would
 * write exactly that: a constant key (SL__KEY_PLAIN, set only by the macros
 * for a literal, so the same pointer always holds the same bytes, and
 * trusted as needing no escaping, as write_key trusts it) that fits the
 * fragment and is no head key of rk. Otherwise the slot says "general
 * path" (length 0) for that key.
 */
SL__NOINLINE_FN void sl__site_key_fill(sl__site_keys *kc, size_t i, const sl_field *f,
                                       const sl__reserved *rk)
{
    kc->key[i] = f->key;
    kc->key_len[i] = f->key_len;
    kc->frag_len[i] = 0;
    bool plain = false;
    size_t n = f->key != NULL ? key_length(f, &plain) : 0;
    if (f->key == NULL || !plain || n + 4 > SL__SITE_FRAG || is_reserved(rk, f->key, n)) {
        return;
    }
    char *d = kc->frag[i];
    memset(d, 0, SL__SITE_FRAG);
    d[0] = ',';
    d[1] = '"';
    memcpy(d + 2, f->key, n);
    d[n + 2] = '"';
    d[n + 3] = ':';
    kc->frag_len[i] = (uint8_t)(n + 4);
}

/* A field the cache does not cover, by the per-record path. Out of line:
 * inlined, it would crowd the cached loop's registers. */
SL__NOINLINE_FN void sl__site_field_slow(sl__jw *w, const sl_field *f,
                                         const sl__reserved *rk)
{
    if (w->cap - w->len < FIELD_FAST_ROOM || !fast_field(w, f, SIZE_MAX, rk)) {
        (void)general_field(w, f, SIZE_MAX, rk);
    }
}
