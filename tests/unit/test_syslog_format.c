/*
 * test_syslog_format.c - the pure syslog formatter on bytes: RFC 5424 and
 * RFC 3164 / local format, PRI for every level and facility, header field
 * rules (NILVALUE, PRINTUSASCII, length limits), SD escaping and PARAM-NAME
 * sanitising with hostile values, MSG modes, BOM, truncation, and the
 * option and target checks. Every RFC 5424 output is read back with an
 * independent strict parser (syslog_parse.h) and checked field by field.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "adapters/syslog/syslog_format.h"
#include "unit/syslog_parse.h"

/* 2026-11-21T10:15:30.123456789Z */
#define T0 INT64_C(1795256130123456789)

static const char LINE[] =
    "{\"time\":\"x\",\"level\":\"info\",\"msg\":\"card charged\"}\n";

typedef struct fmt_out {
    char bytes[SL__SYSLOG_HEAD_MAX + 300000];
    size_t len;
    sl__syslog_frame fr;
} fmt_out;

static fmt_out g_out;

static sl_status fmt(const sl__syslog_fmt *f, const sl_record *r, const char *line,
                     size_t len)
{
    char head[SL__SYSLOG_HEAD_MAX];
    sl_status st = sl__syslog_format(f, r, line, len, head, &g_out.fr);
    if (st != SL_OK) {
        return st;
    }
    assert_true(g_out.fr.head_len <= SL__SYSLOG_HEAD_MAX);
    memcpy(g_out.bytes, head, g_out.fr.head_len);
    memcpy(g_out.bytes + g_out.fr.head_len, g_out.fr.msg, g_out.fr.msg_len);
    g_out.len = g_out.fr.head_len + g_out.fr.msg_len;
    g_out.bytes[g_out.len] = '\0';
    return SL_OK;
}

static sl_record record(sl_level level, const sl_span_context *ctx)
{
    sl_record r;
    memset(&r, 0, sizeof r);
    r.level = level;
    r.time_ns = T0;
    r.msg = "card charged";
    r.msg_len = strlen(r.msg);
    r.service = "checkout";
    r.ctx = ctx;
    return r;
}

static sl_span_context test_ctx(void)
{
    sl_span_context c = sl_span_context_empty();
    assert_int_equal(
        sl_trace_id_from_hex("0af7651916cd43dd8448eb211c80319c", 32, &c.trace_id), SL_OK);
    assert_int_equal(sl_span_id_from_hex("b7ad6b7169203331", 16, &c.span_id), SL_OK);
    c.flags = SL_TRACE_FLAG_SAMPLED;
    return c;
}

static void opts_5424(sl_syslog_options *o)
{
    sl_syslog_options_init(o);
    o->transport = SL_SYSLOG_TCP;
    o->hostname = "web-1";
    o->app_name = "checkout";
}

static void init_fmt(sl__syslog_fmt *f, const sl_syslog_options *o)
{
    assert_int_equal(sl__syslog_fmt_init(f, o, o->transport), SL_OK);
}

/* ---- RFC 5424 ------------------------------------------------------------- */

static void test_5424_exact_bytes(void **state)
{
    (void)state;
    sl_syslog_options o;
    opts_5424(&o);
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_span_context c = test_ctx();
    sl_record r = record(SL_LEVEL_INFO, &c);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    char want[1024];
    snprintf(want, sizeof want,
             "<14>1 2026-11-21T10:15:30.123456Z web-1 checkout %d - [opentelemetry "
             "trace_id=\"0af7651916cd43dd8448eb211c80319c\" span_id=\"b7ad6b7169203331\" "
             "trace_flags=\"01\"] %.*s",
             (int)getpid(), (int)strlen(LINE) - 1, LINE);
    assert_string_equal(g_out.bytes, want);
    assert_false(g_out.fr.truncated);

    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.pri, 14);
    assert_int_equal(m.nelems, 1);
    assert_string_equal(m.elems[0].id, "opentelemetry");
    assert_string_equal(sp_find(&m.elems[0], "trace_id")->value,
                        "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(sp_find(&m.elems[0], "span_id")->value, "b7ad6b7169203331");
    assert_string_equal(sp_find(&m.elems[0], "trace_flags")->value, "01");
    /* MSG is the JSON line without its newline, and parses as JSON. */
    json_error_t err;
    json_t *j = json_loadb(m.msg, m.msg_len, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "card charged");
    json_decref(j);
}

static void test_5424_nil_values(void **state)
{
    (void)state;
    sl_syslog_options o;
    opts_5424(&o);
    o.hostname = "";
    o.app_name = "";
    o.msgid = "";
    o.include_pid = false;
    o.trace_flags = false;
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_record r = record(SL_LEVEL_WARN, NULL);
    r.time_ns = 0; /* unknown time: NILVALUE */
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.pri, 8 + 4);
    assert_string_equal(m.timestamp, "-");
    assert_string_equal(m.hostname, "-");
    assert_string_equal(m.app, "-");
    assert_string_equal(m.procid, "-");
    assert_string_equal(m.msgid, "-");
    assert_int_equal(m.nelems, 0); /* no span: SD is "-" */
    assert_true(m.has_msg);

    /* A valid span without trace_flags, and an empty trace SD-ID: no element. */
    sl_span_context c = test_ctx();
    r.ctx = &c;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.elems[0].nparams, 2);
    assert_null(sp_find(&m.elems[0], "trace_flags"));
    o.trace_sd_id = "";
    init_fmt(&f, &o);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.nelems, 0);

    /* An invalid span context carries no ids. */
    sl_span_context bad = sl_span_context_empty();
    r.ctx = &bad;
    o.trace_sd_id = NULL;
    init_fmt(&f, &o);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.nelems, 0);
}

static void test_pri_every_level_and_facility(void **state)
{
    (void)state;
    static const int sev[] = {7, 7, 6, 4, 3, 2};
    for (int fac = 0; fac < 24; fac++) {
        sl_syslog_options o;
        opts_5424(&o);
        o.facility = fac;
        sl__syslog_fmt f;
        init_fmt(&f, &o);
        for (int lv = SL_LEVEL_TRACE; lv <= SL_LEVEL_FATAL; lv++) {
            assert_int_equal(sl__syslog_severity((sl_level)lv), sev[lv]);
            sl_record r = record((sl_level)lv, NULL);
            assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
            sp_msg m;
            assert_true(sp_parse(g_out.bytes, g_out.len, &m));
            assert_int_equal(m.pri, fac * 8 + sev[lv]);
        }
    }
    /* Out-of-range facilities are refused. */
    sl_syslog_options o;
    opts_5424(&o);
    sl__syslog_fmt f;
    o.facility = 24;
    assert_int_equal(sl__syslog_fmt_init(&f, &o, o.transport), SL_EINVAL);
    o.facility = -1;
    assert_int_equal(sl__syslog_fmt_init(&f, &o, o.transport), SL_EINVAL);
}

static void test_header_sanitising(void **state)
{
    (void)state;
    char big[400];
    memset(big, 'h', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sl_syslog_options o;
    opts_5424(&o);
    o.hostname = big; /* 399 bytes: cut to 255 */
    o.app_name = "my app\xc3\xa9:x\n\t[1]"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    o.msgid = "ID 47\x01with-a-very-long-message-id-that-goes-on";
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_record r = record(SL_LEVEL_INFO, NULL);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(strlen(m.hostname), 255);
    assert_int_equal(strspn(m.hostname, "h"), 255);
    /* One '_' per character (the 2-byte é is one), ':' '[' ']' kept in 5424. */
    assert_string_equal(m.app, "my_app_:x__[1]aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(strlen(m.app), 48);
    assert_string_equal(m.msgid, "ID_47_with-a-very-long-message-i");
    assert_int_equal(strlen(m.msgid), 32);

    /* The sanitisers themselves. */
    char buf[64];
    assert_int_equal(sl__syslog_clean_header("", 0, buf, 48), 1);
    assert_string_equal(buf, "-");
    assert_int_equal(sl__syslog_clean_header(NULL, 0, buf, 48), 1);
    assert_string_equal(buf, "-");
    sl__syslog_clean_header("a\xff\xfe"
                            "b",
                            4, buf, 48); /* invalid bytes: one each */
    assert_string_equal(buf, "a__b");
    sl__syslog_clean_tag("svc:a[1]", 8, buf, 32);
    assert_string_equal(buf, "svc_a_1_");
    sl__syslog_clean_sdname("a b=c]d\"e", 9, buf, 32);
    assert_string_equal(buf, "a_b_c_d_e");
    assert_int_equal(sl__syslog_clean_sdname("", 0, buf, 32), 1);
    assert_string_equal(buf, "_");
}

static void test_app_from_service(void **state)
{
    (void)state;
    sl_syslog_options o;
    opts_5424(&o);
    o.app_name = NULL; /* the record's service */
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_record r = record(SL_LEVEL_INFO, NULL);
    r.service = "pay ments";
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_string_equal(m.app, "pay_ments");
    r.service = NULL; /* no service: the program name */
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    char want[64];
    sl__syslog_clean_header(program_invocation_short_name,
                            strlen(program_invocation_short_name), want, 48);
    assert_string_equal(m.app, want);
}

static void test_sd_ids(void **state)
{
    (void)state;
    static const char *const bad[] = {"open telemetry",
                                      "a=b",
                                      "a]",
                                      "a\"b",
                                      "\xc3\xa9t\xc3\xa9",
                                      "abcdefghijklmnopqrstuvwxyz0123456"}; /* 33 */
    sl__syslog_fmt f;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_syslog_options o;
        opts_5424(&o);
        o.trace_sd_id = bad[i];
        assert_int_equal(sl__syslog_fmt_init(&f, &o, o.transport), SL_EINVAL);
        opts_5424(&o);
        o.fields_sd_id = bad[i];
        assert_int_equal(sl__syslog_fmt_init(&f, &o, o.transport), SL_EINVAL);
    }
    sl_syslog_options o;
    opts_5424(&o);
    o.fields_sd_id = "";
    assert_int_equal(sl__syslog_fmt_init(&f, &o, o.transport), SL_EINVAL);
    opts_5424(&o);
    o.trace_sd_id = "trace@32473";
    init_fmt(&f, &o);
    sl_span_context c = test_ctx();
    sl_record r = record(SL_LEVEL_INFO, &c);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_string_equal(m.elems[0].id, "trace@32473");
}

/* ---- bound fields as structured data ------------------------------------------- */

static void test_fields_sd_hostile(void **state)
{
    (void)state;
    sl_syslog_options o;
    opts_5424(&o);
    o.fields_sd = true;
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    json_t *jv = json_pack("{s:i,s:[s]}", "a", 1, "b", "x]\"");
    const sl_field bound[] = {
        SL_STR("requestId", "r-42"),
        SL_STR("quote", "say \"hi\""),
        SL_STR("slash", "C:\\dir\\"),
        SL_STR("bracket", "a]b]]"),
        SL_STR("newline", "line1\nline2\r\n"),
        SL_STR("utf8", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
        SL_STRN("badutf8",
                "a\xff"
                "b\xc3",
                4),
        SL_STR("bad name=x]\"", "v"),
        SL_STR("", "empty key"),
        SL_STR("k0123456789012345678901234567890123456789", "long key"),
        SL_INT("i", -42),
        SL_UINT("u", UINT64_MAX),
        SL_DOUBLE("d", 0.1),
        SL_DOUBLE("nan", NAN),
        SL_DOUBLE("inf", -INFINITY),
        SL_BOOL("b", true),
        SL_NULL("n"),
        SL_STR("nullstr", NULL),
        SL_ERRNO("e", 2),
        SL_JSON("j", jv),
        SL_STRN("nul", "a\0b", 3),
    };
    static const char *const want_name[] = {
        "requestId", "quote",
        "slash",     "bracket",
        "newline",   "utf8",
        "badutf8",   "bad_name_x__",
        "_",         "k0123456789012345678901234567890",
        "i",         "u",
        "d",         "nan",
        "inf",       "b",
        "n",         "nullstr",
        "e",         "j",
        "nul"};
    static const char *const want_val[] = {"r-42",
                                           "say \"hi\"",
                                           "C:\\dir\\",
                                           "a]b]]",
                                           "line1\nline2\r\n",
                                           "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
                                           ("a\xef\xbf\xbd"
                                            "b\xef\xbf\xbd"),
                                           "v",
                                           "empty key",
                                           "long key",
                                           "-42",
                                           "18446744073709551615",
                                           "0.1",
                                           "NaN",
                                           "-Infinity",
                                           "true",
                                           "null",
                                           "null",
                                           "2",
                                           "{\"a\":1,\"b\":[\"x]\\\"\"]}",
                                           "a\0b"};
    size_t nb = sizeof bound / sizeof bound[0];
    sl_span_context c = test_ctx();
    sl_record r = record(SL_LEVEL_ERROR, &c);
    r.bound = bound;
    r.nbound = nb;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.nelems, 2);
    assert_string_equal(m.elems[0].id, "opentelemetry");
    assert_string_equal(m.elems[1].id, "fields@32473");
    assert_int_equal(m.elems[1].nparams, (int)nb);
    for (size_t i = 0; i < nb; i++) {
        const sp_param *p = &m.elems[1].params[i];
        assert_string_equal(p->name, want_name[i]);
        size_t wl = i == nb - 1 ? 3 : strlen(want_val[i]);
        assert_int_equal(p->value_len, wl);
        assert_memory_equal(p->value, want_val[i], wl);
    }
    /* The raw bytes escape exactly '"', '\\' and ']'. */
    assert_non_null(strstr(g_out.bytes, "bracket=\"a\\]b\\]\\]\""));
    assert_non_null(strstr(g_out.bytes, "slash=\"C:\\\\dir\\\\\""));
    assert_non_null(strstr(g_out.bytes, "quote=\"say \\\"hi\\\"\""));
    json_decref(jv);

    /* sd_escape reports what does not fit and writes nothing past cap. */
    char small[8];
    assert_int_equal(sl__syslog_sd_escape("abc", 3, small, 3), 3);
    assert_int_equal(sl__syslog_sd_escape("ab]", 3, small, 3), SIZE_MAX);
    assert_int_equal(sl__syslog_sd_escape("\xff", 1, small, 2), SIZE_MAX);
    assert_int_equal(sl__syslog_sd_escape("\xe2\x82\xac", 3, small, 2), SIZE_MAX);
}

static void test_fields_sd_budget(void **state)
{
    (void)state;
    static char val[3000];
    memset(val, 'v', sizeof val - 1);
    sl_field bound[8];
    for (int i = 0; i < 8; i++) {
        bound[i] = SL_STR("k", val);
    }
    sl_syslog_options o;
    opts_5424(&o);
    o.fields_sd = true;
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_record r = record(SL_LEVEL_INFO, NULL);
    r.bound = bound;
    r.nbound = 1;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.elems[0].nparams, 1); /* 3 KB fits in the head */
    r.nbound = 8;                            /* 24 KB does not: the params that fit */
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.elems[0].nparams, 1);
    assert_true(g_out.fr.head_len < SL__SYSLOG_HEAD_MAX);
    assert_true(m.has_msg);

    /* A bounded message keeps at least half of itself for MSG. */
    o.max_message_size = 2048;
    init_fmt(&f, &o);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.nelems, 0); /* not even one 3 KB param fits in 1 KB */
    bound[0] = SL_STR("short", "yes");
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.nelems, 1);
    assert_int_equal(m.elems[0].nparams, 1);
    assert_string_equal(m.elems[0].params[0].value, "yes");
    assert_true(g_out.fr.head_len <= 1024);
}

/* ---- MSG, BOM, truncation --------------------------------------------------------- */

static void test_msg_text_and_bom(void **state)
{
    (void)state;
    sl_syslog_options o;
    opts_5424(&o);
    o.msg = SL_SYSLOG_MSG_TEXT;
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_record r = record(SL_LEVEL_INFO, NULL);
    r.msg = "two\nlines";
    r.msg_len = 9;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    sp_msg m;
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.msg_len, 9);
    assert_memory_equal(m.msg, "two\nlines", 9);
    r.msg_len = 0; /* empty MSG: no trailing space */
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_int_equal(g_out.bytes[g_out.len - 1], '-');
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_false(m.has_msg);

    o.bom = true;
    init_fmt(&f, &o);
    r.msg = "h\xc3\xa9";
    r.msg_len = 3;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.msg_len, 6);
    assert_memory_equal(m.msg, "\xef\xbb\xbfh\xc3\xa9", 6);
    r.msg = "h\xe9"; /* Latin-1: not UTF-8, so no BOM (MSG-ANY) */
    r.msg_len = 2;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_int_equal(m.msg_len, 2);
    assert_memory_equal(m.msg, "h\xe9", 2);

    o.msg = SL_SYSLOG_MSG_JSON; /* the JSON line is UTF-8: BOM */
    init_fmt(&f, &o);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    assert_true(sp_parse(g_out.bytes, g_out.len, &m));
    assert_memory_equal(m.msg, "\xef\xbb\xbf{", 4);
    assert_int_equal(m.msg_len, 3 + strlen(LINE) - 1);
}

static void test_truncation(void **state)
{
    (void)state;
    static char line[20001];
    /* A JSON line of 2-byte characters, so a cut may land inside one. */
    line[0] = '{';
    for (int i = 1; i < 19999; i += 2) {
        line[i] = '\xc3';
        line[i + 1] = '\xa9';
    }
    line[19999] = '}';
    line[20000] = '\n';
    for (size_t max = 480; max < 1200; max += 37) {
        sl_syslog_options o;
        opts_5424(&o);
        o.transport = SL_SYSLOG_UDP;
        o.max_message_size = max;
        sl__syslog_fmt f;
        init_fmt(&f, &o);
        sl_span_context c = test_ctx();
        sl_record r = record(SL_LEVEL_INFO, &c);
        assert_int_equal(fmt(&f, &r, line, sizeof line), SL_OK);
        assert_true(g_out.fr.truncated);
        assert_true(g_out.len <= max);
        assert_true(g_out.len >= max - 1); /* at most one byte of a character lost */
        sp_msg m;
        assert_true(sp_parse(g_out.bytes, g_out.len, &m));
        assert_int_equal(m.nelems, 1); /* header and SD intact */
        /* The cut MSG is still valid UTF-8. */
        for (size_t i = 0; i < m.msg_len;) {
            size_t seq =
                sl__syslog_utf8_seq((const unsigned char *)m.msg + i, m.msg_len - i);
            assert_true(seq > 0);
            i += seq;
        }
    }
    /* The transport defaults: udp 2048, unix 131072, tcp none. */
    sl_syslog_options o;
    opts_5424(&o);
    sl__syslog_fmt f;
    o.transport = SL_SYSLOG_UDP;
    init_fmt(&f, &o);
    assert_int_equal(f.max_message, 2048);
    o.transport = SL_SYSLOG_UNIX;
    init_fmt(&f, &o);
    assert_int_equal(f.max_message, 131072);
    assert_int_equal(f.format, SL_SYSLOG_FORMAT_LOCAL);
    o.transport = SL_SYSLOG_TCP;
    init_fmt(&f, &o);
    assert_int_equal(f.max_message, 0);
    assert_int_equal(f.format, SL_SYSLOG_FORMAT_RFC5424);
    sl_record r = record(SL_LEVEL_INFO, NULL);
    assert_int_equal(fmt(&f, &r, line, sizeof line), SL_OK);
    assert_false(g_out.fr.truncated);
    assert_int_equal(g_out.fr.msg_len, sizeof line - 1);
    /* Below the RFC 5426 minimum: refused. */
    o.max_message_size = 479;
    assert_int_equal(sl__syslog_fmt_init(&f, &o, o.transport), SL_EINVAL);
    /* A head that alone exceeds the limit cannot be sent. Its length must not
     * depend on the test's pid (PROCID): no PROCID, and a 32-character SD-ID
     * make the head 496 bytes whatever the process. */
    static char host[256];
    memset(host, 'h', 255);
    o.max_message_size = 480;
    o.hostname = host;
    o.app_name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    o.msgid = "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm";
    o.include_pid = false;
    o.trace_sd_id = "tttttttttttttttttttttttttt@32473";
    init_fmt(&f, &o);
    sl_span_context c = test_ctx();
    r.ctx = &c;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_ERANGE);
}

/* ---- RFC 3164 and the local format ------------------------------------------------- */

static void expect_3164_time(int64_t ns, char *out)
{
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 16, "%b %e %H:%M:%S", &tm);
}

static void test_3164_and_local(void **state)
{
    (void)state;
    sl_syslog_options o;
    opts_5424(&o);
    o.format = SL_SYSLOG_FORMAT_RFC3164;
    o.app_name = "check:out[x]";
    o.facility = SL_SYSLOG_FACILITY_LOCAL0;
    o.bom = true; /* no BOM in RFC 3164 */
    sl__syslog_fmt f;
    init_fmt(&f, &o);
    sl_span_context c = test_ctx();
    sl_record r = record(SL_LEVEL_ERROR, &c);
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    char ts[16], want[512];
    expect_3164_time(T0, ts);
    snprintf(want, sizeof want, "<131>%s web-1 check_out_x_[%d]: %.*s", ts, (int)getpid(),
             (int)strlen(LINE) - 1, LINE);
    assert_string_equal(g_out.bytes, want);

    o.format = SL_SYSLOG_FORMAT_LOCAL;
    o.include_pid = false;
    o.app_name = "a-tag-that-is-longer-than-thirty-two-characters";
    init_fmt(&f, &o);
    /* A day below 10 is padded with a space: 2026-11-02. */
    r.time_ns = T0 - INT64_C(19) * 86400 * 1000000000;
    assert_int_equal(fmt(&f, &r, LINE, strlen(LINE)), SL_OK);
    expect_3164_time(r.time_ns, ts);
    snprintf(want, sizeof want, "<131>%s a-tag-that-is-longer-than-thirty: %.*s", ts,
             (int)strlen(LINE) - 1, LINE);
    assert_string_equal(g_out.bytes, want);
    assert_int_equal(ts[4], ' ');
}

/* ---- options and targets -------------------------------------------------------------
 */

static void test_facility_parse(void **state)
{
    (void)state;
    int fac = -1;
    assert_int_equal(sl_syslog_facility_parse("user", &fac), SL_OK);
    assert_int_equal(fac, 1);
    assert_int_equal(sl_syslog_facility_parse("LOCAL7", &fac), SL_OK);
    assert_int_equal(fac, 23);
    assert_int_equal(sl_syslog_facility_parse("16", &fac), SL_OK);
    assert_int_equal(fac, 16);
    assert_int_equal(sl_syslog_facility_parse("24", &fac), SL_EPARSE);
    assert_int_equal(sl_syslog_facility_parse("local8", &fac), SL_EPARSE);
    assert_int_equal(sl_syslog_facility_parse("", &fac), SL_EPARSE);
    assert_int_equal(fac, 16);
    assert_int_equal(sl_syslog_facility_parse(NULL, &fac), SL_EINVAL);
}

static void test_targets(void **state)
{
    (void)state;
    static const char *const bad[] = {"tcp://",
                                      "tcp://:514",
                                      "tcp://host:0",
                                      "tcp://host:65536",
                                      "tcp://host:x",
                                      "tcp://::1:514",
                                      "tcp://[::1",
                                      "tcp://[]:514",
                                      "tcp://[::1]x",
                                      "syslog:/dev/log",
                                      "udp:/x",
                                      "tcp://h?format=x",
                                      "tcp://h?facility=local9",
                                      "tcp://h?nokey",
                                      "tcp://h?framing=crlf",
                                      "tcp://h?max=abc",
                                      "tcp://h?fields=2",
                                      "tcp://h?unknown=1"};
    sl_sink *s = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sl_syslog_sink_from_target(bad[i], &s, NULL), SL_EPARSE);
        assert_null(s);
    }
    assert_int_equal(sl_syslog_sink_from_target("tcp://h", NULL, NULL), SL_EINVAL);
    /* Valid targets create sinks even with nobody listening. */
    static const char *const good[] = {
        "",
        "unix:",
        "unix:/nonexistent/spanlog-test.sock",
        "udp://127.0.0.1:9",
        "tcp://"
        "127.0.0.1:9?format=rfc3164&facility=local3&framing=lf&msg=text&app=a&msgid=m"
        "&hostname=h&max=4096&timeout_ms=5&fields=1",
        "tcp://[::1]:9",
        "udp://localhost"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        s = NULL;
        assert_int_equal(sl_syslog_sink_from_target(good[i], &s, NULL), SL_OK);
        assert_non_null(s);
        assert_string_equal(sl_sink_name(s), "syslog");
        sl_sink_free(s, 0);
    }
    assert_int_equal(sl_syslog_sink_from_target(NULL, &s, NULL), SL_OK);
    sl_sink_free(s, 0);
    /* A unix path longer than sun_path, and an unresolvable host. */
    char longp[200] = "unix:/";
    memset(longp + 6, 'p', 150);
    assert_int_equal(sl_syslog_sink_from_target(longp, &s, NULL), SL_EINVAL);
    assert_int_equal(
        sl_syslog_sink_from_target("tcp://no-such-host.invalid:514", &s, NULL),
        SL_ENOENT);
}

static void test_option_checks(void **state)
{
    (void)state;
    sl_sink *s = NULL;
    sl_syslog_options o;
    sl_syslog_options_init(&o);
    o.transport = SL_SYSLOG_TCP;
    o.port = 9;
    o.queue_bytes = 1000;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.timeout_ms = -1;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.reconnect_max_ms = 10;
    o.reconnect_min_ms = 20;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.transport = (sl_syslog_transport)7;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.format = (sl_syslog_format)9;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.trace_sd_id = "not valid";
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    assert_int_equal(sl_syslog_sink_new(&o, NULL, NULL), SL_EINVAL);
#if SPANLOG_WITH_SYSLOG_TLS
    /* TLS: RFC 5425 frames with octet counting; unreadable files are refused. */
    sl_syslog_options_init(&o);
    o.transport = SL_SYSLOG_TLS;
    o.framing = SL_SYSLOG_FRAMING_LF;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.transport = SL_SYSLOG_TLS;
    o.tls_ca_file = "/nonexistent/ca.pem";
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    sl_syslog_options_init(&o);
    o.transport = SL_SYSLOG_TLS;
    o.tls_cert_file = "/nonexistent/cert.pem"; /* and no key */
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_EINVAL);
    assert_int_equal(
        sl_syslog_sink_from_target("tls://127.0.0.1?cert=/nonexistent&key=/x", &s, NULL),
        SL_EINVAL);
#else
    /* Built without TLS: tls targets are refused, saying so. */
    sl_syslog_options_init(&o);
    o.transport = SL_SYSLOG_TLS;
    assert_int_equal(sl_syslog_sink_new(&o, &s, NULL), SL_ENOTSUP);
#endif
    sl_syslog_options_init(NULL); /* harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_5424_exact_bytes),
        cmocka_unit_test(test_5424_nil_values),
        cmocka_unit_test(test_pri_every_level_and_facility),
        cmocka_unit_test(test_header_sanitising),
        cmocka_unit_test(test_app_from_service),
        cmocka_unit_test(test_sd_ids),
        cmocka_unit_test(test_fields_sd_hostile),
        cmocka_unit_test(test_fields_sd_budget),
        cmocka_unit_test(test_msg_text_and_bom),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_3164_and_local),
        cmocka_unit_test(test_facility_parse),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_option_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
