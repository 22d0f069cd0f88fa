/*
 * http_service - a small HTTP service built on spanlog.
 *
 * It answers GET /health, and implements the W3C Trace Context interop test
 * protocol on POST: the body is a JSON array of {"url": ..., "arguments": ...}
 * and the service POSTs json(arguments) to each url in order, each call in
 * its own CLIENT span carrying traceparent (and tracestate), before it
 * answers 200. Every request runs in a SERVER span continued from the
 * incoming headers, and logs through a child logger bound to its requestId,
 * method and path. Records go to stdout, one JSON line each (the logger
 * comes from sl_logger_from_env(), so SPANLOG_* variables apply).
 *
 * Usage: http_service [--port PORT] [--port-file PATH] [--loki URL]
 *                     [--max-requests N] [--downstream-timeout-ms MS]
 *                     [--log-spans] [--level LEVEL]
 *                     [--nats URL [--nats-subject SUBJECT]]
 *
 * Readiness: with --port 0 the kernel picks the port. Once the socket
 * listens, the port is written as decimal digits and '\n' to --port-file
 * (which may be a FIFO), and the "listening" record carries it too.
 *
 * Shutdown: SIGTERM or SIGINT (or the N-th answer with --max-requests) stops
 * accepting connections, lets requests in flight finish (bounded), then
 * flushes the logger and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service.h"

#define DRAIN_TIMEOUT_MS 5000
#define FLUSH_TIMEOUT_MS 5000

static void usage(FILE *to)
{
    fprintf(
        to,
        "usage: http_service [--port PORT] [--port-file PATH] [--loki URL]\n"
        "                    [--max-requests N] [--downstream-timeout-ms MS]\n"
        "                    [--log-spans] [--level LEVEL]\n"
        "                    [--nats URL [--nats-subject SUBJECT]]\n"
        "  --port PORT              listen on 127.0.0.1:PORT (default 8080; 0: any)\n"
        "  --port-file PATH         write the bound port there once listening\n"
        "  --loki URL               also send records to Loki at URL\n"
        "  --max-requests N         stop after answering N requests\n"
        "  --downstream-timeout-ms  per outgoing call (default 10000)\n"
        "  --log-spans              a \"span ended\" record for every sampled span\n"
        "  --level LEVEL            trace, debug, info, warn, error (overrides\n"
        "                           SPANLOG_LEVEL; default info)\n"
        "  --nats URL               publish each request to NATS with its trace\n"
        "                           context (needs a build with libnats)\n"
        "  --nats-subject SUBJECT   where (default requests)\n"
        "environment: SPANLOG_LEVEL, SPANLOG_FORMAT, SPANLOG_SINK, SPANLOG_LOKI_URL,\n"
        "             OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG\n");
}

static bool parse_ulong(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;
    if (text == NULL || *text < '0' || *text > '9') {
        return false;
    }
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* 0 on success, 2 on a usage error (the message is printed). */
static int parse_args(int argc, char **argv, svc_config *cfg)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, 'f'},
        {"loki", required_argument, NULL, 'l'},
        {"max-requests", required_argument, NULL, 'm'},
        {"downstream-timeout-ms", required_argument, NULL, 't'},
        {"log-spans", no_argument, NULL, 's'},
        {"level", required_argument, NULL, 'L'},
        {"nats", required_argument, NULL, 'n'},
        {"nats-subject", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int c;

    cfg->port = 8080;
    cfg->port_file = NULL;
    cfg->loki_url = NULL;
    cfg->max_requests = 0;
    cfg->downstream_timeout_ms = 10000;
    cfg->max_body = 1024 * 1024;
    cfg->max_calls = 64;
    cfg->log_spans = false;
    cfg->level = SL_LEVEL_INFO;
    cfg->level_given = false;
    cfg->nats_url = NULL;
    cfg->nats_subject = "requests";

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!parse_ulong(optarg, 65535, &v)) {
                fprintf(stderr, "http_service: bad --port '%s'\n", optarg);
                return 2;
            }
            cfg->port = (uint16_t)v;
            break;
        case 'f':
            cfg->port_file = optarg;
            break;
        case 'l':
            cfg->loki_url = optarg;
            break;
        case 'm':
            if (!parse_ulong(optarg, (unsigned long)-1, &v)) {
                fprintf(stderr, "http_service: bad --max-requests '%s'\n", optarg);
                return 2;
            }
            cfg->max_requests = v;
            break;
        case 't':
            if (!parse_ulong(optarg, 3600000, &v) || v == 0) {
                fprintf(stderr, "http_service: bad --downstream-timeout-ms '%s'\n",
                        optarg);
                return 2;
            }
            cfg->downstream_timeout_ms = (long)v;
            break;
        case 's':
            cfg->log_spans = true;
            break;
        case 'L':
            if (sl_level_parse(optarg, &cfg->level) != SL_OK) {
                fprintf(stderr, "http_service: bad --level '%s'\n", optarg);
                return 2;
            }
            cfg->level_given = true;
            break;
        case 'n':
            cfg->nats_url = optarg;
            break;
        case 'S':
            cfg->nats_subject = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

/* --loki URL: one more sink, named the way SPANLOG_SINK names them. */
static sl_status add_loki(sl_logger *lg, const char *url)
{
    size_t n = strlen("loki:") + strlen(url) + 1;
    char *uri = malloc(n);
    sl_sink *sink = NULL;
    sl_status st;
    if (uri == NULL) {
        return SL_ENOMEM;
    }
    snprintf(uri, n, "loki:%s", url);
    sl_error err;
    sl_error_init(&err);
    st = sl_sink_from_uri(uri, &sink, &err);
    free(uri);
    if (st != SL_OK) {
        fprintf(stderr, "http_service: --loki: %s\n", err.text);
        return st;
    }
    st = sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE);
    if (st != SL_OK) {
        fprintf(stderr, "http_service: --loki: %s\n", sl_strerror(st));
    }
    return st;
}

/*
 * The logger comes from the environment (SPANLOG_LEVEL, SPANLOG_FORMAT,
 * OTEL_SERVICE_NAME, SPANLOG_SINK - stdout by default -, SPANLOG_LOKI_URL
 * ...); the command line adds to it. The stdout sink writes each record
 * with one write(2), so lines from the request threads never interleave.
 */
static sl_status make_logger(const svc_config *cfg, sl_logger **out)
{
    sl_error err;
    sl_error_init(&err);
    sl_status st = sl_logger_from_env("http_service", out, &err);
    if (st != SL_OK) {
        fprintf(stderr, "http_service: %s\n", err.text);
        return st;
    }
    if (cfg->level_given) {
        sl_logger_set_level(*out, cfg->level);
    }
    if (cfg->loki_url != NULL) {
        st = add_loki(*out, cfg->loki_url);
        if (st != SL_OK) {
            sl_logger_free(*out);
            *out = NULL;
        }
    }
    return st;
}

static bool write_port_file(const char *path, uint16_t port)
{
    char text[16];
    int n = snprintf(text, sizeof(text), "%u\n", (unsigned)port);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok;
    if (fd < 0) {
        return false;
    }
    ok = write(fd, text, (size_t)n) == n;
    return close(fd) == 0 && ok;
}

static struct MHD_Daemon *start_daemon(svc *s, uint16_t *bound)
{
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(s->cfg.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* A thread per connection: a request blocked on its downstream calls holds
     * up nobody else. ITC is needed to quiesce on shutdown. */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_ITC | MHD_USE_ERROR_LOG,
                         s->cfg.port, NULL, NULL, svc_access, s, MHD_OPTION_SOCK_ADDR,
                         (const struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
                         svc_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                         MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
    if (d == NULL) {
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound = info != NULL ? info->port : s->cfg.port;
    return d;
}

/* Waits until no request is in flight, at most timeout_ms. Returns those left. */
static unsigned drain(svc *s, int timeout_ms)
{
    struct timespec deadline;
    unsigned left;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0) {
        if (pthread_cond_timedwait(&s->idle, &s->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    left = s->inflight;
    pthread_mutex_unlock(&s->mu);
    return left;
}

int main(int argc, char **argv)
{
    static svc s; /* shared with the daemon's threads for the whole run */
    struct MHD_Daemon *daemon;
    sigset_t stop;
    uint16_t port = 0;
    int sig = 0;
    int rc;
    MHD_socket listen_fd;
    unsigned left;

    rc = parse_args(argc, argv, &s.cfg);
    if (rc != 0) {
        return rc;
    }
    /* Every thread made from here on inherits the mask: only sigwait() sees these. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.idle, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "http_service: curl_global_init failed\n");
        return 1;
    }
    if (make_logger(&s.cfg, &s.log) != SL_OK) {
        curl_global_cleanup();
        return 1;
    }

    if (s.cfg.log_spans) {
        if (svc_span_log_start(s.log) != SL_OK) {
            fprintf(stderr, "http_service: cannot register the span processor\n");
        }
    }
    if (svc_queue_open(&s) != 0) {
        svc_span_log_stop(s.log);
        sl_logger_flush(s.log, FLUSH_TIMEOUT_MS);
        sl_logger_free(s.log);
        curl_global_cleanup();
        return 1;
    }
    daemon = start_daemon(&s, &port);
    if (daemon == NULL) {
        svc_queue_close(&s);
        svc_span_log_stop(s.log);
        sl_fatal(s.log, "cannot listen", SL_STR("address", "127.0.0.1"),
                 SL_UINT("port", s.cfg.port));
        sl_logger_flush(s.log, FLUSH_TIMEOUT_MS);
        sl_logger_free(s.log);
        curl_global_cleanup();
        return 1;
    }
    sl_info(s.log, "listening", SL_STR("address", "127.0.0.1"), SL_UINT("port", port),
            SL_BOOL("loki", s.cfg.loki_url != NULL));
    if (s.cfg.port_file != NULL && !write_port_file(s.cfg.port_file, port)) {
        sl_error(s.log, "cannot write the port file", SL_STR("path", s.cfg.port_file),
                 SL_ERRNO("cause", errno));
    }

    if (sigwait(&stop, &sig) != 0) {
        sig = SIGTERM; /* only a bad set makes it fail: stop rather than hang */
    }
    sl_info(s.log, "stopping",
            SL_STR("reason", atomic_load(&s.max_reached) ? "max-requests"
                             : sig == SIGINT             ? "SIGINT"
                                                         : "SIGTERM"));

    listen_fd = MHD_quiesce_daemon(daemon);
    left = drain(&s, DRAIN_TIMEOUT_MS);
    MHD_stop_daemon(daemon);
    if (listen_fd != MHD_INVALID_SOCKET) {
        close(listen_fd);
    }
    sl_info(s.log, "stopped", SL_UINT("answered", atomic_load(&s.answered)),
            SL_UINT("abandoned", left));

    svc_queue_close(&s);
    svc_span_log_stop(s.log); /* no span can end any more */
    rc = sl_logger_flush(s.log, FLUSH_TIMEOUT_MS) == SL_OK ? 0 : 1;
    sl_logger_free(s.log);
    curl_global_cleanup();
    pthread_cond_destroy(&s.idle);
    pthread_mutex_destroy(&s.mu);
    return rc;
}
