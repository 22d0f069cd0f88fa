/*
 * test_filter.c - log sampling, the rate cap and redaction
 * (spanlog/filter.h): exact counts (also under threads), the summary
 * records, and censored keys and paths in call fields, bound fields and
 * SL_JSON values. Every record is parsed back and checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "internal.h"
#include "spanlog/spanlog.h"
#include "unit/core_capture.h"

static sl_logger *sampled_logger(capture *c, uint32_t first, uint32_t thereafter,
                                 uint32_t interval_ms, uint32_t max)
{
    capture_init(c);
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.level = SL_LEVEL_TRACE;
    sl_logger *lg = capture_logger(&lo, c);
    sl_sampling_options so;
    sl_sampling_options_init(&so);
    so.first = first;
    so.thereafter = thereafter;
    so.interval_ms = interval_ms;
    so.max_per_second = max;
    assert_int_equal(sl_logger_set_sampling(lg, &so), SL_OK);
    return lg;
}

/* Counts captured records whose msg is `msg`; checks each parses. */
static size_t count_msg(const capture *c, const char *msg)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        json_t *j = capture_parse(c, i);
        if (strcmp(get_str(j, "msg"), msg) == 0) {
            n++;
        }
        json_decref(j);
    }
    return n;
}

/* The one "sampled" summary record among the captured ones. */
static json_t *the_summary(const capture *c)
{
    json_t *found = NULL;
    for (size_t i = 0; i < c->n; i++) {
        json_t *j = capture_parse(c, i);
        if (strcmp(get_str(j, "msg"), "sampled") == 0) {
            assert_null(found);
            assert_string_equal(get_str(j, "level"), "warn");
            found = j;
        } else {
            json_decref(j);
        }
    }
    assert_non_null(found);
    return found;
}

static sl_filter_stats stats_of(const sl_logger *lg)
{
    sl_filter_stats st;
    st.size = sizeof st;
    sl_logger_get_filter_stats(lg, &st);
    return st;
}

static void test_first_n_then_summary(void **state)
{
    (void)state;
    capture c;
    sl_logger *lg = sampled_logger(&c, 10, 0, 3600 * 1000, 0);
    for (int i = 0; i < 1000; i++) {
        sl_info(lg, "hot loop", SL_INT("i", i));
    }
    assert_int_equal(c.n, 10);
    for (size_t i = 0; i < c.n; i++) {
        json_t *j = capture_parse(&c, i);
        assert_int_equal(get_int(j, "i"), (json_int_t)i); /* the first ten, in order */
        json_decref(j);
    }
    sl_filter_stats st = stats_of(lg);
    assert_int_equal(st.sampled, 990);
    assert_int_equal(st.rate_limited, 0);
    assert_int_equal(sl_logger_flush(lg, 1000), SL_OK);
    json_t *s = the_summary(&c);
    assert_int_equal(get_int(s, "dropped"), 990);
    assert_int_equal(get_int(s, "sampled"), 990);
    assert_int_equal(get_int(s, "rateLimited"), 0);
    assert_int_equal(get_int(s, "intervalMs"), 3600 * 1000);
    json_decref(s);
    assert_int_equal(stats_of(lg).summaries, 1);
    /* nothing more left out: freeing writes no second summary */
    size_t before = c.n;
    sl_logger_free(lg);
    assert_int_equal(c.n, before);
    capture_clear(&c);
}

static void test_thereafter_levels_and_messages(void **state)
{
    (void)state;
    capture c;
    sl_logger *lg = sampled_logger(&c, 5, 100, 3600 * 1000, 0);
    for (int i = 1; i <= 505; i++) {
        sl_info(lg, "a");
    }
    for (int i = 0; i < 20; i++) {
        sl_debug(lg, "a"); /* another level: its own counter */
        sl_info(lg, "b");  /* another message: its own counter */
        sl_error(lg, "a"); /* error and above: never sampled */
    }
    for (int i = 0; i < 50; i++) {
        sl_infof(lg, "value %d", i); /* the format is the key, not the text */
    }
    assert_int_equal(count_msg(&c, "a"),
                     5 + 5 + 5 + 20); /* info 5+5, debug 5, error 20 */
    assert_int_equal(count_msg(&c, "b"), 5);
    size_t printf_kept = 0;
    for (size_t i = 0; i < c.n; i++) {
        json_t *j = capture_parse(&c, i);
        printf_kept += strncmp(get_str(j, "msg"), "value ", 6) == 0;
        json_decref(j);
    }
    assert_int_equal(printf_kept, 5);
    sl_filter_stats st = stats_of(lg);
    assert_int_equal(st.sampled, (505 - 10) + 15 + 15 + 45);
    sl_logger_free(lg); /* the last logger writes the summary */
    json_t *s = the_summary(&c);
    assert_int_equal(get_int(s, "dropped"), (json_int_t)st.sampled);
    json_decref(s);
    capture_clear(&c);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Real time passing is what is tested here: the interval must end. */
static void test_interval_restarts_and_summary_on_next_record(void **state)
{
    (void)state;
    capture c;
    sl_logger *lg = sampled_logger(&c, 5, 0, 50, 0);
    for (int i = 0; i < 20; i++) {
        sl_info(lg, "tick");
    }
    assert_int_equal(c.n, 5);
    int64_t t0 = sl__monotonic_ns();
    while (sl__monotonic_ns() - t0 < 60 * 1000000LL) {
        sleep_ms(10);
    }
    sl_info(lg, "tick", SL_STR("after", "yes"));
    assert_int_equal(c.n, 7); /* the summary, then the record of the new interval */
    json_t *s = capture_parse(&c, 5);
    assert_string_equal(get_str(s, "msg"), "sampled");
    assert_int_equal(get_int(s, "dropped"), 15);
    json_decref(s);
    json_t *r = capture_parse(&c, 6);
    assert_string_equal(get_str(r, "after"), "yes");
    json_decref(r);
    sl_logger_free(lg);
    assert_int_equal(c.n, 7);
    capture_clear(&c);
}

static void test_rate_cap(void **state)
{
    (void)state;
    capture c;
    sl_logger *lg = sampled_logger(&c, 0, 0, 1000, 50);
    int64_t t0 = sl__monotonic_ns();
    for (int i = 0; i < 200; i++) {
        sl_info(lg, "m", SL_INT("i", i));
    }
    for (int i = 0; i < 10; i++) {
        sl_error(lg, "always"); /* never capped */
    }
    int64_t took = sl__monotonic_ns() - t0;
    sl_filter_stats st = stats_of(lg);
    assert_int_equal(count_msg(&c, "m") + st.rate_limited, 200);
    if (took < 1000000000LL) { /* all in the cap's first second */
        assert_int_equal(count_msg(&c, "m"), 50);
        assert_int_equal(st.rate_limited, 150);
    }
    assert_int_equal(count_msg(&c, "always"), 10);
    sl_logger_free(lg);
    json_t *s = the_summary(&c);
    assert_int_equal(get_int(s, "rateLimited"), (json_int_t)st.rate_limited);
    json_decref(s);
    capture_clear(&c);
}

typedef struct worker_arg {
    sl_logger *lg;
    int n;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        sl_info(a->lg, "shared message", SL_INT("i", i));
    }
    return NULL;
}

static void test_exact_under_threads(void **state)
{
    (void)state;
    capture c;
    sl_logger *lg = sampled_logger(&c, 100, 1000, 3600 * 1000, 0);
    pthread_t t[4];
    worker_arg a = {lg, 25000};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    /* one interval: the counter is exact, so exactly 100 + every 1000th */
    size_t kept = count_msg(&c, "shared message");
    assert_int_equal(kept, 100 + (100000 - 100) / 1000);
    sl_filter_stats st = stats_of(lg);
    assert_int_equal(st.sampled + kept, 100000);
    sl_logger_free(lg);
    json_t *s = the_summary(&c);
    assert_int_equal(get_int(s, "dropped"), (json_int_t)st.sampled);
    json_decref(s);
    capture_clear(&c);
}

static void test_parse_and_setup_rules(void **state)
{
    (void)state;
    sl_sampling_options o;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(
        sl_sampling_parse("first:100, thereafter:10,per:500ms,max:9,keep:warn", &o, &err),
        SL_OK);
    assert_int_equal(o.first, 100);
    assert_int_equal(o.thereafter, 10);
    assert_int_equal(o.interval_ms, 500);
    assert_int_equal(o.max_per_second, 9);
    assert_int_equal(o.keep_level, SL_LEVEL_WARN);
    assert_int_equal(sl_sampling_parse("per:2m", &o, NULL), SL_OK);
    assert_int_equal(o.interval_ms, 120000);
    const char *bad[] = {"first:", "first:-1",  "first:x",   "per:0s",
                         "per:1h", "keep:loud", "color:red", "first:99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_error_init(&err);
        assert_int_equal(sl_sampling_parse(bad[i], &o, &err), SL_EPARSE);
        assert_string_equal(err.name, "SPANLOG_SAMPLING");
        assert_non_null(strstr(err.text, bad[i]));
        assert_int_equal(o.first, 0); /* left at the defaults */
    }

    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_logger *child = sl_logger_child_or_null(lg, NULL, 0);
    assert_non_null(child);
    sl_sampling_options_init(&o);
    o.first = 1;
    assert_int_equal(sl_logger_set_sampling(lg, &o), SL_ESTATE);
    sl_redact_options ro;
    sl_redact_options_init(&ro);
    assert_int_equal(sl_logger_set_redaction(lg, &ro), SL_ESTATE);
    sl_logger_free(child);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_sampling_from_env(void **state)
{
    (void)state;
    setenv("SPANLOG_SAMPLING", "first:2,per:60m", 1);
    setenv("SPANLOG_SINK", "null", 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    for (int i = 0; i < 7; i++) {
        sl_info(lg, "x");
    }
    assert_int_equal(stats_of(lg).sampled, 5);
    sl_logger_free(lg);
    setenv("SPANLOG_SAMPLING", "first:two", 1);
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_EPARSE);
    assert_null(lg);
    unsetenv("SPANLOG_SAMPLING");
    unsetenv("SPANLOG_SINK");
}

/* ---- redaction ---------------------------------------------------------------- */

static sl_logger *redacting_logger(capture *c, const char *const *paths, size_t n,
                                   bool remove)
{
    capture_init(c);
    sl_logger *lg = capture_logger(NULL, c);
    sl_redact_options ro;
    sl_redact_options_init(&ro);
    ro.paths = paths;
    ro.npaths = n;
    ro.remove = remove;
    assert_int_equal(sl_logger_set_redaction(lg, &ro), SL_OK);
    return lg;
}

static void test_redact_top_level_keys(void **state)
{
    (void)state;
    const char *paths[] = {"password", "card.number"};
    capture c;
    sl_logger *lg = redacting_logger(&c, paths, 2, false);
    sl_info(lg, "password reset", SL_STR("user", "ann"), SL_STR("password", "hunter2"),
            SL_INT("card.number", 4111111111111111LL), SL_BOOL("ok", true));
    json_t *j = capture_parse(&c, 0);
    ASSERT_KEYS(j, "time", "level", "msg", "user", "password", "card.number", "ok");
    assert_string_equal(get_str(j, "msg"), "password reset"); /* never touched */
    assert_string_equal(get_str(j, "user"), "ann");
    assert_string_equal(get_str(j, "password"), "[REDACTED]");
    assert_string_equal(get_str(j, "card.number"), "[REDACTED]");
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    assert_int_equal(stats_of(lg).redacted, 2);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_redact_remove(void **state)
{
    (void)state;
    const char *paths[] = {"token"};
    capture c;
    sl_logger *lg = redacting_logger(&c, paths, 1, true);
    sl_info(lg, "m", SL_STR("a", "1"), SL_STR("token", "secret"), SL_STR("b", "2"));
    json_t *j = capture_parse(&c, 0);
    ASSERT_KEYS(j, "time", "level", "msg", "a", "b");
    assert_null(strstr(c.lines[0].text, "secret"));
    json_decref(j);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_redact_inside_json_and_wildcards(void **state)
{
    (void)state;
    const char *paths[] = {"card.number", "headers.*", "*.token", "a.b.c.d"};
    capture c;
    sl_logger *lg = redacting_logger(&c, paths, 4, false);
    json_t *card = json_pack("{s:s, s:s}", "number", "4111", "brand", "visa");
    json_t *headers =
        json_pack("{s:s, s:s}", "authorization", "Bearer x", "accept", "*/*");
    json_t *session = json_pack("{s:s, s:i}", "token", "t0k", "ttl", 60);
    json_t *deep =
        json_pack("{s:{s:{s:{s:s, s:s}}}}", "b", "c", "d", "x", "gone", "e", "kept");
    assert_non_null(card);
    assert_non_null(headers);
    assert_non_null(session);
    assert_non_null(deep);
    sl_info(lg, "m", SL_JSON("card", card), SL_JSON("headers", headers),
            SL_JSON("session", session), SL_JSON("a", deep));
    json_t *j = capture_parse(&c, 0);
    json_t *jc = json_object_get(j, "card");
    assert_string_equal(get_str(jc, "number"), "[REDACTED]");
    assert_string_equal(get_str(jc, "brand"), "visa");
    json_t *jh = json_object_get(j, "headers");
    assert_string_equal(get_str(jh, "authorization"), "[REDACTED]");
    assert_string_equal(get_str(jh, "accept"), "[REDACTED]");
    json_t *js = json_object_get(j, "session");
    assert_string_equal(get_str(js, "token"), "[REDACTED]");
    assert_int_equal(get_int(js, "ttl"), 60);
    json_t *jd = json_object_get(
        json_object_get(json_object_get(json_object_get(j, "a"), "b"), "c"), "d");
    assert_string_equal(json_string_value(jd),
                        "[REDACTED]"); /* an object, censored whole */
    json_decref(j);
    /* the caller's trees are untouched */
    assert_string_equal(json_string_value(json_object_get(card, "number")), "4111");
    assert_string_equal(json_string_value(json_object_get(headers, "authorization")),
                        "Bearer x");
    assert_int_equal(stats_of(lg).redacted, 5);
    json_decref(card);
    json_decref(headers);
    json_decref(session);
    json_decref(deep);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_redact_leaf_in_deep_path(void **state)
{
    (void)state;
    const char *paths[] = {"a.b.c"};
    capture c;
    sl_logger *lg = redacting_logger(&c, paths, 1, false);
    json_t *deep = json_pack("{s:{s:s, s:s}}", "b", "c", "secret", "x", "kept");
    sl_info(lg, "m", SL_JSON("a", deep), SL_STR("c", "not a path"));
    json_t *j = capture_parse(&c, 0);
    json_t *b = json_object_get(json_object_get(j, "a"), "b");
    assert_string_equal(get_str(b, "c"), "[REDACTED]");
    assert_string_equal(get_str(b, "x"), "kept");
    assert_string_equal(get_str(j, "c"), "not a path");
    json_decref(j);
    json_decref(deep);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_redact_bound_fields(void **state)
{
    (void)state;
    const char *paths[] = {"apiKey", "user.email"};
    capture c;
    sl_logger *lg = redacting_logger(&c, paths, 2, false);
    json_t *user = json_pack("{s:s, s:i}", "email", "a@b.c", "id", 7);
    sl_logger *req = sl_child(lg, SL_STR("apiKey", "k-123"), SL_JSON("user", user),
                              SL_STR("route", "/pay"));
    assert_non_null(req);
    json_decref(user);
    sl_info(req, "one", SL_STR("apiKey", "again"));
    sl_info(req, "two");
    for (size_t i = 0; i < 2; i++) {
        json_t *j = capture_parse(&c, i);
        assert_string_equal(get_str(j, "apiKey"), "[REDACTED]");
        assert_string_equal(get_str(json_object_get(j, "user"), "email"), "[REDACTED]");
        assert_int_equal(get_int(json_object_get(j, "user"), "id"), 7);
        assert_string_equal(get_str(j, "route"), "/pay");
        assert_null(strstr(c.lines[i].text, "k-123"));
        assert_null(strstr(c.lines[i].text, "a@b.c"));
        json_decref(j);
    }
    /* "again" was a call field, censored in the first record */
    assert_null(strstr(c.lines[0].text, "again"));
    sl_logger_free(req);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_redact_options_checked_and_env(void **state)
{
    (void)state;
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c);
    sl_redact_options ro;
    sl_redact_options_init(&ro);
    const char *empty[] = {""};
    ro.paths = empty;
    ro.npaths = 1;
    assert_int_equal(sl_logger_set_redaction(lg, &ro), SL_EINVAL);
    const char *dots[] = {"a..b"};
    ro.paths = dots;
    assert_int_equal(sl_logger_set_redaction(lg, &ro), SL_EINVAL);
    sl_logger_free(lg);
    capture_clear(&c);

    setenv("SPANLOG_REDACT", "password, card.number", 1);
    setenv("SPANLOG_REDACT_CENSOR", "***", 1);
    setenv("SPANLOG_SINK", "null", 1);
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    sl_info(lg, "m", SL_STR("password", "p"), SL_STR("x", "y"));
    assert_int_equal(stats_of(lg).redacted, 1);
    sl_logger_free(lg);
    unsetenv("SPANLOG_REDACT");
    unsetenv("SPANLOG_REDACT_CENSOR");
    unsetenv("SPANLOG_SINK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_n_then_summary),
        cmocka_unit_test(test_thereafter_levels_and_messages),
        cmocka_unit_test(test_interval_restarts_and_summary_on_next_record),
        cmocka_unit_test(test_rate_cap),
        cmocka_unit_test(test_exact_under_threads),
        cmocka_unit_test(test_parse_and_setup_rules),
        cmocka_unit_test(test_sampling_from_env),
        cmocka_unit_test(test_redact_top_level_keys),
        cmocka_unit_test(test_redact_remove),
        cmocka_unit_test(test_redact_inside_json_and_wildcards),
        cmocka_unit_test(test_redact_leaf_in_deep_path),
        cmocka_unit_test(test_redact_bound_fields),
        cmocka_unit_test(test_redact_options_checked_and_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
