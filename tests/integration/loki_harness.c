/*
 * loki_harness.c - the Loki receiver as a child process, and its control API
 * through libcurl. Waits are polls of real state with deadlines.
 */
#include "integration/loki_harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

int64_t lk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pause between two polls of a condition (not a synchronisation by itself). */
static void poll_pause(void)
{
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
}

char *lk_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len) {
        *len = n;
    }
    return buf;
}

static const char *receiver_path(void)
{
    const char *p = getenv("SPANLOG_LOKI_RECEIVER");
    return p != NULL ? p : SL_SOURCE_DIR "/tests/integration/loki_receiver.py";
}

void lk_recv_start(lk_recv *r)
{
    memset(r, 0, sizeof(*r));
    /* libcurl honours proxy variables: loopback must never go through one. */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    snprintf(r->dir, sizeof(r->dir), "/tmp/spanlog-loki-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    char port_file[300];
    snprintf(port_file, sizeof(port_file), "%s/port", r->dir);
    char *argv[] = {"python3", (char *)receiver_path(), "--port-file", port_file, NULL};
    int rc = posix_spawnp(&r->pid, "python3", NULL, NULL, argv, environ);
    assert_int_equal(rc, 0);
    int64_t deadline = lk_now_ms() + 10000;
    for (;;) {
        size_t len = 0;
        char *s = lk_read_file(port_file, &len);
        if (s != NULL && len > 0 && s[len - 1] == '\n') {
            r->port = atoi(s);
            free(s);
            break;
        }
        free(s);
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            r->pid = 0;
            fail_msg("the Loki receiver exited before listening");
        }
        if (lk_now_ms() > deadline) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, &st, 0);
            fail_msg("the Loki receiver did not write its port file within 10 s");
        }
        poll_pause();
    }
    assert_true(r->port > 0 && r->port < 65536);
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", r->port);
}

void lk_recv_stop(lk_recv *r)
{
    if (r->pid > 0) {
        lk_control(r, "/control/shutdown", "{}");
        int64_t deadline = lk_now_ms() + 5000;
        int st;
        while (waitpid(r->pid, &st, WNOHANG) != r->pid) {
            if (lk_now_ms() > deadline) {
                kill(r->pid, SIGKILL);
                waitpid(r->pid, &st, 0);
                break;
            }
            poll_pause();
        }
        r->pid = 0;
    }
    /* Whatever a failed test left behind (fd sink output) goes too. */
    DIR *d = opendir(r->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char path[600];
                snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(r->dir);
}

typedef struct membuf {
    char *p;
    size_t n;
} membuf;

static size_t on_data(char *d, size_t sz, size_t nm, void *u)
{
    membuf *m = u;
    size_t n = sz * nm;
    m->p = realloc(m->p, m->n + n + 1);
    memcpy(m->p + m->n, d, n);
    m->n += n;
    m->p[m->n] = '\0';
    return n;
}

static int request(const lk_recv *r, const char *path, const char *post, membuf *out)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", r->url, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (post != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return (int)status;
}

int lk_control(const lk_recv *r, const char *path, const char *json)
{
    membuf m = {0};
    int st = request(r, path, json != NULL ? json : "{}", &m);
    free(m.p);
    return st;
}

json_t *lk_entries(const lk_recv *r)
{
    membuf m = {0};
    int st = -1;
    /* While the receiver refuses connections (an outage test), keep asking. */
    int64_t deadline = lk_now_ms() + 20000;
    while ((st = request(r, "/control/entries", NULL, &m)) != 200) {
        free(m.p);
        m.p = NULL;
        m.n = 0;
        if (lk_now_ms() > deadline) {
            fail_msg("GET /control/entries: status %d", st);
        }
        poll_pause();
    }
    json_error_t e;
    json_t *j = json_loadb(m.p, m.n, 0, &e);
    free(m.p);
    if (j == NULL) {
        fail_msg("/control/entries is not JSON: %s", e.text);
    }
    return j;
}

size_t lk_count(json_t *snap)
{
    size_t n = 0;
    json_t *streams = json_object_get(snap, "streams");
    for (size_t i = 0; i < json_array_size(streams); i++) {
        n += json_array_size(json_object_get(json_array_get(streams, i), "entries"));
    }
    return n;
}

json_t *lk_wait(const lk_recv *r, bool (*pred)(json_t *, void *), void *arg,
                int timeout_ms, bool *ok)
{
    int64_t deadline = lk_now_ms() + timeout_ms;
    for (;;) {
        json_t *snap = lk_entries(r);
        if (pred(snap, arg)) {
            *ok = true;
            return snap;
        }
        if (lk_now_ms() > deadline) {
            *ok = false;
            return snap;
        }
        json_decref(snap);
        poll_pause();
    }
}

static bool have_n(json_t *snap, void *arg)
{
    return lk_count(snap) >= *(size_t *)arg;
}

json_t *lk_wait_count(const lk_recv *r, size_t n, int timeout_ms)
{
    bool ok;
    json_t *snap = lk_wait(r, have_n, &n, timeout_ms, &ok);
    if (!ok) {
        fail_msg("waited %d ms for %zu entries, have %zu", timeout_ms, n, lk_count(snap));
    }
    return snap;
}

void lk_options(const lk_recv *r, sl_loki_options *o)
{
    sl_loki_options_init(o);
    o->url = r->url;
    o->batch_age_ms = 50;
    o->backoff_min_ms = 20;
    o->backoff_max_ms = 400;
    o->request_timeout_ms = 3000;
    o->connect_timeout_ms = 1000;
}

bool lk_wait_settled(sl_sink *sink, int timeout_ms)
{
    int64_t deadline = lk_now_ms() + timeout_ms;
    for (;;) {
        sl_loki_stats st;
        assert_int_equal(sl_loki_get_stats(sink, &st), SL_OK);
        if (st.pending_records == 0) {
            return true;
        }
        if (lk_now_ms() > deadline) {
            return false;
        }
        poll_pause();
    }
}

static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;

void lk_on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                 uint64_t suppressed)
{
    (void)sink;
    (void)suppressed;
    lk_errors *e = user;
    pthread_mutex_lock(&err_mu);
    if (e->count < 16) {
        snprintf(e->texts[e->count], sizeof(e->texts[0]), "%s", text);
        e->codes[e->count] = code;
    }
    e->count++;
    pthread_mutex_unlock(&err_mu);
}

bool lk_errors_have(lk_errors *e, const char *needle)
{
    pthread_mutex_lock(&err_mu);
    bool found = false;
    for (int i = 0; i < e->count && i < 16; i++) {
        if (strstr(e->texts[i], needle) != NULL) {
            found = true;
        }
    }
    pthread_mutex_unlock(&err_mu);
    return found;
}

/* ---- fixtures and small helpers shared by the test programs ------------------ */

lk_recv LK;

int lk_setup(void **state)
{
    (void)state;
    lk_recv_start(&LK);
    return 0;
}

int lk_teardown(void **state)
{
    (void)state;
    lk_recv_stop(&LK);
    return 0;
}

int lk_reset(void **state)
{
    (void)state;
    assert_int_equal(lk_control(&LK, "/control/reset", "{}"), 200);
    return 0;
}

sl_logger *lk_logger(const sl_loki_options *o, const char *service, const char *fd_file,
                     sl_sink **loki)
{
    sl_error err;
    sl_error_init(&err);
    sl_status st = sl_loki_sink_new(o, loki, &err);
    if (st != SL_OK) {
        fprintf(stderr, "sl_loki_sink_new: %s: %s\n", sl_strerror(st), err.text);
        return NULL;
    }
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.service = service;
    lo.level = SL_LEVEL_TRACE;
    sl_logger *lg = NULL;
    if (sl_logger_new(&lo, &lg) != SL_OK) {
        sl_sink_free(*loki, 0);
        return NULL;
    }
    if (sl_logger_add_sink(lg, *loki, SL_LEVEL_TRACE) != SL_OK) {
        sl_logger_free(lg);
        return NULL;
    }
    if (fd_file != NULL) {
        sl_fd_sink_options fo;
        sl_fd_sink_options_init(&fo);
        fo.path = fd_file;
        sl_sink *fd = NULL;
        if (sl_fd_sink_new(&fo, &fd, NULL) != SL_OK ||
            sl_logger_add_sink(lg, fd, SL_LEVEL_TRACE) != SL_OK) {
            sl_logger_free(lg);
            return NULL;
        }
    }
    return lg;
}

uint64_t lk_dropped_total(const sl_loki_stats *st)
{
    return st->dropped_queue_full + st->dropped_rejected + st->dropped_rejected_partial +
           st->dropped_too_long + st->dropped_retries_exhausted + st->dropped_closed;
}

int64_t lk_timed_info(sl_logger *lg, const char *msg, int i)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sl_info(lg, msg, SL_INT("i", i));
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}
