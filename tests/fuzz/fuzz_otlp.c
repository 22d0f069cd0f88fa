/*
 * fuzz_otlp.c - the OTLP encoders (adapters/otlp): a span and a log record
 * built from the input (names, keys and values of any bytes: invalid UTF-8,
 * NUL, long runs; every field type, SL_JSON trees with hostile keys and
 * deep nesting, doubles from raw bits, events, links, status, dropped
 * counts, the OpenTelemetry limits) are encoded in protobuf and in
 * OTLP/JSON, alone and inside an Export*ServiceRequest, and decoded here
 * independently of the encoder:
 *
 *   protobuf  a wire-format reader written from the encoding guide: tags,
 *             minimal varints and lengths consume each message exactly, only
 *             the fields and wire types of trace.proto / logs.proto /
 *             common.proto, singular fields once, one AnyValue member;
 *   JSON      jansson, field by field in the OTLP/JSON mapping: lowercase hex
 *             ids, 64-bit integers and times as decimal strings, enums as
 *             numbers, NaN and infinities as strings.
 *
 * Every decoded value is compared with what went in after the documented
 * repair and limits (docs/otlp.md): each string is valid UTF-8 and equals
 * the input with one U+FFFD per maximal invalid subpart (in JSON a NUL is
 * U+FFFD too), cut first to the value length limit on a character boundary;
 * ids are 16 and 8 bytes; counts past a limit are left out and added to the
 * dropped count; a log record's attributes are bound then call fields, empty
 * keys dropped and counted, a repeated key keeping its first position and
 * its last value; every attribute list and key-value list has unique keys.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "adapters/otlp/otlp_internal.h"
#include "fuzz.h"

#define MAX_DEPTH  32 /* value.c: deeper SL_JSON values are sent empty */
#define MAX_ATTRS  40
#define MAX_EVENTS 10
#define MAX_LINKS  6
#define MAX_SUB    20 /* attributes per event or link */
#define OUT_MAX    (64u << 20)

/* The byte loops of the checks below are not what coverage should steer by
 * (and, instrumented, they were most of the time on long strings). */
#if defined(__clang__) && __clang_major__ >= 13
#define NOCOV __attribute__((no_sanitize("coverage")))
#else
#define NOCOV
#endif

/* ---- input ------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p;
    size_t n;
    void **owned; /* what to free at the end */
    size_t nowned, capowned;
} reader;

static void own(reader *r, void *p)
{
    if (r->nowned == r->capowned) {
        r->capowned = r->capowned ? 2 * r->capowned : 64;
        r->owned = realloc(r->owned, r->capowned * sizeof *r->owned);
        FUZZ_CHECK(r->owned != NULL);
    }
    r->owned[r->nowned++] = p;
}

static uint8_t take8(reader *r)
{
    if (r->n == 0) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

static uint64_t take64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | take8(r);
    }
    return v;
}

/*
 * Bytes: a length byte below 0x80, then that many bytes; a length byte with
 * the top bit set repeats a short chunk (up to 127 times 31 bytes), and 0xff
 * makes a chunk 512 times (up to 15.5 KiB), so long strings cost little
 * input. The copy is NUL-terminated (NUL inside is kept, *len counts).
 */
static char *take_bytes(reader *r, size_t *len)
{
    uint8_t l = take8(r);
    size_t reps = 1, n = l;
    if (l & 0x80) {
        reps = l == 0xff ? 512 : (size_t)(l & 0x7f) + 1;
        n = take8(r) % 32;
    }
    n = n < r->n ? n : r->n;
    char *s = malloc(n * reps + 1);
    FUZZ_CHECK(s != NULL);
    for (size_t i = 0; i < reps; i++) {
        if (n > 0) {
            memcpy(s + i * n, r->p, n);
        }
    }
    s[n * reps] = '\0';
    r->p += n;
    r->n -= n;
    *len = n * reps;
    own(r, s);
    return s;
}

static char *take_cstr(reader *r)
{
    size_t n;
    return take_bytes(r, &n);
}

static json_t *take_json(reader *r, int depth, int *budget)
{
    uint8_t t = take8(r);
    if (--*budget <= 0 || depth > 40) {
        t = 4; /* null */
    }
    switch (t % 8) {
    case 0: {
        size_t n;
        const char *s = take_bytes(r, &n);
        return json_stringn_nocheck(s, n);
    }
    case 1:
        return json_integer((json_int_t)take64(r));
    case 2: {
        uint64_t bits = take64(r);
        double d;
        memcpy(&d, &bits, 8);
        json_t *j = json_real(d); /* NULL for NaN and infinities */
        return j != NULL ? j : json_real(0.5);
    }
    case 3:
        return json_boolean(t & 8);
    case 4:
        return json_null();
    case 5: {
        json_t *a = json_array();
        for (int i = take8(r) % 6; i > 0; i--) {
            json_array_append_new(a, take_json(r, depth + 1, budget));
        }
        return a;
    }
    case 6: {
        json_t *o = json_object();
        for (int i = take8(r) % 6; i > 0; i--) {
            size_t kn;
            const char *k = take_bytes(r, &kn);
            json_object_setn_new_nocheck(o, k, kn, take_json(r, depth + 1, budget));
        }
        return o;
    }
    default: {
        /* a chain of arrays, to cross MAX_DEPTH */
        json_t *leaf = json_string("deep");
        for (int i = take8(r) % 48; i > 0; i--) {
            json_t *a = json_array();
            json_array_append_new(a, leaf);
            leaf = a;
        }
        return leaf;
    }
    }
}

/* One field of any type (span attributes: the types the span API keeps). */
static void take_field(reader *r, sl_field *f, bool span_types, json_t **js, size_t *nj)
{
    uint8_t t = take8(r);
    const char *key = (t & 0x80) && !span_types ? NULL : take_cstr(r);
    switch (t % (span_types ? 5 : 9)) {
    case 0: {
        size_t n;
        const char *s = take_bytes(r, &n);
        *f = (t & 0x40) ? SL_STR(key, s) : SL_STRN(key, s, n);
        if ((t & 0x60) == 0x60 && !span_types) {
            f->v.s = NULL; /* a NULL string: no value */
        }
        break;
    }
    case 1:
        *f = SL_INT(key, (int64_t)take64(r));
        break;
    case 2:
        *f = SL_UINT(key, take64(r));
        break;
    case 3: {
        uint64_t bits = take64(r);
        double d;
        memcpy(&d, &bits, 8);
        *f = SL_DOUBLE(key, d);
        break;
    }
    case 4:
        *f = SL_BOOL(key, t & 0x20);
        break;
    case 5:
        *f = SL_NULL(key);
        break;
    case 6:
        *f = SL_ERRNO(key, (int)(int8_t)take8(r));
        break;
    default: {
        int budget = 64;
        json_t *j = (t & 0x40) ? NULL : take_json(r, 0, &budget);
        js[(*nj)++] = j;
        *f = SL_JSON(key, j);
        break;
    }
    }
    if (f->key == NULL && span_types) {
        f->key = "";
    }
}

/* ---- expected strings ---------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

NOCOV static void bput(buf *b, const void *s, size_t n)
{
    if (b->cap - b->n < n) {
        b->cap = (b->n + n) * 2 + 16;
        b->p = realloc(b->p, b->cap);
        FUZZ_CHECK(b->p != NULL);
    }
    if (n > 0) {
        memcpy(b->p + b->n, s, n);
    }
    b->n += n;
}

/*
 * At p (avail > 0 bytes): the length of the well-formed UTF-8 sequence there
 * (Unicode table 3-7), or 0 with *sub set to the length of the maximal
 * subpart (at least 1) that replaces by one U+FFFD.
 */
NOCOV static size_t wf_seq(const uint8_t *p, size_t avail, size_t *sub)
{
    uint8_t c = p[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    *sub = 1;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return 0;
    }
    size_t k = 1;
    while (k < need && k < avail) {
        uint8_t x = p[k];
        if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xbf)) {
            break;
        }
        k++;
    }
    if (k == need) {
        return need;
    }
    *sub = k;
    return 0;
}

NOCOV static bool valid_utf8(const uint8_t *p, size_t n)
{
    for (size_t i = 0, sub; i < n;) {
        size_t k = wf_seq(p + i, n - i, &sub);
        if (k == 0) {
            return false;
        }
        i += k;
    }
    return true;
}

/* s with each maximal invalid subpart replaced by U+FFFD; in JSON NUL too. */
NOCOV static void repair(buf *out, const char *s, size_t n, bool json)
{
    const uint8_t *p = (const uint8_t *)s;
    out->n = 0;
    for (size_t i = 0, sub; i < n;) {
        size_t run = 0;
        while (i + run < n && p[i + run] < 0x80 && p[i + run] != 0) {
            run++;
        }
        if (run > 0) {
            bput(out, p + i, run);
            i += run;
            continue;
        }
        size_t k = wf_seq(p + i, n - i, &sub);
        if (k == 0 || (json && p[i] == 0)) {
            bput(out, "\xef\xbf\xbd", 3);
            i += k == 0 ? sub : 1;
        } else {
            bput(out, p + i, k);
            i += k;
        }
    }
}

/*
 * The property of an encoded string: valid UTF-8, and the repair of the
 * input, first cut to value_len bytes (0: no limit). The cut may step back
 * (at most 3 bytes) only over the start of a well-formed character that
 * the limit would split.
 */
static void check_str(const void *got, size_t gn, const char *in, size_t n,
                      uint32_t value_len, bool json)
{
    static buf want;
    FUZZ_CHECK(valid_utf8(got, gn));
    size_t lim = value_len != 0 && n > value_len ? value_len : n;
    for (size_t k = lim + 1; k-- > 0 && k + 3 >= lim;) {
        if (k < lim) {
            size_t sub, w = wf_seq((const uint8_t *)in + k, n - k, &sub);
            if (w <= lim - k) {
                continue; /* not a character the limit splits */
            }
        }
        repair(&want, in, k, json);
        if (want.n == gn && (gn == 0 || memcmp(want.p, got, gn) == 0)) {
            return;
        }
    }
    fprintf(stderr, "string %zu bytes (limit %u), got %zu\n", n, value_len, gn);
    FUZZ_CHECK(!"string does not match its input");
}

/* Keys the same as written: their JSON repairs (NUL and bad bytes U+FFFD) equal. */
static bool same_key(const char *a, size_t an, const char *b, size_t bn)
{
    static buf ra, rb;
    repair(&ra, a, an, true);
    repair(&rb, b, bn, true);
    return ra.n == rb.n && (ra.n == 0 || memcmp(ra.p, rb.p, ra.n) == 0);
}

/*
 * An attribute list as it should be sent: empty keys left out and counted,
 * a key the same as an earlier one (as written) updates that entry's value.
 */
static size_t resolve(const sl_field *in, size_t n, sl_field *out, uint32_t *dropped)
{
    size_t k = 0;
    *dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = in[i].key != NULL ? in[i].key : "";
        if (key[0] == '\0') {
            ++*dropped;
            continue;
        }
        size_t j = 0;
        while (j < k && !same_key(out[j].key, strlen(out[j].key), key, strlen(key))) {
            j++;
        }
        const char *first = j < k ? out[j].key : key;
        out[j] = in[i];
        out[j].key = first;
        k += j == k;
    }
    return k;
}

/* The members of an SL_JSON object as sent: the first of each key, with
 * the value of its last member. */
typedef struct member {
    const char *key;
    size_t len;
    const json_t *value;
} member;

static size_t members(const json_t *o, member **out)
{
    size_t n = json_object_size(o), k = 0;
    member *m = calloc(n ? n : 1, sizeof *m);
    for (void *it = json_object_iter((json_t *)o); it != NULL;
         it = json_object_iter_next((json_t *)o, it)) {
        const char *key = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it);
        size_t j = 0;
        while (j < k && !same_key(m[j].key, m[j].len, key, kl)) {
            j++;
        }
        if (j == k) {
            m[k].key = key;
            m[k++].len = kl;
        }
        m[j].value = json_object_iter_value(it);
    }
    *out = m;
    return k;
}

/* ---- protobuf reader ------------------------------------------------------------ */

typedef struct pbf {
    unsigned num, wire;
    uint64_t v;       /* varint, fixed32, fixed64 */
    const uint8_t *p; /* length-delimited */
    size_t n;
} pbf;

/* A minimal varint (at most 10 bytes, no redundant trailing zero group). */
static bool rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*p == end) {
            return false;
        }
        uint8_t b = *(*p)++;
        if (i == 9 && b > 1) {
            return false;
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if (i > 0 && b == 0) {
                return false; /* not minimal */
            }
            *v = x;
            return true;
        }
    }
    return false;
}

/* The next field of [*p, end); aborts on anything malformed. */
static void rd_field(const uint8_t **p, const uint8_t *end, pbf *f)
{
    uint64_t key;
    FUZZ_CHECK(rd_varint(p, end, &key));
    FUZZ_CHECK(key >> 3 >= 1 && key >> 3 <= 0x1fffffff);
    f->num = (unsigned)(key >> 3);
    f->wire = (unsigned)(key & 7);
    f->p = NULL;
    f->n = 0;
    switch (f->wire) {
    case 0:
        FUZZ_CHECK(rd_varint(p, end, &f->v));
        break;
    case 1:
    case 5: {
        size_t w = f->wire == 1 ? 8 : 4;
        FUZZ_CHECK((size_t)(end - *p) >= w);
        f->v = 0;
        for (size_t i = 0; i < w; i++) {
            f->v |= (uint64_t)(*p)[i] << (8 * i);
        }
        *p += w;
        break;
    }
    case 2:
        FUZZ_CHECK(rd_varint(p, end, &f->v));
        FUZZ_CHECK(f->v <= (uint64_t)(end - *p));
        f->p = *p;
        f->n = (size_t)f->v;
        *p += f->n;
        break;
    default:
        FUZZ_CHECK(!"wire type never used by OTLP");
    }
}

/* Fields of one message, in order; singular fields seen once (bit per number). */
typedef struct msg {
    const uint8_t *p, *end;
    uint32_t seen;
} msg;

static msg msg_of(const uint8_t *p, size_t n)
{
    msg m = {p, p + n, 0};
    return m;
}

/* Next field (false at the end); `repeated` is a bit set of repeated fields. */
static bool next(msg *m, pbf *f, uint32_t repeated)
{
    if (m->p == m->end) {
        return false;
    }
    rd_field(&m->p, m->end, f);
    FUZZ_CHECK(f->num < 32);
    uint32_t bit = 1u << f->num;
    if ((repeated & bit) == 0) {
        FUZZ_CHECK((m->seen & bit) == 0);
    }
    m->seen |= bit;
    return true;
}

#define BIT(n) (1u << (n))

/* ---- keys, uniqueness ------------------------------------------------------------- */

typedef struct keyset {
    const void *p[512];
    size_t n[512];
    size_t count;
} keyset;

static void key_unique(keyset *ks, const void *p, size_t n)
{
    for (size_t i = 0; i < ks->count; i++) {
        if (ks->n[i] == n && memcmp(ks->p[i], p, n) == 0) {
            fprintf(stderr, "repeated key \"%.*s\"\n", (int)n, (const char *)p);
            FUZZ_CHECK(!"keys of one list are unique");
        }
    }
    if (ks->count < 512) {
        ks->p[ks->count] = p;
        ks->n[ks->count++] = n;
    }
}

/* ---- AnyValue, protobuf -------------------------------------------------------- */

static void check_json_any_pb(const uint8_t *p, size_t n, const json_t *j, int depth,
                              uint32_t vl);

/* The one member of an AnyValue (false: empty, no value). */
static bool any_member(const uint8_t *p, size_t n, pbf *f)
{
    msg m = msg_of(p, n);
    if (!next(&m, f, 0)) {
        return false;
    }
    pbf extra;
    FUZZ_CHECK(!next(&m, &extra, 0)); /* a oneof: one member */
    FUZZ_CHECK(f->num >= 1 && f->num <= 7);
    static const unsigned wire[8] = {0, 2, 0, 0, 1, 2, 2, 2};
    FUZZ_CHECK(f->wire == wire[f->num]);
    return true;
}

/* KeyValue {1 key, 2 value}: both written, in order. */
static void kv_parts(const uint8_t *p, size_t n, pbf *key, pbf *value)
{
    msg m = msg_of(p, n);
    FUZZ_CHECK(next(&m, key, 0) && key->num == 1 && key->wire == 2);
    FUZZ_CHECK(next(&m, value, 0) && value->num == 2 && value->wire == 2);
    pbf extra;
    FUZZ_CHECK(!next(&m, &extra, 0));
}

static void check_json_kvlist_pb(const uint8_t *p, size_t n, const json_t *o, int depth,
                                 uint32_t vl)
{
    msg m = msg_of(p, n);
    pbf kv;
    keyset *ks = calloc(1, sizeof *ks);
    member *want;
    size_t nw = members(o, &want), i = 0;
    while (next(&m, &kv, BIT(1))) {
        FUZZ_CHECK(kv.num == 1 && kv.wire == 2 && i < nw);
        pbf k, v;
        kv_parts(kv.p, kv.n, &k, &v);
        check_str(k.p, k.n, want[i].key, want[i].len, 0, false);
        key_unique(ks, k.p, k.n);
        check_json_any_pb(v.p, v.n, want[i].value, depth + 1, vl);
        i++;
    }
    FUZZ_CHECK(i == nw);
    free(want);
    free(ks);
}

static void check_json_any_pb(const uint8_t *p, size_t n, const json_t *j, int depth,
                              uint32_t vl)
{
    pbf f;
    bool has = any_member(p, n, &f);
    if (j == NULL || depth > MAX_DEPTH || json_is_null(j)) {
        FUZZ_CHECK(!has);
        return;
    }
    FUZZ_CHECK(has);
    switch (json_typeof(j)) {
    case JSON_STRING:
        FUZZ_CHECK(f.num == 1);
        check_str(f.p, f.n, json_string_value(j), json_string_length(j), vl, false);
        break;
    case JSON_INTEGER:
        FUZZ_CHECK(f.num == 3 && (int64_t)f.v == (int64_t)json_integer_value(j));
        break;
    case JSON_REAL: {
        double d = json_real_value(j);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        FUZZ_CHECK(f.num == 4 && f.v == bits);
        break;
    }
    case JSON_TRUE:
    case JSON_FALSE:
        FUZZ_CHECK(f.num == 2 && f.v == (json_is_true(j) ? 1u : 0u));
        break;
    case JSON_ARRAY: {
        FUZZ_CHECK(f.num == 5);
        msg m = msg_of(f.p, f.n);
        pbf e;
        size_t i = 0;
        while (next(&m, &e, BIT(1))) {
            FUZZ_CHECK(e.num == 1 && e.wire == 2 && i < json_array_size(j));
            check_json_any_pb(e.p, e.n, json_array_get(j, i), depth + 1, vl);
            i++;
        }
        FUZZ_CHECK(i == json_array_size(j));
        break;
    }
    case JSON_OBJECT:
        FUZZ_CHECK(f.num == 6);
        check_json_kvlist_pb(f.p, f.n, j, depth, vl);
        break;
    default:
        FUZZ_CHECK(!"unknown json type");
    }
}

static const char *errno_text(int e, char *tmp, size_t cap)
{
    return strerror_r(e, tmp, cap); /* GNU: the text, maybe not in buf */
}

static void check_any_pb(const uint8_t *p, size_t n, const sl_field *f, uint32_t vl)
{
    pbf m;
    bool has = any_member(p, n, &m);
    switch (f->type) {
    case SL_FIELD_STR:
        FUZZ_CHECK(has == (f->v.s != NULL));
        if (has) {
            FUZZ_CHECK(m.num == 1);
            size_t len = f->len == SL_NPOS ? strlen(f->v.s) : f->len;
            check_str(m.p, m.n, f->v.s, len, vl, false);
        }
        break;
    case SL_FIELD_INT:
        FUZZ_CHECK(has && m.num == 3 && (int64_t)m.v == f->v.i);
        break;
    case SL_FIELD_UINT:
        FUZZ_CHECK(has);
        if (f->v.u <= (uint64_t)INT64_MAX) {
            FUZZ_CHECK(m.num == 3 && m.v == f->v.u);
        } else {
            char d[24];
            int k = snprintf(d, sizeof d, "%" PRIu64, f->v.u);
            FUZZ_CHECK(m.num == 1 && m.n == (size_t)k && memcmp(m.p, d, m.n) == 0);
        }
        break;
    case SL_FIELD_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &f->v.d, 8);
        FUZZ_CHECK(has && m.num == 4 && m.v == bits);
        break;
    }
    case SL_FIELD_BOOL:
        FUZZ_CHECK(has && m.num == 2 && m.v == (f->v.b ? 1u : 0u));
        break;
    case SL_FIELD_NULL:
        FUZZ_CHECK(!has);
        break;
    case SL_FIELD_ERRNO: {
        FUZZ_CHECK(has && m.num == 6);
        msg l = msg_of(m.p, m.n);
        pbf kv, k, v, av;
        FUZZ_CHECK(next(&l, &kv, BIT(1)) && kv.num == 1 && kv.wire == 2);
        kv_parts(kv.p, kv.n, &k, &v);
        FUZZ_CHECK(k.n == 5 && memcmp(k.p, "errno", 5) == 0);
        FUZZ_CHECK(any_member(v.p, v.n, &av) && av.num == 3 && (int64_t)av.v == f->v.i);
        FUZZ_CHECK(next(&l, &kv, BIT(1)) && kv.num == 1 && kv.wire == 2);
        kv_parts(kv.p, kv.n, &k, &v);
        FUZZ_CHECK(k.n == 5 && memcmp(k.p, "error", 5) == 0);
        FUZZ_CHECK(any_member(v.p, v.n, &av) && av.num == 1);
        char eb[256];
        const char *text = errno_text((int)f->v.i, eb, sizeof eb);
        check_str(av.p, av.n, text, strlen(text), 0, false);
        FUZZ_CHECK(!next(&l, &kv, BIT(1)));
        break;
    }
    case SL_FIELD_JSON:
        check_json_any_pb(p, n, f->v.json, 0, vl);
        break;
    default:
        FUZZ_CHECK(!"unknown field type");
    }
}

/* A KeyValue for field f. */
static void check_kv_pb(const uint8_t *p, size_t n, const sl_field *f, uint32_t vl,
                        keyset *ks)
{
    pbf k, v;
    kv_parts(p, n, &k, &v);
    const char *key = f->key != NULL ? f->key : "";
    check_str(k.p, k.n, key, strlen(key), 0, false);
    FUZZ_CHECK(k.n > 0); /* OpenTelemetry: keys are non-empty */
    key_unique(ks, k.p, k.n);
    check_any_pb(v.p, v.n, f, vl);
}

/* ---- AnyValue, JSON ------------------------------------------------------------- */

static void check_json_any_json(const json_t *got, const json_t *j, int depth,
                                uint32_t vl);

/* The one member of an AnyValue object (NULL: {}). */
static const json_t *json_member(const json_t *o, const char **name)
{
    FUZZ_CHECK(json_is_object(o));
    if (json_object_size(o) == 0) {
        return NULL;
    }
    FUZZ_CHECK(json_object_size(o) == 1);
    void *it = json_object_iter((json_t *)o);
    *name = json_object_iter_key(it);
    return json_object_iter_value(it);
}

static void check_jstr(const json_t *s, const char *in, size_t n, uint32_t vl)
{
    FUZZ_CHECK(json_is_string(s));
    check_str(json_string_value(s), json_string_length(s), in, n, vl, true);
}

/* "intValue": a decimal string (int64 in the JSON mapping). */
static void check_jint(const json_t *s, int64_t v)
{
    char d[24];
    int k = snprintf(d, sizeof d, "%" PRId64, v);
    FUZZ_CHECK(json_is_string(s) && json_string_length(s) == (size_t)k &&
               memcmp(json_string_value(s), d, (size_t)k) == 0);
}

static void check_jdouble(const json_t *got, double d)
{
    if (isnan(d)) {
        FUZZ_CHECK(json_is_string(got) && strcmp(json_string_value(got), "NaN") == 0);
    } else if (isinf(d)) {
        FUZZ_CHECK(json_is_string(got) &&
                   strcmp(json_string_value(got), d > 0 ? "Infinity" : "-Infinity") == 0);
    } else {
        FUZZ_CHECK(json_is_number(got));
        double back = json_number_value(got);
        FUZZ_CHECK(back == d && signbit(back) == signbit(d));
    }
}

static void check_json_any_json(const json_t *got, const json_t *j, int depth,
                                uint32_t vl)
{
    const char *name = NULL;
    const json_t *m = json_member(got, &name);
    if (j == NULL || depth > MAX_DEPTH || json_is_null(j)) {
        FUZZ_CHECK(m == NULL);
        return;
    }
    FUZZ_CHECK(m != NULL);
    switch (json_typeof(j)) {
    case JSON_STRING:
        FUZZ_CHECK(strcmp(name, "stringValue") == 0);
        check_jstr(m, json_string_value(j), json_string_length(j), vl);
        break;
    case JSON_INTEGER:
        FUZZ_CHECK(strcmp(name, "intValue") == 0);
        check_jint(m, json_integer_value(j));
        break;
    case JSON_REAL:
        FUZZ_CHECK(strcmp(name, "doubleValue") == 0);
        check_jdouble(m, json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        FUZZ_CHECK(strcmp(name, "boolValue") == 0 && json_is_boolean(m) &&
                   json_is_true(m) == json_is_true(j));
        break;
    case JSON_ARRAY: {
        FUZZ_CHECK(strcmp(name, "arrayValue") == 0 && json_object_size(m) == 1);
        const json_t *vals = json_object_get(m, "values");
        FUZZ_CHECK(json_is_array(vals) && json_array_size(vals) == json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++) {
            check_json_any_json(json_array_get(vals, i), json_array_get(j, i), depth + 1,
                                vl);
        }
        break;
    }
    case JSON_OBJECT: {
        FUZZ_CHECK(strcmp(name, "kvlistValue") == 0 && json_object_size(m) == 1);
        const json_t *vals = json_object_get(m, "values");
        member *want;
        size_t nw = members(j, &want);
        FUZZ_CHECK(json_is_array(vals) && json_array_size(vals) == nw);
        keyset *ks = calloc(1, sizeof *ks);
        for (size_t i = 0; i < nw; i++) {
            const json_t *kv = json_array_get(vals, i);
            FUZZ_CHECK(json_is_object(kv) && json_object_size(kv) == 2);
            const json_t *k = json_object_get(kv, "key");
            check_jstr(k, want[i].key, want[i].len, 0);
            key_unique(ks, json_string_value(k), json_string_length(k));
            check_json_any_json(json_object_get(kv, "value"), want[i].value, depth + 1,
                                vl);
        }
        free(want);
        free(ks);
        break;
    }
    default:
        FUZZ_CHECK(!"unknown json type");
    }
}

static void check_any_json(const json_t *got, const sl_field *f, uint32_t vl)
{
    const char *name = NULL;
    const json_t *m = json_member(got, &name);
    switch (f->type) {
    case SL_FIELD_STR:
        FUZZ_CHECK((m != NULL) == (f->v.s != NULL));
        if (m != NULL) {
            FUZZ_CHECK(strcmp(name, "stringValue") == 0);
            check_jstr(m, f->v.s, f->len == SL_NPOS ? strlen(f->v.s) : f->len, vl);
        }
        break;
    case SL_FIELD_INT:
        FUZZ_CHECK(m != NULL && strcmp(name, "intValue") == 0);
        check_jint(m, f->v.i);
        break;
    case SL_FIELD_UINT: {
        FUZZ_CHECK(m != NULL);
        FUZZ_CHECK(strcmp(name, f->v.u <= (uint64_t)INT64_MAX ? "intValue"
                                                              : "stringValue") == 0);
        char d[24];
        int k = snprintf(d, sizeof d, "%" PRIu64, f->v.u);
        FUZZ_CHECK(json_is_string(m) && json_string_length(m) == (size_t)k &&
                   memcmp(json_string_value(m), d, (size_t)k) == 0);
        break;
    }
    case SL_FIELD_DOUBLE:
        FUZZ_CHECK(m != NULL && strcmp(name, "doubleValue") == 0);
        check_jdouble(m, f->v.d);
        break;
    case SL_FIELD_BOOL:
        FUZZ_CHECK(m != NULL && strcmp(name, "boolValue") == 0 && json_is_boolean(m) &&
                   json_is_true(m) == f->v.b);
        break;
    case SL_FIELD_NULL:
        FUZZ_CHECK(m == NULL);
        break;
    case SL_FIELD_ERRNO: {
        FUZZ_CHECK(m != NULL && strcmp(name, "kvlistValue") == 0);
        const json_t *vals = json_object_get(m, "values");
        FUZZ_CHECK(json_is_array(vals) && json_array_size(vals) == 2);
        const json_t *e0 = json_array_get(vals, 0), *e1 = json_array_get(vals, 1);
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(e0, "key")), "errno") == 0);
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(e1, "key")), "error") == 0);
        check_jint(json_object_get(json_object_get(e0, "value"), "intValue"), f->v.i);
        char eb[256];
        const char *text = errno_text((int)f->v.i, eb, sizeof eb);
        check_jstr(json_object_get(json_object_get(e1, "value"), "stringValue"), text,
                   strlen(text), 0);
        break;
    }
    case SL_FIELD_JSON:
        check_json_any_json(got, f->v.json, 0, vl);
        break;
    default:
        FUZZ_CHECK(!"unknown field type");
    }
}

static void check_kv_json(const json_t *kv, const sl_field *f, uint32_t vl, keyset *ks)
{
    FUZZ_CHECK(json_is_object(kv) && json_object_size(kv) == 2);
    const json_t *k = json_object_get(kv, "key");
    const char *key = f->key != NULL ? f->key : "";
    check_jstr(k, key, strlen(key), 0);
    FUZZ_CHECK(json_string_length(k) > 0);
    key_unique(ks, json_string_value(k), json_string_length(k));
    check_any_json(json_object_get(kv, "value"), f, vl);
}

/* "attributes" of o: the first `keep` of f (absent when keep is 0). */
static void check_attrs_json(const json_t *o, const sl_field *f, size_t keep, uint32_t vl)
{
    const json_t *a = json_object_get(o, "attributes");
    if (keep == 0) {
        FUZZ_CHECK(a == NULL);
        return;
    }
    FUZZ_CHECK(json_is_array(a) && json_array_size(a) == keep);
    keyset *ks = calloc(1, sizeof *ks);
    for (size_t i = 0; i < keep; i++) {
        check_kv_json(json_array_get(a, i), &f[i], vl, ks);
    }
    free(ks);
}

/* A count: absent when 0, else a JSON number (uint32 in the mapping). */
static void check_count_json(const json_t *o, const char *name, uint64_t want)
{
    const json_t *c = json_object_get(o, name);
    if (want == 0) {
        FUZZ_CHECK(c == NULL);
    } else {
        FUZZ_CHECK(json_is_integer(c) && (uint64_t)json_integer_value(c) == want);
    }
}

static void check_hex_json(const json_t *s, const uint8_t *id, size_t n)
{
    char want[33];
    for (size_t i = 0; i < n; i++) {
        snprintf(want + 2 * i, 3, "%02x", id[i]);
    }
    FUZZ_CHECK(json_is_string(s) && strcmp(json_string_value(s), want) == 0);
}

/* *TimeUnixNano: a decimal string of the (non-negative) time. */
static void check_time_json(const json_t *s, int64_t t)
{
    char d[24];
    snprintf(d, sizeof d, "%" PRIu64, t > 0 ? (uint64_t)t : 0);
    FUZZ_CHECK(json_is_string(s) && strcmp(json_string_value(s), d) == 0);
}

static uint64_t nonneg(int64_t t)
{
    return t > 0 ? (uint64_t)t : 0;
}

static size_t min_z(size_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* ---- spans ----------------------------------------------------------------------- */

typedef struct span_in {
    sl_span_data d;
    sl_span_context ctx;
    sl_field attrs[MAX_ATTRS];
    sl_span_event_data ev[MAX_EVENTS];
    sl_field ev_attrs[MAX_EVENTS][MAX_SUB];
    sl_span_link_data links[MAX_LINKS];
    sl_field link_attrs[MAX_LINKS][MAX_SUB];
    /* the attribute lists as they should be sent (resolve()) */
    sl_field want[MAX_ATTRS], ev_want[MAX_EVENTS][MAX_SUB], link_want[MAX_LINKS][MAX_SUB];
    size_t nwant, ev_nwant[MAX_EVENTS], link_nwant[MAX_LINKS];
    uint32_t dwant, ev_dwant[MAX_EVENTS], link_dwant[MAX_LINKS];
} span_in;

static const span_in *cur_span; /* the checks below find the resolved lists here */

static uint32_t take_dropped(reader *r)
{
    uint8_t b = take8(r);
    return b == 0xff ? UINT32_MAX : b % 4;
}

/* n attributes of the span's types; for the span itself, keys unique (the
 * span API replaces a value set again), as the API makes them; events and
 * links keep what they are given. */
static size_t take_attrs(reader *r, sl_field *f, size_t max, bool unique)
{
    size_t n = take8(r) % (max + 1), k = 0;
    for (size_t i = 0; i < n && r->n > 0; i++) {
        take_field(r, &f[k], true, NULL, NULL);
        if (f[k].key[0] == '\0') {
            continue; /* the span API refuses empty keys */
        }
        bool dup = false;
        for (size_t j = 0; unique && j < k; j++) {
            dup |= strcmp(f[j].key, f[k].key) == 0;
        }
        if (dup) {
            continue;
        }
        k++;
    }
    return k;
}

static void take_span(reader *r, span_in *s)
{
    memset(s, 0, sizeof *s);
    sl_span_data *d = &s->d;
    uint8_t sel = take8(r);
    d->name = take_cstr(r);
    d->kind = (sl_span_kind)(take8(r) % 7);
    for (int i = 0; i < 16; i++) {
        s->ctx.trace_id.bytes[i] = take8(r);
    }
    for (int i = 0; i < 8; i++) {
        s->ctx.span_id.bytes[i] = take8(r);
    }
    s->ctx.flags = take8(r);
    size_t tl;
    const char *ts = take_bytes(r, &tl);
    tl = tl < SL_TRACESTATE_MAX ? tl : SL_TRACESTATE_MAX;
    memcpy(s->ctx.tracestate, ts, tl);
    s->ctx.tracestate_len = (uint16_t)tl;
    d->context = &s->ctx;
    if (sel & 1) {
        for (int i = 0; i < 8; i++) {
            d->parent_span_id.bytes[i] = take8(r);
        }
    }
    d->parent_remote = (sel & 2) != 0;
    d->start_ns = (int64_t)take64(r);
    d->end_ns = (int64_t)take64(r);
    d->status = (sl_span_status_code)(take8(r) % 3);
    d->status_message = (sel & 4) ? take_cstr(r) : "";
    d->attribute_count = take_attrs(r, s->attrs, MAX_ATTRS, true);
    d->attributes = s->attrs;
    s->nwant = resolve(s->attrs, d->attribute_count, s->want, &s->dwant);
    d->dropped_attributes = take_dropped(r);
    d->event_count = take8(r) % (MAX_EVENTS + 1);
    for (size_t i = 0; i < d->event_count; i++) {
        sl_span_event_data *e = &s->ev[i];
        e->name = (sel & 8) && i == 0 ? NULL : take_cstr(r);
        e->time_ns = (int64_t)take64(r);
        e->attribute_count = take_attrs(r, s->ev_attrs[i], MAX_SUB, false);
        s->ev_nwant[i] = resolve(e->attributes = s->ev_attrs[i], e->attribute_count,
                                 s->ev_want[i], &s->ev_dwant[i]);
        e->attributes = s->ev_attrs[i];
        e->dropped_attributes = take_dropped(r);
    }
    d->events = s->ev;
    d->dropped_events = take_dropped(r);
    d->link_count = take8(r) % (MAX_LINKS + 1);
    for (size_t i = 0; i < d->link_count; i++) {
        sl_span_link_data *l = &s->links[i];
        for (int k = 0; k < 16; k++) {
            l->trace_id.bytes[k] = take8(r);
        }
        for (int k = 0; k < 8; k++) {
            l->span_id.bytes[k] = take8(r);
        }
        l->flags = take8(r);
        l->remote = take8(r) & 1;
        l->tracestate = take_cstr(r);
        l->attribute_count = take_attrs(r, s->link_attrs[i], MAX_SUB, false);
        s->link_nwant[i] = resolve(l->attributes = s->link_attrs[i], l->attribute_count,
                                   s->link_want[i], &s->link_dwant[i]);
        l->attributes = s->link_attrs[i];
        l->dropped_attributes = take_dropped(r);
    }
    d->links = s->links;
    d->dropped_links = take_dropped(r);
}

static uint32_t want_flags(uint8_t trace_flags, int remote)
{
    return trace_flags | 0x100u | (remote ? 0x200u : 0);
}

static uint32_t want_kind(sl_span_kind k)
{
    return (unsigned)k <= SL_SPAN_CONSUMER ? (uint32_t)k + 1 : 1;
}

static void check_bytes(const pbf *f, const uint8_t *want, size_t n)
{
    FUZZ_CHECK(f->wire == 2 && f->n == n && memcmp(f->p, want, n) == 0);
}

static void check_event_pb(const pbf *ef, size_t ei, const sl__otlp_limits *lim)
{
    const sl_span_event_data *e = &cur_span->ev[ei];
    const sl_field *want = cur_span->ev_want[ei];
    size_t nwant = cur_span->ev_nwant[ei];
    msg m = msg_of(ef->p, ef->n);
    pbf f;
    size_t keep = min_z(nwant, lim->event_attr_count), na = 0;
    keyset *ks = calloc(1, sizeof *ks);
    bool name = false;
    uint64_t time = 0, dropped = 0;
    while (next(&m, &f, BIT(3))) {
        switch (f.num) {
        case 1:
            FUZZ_CHECK(f.wire == 1);
            time = f.v;
            break;
        case 2:
            FUZZ_CHECK(f.wire == 2);
            check_str(f.p, f.n, e->name ? e->name : "", e->name ? strlen(e->name) : 0, 0,
                      false);
            name = true;
            break;
        case 3:
            FUZZ_CHECK(f.wire == 2 && na < keep);
            check_kv_pb(f.p, f.n, &want[na++], lim->value_len, ks);
            break;
        case 4:
            FUZZ_CHECK(f.wire == 0);
            dropped = f.v;
            break;
        default:
            FUZZ_CHECK(!"unknown Span.Event field");
        }
    }
    FUZZ_CHECK(name && na == keep && time == nonneg(e->time_ns));
    FUZZ_CHECK(dropped ==
               e->dropped_attributes + (uint64_t)cur_span->ev_dwant[ei] + (nwant - keep));
    free(ks);
}

static void check_link_pb(const pbf *lf, size_t li, const sl__otlp_limits *lim)
{
    const sl_span_link_data *l = &cur_span->links[li];
    const sl_field *want = cur_span->link_want[li];
    size_t nwant = cur_span->link_nwant[li];
    msg m = msg_of(lf->p, lf->n);
    pbf f;
    size_t keep = min_z(nwant, lim->link_attr_count), na = 0;
    keyset *ks = calloc(1, sizeof *ks);
    uint64_t dropped = 0, flags = 0;
    bool tid = false, sid = false, ts = false;
    while (next(&m, &f, BIT(4))) {
        switch (f.num) {
        case 1:
            check_bytes(&f, l->trace_id.bytes, 16);
            tid = true;
            break;
        case 2:
            check_bytes(&f, l->span_id.bytes, 8);
            sid = true;
            break;
        case 3:
            FUZZ_CHECK(f.wire == 2 && f.n > 0);
            check_str(f.p, f.n, l->tracestate, strlen(l->tracestate), 0, false);
            ts = true;
            break;
        case 4:
            FUZZ_CHECK(f.wire == 2 && na < keep);
            check_kv_pb(f.p, f.n, &want[na++], lim->value_len, ks);
            break;
        case 5:
            FUZZ_CHECK(f.wire == 0);
            dropped = f.v;
            break;
        case 6:
            FUZZ_CHECK(f.wire == 5);
            flags = f.v;
            break;
        default:
            FUZZ_CHECK(!"unknown Span.Link field");
        }
    }
    FUZZ_CHECK(tid && sid && na == keep && ts == (l->tracestate[0] != '\0'));
    FUZZ_CHECK(dropped == l->dropped_attributes + (uint64_t)cur_span->link_dwant[li] +
                              (nwant - keep));
    FUZZ_CHECK(flags == want_flags(l->flags, l->remote));
    free(ks);
}

/* One Span message (the body of a ScopeSpans.spans entry). */
static void check_span_pb(const uint8_t *p, size_t n, const sl_span_data *d,
                          const sl__otlp_limits *lim)
{
    const sl_span_context *c = d->context;
    msg m = msg_of(p, n);
    pbf f;
    size_t keep = min_z(cur_span->nwant, lim->attr_count), na = 0;
    size_t ne = min_z(d->event_count, lim->event_count), ie = 0;
    size_t nl = min_z(d->link_count, lim->link_count), il = 0;
    keyset *ks = calloc(1, sizeof *ks);
    uint64_t v[17] = {0};
    bool tid = false, sid = false, parent = false, name = false, status = false;
    while (next(&m, &f, BIT(9) | BIT(11) | BIT(13))) {
        switch (f.num) {
        case 1:
            check_bytes(&f, c->trace_id.bytes, 16);
            tid = true;
            break;
        case 2:
            check_bytes(&f, c->span_id.bytes, 8);
            sid = true;
            break;
        case 3:
            FUZZ_CHECK(f.wire == 2 && f.n > 0);
            check_str(f.p, f.n, c->tracestate, c->tracestate_len, 0, false);
            v[3] = 1;
            break;
        case 4:
            check_bytes(&f, d->parent_span_id.bytes, 8);
            parent = true;
            break;
        case 5:
            FUZZ_CHECK(f.wire == 2);
            check_str(f.p, f.n, d->name, strlen(d->name), 0, false);
            name = true;
            break;
        case 6:
        case 10:
        case 12:
        case 14:
            FUZZ_CHECK(f.wire == 0);
            v[f.num] = f.v;
            break;
        case 7:
        case 8:
            FUZZ_CHECK(f.wire == 1);
            v[f.num] = f.v;
            break;
        case 9:
            FUZZ_CHECK(f.wire == 2 && na < keep);
            check_kv_pb(f.p, f.n, &cur_span->want[na++], lim->value_len, ks);
            break;
        case 11:
            FUZZ_CHECK(f.wire == 2 && ie < ne);
            check_event_pb(&f, ie++, lim);
            break;
        case 13:
            FUZZ_CHECK(f.wire == 2 && il < nl);
            check_link_pb(&f, il++, lim);
            break;
        case 15: {
            FUZZ_CHECK(f.wire == 2);
            msg sm = msg_of(f.p, f.n);
            pbf sf;
            bool msg_seen = false;
            uint64_t code = 0;
            while (next(&sm, &sf, 0)) {
                if (sf.num == 2) {
                    FUZZ_CHECK(sf.wire == 2 && sf.n > 0);
                    check_str(sf.p, sf.n, d->status_message, strlen(d->status_message), 0,
                              false);
                    msg_seen = true;
                } else {
                    FUZZ_CHECK(sf.num == 3 && sf.wire == 0);
                    code = sf.v;
                }
            }
            FUZZ_CHECK(code == (uint64_t)d->status);
            FUZZ_CHECK(msg_seen == (d->status_message[0] != '\0'));
            status = true;
            break;
        }
        case 16:
            FUZZ_CHECK(f.wire == 5);
            v[16] = f.v;
            break;
        default:
            FUZZ_CHECK(!"unknown Span field");
        }
    }
    FUZZ_CHECK(tid && sid && name);
    FUZZ_CHECK(v[3] == (c->tracestate_len > 0));
    FUZZ_CHECK(parent == sl_span_id_is_valid(d->parent_span_id));
    FUZZ_CHECK(v[6] == want_kind(d->kind));
    FUZZ_CHECK(v[7] == nonneg(d->start_ns) && v[8] == nonneg(d->end_ns));
    FUZZ_CHECK(na == keep && ie == ne && il == nl);
    FUZZ_CHECK(v[10] == d->dropped_attributes + (uint64_t)cur_span->dwant +
                            (cur_span->nwant - keep));
    FUZZ_CHECK(v[12] == d->dropped_events + (uint64_t)(d->event_count - ne));
    FUZZ_CHECK(v[14] == d->dropped_links + (uint64_t)(d->link_count - nl));
    FUZZ_CHECK(status ==
               (d->status != SL_SPAN_STATUS_UNSET || d->status_message[0] != '\0'));
    FUZZ_CHECK(v[16] == want_flags(c->flags, d->parent_remote));
    free(ks);
}

static void check_span_json(const json_t *o, const sl_span_data *d,
                            const sl__otlp_limits *lim)
{
    const sl_span_context *c = d->context;
    FUZZ_CHECK(json_is_object(o));
    check_hex_json(json_object_get(o, "traceId"), c->trace_id.bytes, 16);
    check_hex_json(json_object_get(o, "spanId"), c->span_id.bytes, 8);
    const json_t *ts = json_object_get(o, "traceState");
    if (c->tracestate_len > 0) {
        check_jstr(ts, c->tracestate, c->tracestate_len, 0);
    } else {
        FUZZ_CHECK(ts == NULL);
    }
    const json_t *ps = json_object_get(o, "parentSpanId");
    if (sl_span_id_is_valid(d->parent_span_id)) {
        check_hex_json(ps, d->parent_span_id.bytes, 8);
    } else {
        FUZZ_CHECK(ps == NULL);
    }
    FUZZ_CHECK(json_integer_value(json_object_get(o, "flags")) ==
               want_flags(c->flags, d->parent_remote));
    check_jstr(json_object_get(o, "name"), d->name, strlen(d->name), 0);
    FUZZ_CHECK(json_integer_value(json_object_get(o, "kind")) == want_kind(d->kind));
    check_time_json(json_object_get(o, "startTimeUnixNano"), d->start_ns);
    check_time_json(json_object_get(o, "endTimeUnixNano"), d->end_ns);
    const span_in *s = cur_span;
    size_t keep = min_z(s->nwant, lim->attr_count);
    check_attrs_json(o, s->want, keep, lim->value_len);
    check_count_json(o, "droppedAttributesCount",
                     d->dropped_attributes + (uint64_t)s->dwant + (s->nwant - keep));
    size_t ne = min_z(d->event_count, lim->event_count);
    const json_t *evs = json_object_get(o, "events");
    FUZZ_CHECK(ne == 0 ? evs == NULL : json_array_size(evs) == ne);
    for (size_t i = 0; i < ne; i++) {
        const sl_span_event_data *e = &d->events[i];
        const json_t *ej = json_array_get(evs, i);
        check_time_json(json_object_get(ej, "timeUnixNano"), e->time_ns);
        check_jstr(json_object_get(ej, "name"), e->name ? e->name : "",
                   e->name ? strlen(e->name) : 0, 0);
        size_t k = min_z(s->ev_nwant[i], lim->event_attr_count);
        uint64_t dropped =
            e->dropped_attributes + (uint64_t)s->ev_dwant[i] + (s->ev_nwant[i] - k);
        check_attrs_json(ej, s->ev_want[i], k, lim->value_len);
        check_count_json(ej, "droppedAttributesCount", dropped);
        FUZZ_CHECK(json_object_size(ej) ==
                   2 + (k > 0 ? 1u : 0u) + (dropped > 0 ? 1u : 0u));
    }
    check_count_json(o, "droppedEventsCount",
                     d->dropped_events + (uint64_t)(d->event_count - ne));
    size_t nl = min_z(d->link_count, lim->link_count);
    const json_t *lks = json_object_get(o, "links");
    FUZZ_CHECK(nl == 0 ? lks == NULL : json_array_size(lks) == nl);
    for (size_t i = 0; i < nl; i++) {
        const sl_span_link_data *l = &d->links[i];
        const json_t *lj = json_array_get(lks, i);
        check_hex_json(json_object_get(lj, "traceId"), l->trace_id.bytes, 16);
        check_hex_json(json_object_get(lj, "spanId"), l->span_id.bytes, 8);
        const json_t *lts = json_object_get(lj, "traceState");
        if (l->tracestate[0] != '\0') {
            check_jstr(lts, l->tracestate, strlen(l->tracestate), 0);
        } else {
            FUZZ_CHECK(lts == NULL);
        }
        size_t k = min_z(s->link_nwant[i], lim->link_attr_count);
        check_attrs_json(lj, s->link_want[i], k, lim->value_len);
        check_count_json(lj, "droppedAttributesCount",
                         l->dropped_attributes + (uint64_t)s->link_dwant[i] +
                             (s->link_nwant[i] - k));
        FUZZ_CHECK(json_integer_value(json_object_get(lj, "flags")) ==
                   want_flags(l->flags, l->remote));
    }
    check_count_json(o, "droppedLinksCount",
                     d->dropped_links + (uint64_t)(d->link_count - nl));
    const json_t *st = json_object_get(o, "status");
    if (d->status != SL_SPAN_STATUS_UNSET || d->status_message[0] != '\0') {
        FUZZ_CHECK(json_integer_value(json_object_get(st, "code")) == d->status);
        const json_t *sm = json_object_get(st, "message");
        if (d->status_message[0] != '\0') {
            check_jstr(sm, d->status_message, strlen(d->status_message), 0);
        } else {
            FUZZ_CHECK(sm == NULL);
        }
    } else {
        FUZZ_CHECK(st == NULL);
    }
}

/* ---- log records ------------------------------------------------------------------ */

typedef struct log_in {
    sl_record r;
    sl_span_context ctx;
    sl_field bound[MAX_ATTRS], fields[MAX_ATTRS];
    /* what the attributes should be: keys resolved, in order */
    sl_field want[2 * MAX_ATTRS];
    size_t nwant;
    uint32_t dropped;
} log_in;

/* Bound then call fields; empty keys dropped; a key again: first place, last value. */
static void want_attrs(log_in *l)
{
    sl_field all[2 * MAX_ATTRS];
    memcpy(all, l->r.bound, l->r.nbound * sizeof(sl_field));
    memcpy(all + l->r.nbound, l->r.fields, l->r.nfields * sizeof(sl_field));
    l->nwant = resolve(all, l->r.nbound + l->r.nfields, l->want, &l->dropped);
}

static void take_log(reader *r, log_in *l, json_t **js, size_t *nj)
{
    memset(l, 0, sizeof *l);
    uint8_t sel = take8(r);
    l->r.level = (sl_level)(take8(r) % 6);
    l->r.time_ns = (int64_t)take64(r);
    size_t ml;
    l->r.msg = take_bytes(r, &ml);
    l->r.msg_len = ml;
    if (sel & 1) {
        for (int i = 0; i < 16; i++) {
            l->ctx.trace_id.bytes[i] = take8(r);
        }
        for (int i = 0; i < 8; i++) {
            l->ctx.span_id.bytes[i] = take8(r);
        }
        l->ctx.flags = take8(r);
        l->r.ctx = &l->ctx;
    }
    l->r.nbound = take8(r) % (MAX_ATTRS + 1);
    for (size_t i = 0; i < l->r.nbound; i++) {
        take_field(r, &l->bound[i], false, js, nj);
    }
    l->r.nfields = take8(r) % (MAX_ATTRS + 1);
    for (size_t i = 0; i < l->r.nfields; i++) {
        take_field(r, &l->fields[i], false, js, nj);
    }
    l->r.bound = l->bound;
    l->r.fields = l->fields;
    want_attrs(l);
}

static void check_log_pb(const uint8_t *p, size_t n, const log_in *l, int64_t observed,
                         const sl__otlp_limits *lim)
{
    const sl_record *r = &l->r;
    msg m = msg_of(p, n);
    pbf f;
    size_t keep = min_z(l->nwant, lim->attr_count), na = 0;
    keyset *ks = calloc(1, sizeof *ks);
    uint64_t v[12] = {0};
    bool text = false, body = false, tid = false, sid = false;
    while (next(&m, &f, BIT(6))) {
        switch (f.num) {
        case 1:
        case 11:
            FUZZ_CHECK(f.wire == 1);
            v[f.num] = f.v;
            break;
        case 2:
        case 7:
            FUZZ_CHECK(f.wire == 0);
            v[f.num] = f.v;
            break;
        case 8:
            FUZZ_CHECK(f.wire == 5);
            v[8] = f.v;
            break;
        case 3: {
            FUZZ_CHECK(f.wire == 2);
            const char *lv = sl_level_name(r->level);
            FUZZ_CHECK(f.n == strlen(lv) && memcmp(f.p, lv, f.n) == 0);
            text = true;
            break;
        }
        case 5: {
            FUZZ_CHECK(f.wire == 2);
            pbf b;
            FUZZ_CHECK(any_member(f.p, f.n, &b) && b.num == 1);
            check_str(b.p, b.n, r->msg, r->msg_len, 0, false);
            body = true;
            break;
        }
        case 6:
            FUZZ_CHECK(f.wire == 2 && na < keep);
            check_kv_pb(f.p, f.n, &l->want[na++], lim->value_len, ks);
            break;
        case 9:
            FUZZ_CHECK(r->ctx != NULL);
            check_bytes(&f, r->ctx->trace_id.bytes, 16);
            tid = true;
            break;
        case 10:
            FUZZ_CHECK(r->ctx != NULL);
            check_bytes(&f, r->ctx->span_id.bytes, 8);
            sid = true;
            break;
        default:
            FUZZ_CHECK(!"unknown LogRecord field");
        }
    }
    FUZZ_CHECK(text && body && na == keep);
    FUZZ_CHECK(v[1] == nonneg(r->time_ns) && v[11] == nonneg(observed));
    FUZZ_CHECK(v[2] == 1 + 4 * (unsigned)r->level);
    FUZZ_CHECK(v[7] == l->dropped + (uint64_t)(l->nwant - keep));
    FUZZ_CHECK(tid == (r->ctx != NULL) && sid == (r->ctx != NULL));
    FUZZ_CHECK(v[8] == (r->ctx != NULL ? r->ctx->flags : 0u));
    free(ks);
}

static void check_log_json(const json_t *o, const log_in *l, int64_t observed,
                           const sl__otlp_limits *lim)
{
    const sl_record *r = &l->r;
    FUZZ_CHECK(json_is_object(o));
    check_time_json(json_object_get(o, "timeUnixNano"), r->time_ns);
    check_time_json(json_object_get(o, "observedTimeUnixNano"), observed);
    FUZZ_CHECK(json_integer_value(json_object_get(o, "severityNumber")) ==
               1 + 4 * (int)r->level);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(o, "severityText")),
                      sl_level_name(r->level)) == 0);
    const json_t *body = json_object_get(o, "body");
    FUZZ_CHECK(json_is_object(body) && json_object_size(body) == 1);
    check_jstr(json_object_get(body, "stringValue"), r->msg, r->msg_len, 0);
    size_t keep = min_z(l->nwant, lim->attr_count);
    check_attrs_json(o, l->want, keep, lim->value_len);
    check_count_json(o, "droppedAttributesCount",
                     l->dropped + (uint64_t)(l->nwant - keep));
    if (r->ctx != NULL) {
        FUZZ_CHECK(json_integer_value(json_object_get(o, "flags")) == r->ctx->flags);
        check_hex_json(json_object_get(o, "traceId"), r->ctx->trace_id.bytes, 16);
        check_hex_json(json_object_get(o, "spanId"), r->ctx->span_id.bytes, 8);
    } else {
        FUZZ_CHECK(json_object_get(o, "flags") == NULL);
        FUZZ_CHECK(json_object_get(o, "traceId") == NULL);
    }
}

/* ---- requests ------------------------------------------------------------------- */

static sl__otlp_resource resource;
static sl__otlp_envelope envs[2][2]; /* [signal][json] */

static void setup(void)
{
    static bool done;
    if (done) {
        return;
    }
    done = true;
    sl_error err;
    sl_error_init(&err);
    FUZZ_CHECK(sl__otlp_resource_build(&resource, "fuzz", NULL, "", &err) == SL_OK);
    for (int s = 0; s < 2; s++) {
        for (int j = 0; j < 2; j++) {
            FUZZ_CHECK(sl__otlp_envelope_init(&envs[s][j], (sl__otlp_signal)s, j,
                                              &resource) == SL_OK);
        }
    }
}

/*
 * The protobuf request holding `copies` items: Export*ServiceRequest ->
 * Resource{Spans,Logs} (Resource, Scope{Spans,Logs} (scope, the items)).
 * Returns the item bodies through *items (each the message inside field 2).
 */
static size_t request_items_pb(const uint8_t *p, size_t n, pbf *items, size_t cap)
{
    msg req = msg_of(p, n);
    pbf rs, f;
    FUZZ_CHECK(next(&req, &rs, 0) && rs.num == 1 && rs.wire == 2);
    FUZZ_CHECK(!next(&req, &f, 0));
    msg r = msg_of(rs.p, rs.n);
    bool res = false;
    size_t k = 0;
    while (next(&r, &f, 0)) {
        FUZZ_CHECK(f.wire == 2);
        if (f.num == 1) {
            res = true; /* Resource: its attributes are KeyValues */
            msg rm = msg_of(f.p, f.n);
            pbf kv, key, val, av;
            keyset *ks = calloc(1, sizeof *ks);
            while (next(&rm, &kv, BIT(1))) {
                FUZZ_CHECK(kv.num == 1 && kv.wire == 2);
                kv_parts(kv.p, kv.n, &key, &val);
                FUZZ_CHECK(valid_utf8(key.p, key.n) && key.n > 0);
                key_unique(ks, key.p, key.n);
                FUZZ_CHECK(any_member(val.p, val.n, &av));
            }
            free(ks);
            continue;
        }
        FUZZ_CHECK(f.num == 2);
        msg ss = msg_of(f.p, f.n);
        pbf it;
        while (next(&ss, &it, BIT(2))) {
            FUZZ_CHECK(it.wire == 2 && (it.num == 1 || it.num == 2));
            if (it.num == 2) {
                FUZZ_CHECK(k < cap);
                items[k++] = it;
            }
        }
    }
    FUZZ_CHECK(res);
    return k;
}

/* The items of a JSON request: resource{Spans,Logs}[0].scope{..}[0].{spans,logRecords}.
 */
static const json_t *request_items_json(const json_t *req, sl__otlp_signal sig)
{
    bool tr = sig == SL__OTLP_TRACES;
    const json_t *rs =
        json_array_get(json_object_get(req, tr ? "resourceSpans" : "resourceLogs"), 0);
    FUZZ_CHECK(
        json_is_array(json_object_get(json_object_get(rs, "resource"), "attributes")));
    const json_t *ss =
        json_array_get(json_object_get(rs, tr ? "scopeSpans" : "scopeLogs"), 0);
    FUZZ_CHECK(json_is_object(json_object_get(ss, "scope")));
    const json_t *items = json_object_get(ss, tr ? "spans" : "logRecords");
    FUZZ_CHECK(json_is_array(items));
    return items;
}

typedef void (*check_pb_fn)(const uint8_t *p, size_t n, const void *in);
typedef void (*check_json_fn)(const json_t *o, const void *in);

/*
 * Encodes with enc_pb / enc_json (via the closures below), checks the item
 * alone, then `copies` of it inside a request, in both protocols.
 */
typedef struct job {
    sl__otlp_signal sig;
    size_t copies;
    void (*enc_pb)(sl__pb *b, const void *in);
    void (*enc_json)(sl__jw *w, const void *in);
    check_pb_fn check_pb;
    check_json_fn check_json;
    const void *in;
} job;

static void run(const job *j)
{
    /* protobuf: the item is the entry `2: message` of Scope{Spans,Logs} */
    sl__pb b;
    sl__pb_init(&b, NULL, 0, OUT_MAX);
    j->enc_pb(&b, j->in);
    FUZZ_CHECK(!b.failed);
    const uint8_t *q = b.buf, *qe = b.buf + b.len;
    pbf item;
    rd_field(&q, qe, &item);
    FUZZ_CHECK(item.num == 2 && item.wire == 2 && q == qe);
    j->check_pb(item.p, item.n, j->in);

    const void *items[3];
    size_t lens[3];
    for (size_t i = 0; i < j->copies; i++) {
        items[i] = b.buf;
        lens[i] = b.len;
    }
    sl__pb req;
    sl__pb_init(&req, NULL, 0, OUT_MAX);
    FUZZ_CHECK(sl__otlp_request(&envs[j->sig][0], items, lens, j->copies, &req));
    pbf got[3];
    FUZZ_CHECK(request_items_pb(req.buf, req.len, got, 3) == j->copies);
    for (size_t i = 0; i < j->copies; i++) {
        FUZZ_CHECK(got[i].n == item.n && memcmp(got[i].p, item.p, item.n) == 0);
    }
    sl__pb_free(&req);
    sl__pb_free(&b);

    /* JSON */
    sl__jw w;
    sl__jw_init_growable(&w, 256, OUT_MAX);
    j->enc_json(&w, j->in);
    FUZZ_CHECK(!w.overflow);
    FUZZ_CHECK(valid_utf8((const uint8_t *)w.buf, w.len));
    json_error_t e;
    json_t *one = json_loadb(w.buf, w.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (one == NULL) {
        fprintf(stderr, "not JSON (%s at %d): %.*s\n", e.text, e.position,
                (int)(w.len < 400 ? w.len : 400), w.buf);
    }
    FUZZ_CHECK(one != NULL);
    j->check_json(one, j->in);
    for (size_t i = 0; i < j->copies; i++) {
        items[i] = w.buf;
        lens[i] = w.len;
    }
    sl__pb_init(&req, NULL, 0, OUT_MAX);
    FUZZ_CHECK(sl__otlp_request(&envs[j->sig][1], items, lens, j->copies, &req));
    json_t *all = json_loadb((const char *)req.buf, req.len, JSON_REJECT_DUPLICATES, &e);
    FUZZ_CHECK(all != NULL);
    const json_t *arr = request_items_json(all, j->sig);
    FUZZ_CHECK(json_array_size(arr) == j->copies);
    for (size_t i = 0; i < j->copies; i++) {
        FUZZ_CHECK(json_equal(json_array_get(arr, i), one));
    }
    json_decref(all);
    json_decref(one);
    sl__pb_free(&req);
    sl__jw_free(&w);
}

static sl__otlp_limits lim;
static int64_t observed;

static void span_pb(sl__pb *b, const void *in)
{
    sl__otlp_span_pb(b, &((const span_in *)in)->d, &lim);
}
static void span_json(sl__jw *w, const void *in)
{
    sl__otlp_span_json(w, &((const span_in *)in)->d, &lim);
}
static void span_check_pb(const uint8_t *p, size_t n, const void *in)
{
    check_span_pb(p, n, &((const span_in *)in)->d, &lim);
}
static void span_check_json(const json_t *o, const void *in)
{
    check_span_json(o, &((const span_in *)in)->d, &lim);
}
static void log_pb(sl__pb *b, const void *in)
{
    sl__otlp_log_extra x = {.observed_ns = observed};
    sl__otlp_log_pb(b, &((const log_in *)in)->r, &x, &lim);
}
static void log_json(sl__jw *w, const void *in)
{
    sl__otlp_log_extra x = {.observed_ns = observed};
    sl__otlp_log_json(w, &((const log_in *)in)->r, &x, &lim);
}
static void log_check_pb(const uint8_t *p, size_t n, const void *in)
{
    check_log_pb(p, n, in, observed, &lim);
}
static void log_check_json(const json_t *o, const void *in)
{
    check_log_json(o, in, observed, &lim);
}

/* A limit: small most of the time, sometimes OpenTelemetry's default. */
static uint32_t take_limit(reader *r, uint32_t dflt)
{
    uint8_t b = take8(r);
    return b >= 0xf0 ? dflt : b % 48;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    reader r = {data, size, NULL, 0, 0};
    uint8_t sel = take8(&r);
    sl__otlp_limits_default(&lim);
    if (sel & 1) {
        lim.attr_count = take_limit(&r, 128);
        lim.event_count = take_limit(&r, 128);
        lim.link_count = take_limit(&r, 128);
        lim.event_attr_count = take_limit(&r, 128);
        lim.link_attr_count = take_limit(&r, 128);
    }
    if (sel & 2) {
        lim.value_len = take8(&r); /* 0: unlimited */
    }
    observed = (int64_t)take64(&r);
    job j = {.copies = 1 + (size_t)(sel >> 6) % 3};
    json_t *js[2 * MAX_ATTRS];
    size_t nj = 0;
    if (sel & 4) {
        static span_in s;
        take_span(&r, &s);
        j.sig = SL__OTLP_TRACES;
        j.enc_pb = span_pb;
        j.enc_json = span_json;
        j.check_pb = span_check_pb;
        j.check_json = span_check_json;
        j.in = &s;
        cur_span = &s;
    } else {
        static log_in l;
        take_log(&r, &l, js, &nj);
        j.sig = SL__OTLP_LOGS;
        j.enc_pb = log_pb;
        j.enc_json = log_json;
        j.check_pb = log_check_pb;
        j.check_json = log_check_json;
        j.in = &l;
    }
    run(&j);
    for (size_t i = 0; i < nj; i++) {
        json_decref(js[i]);
    }
    for (size_t i = 0; i < r.nowned; i++) {
        free(r.owned[i]);
    }
    free(r.owned);
    return 0;
}
