/*
 * trace_internal.h - what the files of src/trace share with each other.
 * Hidden; none of this is API.
 */
#ifndef SPANLOG_TRACE_INTERNAL_H
#define SPANLOG_TRACE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "internal.h"

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
 * Decodes 2*n lowercase hex digits into bytes. Returns 0 on success, nonzero
 * when any digit is not lowercase hex (bytes then hold garbage).
 */
static inline unsigned sl__hex_decode(const char *hex, size_t n, uint8_t *bytes)
{
    unsigned bad = 0;
    const unsigned char *h = (const unsigned char *)hex;
    for (size_t i = 0; i < n; i++) {
        uint8_t hi = sl__hex_lc[h[2 * i]];
        uint8_t lo = sl__hex_lc[h[2 * i + 1]];
        bad |= hi | lo;
        bytes[i] = (uint8_t)((hi << 4) | (lo & 0x0f));
    }
    return bad & SL__HEX_BAD;
}

/*
 * Copies a span context without the unused tail of its tracestate buffer:
 * the struct is ~560 bytes, most of it usually empty.
 */
static inline void sl__span_context_copy(sl_span_context *dst, const sl_span_context *src)
{
    memcpy(dst, src, offsetof(sl_span_context, tracestate));
    size_t n = src->tracestate_len <= SL_TRACESTATE_MAX ? src->tracestate_len : 0;
    memcpy(dst->tracestate, src->tracestate, n);
    dst->tracestate[n] = '\0';
    dst->tracestate_len = (uint16_t)n;
}

/* 1 when all n bytes are zero. */
static inline int sl__all_zero(const uint8_t *b, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= b[i];
    }
    return acc == 0;
}

/* A fresh 64-bit random value from the calling thread's generator. */
uint64_t sl__rand64(void);

#endif /* SPANLOG_TRACE_INTERNAL_H */
