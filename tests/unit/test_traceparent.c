/* test_traceparent.c - traceparent parse and format, against tables of
 * valid and malformed headers, each ending at a guard page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "spanlog/trace.h"
#include "trace/trace_internal.h"
#include "unit/trace_guard.h"

#define TID   "0af7651916cd43dd8448eb211c80319c"
#define SID   "b7ad6b7169203331"
#define VALID "00-" TID "-" SID "-01"

static trace_guard guard;

static sl_status parse_guarded(const char *s, size_t n, sl_span_context *out)
{
    const char *p = trace_guard_place(&guard, s, n);
    return sl_traceparent_parse(p, n, out);
}

static void assert_empty(const sl_span_context *c)
{
    assert_false(sl_trace_id_is_valid(c->trace_id));
    assert_false(sl_span_id_is_valid(c->span_id));
    assert_int_equal(c->flags, 0);
    assert_int_equal(c->remote, 0);
    assert_int_equal(c->tracestate_len, 0);
}

static void assert_ids(const sl_span_context *c, const char *tid, const char *sid,
                       unsigned flags)
{
    char t[SL_TRACE_ID_HEX_LEN + 1], s[SL_SPAN_ID_HEX_LEN + 1];
    sl_trace_id_to_hex(c->trace_id, t);
    sl_span_id_to_hex(c->span_id, s);
    assert_string_equal(t, tid);
    assert_string_equal(s, sid);
    assert_int_equal(c->flags, flags);
    assert_int_equal(c->remote, 1);
    assert_int_equal(c->tracestate_len, 0);
    assert_string_equal(c->tracestate, "");
}

static void expect_valid(const char *s, size_t n, const char *tid, const char *sid,
                         unsigned flags)
{
    sl_span_context c;
    memset(&c, 0x5a, sizeof c);
    sl_status st = parse_guarded(s, n, &c);
    if (st != SL_OK) {
        fail_msg("expected valid: \"%.*s\" (len %zu)", (int)n, s, n);
    }
    assert_ids(&c, tid, sid, flags);
}

static void expect_invalid(const char *s, size_t n)
{
    sl_span_context c;
    memset(&c, 0x5a, sizeof c);
    sl_status st = parse_guarded(s, n, &c);
    if (st != SL_EPARSE) {
        fail_msg("expected SL_EPARSE for \"%.*s\" (len %zu), got %d", (int)n, s, n, st);
    }
    assert_empty(&c);
}

static void test_valid_basic(void **state)
{
    (void)state;
    expect_valid(VALID, strlen(VALID), TID, SID, 1);
    expect_valid("00-" TID "-" SID "-00", 55, TID, SID, 0);
    expect_valid("00-" TID "-" SID "-02", 55, TID, SID, 2);
    expect_valid("00-" TID "-" SID "-03", 55, TID, SID, 3);
    /* Unknown flag bits are cleared: the spec says they MUST be zero. */
    expect_valid("00-" TID "-" SID "-ff", 55, TID, SID, 3);
    expect_valid("00-" TID "-" SID "-09", 55, TID, SID, 1);
    expect_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55,
                 "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1);
    /* Non-zero ids with only one bit set. */
    expect_valid("00-00000000000000000000000000000001-0000000000000001-01", 55,
                 "00000000000000000000000000000001", "0000000000000001", 1);
    expect_valid("00-80000000000000000000000000000000-8000000000000000-00", 55,
                 "80000000000000000000000000000000", "8000000000000000", 0);
}

static void test_every_length_v00(void **state)
{
    (void)state;
    /* Prefixes of a version-00 header followed by more text: only 55 is valid. */
    const char *src = VALID "-abc12";
    for (size_t n = 0; n <= 60; n++) {
        if (n == 55) {
            expect_valid(src, n, TID, SID, 1);
        } else {
            expect_invalid(src, n);
        }
    }
    /* Padding with hex digits rather than a field separator. */
    const char *src2 = VALID "0123456789";
    for (size_t n = 0; n <= 60; n++) {
        if (n != 55) {
            expect_invalid(src2, n);
        }
    }
}

static void test_every_length_future(void **state)
{
    (void)state;
    /* A higher version: at least 55 chars; char 55, if present, is '-'. */
    const char *src = "01-" TID "-" SID "-01-abc12";
    for (size_t n = 0; n <= 60; n++) {
        if (n >= 55) {
            expect_valid(src, n, TID, SID, 1);
        } else {
            expect_invalid(src, n);
        }
    }
    const char *bad = "cc-" TID "-" SID "-01abc123";
    for (size_t n = 0; n <= 60; n++) {
        if (n == 55) {
            expect_valid(bad, n, TID, SID, 1);
        } else {
            expect_invalid(bad, n);
        }
    }
    expect_valid("fe-" TID "-" SID "-01-what-ever-comes", 71, TID, SID, 1);
    expect_valid("01-" TID "-" SID "-00-", 56, TID, SID, 0);
    expect_invalid("01-" TID "-" SID "-0", 54);
    expect_invalid("01-" TID "-" SID "-011", 56);
}

static void test_every_position_bad_char(void **state)
{
    (void)state;
    static const char bad_for_hex[] = {'g', 'G',        'A',        'F',  'z',
                                       '-', '_',        '\0',       '\n', '.',
                                       ':', (char)0x80, (char)0xff, '/',  '@'};
    static const char bad_for_dash[] = {'0', 'a', '_', '+', '\0', '.', (char)0xad, '='};
    char buf[56];
    for (size_t pos = 0; pos < 55; pos++) {
        int dash = pos == 2 || pos == 35 || pos == 52;
        const char *set = dash ? bad_for_dash : bad_for_hex;
        size_t count = dash ? sizeof bad_for_dash : sizeof bad_for_hex;
        for (size_t k = 0; k < count; k++) {
            memcpy(buf, VALID, 55);
            buf[pos] = set[k];
            expect_invalid(buf, 55);
        }
        /* A blank inside the header is never trimmed away. */
        if (pos > 0 && pos < 54) {
            memcpy(buf, VALID, 55);
            buf[pos] = ' ';
            expect_invalid(buf, 55);
            buf[pos] = '\t';
            expect_invalid(buf, 55);
        }
    }
}

static void test_uppercase(void **state)
{
    (void)state;
    expect_invalid("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", 55);
    expect_invalid("00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01", 55);
    expect_invalid("00-0af7651916cd43dd8448eb211c80319C-b7ad6b7169203331-01", 55);
    expect_invalid("00-" TID "-" SID "-0A", 55);
    expect_invalid("0A-" TID "-" SID "-01", 55);
    expect_invalid("FF-" TID "-" SID "-01", 55);
}

static void test_versions(void **state)
{
    (void)state;
    expect_invalid("ff-" TID "-" SID "-01", 55);
    expect_invalid("ff-" TID "-" SID "-01-extra", 61);
    expect_valid("01-" TID "-" SID "-01", 55, TID, SID, 1);
    expect_valid("fe-" TID "-" SID "-01", 55, TID, SID, 1);
    expect_valid("10-" TID "-" SID "-02-x", 57, TID, SID, 2);
    expect_invalid("00-" TID "-" SID "-01-", 56);
    expect_invalid("00-" TID "-" SID "-01-x", 57);
    expect_invalid("0-" TID "-" SID "-01", 54);
    expect_invalid("000-" TID "-" SID "-01", 56);
    expect_invalid("-00-" TID "-" SID "-01", 56);
    /* A future version must still follow the version-00 field layout. */
    expect_invalid("01-" TID "0-" SID "-01", 56);
    expect_invalid("01-" TID "-" SID "0-01", 56);
    expect_invalid("01-" TID "-" SID "-01x", 56);
}

static void test_zero_ids(void **state)
{
    (void)state;
    expect_invalid("00-00000000000000000000000000000000-" SID "-01", 55);
    expect_invalid("00-" TID "-0000000000000000-01", 55);
    expect_invalid("00-00000000000000000000000000000000-0000000000000000-00", 55);
    expect_invalid("01-00000000000000000000000000000000-" SID "-01-x", 57);
    expect_invalid("01-" TID "-0000000000000000-01-x", 57);
}

static void test_whitespace(void **state)
{
    (void)state;
    expect_valid(" " VALID, 56, TID, SID, 1);
    expect_valid(VALID " ", 56, TID, SID, 1);
    expect_valid("\t " VALID " \t\t", 60, TID, SID, 1);
    expect_valid("\t\t\t" VALID, 58, TID, SID, 1);
    expect_valid("  01-" TID "-" SID "-01-foo  ", 63, TID, SID, 1);
    static const char *const other[] = {"\n", "\r", "\v", "\f", "\r\n"};
    char buf[64];
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        int n = snprintf(buf, sizeof buf, "%s%s", other[i], VALID);
        expect_invalid(buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "%s%s", VALID, other[i]);
        expect_invalid(buf, (size_t)n);
    }
    expect_invalid("", 0);
    expect_invalid("   ", 3);
    expect_invalid("\t", 1);
}

static void test_embedded_nul(void **state)
{
    (void)state;
    char buf[60];
    memcpy(buf, VALID, 55);
    buf[55] = '\0';
    /* A NUL after the header is part of the given length: invalid. */
    expect_invalid(buf, 56);
    memcpy(buf, VALID, 55);
    buf[20] = '\0';
    expect_invalid(buf, 55);
    memcpy(buf + 1, VALID, 55);
    buf[0] = '\0';
    expect_invalid(buf, 56);
}

static void test_null_args(void **state)
{
    (void)state;
    sl_span_context c;
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(sl_traceparent_parse(NULL, 55, &c), SL_EINVAL);
    assert_empty(&c);
    assert_int_equal(sl_traceparent_parse(VALID, 55, NULL), SL_EINVAL);
    char buf[SL_TRACEPARENT_LEN + 1];
    assert_int_equal(sl_traceparent_format(NULL, buf, sizeof buf), SL_EINVAL);
    assert_string_equal(buf, "");
    sl_span_context empty = sl_span_context_empty();
    assert_int_equal(sl_traceparent_format(&empty, buf, sizeof buf), SL_EINVAL);
    assert_int_equal(sl_traceparent_format(&empty, NULL, 56), SL_EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    sl_span_context c;
    assert_int_equal(sl_traceparent_parse(VALID, 55, &c), SL_OK);
    char buf[SL_TRACEPARENT_LEN + 1];
    assert_int_equal(sl_traceparent_format(&c, buf, sizeof buf), SL_OK);
    assert_string_equal(buf, VALID);
    assert_int_equal(sl_traceparent_format(&c, buf, SL_TRACEPARENT_LEN), SL_ERANGE);
    assert_string_equal(buf, "");
    /* A future version is answered with version 00. */
    assert_int_equal(sl_traceparent_parse("7f-" TID "-" SID "-03-x", 57, &c), SL_OK);
    assert_int_equal(sl_traceparent_format(&c, buf, sizeof buf), SL_OK);
    assert_string_equal(buf, "00-" TID "-" SID "-03");
    /* Unknown flag bits set in a context by hand are not sent. */
    c.flags = 0xfd;
    assert_int_equal(sl_traceparent_format(&c, buf, sizeof buf), SL_OK);
    assert_string_equal(buf, "00-" TID "-" SID "-01");
}

static void test_round_trip_random(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        sl_span_context c = sl_span_context_empty();
        c.trace_id = sl_trace_id_random();
        c.span_id = sl_span_id_random();
        c.flags = (uint8_t)(i & 3);
        char buf[SL_TRACEPARENT_LEN + 1];
        assert_int_equal(sl_traceparent_format(&c, buf, sizeof buf), SL_OK);
        assert_int_equal(strlen(buf), SL_TRACEPARENT_LEN);
        sl_span_context d;
        assert_int_equal(parse_guarded(buf, SL_TRACEPARENT_LEN, &d), SL_OK);
        assert_memory_equal(&c.trace_id, &d.trace_id, sizeof c.trace_id);
        assert_memory_equal(&c.span_id, &d.span_id, sizeof c.span_id);
        assert_int_equal(c.flags, d.flags);
        char t[33], s[17];
        sl_trace_id_to_hex(c.trace_id, t);
        sl_span_id_to_hex(c.span_id, s);
        assert_memory_equal(buf + 3, t, 32);
        assert_memory_equal(buf + 36, s, 16);
    }
}

static void test_hex_ids(void **state)
{
    (void)state;
    sl_trace_id t;
    sl_span_id s;
    assert_int_equal(sl_trace_id_from_hex(TID, 32, &t), SL_OK);
    char out[33];
    sl_trace_id_to_hex(t, out);
    assert_string_equal(out, TID);
    assert_int_equal(sl_trace_id_from_hex(TID, 31, &t), SL_EPARSE);
    assert_int_equal(sl_trace_id_from_hex("0AF7651916CD43DD8448EB211C80319C", 32, &t),
                     SL_EPARSE);
    assert_int_equal(sl_trace_id_from_hex(NULL, 32, &t), SL_EINVAL);
    assert_int_equal(sl_trace_id_from_hex(TID, 32, NULL), SL_EINVAL);
    assert_int_equal(sl_span_id_from_hex(SID, 16, &s), SL_OK);
    sl_span_id_to_hex(s, out);
    assert_string_equal(out, SID);
    assert_int_equal(sl_span_id_from_hex(SID, 17, &s), SL_EPARSE);
    assert_int_equal(sl_span_id_from_hex("b7ad6b716920333g", 16, &s), SL_EPARSE);
    /* All-zero parses but is not valid. */
    assert_int_equal(sl_span_id_from_hex("0000000000000000", 16, &s), SL_OK);
    assert_false(sl_span_id_is_valid(s));
    const char *g = trace_guard_place(&guard, SID, 16);
    assert_int_equal(sl_span_id_from_hex(g, 16, &s), SL_OK);
}

static void test_correlation_id(void **state)
{
    (void)state;
    sl_span_context c;
    assert_int_equal(sl_traceparent_parse(VALID, 55, &c), SL_OK);
    char out[SL_CORRELATION_ID_LEN + 1];
    assert_int_equal(sl_correlation_id(&c, out), SL_OK);
    assert_string_equal(out, "0af76519-b7ad6b71");
    sl_span_context e = sl_span_context_empty();
    memset(out, 'x', sizeof out);
    assert_int_equal(sl_correlation_id(&e, out), SL_EINVAL);
    assert_string_equal(out, "");
    memset(out, 'x', sizeof out);
    assert_int_equal(sl_correlation_id(NULL, out), SL_EINVAL);
    assert_string_equal(out, "");
    assert_int_equal(sl_correlation_id(&c, NULL), SL_EINVAL);
}

/* The id digits are decoded a word at a time: every byte value at every
 * digit position of both ids, each parse checked against a decoding done
 * here a digit at a time (ok exactly when the byte is lowercase hex). */
static int ref_nibble(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static void test_every_byte_at_every_digit(void **unused)
{
    (void)unused;
    char h[SL_TRACEPARENT_LEN + 1];
    for (int pos = 3; pos < 52; pos++) {
        if (pos == 35) {
            continue; /* the '-' between the ids */
        }
        for (int b = 0; b < 256; b++) {
            /* A base with every digit value, so each word mixes both ranges. */
            snprintf(h, sizeof(h), "00-%s-%s-01", "0123456789abcdeffedcba9876543210",
                     "a1b2c3d4e5f60789");
            h[pos] = (char)b;
            sl_span_context ctx;
            sl_status st = parse_guarded(h, SL_TRACEPARENT_LEN, &ctx);
            if (ref_nibble((unsigned char)b) < 0) {
                assert_int_equal(st, SL_EPARSE);
                continue;
            }
            assert_int_equal(st, SL_OK);
            for (int i = 0; i < 16; i++) {
                int v = ref_nibble((unsigned char)h[3 + 2 * i]) << 4 |
                        ref_nibble((unsigned char)h[4 + 2 * i]);
                assert_int_equal(ctx.trace_id.bytes[i], v);
            }
            for (int i = 0; i < 8; i++) {
                int v = ref_nibble((unsigned char)h[36 + 2 * i]) << 4 |
                        ref_nibble((unsigned char)h[37 + 2 * i]);
                assert_int_equal(ctx.span_id.bytes[i], v);
            }
        }
    }
}

/* The vector decoder against the table one, on every length up to 16
 * bytes and digits drawn mostly from the valid ones (a quarter of the time
 * any byte): same verdict, and the same bytes when valid. */
static void test_hex_decode_paths_agree(void **unused)
{
    (void)unused;
    static const char digits[] = "0123456789abcdef";
    uint64_t r = 0x9e3779b97f4a7c15u;
    char hex[32];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = (size_t)(iter % 16) + 1;
        for (size_t i = 0; i < 2 * n; i++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            hex[i] = (r >> 40) % 4 == 0 && iter % 8 == 0 ? (char)(r >> 24)
                                                         : digits[(r >> 32) % 16];
        }
        uint8_t a[16], b[16];
        unsigned bad_a = sl__hex_decode(hex, n, a);
        unsigned bad_b = sl__hex_decode_table(hex, n, b);
        assert_int_equal(bad_a != 0, bad_b != 0);
        if (bad_a == 0) {
            assert_memory_equal(a, b, n);
        }
    }
}

int main(void)
{
    if (trace_guard_init(&guard) != 0) {
        fprintf(stderr, "cannot set up the guard page\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_basic),
        cmocka_unit_test(test_every_length_v00),
        cmocka_unit_test(test_every_length_future),
        cmocka_unit_test(test_every_position_bad_char),
        cmocka_unit_test(test_uppercase),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_zero_ids),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_hex_ids),
        cmocka_unit_test(test_correlation_id),
        cmocka_unit_test(test_every_byte_at_every_digit),
        cmocka_unit_test(test_hex_decode_paths_agree),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    trace_guard_free(&guard);
    return rc;
}
