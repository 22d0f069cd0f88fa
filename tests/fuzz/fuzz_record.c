/*
 * fuzz_record.c - the record encoder with hostile input: the input is cut
 * into a size limit, a profile, a message, and fields of every type (keys
 * and strings of any bytes, doubles from raw bits, SL_JSON values parsed
 * from the input with keys and strings made invalid on purpose). Properties
 * of every line written: valid UTF-8 and valid JSON (jansson reads it back,
 * duplicate keys refused: head keys cannot be forged), one line ending in
 * '\n', never longer than the limit, and "truncated" set when it was cut.
 * Then the same record through the macros' entry (sl__log_site) with one of
 * a few call sites, some keys and the message swapped for literals: its line
 * must be byte for byte sl_log_write's (time aside). The call-site cache is
 * per thread and outlives each input, so inputs meet sites cached by others.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "spanlog/spanlog.h"

typedef struct line {
    char buf[1 << 17];
    size_t len;
    int n;
    int truncated;
} line;

static void cap_write(sl_sink *sink, const sl_record *rec, const char *l, size_t len)
{
    line *c = sl_sink_state(sink);
    FUZZ_CHECK(len < sizeof c->buf);
    memcpy(c->buf, l, len);
    c->len = len;
    c->n++;
    c->truncated = rec->truncated;
}

static const sl_sink_vtable cap_vt = {
    .version = SL_SINK_VTABLE_VERSION, .name = "fuzz", .write = cap_write};

/* Well-formed UTF-8, no surrogates, nothing above U+10FFFF, no overlongs. */
static int valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = c < 0x80                ? 1
                     : c >= 0xC2 && c < 0xE0 ? 2
                     : c >= 0xE0 && c < 0xF0 ? 3
                     : c >= 0xF0 && c < 0xF5 ? 4
                                             : 0;
        if (len == 0 || i + len > n) {
            return 0;
        }
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return 0;
            }
        }
        if ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] > 0x9F) ||
            (c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] > 0x8F)) {
            return 0;
        }
        i += len;
    }
    return 1;
}

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t take_byte(reader *r)
{
    if (r->n == 0) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

/* A chunk: length byte, then up to that many bytes (a copy, NUL-ended). */
static char *take_str(reader *r, size_t *len)
{
    size_t n = take_byte(r);
    if (n == 255) {
        n = (size_t)take_byte(r) * 64; /* now and then a long one */
    }
    n = n < r->n ? n : r->n;
    char *s = malloc(n + 1);
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    r->n -= n;
    *len = n;
    return s;
}

/* jansson value from a chunk of the input; a few keys made invalid. */
static json_t *take_json(reader *r)
{
    size_t n;
    char *text = take_str(r, &n);
    json_t *j = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (j == NULL) {
        j = json_object();
        json_object_setn_new_nocheck(j, text, n, json_stringn_nocheck(text, n));
    }
    free(text);
    return j;
}

#define MAX_FIELDS 12

/* Literal keys and messages for the site path: head keys of each profile,
 * keys to escape, a long one, an empty one. key_len as the macros set it:
 * the length, and SL__KEY_PLAIN only for a key that needs no escaping. */
static const char *const lit_keys[] = {"n",
                                       "route",
                                       "msg",
                                       "level",
                                       "time",
                                       "a\"b",
                                       "t\tab",
                                       "caf\xc3\xa9",
                                       "",
                                       "traceId",
                                       "@timestamp",
                                       "log.level",
                                       "a_key_longer_than_twelve"};
static const char *const lit_msgs[] = {"card charged", "say \"hi\"\n", "", "caf\xc3\xa9"};
static const sl_src lit_sites[3] = {{"a.c", "f", 1}, {"b.c", "g", 2}, {"c.c", "h", 3}};

static uint32_t lit_key_len(const char *k)
{
    size_t n = strlen(k);
    uint32_t plain = SL__KEY_PLAIN;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            plain = 0;
        }
    }
    return (uint32_t)n | plain;
}

/* The head's time value of a line, cut out (the first "time" or
 * "@timestamp": the head comes before every field). */
static size_t without_time(const char *l, size_t n, char *out)
{
    const char *t = memmem(l, n, "\"time\":", 7);
    const char *e = memmem(l, n, "\"@timestamp\":", 13);
    const char *k = t == NULL || (e != NULL && e < t) ? e : t;
    FUZZ_CHECK(k != NULL);
    const char *v = k + (k == e ? 13 : 7);
    const char *end = v;
    if (*v == '"') {
        end = memchr(v + 1, '"', n - (size_t)(v + 1 - l));
        FUZZ_CHECK(end != NULL);
        end++;
    } else {
        while (end < l + n && *end >= '0' && *end <= '9') {
            end++;
        }
    }
    size_t head = (size_t)(v - l), tail = n - (size_t)(end - l);
    memcpy(out, l, head);
    memcpy(out + head, end, tail);
    return head + tail;
}

/* f's record written through the site entry and through sl_log_write with
 * the same site: the same bytes. */
static void check_site_path(sl_logger *lg, line *out, sl_field *f, size_t n,
                            const char *msg, unsigned pick)
{
    for (size_t i = 0; i < n; i++) {
        if ((pick >> (i % 7)) & 1) {
            const char *k = lit_keys[(pick + i) % (sizeof lit_keys / sizeof lit_keys[0])];
            f[i].key = k;
            f[i].key_len = lit_key_len(k);
        }
    }
    const sl_src *site = &lit_sites[pick % 3];
    const char *m = msg;
    size_t mlen = SL_NPOS; /* a buffer: not a literal */
    if (pick & 0x80) {
        m = lit_msgs[(pick >> 3) % (sizeof lit_msgs / sizeof lit_msgs[0])];
        mlen = strlen(m);
    }
    static char a[1 << 17], b[1 << 17];
    sl__log_site(lg, SL_LEVEL_WARN, NULL, site, m, mlen, f, n);
    FUZZ_CHECK(out->n == 2);
    size_t na = without_time(out->buf, out->len, a);
    sl_log_write(lg, SL_LEVEL_WARN, NULL, site, m, f, n);
    FUZZ_CHECK(out->n == 3);
    size_t nb = without_time(out->buf, out->len, b);
    if (na != nb || memcmp(a, b, na) != 0) {
        fprintf(stderr, "site path:\n%.*s\nsl_log_write:\n%.*s\n", (int)na, a, (int)nb,
                b);
    }
    FUZZ_CHECK(na == nb && memcmp(a, b, na) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    static line out;
    out.n = 0;
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.max_record_bytes = 1024 + (size_t)take_byte(&r) * 256;
    o.profile = (sl_profile)(take_byte(&r) % 4);
    uint8_t flags = take_byte(&r);
    o.caller_info = flags & 1;
    o.trace_flags = (flags & 2) != 0;
    o.service = (flags & 4) ? "svc" : NULL;
    sl_logger *lg = NULL;
    sl_sink *sink = NULL;
    FUZZ_CHECK(sl_logger_new(&o, &lg) == SL_OK);
    FUZZ_CHECK(sl_sink_new(&cap_vt, &out, &sink) == SL_OK);
    FUZZ_CHECK(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) == SL_OK);

    size_t mlen;
    char *msg = take_str(&r, &mlen);
    sl_field f[MAX_FIELDS];
    char *keep[2 * MAX_FIELDS];
    json_t *js[MAX_FIELDS];
    size_t nf = 0, nk = 0, nj = 0;
    while (r.n > 0 && nf < MAX_FIELDS) {
        uint8_t t = take_byte(&r);
        size_t kl, vl;
        char *key = take_str(&r, &kl);
        keep[nk++] = key;
        switch (t % 6) {
        case 0: {
            char *v = take_str(&r, &vl);
            keep[nk++] = v;
            f[nf++] = SL_STRN(key, v, vl);
            break;
        }
        case 1: {
            double d = 0;
            for (size_t i = 0; i < sizeof d; i++) {
                ((uint8_t *)&d)[i] = take_byte(&r);
            }
            f[nf++] = SL_DOUBLE(key, d);
            break;
        }
        case 2:
            js[nj] = take_json(&r);
            f[nf++] = SL_JSON(key, js[nj]);
            nj++;
            break;
        case 3:
            f[nf++] =
                SL_INT(key, (int64_t)((uint64_t)take_byte(&r) << 56 | take_byte(&r)));
            break;
        case 4:
            f[nf++] = SL_ERRNO(key, take_byte(&r));
            break;
        default:
            f[nf++] = SL_BOOL(key, t & 8);
            break;
        }
    }
    /* Half of the fields bound to a child, half passed with the call. */
    size_t nb = nf / 2;
    sl_logger *child = NULL;
    sl_status cs = sl_logger_child(lg, f, nb, &child);
    FUZZ_CHECK(cs == SL_OK || cs == SL_ERANGE);
    sl_log_write(child ? child : lg, SL_LEVEL_WARN, NULL, NULL, msg, f + nb, nf - nb);
    FUZZ_CHECK(out.n == 1);
    FUZZ_CHECK(out.len >= 2 && out.len <= o.max_record_bytes);
    FUZZ_CHECK(out.buf[out.len - 1] == '\n');
    FUZZ_CHECK(memchr(out.buf, '\n', out.len - 1) == NULL);
    FUZZ_CHECK(valid_utf8((const unsigned char *)out.buf, out.len));
    json_error_t e;
    json_t *back = json_loadb(out.buf, out.len - 1, 0, &e);
    if (back == NULL) {
        fprintf(stderr, "not JSON (%s): %.*s\n", e.text, (int)out.len, out.buf);
    }
    FUZZ_CHECK(back != NULL && json_is_object(back));
    FUZZ_CHECK(json_is_true(json_object_get(back, "truncated")) == out.truncated);
    /* jansson keeps the last of duplicate keys: the level must still be ours. */
    const json_t *lv =
        json_object_get(back, o.profile == SL_PROFILE_ECS ? "log.level" : "level");
    if (o.profile == SL_PROFILE_PINO) {
        FUZZ_CHECK(json_integer_value(lv) == 40);
    } else {
        FUZZ_CHECK(json_is_string(lv) && strcmp(json_string_value(lv), "warn") == 0);
    }
    json_decref(back);
    check_site_path(child ? child : lg, &out, f + nb, nf - nb, msg,
                    size > 0 ? data[size - 1] : 0);

    sl_logger_free(child);
    sl_logger_free(lg);
    for (size_t i = 0; i < nj; i++) {
        json_decref(js[i]);
    }
    for (size_t i = 0; i < nk; i++) {
        free(keep[i]);
    }
    free(msg);
    return 0;
}
