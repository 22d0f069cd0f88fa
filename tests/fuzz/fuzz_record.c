/*
 * fuzz_record.c - the record encoder with hostile input: the input is cut
 * into a size limit, a profile, a message, and fields of every type (keys
 * and strings of any bytes, doubles from raw bits, SL_JSON values parsed
 * from the input with keys and strings made invalid on purpose). Properties
 * of every line written: valid UTF-8 and valid JSON (jansson reads it back,
 * duplicate keys refused: head keys cannot be forged), one line ending in
 * '\n', never longer than the limit, and "truncated" set when it was cut.
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
