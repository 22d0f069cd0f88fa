/*
 * spanlog/baggage.h - W3C Baggage: application key/value pairs that travel
 * with a request, and belong to the current context.
 *
 * A baggage is an immutable, reference-counted list of entries (key, value,
 * properties). "Changing" one makes a new one. Immutable means any thread
 * may read a baggage it holds a reference to; references are taken and
 * dropped with atomic counts.
 *
 * Header form (https://www.w3.org/TR/baggage/):
 *   baggage: userId=alice,serverNode=DF%2028;region=eu,isProduction=false
 * Values are percent-decoded when parsed (UTF-8; an undecodable byte
 * sequence becomes U+FFFD) and percent-encoded when formatted. Properties
 * (";k=v;flag") are kept as written, blanks trimmed, and passed on.
 */
#ifndef SPANLOG_BAGGAGE_H
#define SPANLOG_BAGGAGE_H

#include "common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (the spec's minimums are 64 members and 8192 bytes). */
#define SL_BAGGAGE_MAX_MEMBERS 180
#define SL_BAGGAGE_MAX_BYTES   8192

typedef struct sl_baggage sl_baggage;

/*
 * Parses a baggage header value of `len` bytes (not necessarily
 * NUL-terminated). Members that break the grammar (no '=', a bad key, a
 * bad value character, a bad percent escape in a value or a property
 * value, a bad property) are dropped,
 * as the spec allows, and the rest kept; so are members past
 * SL_BAGGAGE_MAX_MEMBERS or past SL_BAGGAGE_MAX_BYTES of input. *dropped
 * (optional) receives how many members were dropped. An empty or blank
 * header gives *out = NULL (no baggage) and SL_OK. Returns SL_EINVAL for a
 * NULL header or out, SL_ENOMEM. The caller owns *out (sl_baggage_free).
 */
SL_API sl_status sl_baggage_parse(const char *header, size_t len, sl_baggage **out,
                                  size_t *dropped);

/*
 * Formats b as a header value into buf (NUL-terminated). *out_len
 * (optional) receives the length, or the length needed on SL_ERANGE. An
 * empty or NULL baggage formats as "". SL_EINVAL for NULL buf.
 */
SL_API sl_status sl_baggage_format(const sl_baggage *b, char *buf, size_t cap,
                                   size_t *out_len);

/* Number of entries; 0 for NULL. */
SL_API size_t sl_baggage_count(const sl_baggage *b);

/*
 * Entry i (in header order): key, decoded value and its length (values may
 * hold NUL bytes after decoding), and properties ("" when none). Pointers
 * stay valid while the caller holds a reference to b. Any out pointer may
 * be NULL. SL_ENOENT past the end.
 */
SL_API sl_status sl_baggage_entry(const sl_baggage *b, size_t i, const char **key,
                                  const char **value, size_t *value_len,
                                  const char **properties);

/*
 * The decoded value of property `name` of entry i (W3C Baggage: property
 * values are percent-encoded like member values; invalid UTF-8 after
 * decoding is U+FFFD) into buf, NUL-terminated; *len (optional) is its
 * length, or the length needed on SL_ERANGE (cap must hold it plus the NUL).
 * A property without a value gives "". The properties string of
 * sl_baggage_entry() keeps values in one canonical encoding ("p=%41" is
 * stored as "p=A"). SL_ENOENT when entry i or the property is absent,
 * SL_EINVAL for NULL name (or NULL buf with cap > 0), SL_ENOMEM.
 */
SL_API sl_status sl_baggage_property(const sl_baggage *b, size_t i, const char *name,
                                     char *buf, size_t cap, size_t *len);

/*
 * The value for key (the last entry with that key, matching exactly):
 * SL_OK and the value, or SL_ENOENT. value_len may be NULL.
 */
SL_API sl_status sl_baggage_get(const sl_baggage *b, const char *key, const char **value,
                                size_t *value_len);

/*
 * A new baggage: b (may be NULL) without any entry named key, plus (key,
 * value, properties) at the end. value is a NUL-terminated plain (decoded)
 * string; properties NULL or "" for none, otherwise "k=v;flag" as in the
 * header (validated). SL_EINVAL for a key that is not an HTTP token, bad
 * properties or NULL arguments; SL_ERANGE past the limits; SL_ENOMEM.
 */
SL_API sl_status sl_baggage_set(const sl_baggage *b, const char *key, const char *value,
                                const char *properties, sl_baggage **out);

/* A new baggage without key (*out NULL when nothing is left). */
SL_API sl_status sl_baggage_remove(const sl_baggage *b, const char *key,
                                   sl_baggage **out);

/* Takes a reference (returns b); NULL-safe. Thread-safe. */
SL_API sl_baggage *sl_baggage_ref(const sl_baggage *b);

/* Drops a reference; the last one frees. NULL is a no-op. Thread-safe. */
SL_API void sl_baggage_free(sl_baggage *b);

/*
 * The calling thread's current baggage (NULL: none), borrowed: valid until
 * the next attach/detach on this thread. Take a reference (sl_baggage_ref)
 * to keep it or to hand it to another thread.
 */
SL_API const sl_baggage *sl_baggage_current(void);

/*
 * Makes b the current baggage: pushes an entry on the calling thread's
 * context stack with the current span context and b (a reference is taken;
 * NULL attaches "no baggage"). Detach with sl_context_detach(*token).
 * sl_context_attach() keeps the current baggage; sl_context_attach_with()
 * sets both at once (hand-off: copy the span context and take a baggage
 * reference in one thread, attach both in another). Errors as
 * sl_context_attach().
 */
SL_API sl_status sl_baggage_attach(const sl_baggage *b, sl_context_token *token);
SL_API sl_status sl_context_attach_with(const sl_span_context *ctx, const sl_baggage *b,
                                        sl_context_token *token);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_BAGGAGE_H */
