/*
 * test_site_cache.c - the macros' per-call-site cache (record.c, field.c)
 * never changes a byte: every record written through sl_info() and friends
 * is compared with the same record written through sl_log_write(), which
 * checks every key and the message per record. Keys that are head keys,
 * need escaping, are long, empty or NULL; more fields than the cache holds;
 * literal, escaped, NULL and changing messages; one site through loggers of
 * every profile; one site (a static inline function) with different keys;
 * more sites than the cache has slots; caller info, bound fields and
 * truncation. Both lines of every pair are parsed back with jansson.
 *
 * Built with -O2 whatever the build type (tests/unit/core.cmake): the
 * macros mark literal keys and messages only when the compiler folds them,
 * and test_folded fails if it did not, so this file always exercises the
 * cache.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_capture.h"

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* Line i of c with the head's time value replaced by "T": two records
 * written one after the other differ in nothing else. */
static char *masked(const capture *c, size_t i)
{
    assert_true(i < c->n);
    const char *line = c->lines[i].text;
    /* The first of the two: a field may use the other name. */
    const char *k = strstr(line, "\"@timestamp\":");
    size_t kl = strlen("\"@timestamp\":");
    const char *t = strstr(line, "\"time\":");
    if (k == NULL || (t != NULL && t < k)) {
        k = t;
        kl = strlen("\"time\":");
    }
    assert_non_null(k);
    const char *v = k + kl, *end;
    if (*v == '"') {
        end = strchr(v + 1, '"');
        assert_non_null(end);
        end++;
    } else {
        end = v + strspn(v, "0123456789");
    }
    size_t head = (size_t)(v - line);
    char *out = malloc(strlen(line) + 2);
    assert_non_null(out);
    memcpy(out, line, head);
    out[head] = 'T';
    strcpy(out + head + 1, end);
    return out;
}

/* The last two lines of c are the same record: byte for byte but the time,
 * and both parse back to objects equal but for it. */
static void check_pair(const capture *c)
{
    assert_true(c->n >= 2);
    size_t a = c->n - 2, b = c->n - 1;
    char *ma = masked(c, a), *mb = masked(c, b);
    if (strcmp(ma, mb) != 0) {
        fail_msg("the site path wrote\n%s\nsl_log_write wrote\n%s", ma, mb);
    }
    free(ma);
    free(mb);
    json_t *ja = capture_parse(c, a), *jb = capture_parse(c, b);
    const char *tk =
        strncmp(c->lines[a].text, "{\"@timestamp\"", 13) == 0 ? "@timestamp" : "time";
    assert_int_equal(json_object_del(ja, tk), 0);
    assert_int_equal(json_object_del(jb, tk), 0);
    assert_true(json_equal(ja, jb));
    json_decref(ja);
    json_decref(jb);
}

/* Line i of c parses and its string `key` is want. */
static void check_str(const capture *c, size_t i, const char *key, const char *want)
{
    json_t *o = capture_parse(c, i);
    assert_string_equal(get_str(o, key), want);
    json_decref(o);
}

/* The record through the macro, then the same fields through sl_log_write
 * (src NULL: loggers here write no caller unless a test says so). */
#define PAIR(c, lg, msg, ...)                                                            \
    do {                                                                                 \
        sl_info((lg), msg, __VA_ARGS__);                                                 \
        const sl_field pf__[] = {__VA_ARGS__};                                           \
        sl_log_write((lg), SL_LEVEL_INFO, NULL, NULL, (msg), pf__,                       \
                     sizeof(pf__) / sizeof(pf__[0]));                                    \
        check_pair(c);                                                                   \
    } while (0)

static sl_logger *profile_logger(capture *c, sl_profile p)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "svc";
    o.profile = p;
    return capture_logger(&o, c);
}

static void test_folded(void **unused)
{
    (void)unused;
    /* The cache is used only for what the compiler folded: check it did. */
    assert_true((SL__KEY_LEN("route") & SL__KEY_PLAIN) != 0);
    assert_int_equal(SL__KEY_LEN("route") & SL__KEY_LEN_MAX, 5);
    assert_int_equal(SL__MSG_LEN("checkout done"), strlen("checkout done"));
    assert_true(SL__MSG_LEN((const char *)NULL) == SL_NPOS);
    char buf[16];
    snprintf(buf, sizeof(buf), "%s", "not a literal");
    assert_true(SL__MSG_LEN(buf) == SL_NPOS);
}

/* One call site whose keys are every kind the encoder tells apart. */
static void odd_keys_site(capture *c, sl_logger *lg, int r)
{
    char sv[32];
    snprintf(sv, sizeof(sv), r % 3 == 0 ? "q\"%d\\" : "v%d", r);
    PAIR(c, lg, "odd keys", SL_INT("n", r), SL_STR("msg", "forged"), SL_STR("level", "x"),
         SL_INT("time", r), SL_STR("@timestamp", "t"), SL_STR("message", "m"),
         SL_STR("traceId", "tid"), SL_STR("a\"b", sv), SL_STR("tab\tkey", "t"),
         SL_STR("\xc3\xa9t\xc3\xa9", "summer"),
         SL_DOUBLE("a_key_longer_than_twelve", r * 0.25), SL_BOOL("", r % 2 == 0),
         SL_STR(NULL, "nul key"), SL_UINT("last", (uint64_t)r * 1000003u));
}

static void test_odd_keys_every_profile(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg[4];
    for (int p = 0; p < 4; p++) {
        lg[p] = profile_logger(&c, (sl_profile)p);
    }
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.head_keys = SL_HEAD_KEYS_KEEP; /* no head key renamed: other fragments */
    sl_logger *keep = capture_logger(&o, &c);
    for (int r = 0; r < 200; r++) {
        /* The same site through loggers of other head keys, interleaved. */
        odd_keys_site(&c, r % 5 == 4 ? keep : lg[r % 4], r);
    }
    /* One record checked field by field: the renamed and the escaped keys. */
    json_t *o0 = capture_parse(&c, 0);
    assert_int_equal(get_int(o0, "n"), 0);
    assert_string_equal(get_str(o0, "msg"), "odd keys");
    assert_string_equal(get_str(o0, SL_RESERVED_KEY_PREFIX "msg"), "forged");
    assert_string_equal(get_str(o0, SL_RESERVED_KEY_PREFIX "level"), "x");
    assert_int_equal(get_int(o0, SL_RESERVED_KEY_PREFIX "time"), 0);
    assert_string_equal(get_str(o0, "@timestamp"), "t");
    assert_string_equal(get_str(o0, "a\"b"), "q\"0\\");
    assert_string_equal(get_str(o0, "tab\tkey"), "t");
    assert_string_equal(get_str(o0, "\xc3\xa9t\xc3\xa9"), "summer");
    assert_true(json_is_real(json_object_get(o0, "a_key_longer_than_twelve")));
    assert_true(json_is_true(json_object_get(o0, "")) ||
                json_is_string(json_object_get(o0, ""))); /* "" is written twice */
    assert_int_equal(get_int(o0, "last"), 0);
    json_decref(o0);
    json_t *o4 = capture_parse(&c, 8); /* r == 4: the keep logger */
    /* Kept as given: jansson keeps the later "msg", the field's. */
    assert_string_equal(get_str(o4, "msg"), "forged");
    assert_null(json_object_get(o4, SL_RESERVED_KEY_PREFIX "msg"));
    assert_int_equal(get_int(o4, "n"), 4);
    json_decref(o4);
    for (int p = 0; p < 4; p++) {
        sl_logger_free(lg[p]);
    }
    sl_logger_free(keep);
    capture_clear(&c);
}

static void test_values_and_messages(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = profile_logger(&c, SL_PROFILE_DEFAULT);
    static const int64_t ints[] = {0,     7,      -7,        99,        100,      9999,
                                   10000, -10000, 123456789, INT64_MAX, INT64_MIN};
    static const double dbls[] = {0.0, -0.0,    0.25, 12.5,     1e300, -3.75,
                                  0.1, 1.0 / 3, NAN,  INFINITY, 99.99, 1e7};
    char dyn[40];
    for (int r = 0; r < 300; r++) {
        int64_t iv = ints[r % 11];
        double dv = dbls[r % 12];
        const char *sv = r % 7 == 0 ? NULL : (r % 7 == 1 ? "line\nbreak" : "plain");
        PAIR(&c, lg, "checkout done", SL_INT("cents", iv), SL_STR("route", sv),
             SL_DOUBLE("ratio", dv), SL_BOOL("retry", r % 2 == 1),
             SL_UINT("u", (uint64_t)r * 37u), SL_NULL("none"),
             SL_STRN("part", "abcdefgh", (size_t)(r % 9)));
        /* An escaped literal message, and none at all. */
        PAIR(&c, lg, "say \"hi\"\n", SL_INT("r", r));
        PAIR(&c, lg, NULL, SL_INT("r", r));
        /* A message in a buffer that changes between records at one site:
         * sometimes plain, sometimes not. */
        snprintf(dyn, sizeof(dyn), r % 4 == 0 ? "dyn \"%d\"" : "dyn %d", r);
        PAIR(&c, lg, dyn, SL_INT("r", r));
    }
    /* Field by field, on the first records. */
    json_t *o = capture_parse(&c, 0);
    ASSERT_KEYS(o, "time", "level", "msg", "service", "cents", "route", "ratio", "retry",
                "u", "none", "part");
    assert_string_equal(get_str(o, "msg"), "checkout done");
    assert_int_equal(get_int(o, "cents"), 0);
    assert_true(json_is_null(json_object_get(o, "route")));
    assert_true(json_real_value(json_object_get(o, "ratio")) == 0.0);
    assert_true(json_is_false(json_object_get(o, "retry")));
    assert_int_equal(get_int(o, "u"), 0); /* r == 0 */
    assert_true(json_is_null(json_object_get(o, "none")));
    assert_string_equal(get_str(o, "part"), "");
    json_decref(o);
    check_str(&c, 2, "msg", "say \"hi\"\n");
    check_str(&c, 4, "msg", "");
    check_str(&c, 6, "msg", "dyn \"0\"");
    check_str(&c, 14, "msg", "dyn 1");
    sl_logger_free(lg);
    capture_clear(&c);
}

/* One static sl_src shared by every inlined copy (forced: GCC would outline
 * it): the keys differ per
 * caller, so each record must find its own. */
static inline __attribute__((always_inline)) void
inline_site(capture *c, sl_logger *lg, const char *msg, const char *key, int v)
{
    PAIR(c, lg, msg, SL_INT(key, v), SL_INT("after", v));
}

static void test_one_site_many_keys(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = profile_logger(&c, SL_PROFILE_DEFAULT);
    char runtime[16];
    for (int r = 0; r < 100; r++) {
        /* Literal messages too, plain or not, one per inlined copy. */
        inline_site(&c, lg, "inline", "alpha", r);
        inline_site(&c, lg, "in\"line", "msg", r); /* a head key: renamed */
        inline_site(&c, lg, "inline", "be\"ta", r);
        inline_site(&c, lg, "in\\line", "gamma", r); /* the same length as alpha */
        snprintf(runtime, sizeof(runtime), r % 2 ? "k%d" : "\"%d", r);
        inline_site(&c, lg, runtime, runtime, r);
    }
    json_t *o = capture_parse(&c, 0);
    ASSERT_KEYS(o, "time", "level", "msg", "service", "alpha", "after");
    json_decref(o);
    o = capture_parse(&c, 2);
    ASSERT_KEYS(o, "time", "level", "msg", "service", SL_RESERVED_KEY_PREFIX "msg",
                "after");
    assert_string_equal(get_str(o, "msg"), "in\"line");
    json_decref(o);
    o = capture_parse(&c, 6);
    ASSERT_KEYS(o, "time", "level", "msg", "service", "gamma", "after");
    assert_int_equal(get_int(o, "gamma"), 0);
    json_decref(o);
    o = capture_parse(&c, 18);
    ASSERT_KEYS(o, "time", "level", "msg", "service", "k1", "after");
    json_decref(o);
    sl_logger_free(lg);
    capture_clear(&c);
}

/* Seventy sites in one function: more than the cache's slots, so some share
 * one and rebuild it on every call. */
#define SITE(i) PAIR(c, lg, "site " #i, SL_INT("k" #i, r), SL_STR("s", "v" #i))
#define SITE10(d)                                                                        \
    SITE(d##0);                                                                          \
    SITE(d##1);                                                                          \
    SITE(d##2);                                                                          \
    SITE(d##3);                                                                          \
    SITE(d##4);                                                                          \
    SITE(d##5);                                                                          \
    SITE(d##6);                                                                          \
    SITE(d##7);                                                                          \
    SITE(d##8);                                                                          \
    SITE(d##9)

static void many_sites(capture *c, sl_logger *lg, int r)
{
    SITE10(1);
    SITE10(2);
    SITE10(3);
    SITE10(4);
    SITE10(5);
    SITE10(6);
    SITE10(7);
}

static void test_more_sites_than_slots(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = profile_logger(&c, SL_PROFILE_OTEL);
    for (int r = 0; r < 3; r++) {
        many_sites(&c, lg, r);
    }
    assert_int_equal(c.n, 3 * 70 * 2);
    json_t *o = capture_parse(&c, 2 * 70 * 2 + 2 * 69); /* r == 2, site 79 */
    assert_string_equal(get_str(o, "msg"), "site 79");
    assert_int_equal(get_int(o, "k79"), 2);
    assert_string_equal(get_str(o, "s"), "v79");
    json_decref(o);
    sl_logger_free(lg);
    capture_clear(&c);
}

/* Caller info (the site's src), bound fields, a trace and truncation: the
 * entry called directly, with the same src as sl_log_write. */
static void test_caller_bound_trace_truncation(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "svc";
    o.caller_info = true;
    o.max_record_bytes = 1024;
    sl_logger *root = capture_logger(&o, &c);
    const sl_field bound[] = {SL_STR("tenant", "acme"), SL_INT("shard", 3)};
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_child(root, bound, 2, &lg), SL_OK);
    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(TP, strlen(TP), &ctx), SL_OK);
    sl_context_token tok;
    assert_int_equal(sl_context_attach(&ctx, &tok), SL_OK);
    static const sl_src src = {"svc/pay.c", "charge", 42};
    char big[1500];
    memset(big, 'x', sizeof(big));
    for (int r = 0; r < 60; r++) {
        size_t blen = (size_t)r * 25; /* from short to far past the limit */
        const sl_field f[] = {SL_INT("r", r), SL_STRN("big", big, blen),
                              SL_STR("route", "/pay")};
        sl__log_site(lg, SL_LEVEL_WARN, NULL, &src, "charged", strlen("charged"), f, 3);
        sl_log_write(lg, SL_LEVEL_WARN, NULL, &src, "charged", f, 3);
        check_pair(&c);
    }
    assert_int_equal(sl_context_detach(tok), SL_OK);
    json_t *j = capture_parse(&c, 0);
    assert_string_equal(get_str(j, "caller"), "svc/pay.c:42");
    assert_string_equal(get_str(j, "tenant"), "acme");
    assert_int_equal(get_int(j, "shard"), 3);
    assert_string_equal(get_str(j, "traceId"), "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(get_str(j, "route"), "/pay");
    json_decref(j);
    /* The last pair was cut to the limit, identically. */
    assert_true(c.lines[c.n - 1].truncated);
    assert_true(c.lines[c.n - 2].truncated);
    assert_true(c.lines[c.n - 1].len <= 1024);
    sl_logger_free(lg);
    sl_logger_free(root);
    capture_clear(&c);
}

/* The entry's contract allows one site several literal messages (GCC and
 * clang never fold one through an inline function's parameter, but the
 * cache must not rely on that): each record gets its own message's check. */
static void test_one_site_many_messages(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *lg = profile_logger(&c, SL_PROFILE_ECS);
    static const sl_src src = {"a.c", "f", 1};
    static const char *const msgs[] = {"plain", "quo\"te", "tab\there", "plain too", ""};
    for (int r = 0; r < 50; r++) {
        const char *m = msgs[r % 5];
        const sl_field f[] = {SL_INT("r", r)};
        sl__log_site(lg, SL_LEVEL_INFO, NULL, &src, m, strlen(m), f, 1);
        sl_log_write(lg, SL_LEVEL_INFO, NULL, &src, m, f, 1);
        check_pair(&c);
    }
    check_str(&c, 2, "message", "quo\"te");
    sl_logger_free(lg);
    capture_clear(&c);
}

/* The site's head segment (level to service) is per core and level: one
 * site through loggers of one profile but other services (one freed and
 * replaced, perhaps at the same address), at every level, and a message
 * too long for the segment. */
static void site_levels(capture *c, sl_logger *lg, sl_level lvl, int r)
{
    sl_log(lg, lvl, "levels", SL_INT("r", r));
    const sl_field f[] = {SL_INT("r", r)};
    sl_log_write(lg, lvl, NULL, NULL, "levels", f, 1);
    check_pair(c);
}

static void site_long(capture *c, sl_logger *lg, int r)
{
    PAIR(c, lg,
         "a message literal longer than the head segment holds, so that the site "
         "writes it piece by piece instead",
         SL_INT("r", r));
}

static sl_logger *service_logger(capture *c, const char *service)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = service;
    o.level = SL_LEVEL_TRACE; /* every level reaches the site */
    return capture_logger(&o, c);
}

static void test_segment_per_core_and_level(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    static const char *const services[] = {"alpha", NULL, "a-much-longer-service-name",
                                           "b\"q"};
    for (int round = 0; round < 6; round++) {
        /* Freed and made again each round: a new core, maybe the old address. */
        sl_logger *lg[4];
        for (int i = 0; i < 4; i++) {
            lg[i] = service_logger(&c, services[(i + round) % 4]);
        }
        for (int r = 0; r < 12; r++) {
            /* One logger, every level; one level, every logger. */
            site_levels(&c, lg[round % 4], (sl_level)(r % 6), r);
            site_levels(&c, lg[r % 4], SL_LEVEL_WARN, r);
        }
        for (int r = 0; r < 24; r++) {
            site_levels(&c, lg[r % 4], (sl_level)(r % 6), r);
            site_long(&c, lg[(r + 1) % 4], r);
        }
        json_t *o = capture_parse(&c, c.n - 4);
        const char *svc = services[(3 + round) % 4];
        if (svc != NULL) {
            assert_string_equal(get_str(o, "service"), svc);
        } else {
            assert_null(json_object_get(o, "service"));
        }
        assert_string_equal(get_str(o, "level"), "fatal"); /* r == 23: 23 % 6 */
        json_decref(o);
        for (int i = 0; i < 4; i++) {
            sl_logger_free(lg[i]);
        }
    }
    capture_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folded),
        cmocka_unit_test(test_odd_keys_every_profile),
        cmocka_unit_test(test_values_and_messages),
        cmocka_unit_test(test_one_site_many_keys),
        cmocka_unit_test(test_more_sites_than_slots),
        cmocka_unit_test(test_caller_bound_trace_truncation),
        cmocka_unit_test(test_one_site_many_messages),
        cmocka_unit_test(test_segment_per_core_and_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
