/*
 * test_config.c - the option tables and the adapter registry (src/config.h):
 * one bool grammar, one number grammar, error texts that name the variable,
 * the value and the position, sink lists checked whole before anything is
 * opened, and docs/configuration.md generated from the tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "internal.h"
#if SPANLOG_WITH_OTLP
#include "spanlog/otlp.h"
/* adapters/otlp/config.c */
extern const sl__opt_table sl__otlp_traces_options;
extern const sl__opt_table sl__otlp_logs_options;
#endif

/* Every variable a test here may set, cleared before each test. */
static void clear_env(void)
{
    const sl__opt_table *tables[16] = {&sl__core_options};
    size_t nt = 1;
    for (size_t i = 0; sl__adapters[i] != NULL; i++) {
        if (sl__adapters[i]->opts != NULL) {
            tables[nt++] = sl__adapters[i]->opts;
        }
        for (size_t m = 0; sl__adapters[i]->more != NULL && sl__adapters[i]->more[m];
             m++) {
            tables[nt++] = sl__adapters[i]->more[m];
        }
        if (sl__adapters[i]->env_target != NULL) {
            unsetenv(sl__adapters[i]->env_target);
        }
    }
    for (size_t t = 0; t < nt; t++) {
        for (size_t i = 0; i < tables[t]->n; i++) {
            if (tables[t]->opts[i].env != NULL) {
                unsetenv(tables[t]->opts[i].env);
            }
        }
    }
    unsetenv("SPANLOG_LOKI_URL");
}

static int setup(void **state)
{
    clear_env();
    return 0;
}

/* sl_logger_from_env with only `var`=`value` set (and SPANLOG_SINK=null):
 * returns the status, err filled. */
static sl_status from_env_with(const char *var, const char *value, sl_error *err)
{
    clear_env();
    setenv("SPANLOG_SINK", "null", 1);
    setenv(var, value, 1);
    sl_error_init(err);
    sl_logger *lg = (sl_logger *)&lg;
    sl_status st = sl_logger_from_env("svc", &lg, err);
    if (st == SL_OK) {
        assert_non_null(lg);
        sl_logger_free(lg);
    } else {
        assert_null(lg);
        assert_int_equal(err->code, st);
    }
    return st;
}

/* ---- the grammars ---------------------------------------------------------- */

static void test_bool_grammar(void **state)
{
    const char *yes[] = {"1", "true", "TRUE", "True", "yes", "YES", "on", "On"};
    const char *no[] = {"0", "false", "FALSE", "no", "No", "off", "OFF"};
    const char *bad[] = {"banana", "", " 1", "1 ", "2", "y", "n", "tru", "enabled", "-1"};
    bool b;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        b = false;
        assert_int_equal(sl__parse_bool(yes[i], &b), SL_OK);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        b = true;
        assert_int_equal(sl__parse_bool(no[i], &b), SL_OK);
        assert_false(b);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b = true;
        assert_int_equal(sl__parse_bool(bad[i], &b), SL_EPARSE);
        assert_true(b); /* unchanged */
    }
}

static void test_number_grammar(void **state)
{
    long long v = 7;
    int pos = -1;
    assert_int_equal(sl__parse_int("2048", 0, 4096, &v, &pos), SL_OK);
    assert_int_equal(v, 2048);
    assert_int_equal(sl__parse_int("007", 0, 10, &v, &pos), SL_OK);
    assert_int_equal(v, 7);
    assert_int_equal(sl__parse_int("-5", -10, 10, &v, &pos), SL_OK);
    assert_int_equal(v, -5);
    assert_int_equal(sl__parse_int("-9223372036854775808", LLONG_MIN, 0, &v, &pos),
                     SL_OK);
    assert_true(v == LLONG_MIN);
    assert_int_equal(sl__parse_int("9223372036854775807", 0, LLONG_MAX, &v, &pos), SL_OK);
    assert_true(v == LLONG_MAX);
    v = 7;
    struct {
        const char *text;
        sl_status st;
        int pos;
    } bad[] = {
        {" -5", SL_EPARSE, 0},
        {" 2048", SL_EPARSE, 0},
        {"+2048", SL_EPARSE, 0},
        {"2048 ", SL_EPARSE, 4},
        {"-5", SL_EPARSE, 0},
        {"", SL_EPARSE, 0},
        {"0x10", SL_EPARSE, 1},
        {"1e3", SL_EPARSE, 1},
        {"12k", SL_EPARSE, 2},
        {"4097", SL_ERANGE, 0},
        {"99999999999999999999", SL_ERANGE, 0},
        {"1\n", SL_EPARSE, 1},
        {"-", SL_EPARSE, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pos = -1;
        assert_int_equal(sl__parse_int(bad[i].text, 0, 4096, &v, &pos), bad[i].st);
        assert_int_equal(pos, bad[i].pos);
        assert_int_equal(v, 7);
    }
    /* Negative ranges: '-' allowed, a blank still is not. */
    assert_int_equal(sl__parse_int("- 5", -10, 10, &v, &pos), SL_EPARSE);
    assert_int_equal(pos, 1);
    assert_int_equal(sl__parse_int("-11", -10, 10, &v, &pos), SL_ERANGE);
}

/* ---- the environment's errors ----------------------------------------------- */

static void test_caller_banana_is_an_error(void **state)
{
    sl_error err;
    assert_int_equal(from_env_with("SPANLOG_CALLER", "banana", &err), SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_CALLER");
    assert_string_equal(err.value, "banana");
    assert_int_equal(err.position, 0);
    assert_non_null(strstr(err.text, "SPANLOG_CALLER"));
    assert_non_null(strstr(err.text, "\"banana\""));
    assert_non_null(strstr(err.text, "yes/no"));
    /* Every spelling of the grammar is accepted, as for every other bool. */
    const char *ok[] = {"YES", "on", "0", "Off", "FALSE"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(from_env_with("SPANLOG_CALLER", ok[i], &err), SL_OK);
    }
}

/* SPANLOG_CALLER=on really turns the caller on: read back from a file sink. */
static void test_caller_on_writes_the_caller(void **state)
{
    char path[] = "/tmp/sl-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char target[64];
    snprintf(target, sizeof target, "file:%s", path);
    setenv("SPANLOG_SINK", target, 1);
    setenv("SPANLOG_CALLER", "On", 1);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_from_env("svc", &lg, NULL), SL_OK);
    sl_info(lg, "where");
    sl_logger_free(lg);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(path);
    json_error_t je;
    json_t *r = json_loads(line, 0, &je);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "msg")), "where");
    const char *caller = json_string_value(json_object_get(r, "caller"));
    assert_non_null(caller);
    assert_non_null(strstr(caller, "test_config.c:"));
    json_decref(r);
}

static void test_record_bytes_grammar(void **state)
{
    const char *bad[] = {" -5", " 2048", "+2048", "2048 ", "0x800", "2k"};
    sl_error err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(from_env_with("SPANLOG_MAX_RECORD_BYTES", bad[i], &err),
                         SL_EPARSE);
        assert_string_equal(err.name, "SPANLOG_MAX_RECORD_BYTES");
        assert_string_equal(err.value, bad[i]);
        assert_non_null(strstr(err.text, "SPANLOG_MAX_RECORD_BYTES"));
        /* The range is stated, and the grammar. */
        assert_non_null(strstr(err.text, "from 1024 to 67108864"));
        assert_non_null(strstr(err.text, "digits only"));
    }
    assert_int_equal(from_env_with("SPANLOG_MAX_RECORD_BYTES", "2048 ", &err), SL_EPARSE);
    assert_int_equal(err.position, 4);
    assert_int_equal(from_env_with("SPANLOG_MAX_RECORD_BYTES", "100", &err), SL_ERANGE);
    assert_non_null(strstr(err.text, "from 1024 to 67108864"));
    assert_int_equal(from_env_with("SPANLOG_MAX_RECORD_BYTES", "2048", &err), SL_OK);
}

static void test_level_verbose_names_the_variable(void **state)
{
    sl_error err;
    assert_int_equal(from_env_with("SPANLOG_LEVEL", "verbose", &err), SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_LEVEL");
    assert_string_equal(err.value, "verbose");
    assert_non_null(strstr(err.text, "SPANLOG_LEVEL"));
    assert_non_null(strstr(err.text, "\"verbose\""));
    assert_non_null(strstr(err.text, "debug"));
    assert_int_equal(from_env_with("SPANLOG_FORMAT", "xml", &err), SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_FORMAT");
    assert_non_null(strstr(err.text, "pino"));
}

static void test_unknown_sink_names_the_variable(void **state)
{
    sl_error err;
    assert_int_equal(from_env_with("SPANLOG_SINK", "stdout,pigeon:coop", &err),
                     SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_SINK");
    assert_non_null(strstr(err.text, "\"pigeon\""));
    assert_non_null(strstr(err.text, "unknown sink"));
    assert_non_null(strstr(err.text, "file:PATH")); /* the known ones are listed */
    assert_string_equal(err.value, "pigeon");
    /* Only the scheme of an unknown target is echoed. */
    assert_int_equal(from_env_with("SPANLOG_SINK", "lokii:http://ada:pw-sekrit@h", &err),
                     SL_EPARSE);
    assert_null(strstr(err.text, "pw-sekrit"));
    assert_string_equal(err.value, "lokii");
    assert_int_equal(from_env_with("SPANLOG_SYSLOG", "carrier://pigeon", &err),
                     SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_SYSLOG");
    assert_non_null(strstr(err.text, "carrier://pigeon"));
    assert_int_equal(from_env_with("SPANLOG_SYSLOG", "udp://127.0.0.1:99999", &err),
                     SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_SYSLOG");
    assert_int_equal(err.position, 16); /* the port */
    assert_non_null(strstr(err.text, "1 to 65535"));
    assert_int_equal(from_env_with("SPANLOG_SYSLOG_FACILITY", "mars", &err), SL_OK);
    /* ... no syslog sink was asked for: its options are not read. With one: */
    setenv("SPANLOG_SYSLOG", "udp://127.0.0.1:9", 1);
    sl_logger *lg = (sl_logger *)&lg;
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("svc", &lg, &err), SL_EPARSE);
    assert_null(lg);
    assert_string_equal(err.name, "SPANLOG_SYSLOG_FACILITY");
    assert_string_equal(err.value, "mars");
    assert_non_null(strstr(err.text, "local0"));
}

/* ---- sink lists checked whole ----------------------------------------------- */

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_sink_list_checked_before_opening(void **state)
{
    char dir[] = "/tmp/sl-config-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[64], list[200];
    snprintf(a, sizeof a, "%s/a", dir);
    /* The case: file:/x/a,b.log opened /x/a before failing on b.log. */
    snprintf(list, sizeof list, "file:%s,b.log", a);
    sl_error err;
    assert_int_equal(from_env_with("SPANLOG_SINK", list, &err), SL_EPARSE);
    assert_false(exists(a));
    assert_string_equal(err.name, "SPANLOG_SINK");
    assert_non_null(strstr(err.text, "\"b.log\""));
    /* A bad option of a later target opens nothing either. */
    snprintf(list, sizeof list, "file:%s, syslog:udp://127.0.0.1:9?facility=mars", a);
    assert_int_equal(from_env_with("SPANLOG_SINK", list, &err), SL_EPARSE);
    assert_false(exists(a));
    assert_string_equal(err.name, "facility");
    assert_string_equal(err.value, "mars");
    /* So does a bad adapter variable after a good list. */
    snprintf(list, sizeof list, "file:%s", a);
    setenv("SPANLOG_SINK", list, 1);
    setenv("SPANLOG_SYSLOG", "tcp://", 1);
    sl_logger *lg = NULL;
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("svc", &lg, &err), SL_EPARSE);
    assert_false(exists(a));
    assert_string_equal(err.name, "SPANLOG_SYSLOG");
    unsetenv("SPANLOG_SYSLOG");
    /* A bad filter, a bad rotation key or a bad OTEL_* variable: the same. */
    const char *later[][2] = {
        {"SPANLOG_SAMPLING", "first:two"},
        {"SPANLOG_REDACT_REMOVE", "banana"},
        {"SPANLOG_DIAG", "loud"},
        {"OTEL_TRACES_SAMPLER", "sometimes"},
#if SPANLOG_WITH_OTLP
        {"OTEL_SDK_DISABLED", "maybe"},
#endif
        {"SPANLOG_SINK", NULL}
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
        clear_env();
        char bad_file[200];
        snprintf(bad_file, sizeof bad_file, "file:%s, file:%s.2?max_files= 3", a, a);
        setenv("SPANLOG_SINK", later[i][1] != NULL ? list : bad_file, 1);
        if (later[i][1] != NULL) {
            setenv(later[i][0], later[i][1], 1);
        }
        sl_error_init(&err);
        lg = NULL;
        assert_int_not_equal(sl_logger_from_env("svc", &lg, &err), SL_OK);
        assert_null(lg);
        assert_false(exists(a));
        if (later[i][1] != NULL) {
            assert_string_equal(err.name, later[i][0]);
            assert_non_null(strstr(err.text, later[i][1]));
        } else {
            assert_string_equal(err.name, "max_files");
        }
    }
    clear_env();
    /* Checking a target opens nothing; opening it does. */
    assert_int_equal(sl_sink_uri_check(list, &err), SL_OK);
    assert_false(exists(a));
    sl_sink *s = NULL;
    assert_int_equal(sl_sink_from_uri(list, &s, &err), SL_OK);
    assert_true(exists(a));
    sl_sink_free(s, 0);
    unlink(a);
    rmdir(dir);
}

static void test_file_error_says_why(void **state)
{
    sl_error err;
    sl_error_init(&err);
    sl_sink *s = (sl_sink *)&s;
    assert_int_equal(sl_sink_from_uri("file:/nonexistent-dir/x.log", &s, &err), SL_EIO);
    assert_null(s);
    assert_string_equal(err.name, "path");
    assert_string_equal(err.value, "/nonexistent-dir/x.log");
    assert_non_null(strstr(err.text, "No such file or directory"));
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("file:", &s, &err), SL_EPARSE);
    assert_non_null(strstr(err.text, "needs a path"));
}

/* ---- URI options from the table ---------------------------------------------- */

static void test_uri_options(void **state)
{
    sl_error err;
    sl_sink *s = NULL;
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("stdout?buffered=yes&buffer_size=8192", &s, &err),
                     SL_OK);
    sl_sink_free(s, 0);
    sl_error_init(&err);
    assert_int_equal(
        sl_sink_from_uri("stdout?async=on&overflow=block&block_ms=5&sync_level=error", &s,
                         &err),
        SL_OK);
    sl_sink_free(s, 0);
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("stdout?sync_level=loud", &s, &err), SL_EPARSE);
    assert_string_equal(err.name, "sync_level");
    assert_non_null(strstr(err.text, "fatal or off"));
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("stdout?buffered=maybe", &s, &err), SL_EPARSE);
    assert_null(s);
    assert_string_equal(err.name, "buffered");
    assert_string_equal(err.value, "maybe");
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("stderr?colour=1", &s, &err), SL_EPARSE);
    assert_string_equal(err.name, "colour");
    assert_non_null(strstr(err.text, "unknown option \"colour\""));
    assert_non_null(strstr(err.text, "buffer_size")); /* the known keys */
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("stdout?buffered=1&buffer_size=100", &s, &err),
                     SL_EINVAL);
    assert_string_equal(err.name, "buffer_size");
    /* Syslog: the query's bools and numbers follow the same grammars. */
    const char *bad[] = {
        "syslog:udp://127.0.0.1:9?fields=2", "syslog:udp://127.0.0.1:9?max=+600",
        "syslog:udp://127.0.0.1:9?max= 600", "syslog:udp://127.0.0.1:9?format=rfc9999",
        "syslog:udp://127.0.0.1:9?fields"};
    const char *name[] = {"fields", "max", "max", "format", "fields"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sl_error_init(&err);
        assert_int_equal(sl_sink_from_uri(bad[i], &s, &err), SL_EPARSE);
        assert_null(s);
        assert_string_equal(err.name, name[i]);
    }
    sl_error_init(&err);
    assert_int_equal(
        sl_sink_from_uri("SYSLOG:udp://127.0.0.1:9?fields=on&format=RFC3164", &s, &err),
        SL_OK);
    sl_sink_free(s, 0);
}

static void test_syslog_tls_error_text_is_kept(void **state)
{
    sl_error err;
    sl_error_init(&err);
    sl_sink *s = NULL;
#if SPANLOG_WITH_SYSLOG_TLS
    assert_int_equal(
        sl_sink_from_uri("syslog:tls://127.0.0.1:6514?ca=/nonexistent/ca.pem", &s, &err),
        SL_EINVAL);
    assert_null(s);
    assert_string_equal(err.name, "tls");
    /* OpenSSL's own reason, not a bare "invalid argument". */
    assert_non_null(strstr(err.text, "tls://127.0.0.1:6514"));
    assert_non_null(strstr(err.text, "error:"));
#else
    assert_int_equal(sl_sink_from_uri("syslog:tls://127.0.0.1:6514", &s, &err),
                     SL_ENOTSUP);
    assert_null(s);
    assert_non_null(strstr(err.text, "SPANLOG_WITH_SYSLOG_TLS=OFF"));
#endif
}

/* ---- Loki ---------------------------------------------------------------------- */

#if SPANLOG_WITH_LOKI
static void test_loki_errors(void **state)
{
    sl_error err;
    sl_logger *lg = NULL;
    setenv("SPANLOG_SINK", "null", 1);
    setenv("SPANLOG_LOKI_URL", "http://127.0.0.1:9", 1);
    setenv("SPANLOG_LOKI_LABELS", "env=prod, bad-label=1", 1);
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("svc", &lg, &err), SL_EINVAL);
    assert_null(lg);
    assert_string_equal(err.name, "SPANLOG_LOKI_LABELS");
    assert_string_equal(err.value, "env=prod, bad-label=1");
    assert_int_equal(err.position, 10);
    assert_non_null(strstr(err.text, "\"bad-label\""));
    assert_non_null(strstr(err.text, "invalid name"));
    unsetenv("SPANLOG_LOKI_LABELS");

    /* Numbers and bools: one grammar, the variable named. */
    setenv("SPANLOG_LOKI_BATCH_MS", "+50", 1);
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("svc", &lg, &err), SL_EPARSE);
    assert_string_equal(err.name, "SPANLOG_LOKI_BATCH_MS");
    assert_non_null(strstr(err.text, "from 1 to 3600000"));
    unsetenv("SPANLOG_LOKI_BATCH_MS");
    setenv("SPANLOG_LOKI_GZIP", "YES", 1); /* case-insensitive now, as everywhere */
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("svc", &lg, &err), SL_OK);
    sl_logger_free(lg);
    unsetenv("SPANLOG_LOKI_GZIP");

    /* A secret is never copied, not even when it is the bad value. */
    setenv("SPANLOG_LOKI_TOKEN", "abc\nsekrit", 1);
    sl_error_init(&err);
    assert_int_equal(sl_logger_from_env("svc", &lg, &err), SL_EINVAL);
    assert_string_equal(err.name, "SPANLOG_LOKI_TOKEN");
    assert_string_equal(err.value, "");
    assert_int_equal(err.position, 3);
    assert_null(strstr(err.text, "sekrit"));
    unsetenv("SPANLOG_LOKI_TOKEN");

    /* Credentials in a URL are not echoed. */
    sl_sink *s = NULL;
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("loki:ftp://ada:pw-sekrit@h:3100", &s, &err),
                     SL_EINVAL);
    assert_string_equal(err.name, "url");
    assert_null(strstr(err.text, "pw-sekrit"));
    assert_null(strstr(err.value, "pw-sekrit"));
    assert_non_null(strstr(err.text, "ftp://***@h:3100"));

    /* An option out of range, from the environment: the range is stated. */
    setenv("SPANLOG_LOKI_BATCH_MS", "0", 1);
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("loki:http://127.0.0.1:9", &s, &err), SL_ERANGE);
    assert_null(s);
    assert_string_equal(err.name, "SPANLOG_LOKI_BATCH_MS");
    assert_string_equal(err.value, "0");
    assert_non_null(strstr(err.text, "from 1 to 3600000"));
    unsetenv("SPANLOG_LOKI_BATCH_MS");
    sl_error_init(&err);
    assert_int_equal(sl_sink_from_uri("loki:", &s, &err), SL_EPARSE);
    assert_non_null(strstr(err.text, "needs a URL"));
}
#endif

static const sl__opt_table *table_at(size_t i);

/* Every bool and number variable of every table, with a value off the
 * grammar: sl_logger_from_env refuses it (before anything is opened),
 * naming the variable and the value, and for a number the range. */
static void test_every_variable_follows_the_grammars(void **state)
{
    static const char *const bad_bool[] = {"banana", " 1", "1 ", "2", "tru"};
    static const char *const bad_num[] = {" -5",   " 2048", "+2048",
                                          "2048x", "0x10",  "1e3"};
    size_t checked = 0;
    for (size_t t = 0; table_at(t) != NULL; t++) {
        const sl__opt_table *tab = table_at(t);
        for (size_t i = 0; i < tab->n; i++) {
            const sl__opt *o = &tab->opts[i];
            bool number = o->type == SL__OPT_INT || o->type == SL__OPT_SIZE;
            if (o->env == NULL || (o->type != SL__OPT_BOOL && !number)) {
                continue;
            }
            const char *const *bad = number ? bad_num : bad_bool;
            size_t nbad = number ? sizeof bad_num / sizeof *bad_num
                                 : sizeof bad_bool / sizeof *bad_bool;
            char above[32];
            snprintf(above, sizeof above, "%lld", o->max + (o->max < LLONG_MAX));
            for (size_t b = 0; b <= nbad; b++) {
                const char *v = b < nbad ? bad[b] : number ? above : "yes please";
                clear_env();
                /* Every adapter reads its variables: each is asked for. */
                setenv("SPANLOG_SINK", "null", 1);
                setenv("SPANLOG_SYSLOG", "udp://127.0.0.1:9", 1);
                setenv("SPANLOG_LOKI_URL", "http://127.0.0.1:9", 1);
                setenv("OTEL_TRACES_EXPORTER", "otlp", 1);
                setenv("OTEL_LOGS_EXPORTER", "otlp", 1);
                setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
                setenv(o->env, v, 1);
                sl_error err;
                sl_error_init(&err);
                sl_logger *lg = NULL;
                sl_status st = sl_logger_from_env("svc", &lg, &err);
                if (st == SL_OK || strcmp(err.name, o->env) != 0 ||
                    strcmp(err.value, v) != 0) {
                    fail_msg("%s=\"%s\": status %d, err names \"%s\" = \"%s\": %s",
                             o->env, v, st, err.name, err.value, err.text);
                }
                assert_null(lg);
                assert_int_equal(st, number && b == nbad ? SL_ERANGE : SL_EPARSE);
                if (number) {
                    char range[64];
                    snprintf(range, sizeof range, "from %lld to %lld", o->min, o->max);
                    assert_non_null(strstr(err.text, range));
                }
                checked++;
            }
        }
    }
    clear_env();
    assert_true(checked > 100); /* the tables are really there */
}

/* ---- the tables themselves ------------------------------------------------------ */

static const sl__opt_table *table_at(size_t i)
{
    if (i == 0) {
        return &sl__core_options;
    }
    size_t k = 0;
    for (size_t a = 0; sl__adapters[a] != NULL; a++) {
        if (sl__adapters[a]->opts != NULL && ++k == i) {
            return sl__adapters[a]->opts;
        }
        for (size_t m = 0; sl__adapters[a]->more != NULL && sl__adapters[a]->more[m];
             m++) {
            if (++k == i) {
                return sl__adapters[a]->more[m];
            }
        }
    }
    return NULL;
}

static void test_tables_are_consistent(void **state)
{
    char base[4096];
    for (size_t t = 0; table_at(t) != NULL; t++) {
        const sl__opt_table *tab = table_at(t);
        for (size_t i = 0; i < tab->n; i++) {
            const sl__opt *o = &tab->opts[i];
            assert_non_null(o->doc);
            assert_true(o->offset < sizeof base);
            /* Every default parses in the option's own grammar. */
            if (o->def != NULL) {
                sl_error err;
                sl_error_init(&err);
                memset(base, 0, sizeof base);
                if (sl__opt_set(o, base, o->def, NULL, &err) != SL_OK) {
                    fail_msg("%s: default \"%s\": %s", o->name, o->def, err.text);
                }
            }
            /* Names are unique within the table, variables and keys too;
             * one field may have two variables (OTLP's general one, then
             * the signal's own, which wins). */
            for (size_t j = i + 1; j < tab->n; j++) {
                const sl__opt *p = &tab->opts[j];
                if (o->env == NULL || p->env == NULL) {
                    assert_string_not_equal(o->name, p->name);
                }
                if (o->env != NULL && p->env != NULL) {
                    assert_string_not_equal(o->env, p->env);
                }
                if (o->key != NULL && p->key != NULL) {
                    assert_string_not_equal(o->key, p->key);
                }
            }
        }
    }
    /* An adapter's variables carry its prefix. */
    for (size_t a = 0; sl__adapters[a] != NULL; a++) {
        const sl__adapter *ad = sl__adapters[a];
        for (size_t m = 0; m == 0 || (ad->more != NULL && ad->more[m - 1] != NULL); m++) {
            const sl__opt_table *tab = m == 0 ? ad->opts : ad->more[m - 1];
            for (size_t i = 0; tab != NULL && i < tab->n; i++) {
                const char *env = tab->opts[i].env;
                if (env != NULL) {
                    assert_non_null(ad->env_prefix);
                    assert_int_equal(strncmp(env, ad->env_prefix, strlen(ad->env_prefix)),
                                     0);
                }
            }
        }
    }
    /* The core table's defaults are sl_logger_options_init's. */
    sl_logger_options want;
    sl_logger_options_init(&want);
    /* env.c's env_config starts with the logger's options; room for the rest. */
    union {
        sl_logger_options lo;
        char room[4096];
        max_align_t align;
    } got;
    memset(&got, 0, sizeof got);
    sl__opts_defaults(&sl__core_options, &got);
    assert_int_equal(got.lo.level, want.level);
    assert_int_equal(got.lo.profile, want.profile);
    assert_int_equal(got.lo.max_record_bytes, want.max_record_bytes);
    assert_int_equal(got.lo.caller_info, want.caller_info);
#if SPANLOG_WITH_OTLP
    /* OTLP's tables hold what sl_otlp_options_init sets for each signal. */
    for (int sig = SL_OTLP_TRACES; sig <= SL_OTLP_LOGS; sig++) {
        sl_otlp_options w, g;
        sl_otlp_options_init(&w, (sl_otlp_signal)sig);
        memset(&g, 0, sizeof g);
        sl__opts_defaults(
            sig == SL_OTLP_LOGS ? &sl__otlp_logs_options : &sl__otlp_traces_options, &g);
        assert_string_equal(g.base_endpoint, w.base_endpoint);
        assert_int_equal(g.timeout_ms, w.timeout_ms);
        assert_int_equal(g.protocol, w.protocol);
        assert_int_equal(g.gzip, w.gzip);
        assert_int_equal(g.schedule_delay_ms, sig == SL_OTLP_LOGS ? 1000 : 5000);
        assert_int_equal(g.schedule_delay_ms, w.schedule_delay_ms);
        assert_int_equal(g.export_timeout_ms, w.export_timeout_ms);
        assert_int_equal(g.max_queue_size, w.max_queue_size);
        assert_int_equal(g.max_export_batch_size, w.max_export_batch_size);
        assert_int_equal(g.attribute_count_limit, w.attribute_count_limit);
        assert_int_equal(g.attribute_value_length_limit, w.attribute_value_length_limit);
    }
#endif
}

/* ---- docs/configuration.md comes from the tables -------------------------------- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...) SL__PRINTF(2, 3);
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(need >= 0);
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static const char *type_name(const sl__opt *o)
{
    static const char *const names[] = {"bool",   "integer", "bytes / count", "string",
                                        "secret", "one of",  "text"};
    return names[o->type];
}

static void accepts(buf *b, const sl__opt *o)
{
    switch (o->type) {
    case SL__OPT_BOOL:
        put(b, "%s", SL__BOOL_GRAMMAR);
        break;
    case SL__OPT_INT:
    case SL__OPT_SIZE:
        put(b, "%lld to %lld", o->min, o->max);
        break;
    case SL__OPT_ENUM:
        for (size_t i = 0; o->names[i] != NULL; i++) {
            put(b, "%s`%s`", i ? ", " : "", o->names[i]);
        }
        break;
    case SL__OPT_CUSTOM:
        put(b, "%s", o->grammar);
        break;
    default:
        put(b, "text");
    }
}

static void table_md(buf *b, const sl__opt_table *t)
{
    put(b, "| Variable | URI key | Field | Type | Default | Accepts | Meaning |\n");
    put(b, "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->n; i++) {
        const sl__opt *o = &t->opts[i];
        put(b, "| ");
        put(b, o->env ? "`%s`" : "%s", o->env ? o->env : "");
        put(b, " | ");
        put(b, o->key ? "`%s`" : "%s", o->key ? o->key : "");
        put(b, " | `%s` | %s | ", o->name, type_name(o));
        put(b, o->def ? "`%s`" : "%s", o->def ? o->def : "");
        put(b, " | ");
        accepts(b, o);
        put(b, " | %s |\n", o->doc);
    }
}

/* The generated part of docs/configuration.md, for this build's tables. */
static char *generate(void)
{
    buf b = {0};
    put(&b, "### %s\n\n", sl__core_options.title);
    table_md(&b, &sl__core_options);
    for (size_t a = 0; sl__adapters[a] != NULL; a++) {
        const sl__adapter *ad = sl__adapters[a];
        put(&b, "\n### %s: `%s`\n\n", ad->opts->title, ad->usage);
        if (ad->env_target != NULL) {
            put(&b, "`%s` adds one such sink to `sl_logger_from_env`", ad->env_target);
            if (ad->env_prefix != NULL) {
                put(&b, "; its `%s*` variables set the options of every one",
                    ad->env_prefix);
            }
            put(&b, ".\n\n");
        }
        table_md(&b, ad->opts);
        for (size_t m = 0; ad->more != NULL && ad->more[m] != NULL; m++) {
            put(&b, "\n#### %s\n\n", ad->more[m]->title);
            table_md(&b, ad->more[m]);
        }
    }
    return b.p;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        put(&b, "%.*s", (int)n, chunk);
    }
    fclose(f);
    return b.p;
}

#define BEGIN_MARK                                                                       \
    "<!-- options:begin (generated from the option tables; test_config) -->\n"
#define END_MARK "<!-- options:end -->"

static void test_docs_are_the_tables(void **state)
{
    const char *path = SL_SOURCE_DIR "/docs/configuration.md";
    char *doc = read_file(path);
    assert_non_null(doc);
    char *gen = generate();
    char *b = strstr(doc, BEGIN_MARK);
    char *e = b != NULL ? strstr(b, END_MARK) : NULL;
    assert_non_null(e);
    b += strlen(BEGIN_MARK);
    bool full = SPANLOG_WITH_LOKI && SPANLOG_WITH_SYSLOG_TLS;
    if (full) {
        size_t n = (size_t)(e - b);
        if (strlen(gen) != n || memcmp(gen, b, n) != 0) {
            if (getenv("SPANLOG_WRITE_DOCS") != NULL) {
                FILE *f = fopen(path, "w");
                assert_non_null(f);
                fprintf(f, "%.*s%s%s", (int)(b - doc), doc, gen, e);
                fclose(f);
            } else {
                fprintf(stderr,
                        "docs/configuration.md differs from the tables; "
                        "regenerate: SPANLOG_WRITE_DOCS=1 build/test_config\n"
                        "---- generated:\n%s",
                        gen);
                fail();
            }
        }
    } else {
        /* A build with adapters left out: every row it has is documented. */
        for (char *line = strtok(gen, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (strstr(b, line) == NULL || strstr(b, line) > e) {
                fail_msg("not in docs/configuration.md: %s", line);
            }
        }
    }

    /* Every SPANLOG_* name the docs mention is a variable of the tables, an
     * adapter's variable, or a build option / test variable. */
    if (full) {
        /* README.md and every page under docs/. */
        char docs[64][128];
        size_t ndocs = 0;
        snprintf(docs[ndocs++], sizeof docs[0], "README.md");
        DIR *dir = opendir(SL_SOURCE_DIR "/docs");
        assert_non_null(dir);
        for (struct dirent *de; (de = readdir(dir)) != NULL && ndocs < 64;) {
            size_t n = strlen(de->d_name);
            if (n > 3 && strcmp(de->d_name + n - 3, ".md") == 0) {
                snprintf(docs[ndocs++], sizeof docs[0], "docs/%.100s", de->d_name);
            }
        }
        closedir(dir);
        for (size_t d = 0; d < ndocs; d++) {
            char p[8400];
            snprintf(p, sizeof p, "%s/%s", SL_SOURCE_DIR, docs[d]);
            char *text = read_file(p);
            if (text == NULL) {
                continue;
            }
            for (size_t pf = 0; pf < 2; pf++) {
                const char *prefix = pf == 0 ? "SPANLOG_" : "OTEL_";
                for (char *s = strstr(text, prefix); s != NULL;
                     s = strstr(s + 1, prefix)) {
                    if (s > text && ((s[-1] >= 'A' && s[-1] <= 'Z') || s[-1] == '_')) {
                        continue; /* inside a longer name */
                    }
                    char name[80];
                    size_t n = 0;
                    while (n + 1 < sizeof name &&
                           ((s[n] >= 'A' && s[n] <= 'Z') ||
                            (s[n] >= '0' && s[n] <= '9') || s[n] == '_')) {
                        name[n] = s[n];
                        n++;
                    }
                    name[n] = '\0';
                    if (n > 0 && (name[n - 1] == '_' ||
                                  (n > 2 && name[n - 2] == '_' && name[n - 1] == 'X'))) {
                        continue; /* a prefix or a pattern: SPANLOG_LOKI_*, ..._X */
                    }
                    if (pf == 1 && strchr(name + 5, '_') == NULL && n < 12) {
                        continue; /* not a variable: "OTEL_" alone */
                    }
                    bool known = false;
                    /* A build option (CMake cache variable) of this build? */
                    char quoted[84];
                    snprintf(quoted, sizeof quoted, ",%s,", name);
                    known = strstr(SL_CMAKE_OPTIONS, quoted) != NULL ||
                            /* a macro of common.h, or a variable of the tests */
                            strncmp(name, "SPANLOG_VERSION", 15) == 0 ||
                            /* the linker version node, SPANLOG_0.2 */
                            (pf == 0 && name[8] >= '0' && name[8] <= '9') ||
                            !strcmp(name, "SPANLOG_RSYSLOGD") ||
                            !strcmp(name, "SPANLOG_WRITE_DOCS") ||
                            /* named by docs/otlp.md as not read (gRPC only) */
                            !strcmp(name, "OTEL_EXPORTER_OTLP_INSECURE");
                    for (size_t t = 0; !known && table_at(t) != NULL; t++) {
                        for (size_t i = 0; i < table_at(t)->n; i++) {
                            const char *env = table_at(t)->opts[i].env;
                            known = known || (env != NULL && strcmp(env, name) == 0);
                        }
                    }
                    for (size_t a = 0; !known && sl__adapters[a] != NULL; a++) {
                        const char *v = sl__adapters[a]->env_target;
                        known = v != NULL && strcmp(v, name) == 0;
                    }
                    if (!known) {
                        fail_msg("%s mentions %s, which is in no option table", docs[d],
                                 name);
                    }
                }
            }
            free(text);
        }
    }
    free(gen);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bool_grammar, setup),
        cmocka_unit_test_setup(test_number_grammar, setup),
        cmocka_unit_test_setup(test_caller_banana_is_an_error, setup),
        cmocka_unit_test_setup(test_caller_on_writes_the_caller, setup),
        cmocka_unit_test_setup(test_record_bytes_grammar, setup),
        cmocka_unit_test_setup(test_level_verbose_names_the_variable, setup),
        cmocka_unit_test_setup(test_unknown_sink_names_the_variable, setup),
        cmocka_unit_test_setup(test_sink_list_checked_before_opening, setup),
        cmocka_unit_test_setup(test_file_error_says_why, setup),
        cmocka_unit_test_setup(test_uri_options, setup),
        cmocka_unit_test_setup(test_syslog_tls_error_text_is_kept, setup),
#if SPANLOG_WITH_LOKI
        cmocka_unit_test_setup(test_loki_errors, setup),
#endif
        cmocka_unit_test_setup(test_tables_are_consistent, setup),
        cmocka_unit_test_setup(test_every_variable_follows_the_grammars, setup),
        cmocka_unit_test_setup(test_docs_are_the_tables, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
