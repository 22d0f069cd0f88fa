/*
 * fuzz_baggage.c - sl_baggage_parse on any bytes. Properties: the parsed
 * baggage formats to a header that parses back to the same entries (keys,
 * decoded values with their lengths, properties and their decoded values),
 * and formatting that again gives the same text.
 */
#include <string.h>

#include "fuzz.h"
#include "spanlog/spanlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_baggage *a = NULL, *b = NULL;
    size_t dropped = 0;
    if (sl_baggage_parse((const char *)data, size, &a, &dropped) != SL_OK) {
        return 0;
    }
    static char t1[1 << 16], t2[1 << 16];
    size_t n1 = 0, n2 = 0;
    FUZZ_CHECK(sl_baggage_format(a, t1, sizeof t1, &n1) == SL_OK);
    if (n1 > SL_BAGGAGE_MAX_BYTES) {
        /* Decoding replaced invalid UTF-8 by U+FFFD (9 bytes encoded for
         * each 3 in): the header grew past what parse reads (inject leaves
         * trailing members out to fit, propagation.h). */
        sl_baggage_free(a);
        return 0;
    }
    FUZZ_CHECK(sl_baggage_parse(t1, n1, &b, &dropped) == SL_OK);
    FUZZ_CHECK(dropped == 0);
    size_t n = sl_baggage_count(a);
    FUZZ_CHECK(n == sl_baggage_count(b));
    for (size_t i = 0; i < n; i++) {
        const char *ka, *kb, *va, *vb, *pa, *pb;
        size_t la, lb;
        FUZZ_CHECK(sl_baggage_entry(a, i, &ka, &va, &la, &pa) == SL_OK);
        FUZZ_CHECK(sl_baggage_entry(b, i, &kb, &vb, &lb, &pb) == SL_OK);
        FUZZ_CHECK(strcmp(ka, kb) == 0);
        FUZZ_CHECK(la == lb && memcmp(va, vb, la) == 0);
        FUZZ_CHECK(strcmp(pa, pb) == 0);
        /* every property's decoded value, read back through both */
        for (const char *q = pa; *q != '\0';) {
            const char *semi = strchr(q, ';');
            size_t pl = semi ? (size_t)(semi - q) : strlen(q);
            const char *eq = memchr(q, '=', pl);
            char name[256], v1[4096], v2[4096];
            size_t nl = eq ? (size_t)(eq - q) : pl, l1 = 0, l2 = 0;
            if (nl < sizeof name) {
                memcpy(name, q, nl);
                name[nl] = '\0';
                sl_status s1 = sl_baggage_property(a, i, name, v1, sizeof v1, &l1);
                sl_status s2 = sl_baggage_property(b, i, name, v2, sizeof v2, &l2);
                FUZZ_CHECK(s1 == SL_OK || s1 == SL_ERANGE);
                FUZZ_CHECK(s1 == s2 && l1 == l2);
                FUZZ_CHECK(s1 != SL_OK || memcmp(v1, v2, l1) == 0);
                /* (the first property of a name answers: a later flag of the
                 * same name may read a value) */
            }
            q = semi ? semi + 1 : q + pl;
        }
    }
    FUZZ_CHECK(sl_baggage_format(b, t2, sizeof t2, &n2) == SL_OK);
    FUZZ_CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
    sl_baggage_free(a);
    sl_baggage_free(b);
    return 0;
}
