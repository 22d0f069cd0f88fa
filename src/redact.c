/*
 * redact.c - censoring keys and paths in a record's fields
 * (spanlog/filter.h).
 *
 * Paths are split into segments once, at setup. A field is matched by its
 * key against each path's first segment (length and first byte first, so
 * a field no path names costs a few integer compares per path), and
 * against the whole dotted path for keys written flat ("card.number"):
 *
 *   path "password"      field password        ─▶ censored
 *   path "card.number"   field card (SL_JSON)  ─▶ copy, censor card.number in the copy
 *                        field "card.number"   ─▶ censored
 *   path "*.token"       any SL_JSON object field with a "token" member
 *
 * Only the SL_JSON values a path reaches into are copied (json_deep_copy),
 * so the caller's tree is never changed; the copies live for one record.
 * Arrays are not entered: a path names object members.
 */
#include <jansson.h>
#include <string.h>

#include "core.h"
#include "spanlog/filter.h"

#define MAX_PATHS    64
#define MAX_SEGMENTS 8

typedef struct rpath {
    const char *full; /* the whole path, in the arena */
    size_t full_len;
    const char *seg[MAX_SEGMENTS]; /* NUL-terminated, in the arena */
    size_t seg_len[MAX_SEGMENTS];
    size_t nseg;
} rpath;

struct sl__redactor {
    /* Quick rejection: a key can match only if its (length, first byte) pair
     * is that of some path's whole text or first segment. */
    uint64_t pairs[64][4]; /* [length][first byte / 64]: bit (first byte % 64) */
    bool long_keys;        /* some length >= 64 */
    uint64_t first[4];     /* bit b: some path starts with byte b */
    bool star_first;       /* a path starts with "*": SL_JSON fields always looked at */
    rpath paths[MAX_PATHS];
    size_t npaths;
    bool remove;
    const char *censor;
    uint64_t redacted; /* atomic */
    char arena[];      /* paths (twice: whole and split) and the censor */
};

void sl_redact_options_init(sl_redact_options *opts)
{
    if (opts == NULL) {
        return;
    }
    memset(opts, 0, sizeof(*opts));
    opts->size = sizeof(*opts);
    opts->censor = "[REDACTED]";
}

void sl__redactor_free(sl__redactor *r)
{
    sl__free(r);
}

sl_status sl__redactor_new(const sl_redact_options *o, sl__redactor **out)
{
    *out = NULL;
    if (o->size < sizeof(sl_redact_options) || o->npaths > MAX_PATHS ||
        (o->npaths > 0 && o->paths == NULL)) {
        return SL_EINVAL;
    }
    if (o->npaths == 0) {
        return SL_OK;
    }
    const char *censor = o->censor != NULL ? o->censor : "[REDACTED]";
    size_t bytes = strlen(censor) + 1;
    for (size_t i = 0; i < o->npaths; i++) {
        if (o->paths[i] == NULL || o->paths[i][0] == '\0') {
            return SL_EINVAL;
        }
        bytes += 2 * (strlen(o->paths[i]) + 1);
    }
    sl__redactor *r = sl__calloc(1, sizeof(*r) + bytes);
    if (r == NULL) {
        return SL_ENOMEM;
    }
    char *a = r->arena;
    for (size_t i = 0; i < o->npaths; i++) {
        rpath *p = &r->paths[i];
        size_t n = strlen(o->paths[i]);
        memcpy(a, o->paths[i], n + 1);
        p->full = a;
        p->full_len = n;
        a += n + 1;
        memcpy(a, o->paths[i], n + 1);
        char *s = a;
        a += n + 1;
        for (;;) {
            char *dot = strchr(s, '.');
            if (dot != NULL) {
                *dot = '\0';
            }
            size_t sl = strlen(s);
            if (sl == 0 || p->nseg == MAX_SEGMENTS) {
                sl__free(r);
                return SL_EINVAL;
            }
            p->seg[p->nseg] = s;
            p->seg_len[p->nseg++] = sl;
            if (dot == NULL) {
                break;
            }
            s = dot + 1;
        }
    }
    r->npaths = o->npaths;
    for (size_t i = 0; i < r->npaths; i++) {
        const rpath *p = &r->paths[i];
        const size_t lens[2] = {p->full_len, p->seg_len[0]};
        unsigned char b = (unsigned char)p->full[0];
        r->first[b >> 6] |= 1ull << (b & 63);
        for (int k = 0; k < 2; k++) {
            if (lens[k] < 64) {
                r->pairs[lens[k]][b >> 6] |= 1ull << (b & 63);
            } else {
                r->long_keys = true;
            }
        }
        r->star_first |= p->seg_len[0] == 1 && p->seg[0][0] == '*';
    }
    memcpy(a, censor, strlen(censor) + 1);
    r->censor = a;
    r->remove = o->remove;
    *out = r;
    return SL_OK;
}

static bool seg_match(const char *seg, size_t seg_len, const char *key, size_t key_len)
{
    return (seg_len == 1 && seg[0] == '*') ||
           (seg_len == key_len && seg[0] == key[0] && memcmp(seg, key, key_len) == 0);
}

/* Censors or removes what path p names below `node` from segment i on. */
static void redact_json(sl__redactor *r, const rpath *p, size_t i, json_t *node)
{
    if (!json_is_object(node)) {
        return;
    }
    const char *seg = p->seg[i];
    bool last = i + 1 == p->nseg;
    if (seg[0] == '*' && p->seg_len[i] == 1) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(node, tmp, k, v)
        {
            if (!last) {
                redact_json(r, p, i + 1, v);
            } else if (r->remove) {
                json_object_del(node, k);
                __atomic_add_fetch(&r->redacted, 1, __ATOMIC_RELAXED);
            } else {
                json_object_set_new(node, k, json_string(r->censor));
                __atomic_add_fetch(&r->redacted, 1, __ATOMIC_RELAXED);
            }
        }
        return;
    }
    json_t *v = json_object_get(node, seg);
    if (v == NULL) {
        return;
    }
    if (!last) {
        redact_json(r, p, i + 1, v);
    } else if (r->remove) {
        json_object_del(node, seg);
        __atomic_add_fetch(&r->redacted, 1, __ATOMIC_RELAXED);
    } else {
        json_object_set_new(node, seg, json_string(r->censor));
        __atomic_add_fetch(&r->redacted, 1, __ATOMIC_RELAXED);
    }
}

typedef enum verdict { KEEP, CENSOR, DESCEND } verdict;

static verdict judge_slow(const sl__redactor *r, const sl_field *f, const char *key,
                          size_t klen);

/* Most keys are rejected by their first byte alone, the rest mostly by
 * their (length, first byte) pair, both inline; only a likely match walks
 * the paths. */
static inline verdict judge(const sl__redactor *r, const sl_field *f)
{
    const char *key = f->key != NULL ? f->key : "";
    unsigned char b = (unsigned char)key[0];
    bool json = r->star_first && f->type == SL_FIELD_JSON;
    if (!((r->first[b >> 6] >> (b & 63)) & 1) && !json) {
        return KEEP;
    }
    size_t klen = strlen(key);
    bool may = klen < 64 ? (r->pairs[klen][b >> 6] >> (b & 63)) & 1 : r->long_keys;
    if (!may && !json) {
        return KEEP; /* no path has this key's length and first byte */
    }
    return judge_slow(r, f, key, klen);
}

static verdict judge_slow(const sl__redactor *r, const sl_field *f, const char *key,
                          size_t klen)
{
    verdict v = KEEP;
    for (size_t i = 0; i < r->npaths; i++) {
        const rpath *p = &r->paths[i];
        if (p->full_len == klen && memcmp(p->full, key, klen) == 0) {
            return CENSOR; /* the key itself, flat or one segment */
        }
        if (klen > 0 && seg_match(p->seg[0], p->seg_len[0], key, klen)) {
            if (p->nseg == 1) {
                return CENSOR;
            }
            if (f->type == SL_FIELD_JSON && json_is_object(f->v.json)) {
                v = DESCEND;
            }
        }
    }
    return v;
}

bool sl__redact_fields(sl__redactor *r, const sl_field *in, size_t n, sl__redacted *out)
{
    out->fields = in;
    out->n = n;
    out->in = in;
    out->n_in = n;
    out->heap = NULL;
    out->copies = 0;
    /* One verdict per field; kept for the copy below when they fit. */
    uint8_t verdicts[SL__REDACT_STACK];
    size_t first = n;
    for (size_t i = 0; i < n; i++) {
        verdict v = judge(r, &in[i]);
        if (i < SL__REDACT_STACK) {
            verdicts[i] = (uint8_t)v;
        }
        if (v != KEEP && first == n) {
            first = i;
            if (i >= SL__REDACT_STACK) {
                break;
            }
        }
    }
    if (first == n) {
        return true; /* the common case: nothing to change, nothing copied */
    }
    sl_field *dst = out->stack;
    if (n > SL__REDACT_STACK) {
        dst = out->heap = sl__malloc(n * sizeof(sl_field));
        if (dst == NULL) {
            return false;
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const sl_field *f = &in[i];
        verdict v = i < first              ? KEEP
                    : i < SL__REDACT_STACK ? (verdict)verdicts[i]
                                           : judge(r, f);
        if (v == KEEP) {
            dst[m++] = *f;
            continue;
        }
        if (v == CENSOR) {
            __atomic_add_fetch(&r->redacted, 1, __ATOMIC_RELAXED);
            if (!r->remove) {
                dst[m] = *f;
                dst[m].type = SL_FIELD_STR;
                dst[m].len = SL_NPOS;
                dst[m].v.s = r->censor;
                m++;
            }
            continue;
        }
        json_t *copy = json_deep_copy(f->v.json);
        if (copy == NULL) {
            sl__redacted_release(out);
            return false;
        }
        size_t klen = strlen(f->key);
        for (size_t k = 0; k < r->npaths; k++) {
            const rpath *p = &r->paths[k];
            if (p->nseg > 1 && seg_match(p->seg[0], p->seg_len[0], f->key, klen)) {
                redact_json(r, p, 1, copy);
            }
        }
        dst[m] = *f;
        dst[m].v.json = copy;
        m++;
        out->copies++;
    }
    out->fields = dst;
    out->n = m;
    return true;
}

void sl__redacted_release(sl__redacted *red)
{
    if (red->copies > 0) {
        for (size_t i = 0; i < red->n; i++) {
            const sl_field *f = &red->fields[i];
            if (f->type == SL_FIELD_JSON && f->v.json != NULL) {
                /* only the copies are ours; they are the values no caller has */
                bool ours = true;
                for (size_t k = 0; k < red->n_in && ours; k++) {
                    ours = red->in[k].v.json != f->v.json;
                }
                if (ours) {
                    json_decref((json_t *)f->v.json);
                }
            }
        }
        red->copies = 0;
    }
    sl__free(red->heap);
    red->heap = NULL;
}

uint64_t sl__redactor_count(const sl__redactor *r)
{
    return __atomic_load_n(&r->redacted, __ATOMIC_RELAXED);
}
