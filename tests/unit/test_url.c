/*
 * test_url.c - sl__url_check (src/url.c), the strict http(s) URL check the
 * network sinks share: what passes and its parts, what is refused and why,
 * and that a URL's user:password never appears in any error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static void test_good_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        bool https;
        const char *host;
        int port;
        const char *path;
    } cases[] = {
        {"http://loki:3100", false, "loki", 3100, ""},
        {"HTTP://LOKI", false, "LOKI", 80, ""},
        {"hTtPs://loki.example.com/", true, "loki.example.com", 443, "/"},
        {"https://10.0.0.7:443/loki/api/v1/push", true, "10.0.0.7", 443,
         "/loki/api/v1/push"},
        {"http://[::1]:3100/x", false, "::1", 3100, "/x"},
        {"http://[2001:db8::7]", false, "2001:db8::7", 80, ""},
        {"http://u:p%40ss@gw:1/a?b=c&d=%2F", false, "gw", 1, "/a?b=c&d=%2F"},
        {"http://host:65535?q", false, "host", 65535, "?q"},
        {"http://my_host-1.local~x%41", false, "my_host-1.local~x%41", 80, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl__url u;
        sl_error e;
        sl_error_init(&e);
        if (sl__url_check(cases[i].url, "test url", &u, &e) != SL_OK) {
            fail_msg("%s refused: %s", cases[i].url, e.text);
        }
        assert_int_equal(e.code, SL_OK);
        assert_int_equal(u.https, cases[i].https);
        assert_int_equal(u.scheme_len, cases[i].https ? 5 : 4);
        assert_int_equal(u.host_len, strlen(cases[i].host));
        assert_memory_equal(u.host, cases[i].host, u.host_len);
        assert_int_equal(u.port, cases[i].port);
        assert_int_equal(u.path_len, strlen(cases[i].path));
        assert_string_equal(u.path, cases[i].path);
        assert_int_equal(u.has_userinfo, strchr(cases[i].url, '@') != NULL);
    }
    assert_int_equal(sl__url_check("http://x", NULL, NULL, NULL), SL_OK);
}

static void test_bad_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *why;
        int position;
    } cases[] = {
        {"", "no URL", -1},
        {"http://", "no host", 7},
        {"https://:3100", "no host", 8},
        {"http://u:p@", "no host", 11},
        {"http://host\r\nX-Evil: 1", "CR or LF", 11},
        {"http://host/\n", "CR or LF", 12},
        {"http://ho st", "a space", 9},
        {"http://host/\x01", "control character", 12},
        {"http://host/\x7f", "control character", 12},
        {"http://h\xc3\xa9st", "non-ASCII", 8},
        {"ftp://host", "http or https", 0},
        {"httpx://host", "http or https", 0},
        {"file:///etc/passwd", "http or https", 0},
        {"host:3100", "http:// or https://", 4},
        {"http:/host", "http:// or https://", 4},
        {"://host", "http:// or https://", 0},
        {"http://host:", "port", 12},
        {"http://host:0", "port", 12},
        {"http://host:65536", "port", 12},
        {"http://host:99999999999999999999", "port", 12},
        {"http://host:80a", "port", 12},
        {"http://host:-1", "port", 12},
        {"http://ho!st", "invalid character in the host", 9},
        {"http://ho%zzst", "%-escape in the host", 9},
        {"http://host/a%2", "%-escape", 13},
        {"http://host/#frag", "fragment", 12},
        {"http://[::1", "IPv6", 11},
        {"http://[]:80", "IPv6", 8},
        {"http://[::g]", "IPv6", 10},
        {"http://[::1]x", "after the host", 12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl__url u;
        sl_error e;
        sl_error_init(&e);
        assert_int_equal(sl__url_check(cases[i].url, "test url", &u, &e), SL_EINVAL);
        assert_int_equal(e.code, SL_EINVAL);
        assert_string_equal(e.name, "test url");
        if (strstr(e.text, cases[i].why) == NULL || strncmp(e.text, "test url: ", 10)) {
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].url, e.text, cases[i].why);
        }
        if (e.position != cases[i].position) {
            fail_msg("%s: position %d, want %d", cases[i].url, e.position,
                     cases[i].position);
        }
        /* The message stays one printable line. */
        for (const char *p = e.text; *p; p++) {
            assert_true(*p >= 0x20 && *p < 0x7f);
        }
    }
    assert_int_equal(sl__url_check(NULL, NULL, NULL, NULL), SL_EINVAL);
}

/* user:password@ never appears, whatever else is wrong with the URL. */
static void test_credentials_never_echoed(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "http://admin:hunter2@loki:99999/",
        "ftp://admin:hunter2@loki/",
        "http://admin:hunter2@loki/\r\n",
        "http://admin:hun/ter2@loki/#x",
        "http://admin:hun?ter2@loki:0",
        "admin:hunter2@loki:3100",
        "http://admin:hunter2@",
        "http://admin:hunter2@ho st/p@th",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl_error e;
        sl_error_init(&e);
        assert_int_equal(sl__url_check(cases[i], "loki url", NULL, &e), SL_EINVAL);
        if (strstr(e.text, "hunter2") || strstr(e.text, "admin") ||
            strstr(e.value, "hunter2") || strstr(e.value, "admin") ||
            strstr(e.text, "hun") || strstr(e.value, "hun")) {
            fail_msg("%s: leaked in \"%s\" / \"%s\"", cases[i], e.text, e.value);
        }
        assert_non_null(strstr(e.value, "***@"));
    }
    char out[64];
    assert_int_equal(sl__url_redact("https://u:p@h:1/x", out, sizeof(out)), 17);
    assert_string_equal(out, "https://***@h:1/x");
    sl__url_redact("http://h/\r\n", out, sizeof(out));
    assert_string_equal(out, "http://h/??");
    sl__url_redact("http://h/ok", out, sizeof(out));
    assert_string_equal(out, "http://h/ok");
    sl__url_redact("http://user:pw@h", out, 10);
    assert_string_equal(out, "http://**");
    sl__url_redact(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_credentials_never_echoed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
