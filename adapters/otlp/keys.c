/*
 * keys.c - attribute keys unique as they are sent.
 *
 * OTLP wants the keys of an attribute list (and of a key-value list) unique.
 * Byte-unique keys are not enough: every invalid UTF-8 subpart is sent as
 * U+FFFD (and, in JSON, so is NUL), so "\xff" and "\xfe", or "k\0" and
 * "k\xff", are the same key on the wire. Keys are therefore compared as
 * written: code point by code point, each invalid subpart and NUL read as
 * U+FFFD, in both protocols alike (so that protobuf and JSON carry the same
 * attributes). A key given again keeps its first position and takes the
 * last value, as the JSON line does.
 *
 * Keys that are plain ASCII (bytes 0x01..0x7f) are equal as written only
 * when they are equal bytes, and never equal a key that is not plain, so a
 * list whose keys are byte-unique (the span API's attributes, jansson's
 * objects) needs a comparison only between two keys that are not plain.
 */
#include <jansson.h>

#include "adapters/otlp/otlp_internal.h"

bool sl__otlp_key_plain(const char *s, size_t n)
{
    return sl__otlp_ascii(s, n) && memchr(s, '\0', n) == NULL;
}

/* The code point at s[*i] as written (U+FFFD for NUL and invalid bytes). */
static uint32_t next_cp(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    if (p[0] == 0) {
        (*i)++;
        return 0xfffd;
    }
    if (p[0] < 0x80) {
        (*i)++;
        return p[0];
    }
    size_t sub, len = sl__utf8_seq((const char *)p, n - *i, &sub);
    if (len == 0) {
        *i += sub;
        return 0xfffd;
    }
    uint32_t cp = p[0] & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
        cp = cp << 6 | (p[k] & 0x3f);
    }
    *i += len;
    return cp;
}

bool sl__otlp_key_eq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an == bn && memcmp(a, b, an) == 0) {
        return true;
    }
    size_t i = 0, j = 0;
    while (i < an && j < bn) {
        if (next_cp(a, an, &i) != next_cp(b, bn, &j)) {
            return false;
        }
    }
    return i == an && j == bn;
}

static const char *key_of(const sl_field *f)
{
    return f->key != NULL ? f->key : "";
}

bool sl__otlp_attrs_get(sl__otlp_attrs *a, const sl_field *f, size_t n, bool distinct)
{
    a->heap = NULL;
    a->f = f;
    a->n = n;
    a->dropped = 0;
    size_t odd = 0; /* keys that are not plain ASCII, or empty */
    for (size_t i = 0; i < n && odd < 2; i++) {
        const char *k = key_of(&f[i]);
        odd += k[0] == '\0' || !sl__otlp_key_plain(k, strlen(k));
    }
    if (n < 2 || (distinct && odd == 0)) {
        if (n == 1 && key_of(f)[0] == '\0') {
            a->n = 0;
            a->dropped = 1;
        }
        return true; /* nothing can repeat: the list as it is */
    }
    sl_field *out = a->local;
    if (n > sizeof a->local / sizeof a->local[0]) {
        out = a->heap = sl__malloc(n * sizeof(sl_field));
        if (out == NULL) {
            return false;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = key_of(&f[i]);
        size_t kl = strlen(key);
        if (kl == 0) {
            a->dropped++; /* OpenTelemetry: attribute keys are non-empty */
            continue;
        }
        size_t j = 0;
        while (j < k &&
               !sl__otlp_key_eq(key_of(&out[j]), strlen(key_of(&out[j])), key, kl)) {
            j++;
        }
        if (j < k) {
            const char *first = out[j].key;
            out[j] = f[i];
            out[j].key = first;
        } else {
            out[k++] = f[i];
        }
    }
    a->f = out;
    a->n = k;
    return true;
}

void sl__otlp_attrs_release(sl__otlp_attrs *a)
{
    sl__free(a->heap);
    a->heap = NULL;
}

/* ---- SL_JSON objects ---------------------------------------------------------- */

bool sl__otlp_object_check(const json_t *o)
{
    size_t odd = 0;
    for (void *it = json_object_iter((json_t *)o); it != NULL && odd < 2;
         it = json_object_iter_next((json_t *)o, it)) {
        odd +=
            !sl__otlp_key_plain(json_object_iter_key(it), json_object_iter_key_len(it));
    }
    return odd >= 2;
}

bool sl__otlp_object_entry(const json_t *o, void *it, bool check, const json_t **value)
{
    *value = json_object_iter_value(it);
    const char *k = json_object_iter_key(it);
    size_t kl = json_object_iter_key_len(it);
    if (!check || sl__otlp_key_plain(k, kl)) {
        return true;
    }
    bool later = false;
    for (void *o2 = json_object_iter((json_t *)o); o2 != NULL;
         o2 = json_object_iter_next((json_t *)o, o2)) {
        if (o2 == it) {
            later = true;
            continue;
        }
        if (sl__otlp_key_eq(json_object_iter_key(o2), json_object_iter_key_len(o2), k,
                            kl)) {
            if (!later) {
                return false; /* sent at the first entry of this key */
            }
            *value = json_object_iter_value(o2);
        }
    }
    return true;
}
