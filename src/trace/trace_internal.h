/*
 * trace_internal.h - what the files of src/trace share with each other.
 * Hidden; none of this is API.
 */
#ifndef SPANLOG_TRACE_INTERNAL_H
#define SPANLOG_TRACE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"
#include "spanlog/baggage.h"
#include "spanlog/span.h"

/*
 * Thread-locals on hot paths use the initial-exec TLS model: the objects are
 * built position-independent, and the default (global-dynamic) model turns
 * every access into a __tls_get_addr call. Our few words of TLS fit the
 * static TLS reserve, also when libspanlog is dlopen'ed.
 */
#if defined(__GNUC__) || defined(__clang__)
#define SL__TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define SL__TLS _Thread_local
#endif

/*
 * Lowercase-hex decoding table: '0'-'9' and 'a'-'f' map to 0-15, every other
 * byte (uppercase included, NUL included) to SL__HEX_BAD. Callers OR the
 * looked-up values together and test the bit once per field.
 */
#define SL__HEX_BAD 0x80u
extern const uint8_t sl__hex_lc[256];
extern const char sl__hex_digits[16];

/* Writes 2*n lowercase hex digits of bytes[0..n) to out (no NUL). */
static inline void sl__hex_encode(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = sl__hex_digits[bytes[i] >> 4];
        out[2 * i + 1] = sl__hex_digits[bytes[i] & 0x0f];
    }
}

/*
 * Decodes 2*n lowercase hex digits into bytes, a digit pair at a time
 * through sl__hex_lc. Returns 0 on success, nonzero when any digit is not
 * lowercase hex (bytes then hold garbage). The reference for the vector
 * path below (test_traceparent compares the two).
 */
static inline unsigned sl__hex_decode_table(const char *hex, size_t n, uint8_t *bytes)
{
    unsigned bad = 0;
    const unsigned char *h = (const unsigned char *)hex;
    for (size_t i = 0; i < n; i++) {
        uint8_t hi = sl__hex_lc[h[2 * i]];
        uint8_t lo = sl__hex_lc[h[2 * i + 1]];
        bad |= (hi | lo) & SL__HEX_BAD;
        bytes[i] = (uint8_t)((hi << 4) | (lo & 0x0f));
    }
    return bad;
}

#if defined(__SSE2__)
/*
 * Sixteen digits into eight bytes with SSE2 (every x86-64 has it): each
 * byte tested for '0'..'9' and 'a'..'f' by signed compares (a byte of 0x80
 * or more is negative, so in neither range), the nibbles made from the low
 * four bits (+9 for a letter), then each pair of bytes joined in its 16-bit
 * lane and the lanes packed. Nonzero when any digit is not lowercase hex.
 */
static inline unsigned sl__hex_decode16(const char *hex, uint8_t *out)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)hex);
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)),
                                   _mm_cmplt_epi8(x, _mm_set1_epi8('f' + 1)));
    unsigned ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(digit, letter));
    __m128i nib = _mm_add_epi8(_mm_and_si128(x, _mm_set1_epi8(0x0f)),
                               _mm_and_si128(letter, _mm_set1_epi8(9)));
    /* Lane i holds digit 2i (low byte, the high nibble) and 2i+1. */
    __m128i v =
        _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0x00ff)), 4),
                     _mm_srli_epi16(nib, 8));
    _mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(v, v));
    return ok != 0xffffu;
}
#endif

/* sl__hex_decode_table's result, eight bytes at a time where SSE2 is. */
static inline unsigned sl__hex_decode(const char *hex, size_t n, uint8_t *bytes)
{
    unsigned bad = 0;
    size_t done = 0;
#if defined(__SSE2__)
    for (; n - done >= 8; done += 8) {
        bad |= sl__hex_decode16(hex + 2 * done, bytes + done);
    }
#endif
    return bad | sl__hex_decode_table(hex + 2 * done, n - done, bytes + done);
}

/*
 * Copies a span context without the unused tail of its tracestate buffer:
 * the struct is ~560 bytes, most of it usually empty.
 */
static inline void sl__span_context_copy(sl_span_context *dst, const sl_span_context *src)
{
    /* Field by field: one memcpy of the head became two overlapping 16-byte
     * stores, and the 8-byte loads of the trace id that follow (validity,
     * sampler) could not be forwarded from them. `remote` is computed, not
     * copied, so that the compiler does not join flags and remote into one
     * 2-byte load, which is not forwarded from the two 1-byte stores a span
     * start has just made (41 % of push's cycles). */
    dst->trace_id = src->trace_id;
    dst->span_id = src->span_id;
    dst->flags = src->flags;
    dst->remote = src->remote != 0;
    size_t n = src->tracestate_len <= SL_TRACESTATE_MAX ? src->tracestate_len : 0;
    if (n != 0) {
        memcpy(dst->tracestate, src->tracestate, n);
    }
    dst->tracestate[n] = '\0';
    dst->tracestate_len = (uint16_t)n;
}

/* 1 when all n bytes are zero (n is 8 or 16 on every hot path). */
static inline int sl__all_zero(const uint8_t *b, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        acc |= w;
    }
    for (; i < n; i++) {
        acc |= b[i];
    }
    return acc == 0;
}

/* sl_span_context_is_valid(), inlined for the span and context paths. */
static inline int sl__ctx_valid(const sl_span_context *c)
{
    return c != NULL && !sl__all_zero(c->trace_id.bytes, 16) &&
           !sl__all_zero(c->span_id.bytes, 8);
}

/* A fresh 64-bit random value from the calling thread's generator. */
uint64_t sl__rand64(void);

/*
 * Pops the context entry with this token and every entry above it from the
 * calling thread's stack. Returns how many were popped (0: not found).
 */
int sl__context_pop_to(uint64_t token);

/* The process-wide sampler's decision for a new span (sampler.c). */
int sl__sampler_decide(const sl_span_context *parent, sl_trace_id trace_id);

/* Hands an ended sampled span to the processors and the end hook. */
void sl__span_report(const sl_span_data *d);

/* Set by sl_span_set_end_logger (span_record.c); NULL: no end record. */
typedef void (*sl__span_end_hook_fn)(const sl_span_data *d);
extern _Atomic(sl__span_end_hook_fn) sl__span_end_hook;

/* Processors registered (processor.c); with the hook, who sees ended spans. */
extern atomic_size_t sl__span_processors;

/* Whether an ended span would reach anyone: when not, sl_span_end() skips
 * the end time and the report (nothing could observe either). */
static inline int sl__span_observed(void)
{
    return atomic_load_explicit(&sl__span_processors, memory_order_acquire) != 0 ||
           atomic_load_explicit(&sl__span_end_hook, memory_order_acquire) != NULL;
}

/* Formats the first `count` entries of b (may write nothing when cap is 0);
 * returns the full length, which may exceed cap. No NUL is written. */
size_t sl__baggage_format_n(const sl_baggage *b, size_t count, char *buf, size_t cap);

#endif /* SPANLOG_TRACE_INTERNAL_H */
