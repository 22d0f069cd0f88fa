/*
 * value.c - typed values as OTLP AnyValue and KeyValue, in protobuf and in
 * the OTLP/JSON mapping.
 *
 *   sl_field          AnyValue
 *   SL_FIELD_STR      string_value (UTF-8 repaired, cut to the length limit)
 *   SL_FIELD_INT      int_value
 *   SL_FIELD_UINT     int_value, or string_value when above INT64_MAX
 *   SL_FIELD_DOUBLE   double_value (NaN and infinities too: JSON "NaN" ...)
 *   SL_FIELD_BOOL     bool_value
 *   SL_FIELD_NULL     an empty AnyValue (OTLP's "no value")
 *   SL_FIELD_ERRNO    kvlist_value {errno: int, error: strerror text}
 *   SL_FIELD_JSON     object -> kvlist_value, array -> array_value, scalars
 *                     as above; nesting deeper than MAX_DEPTH is cut (empty)
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>

#include "adapters/otlp/otlp_internal.h"

#define MAX_DEPTH 32

/* AnyValue field numbers. */
enum {
    AV_STRING = 1,
    AV_BOOL = 2,
    AV_INT = 3,
    AV_DOUBLE = 4,
    AV_ARRAY = 5,
    AV_KVLIST = 6,
};

void sl__otlp_limits_default(sl__otlp_limits *l)
{
    l->attr_count = 128;
    l->value_len = 0;
    l->event_count = 128;
    l->link_count = 128;
    l->event_attr_count = 128;
    l->link_attr_count = 128;
}

static size_t cut_len(const char *s, size_t n, uint32_t value_len)
{
    return value_len != 0 && n > value_len ? sl__utf8_cut(s, n, value_len) : n;
}

static size_t str_len(const sl_field *f)
{
    return f->v.s == NULL ? 0 : f->len == SL_NPOS ? strlen(f->v.s) : f->len;
}

/* ---- protobuf ----------------------------------------------------------- */

static void json_value_pb(sl__pb *b, uint32_t field, const json_t *j, int depth,
                          uint32_t value_len);

static void json_body_pb(sl__pb *b, const json_t *j, int depth, uint32_t value_len)
{
    if (j == NULL || depth > MAX_DEPTH) {
        return;
    }
    switch (json_typeof(j)) {
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        sl__pb_string(b, AV_STRING, s, cut_len(s, n, value_len));
        break;
    }
    case JSON_INTEGER:
        sl__pb_tag(b, AV_INT, SL__PB_VARINT);
        sl__pb_varint(b, (uint64_t)json_integer_value(j));
        break;
    case JSON_REAL:
        sl__pb_double(b, AV_DOUBLE, json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        sl__pb_bool(b, AV_BOOL, json_is_true(j));
        break;
    case JSON_ARRAY: {
        size_t m = sl__pb_begin(b, AV_ARRAY);
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v)
        {
            json_value_pb(b, 1, v, depth + 1, value_len);
        }
        sl__pb_end(b, m);
        break;
    }
    case JSON_OBJECT: {
        size_t m = sl__pb_begin(b, AV_KVLIST);
        /* by the key's length: a key may hold NUL (jansson's setn) */
        bool check = sl__otlp_object_check(j);
        for (void *it = json_object_iter((json_t *)j); it != NULL;
             it = json_object_iter_next((json_t *)j, it)) {
            const json_t *v;
            if (!sl__otlp_object_entry(j, it, check, &v)) {
                continue;
            }
            size_t kv = sl__pb_begin(b, 1);
            sl__pb_string(b, 1, json_object_iter_key(it), json_object_iter_key_len(it));
            json_value_pb(b, 2, v, depth + 1, value_len);
            sl__pb_end(b, kv);
        }
        sl__pb_end(b, m);
        break;
    }
    case JSON_NULL:
        break;
    }
}

static void json_value_pb(sl__pb *b, uint32_t field, const json_t *j, int depth,
                          uint32_t value_len)
{
    size_t m = sl__pb_begin(b, field);
    json_body_pb(b, j, depth, value_len);
    sl__pb_end(b, m);
}

void sl__otlp_anyvalue_pb(sl__pb *b, uint32_t field, const sl_field *f,
                          uint32_t value_len)
{
    size_t m = sl__pb_begin(b, field);
    switch (f->type) {
    case SL_FIELD_STR:
        if (f->v.s != NULL) {
            size_t n = str_len(f);
            sl__pb_string(b, AV_STRING, f->v.s, cut_len(f->v.s, n, value_len));
        }
        break;
    case SL_FIELD_INT:
        sl__pb_tag(b, AV_INT, SL__PB_VARINT);
        sl__pb_varint(b, (uint64_t)f->v.i);
        break;
    case SL_FIELD_UINT:
        if (f->v.u <= (uint64_t)INT64_MAX) {
            sl__pb_tag(b, AV_INT, SL__PB_VARINT);
            sl__pb_varint(b, f->v.u);
        } else {
            char d[24];
            int n = snprintf(d, sizeof d, "%" PRIu64, f->v.u);
            sl__pb_string(b, AV_STRING, d, (size_t)n);
        }
        break;
    case SL_FIELD_DOUBLE:
        sl__pb_double(b, AV_DOUBLE, f->v.d);
        break;
    case SL_FIELD_BOOL:
        sl__pb_bool(b, AV_BOOL, f->v.b);
        break;
    case SL_FIELD_ERRNO: {
        char buf[256];
        const char *text = strerror_r((int)f->v.i, buf, sizeof buf);
        size_t l = sl__pb_begin(b, AV_KVLIST);
        sl__otlp_kv_int_pb(b, 1, "errno", f->v.i);
        sl__otlp_kv_str_pb(b, 1, "error", text, strlen(text));
        sl__pb_end(b, l);
        break;
    }
    case SL_FIELD_JSON:
        json_body_pb(b, f->v.json, 0, value_len);
        break;
    case SL_FIELD_NULL:
    default:
        break;
    }
    sl__pb_end(b, m);
}

void sl__otlp_keyvalue_pb(sl__pb *b, uint32_t field, const sl_field *f,
                          uint32_t value_len)
{
    size_t m = sl__pb_begin(b, field);
    const char *k = f->key != NULL ? f->key : "";
    sl__pb_string(b, 1, k, strlen(k));
    sl__otlp_anyvalue_pb(b, 2, f, value_len);
    sl__pb_end(b, m);
}

void sl__otlp_kv_str_pb(sl__pb *b, uint32_t field, const char *key, const char *v,
                        size_t n)
{
    sl_field f = SL_STRN(key, v, n);
    sl__otlp_keyvalue_pb(b, field, &f, 0);
}

void sl__otlp_kv_int_pb(sl__pb *b, uint32_t field, const char *key, int64_t v)
{
    sl_field f = SL_INT(key, v);
    sl__otlp_keyvalue_pb(b, field, &f, 0);
}

/* ---- JSON ---------------------------------------------------------------- */

void sl__otlp_json_key(sl__jw *w, const char *name, bool *first)
{
    if (!*first) {
        sl__jw_char(w, ',');
    }
    *first = false;
    sl__jw_char(w, '"');
    sl__jw_raw(w, name, strlen(name));
    SL__JW_LIT(w, "\":");
}

void sl__otlp_json_u64str(sl__jw *w, uint64_t v)
{
    sl__jw_char(w, '"');
    sl__jw_uint(w, v);
    sl__jw_char(w, '"');
}

void sl__otlp_json_hex(sl__jw *w, const uint8_t *bytes, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char buf[2 * 16 + 2];
    n = n > 16 ? 16 : n;
    buf[0] = '"';
    for (size_t i = 0; i < n; i++) {
        buf[1 + 2 * i] = hex[bytes[i] >> 4];
        buf[2 + 2 * i] = hex[bytes[i] & 15];
    }
    buf[1 + 2 * n] = '"';
    sl__jw_raw(w, buf, 2 * n + 2);
}

static void json_any_json(sl__jw *w, const json_t *j, int depth, uint32_t value_len);

static void json_inner_json(sl__jw *w, const json_t *j, int depth, uint32_t value_len)
{
    switch (json_typeof(j)) {
    case JSON_STRING: {
        const char *s = json_string_value(j);
        SL__JW_LIT(w, "\"stringValue\":");
        sl__jw_string(w, s, cut_len(s, json_string_length(j), value_len));
        break;
    }
    case JSON_INTEGER:
        SL__JW_LIT(w, "\"intValue\":\"");
        sl__jw_int(w, json_integer_value(j));
        sl__jw_char(w, '"');
        break;
    case JSON_REAL:
        SL__JW_LIT(w, "\"doubleValue\":");
        sl__jw_double(w, json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        SL__JW_LIT(w, "\"boolValue\":");
        sl__jw_bool(w, json_is_true(j));
        break;
    case JSON_ARRAY: {
        SL__JW_LIT(w, "\"arrayValue\":{\"values\":[");
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v)
        {
            if (i > 0) {
                sl__jw_char(w, ',');
            }
            json_any_json(w, v, depth + 1, value_len);
        }
        SL__JW_LIT(w, "]}");
        break;
    }
    case JSON_OBJECT: {
        SL__JW_LIT(w, "\"kvlistValue\":{\"values\":[");
        bool first = true, check = sl__otlp_object_check(j);
        for (void *it = json_object_iter((json_t *)j); it != NULL;
             it = json_object_iter_next((json_t *)j, it)) {
            const json_t *v;
            if (!sl__otlp_object_entry(j, it, check, &v)) {
                continue;
            }
            if (!first) {
                sl__jw_char(w, ',');
            }
            first = false;
            SL__JW_LIT(w, "{\"key\":");
            sl__jw_string(w, json_object_iter_key(it), json_object_iter_key_len(it));
            SL__JW_LIT(w, ",\"value\":");
            json_any_json(w, v, depth + 1, value_len);
            sl__jw_char(w, '}');
        }
        SL__JW_LIT(w, "]}");
        break;
    }
    case JSON_NULL:
        break;
    }
}

static void json_any_json(sl__jw *w, const json_t *j, int depth, uint32_t value_len)
{
    sl__jw_char(w, '{');
    if (j != NULL && depth <= MAX_DEPTH) {
        json_inner_json(w, j, depth, value_len);
    }
    sl__jw_char(w, '}');
}

void sl__otlp_anyvalue_json(sl__jw *w, const sl_field *f, uint32_t value_len)
{
    sl__jw_char(w, '{');
    switch (f->type) {
    case SL_FIELD_STR:
        if (f->v.s != NULL) {
            SL__JW_LIT(w, "\"stringValue\":");
            sl__jw_string(w, f->v.s, cut_len(f->v.s, str_len(f), value_len));
        }
        break;
    case SL_FIELD_INT:
        SL__JW_LIT(w, "\"intValue\":\"");
        sl__jw_int(w, f->v.i);
        sl__jw_char(w, '"');
        break;
    case SL_FIELD_UINT:
        if (f->v.u <= (uint64_t)INT64_MAX) {
            SL__JW_LIT(w, "\"intValue\":");
        } else {
            SL__JW_LIT(w, "\"stringValue\":");
        }
        sl__otlp_json_u64str(w, f->v.u);
        break;
    case SL_FIELD_DOUBLE:
        SL__JW_LIT(w, "\"doubleValue\":");
        sl__jw_double(w, f->v.d);
        break;
    case SL_FIELD_BOOL:
        SL__JW_LIT(w, "\"boolValue\":");
        sl__jw_bool(w, f->v.b);
        break;
    case SL_FIELD_ERRNO: {
        char buf[256];
        const char *text = strerror_r((int)f->v.i, buf, sizeof buf);
        SL__JW_LIT(
            w,
            "\"kvlistValue\":{\"values\":[{\"key\":\"errno\",\"value\":{\"intValue\":\"");
        sl__jw_int(w, f->v.i);
        SL__JW_LIT(w, "\"}},{\"key\":\"error\",\"value\":{\"stringValue\":");
        sl__jw_string(w, text, strlen(text));
        SL__JW_LIT(w, "}}]}");
        break;
    }
    case SL_FIELD_JSON:
        if (f->v.json != NULL) {
            json_inner_json(w, f->v.json, 0, value_len);
        }
        break;
    case SL_FIELD_NULL:
    default:
        break;
    }
    sl__jw_char(w, '}');
}

void sl__otlp_keyvalue_json(sl__jw *w, const sl_field *f, uint32_t value_len)
{
    const char *k = f->key != NULL ? f->key : "";
    SL__JW_LIT(w, "{\"key\":");
    sl__jw_string(w, k, strlen(k));
    SL__JW_LIT(w, ",\"value\":");
    sl__otlp_anyvalue_json(w, f, value_len);
    sl__jw_char(w, '}');
}

size_t sl__otlp_attrs_json(sl__jw *w, const char *name, const sl_field *f, size_t n,
                           uint32_t limit, uint32_t value_len, bool *first)
{
    size_t k = n < limit ? n : limit;
    if (k == 0) {
        return 0;
    }
    sl__otlp_json_key(w, name, first);
    sl__jw_char(w, '[');
    for (size_t i = 0; i < k; i++) {
        if (i > 0) {
            sl__jw_char(w, ',');
        }
        sl__otlp_keyvalue_json(w, &f[i], value_len);
    }
    sl__jw_char(w, ']');
    return k;
}
