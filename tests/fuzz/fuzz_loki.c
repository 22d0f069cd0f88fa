/*
 * fuzz_loki.c - the Loki push bodies: records cut from the input (service,
 * level label, timestamp, trace context, any bytes as the line) go into a
 * batch, which is encoded both as JSON and as protobuf, and the protobuf
 * snappy-compressed. Properties: the JSON body is JSON and its streams and
 * entries are the records, in order, per stream, with strictly increasing
 * timestamps; the protobuf decodes (with the small decoder below, written
 * from push.proto, not from proto.c) to the same entries, lines byte for
 * byte, the same timestamps and metadata; snappy output decompresses (the
 * decoder below, from the snappy format description) to its input exactly.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "adapters/loki/loki_internal.h"
#include "fuzz.h"

#define MAX_RECS 24

typedef struct rec {
    int svc, level;
    const char *line;
    size_t len;
    bool ctx;
    uint8_t tid[16], sid[8];
} rec;

static const char *const services[] = {"svc", "we\"ird\\\x7f", "\xc3(bad"};

/* ---- snappy, decompression ---------------------------------------------------- */

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end) {
            return false;
        }
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

/* Decompresses a snappy block into a malloc'ed buffer; NULL when malformed. */
static uint8_t *unsnappy(const uint8_t *p, size_t n, size_t *out_len)
{
    const uint8_t *end = p + n;
    uint64_t want;
    if (!varint(&p, end, &want) || want > (1u << 28)) {
        return NULL;
    }
    uint8_t *out = malloc(want ? want : 1);
    size_t len = 0;
    while (p < end) {
        uint8_t tag = *p++;
        size_t l, off = 0;
        switch (tag & 3) {
        case 0:
            l = (size_t)(tag >> 2) + 1;
            if (l > 60) {
                size_t bytes = l - 60;
                if ((size_t)(end - p) < bytes) {
                    goto bad;
                }
                l = 0;
                for (size_t i = 0; i < bytes; i++) {
                    l |= (size_t)p[i] << (8 * i);
                }
                l += 1;
                p += bytes;
            }
            if ((size_t)(end - p) < l || want - len < l) {
                goto bad;
            }
            memcpy(out + len, p, l);
            p += l;
            len += l;
            continue;
        case 1:
            if (p >= end) {
                goto bad;
            }
            l = 4 + ((tag >> 2) & 7);
            off = ((size_t)(tag >> 5) << 8) | *p++;
            break;
        case 2:
            if (end - p < 2) {
                goto bad;
            }
            l = 1 + (size_t)(tag >> 2);
            off = (size_t)p[0] | (size_t)p[1] << 8;
            p += 2;
            break;
        default:
            if (end - p < 4) {
                goto bad;
            }
            l = 1 + (size_t)(tag >> 2);
            off = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
                  (size_t)p[3] << 24;
            p += 4;
            break;
        }
        if (off == 0 || off > len || want - len < l) {
            goto bad;
        }
        for (size_t i = 0; i < l; i++) {
            out[len + i] = out[len - off + i]; /* may overlap: byte by byte */
        }
        len += l;
    }
    if (len != want) {
        goto bad;
    }
    *out_len = len;
    return out;
bad:
    free(out);
    return NULL;
}

/* ---- protobuf, decoding ------------------------------------------------------- */

typedef struct field {
    unsigned num, type;
    uint64_t v;       /* varint */
    const uint8_t *p; /* length-delimited */
    size_t n;
} field;

static bool next_field(const uint8_t **p, const uint8_t *end, field *f)
{
    uint64_t key;
    if (!varint(p, end, &key)) {
        return false;
    }
    f->num = (unsigned)(key >> 3);
    f->type = (unsigned)(key & 7);
    if (f->type == 0) {
        return varint(p, end, &f->v);
    }
    if (f->type != 2 || !varint(p, end, &f->v) || f->v > (uint64_t)(end - *p)) {
        return false;
    }
    f->p = *p;
    f->n = (size_t)f->v;
    *p += f->n;
    return true;
}

/* Checks one EntryAdapter against r and its timestamp against ts. */
static void check_proto_entry(const uint8_t *p, size_t n, const rec *r, int64_t ts,
                              bool metadata)
{
    const uint8_t *end = p + n;
    int64_t sec = 0, nanos = 0;
    bool have_line = false;
    int pairs = 0;
    field f;
    while (p < end) {
        FUZZ_CHECK(next_field(&p, end, &f));
        if (f.num == 1 && f.type == 2) {
            const uint8_t *q = f.p, *qe = f.p + f.n;
            field t;
            while (q < qe) {
                FUZZ_CHECK(next_field(&q, qe, &t) && t.type == 0);
                if (t.num == 1) {
                    sec = (int64_t)t.v;
                } else if (t.num == 2) {
                    nanos = (int64_t)t.v;
                }
            }
        } else if (f.num == 2 && f.type == 2) {
            FUZZ_CHECK(f.n == r->len && memcmp(f.p, r->line, r->len) == 0);
            have_line = true;
        } else if (f.num == 3 && f.type == 2) {
            pairs++;
            const uint8_t *q = f.p, *qe = f.p + f.n;
            field name, value;
            FUZZ_CHECK(next_field(&q, qe, &name) && name.num == 1);
            FUZZ_CHECK(next_field(&q, qe, &value) && value.num == 2 && q == qe);
            char tid[33], sid[17];
            sl_trace_id t;
            sl_span_id s;
            memcpy(t.bytes, r->tid, 16);
            memcpy(s.bytes, r->sid, 8);
            sl_trace_id_to_hex(t, tid);
            sl_span_id_to_hex(s, sid);
            if (name.n == 8 && memcmp(name.p, "trace_id", 8) == 0) {
                FUZZ_CHECK(value.n == 32 && memcmp(value.p, tid, 32) == 0);
            } else {
                FUZZ_CHECK(name.n == 7 && memcmp(name.p, "span_id", 7) == 0);
                FUZZ_CHECK(value.n == 16 && memcmp(value.p, sid, 16) == 0);
            }
        } else {
            FUZZ_CHECK(!"unexpected EntryAdapter field");
        }
    }
    FUZZ_CHECK(have_line || r->len == 0);
    FUZZ_CHECK(sec * 1000000000 + nanos == ts);
    FUZZ_CHECK(pairs == (metadata && r->ctx ? 2 : 0));
}

/* ---- the target --------------------------------------------------------------- */

static uint8_t take(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    bool metadata = take(&p, end) & 1;
    rec recs[MAX_RECS];
    size_t n = 0;
    sl__loki_batch b;
    sl__loki_batch_init(&b);
    while (p < end && n < MAX_RECS) {
        rec *r = &recs[n];
        uint8_t sel = take(&p, end);
        r->svc = sel % 3;
        r->level = (int)((sel >> 2) % 7) - 1; /* -1: no level label */
        r->ctx = (sel & 0x80) != 0;
        int64_t ts = 0;
        for (int i = 0; i < 6; i++) {
            ts = ts << 8 | take(&p, end);
        }
        for (int i = 0; i < 16; i++) {
            r->tid[i] = (uint8_t)(i + n + 1);
        }
        for (int i = 0; i < 8; i++) {
            r->sid[i] = (uint8_t)(i + 2 * n + 1);
        }
        size_t len = take(&p, end);
        len = len < (size_t)(end - p) ? len : (size_t)(end - p);
        r->line = (const char *)p;
        r->len = len;
        p += len;
        const char *svc = services[r->svc];
        FUZZ_CHECK(sl__loki_batch_add(&b, svc, strlen(svc), r->level, ts, r->line, r->len,
                                      r->ctx ? r->tid : NULL, r->ctx ? r->sid : NULL,
                                      1) == SL_OK);
        n++;
    }

    /* JSON: streams in order of first appearance, entries in order. */
    sl__jw w;
    sl__jw_init_growable(&w, 1024, 64u << 20);
    FUZZ_CHECK(sl__loki_body_build(&b, ",\"env\":\"fuzz\"", metadata, &w));
    json_error_t e;
    json_t *body = json_loadb(w.buf, w.len, JSON_REJECT_DUPLICATES, &e);
    FUZZ_CHECK(body != NULL);
    json_t *streams = json_object_get(body, "streams");
    FUZZ_CHECK(json_is_array(streams));
    int64_t ts_of[MAX_RECS];
    bool seen[MAX_RECS] = {false};
    size_t si = 0, entries = 0;
    for (size_t i = 0; i < n; i++) {
        if (seen[i]) {
            continue;
        }
        json_t *st = json_array_get(streams, si++);
        FUZZ_CHECK(st != NULL);
        json_t *labels = json_object_get(st, "stream");
        FUZZ_CHECK(json_is_string(json_object_get(labels, "service_name")));
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(labels, "env")), "fuzz") ==
                   0);
        const json_t *lv = json_object_get(labels, "level");
        FUZZ_CHECK(recs[i].level < 0
                       ? lv == NULL
                       : strcmp(json_string_value(lv),
                                sl_level_name((sl_level)recs[i].level)) == 0);
        json_t *values = json_object_get(st, "values");
        size_t k = 0;
        int64_t last = -1;
        for (size_t j = i; j < n; j++) {
            if (recs[j].svc != recs[i].svc || recs[j].level != recs[i].level) {
                continue;
            }
            seen[j] = true;
            json_t *v = json_array_get(values, k++);
            FUZZ_CHECK(json_is_array(v));
            const char *tss = json_string_value(json_array_get(v, 0));
            FUZZ_CHECK(tss != NULL);
            char *tail;
            int64_t t = strtoll(tss, &tail, 10);
            FUZZ_CHECK(*tail == '\0' && t > last);
            last = t;
            ts_of[j] = t;
            const json_t *line = json_array_get(v, 1);
            FUZZ_CHECK(json_is_string(line));
            if (memchr(recs[j].line, 0, recs[j].len) == NULL) {
                /* valid UTF-8 lines come back as they were */
                json_t *raw = json_stringn(recs[j].line, recs[j].len);
                if (raw != NULL) {
                    FUZZ_CHECK(json_equal(raw, line));
                    json_decref(raw);
                }
            }
            json_t *meta = json_array_get(v, 2);
            FUZZ_CHECK((meta != NULL) == (metadata && recs[j].ctx));
            entries++;
        }
        FUZZ_CHECK(json_array_size(values) == k);
    }
    FUZZ_CHECK(json_array_size(streams) == si);
    FUZZ_CHECK(entries == n);
    json_decref(body);

    /* Protobuf: the same streams and entries; then snappy round trip. */
    FUZZ_CHECK(sl__loki_proto_build(&b, ", env=\"fuzz\"", metadata, &w));
    const uint8_t *q = (const uint8_t *)w.buf, *qe = q + w.len;
    memset(seen, 0, sizeof seen);
    size_t next = 0;
    field f;
    while (q < qe) {
        FUZZ_CHECK(next_field(&q, qe, &f) && f.num == 1 && f.type == 2);
        while (next < n && seen[next]) {
            next++;
        }
        FUZZ_CHECK(next < n);
        size_t first = next, j = next;
        const uint8_t *s = f.p, *se = f.p + f.n;
        field g;
        FUZZ_CHECK(next_field(&s, se, &g) && g.num == 1 && g.type == 2);
        FUZZ_CHECK(g.n >= 2 && g.p[0] == '{' && g.p[g.n - 1] == '}');
        while (s < se) {
            FUZZ_CHECK(next_field(&s, se, &g) && g.num == 2 && g.type == 2);
            while (j < n && (seen[j] || recs[j].svc != recs[first].svc ||
                             recs[j].level != recs[first].level)) {
                j++;
            }
            FUZZ_CHECK(j < n);
            seen[j] = true;
            check_proto_entry(g.p, g.n, &recs[j], ts_of[j], metadata);
        }
    }
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(seen[i]);
    }
    char *z = malloc(sl__loki_snappy_bound(w.len));
    size_t zn = sl__loki_snappy(w.buf, w.len, z);
    FUZZ_CHECK(zn <= sl__loki_snappy_bound(w.len));
    size_t un = 0;
    uint8_t *u = unsnappy((const uint8_t *)z, zn, &un);
    FUZZ_CHECK(u != NULL && un == w.len && memcmp(u, w.buf, un) == 0);
    /* and snappy of the raw input, which is less regular than a body */
    char *z2 = malloc(sl__loki_snappy_bound(size));
    size_t z2n = sl__loki_snappy((const char *)data, size, z2);
    uint8_t *u2 = unsnappy((const uint8_t *)z2, z2n, &un);
    FUZZ_CHECK(u2 != NULL && un == size && memcmp(u2, data, size) == 0);
    free(z);
    free(u);
    free(z2);
    free(u2);
    sl__jw_free(&w);
    sl__loki_batch_free(&b);
    return 0;
}
