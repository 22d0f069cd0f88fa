/*
 * test_otlp_tls.c - OTLP export over HTTPS against the strict receiver:
 * verification is on by default (a self-signed server is refused), the
 * certificate option / OTEL_EXPORTER_OTLP_CERTIFICATE trusts it, and mutual
 * TLS works with the client certificate and key options / variables.
 * Certificates are made by the openssl command at setup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "integration/otlp_harness.h"
#include "spanlog/otlp.h"
#include "spanlog/spanlog.h"

static char dir[] = "/tmp/spanlog-otlp-tls-XXXXXX";
static char ca[128], srv_cert[128], srv_key[128], cli_cert[128], cli_key[128];

static int sh(const char *fmt, ...) SL__PRINTF(1, 2);

static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    setenv("NO_PROXY", "127.0.0.1", 1);
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(srv_cert, sizeof srv_cert, "%s/srv.pem", dir);
    snprintf(srv_key, sizeof srv_key, "%s/srv.key", dir);
    snprintf(cli_cert, sizeof cli_cert, "%s/cli.pem", dir);
    snprintf(cli_key, sizeof cli_key, "%s/cli.key", dir);
    const char *q = ">/dev/null 2>&1";
    if (sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out "
           "ca.pem "
           "-days 2 -subj /CN=spanlog-test-ca %s",
           dir, q) ||
        sh("cd %s && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
           "-subj /CN=127.0.0.1 %s && printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
           "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
           "-out srv.pem -days 2 -extfile ext %s",
           dir, q, q) ||
        sh("cd %s && openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr "
           "-subj /CN=client %s && openssl x509 -req -in cli.csr -CA ca.pem -CAkey "
           "ca.key "
           "-CAcreateserial -out cli.pem -days 2 %s",
           dir, q, q)) {
        return -1;
    }
    sl_sampler on = {SL_SAMPLER_ALWAYS_ON, 1.0};
    sl_sampler_set(&on);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    otlp_recv_kill();
    sh("rm -rf %s", dir);
    return 0;
}

static void start(bool mutual)
{
    static const char *args[8];
    int n = 0;
    args[n++] = "--tls-cert";
    args[n++] = srv_cert;
    args[n++] = "--tls-key";
    args[n++] = srv_key;
    if (mutual) {
        args[n++] = "--client-ca";
        args[n++] = ca;
    }
    args[n] = NULL;
    otlp_recv_args = args;
    otlp_control_cert = mutual ? cli_cert : NULL;
    otlp_control_key = mutual ? cli_key : NULL;
    otlp_recv_kill();
    otlp_recv_start(0);
}

/* Exports one span; returns how many the receiver holds afterwards. */
static size_t export_one(const sl_otlp_options *o, sl_otlp_stats *st)
{
    sl_otlp_exporter *e = NULL;
    assert_int_equal(sl_otlp_exporter_new(o, &e, NULL), SL_OK);
    sl_span *s = sl_span_start_with_parent("tls", SL_SPAN_INTERNAL, NULL);
    sl_span_end(s);
    (void)sl_otlp_exporter_flush(e, 5000);
    st->size = sizeof *st;
    sl_otlp_exporter_get_stats(e, st);
    sl_otlp_exporter_free(e, 500);
    json_t *spans = otlp_wait("spans", 1, st->exported > 0 ? 3000 : 0);
    size_t n = json_array_size(spans);
    json_decref(spans);
    json_decref(otlp_control("/control/reset", "{}"));
    return n;
}

static void options(sl_otlp_options *o)
{
    sl_otlp_options_init(o, SL_OTLP_TRACES);
    o->base_endpoint = OR.base;
    o->schedule_delay_ms = 20;
    o->backoff_min_ms = 20;
    o->backoff_max_ms = 100;
    o->export_timeout_ms = 800; /* a refused handshake gives up soon */
}

static void test_verification_on_by_default(void **state)
{
    (void)state;
    start(false);
    sl_otlp_options o;
    options(&o);
    sl_otlp_stats st;
    assert_int_equal(export_one(&o, &st), 0);
    assert_int_equal(st.exported, 0);
    assert_int_equal(st.dropped_retries_exhausted, 1);
    assert_non_null(strstr(st.last_error, "transport"));
    o.certificate = ca;
    assert_int_equal(export_one(&o, &st), 1);
    assert_int_equal(st.exported, 1);
    /* tls_verify off: accepted without the CA (for tests and labs only) */
    options(&o);
    o.tls_verify = false;
    assert_int_equal(export_one(&o, &st), 1);
}

static void test_mutual_tls(void **state)
{
    (void)state;
    start(true);
    sl_otlp_options o;
    options(&o);
    o.certificate = ca;
    sl_otlp_stats st;
    assert_int_equal(export_one(&o, &st), 0); /* no client certificate */
    assert_int_equal(st.exported, 0);
    o.client_certificate = cli_cert;
    o.client_key = cli_key;
    assert_int_equal(export_one(&o, &st), 1);
    /* the same from the variables */
    setenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca, 1);
    setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cli_cert, 1);
    setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", cli_key, 1);
    options(&o);
    assert_int_equal(sl_otlp_options_from_env(&o, NULL), SL_OK);
    assert_string_equal(o.certificate, ca);
    assert_int_equal(export_one(&o, &st), 1);
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE");
    unsetenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
    unsetenv("OTEL_EXPORTER_OTLP_CLIENT_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verification_on_by_default),
        cmocka_unit_test(test_mutual_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
