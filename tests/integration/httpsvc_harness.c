/*
 * httpsvc_harness.c - the service process, a recording downstream peer and
 * an HTTP client, for test_http_service.c. See httpsvc_harness.h.
 */
#include "integration/httpsvc_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

extern char **environ;

int64_t hs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- downstream receiver ------------------------------------------------ */

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    hs_hit *hit = cls;
    hs_header *grown = realloc(hit->headers, (hit->nheaders + 1) * sizeof(*grown));
    (void)kind;
    if (grown == NULL) {
        return MHD_NO;
    }
    hit->headers = grown;
    grown[hit->nheaders].name = strdup(key != NULL ? key : "");
    grown[hit->nheaders].value = strdup(value != NULL ? value : "");
    hit->nheaders++;
    return MHD_YES;
}

static void hit_free(hs_hit *hit)
{
    size_t i;
    if (hit == NULL) {
        return;
    }
    for (i = 0; i < hit->nheaders; i++) {
        free(hit->headers[i].name);
        free(hit->headers[i].value);
    }
    free(hit->headers);
    free(hit->method);
    free(hit->path);
    free(hit->body);
    free(hit);
}

static bool record_hit(hs_receiver *r, hs_hit *hit)
{
    bool ok = true;
    pthread_mutex_lock(&r->mu);
    if (r->nhits == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        hs_hit **grown = realloc(r->hits, cap * sizeof(*grown));
        if (grown == NULL) {
            ok = false;
        } else {
            r->hits = grown;
            r->cap = cap;
        }
    }
    if (ok) {
        r->hits[r->nhits++] = hit;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static enum MHD_Result receive(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_data_size,
                               void **req_cls)
{
    hs_receiver *r = cls;
    hs_hit *hit = *req_cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    unsigned status = 200;
    (void)version;

    if (hit == NULL) {
        hit = calloc(1, sizeof(*hit));
        if (hit == NULL) {
            return MHD_NO;
        }
        hit->method = strdup(method);
        hit->path = strdup(url);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, copy_header, hit);
        *req_cls = hit;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        char *grown = realloc(hit->body, hit->body_len + *upload_data_size + 1);
        if (grown == NULL) {
            return MHD_NO;
        }
        memcpy(grown + hit->body_len, upload_data, *upload_data_size);
        hit->body = grown;
        hit->body_len += *upload_data_size;
        hit->body[hit->body_len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/status/", 8) == 0) {
        status = (unsigned)strtoul(url + 8, NULL, 10);
    }
    /* Recorded before the answer leaves: once the caller has it, so do we. */
    *req_cls = NULL;
    if (!record_hit(r, hit)) {
        hit_free(hit);
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A request that ended before its last call still owns its hit. */
static void receive_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    hit_free(*req_cls);
    *req_cls = NULL;
}

int hs_receiver_start(hs_receiver *r)
{
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                                 0, NULL, NULL, receive, r, MHD_OPTION_SOCK_ADDR,
                                 (const struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, receive_done, r,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (r->daemon == NULL) {
        fprintf(stderr, "receiver: MHD_start_daemon failed\n");
        return -1;
    }
    info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    r->port = info != NULL ? info->port : 0;
    return r->port != 0 ? 0 : -1;
}

void hs_receiver_stop(hs_receiver *r)
{
    size_t i;
    if (r->daemon != NULL) {
        MHD_stop_daemon(r->daemon);
        r->daemon = NULL;
    }
    for (i = 0; i < r->nhits; i++) {
        hit_free(r->hits[i]);
    }
    free(r->hits);
    r->hits = NULL;
    r->nhits = r->cap = 0;
    pthread_mutex_destroy(&r->mu);
}

size_t hs_receiver_find(hs_receiver *r, const char *prefix, const hs_hit **out,
                        size_t max)
{
    size_t i;
    size_t n = 0;
    size_t plen = strlen(prefix);
    pthread_mutex_lock(&r->mu);
    for (i = 0; i < r->nhits; i++) {
        if (strncmp(r->hits[i]->path, prefix, plen) == 0) {
            if (n < max) {
                out[n] = r->hits[i];
            }
            n++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

size_t hs_hit_header(const hs_hit *hit, const char *name, const char **value)
{
    size_t i;
    size_t n = 0;
    if (value != NULL) {
        *value = NULL;
    }
    for (i = 0; i < hit->nheaders; i++) {
        if (strcasecmp(hit->headers[i].name, name) == 0) {
            if (n == 0 && value != NULL) {
                *value = hit->headers[i].value;
            }
            n++;
        }
    }
    return n;
}

/* ---- the service process ------------------------------------------------- */

/* The environment minus SPANLOG_* and OTEL_*: the service runs on its defaults. */
const char *const *hs_service_env;

static char **clean_environment(void)
{
    size_t n = 0;
    size_t k = 0;
    size_t extra = 0;
    char **env;
    while (environ[n] != NULL) {
        n++;
    }
    while (hs_service_env != NULL && hs_service_env[extra] != NULL) {
        extra++;
    }
    env = calloc(n + extra + 1, sizeof(*env));
    if (env == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "SPANLOG_", 8) != 0 &&
            strncmp(environ[i], "OTEL_", 5) != 0) {
            env[k++] = environ[i];
        }
    }
    for (size_t i = 0; i < extra; i++) {
        env[k++] = (char *)hs_service_env[i];
    }
    return env;
}

static int reap(hs_service *s, int options)
{
    int status;
    pid_t got;
    if (s->reaped) {
        return 1;
    }
    do {
        got = waitpid(s->pid, &status, options);
    } while (got < 0 && errno == EINTR);
    if (got == s->pid) {
        s->reaped = true;
        s->exit_status = status;
        return 1;
    }
    return got < 0 ? -1 : 0;
}

/* Reads "PORT\n" from the FIFO, giving up at the deadline or when the service dies. */
static int read_port(hs_service *s, int fd, int64_t deadline)
{
    char buf[16];
    size_t len = 0;
    for (;;) {
        int64_t left = deadline - hs_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc;
        if (left <= 0) {
            fprintf(stderr, "service: no port within the deadline\n");
            return -1;
        }
        /* Wake up now and then to notice a service that died before writing. */
        rc = poll(&p, 1, left < 100 ? (int)left : 100);
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
        if (rc > 0) {
            ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
            if (n > 0) {
                len += (size_t)n;
                buf[len] = '\0';
                if (strchr(buf, '\n') != NULL) {
                    unsigned long port = strtoul(buf, NULL, 10);
                    if (port == 0 || port > 65535) {
                        return -1;
                    }
                    s->port = (uint16_t)port;
                    return 0;
                }
                if (len == sizeof(buf) - 1) {
                    return -1;
                }
            }
        }
        if (reap(s, WNOHANG) != 0) {
            fprintf(stderr, "service: exited before listening (status %d)\n",
                    s->exit_status);
            return -1;
        }
    }
}

static int spawn(hs_service *s, const char *binary, const char *const *extra)
{
    const char *fixed[] = {binary, "--port", "0", "--port-file", s->fifo_path};
    const char *argv[32];
    size_t argc = 0;
    posix_spawn_file_actions_t fa;
    char **env = clean_environment();
    int rc;

    if (env == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        argv[argc++] = fixed[i];
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && argc < 31; i++) {
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, s->out_path, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    rc = posix_spawn(&s->pid, binary, &fa, NULL, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (rc != 0) {
        fprintf(stderr, "service: posix_spawn %s: %s\n", binary, strerror(rc));
        return -1;
    }
    return 0;
}

int hs_service_start(hs_service *s, const char *binary, const char *const *extra,
                     int timeout_ms)
{
    int64_t deadline = hs_now_ms() + timeout_ms;
    hs_response health;
    char url[64];
    int fd;
    int rc;

    memset(s, 0, sizeof(*s));
    s->pid = -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/spanlog-httpsvc-XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(s->out_path, sizeof(s->out_path), "%s/stdout.jsonl", s->dir);
    snprintf(s->fifo_path, sizeof(s->fifo_path), "%s/port", s->dir);
    if (mkfifo(s->fifo_path, 0600) != 0) {
        perror("mkfifo");
        return -1;
    }
    /* Opened before the spawn, so the service's open for writing never blocks. */
    fd = open(s->fifo_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("open fifo");
        return -1;
    }
    rc = spawn(s, binary, extra);
    if (rc == 0) {
        rc = read_port(s, fd, deadline);
    }
    close(fd);
    if (rc != 0) {
        return -1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", (unsigned)s->port);
    if (hs_http("GET", url, NULL, NULL, (int)(deadline - hs_now_ms()), &health) != 0) {
        return -1;
    }
    rc = health.status == 200 ? 0 : -1;
    hs_response_free(&health);
    return rc;
}

int hs_service_stop(hs_service *s, int sig, int timeout_ms)
{
    int64_t deadline = hs_now_ms() + timeout_ms;
    int pidfd;
    if (s->pid <= 0) {
        return -1;
    }
    if (sig != 0 && !s->reaped) {
        kill(s->pid, sig);
    }
    /* A pidfd becomes readable when the process exits: a wait with a deadline. */
    pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    while (reap(s, WNOHANG) == 0) {
        int64_t left = deadline - hs_now_ms();
        if (left <= 0) {
            break;
        }
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            (void)poll(&p, 1, (int)left);
        } else {
            struct timespec tick = {0, 5 * 1000000L}; /* no pidfd: poll the status */
            nanosleep(&tick, NULL);
        }
    }
    if (pidfd >= 0) {
        close(pidfd);
    }
    return s->reaped ? 0 : -1;
}

void hs_service_cleanup(hs_service *s)
{
    if (s->pid > 0 && !s->reaped) {
        kill(s->pid, SIGKILL);
        reap(s, 0);
    }
    if (s->dir[0] != '\0') {
        unlink(s->out_path);
        unlink(s->fifo_path);
        rmdir(s->dir);
        s->dir[0] = '\0';
    }
}

json_t *hs_service_records(const hs_service *s)
{
    FILE *f = fopen(s->out_path, "rb");
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t lineno = 0;

    if (f == NULL || all == NULL) {
        fprintf(stderr, "records: cannot read %s\n", s->out_path);
        if (f != NULL) {
            fclose(f);
        }
        json_decref(all);
        return NULL;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *rec;
        lineno++;
        if (line[n - 1] != '\n') {
            fprintf(stderr, "records: line %zu has no newline: %s\n", lineno, line);
            goto fail;
        }
        rec = json_loadb(line, (size_t)n - 1, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(rec)) {
            fprintf(stderr, "records: line %zu is not a JSON object (%s): %s", lineno,
                    err.text, line);
            json_decref(rec);
            goto fail;
        }
        json_array_append_new(all, rec);
    }
    free(line);
    fclose(f);
    return all;
fail:
    free(line);
    fclose(f);
    json_decref(all);
    return NULL;
}

json_t *hs_records_for(const json_t *records, const char *request_id)
{
    json_t *out = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *rid = json_string_value(json_object_get(rec, "requestId"));
        if (rid != NULL && strcmp(rid, request_id) == 0) {
            json_array_append(out, rec);
        }
    }
    return out;
}

json_t *hs_record_find(const json_t *records, const char *msg, size_t nth)
{
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *m = json_string_value(json_object_get(rec, "msg"));
        if (m != NULL && strcmp(m, msg) == 0 && nth-- == 0) {
            return rec;
        }
    }
    return NULL;
}

/* ---- HTTP client ------------------------------------------------------------ */

static size_t collect_body(char *data, size_t size, size_t nmemb, void *user)
{
    hs_response *r = user;
    size_t n = size * nmemb;
    char *grown = realloc(r->body, r->len + n + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + r->len, data, n);
    r->body = grown;
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t collect_header(char *data, size_t size, size_t nmemb, void *user)
{
    hs_response *r = user;
    size_t n = size * nmemb;
    static const char name[] = "x-request-id:";
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        size_t vlen = n - (sizeof(name) - 1);
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen > 0 &&
               (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) {
            vlen--;
        }
        if (vlen < sizeof(r->request_id)) {
            memcpy(r->request_id, v, vlen);
            r->request_id[vlen] = '\0';
        }
    }
    return n;
}

int hs_http(const char *method, const char *url, const char *const *headers,
            const char *body, int timeout_ms, hs_response *out)
{
    struct curl_slist *list = NULL;
    CURL *h = curl_easy_init();
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    if (h == NULL || timeout_ms <= 0) {
        curl_easy_cleanup(h);
        return -1;
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *next = curl_slist_append(list, headers[i]);
        if (next == NULL) {
            curl_slist_free_all(list);
            curl_easy_cleanup(h);
            return -1;
        }
        list = next;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    } else {
        fprintf(stderr, "http %s %s: %s\n", method, url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

void hs_response_free(hs_response *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}
