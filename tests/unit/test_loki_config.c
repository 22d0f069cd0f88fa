/*
 * test_loki_config.c - Loki options: defaults, label validation with
 * messages that name the label and the reason, "k=v,k=v" parsing, the
 * environment, and the sink constructor refusing bad options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "adapters/loki/loki_internal.h"

static void test_defaults(void **state)
{
    (void)state;
    sl_loki_options o;
    sl_loki_options_init(&o);
    assert_null(o.url);
    assert_true(o.tls_verify);
    assert_true(o.structured_metadata);
    assert_false(o.level_label);
    assert_int_equal(o.queue_bytes, 64u << 20);
    assert_int_equal(o.overflow, SL_LOKI_DROP_NEWEST);
    assert_int_equal(o.batch_bytes, 1u << 20);
    assert_int_equal(o.batch_age_ms, 1000);
    assert_int_equal(o.line_limit, 256u << 10);
    assert_true(o.truncate_long_lines);
    assert_true(o.gzip);
    /* Protobuf by default: Loki 2.9's JSON decoder stores label values with
     * their escapes (docs/loki.md). */
    assert_int_equal(o.encoding, SL_LOKI_ENCODING_PROTOBUF);
    assert_int_equal(o.backoff_min_ms, 500);
    assert_int_equal(o.backoff_max_ms, 300000);
    assert_int_equal(o.request_timeout_ms, 10000);
    sl_loki_options_init(NULL); /* harmless */
}

static void test_label_names(void **state)
{
    (void)state;
    static const char *good[] = {"a", "_", "env", "Env_2", "k8s:ns", ":x", "A1_b:c"};
    static const char *bad[] = {"", "1a", "a-b", "a.b", "a b", "é", "a/b", "trace-id"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_true(sl__loki_label_name_ok(good[i], strlen(good[i])));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(sl__loki_label_name_ok(bad[i], strlen(bad[i])));
    }
    assert_false(sl__loki_label_name_ok(NULL, 0));
}

/* Builds a config from labels; returns the status, message in err. */
static sl_status build(const sl_loki_label *labels, size_t n, const char *text,
                       bool level, sl__loki_config *cfg, sl_error *err)
{
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = "http://127.0.0.1:3100";
    o.labels = labels;
    o.nlabels = n;
    o.labels_text = text;
    o.level_label = level;
    sl_error_init(err);
    return sl__loki_config_build(&o, cfg, err);
}

static void expect_error(const sl_loki_label *labels, size_t n, const char *text,
                         bool level, const char *want1, const char *want2)
{
    sl__loki_config cfg;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(build(labels, n, text, level, &cfg, &err), SL_EINVAL);
    if (strstr(err.text, want1) == NULL ||
        (want2 != NULL && strstr(err.text, want2) == NULL)) {
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.text, want1,
                 want2 ? want2 : "");
    }
    assert_null(cfg.push_url);
    assert_null(cfg.labels_json);
}

static void test_label_errors(void **state)
{
    (void)state;
    sl_loki_label bad_name[] = {{"env", "prod"}, {"trace-id", "x"}};
    expect_error(bad_name, 2, NULL, false, "\"trace-id\"", "invalid name");
    sl_loki_label reserved[] = {{"__name__", "x"}};
    expect_error(reserved, 1, NULL, false, "\"__name__\"", "reserved");
    sl_loki_label empty[] = {{"env", ""}};
    expect_error(empty, 1, NULL, false, "\"env\"", "empty value");
    sl_loki_label null_value[] = {{"env", NULL}};
    expect_error(null_value, 1, NULL, false, "\"env\"", "empty value");
    sl_loki_label dup[] = {{"env", "a"}, {"env", "b"}};
    expect_error(dup, 2, NULL, false, "\"env\"", "twice");
    sl_loki_label svc[] = {{"service_name", "x"}};
    expect_error(svc, 1, NULL, false, "\"service_name\"", "sets it itself");
    sl_loki_label lvl[] = {{"level", "x"}};
    expect_error(lvl, 1, NULL, true, "\"level\"", "sets it itself");
    /* Loki's own limits on names and values (a repaired value counts as sent). */
    char long_name[1026], long_value[2050];
    memset(long_name, 'n', 1025);
    long_name[1025] = '\0';
    memset(long_value, 'v', 2049);
    long_value[2049] = '\0';
    sl_loki_label too_long_name[] = {{long_name, "x"}};
    expect_error(too_long_name, 1, NULL, false, "\"nnnn", "longer than Loki's 1024");
    sl_loki_label too_long_value[] = {{"env", long_value}};
    expect_error(too_long_value, 1, NULL, false, "\"env\"", "longer than Loki's 2048");
    memset(long_value, 0xff, 683); /* 683 x U+FFFD: 2049 bytes once repaired */
    long_value[683] = '\0';
    expect_error(too_long_value, 1, NULL, false, "\"env\"", "longer than Loki's 2048");
    long_value[682] = '\0'; /* 2046 bytes once repaired: fits */
    sl__loki_config fits;
    sl_error fits_err;
    assert_int_equal(build(too_long_value, 1, NULL, false, &fits, &fits_err), SL_OK);
    sl__loki_config_free(&fits);
    expect_error(NULL, 0, "env=prod,bad name=x", false, "\"bad name\"", "invalid name");
    expect_error(NULL, 0, "env=prod,novalue", false, "\"novalue\"", "name=value");
    sl_loki_label one[] = {{"env", "prod"}};
    expect_error(one, 1, "env=dev", false, "\"env\"", "twice");

    /* 15 labels at most, service_name (and level) included. */
    sl_loki_label many[15];
    char names[15][8];
    for (int i = 0; i < 15; i++) {
        snprintf(names[i], sizeof(names[i]), "l%d", i);
        many[i].name = names[i];
        many[i].value = "v";
    }
    sl__loki_config cfg;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(build(many, 14, NULL, false, &cfg, &err), SL_OK);
    sl__loki_config_free(&cfg);
    expect_error(many, 15, NULL, false, "\"l14\"", "too many");
    expect_error(many, 14, NULL, true, "\"l13\"", "too many");
}

static void test_labels_json(void **state)
{
    (void)state;
    sl_loki_label labels[] = {{"env", "pr\"od"}, {"region", "eu-1"}};
    sl__loki_config cfg;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(build(labels, 2, " team = core , k8s:ns=web ", true, &cfg, &err),
                     SL_OK);
    assert_int_equal(cfg.nlabels, 4);
    assert_true(cfg.level_label);
    assert_string_equal(cfg.push_url, "http://127.0.0.1:3100/loki/api/v1/push");
    /* The fragment completes an object that starts with service_name. */
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"service_name\":\"s\"%s}", cfg.labels_json);
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 5);
    assert_string_equal(json_string_value(json_object_get(j, "env")), "pr\"od");
    assert_string_equal(json_string_value(json_object_get(j, "region")), "eu-1");
    assert_string_equal(json_string_value(json_object_get(j, "team")), "core");
    assert_string_equal(json_string_value(json_object_get(j, "k8s:ns")), "web");
    json_decref(j);
    sl__loki_config_free(&cfg);
    sl__loki_config_free(&cfg); /* a freed config frees again harmlessly */
}

/* Ill-formed UTF-8 in a static label value is repaired as record strings are,
 * in both encodings, instead of making Loki refuse every push. */
static void test_labels_utf8_repaired(void **state)
{
    (void)state;
    sl_loki_label labels[] = {{"env", "caf\xe9 \xf0\x9f\x98"}, {"ok", "\xc3\xa9"}};
    sl__loki_config cfg;
    sl_error err;
    assert_int_equal(build(labels, 2,
                           "t=a\xff"
                           "b",
                           false, &cfg, &err),
                     SL_OK);
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"service_name\":\"s\"%s}", cfg.labels_json);
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    /* One U+FFFD per maximal subpart: E9 alone, then F0 9F 98 as one. */
    assert_string_equal(json_string_value(json_object_get(j, "env")),
                        "caf\xef\xbf\xbd \xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(j, "ok")), "\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(j, "t")), "a\xef\xbf\xbd"
                                                                    "b");
    json_decref(j);
    assert_string_equal(cfg.labels_prom, ", env=\"caf\xef\xbf\xbd \xef\xbf\xbd\", "
                                         "ok=\"\xc3\xa9\", t=\"a\xef\xbf\xbd"
                                         "b\"");
    assert_int_equal(sl__loki_repaired_len("a\xff\xc3", 3), 7);
    assert_int_equal(sl__loki_repaired_len("\xe2\x82\xac", 3), 3);
    sl__loki_config_free(&cfg);
}

static void test_urls_and_ranges(void **state)
{
    (void)state;
    sl_loki_options o;
    sl__loki_config cfg;
    sl_error err;
    sl_error_init(&err);
    sl_loki_options_init(&o);
    o.url = "http://loki:3100/loki/api/v1/push";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_OK);
    assert_string_equal(cfg.push_url, "http://loki:3100/loki/api/v1/push");
    sl__loki_config_free(&cfg);
    o.url = "https://loki.example/base///";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_OK);
    assert_string_equal(cfg.push_url, "https://loki.example/base/loki/api/v1/push");
    sl__loki_config_free(&cfg);

    o.url = "HTTPS://loki.example:8443?tenant=a";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_OK);
    assert_string_equal(cfg.push_url,
                        "https://loki.example:8443/loki/api/v1/push?tenant=a");
    sl__loki_config_free(&cfg);
    o.url = "Http://u:pw@gw/base/?x=1";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_OK);
    assert_string_equal(cfg.push_url, "http://u:pw@gw/base/loki/api/v1/push?x=1");
    sl__loki_config_free(&cfg);
    o.url = "http://[::1]:3100/loki/api/v1/push";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_OK);
    assert_string_equal(cfg.push_url, "http://[::1]:3100/loki/api/v1/push");
    sl__loki_config_free(&cfg);

    o.url = "ftp://x";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "url"));
    /* Never a sink whose every push fails, and never the password echoed. */
    o.url = "http://user:hunter2@loki:3100/\r\nX-Evil: 1";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "CR or LF"));
    assert_non_null(strstr(err.text, "***@loki:3100"));
    assert_null(strstr(err.text, "hunter2"));
    assert_null(strstr(err.text, "user"));
    o.url = "http://";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "no host"));
    o.url = NULL;
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    o.url = "http://x";
    o.queue_bytes = 1000;
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "queue_bytes"));
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.batch_bytes = 5u << 20;
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.queue_bytes = 128u << 10; /* line_limit 256 KiB cannot fit twice */
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "line_limit"));
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.username = "u";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.backoff_max_ms = 10;
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_int_equal(sl__loki_config_build(NULL, &cfg, &err), SL_EINVAL);
    /* Header values cannot smuggle a second header, and a secret is never echoed. */
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.tenant = "acme\r\nX-Evil: 1";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "tenant"));
    sl_loki_options_init(&o);
    o.url = "http://x";
    o.bearer_token = "tok\nen-secret";
    assert_int_equal(sl__loki_config_build(&o, &cfg, &err), SL_EINVAL);
    assert_non_null(strstr(err.text, "bearer_token"));
    assert_null(strstr(err.text, "secret"));
}

static void test_env(void **state)
{
    (void)state;
    sl_loki_options o;
    sl_error err;
    sl_error_init(&err);
    sl_loki_options_init(&o);
    setenv("SPANLOG_LOKI_URL", "http://127.0.0.1:9", 1);
    setenv("SPANLOG_LOKI_TENANT", "acme", 1);
    setenv("SPANLOG_LOKI_LABELS", "env=prod,team=core", 1);
    setenv("SPANLOG_LOKI_TOKEN", "sekrit", 1);
    setenv("SPANLOG_LOKI_GZIP", "0", 1);
    setenv("SPANLOG_LOKI_LEVEL_LABEL", "true", 1);
    setenv("SPANLOG_LOKI_QUEUE_BYTES", "1048576", 1);
    setenv("SPANLOG_LOKI_OVERFLOW", "drop_oldest", 1);
    setenv("SPANLOG_LOKI_BATCH_MS", "50", 1);
    assert_int_equal(sl_loki_options_from_env(&o, &err), SL_OK);
    assert_string_equal(o.url, "http://127.0.0.1:9");
    assert_string_equal(o.tenant, "acme");
    assert_string_equal(o.labels_text, "env=prod,team=core");
    assert_string_equal(o.bearer_token, "sekrit");
    assert_false(o.gzip);
    assert_true(o.level_label);
    assert_int_equal(o.queue_bytes, 1048576);
    assert_int_equal(o.overflow, SL_LOKI_DROP_OLDEST);
    assert_int_equal(o.batch_age_ms, 50);

    setenv("SPANLOG_LOKI_GZIP", "maybe", 1);
    assert_int_equal(sl_loki_options_from_env(&o, &err), SL_EPARSE);
    assert_non_null(strstr(err.text, "SPANLOG_LOKI_GZIP"));
    unsetenv("SPANLOG_LOKI_GZIP");
    setenv("SPANLOG_LOKI_QUEUE_BYTES", "12x", 1);
    assert_int_equal(sl_loki_options_from_env(&o, &err), SL_EPARSE);
    assert_non_null(strstr(err.text, "SPANLOG_LOKI_QUEUE_BYTES"));
    unsetenv("SPANLOG_LOKI_QUEUE_BYTES");
    setenv("SPANLOG_LOKI_OVERFLOW", "sometimes", 1);
    assert_int_equal(sl_loki_options_from_env(&o, &err), SL_EPARSE);
    assert_non_null(strstr(err.text, "SPANLOG_LOKI_OVERFLOW"));
    unsetenv("SPANLOG_LOKI_OVERFLOW");
    assert_int_equal(sl_loki_options_from_env(NULL, &err), SL_EINVAL);

    /* The constructor reports bad labels from the environment by name. */
    setenv("SPANLOG_LOKI_LABELS", "env=prod,bad.name=x", 1);
    sl_sink *sink = (sl_sink *)1;
    assert_int_equal(sl_loki_sink_from_url("http://127.0.0.1:9", &sink, &err), SL_EINVAL);
    assert_string_equal(err.name, "SPANLOG_LOKI_LABELS");
    assert_int_equal(err.position, 9); /* where bad.name starts */
    /* What "loki:URL" reports: the label by name, and the variable it came from. */
    sl_error e;
    sl_error_init(&e);
    sink = (sl_sink *)1;
    assert_int_equal(sl_loki_sink_from_url("http://127.0.0.1:9", &sink, &e), SL_EINVAL);
    assert_null(sink);
    assert_int_equal(e.code, SL_EINVAL);
    assert_string_equal(e.name, "SPANLOG_LOKI_LABELS");
    assert_non_null(strstr(e.text, "\"bad.name\""));
    assert_non_null(strstr(e.text, "invalid name"));
    sl_error_init(&e);
    assert_int_equal(sl_loki_sink_from_url("http://a:sekrit@\n", &sink, &e), SL_EINVAL);
    assert_string_equal(e.name, "url");
    assert_null(strstr(e.text, "sekrit"));
    assert_null(strstr(e.value, "sekrit"));
    setenv("SPANLOG_LOKI_BATCH_BYTES", "lots", 1);
    sl_error_init(&e);
    assert_int_equal(sl_loki_sink_from_url("http://127.0.0.1:9", &sink, &e), SL_EPARSE);
    assert_string_equal(e.name, "SPANLOG_LOKI_BATCH_BYTES");
    assert_non_null(strstr(e.text, "lots"));
    unsetenv("SPANLOG_LOKI_BATCH_BYTES");
    sl_loki_options_init(&o);
    assert_int_equal(sl_loki_options_from_env(&o, &err), SL_OK);
    assert_int_equal(sl_loki_sink_new(&o, &sink, &err), SL_EINVAL);
    assert_null(sink);
    assert_non_null(strstr(err.text, "\"bad.name\""));
    assert_null(strstr(err.text, "sekrit"));
    unsetenv("SPANLOG_LOKI_LABELS");
    unsetenv("SPANLOG_LOKI_URL");
    unsetenv("SPANLOG_LOKI_TENANT");
    unsetenv("SPANLOG_LOKI_TOKEN");
    unsetenv("SPANLOG_LOKI_LEVEL_LABEL");
    unsetenv("SPANLOG_LOKI_BATCH_MS");
}

static void test_constructor_and_stats(void **state)
{
    (void)state;
    sl_loki_options o;
    sl_loki_options_init(&o);
    o.url = "http://127.0.0.1:9";
    sl_sink *sink = NULL;
    sl_error err;
    sl_error_init(&err);
    assert_int_equal(sl_loki_sink_new(NULL, &sink, &err), SL_EINVAL);
    assert_int_equal(sl_loki_sink_new(&o, NULL, &err), SL_EINVAL);
    assert_int_equal(sl_loki_sink_new(&o, &sink, NULL), SL_OK);
    assert_string_equal(sl_sink_name(sink), "loki");
    sl_loki_stats st;
    assert_int_equal(sl_loki_get_stats(sink, &st), SL_OK);
    assert_int_equal(st.queued_records, 0);
    assert_int_equal(st.last_error[0], '\0');
    assert_int_equal(sl_loki_get_stats(sink, NULL), SL_EINVAL);
    assert_int_equal(sl_loki_get_stats(NULL, &st), SL_EINVAL);
    sl_sink *null_sink = NULL;
    assert_int_equal(sl_null_sink_new(&null_sink), SL_OK);
    assert_int_equal(sl_loki_get_stats(null_sink, &st), SL_EINVAL);
    sl_sink_free(null_sink, 0);
    /* Nothing queued: flush and close return at once. */
    assert_int_equal(sl_sink_flush(sink, 1000), SL_OK);
    sl_sink_free(sink, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_label_names),
        cmocka_unit_test(test_label_errors),
        cmocka_unit_test(test_labels_json),
        cmocka_unit_test(test_labels_utf8_repaired),
        cmocka_unit_test(test_urls_and_ranges),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_constructor_and_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
