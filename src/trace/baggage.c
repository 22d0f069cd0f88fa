/*
 * baggage.c - W3C Baggage: parse, format, look up and derive.
 *
 *   baggage-string = list-member 0*179( OWS "," OWS list-member )
 *   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
 *   property       = key OWS "=" OWS value / key OWS
 *   key            = token                     ; RFC 7230 tchar+
 *   value          = *baggage-octet            ; percent-encoded UTF-8
 *   baggage-octet  = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
 *
 * A baggage is built once into a single allocation (header, entry table,
 * then the strings) and never changes afterwards, so it can be shared
 * between threads and context entries with nothing but an atomic count.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "trace/trace_internal.h"

typedef struct bentry {
    const char *key;
    const char *value;
    size_t value_len;
    const char *props;
} bentry;

struct sl_baggage {
    atomic_size_t refs;
    size_t count;
    bentry *entries;
    /* entries[count], then the NUL-terminated strings */
};

/* ---- character classes ---------------------------------------------------- */

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int is_token(const char *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)p[i])) {
            return 0;
        }
    }
    return 1;
}

/* ---- a growable byte buffer for building ----------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void buf_put(sbuf *b, const void *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            cap *= 2;
        }
        char *p = sl__realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_byte(sbuf *b, char c)
{
    buf_put(b, &c, 1);
}

/* ---- the builder ------------------------------------------------------------ */

typedef struct item {
    size_t key, key_len, val, val_len, props, props_len; /* offsets into strings */
} item;

typedef struct builder {
    item items[SL_BAGGAGE_MAX_MEMBERS];
    size_t n;
    sbuf strings;
} builder;

/* Not zeroed: items[] is written before it is read, and it is 8 KiB. */
static builder *builder_new(void)
{
    builder *bd = sl__malloc(sizeof *bd);
    if (bd != NULL) {
        bd->n = 0;
        memset(&bd->strings, 0, sizeof bd->strings);
    }
    return bd;
}

static sl_baggage *build(builder *bd)
{
    if (bd->n == 0 || bd->strings.oom) {
        return NULL;
    }
    size_t total = sizeof(sl_baggage) + bd->n * sizeof(bentry) + bd->strings.len;
    sl_baggage *g = sl__malloc(total);
    if (g == NULL) {
        return NULL;
    }
    atomic_init(&g->refs, 1);
    g->count = bd->n;
    g->entries = (bentry *)(g + 1);
    char *str = (char *)(g->entries + bd->n);
    memcpy(str, bd->strings.p, bd->strings.len);
    for (size_t i = 0; i < bd->n; i++) {
        g->entries[i].key = str + bd->items[i].key;
        g->entries[i].value = str + bd->items[i].val;
        g->entries[i].value_len = bd->items[i].val_len;
        g->entries[i].props = str + bd->items[i].props;
    }
    return g;
}

/* Adds one entry; value already decoded; props already normalised. */
static void add_item(builder *bd, const char *k, size_t kn, const char *v, size_t vn,
                     const char *pr, size_t pn)
{
    item *it = &bd->items[bd->n++];
    it->key = bd->strings.len;
    it->key_len = kn;
    buf_put(&bd->strings, k, kn);
    buf_byte(&bd->strings, '\0');
    it->val = bd->strings.len;
    it->val_len = vn;
    buf_put(&bd->strings, v, vn);
    buf_byte(&bd->strings, '\0');
    it->props = bd->strings.len;
    it->props_len = pn;
    buf_put(&bd->strings, pr, pn);
    buf_byte(&bd->strings, '\0');
}

/* ---- percent coding and UTF-8 ------------------------------------------------ */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f; /* no surrogates */
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}

/*
 * Percent-decodes [p, p+n) into tmp, then appends it to out with invalid
 * UTF-8 replaced by U+FFFD. Returns -1 on a malformed escape.
 */
static int decode_value(const char *p, size_t n, sbuf *tmp, sbuf *out)
{
    tmp->len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= n) {
                return -1;
            }
            int hi = hexval((unsigned char)p[i + 1]);
            int lo = hexval((unsigned char)p[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            buf_byte(tmp, (char)(hi * 16 + lo));
            i += 2;
        } else {
            buf_byte(tmp, (char)c);
        }
    }
    const unsigned char *s = (const unsigned char *)tmp->p;
    size_t i = 0;
    while (i < tmp->len) {
        size_t k = utf8_seq(s + i, tmp->len - i);
        if (k == 0) {
            buf_put(out, "\xef\xbf\xbd", 3);
            i++;
        } else {
            buf_put(out, s + i, k);
            i += k;
        }
    }
    return 0;
}

/* Appends v percent-encoded: baggage-octets but '%' as they are, the rest %XX. */
static void append_encoded(sbuf *out, const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (is_octet(c) && c != '%') {
            buf_byte(out, (char)c);
        } else {
            char e[3] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15]};
            buf_put(out, e, 3);
        }
    }
}

/*
 * A property value, percent-decoded like a member's value (W3C Baggage: the
 * same encoding; invalid UTF-8 after decoding becomes U+FFFD), then encoded
 * again in the one canonical form, so that "p=%41" and "p=A" are stored
 * alike. Returns -1 on a malformed escape.
 */
static int normalise_prop_value(const char *v, size_t n, sbuf *out)
{
    sbuf tmp = {0}, dec = {0};
    int r = decode_value(v, n, &tmp, &dec);
    if (r == 0) {
        append_encoded(out, dec.p, dec.len);
        out->oom |= tmp.oom | dec.oom;
    }
    sl__free(tmp.p);
    sl__free(dec.p);
    return r;
}

/*
 * Validates and normalises the properties [p, p+n) (text after the first
 * ';', itself ';'-separated) into out as "k=v;flag", values in canonical
 * percent-encoding. Returns -1 if invalid.
 */
static int normalise_props(const char *p, size_t n, sbuf *out)
{
    const char *end = p + n;
    const char *cur = p;
    int first = 1;
    for (;;) {
        const char *semi = memchr(cur, ';', (size_t)(end - cur));
        const char *a = cur, *b = semi ? semi : end;
        sl__trim_blanks(&a, &b);
        const char *eq = memchr(a, '=', (size_t)(b - a));
        const char *ke = eq ? eq : b;
        const char *ka = a;
        sl__trim_blanks(&ka, &ke);
        if (!is_token(ka, (size_t)(ke - ka))) {
            return -1;
        }
        if (!first) {
            buf_byte(out, ';');
        }
        first = 0;
        buf_put(out, ka, (size_t)(ke - ka));
        if (eq != NULL) {
            const char *va = eq + 1, *vb = b;
            sl__trim_blanks(&va, &vb);
            for (const char *q = va; q < vb; q++) {
                if (!is_octet((unsigned char)*q)) {
                    return -1;
                }
            }
            buf_byte(out, '=');
            if (normalise_prop_value(va, (size_t)(vb - va), out) != 0) {
                return -1;
            }
        }
        if (semi == NULL) {
            return 0;
        }
        cur = semi + 1;
    }
}

/* ---- parse ------------------------------------------------------------------- */

/* Parses one member [a, b) (already trimmed, non-empty). 0 ok, -1 invalid. */
static int parse_member(builder *bd, const char *a, const char *b, sbuf *tmp, sbuf *val,
                        sbuf *props)
{
    const char *semi = memchr(a, ';', (size_t)(b - a));
    const char *kv_end = semi ? semi : b;
    const char *eq = memchr(a, '=', (size_t)(kv_end - a));
    if (eq == NULL) {
        return -1;
    }
    const char *ka = a, *ke = eq;
    sl__trim_blanks(&ka, &ke);
    const char *va = eq + 1, *ve = kv_end;
    sl__trim_blanks(&va, &ve);
    if (!is_token(ka, (size_t)(ke - ka))) {
        return -1;
    }
    for (const char *q = va; q < ve; q++) {
        if (!is_octet((unsigned char)*q)) {
            return -1;
        }
    }
    val->len = 0;
    props->len = 0;
    if (decode_value(va, (size_t)(ve - va), tmp, val) != 0) {
        return -1;
    }
    if (semi != NULL && normalise_props(semi + 1, (size_t)(b - semi - 1), props) != 0) {
        return -1;
    }
    if (tmp->oom || val->oom || props->oom) {
        return -2;
    }
    add_item(bd, ka, (size_t)(ke - ka), val->p ? val->p : "", val->len,
             props->p ? props->p : "", props->len);
    return 0;
}

sl_status sl_baggage_parse(const char *header, size_t len, sl_baggage **out,
                           size_t *dropped)
{
    if (dropped != NULL) {
        *dropped = 0;
    }
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (header == NULL) {
        return SL_EINVAL;
    }
    const char *p = header, *end = header + len;
    sl__trim_blanks(&p, &end);
    if (p == end) {
        return SL_OK;
    }
    builder *bd = builder_new();
    if (bd == NULL) {
        return SL_ENOMEM;
    }
    sbuf tmp = {0}, val = {0}, props = {0};
    size_t nd = 0;
    sl_status st = SL_OK;
    const char *cur = p;
    for (;;) {
        const char *comma = memchr(cur, ',', (size_t)(end - cur));
        const char *a = cur, *b = comma ? comma : end;
        sl__trim_blanks(&a, &b);
        if (a < b) {
            if (bd->n == SL_BAGGAGE_MAX_MEMBERS ||
                (size_t)(b - p) > SL_BAGGAGE_MAX_BYTES) {
                nd++;
            } else {
                int r = parse_member(bd, a, b, &tmp, &val, &props);
                if (r == -2) {
                    st = SL_ENOMEM;
                    break;
                }
                nd += r != 0;
            }
        }
        if (comma == NULL) {
            break;
        }
        cur = comma + 1;
    }
    if (st == SL_OK && bd->n > 0) {
        *out = build(bd);
        if (*out == NULL) {
            st = SL_ENOMEM;
        }
    }
    sl__free(tmp.p);
    sl__free(val.p);
    sl__free(props.p);
    sl__free(bd->strings.p);
    sl__free(bd);
    if (dropped != NULL) {
        *dropped = nd;
    }
    return st;
}

/* ---- format ------------------------------------------------------------------- */

/* Appends the encoded value; returns its length. */
static size_t encode_value(const char *v, size_t n, char *out, size_t cap, size_t at)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (is_octet(c) && c != '%') {
            if (at + w < cap) {
                out[at + w] = (char)c;
            }
            w++;
        } else {
            char e[3] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15]};
            for (int k = 0; k < 3; k++) {
                if (at + w < cap) {
                    out[at + w] = e[k];
                }
                w++;
            }
        }
    }
    return w;
}

static size_t put(char *out, size_t cap, size_t at, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (at + i < cap) {
            out[at + i] = s[i];
        }
    }
    return n;
}

/* Formats the first `count` entries; returns the length (may exceed cap). */
size_t sl__baggage_format_n(const sl_baggage *b, size_t count, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; b != NULL && i < count && i < b->count; i++) {
        const bentry *e = &b->entries[i];
        if (i > 0) {
            n += put(buf, cap, n, ",", 1);
        }
        n += put(buf, cap, n, e->key, strlen(e->key));
        n += put(buf, cap, n, "=", 1);
        n += encode_value(e->value, e->value_len, buf, cap, n);
        size_t pn = strlen(e->props);
        if (pn > 0) {
            n += put(buf, cap, n, ";", 1);
            n += put(buf, cap, n, e->props, pn);
        }
    }
    return n;
}

sl_status sl_baggage_format(const sl_baggage *b, char *buf, size_t cap, size_t *out_len)
{
    if (buf == NULL) {
        return SL_EINVAL;
    }
    size_t n = sl__baggage_format_n(b, SIZE_MAX, buf, cap);
    if (out_len != NULL) {
        *out_len = n;
    }
    if (n + 1 > cap) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return SL_ERANGE;
    }
    buf[n] = '\0';
    return SL_OK;
}

/* ---- access ------------------------------------------------------------------- */

size_t sl_baggage_count(const sl_baggage *b)
{
    return b ? b->count : 0;
}

sl_status sl_baggage_entry(const sl_baggage *b, size_t i, const char **key,
                           const char **value, size_t *value_len, const char **properties)
{
    if (b == NULL || i >= b->count) {
        return SL_ENOENT;
    }
    const bentry *e = &b->entries[i];
    if (key) {
        *key = e->key;
    }
    if (value) {
        *value = e->value;
    }
    if (value_len) {
        *value_len = e->value_len;
    }
    if (properties) {
        *properties = e->props;
    }
    return SL_OK;
}

const char *sl__baggage_value(const sl_baggage *b, const char *key, size_t key_len,
                              size_t *value_len)
{
    for (size_t i = b ? b->count : 0; i-- > 0;) {
        const bentry *e = &b->entries[i];
        if (strncmp(e->key, key, key_len) == 0 && e->key[key_len] == '\0') {
            if (value_len) {
                *value_len = e->value_len;
            }
            return e->value;
        }
    }
    return NULL;
}

sl_status sl_baggage_get(const sl_baggage *b, const char *key, const char **value,
                         size_t *value_len)
{
    if (key == NULL) {
        return SL_EINVAL;
    }
    size_t n;
    const char *v = sl__baggage_value(b, key, strlen(key), &n);
    if (v == NULL) {
        return SL_ENOENT;
    }
    if (value) {
        *value = v;
    }
    if (value_len) {
        *value_len = n;
    }
    return SL_OK;
}

/* ---- derive ------------------------------------------------------------------- */

/* Copies b's entries except `skip` (NULL: none) into a fresh builder. */
static builder *copy_except(const sl_baggage *b, const char *skip)
{
    builder *bd = builder_new();
    if (bd == NULL) {
        return NULL;
    }
    for (size_t i = 0; b != NULL && i < b->count; i++) {
        const bentry *e = &b->entries[i];
        if (skip != NULL && strcmp(e->key, skip) == 0) {
            continue;
        }
        add_item(bd, e->key, strlen(e->key), e->value, e->value_len, e->props,
                 strlen(e->props));
    }
    return bd;
}

static void builder_free(builder *bd)
{
    if (bd != NULL) {
        sl__free(bd->strings.p);
        sl__free(bd);
    }
}

sl_status sl_baggage_set(const sl_baggage *b, const char *key, const char *value,
                         const char *properties, sl_baggage **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (key == NULL || value == NULL || !is_token(key, strlen(key))) {
        return SL_EINVAL;
    }
    sbuf props = {0};
    if (properties != NULL && properties[0] != '\0' &&
        normalise_props(properties, strlen(properties), &props) != 0) {
        sl__free(props.p);
        return SL_EINVAL;
    }
    builder *bd = copy_except(b, key);
    sl_status st = SL_OK;
    if (bd == NULL || props.oom) {
        st = SL_ENOMEM;
    } else if (bd->n >= SL_BAGGAGE_MAX_MEMBERS) {
        st = SL_ERANGE;
    } else {
        add_item(bd, key, strlen(key), value, strlen(value), props.p ? props.p : "",
                 props.len);
        *out = build(bd);
        if (*out == NULL) {
            st = SL_ENOMEM;
        } else if (sl__baggage_format_n(*out, SIZE_MAX, NULL, 0) > SL_BAGGAGE_MAX_BYTES) {
            sl_baggage_free(*out);
            *out = NULL;
            st = SL_ERANGE;
        }
    }
    sl__free(props.p);
    builder_free(bd);
    return st;
}

sl_status sl_baggage_remove(const sl_baggage *b, const char *key, sl_baggage **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (key == NULL) {
        return SL_EINVAL;
    }
    builder *bd = copy_except(b, key);
    if (bd == NULL || bd->strings.oom) {
        builder_free(bd);
        return SL_ENOMEM;
    }
    sl_status st = SL_OK;
    if (bd->n > 0) {
        *out = build(bd);
        st = *out ? SL_OK : SL_ENOMEM;
    }
    builder_free(bd);
    return st;
}

/* ---- references ----------------------------------------------------------------- */

sl_baggage *sl_baggage_ref(const sl_baggage *b)
{
    sl_baggage *m = (sl_baggage *)(uintptr_t)b; /* the count is not part of the value */
    if (m != NULL) {
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    }
    return m;
}

void sl_baggage_free(sl_baggage *b)
{
    if (b != NULL && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        sl__free(b);
    }
}

sl_status sl_baggage_property(const sl_baggage *b, size_t i, const char *name, char *buf,
                              size_t cap, size_t *len)
{
    if (name == NULL || (buf == NULL && cap > 0)) {
        return SL_EINVAL;
    }
    const char *props = NULL;
    if (sl_baggage_entry(b, i, NULL, NULL, NULL, &props) != SL_OK) {
        return SL_ENOENT;
    }
    size_t nn = strlen(name);
    const char *end = props + strlen(props);
    for (const char *cur = props; cur < end;) {
        const char *semi = memchr(cur, ';', (size_t)(end - cur));
        const char *pe = semi ? semi : end;
        const char *eq = memchr(cur, '=', (size_t)(pe - cur));
        const char *ke = eq ? eq : pe;
        if ((size_t)(ke - cur) == nn && memcmp(cur, name, nn) == 0) {
            sbuf tmp = {0}, dec = {0};
            if (eq != NULL &&
                decode_value(eq + 1, (size_t)(pe - eq - 1), &tmp, &dec) != 0) {
                dec.oom = 1; /* cannot happen: stored values were checked */
            }
            sl_status st = tmp.oom || dec.oom ? SL_ENOMEM : SL_OK;
            if (len != NULL) {
                *len = dec.len;
            }
            if (st == SL_OK && dec.len + 1 > cap) {
                st = SL_ERANGE;
            } else if (st == SL_OK) {
                if (dec.len > 0) {
                    memcpy(buf, dec.p, dec.len);
                }
                buf[dec.len] = '\0';
            }
            sl__free(tmp.p);
            sl__free(dec.p);
            return st;
        }
        cur = semi ? semi + 1 : end;
    }
    return SL_ENOENT;
}
