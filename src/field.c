/*
 * field.c - encoding typed fields as `,"key":value`, and strings cut to an
 * escaped-length cap (the truncation of oversized records).
 */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Embedded JSON: compact, any value (not only objects and arrays). */
#define SL_JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

size_t sl__field_str_len(const sl_field *f)
{
    if (f->v.s == NULL) {
        return 0;
    }
    return f->len == SL_NPOS ? strlen(f->v.s) : f->len;
}

/*
 * The longest prefix of s, ending on a UTF-8 boundary, whose escaped form
 * takes at most `cap` bytes. Escaping never shrinks a string (every input
 * byte yields at least one output byte), so the answer is at most cap bytes
 * long; a binary search over the prefix length finds it. This runs only
 * for records over the size limit.
 */
static size_t prefix_within(const char *s, size_t n, size_t cap)
{
    size_t hi = n < cap ? n : cap;
    size_t first = sl__utf8_cut(s, n, hi);
    if (sl__json_escaped_len(s, first) <= cap) {
        return first; /* the common case: little or nothing to escape */
    }
    size_t lo = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        size_t q = sl__utf8_cut(s, n, mid);
        if (sl__json_escaped_len(s, q) <= cap) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return sl__utf8_cut(s, n, lo);
}

bool sl__encode_string_capped(sl__jw *w, const char *s, size_t n, size_t cap)
{
    if (cap == SIZE_MAX || n == 0) {
        sl__jw_string(w, s, n);
        return false;
    }
    /* Quick accept: escaping at most multiplies the length by 6. */
    if (n <= cap / 6 || sl__json_escaped_len(s, n) <= cap) {
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
#define KEY_FAST_MAX 60

static void write_key(sl__jw *w, const char *key)
{
    if (key == NULL) {
        sl__jw_raw(w, ",\"\":", 4);
        return;
    }
    size_t n = strlen(key);
    if (n <= KEY_FAST_MAX && w->cap - w->len >= KEY_FAST_MAX + 4 &&
        sl__plain_ascii(key, n)) {
        char *d = w->buf + w->len;
        d[0] = ',';
        d[1] = '"';
        sl__jw_copy(d + 2, key, n);
        d[n + 2] = '"';
        d[n + 3] = ':';
        w->len += n + 4;
        return;
    }
    sl__jw_char(w, ',');
    sl__jw_string(w, key, n);
    sl__jw_char(w, ':');
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
 * Embedded JSON. A fixed-size writer dumps straight into its free space (no
 * copy); jansson itself allocates while dumping (its cycle check), which is
 * the one per-record allocation spanlog cannot avoid and documents.
 */
static void write_json(sl__jw *w, const json_t *j)
{
    if (j == NULL) {
        sl__jw_null(w);
        return;
    }
    if (w->growable) {
        char *text = json_dumps(j, SL_JSON_FLAGS);
        if (text == NULL) {
            sl__jw_null(w);
            return;
        }
        sl__jw_raw(w, text, strlen(text));
        free(text); /* jansson's allocation, jansson's allocator (malloc) */
        return;
    }
    size_t room = w->cap - w->len;
    size_t n = json_dumpb(j, w->buf + w->len, room, SL_JSON_FLAGS);
    if (n == 0) {
        sl__jw_null(w); /* jansson refused the value */
    } else if (n <= room) {
        w->len += n;
    } else {
        /* Same rule as the writer: on overflow, len == cap and need counts on. */
        w->need = sl__jw_need(w) + n;
        w->len = w->cap;
        w->overflow = true;
    }
}

bool sl__encode_fields(sl__jw *w, const sl_field *f, size_t n, size_t str_cap)
{
    bool cut = false;
    for (size_t i = 0; i < n; i++) {
        write_key(w, f[i].key);
        switch (f[i].type) {
        case SL_FIELD_STR:
            if (f[i].v.s == NULL) {
                sl__jw_null(w);
            } else if (str_cap == SIZE_MAX) {
                sl__jw_string(w, f[i].v.s, sl__field_str_len(&f[i]));
            } else {
                cut |= sl__encode_string_capped(w, f[i].v.s, sl__field_str_len(&f[i]),
                                                str_cap);
            }
            break;
        case SL_FIELD_INT:
            sl__jw_int(w, f[i].v.i);
            break;
        case SL_FIELD_UINT:
            sl__jw_uint(w, f[i].v.u);
            break;
        case SL_FIELD_DOUBLE:
            sl__jw_double(w, f[i].v.d);
            break;
        case SL_FIELD_BOOL:
            sl__jw_bool(w, f[i].v.b);
            break;
        case SL_FIELD_ERRNO:
            write_errno(w, f[i].v.i);
            break;
        case SL_FIELD_JSON:
            write_json(w, (const json_t *)f[i].v.json);
            break;
        case SL_FIELD_NULL:
        default:
            /* An unknown type still yields valid JSON. */
            sl__jw_null(w);
            break;
        }
    }
    return cut;
}
