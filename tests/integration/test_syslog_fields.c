/*
 * test_syslog_fields.c - the syslog sink against a real rsyslogd started by
 * the test (see rsyslog_harness.h): every header field, the structured data
 * and MSG arrive as sent, for each transport and both formats, including
 * hostile values (newlines, ']', '"', '\\' in SD values, non-ASCII text), a
 * 100 KiB message over TCP and a message above the UDP limit.
 *
 * What the sink sent is known exactly: a second sink on the same logger
 * captures every JSON line, and rsyslog's parsed MSG must equal it.
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "integration/rsyslog_harness.h"
#include "integration/syslog_suite.h"
#include "internal.h"
#include "unit/syslog_parse.h"

/* ---- a sink that keeps every line ------------------------------------------- */

#define CAP_MAX 16

typedef struct capture {
    char *lines[CAP_MAX];
    size_t lens[CAP_MAX];
    int n;
} capture;

static void cap_write(sl_sink *s, const sl_record *r, const char *line, size_t len)
{
    (void)r;
    capture *c = sl_sink_state(s);
    if (c->n < CAP_MAX) {
        c->lines[c->n] = strndup(line, len);
        c->lens[c->n] = len;
        c->n++;
    }
    sl_sink_count_written(s, 1);
}

static const sl_sink_vtable cap_vtable = {
    .version = SL_SINK_VTABLE_VERSION, .name = "capture", .write = cap_write};

static void cap_clear(capture *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->lines[i]);
    }
    memset(c, 0, sizeof *c);
}

/* ---- collecting rsyslog's output ----------------------------------------------- */

#define GOT_MAX 16

typedef struct got {
    const char *marker;
    json_t *recs[GOT_MAX];
    int n;
} got;

static void got_line(void *user, const char *line, size_t len)
{
    got *g = user;
    if (!rsl_line_has(line, g->marker)) {
        return;
    }
    json_error_t err;
    json_t *j = json_loadb(line, len, 0, &err);
    if (j == NULL) {
        fail_msg("rsyslog output is not JSON (%s): %.200s", err.text, line);
    }
    if (g->n < GOT_MAX) {
        g->recs[g->n++] = j;
    } else {
        json_decref(j);
        g->n++;
    }
}

static void wait_lines(got *g, int want, int timeout_ms)
{
    int64_t deadline = rsl_now_ms() + timeout_ms;
    while (g->n < want && rsl_now_ms() < deadline) {
        rsl_read(&g_rsl, got_line, g);
        if (g->n < want) {
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (g->n != want) {
        fail_msg("expected %d records with marker %s in rsyslog's output, got %d", want,
                 g->marker, g->n);
    }
}

static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (v == NULL) {
        fail_msg("rsyslog output lacks \"%s\"", key);
    }
    return v;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" to epoch seconds. */
static int64_t rfc3339_sec(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int consumed = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
        fail_msg("not an RFC 3339 time: %s", s);
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    const char *p = s + consumed;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;
        sscanf(p + 1, "%2d:%2d", &hh, &mm);
        t -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
    }
    return t;
}

/* ---- fields arrive as sent ------------------------------------------------- */

typedef struct tcase {
    const char *name;
    sl_syslog_transport transport;
    sl_syslog_format format; /* AUTO: the transport's default */
    char input;              /* 'l' local.sock, '5' rfc5424.sock, 'u', 't' */
    sl_syslog_framing framing;
    sl_syslog_msg msg;
} tcase;

static const char HOSTILE[] = "a]b\"c\\d\ne]] \\\" end";
static const char HOSTILE_LF[] = "a]b\"c\\d#012e]] \\\" end";
static const char UTF8[] =
    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac";

static void short_hostname(char *out, size_t cap)
{
    gethostname(out, cap);
    out[cap - 1] = '\0';
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        *dot = '\0';
    }
}

/* The SD string rsyslog reports, read with the strict parser. */
static void parse_sd(const char *sd, sp_msg *m)
{
    size_t n = strlen(sd) + 32;
    char *buf = malloc(n);
    snprintf(buf, n, "<14>1 - - - - - %s", sd);
    bool ok = sp_parse(buf, strlen(buf), m);
    free(buf);
    if (!ok) {
        fail_msg("rsyslog's structured data is not valid RFC 5424: %s", sd);
    }
}

static void run_case(const tcase *tc)
{
    char marker[64];
    snprintf(marker, sizeof marker, "mk-%s-%d", tc->name, (int)getpid());

    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = "checkout";
    lo.level = SL_LEVEL_TRACE;
    lo.max_record_bytes = 256 * 1024;
    sl_logger *lg;
    assert_int_equal(sl_logger_new(&lo, &lg), SL_OK);

    sl_syslog_options so;
    sl_syslog_options_init(&so);
    so.transport = tc->transport;
    so.format = tc->format;
    so.framing = tc->framing;
    so.msg = tc->msg;
    so.path = tc->input == 'l' ? g_rsl.local_sock : g_rsl.rfc5424_sock;
    so.host = "127.0.0.1";
    so.port =
        (uint16_t)(tc->transport == SL_SYSLOG_UDP ? g_rsl.udp_port : g_rsl.tcp_port);
    so.hostname = "web-1";
    so.msgid = "ID47";
    so.fields_sd = true;
    so.timeout_ms = 1000; /* nothing may be dropped here */
    sl_sink *sink;
    assert_int_equal(sl_syslog_sink_new(&so, &sink, NULL), SL_OK);
    capture cap;
    memset(&cap, 0, sizeof cap);
    sl_sink *cs;
    assert_int_equal(sl_sink_new(&cap_vtable, &cap, &cs), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, cs, SL_LEVEL_TRACE), SL_OK);

    char rid[96];
    snprintf(rid, sizeof rid, "r-42-%s", marker);
    sl_logger *child = sl_child(lg, SL_STR("requestId", rid), SL_STR("hostile", HOSTILE),
                                SL_STR("utf8", UTF8), SL_INT("attempt", 3));
    assert_non_null(child);

    /* Records: 0 in a span, 1 outside any span, 2 large (tcp 100 KiB, udp 5000 B). */
    sl_span *span = sl_span_start("charge", SL_SPAN_SERVER);
    sl_span_context sc = *sl_span_get_context(span);
    char m0[256];
    snprintf(m0, sizeof m0, "%s#0 card \"charged\" ] \\ %s\nsecond line", marker, UTF8);
    sl_error(child, m0, SL_STR("k", HOSTILE), SL_INT("n", 1));
    sl_span_end(span);
    char m1[128];
    snprintf(m1, sizeof m1, "%s#1 no span", marker);
    sl_debug(child, m1);
    int nrec = 2;
    char *big = NULL;
    if (tc->transport != SL_SYSLOG_UNIX) {
        size_t bl = tc->transport == SL_SYSLOG_TCP ? 100 * 1024 : 5000;
        big = malloc(bl + 1);
        int h = snprintf(big, bl, "%s#2 ", marker);
        for (size_t i = (size_t)h; i < bl; i++) {
            big[i] = (char)('a' + i % 26);
        }
        big[bl] = '\0';
        sl_warn(child, big);
        nrec = 3;
    }
    assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    assert_int_equal(st.written, nrec);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(cap.n, nrec);

    got g = {.marker = marker};
    wait_lines(&g, nrec, 20000);

    sl_syslog_format fmt = tc->format;
    if (fmt == SL_SYSLOG_FORMAT_AUTO) {
        fmt = tc->transport == SL_SYSLOG_UNIX ? SL_SYSLOG_FORMAT_LOCAL
                                              : SL_SYSLOG_FORMAT_RFC5424;
    }
    static const int sev[] = {3, 7, 4};
    const char *const texts[] = {m0, m1, big};
    char host[256];
    short_hostname(host, sizeof host);
    for (int i = 0; i < g.n; i++) {
        json_t *o = g.recs[i];
        const char *msg = jstr(o, "msg");
        if (fmt != SL_SYSLOG_FORMAT_RFC5424 && msg[0] == ' ') {
            msg++; /* rsyslog keeps the space after "TAG:" in %msg% */
        }
        int k = -1;
        char tag[80];
        for (int j = 0; j < nrec; j++) {
            snprintf(tag, sizeof tag, "%s#%d", marker, j);
            if (strstr(msg, tag) != NULL) {
                k = j;
            }
        }
        assert_true(k >= 0);
        /* MSG exactly as sent. */
        const char *line = cap.lines[k];
        size_t line_len = cap.lens[k] - 1; /* without '\n' */
        if (tc->msg == SL_SYSLOG_MSG_JSON) {
            if (tc->transport == SL_SYSLOG_UDP && k == 2) {
                /* Above the datagram size: the logger cut the record once,
                 * to the line limit the UDP sink declares, so MSG is the
                 * whole line and still one valid JSON object. */
                assert_int_equal(strlen(msg), line_len);
                assert_memory_equal(msg, line, line_len);
                assert_true(line_len > 1000);
                json_t *cut = json_loads(msg, 0, NULL);
                assert_non_null(cut);
                assert_true(json_is_true(json_object_get(cut, "truncated")));
                json_decref(cut);
            } else {
                assert_int_equal(strlen(msg), line_len);
                assert_memory_equal(msg, line, line_len);
                json_t *rec = json_loads(msg, 0, NULL);
                assert_non_null(rec);
                assert_string_equal(json_string_value(json_object_get(rec, "msg")),
                                    texts[k]);
                assert_string_equal(json_string_value(json_object_get(rec, "requestId")),
                                    rid);
                assert_string_equal(json_string_value(json_object_get(rec, "hostile")),
                                    HOSTILE);
                assert_string_equal(json_string_value(json_object_get(rec, "utf8")),
                                    UTF8);
                json_decref(rec);
            }
        } else {
            char want[512];
            const char *w = texts[k];
            if (tc->framing == SL_SYSLOG_FRAMING_LF && tc->transport == SL_SYSLOG_TCP &&
                k == 0) {
                /* LF framing: a newline inside the frame travels as "#012". */
                const char *nl = strchr(w, '\n');
                snprintf(want, sizeof want, "%.*s#012%s", (int)(nl - w), w, nl + 1);
                w = want;
            }
            if (tc->transport == SL_SYSLOG_UDP && k == 2) {
                assert_true(strlen(msg) < strlen(w));
                assert_memory_equal(msg, w, strlen(msg));
            } else {
                assert_string_equal(msg, w);
            }
        }
        /* Header fields. */
        char want_pri[16];
        snprintf(want_pri, sizeof want_pri, "%d", 8 + sev[k]);
        assert_string_equal(jstr(o, "pri"), want_pri);
        assert_string_equal(jstr(o, "app"), "checkout");
        char pid[16];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        assert_string_equal(jstr(o, "procid"), pid);
        json_t *rec = json_loadb(line, line_len, 0, NULL);
        assert_non_null(rec);
        const char *rec_time = json_string_value(json_object_get(rec, "time"));
        assert_non_null(rec_time);
        if (fmt == SL_SYSLOG_FORMAT_RFC5424) {
            assert_string_equal(jstr(o, "host"), "web-1");
            assert_string_equal(jstr(o, "msgid"), "ID47");
            assert_string_equal(jstr(o, "time"), rec_time); /* to the microsecond */
            sp_msg m;
            parse_sd(jstr(o, "sd"), &m);
            const sp_elem *fe = &m.elems[k == 0 ? 1 : 0];
            if (k == 0) {
                assert_int_equal(m.nelems, 2);
                char tid[33], sid[17];
                sl_trace_id_to_hex(sc.trace_id, tid);
                sl_span_id_to_hex(sc.span_id, sid);
                assert_string_equal(m.elems[0].id, "opentelemetry");
                assert_string_equal(sp_find(&m.elems[0], "trace_id")->value, tid);
                assert_string_equal(sp_find(&m.elems[0], "span_id")->value, sid);
                char fl[3];
                snprintf(fl, sizeof fl, "%02x", sc.flags);
                assert_string_equal(sp_find(&m.elems[0], "trace_flags")->value, fl);
            } else {
                assert_int_equal(m.nelems, 1); /* no span: bound fields only */
            }
            assert_string_equal(fe->id, "fields@32473");
            assert_string_equal(sp_find(fe, "requestId")->value, rid);
            /* LF framing: the newline in the SD value travelled as "#012". */
            assert_string_equal(sp_find(fe, "hostile")->value,
                                tc->framing == SL_SYSLOG_FRAMING_LF ? HOSTILE_LF
                                                                    : HOSTILE);
            assert_string_equal(sp_find(fe, "utf8")->value, UTF8);
            assert_string_equal(sp_find(fe, "attempt")->value, "3");
        } else {
            assert_string_equal(jstr(o, "sd"), "-");
            assert_string_equal(jstr(o, "msgid"), "-");
            if (fmt == SL_SYSLOG_FORMAT_RFC3164) {
                assert_string_equal(jstr(o, "host"), "web-1");
                /* Local time to the second, without a year. */
                assert_int_equal(rfc3339_sec(jstr(o, "time")), rfc3339_sec(rec_time));
            } else {
                /* The stock local-socket parser: rsyslog's own host name and
                 * receive time. */
                assert_string_equal(jstr(o, "host"), host);
                int64_t d = rfc3339_sec(jstr(o, "time")) - rfc3339_sec(rec_time);
                assert_true(d >= -5 && d <= 5);
            }
        }
        json_decref(rec);
    }
    for (int i = 0; i < g.n && i < GOT_MAX; i++) {
        json_decref(g.recs[i]);
    }
    free(big);
    sl_logger_free(child);
    sl_logger_free(lg);
    cap_clear(&cap);
}

#define CASE_TEST(fn, ...)                                                               \
    static void fn(void **state)                                                         \
    {                                                                                    \
        (void)state;                                                                     \
        const tcase tc = {__VA_ARGS__};                                                  \
        run_case(&tc);                                                                   \
    }

CASE_TEST(test_unix_local_default, "unixlocal", SL_SYSLOG_UNIX, SL_SYSLOG_FORMAT_AUTO,
          'l', SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_unix_rfc5424, "unix5424", SL_SYSLOG_UNIX, SL_SYSLOG_FORMAT_RFC5424, '5',
          SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_unix_rfc5424_text, "unix5424text", SL_SYSLOG_UNIX,
          SL_SYSLOG_FORMAT_RFC5424, '5', SL_SYSLOG_FRAMING_OCTET_COUNTING,
          SL_SYSLOG_MSG_TEXT)
CASE_TEST(test_udp_rfc5424, "udp5424", SL_SYSLOG_UDP, SL_SYSLOG_FORMAT_AUTO, 'u',
          SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_udp_rfc3164, "udp3164", SL_SYSLOG_UDP, SL_SYSLOG_FORMAT_RFC3164, 'u',
          SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_tcp_rfc5424, "tcp5424", SL_SYSLOG_TCP, SL_SYSLOG_FORMAT_AUTO, 't',
          SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_tcp_rfc3164, "tcp3164", SL_SYSLOG_TCP, SL_SYSLOG_FORMAT_RFC3164, 't',
          SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_tcp_lf, "tcplf", SL_SYSLOG_TCP, SL_SYSLOG_FORMAT_RFC5424, 't',
          SL_SYSLOG_FRAMING_LF, SL_SYSLOG_MSG_JSON)
CASE_TEST(test_tcp_text, "tcptext", SL_SYSLOG_TCP, SL_SYSLOG_FORMAT_RFC5424, 't',
          SL_SYSLOG_FRAMING_OCTET_COUNTING, SL_SYSLOG_MSG_TEXT)
CASE_TEST(test_tcp_lf_text, "tcplftext", SL_SYSLOG_TCP, SL_SYSLOG_FORMAT_RFC5424, 't',
          SL_SYSLOG_FRAMING_LF, SL_SYSLOG_MSG_TEXT)

/* ---- IPv6 targets ------------------------------------------------------------ */

/* A socket on [::1] and a free port, or -1 when the host has no IPv6 loopback. */
static int bind_v6(int type, int *port)
{
    int fd = socket(AF_INET6, type, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
        (type == SOCK_STREAM && listen(fd, 4) != 0)) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin6_port);
    return fd;
}

/* Reads from fd until `want` bytes or the deadline; returns the bytes read. */
static size_t read_until(int fd, char *buf, size_t want, int64_t deadline)
{
    size_t nread = 0;
    while (nread < want && rsl_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - rsl_now_ms())) <= 0) {
            break;
        }
        ssize_t n = recv(fd, buf + nread, want - nread, 0);
        if (n <= 0) {
            break;
        }
        nread += (size_t)n;
    }
    return nread;
}

/* "tcp://[::1]:PORT" and "udp://[::1]:PORT": the bytes that arrive are RFC
 * 5424 messages whose MSG is the logged line (checked by the strict parser;
 * rsyslog listens on IPv4 loopback only here). */
static void test_ipv6_targets(void **state)
{
    (void)state;
    int tport = 0, uport = 0;
    int lfd = bind_v6(SOCK_STREAM, &tport);
    int ufd = bind_v6(SOCK_DGRAM, &uport);
    if (lfd < 0 || ufd < 0) {
        if (lfd >= 0) {
            close(lfd);
        }
        if (ufd >= 0) {
            close(ufd);
        }
        printf("IPv6 loopback unavailable on this host: IPv6 targets not exercised\n");
        skip();
    }
    for (int udp = 0; udp < 2; udp++) {
        char target[64];
        snprintf(target, sizeof target, "%s://[::1]:%d?hostname=v6host",
                 udp ? "udp" : "tcp", udp ? uport : tport);
        sl_logger_options lo;
        sl_logger_options_init(&lo);
        lo.service = "v6app";
        sl_logger *lg;
        assert_int_equal(sl_logger_new(&lo, &lg), SL_OK);
        sl_sink *sink;
        assert_int_equal(sl_syslog_sink_from_target(target, &sink, NULL), SL_OK);
        capture cap;
        memset(&cap, 0, sizeof cap);
        sl_sink *cs;
        assert_int_equal(sl_sink_new(&cap_vtable, &cap, &cs), SL_OK);
        assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
        assert_int_equal(sl_logger_add_sink(lg, cs, SL_LEVEL_TRACE), SL_OK);
        sl_info(lg, "over IPv6", SL_STR("target", target));
        assert_int_equal(sl_logger_flush(lg, 10000), SL_OK);
        static char buf[8192];
        size_t n;
        int64_t deadline = rsl_now_ms() + 10000;
        if (udp) {
            struct pollfd p = {.fd = ufd, .events = POLLIN};
            assert_int_equal(poll(&p, 1, 10000), 1);
            ssize_t r = recv(ufd, buf, sizeof buf, 0); /* one datagram */
            assert_true(r > 0);
            n = (size_t)r;
        } else {
            struct pollfd p = {.fd = lfd, .events = POLLIN};
            assert_int_equal(poll(&p, 1, 10000), 1);
            int cfd = accept(lfd, NULL, NULL);
            assert_true(cfd >= 0);
            n = read_until(cfd, buf, 8, deadline);
            char *sp = memchr(buf, ' ', n);
            assert_non_null(sp);
            size_t len = strtoul(buf, NULL, 10); /* octet counting */
            size_t have = n - (size_t)(sp + 1 - buf);
            memmove(buf, sp + 1, have);
            n = have + read_until(cfd, buf + have, len - have, deadline);
            assert_int_equal(n, len);
            close(cfd);
        }
        sp_msg m;
        assert_true(sp_parse(buf, n, &m));
        assert_string_equal(m.hostname, "v6host");
        assert_string_equal(m.app, "v6app");
        assert_int_equal(cap.n, 1);
        assert_int_equal(m.msg_len, cap.lens[0] - 1);
        assert_memory_equal(m.msg, cap.lines[0], m.msg_len);
        sl_sink_stats st;
        sl_sink_get_stats(sink, &st);
        assert_int_equal(st.written, 1);
        sl_logger_free(lg);
        cap_clear(&cap);
    }
    close(lfd);
    close(ufd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_local_default), cmocka_unit_test(test_unix_rfc5424),
        cmocka_unit_test(test_unix_rfc5424_text),  cmocka_unit_test(test_udp_rfc5424),
        cmocka_unit_test(test_udp_rfc3164),        cmocka_unit_test(test_tcp_rfc5424),
        cmocka_unit_test(test_tcp_rfc3164),        cmocka_unit_test(test_tcp_lf),
        cmocka_unit_test(test_tcp_text),           cmocka_unit_test(test_tcp_lf_text),
        cmocka_unit_test(test_ipv6_targets),
    };
    if (getenv("SPANLOG_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("SPANLOG_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, rsl_group_setup, rsl_group_teardown);
}
