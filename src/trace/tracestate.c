/*
 * tracestate.c - the W3C tracestate header, Trace Context Level 2:
 *
 *   list        = list-member 0*31( OWS "," OWS list-member )
 *   list-member = key "=" value / OWS
 *   key         = ( lcalpha / DIGIT ) 0*255 ( keychar )
 *   keychar     = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
 *   value       = 0*255( chr ) nblk-chr      ; chr = %x20 / nblk-chr
 *   nblk-chr    = %x21-2B / %x2D-3C / %x3E-7E
 *
 * Empty and blank-only members are allowed and do not count towards the 32
 * members. A member that breaks the grammar, or a 33rd member, makes the
 * whole header invalid (it is not passed on). Duplicate keys do not (the
 * 2023 revision): spanlog keeps the first, leftmost, occurrence of a key —
 * the most recently updated one, since a vendor moves its updated entry to
 * the left — and removes the later ones. A valid list longer than
 * SL_TRACESTATE_MAX is truncated as the spec says: whole entries, those
 * longer than 128 characters first (from the right), then from the end.
 *
 * A list that needs neither is kept as received (outer blanks trimmed);
 * otherwise, and whenever the API below edits it, it is rebuilt as
 * `key=value` entries joined by ',' with no blanks.
 */
#include "trace/trace_internal.h"

#define MAX_KEY            256
#define MAX_VALUE          256
#define TRUNCATE_FIRST_LEN 128 /* entries longer than this go first */

static inline int is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline int is_keychar(char c)
{
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/' ||
           c == '@';
}

static inline int is_value_char(char c)
{
    return c >= 0x20 && c <= 0x7e && c != ',' && c != '=';
}

static int valid_key(const char *k, size_t n)
{
    if (n < 1 || n > MAX_KEY || !(is_lcalpha(k[0]) || is_digit(k[0]))) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (!is_keychar(k[i])) {
            return 0;
        }
    }
    return 1;
}

static int valid_value(const char *v, size_t n)
{
    if (n < 1 || n > MAX_VALUE || v[n - 1] == ' ') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_value_char(v[i])) {
            return 0;
        }
    }
    return 1;
}

/* One non-empty member: [p, p+n) is `key=value`, the key kn bytes long. */
typedef struct member {
    const char *p;
    size_t n, kn;
} member;

/*
 * The next non-empty member of [*cur, end), blanks trimmed, into *m; *cur
 * moves past it. Returns 1 for a member, 0 at the end, -1 for one without
 * '=' (the grammar is checked by the caller).
 */
static int next_member(const char **cur, const char *end, member *m)
{
    while (*cur != NULL && *cur <= end) {
        const char *comma = memchr(*cur, ',', (size_t)(end - *cur));
        const char *a = *cur, *b = comma ? comma : end;
        *cur = comma ? comma + 1 : NULL;
        sl__trim_blanks(&a, &b);
        if (a == b) {
            continue;
        }
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (eq == NULL) {
            return -1;
        }
        m->p = a;
        m->n = (size_t)(b - a);
        m->kn = (size_t)(eq - a);
        return 1;
    }
    return 0;
}

static int member_valid(const member *m)
{
    return valid_key(m->p, m->kn) && valid_value(m->p + m->kn + 1, m->n - m->kn - 1);
}

static int same_key(const member *a, const char *key, size_t kn)
{
    return a->kn == kn && memcmp(a->p, key, kn) == 0;
}

/*
 * Drops members (keep[i] = 0) until the joined length fits max: those
 * longer than 128 characters first, rightmost first, then from the end.
 * Returns how many it dropped; *len is the joined length that remains.
 */
static unsigned truncate_members(const member *m, int *keep, size_t n, size_t *len,
                                 size_t max)
{
    unsigned dropped = 0;
    for (int pass = 0; pass < 2 && *len > max; pass++) {
        for (size_t i = n; i-- > 0 && *len > max;) {
            if (keep[i] && (pass == 1 || m[i].n > TRUNCATE_FIRST_LEN)) {
                keep[i] = 0;
                dropped++;
                size_t kept = 0;
                for (size_t k = 0; k < n; k++) {
                    kept += keep[k] != 0;
                }
                *len -= m[i].n + (kept > 0 ? 1 : 0);
            }
        }
    }
    return dropped;
}

/* Writes the kept members joined by ',' into ctx. */
static void store_members(sl_span_context *ctx, const member *m, const int *keep,
                          size_t n)
{
    char out[SL_TRACESTATE_MAX + 1];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep[i]) {
            if (len > 0) {
                out[len++] = ',';
            }
            memcpy(out + len, m[i].p, m[i].n);
            len += m[i].n;
        }
    }
    memcpy(ctx->tracestate, out, len); /* m may point into ctx->tracestate */
    ctx->tracestate[len] = '\0';
    ctx->tracestate_len = (uint16_t)len;
}

sl_status sl_tracestate_parse_info(const char *header, size_t len, sl_span_context *ctx,
                                   sl_tracestate_info *info)
{
    if (info != NULL) {
        memset(info, 0, sizeof *info);
    }
    if (ctx == NULL) {
        return SL_EINVAL;
    }
    ctx->tracestate_len = 0;
    ctx->tracestate[0] = '\0';
    if (header == NULL) {
        return SL_EINVAL;
    }
    const char *p = header;
    const char *end = header + len;
    sl__trim_blanks(&p, &end);
    member m[SL_TRACESTATE_MAX_MEMBERS];
    int keep[SL_TRACESTATE_MAX_MEMBERS];
    size_t n = 0, joined = 0;
    unsigned dups = 0;
    const char *cur = p;
    member one;
    int r;
    while ((r = next_member(&cur, end, &one)) != 0) {
        if (r < 0 || !member_valid(&one) || n == SL_TRACESTATE_MAX_MEMBERS) {
            return SL_EPARSE;
        }
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++) {
            dup = keep[i] && same_key(&m[i], one.p, one.kn);
        }
        m[n] = one;
        keep[n] = !dup;
        if (dup) {
            dups++;
        } else {
            joined += (joined > 0 ? 1 : 0) + one.n;
        }
        n++;
    }
    unsigned cut = truncate_members(m, keep, n, &joined, SL_TRACESTATE_MAX);
    size_t kept = n - dups - cut;
    if (info != NULL) {
        info->members = (uint32_t)kept;
        info->duplicates_removed = dups;
        info->truncated_removed = cut;
    }
    size_t raw = (size_t)(end - p);
    if (dups == 0 && cut == 0 && raw <= SL_TRACESTATE_MAX) {
        memcpy(ctx->tracestate, p, raw); /* as received */
        ctx->tracestate[raw] = '\0';
        ctx->tracestate_len = (uint16_t)raw;
    } else {
        store_members(ctx, m, keep, n);
    }
    return SL_OK;
}

sl_status sl_tracestate_parse(const char *header, size_t len, sl_span_context *ctx)
{
    return sl_tracestate_parse_info(header, len, ctx, NULL);
}

/* ---- entries ---------------------------------------------------------------- */

static const char *ts_end(const sl_span_context *ctx)
{
    size_t n = ctx->tracestate_len <= SL_TRACESTATE_MAX ? ctx->tracestate_len : 0;
    return ctx->tracestate + n;
}

size_t sl_tracestate_count(const sl_span_context *ctx)
{
    if (ctx == NULL) {
        return 0;
    }
    size_t n = 0;
    const char *cur = ctx->tracestate;
    member m;
    while (next_member(&cur, ts_end(ctx), &m) > 0) {
        n++;
    }
    return n;
}

sl_status sl_tracestate_entry(const sl_span_context *ctx, size_t index,
                              sl_tracestate_entry_view *out)
{
    if (ctx == NULL || out == NULL) {
        return SL_EINVAL;
    }
    const char *cur = ctx->tracestate;
    member m;
    for (size_t i = 0; next_member(&cur, ts_end(ctx), &m) > 0; i++) {
        if (i == index) {
            out->key = m.p;
            out->key_len = m.kn;
            out->value = m.p + m.kn + 1;
            out->value_len = m.n - m.kn - 1;
            return SL_OK;
        }
    }
    return SL_ENOENT;
}

sl_status sl_tracestate_get(const sl_span_context *ctx, const char *key,
                            const char **value, size_t *value_len)
{
    if (ctx == NULL || key == NULL) {
        return SL_EINVAL;
    }
    size_t kn = strlen(key);
    const char *cur = ctx->tracestate;
    member m;
    while (next_member(&cur, ts_end(ctx), &m) > 0) {
        if (same_key(&m, key, kn)) {
            if (value != NULL) {
                *value = m.p + kn + 1;
            }
            if (value_len != NULL) {
                *value_len = m.n - kn - 1;
            }
            return SL_OK;
        }
    }
    return SL_ENOENT;
}

/*
 * Rebuilds ctx's list with `first` (NULL: none) on the left and every
 * member whose key is not `key`; members past 32 or past the length limit
 * go by the truncation rule, never `first`. Returns whether `key` was found.
 */
static int rebuild(sl_span_context *ctx, const char *key, size_t kn, const member *first)
{
    member m[SL_TRACESTATE_MAX_MEMBERS + 1];
    int keep[SL_TRACESTATE_MAX_MEMBERS + 1];
    size_t n = 0, joined = 0;
    int found = 0;
    if (first != NULL) {
        m[n] = *first;
        keep[n++] = 1;
        joined = first->n;
    }
    const char *cur = ctx->tracestate;
    member one;
    while (next_member(&cur, ts_end(ctx), &one) > 0) {
        if (same_key(&one, key, kn)) {
            found = 1;
        } else if (n < SL_TRACESTATE_MAX_MEMBERS) {
            m[n] = one;
            keep[n++] = 1;
            joined += (joined > 0 ? 1 : 0) + one.n;
        }
        /* else: a 33rd member, the rightmost, is left out */
    }
    size_t from = first != NULL ? 1 : 0; /* the new entry is never dropped */
    (void)truncate_members(m + from, keep + from, n - from, &joined, SL_TRACESTATE_MAX);
    store_members(ctx, m, keep, n);
    return found;
}

sl_status sl_tracestate_set(sl_span_context *ctx, const char *key, const char *value)
{
    if (ctx == NULL || key == NULL || value == NULL) {
        return SL_EINVAL;
    }
    size_t kn = strlen(key), vn = strlen(value);
    if (!valid_key(key, kn) || !valid_value(value, vn)) {
        return SL_EPARSE;
    }
    if (kn + 1 + vn > SL_TRACESTATE_MAX) {
        return SL_ERANGE;
    }
    char entry[MAX_KEY + 1 + MAX_VALUE];
    memcpy(entry, key, kn);
    entry[kn] = '=';
    memcpy(entry + kn + 1, value, vn);
    member first = {entry, kn + 1 + vn, kn};
    (void)rebuild(ctx, key, kn, &first);
    return SL_OK;
}

sl_status sl_tracestate_remove(sl_span_context *ctx, const char *key)
{
    if (ctx == NULL || key == NULL) {
        return SL_EINVAL;
    }
    return rebuild(ctx, key, strlen(key), NULL) ? SL_OK : SL_ENOENT;
}
