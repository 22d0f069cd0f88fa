/*
 * fuzz_tracestate.c - sl_tracestate_parse and the entry API on any bytes.
 * Properties: what is stored is at most 512 characters and itself a valid
 * list that parses to the same entries (round trip) with no duplicate
 * keys; set puts its entry on the left and keeps the list valid; remove
 * removes exactly that key.
 */
#include <string.h>

#include "fuzz.h"
#include "spanlog/spanlog.h"

static void same_entries(const sl_span_context *a, const sl_span_context *b)
{
    size_t n = sl_tracestate_count(a);
    FUZZ_CHECK(n == sl_tracestate_count(b));
    FUZZ_CHECK(n <= SL_TRACESTATE_MAX_MEMBERS);
    for (size_t i = 0; i < n; i++) {
        sl_tracestate_entry_view x, y;
        FUZZ_CHECK(sl_tracestate_entry(a, i, &x) == SL_OK);
        FUZZ_CHECK(sl_tracestate_entry(b, i, &y) == SL_OK);
        FUZZ_CHECK(x.key_len == y.key_len && memcmp(x.key, y.key, x.key_len) == 0);
        FUZZ_CHECK(x.value_len == y.value_len &&
                   memcmp(x.value, y.value, x.value_len) == 0);
        for (size_t k = 0; k < i; k++) {
            sl_tracestate_entry_view z;
            FUZZ_CHECK(sl_tracestate_entry(a, k, &z) == SL_OK);
            FUZZ_CHECK(z.key_len != x.key_len || memcmp(z.key, x.key, x.key_len) != 0);
        }
    }
}

static void check_stored(const sl_span_context *c)
{
    FUZZ_CHECK(c->tracestate_len <= SL_TRACESTATE_MAX);
    FUZZ_CHECK(strlen(c->tracestate) == c->tracestate_len);
    sl_span_context again;
    FUZZ_CHECK(sl_tracestate_parse(c->tracestate, c->tracestate_len, &again) == SL_OK);
    same_entries(c, &again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_span_context c = sl_span_context_empty();
    sl_tracestate_info info;
    if (sl_tracestate_parse_info((const char *)data, size, &c, &info) != SL_OK) {
        FUZZ_CHECK(c.tracestate_len == 0);
        return 0;
    }
    check_stored(&c);
    FUZZ_CHECK(info.members == sl_tracestate_count(&c));

    /* Edit with a key and value taken from the input's first bytes. */
    char key[9], value[9];
    size_t kn = 0, vn = 0;
    for (size_t i = 0; i < size && kn < 8; i++) {
        char ch = (char)data[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '@') {
            key[kn++] = ch;
        }
    }
    key[kn] = '\0';
    for (size_t i = size; i-- > 0 && vn < 8;) {
        if (data[i] > 0x20 && data[i] < 0x7f && data[i] != ',' && data[i] != '=') {
            value[vn++] = (char)data[i];
        }
    }
    value[vn] = '\0';
    sl_span_context before = c;
    sl_status st = sl_tracestate_set(&c, key, value);
    if (st == SL_OK) {
        check_stored(&c);
        sl_tracestate_entry_view e;
        FUZZ_CHECK(sl_tracestate_entry(&c, 0, &e) == SL_OK);
        FUZZ_CHECK(e.key_len == kn && memcmp(e.key, key, kn) == 0);
        FUZZ_CHECK(e.value_len == vn && memcmp(e.value, value, vn) == 0);
        FUZZ_CHECK(sl_tracestate_remove(&c, key) == SL_OK);
        FUZZ_CHECK(sl_tracestate_get(&c, key, NULL, NULL) == SL_ENOENT);
        check_stored(&c);
    } else {
        FUZZ_CHECK(memcmp(&before, &c, sizeof c) == 0);
    }
    return 0;
}
