/*
 * otlp_harness.c - start and stop the strict OTLP receiver
 * (tests/integration/otlp/otlp_receiver.py) and drive its control API; every
 * wait polls with a deadline.
 */
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "integration/otlp_harness.h"

extern char **environ;

/* ---- the receiver ------------------------------------------------------------ */

recv_t OR;
const char *const *otlp_recv_args;
const char *otlp_control_cert, *otlp_control_key;

static bool tls_args(void)
{
    for (int k = 0; otlp_recv_args != NULL && otlp_recv_args[k] != NULL; k++) {
        if (strcmp(otlp_recv_args[k], "--tls-cert") == 0) {
            return true;
        }
    }
    return false;
}

int64_t otlp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void otlp_pause_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

void otlp_recv_start(int port)
{
    if (port == 0) {
        snprintf(OR.dir, sizeof OR.dir, "/tmp/spanlog-otlp-XXXXXX");
        assert_non_null(mkdtemp(OR.dir));
    }
    char port_file[128], port_arg[16];
    snprintf(port_file, sizeof port_file, "%s/port", OR.dir);
    unlink(port_file);
    snprintf(port_arg, sizeof port_arg, "%d", port);
    char *argv[16] = {"/usr/bin/python3", SL_OTLP_RECEIVER, "--port-file",
                      port_file,          "--port",         port_arg};
    int argc = 6;
    for (int k = 0; otlp_recv_args != NULL && otlp_recv_args[k] != NULL && argc < 15;
         k++) {
        argv[argc++] = (char *)otlp_recv_args[k];
    }
    argv[argc] = NULL;
    assert_int_equal(posix_spawn(&OR.pid, argv[0], NULL, NULL, argv, environ), 0);
    int64_t deadline = otlp_now_ms() + 15000;
    for (;;) {
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            int p = 0;
            int ok = fscanf(f, "%d", &p);
            fclose(f);
            if (ok == 1 && p > 0) {
                OR.port = p;
                break;
            }
        }
        assert_true(otlp_now_ms() < deadline);
        otlp_pause_ms(10);
    }
    snprintf(OR.base, sizeof OR.base, "%s://127.0.0.1:%d", tls_args() ? "https" : "http",
             OR.port);
}

void otlp_recv_kill(void)
{
    if (OR.pid > 0) {
        kill(OR.pid, SIGTERM);
        int st;
        waitpid(OR.pid, &st, 0);
        OR.pid = 0;
    }
}

typedef struct membuf {
    char *p;
    size_t n;
} membuf;

static size_t on_data(char *d, size_t s, size_t n, void *u)
{
    membuf *m = u;
    m->p = realloc(m->p, m->n + s * n + 1);
    memcpy(m->p + m->n, d, s * n);
    m->n += s * n;
    m->p[m->n] = '\0';
    return s * n;
}

/* GET (body NULL) or POST a control request; returns the parsed answer. */
json_t *otlp_control(const char *path, const char *body)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s%s", OR.base, path);
    membuf m = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    /* the control API of a TLS receiver: the harness trusts it as it is */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (otlp_control_cert != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, otlp_control_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, otlp_control_key);
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    assert_int_equal(rc, CURLE_OK);
    json_t *j = json_loads(m.p, JSON_ALLOW_NUL, NULL);
    free(m.p);
    assert_non_null(j);
    return j;
}

void otlp_faults(const char *json)
{
    json_decref(otlp_control("/control/faults", json));
}

/* Polls until the receiver holds at least n spans/logs, or timeout. */
json_t *otlp_wait(const char *what, size_t n, int timeout_ms)
{
    char path[64];
    snprintf(path, sizeof path, "/control/%s", what);
    int64_t deadline = otlp_now_ms() + timeout_ms;
    for (;;) {
        json_t *j = otlp_control(path, NULL);
        if (json_array_size(j) >= n || otlp_now_ms() > deadline) {
            return j;
        }
        json_decref(j);
        otlp_pause_ms(20);
    }
}

json_int_t otlp_status_count(const char *status)
{
    json_t *c = otlp_control("/control/counters", NULL);
    json_int_t v =
        json_integer_value(json_object_get(json_object_get(c, "statuses"), status));
    json_decref(c);
    return v;
}
