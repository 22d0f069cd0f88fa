/*
 * test_loki_proto.c - the protobuf push body and its Snappy compression.
 * A small independent Snappy decoder and protobuf reader here read back
 * what the sink writes, field by field (Loki's logproto push.proto field
 * numbers), and every compressed buffer must decompress to its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "adapters/loki/loki_internal.h"

/* ---- a Snappy block decoder (format_description.txt) --------------------- */

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            return true;
        }
    }
    return false;
}

static char *unsnappy(const char *in, size_t len, size_t *out_len)
{
    const uint8_t *p = (const uint8_t *)in, *end = p + len;
    uint64_t n;
    assert_true(get_varint(&p, end, &n));
    char *out = malloc(n + 1);
    size_t o = 0;
    while (p < end) {
        uint8_t tag = *p++;
        size_t l, off = 0;
        switch (tag & 3) {
        case 0:
            l = tag >> 2;
            if (l >= 60) {
                size_t extra = l - 59;
                l = 0;
                for (size_t k = 0; k < extra; k++) {
                    l |= (size_t)p[k] << (8 * k);
                }
                p += extra;
            }
            l += 1;
            assert_true(p + l <= end && o + l <= n);
            memcpy(out + o, p, l);
            p += l;
            o += l;
            continue;
        case 1:
            l = 4 + ((tag >> 2) & 7);
            off = ((size_t)(tag >> 5) << 8) | *p++;
            break;
        case 2:
            l = 1 + (tag >> 2);
            off = p[0] | ((size_t)p[1] << 8);
            p += 2;
            break;
        default:
            l = 1 + (tag >> 2);
            off =
                p[0] | ((size_t)p[1] << 8) | ((size_t)p[2] << 16) | ((size_t)p[3] << 24);
            p += 4;
            break;
        }
        assert_true(off > 0 && off <= o && o + l <= n);
        for (size_t k = 0; k < l; k++) {
            out[o + k] = out[o - off + k]; /* byte by byte: copies may overlap */
        }
        o += l;
    }
    assert_int_equal(o, n);
    *out_len = n;
    return out;
}

static void roundtrip(const char *in, size_t len)
{
    char *z = malloc(sl__loki_snappy_bound(len));
    size_t zl = sl__loki_snappy(in, len, z);
    assert_true(zl <= sl__loki_snappy_bound(len));
    size_t ol;
    char *out = unsnappy(z, zl, &ol);
    assert_int_equal(ol, len);
    if (len > 0) {
        assert_memory_equal(out, in, len);
    }
    free(out);
    free(z);
}

static void test_snappy_roundtrip(void **state)
{
    (void)state;
    roundtrip("", 0);
    roundtrip("a", 1);
    roundtrip("abcdefg", 7);
    roundtrip(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        78);
    size_t n = 1 << 20;
    char *buf = malloc(n);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (char)x; /* random: literals, long ones too */
    }
    roundtrip(buf, n);
    for (size_t i = 0; i < n; i++) {
        buf[i] = "{\"level\":\"info\",\"msg\":\"card charged\",\"n\":"[i % 41];
        if (i % 97 == 0) {
            buf[i] = (char)('0' + i % 10);
        }
    }
    roundtrip(buf, n);
    /* Repetitive text compresses. */
    char *z = malloc(sl__loki_snappy_bound(n));
    assert_true(sl__loki_snappy(buf, n, z) < n / 4);
    free(z);
    for (size_t len = 0; len < 300; len++) {
        roundtrip(buf + 7, len);
    }
    free(buf);
}

/* ---- a protobuf reader ---------------------------------------------------- */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

/* Next field: number, wire type, and (type 2) its bytes or (type 0) its value. */
static bool pb_next(pb *r, unsigned *field, const uint8_t **data, size_t *len,
                    uint64_t *val)
{
    if (r->p >= r->end) {
        return false;
    }
    uint64_t key;
    assert_true(get_varint(&r->p, r->end, &key));
    *field = (unsigned)(key >> 3);
    if ((key & 7) == 0) {
        assert_true(get_varint(&r->p, r->end, val));
        *data = NULL;
        *len = 0;
    } else {
        assert_int_equal(key & 7, 2);
        uint64_t l;
        assert_true(get_varint(&r->p, r->end, &l));
        assert_true(r->p + l <= r->end);
        *data = r->p;
        *len = (size_t)l;
        r->p += l;
    }
    return true;
}

typedef struct entry_view {
    int64_t ts;
    char line[256];
    char trace_id[40], span_id[20];
    int npairs;
} entry_view;

static void read_entry(const uint8_t *d, size_t n, entry_view *e)
{
    memset(e, 0, sizeof(*e));
    pb r = {d, d + n};
    unsigned f;
    const uint8_t *data;
    size_t len;
    uint64_t v;
    while (pb_next(&r, &f, &data, &len, &v)) {
        if (f == 1) {
            pb t = {data, data + len};
            while (pb_next(&t, &f, &data, &len, &v)) {
                e->ts += f == 1 ? (int64_t)v * 1000000000 : (int64_t)v;
            }
        } else if (f == 2) {
            assert_true(len < sizeof(e->line));
            memcpy(e->line, data, len);
        } else {
            assert_int_equal(f, 3);
            pb pr = {data, data + len};
            char name[16] = "", value[40] = "";
            while (pb_next(&pr, &f, &data, &len, &v)) {
                memcpy(f == 1 ? name : value, data, len);
            }
            if (!strcmp(name, "trace_id")) {
                strcpy(e->trace_id, value);
            } else {
                assert_string_equal(name, "span_id");
                strcpy(e->span_id, value);
            }
            e->npairs++;
        }
    }
}

static const uint8_t TID[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
static const uint8_t SID[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

static void test_push_request(void **state)
{
    (void)state;
    sl__loki_batch b;
    sl__loki_batch_init(&b);
    const char *l1 = "{\"msg\":\"a \\\"q\\\"\"}";
    const char *l2 = "{\"msg\":\"b\"}";
    const char *l3 = "{\"msg\":\"c\"}";
    assert_int_equal(sl__loki_batch_add(&b, "check\"out", 9, SL_LEVEL_INFO,
                                        1763720130123456789, l1, strlen(l1), TID, SID, 1),
                     SL_OK);
    assert_int_equal(sl__loki_batch_add(&b, "pay", 3, SL_LEVEL_ERROR, 1763720130000000000,
                                        l2, strlen(l2), NULL, NULL, 1),
                     SL_OK);
    assert_int_equal(sl__loki_batch_add(&b, "check\"out", 9, SL_LEVEL_INFO,
                                        1763720130123456789, l3, strlen(l3), TID, SID, 1),
                     SL_OK);
    for (int meta = 1; meta >= 0; meta--) {
        sl__jw w;
        sl__jw_init_growable(&w, 16, 1 << 20);
        assert_true(sl__loki_proto_build(&b, ", env=\"prod\"", meta, &w));
        pb r = {(const uint8_t *)w.buf, (const uint8_t *)w.buf + w.len};
        unsigned f;
        const uint8_t *data;
        size_t len;
        uint64_t v;
        int streams = 0;
        while (pb_next(&r, &f, &data, &len, &v)) {
            assert_int_equal(f, 1);
            pb s = {data, data + len};
            char labels[128] = "";
            entry_view ents[4];
            int ne = 0;
            while (pb_next(&s, &f, &data, &len, &v)) {
                if (f == 1) {
                    memcpy(labels, data, len);
                } else {
                    assert_int_equal(f, 2);
                    read_entry(data, len, &ents[ne++]);
                }
            }
            if (streams == 0) {
                assert_string_equal(
                    labels,
                    "{service_name=\"check\\\"out\", level=\"info\", env=\"prod\"}");
                assert_int_equal(ne, 2);
                assert_int_equal(ents[0].ts, 1763720130123456789);
                assert_int_equal(ents[1].ts, 1763720130123456790); /* bumped */
                assert_string_equal(ents[0].line, l1);             /* raw, not escaped */
                assert_string_equal(ents[1].line, l3);
                assert_int_equal(ents[0].npairs, meta ? 2 : 0);
                if (meta) {
                    assert_string_equal(ents[0].trace_id,
                                        "0af7651916cd43dd8448eb211c80319c");
                    assert_string_equal(ents[0].span_id, "b7ad6b7169203331");
                }
            } else {
                assert_string_equal(
                    labels, "{service_name=\"pay\", level=\"error\", env=\"prod\"}");
                assert_int_equal(ne, 1);
                assert_int_equal(ents[0].ts, 1763720130000000000);
                assert_string_equal(ents[0].line, l2);
                assert_int_equal(ents[0].npairs, 0);
            }
            streams++;
        }
        assert_int_equal(streams, 2);
        /* And through Snappy, as sent. */
        char *z = malloc(sl__loki_snappy_bound(w.len));
        size_t zl = sl__loki_snappy(w.buf, w.len, z);
        size_t ol;
        char *back = unsnappy(z, zl, &ol);
        assert_int_equal(ol, w.len);
        assert_memory_equal(back, w.buf, ol);
        free(back);
        free(z);
        sl__jw_free(&w);
    }
    sl__loki_batch_free(&b);
}

static void test_prom_quote(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "\"plain\""},
        {"a\"b", "\"a\\\"b\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"new\nline", "\"new\\nline\""},
        {"tab\tx\x01", "\"tab\\x09x\\x01\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
        /* Ill-formed UTF-8 repaired as record strings are: one U+FFFD per
         * maximal subpart (Loki refuses the label string otherwise). */
        {"caf\xe9", "\"caf\xef\xbf\xbd\""},
        {"a\xe2\x82", "\"a\xef\xbf\xbd\""},
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xf0\x9f\x98\x80\xc0\xaf", "\"\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl__jw w;
        sl__jw_init_growable(&w, 8, 1024);
        sl__loki_prom_quote(&w, cases[i].in, strlen(cases[i].in));
        assert_int_equal(w.len, strlen(cases[i].out));
        assert_memory_equal(w.buf, cases[i].out, w.len);
        sl__jw_free(&w);
    }
    /* NUL too, as the JSON writer does. */
    sl__jw w;
    sl__jw_init_growable(&w, 8, 1024);
    sl__loki_prom_quote(&w, "a\0b", 3);
    assert_int_equal(w.len, 7);
    assert_memory_equal(w.buf,
                        "\"a\xef\xbf\xbd"
                        "b\"",
                        7);
    sl__jw_free(&w);
}

/* The protobuf label value and the JSON one decode to the same text, for
 * every byte string of up to two bytes from a set of awkward bytes. */
static void test_prom_quote_matches_json_writer(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {'a',  0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0,
                                          0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0};
    enum { NB = sizeof(bytes) };
    for (size_t k = 0; k < NB * NB * NB; k++) {
        char in[3] = {(char)bytes[k % NB], (char)bytes[(k / NB) % NB],
                      (char)bytes[k / (NB * NB)]};
        sl__jw pw, jw;
        sl__jw_init_growable(&pw, 16, 1024);
        sl__jw_init_growable(&jw, 16, 1024);
        sl__loki_prom_quote(&pw, in, 3);
        sl__jw_string(&jw, in, 3);
        json_t *j = json_loadb(jw.buf, jw.len, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        const char *text = json_string_value(j);
        size_t tlen = json_string_length(j);
        /* No quote, backslash or control among the bytes but 0x7f and NUL:
         * the quoted form is the text itself, 0x7f escaped as \x7f. */
        char expect[64];
        size_t e = 0;
        expect[e++] = '"';
        for (size_t i = 0; i < tlen; i++) {
            if (text[i] == 0x7f) {
                memcpy(expect + e, "\\x7f", 4);
                e += 4;
            } else {
                expect[e++] = text[i];
            }
        }
        expect[e++] = '"';
        assert_int_equal(pw.len, e);
        assert_memory_equal(pw.buf, expect, e);
        json_decref(j);
        sl__jw_free(&pw);
        sl__jw_free(&jw);
    }
}

static void test_config_labels_prom(void **state)
{
    (void)state;
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.labels_text = "env=pr\"od,team=core";
    o.encoding = SL_LOKI_ENCODING_PROTOBUF;
    sl__loki_config cfg;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_OK);
    assert_string_equal(cfg.labels_prom, ", env=\"pr\\\"od\", team=\"core\"");
    assert_int_equal(cfg.encoding, SL_LOKI_ENCODING_PROTOBUF);
    sl__loki_config_free(&cfg);
    o.encoding = (sl_loki_encoding)7;
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snappy_roundtrip),
        cmocka_unit_test(test_push_request),
        cmocka_unit_test(test_prom_quote),
        cmocka_unit_test(test_prom_quote_matches_json_writer),
        cmocka_unit_test(test_config_labels_prom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
