/*
 * otlp_json.h - reading the OTLP receiver's plain data (otlp_decode.py) in
 * the OTLP tests: a string or integer member that must be there, and ids as
 * the hex the decoder prints. Include after <cmocka.h> and <jansson.h>.
 */
#ifndef SPANLOG_TEST_OTLP_JSON_H
#define SPANLOG_TEST_OTLP_JSON_H

#include <stdint.h>
#include <stdio.h>

/* The string member k of o; fails the test when it is not a string. */
static inline const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* The integer member k of o; fails the test when it is not an integer. */
static inline json_int_t num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
static inline void hex_into(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

#endif /* SPANLOG_TEST_OTLP_JSON_H */
