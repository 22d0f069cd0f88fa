/*
 * otlp_internal.h - the pieces of the OTLP exporters, shared between their
 * files.
 *
 *   pb.c        a small protobuf writer (varint, fixed, nested messages) and
 *               the UTF-8 repair that proto3 strings need
 *   value.c     sl_field / json_t -> AnyValue and KeyValue (protobuf, JSON)
 *   keys.c      attribute keys unique as they are sent
 *   span_enc.c  one ended span -> a Span message (protobuf, JSON)
 *   log_enc.c   one record -> a LogRecord message (protobuf, JSON)
 *   resource.c  the Resource and InstrumentationScope, built once
 *   request.c   a batch of encoded items -> Export*ServiceRequest, and the
 *               Export*ServiceResponse reader
 *   config.c    options and OTEL_* variables
 *
 * Everything above is pure (bytes in, bytes out): the unit tests and the
 * strict receiver check it without a network.
 */
#ifndef SPANLOG_OTLP_INTERNAL_H
#define SPANLOG_OTLP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "spanlog/otlp.h"

/* ---- protobuf writer (pb.c) ---------------------------------------------- */

enum { SL__PB_VARINT = 0, SL__PB_FIXED64 = 1, SL__PB_LEN = 2, SL__PB_FIXED32 = 5 };

/*
 * Output buffer. It starts on memory the caller gives (a stack array, or
 * NULL) and moves to the heap when it must grow, up to `max` bytes; past
 * that, or when memory runs out, `failed` is set and later writes are
 * ignored, so a caller checks once at the end.
 */
typedef struct sl__pb {
    uint8_t *buf;
    size_t len, cap, max;
    bool heap;
    bool failed;
} sl__pb;

void sl__pb_init(sl__pb *b, uint8_t *buf, size_t cap, size_t max);
void sl__pb_free(sl__pb *b); /* frees the heap buffer, if any */

/* Out of line: grows the buffer for n more bytes (false, and `failed`, when
 * it cannot; a failed buffer then has no room left, so every later write
 * takes this path and is dropped). */
bool sl__pb_grow(sl__pb *b, size_t n);

/*
 * The writers below are inline: a span makes some forty of them, mostly of
 * a few bytes, and a call each plus the room check was a third of the
 * encoder's time.
 */
static inline bool sl__pb_room(sl__pb *b, size_t n)
{
    return b->cap - b->len >= n || sl__pb_grow(b, n);
}

static inline void sl__pb_raw(sl__pb *b, const void *p, size_t n)
{
    if (n > 0 && sl__pb_room(b, n)) {
        memcpy(b->buf + b->len, p, n);
        b->len += n;
    }
}

static inline size_t sl__pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline void sl__pb_varint(sl__pb *b, uint64_t v)
{
    if (sl__pb_room(b, 10)) {
        uint8_t *d = b->buf + b->len;
        size_t n = 0;
        while (v >= 0x80) {
            d[n++] = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        d[n++] = (uint8_t)v;
        b->len += n;
    }
}

static inline void sl__pb_tag(sl__pb *b, uint32_t field, unsigned wire)
{
    uint32_t t = (field << 3) | wire;
    if (t < 0x80 && sl__pb_room(b, 1)) {
        b->buf[b->len++] = (uint8_t)t;
    } else {
        sl__pb_varint(b, t);
    }
}

/* The scalar writers omit a zero value (proto3 defaults), except _bool and
 * _double, which always write. */
static inline void sl__pb_uint(sl__pb *b, uint32_t field, uint64_t v)
{
    if (v != 0) {
        sl__pb_tag(b, field, SL__PB_VARINT);
        sl__pb_varint(b, v);
    }
}

static inline void sl__pb_int(sl__pb *b, uint32_t field, int64_t v)
{
    sl__pb_uint(b, field, (uint64_t)v); /* int64: two's complement, 10 bytes if < 0 */
}

static inline void sl__pb_bool(sl__pb *b, uint32_t field, bool v)
{
    sl__pb_tag(b, field, SL__PB_VARINT);
    sl__pb_varint(b, v ? 1 : 0);
}

static inline void sl__pb_le(sl__pb *b, uint64_t v, size_t n)
{
    if (sl__pb_room(b, 8)) {
        uint8_t *d = b->buf + b->len;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(d, &v, 8); /* n (4 or 8) low bytes are the wire form */
#else
        for (size_t i = 0; i < n; i++) {
            d[i] = (uint8_t)(v >> (8 * i));
        }
#endif
        b->len += n;
    }
}

static inline void sl__pb_fixed32(sl__pb *b, uint32_t field, uint32_t v)
{
    if (v != 0) {
        sl__pb_tag(b, field, SL__PB_FIXED32);
        sl__pb_le(b, v, 4);
    }
}

static inline void sl__pb_fixed64(sl__pb *b, uint32_t field, uint64_t v)
{
    if (v != 0) {
        sl__pb_tag(b, field, SL__PB_FIXED64);
        sl__pb_le(b, v, 8);
    }
}

static inline void sl__pb_double(sl__pb *b, uint32_t field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    sl__pb_tag(b, field, SL__PB_FIXED64);
    sl__pb_le(b, bits, 8);
}

static inline void sl__pb_bytes(sl__pb *b, uint32_t field, const void *p, size_t n)
{
    sl__pb_tag(b, field, SL__PB_LEN);
    sl__pb_varint(b, n);
    sl__pb_raw(b, p, n);
}

/* 1 when the n bytes are all ASCII (the usual name, key or value). */
static inline bool sl__otlp_ascii(const char *s, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    for (; i < n; i++) {
        acc |= (unsigned char)s[i];
    }
    return (acc & 0x8080808080808080ull) == 0;
}

/* Out of line: a string that is not all ASCII (validated, repaired). */
void sl__pb_string_utf8(sl__pb *b, uint32_t field, const char *s, size_t n);

/* A string field, always written; invalid UTF-8 is replaced by U+FFFD. */
static inline void sl__pb_string(sl__pb *b, uint32_t field, const char *s, size_t n)
{
    if (s == NULL) {
        n = 0;
    }
    if (sl__otlp_ascii(s, n)) {
        sl__pb_bytes(b, field, s, n);
    } else {
        sl__pb_string_utf8(b, field, s, n);
    }
}
/* The same, omitted when empty. */
void sl__pb_string_opt(sl__pb *b, uint32_t field, const char *s, size_t n);

/* A nested message: begin returns a mark that end takes. */
static inline size_t sl__pb_begin(sl__pb *b, uint32_t field)
{
    sl__pb_tag(b, field, SL__PB_LEN);
    if (sl__pb_room(b, 1)) {
        b->buf[b->len++] = 0;
    }
    return b->len;
}

void sl__pb_end_long(sl__pb *b, size_t mark);

static inline void sl__pb_end(sl__pb *b, size_t mark)
{
    size_t body = b->len - mark;
    if (body < 0x80 && !b->failed) {
        b->buf[mark - 1] = (uint8_t)body;
    } else {
        sl__pb_end_long(b, mark);
    }
}

/* Bytes of s that are valid UTF-8 from the start. */
size_t sl__otlp_utf8_valid_prefix(const char *s, size_t n);
/* Appends s with each invalid sequence replaced by U+FFFD. */
void sl__otlp_utf8_repair(sl__pb *b, const char *s, size_t n);

/* ---- limits ----------------------------------------------------------------- */

/* OpenTelemetry's span and log limits; 0 in value_len means unlimited. */
typedef struct sl__otlp_limits {
    uint32_t attr_count;       /* OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT / LOGRECORD_ (128) */
    uint32_t value_len;        /* OTEL_*ATTRIBUTE_VALUE_LENGTH_LIMIT (unlimited) */
    uint32_t event_count;      /* OTEL_SPAN_EVENT_COUNT_LIMIT (128) */
    uint32_t link_count;       /* OTEL_SPAN_LINK_COUNT_LIMIT (128) */
    uint32_t event_attr_count; /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT (128) */
    uint32_t link_attr_count;  /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT (128) */
} sl__otlp_limits;

void sl__otlp_limits_default(sl__otlp_limits *l);

/* Appends a string literal. */
#define SL__JW_LIT(w, s) sl__jw_raw((w), (s), sizeof(s) - 1)

/* ---- unique keys (keys.c) -------------------------------------------------- */

/* True when the n bytes are 0x01..0x7f: a key that is sent as it is. */
bool sl__otlp_key_plain(const char *s, size_t n);
/* True when two keys are the same key as written: compared code point by
 * code point, each invalid UTF-8 subpart and NUL read as U+FFFD. */
bool sl__otlp_key_eq(const char *a, size_t an, const char *b, size_t bn);

/*
 * An attribute list as it is sent: keys unique as written (a key again
 * keeps its first position and takes the last value), empty keys left out
 * and counted in `dropped`. `distinct`: the caller knows no two keys are
 * equal bytes (the span API's attributes), so that the usual list of plain
 * keys is taken as it is, without a copy.
 */
typedef struct sl__otlp_attrs {
    const sl_field *f;
    size_t n;
    uint32_t dropped;
    sl_field *heap;
    sl_field local[16];
} sl__otlp_attrs;

/* Fills a from f[0..n); false when memory ran out. Release it after. */
bool sl__otlp_attrs_get(sl__otlp_attrs *a, const sl_field *f, size_t n, bool distinct);
void sl__otlp_attrs_release(sl__otlp_attrs *a);

/*
 * The same rule for the members of an SL_JSON object sent as a key-value
 * list (jansson's keys are byte-unique, but may hold NUL and invalid
 * UTF-8): sl__otlp_object_check(o) is true when two keys of o could be the
 * same as written (quadratic work is then needed, else none);
 * sl__otlp_object_entry() says whether the member at `it` is sent (false:
 * an earlier member has its key) and with which value (the last member's).
 */
struct json_t;
bool sl__otlp_object_check(const struct json_t *o);
bool sl__otlp_object_entry(const struct json_t *o, void *it, bool check,
                           const struct json_t **value);

/* ---- values (value.c) ------------------------------------------------------ */

/* Encodes f's value as an AnyValue message in field `field` (a value that
 * is null becomes an empty AnyValue). Strings are cut to value_len bytes
 * (on a UTF-8 boundary) when value_len is not 0. */
void sl__otlp_anyvalue_pb(sl__pb *b, uint32_t field, const sl_field *f,
                          uint32_t value_len);
/* A KeyValue message in field `field`. */
void sl__otlp_keyvalue_pb(sl__pb *b, uint32_t field, const sl_field *f,
                          uint32_t value_len);
void sl__otlp_kv_str_pb(sl__pb *b, uint32_t field, const char *key, const char *v,
                        size_t n);
void sl__otlp_kv_int_pb(sl__pb *b, uint32_t field, const char *key, int64_t v);

/* JSON forms: {"key":..,"value":{..}} and the AnyValue object. */
void sl__otlp_anyvalue_json(sl__jw *w, const sl_field *f, uint32_t value_len);
void sl__otlp_keyvalue_json(sl__jw *w, const sl_field *f, uint32_t value_len);
/* "name":[kv,...] for n fields (nothing when n is 0); returns the count
 * written, at most `limit`. `*first` tracks the object's comma. */
size_t sl__otlp_attrs_json(sl__jw *w, const char *name, const sl_field *f, size_t n,
                           uint32_t limit, uint32_t value_len, bool *first);
/* Writes ,"name": (or without the comma when *first); clears *first. */
void sl__otlp_json_key(sl__jw *w, const char *name, bool *first);
/* 64-bit integers as JSON strings, as the OTLP/JSON mapping says. */
void sl__otlp_json_u64str(sl__jw *w, uint64_t v);
/* Ids as lowercase hex strings. */
void sl__otlp_json_hex(sl__jw *w, const uint8_t *bytes, size_t n);

/* ---- items (span_enc.c, log_enc.c) --------------------------------------------
 *
 * An exporter encodes each span or record once, on the caller's thread, as
 * the repeated-field entry it will be inside ScopeSpans / ScopeLogs (tag,
 * length, message) for protobuf, or as one JSON object for http/json. A
 * batch is then these items concatenated (protobuf) or joined by commas
 * (JSON) inside the request's envelope.
 */
void sl__otlp_span_pb(sl__pb *b, const sl_span_data *d, const sl__otlp_limits *lim);
void sl__otlp_span_json(sl__jw *w, const sl_span_data *d, const sl__otlp_limits *lim);

/* What a LogRecord carries beyond the record: when it was seen and which
 * baggage keys to copy into its attributes. */
typedef struct sl__otlp_log_extra {
    int64_t observed_ns;
    const char *const *baggage_keys;
    size_t nbaggage_keys;
} sl__otlp_log_extra;

int sl__otlp_severity_number(sl_level level);
void sl__otlp_log_pb(sl__pb *b, const sl_record *r, const sl__otlp_log_extra *x,
                     const sl__otlp_limits *lim);
void sl__otlp_log_json(sl__jw *w, const sl_record *r, const sl__otlp_log_extra *x,
                       const sl__otlp_limits *lim);

/* ---- resource and scope (resource.c) ------------------------------------------ */

typedef struct sl__otlp_kv {
    char *key;
    char *value; /* string values only, except process.pid */
} sl__otlp_kv;

typedef struct sl__otlp_resource {
    sl__otlp_kv *attrs;
    size_t n;
    int64_t pid;
} sl__otlp_resource;

/*
 * Builds the resource: service.name (service_name, else OTEL_SERVICE_NAME or
 * its service.name entry, else `fallback_service`, else
 * unknown_service:<process name>), OTEL_RESOURCE_ATTRIBUTES
 * (percent-decoded), telemetry.sdk.*, host.name, process.pid. A malformed
 * OTEL_RESOURCE_ATTRIBUTES entry is skipped and described in *err (the
 * other entries are kept); the return is SL_OK then, or SL_ENOMEM.
 * resource_attrs NULL means: read OTEL_RESOURCE_ATTRIBUTES.
 */
sl_status sl__otlp_resource_build(sl__otlp_resource *r, const char *service_name,
                                  const char *fallback_service,
                                  const char *resource_attrs, sl_error *err);
void sl__otlp_resource_free(sl__otlp_resource *r);

/*
 * Parses a "k=v,k=v" list (OTEL_RESOURCE_ATTRIBUTES, *_HEADERS: the W3C
 * Baggage shape, blanks around members, keys and values allowed, values
 * percent-decoded) and calls fn with each decoded key and value, which fn
 * then owns (frees with sl__free). SL_EPARSE names `var` and the byte
 * position in *err (with the value itself unless `secret`); entries before
 * the bad one have been passed to fn already. An fn error stops the parse.
 */
typedef sl_status (*sl__otlp_kv_fn)(void *user, char *key, char *value);
sl_status sl__otlp_kv_list_parse(const char *text, const char *var, bool secret,
                                 sl__otlp_kv_fn fn, void *user, sl_error *err);
/* The value of a resource attribute, or NULL. */
const char *sl__otlp_resource_get(const sl__otlp_resource *r, const char *key);

/* ---- requests (request.c) --------------------------------------------------- */

typedef enum sl__otlp_signal { SL__OTLP_TRACES = 0, SL__OTLP_LOGS = 1 } sl__otlp_signal;

/*
 * The envelope around a batch: the request's bytes up to where the items go
 * (`head`) and after them (`tail`), for one signal and protocol. Built once
 * per exporter; a protobuf batch is head + varint lengths + items + tail.
 */
typedef struct sl__otlp_envelope {
    sl__otlp_signal signal;
    bool json;
    sl__pb resource; /* protobuf: the Resource message body */
    sl__pb scope;    /* protobuf: the InstrumentationScope message body */
    char *
        json_head; /* JSON:
                      {"resourceSpans":[{"resource":..,"scopeSpans":[{"scope":..,"spans":[
                    */
    size_t json_head_len;
} sl__otlp_envelope;

sl_status sl__otlp_envelope_init(sl__otlp_envelope *e, sl__otlp_signal sig, bool json,
                                 const sl__otlp_resource *r);
void sl__otlp_envelope_free(sl__otlp_envelope *e);

/*
 * Writes one request holding items[0..n) (each len[i] bytes, encoded as
 * above) into out. Returns false when out failed (memory, max).
 */
bool sl__otlp_request(const sl__otlp_envelope *e, const void *const *items,
                      const size_t *lens, size_t n, sl__pb *out);

/*
 * Reads an Export*ServiceResponse (protobuf, or JSON when json) and its
 * partial_success: *rejected and up to cap-1 bytes of its error_message
 * into msg. Returns SL_OK, or SL_EPROTO for a body that is not a valid
 * response (an empty body is a valid empty response).
 */
sl_status sl__otlp_response_parse(sl__otlp_signal sig, bool json, const char *body,
                                  size_t len, int64_t *rejected, char *msg, size_t cap);

#endif /* SPANLOG_OTLP_INTERNAL_H */
