/*
 * sink.c - the syslog sink: creation, and the datagram transports (the
 * local unix socket and UDP). TCP lives in tcp.c.
 *
 * A datagram record is sent with one sendmsg() of two iovecs (the formatted
 * head and a slice of the caller's JSON line): no copy, no lock, no heap.
 * The socket is non-blocking; a full buffer drops the record (after waiting
 * up to timeout_ms when configured). When the daemon restarts, the old peer
 * is gone (ECONNREFUSED/ENOTCONN) and the socket is connected again, at once
 * and then with exponential backoff while the daemon is still away.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "adapters/syslog/syslog_sink.h"

const char *sl__syslog_errtext(int e, char *buf, size_t cap)
{
    /* GNU strerror_r: returns the text, maybe not in buf. */
    return strerror_r(e, buf, cap);
}

static int64_t ms_to_ns(int ms)
{
    return (int64_t)ms * 1000000;
}

/* Connects the datagram socket again if it is time to (or `force`); never
 * waits for another thread doing the same. True when connected. */
static bool dgram_reconnect(sl__syslog *s, bool force)
{
    if (pthread_mutex_trylock(&s->reconnect_lock) != 0) {
        return false;
    }
    int64_t now = sl__monotonic_ns();
    bool ok = __atomic_load_n(&s->connected, __ATOMIC_ACQUIRE) != 0;
    if (!ok && (force || now >= s->next_attempt_ns)) {
        if (connect(s->fd, (const struct sockaddr *)&s->addr, s->addrlen) == 0) {
            ok = true;
            s->backoff_ms = s->reconnect_min_ms;
            __atomic_store_n(&s->connected, 1, __ATOMIC_RELEASE);
        } else {
            int e = errno;
            char eb[128];
            s->next_attempt_ns = now + ms_to_ns(s->backoff_ms);
            s->backoff_ms = s->backoff_ms * 2 > s->reconnect_max_ms ? s->reconnect_max_ms
                                                                    : s->backoff_ms * 2;
            sl_sink_report_error(s->sink, SL_EIO, "syslog: connect %s: %s", s->where,
                                 sl__syslog_errtext(e, eb, sizeof eb));
        }
    }
    pthread_mutex_unlock(&s->reconnect_lock);
    return ok;
}

static bool peer_gone(int e)
{
    return e == ECONNREFUSED || e == ENOTCONN || e == ENOENT || e == ECONNRESET ||
           e == EDESTADDRREQ || e == EPIPE;
}

static void drop(sl__syslog *s, const char *why, int e)
{
    char eb[128];
    sl_sink_count_dropped(s->sink, 1);
    sl_sink_report_error(s->sink, e == EAGAIN ? SL_EAGAIN : SL_EIO,
                         "syslog: record dropped (%s %s: %s)", why, s->where,
                         sl__syslog_errtext(e, eb, sizeof eb));
}

static void dgram_send(sl__syslog *s, const char *head, size_t head_len, const char *msg,
                       size_t msg_len)
{
    if (__atomic_load_n(&s->connected, __ATOMIC_ACQUIRE) == 0 &&
        !dgram_reconnect(s, false)) {
        sl_sink_count_dropped(s->sink, 1);
        return; /* the reconnect attempt has reported why */
    }
    struct iovec iov[2] = {{(void *)head, head_len}, {(void *)msg, msg_len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = msg_len > 0 ? 2 : 1};
    int64_t deadline =
        s->timeout_ms > 0 ? sl__monotonic_ns() + ms_to_ns(s->timeout_ms) : 0;
    bool reconnected = false;
    for (;;) {
        if (sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
            sl_sink_count_written(s->sink, 1);
            return;
        }
        int e = errno;
        if (e == EINTR) {
            continue;
        }
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
            int64_t left = deadline - sl__monotonic_ns();
            if (deadline == 0 || left <= 0) {
                drop(s, "socket full:", EAGAIN);
                return;
            }
            struct pollfd p = {.fd = s->fd, .events = POLLOUT};
            int ms = (int)((left + 999999) / 1000000);
            (void)poll(&p, 1, ms);
            continue;
        }
        if (peer_gone(e) && !reconnected) {
            /* The daemon went away (restart: a new socket at the same path),
             * or for UDP an earlier datagram was refused: try again once. */
            __atomic_store_n(&s->connected, 0, __ATOMIC_RELEASE);
            reconnected = true;
            if (dgram_reconnect(s, true)) {
                continue;
            }
            sl_sink_count_dropped(s->sink, 1);
            return;
        }
        if (peer_gone(e)) {
            __atomic_store_n(&s->connected, 0, __ATOMIC_RELEASE);
        }
        drop(s, "send to", e);
        return;
    }
}

static void syslog_write(sl_sink *sink, const sl_record *rec, const char *line,
                         size_t len)
{
    sl__syslog *s = sl_sink_state(sink);
    char head[SL__SYSLOG_HEAD_MAX];
    sl__syslog_frame fr;
    if (sl__syslog_format(&s->fmt, rec, line, len, head, &fr) != SL_OK) {
        sl_sink_count_dropped(sink, 1);
        sl_sink_report_error(sink, SL_ERANGE,
                             "syslog: header longer than max_message_size (%zu); dropped",
                             s->fmt.max_message);
        return;
    }
    if (s->tcp != NULL) {
        sl__syslog_tcp_write(s, head, fr.head_len, fr.msg, fr.msg_len);
    } else {
        dgram_send(s, head, fr.head_len, fr.msg, fr.msg_len);
    }
}

static sl_status syslog_flush(sl_sink *sink, int timeout_ms)
{
    sl__syslog *s = sl_sink_state(sink);
    return s->tcp ? sl__syslog_tcp_flush(s, timeout_ms) : SL_OK;
}

static sl_status syslog_close(sl_sink *sink, int timeout_ms)
{
    sl__syslog *s = sl_sink_state(sink);
    return s->tcp ? sl__syslog_tcp_close(s, timeout_ms) : SL_OK;
}

static void syslog_destroy(sl_sink *sink)
{
    sl__syslog *s = sl_sink_state(sink);
    if (s == NULL) {
        return;
    }
    sl__syslog_tcp_free(s);
    sl__syslog_tls_free(s);
    if (s->fd >= 0) {
        close(s->fd);
    }
    pthread_mutex_destroy(&s->reconnect_lock);
    sl__free(s);
}

static void syslog_atfork_child(sl_sink *sink)
{
    sl__syslog *s = sl_sink_state(sink);
    if (s->tcp) {
        sl__syslog_tcp_atfork_child(s);
    }
}

static const sl_sink_vtable syslog_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "syslog",
    .write = syslog_write,
    .flush = syslog_flush,
    .close = syslog_close,
    .destroy = syslog_destroy,
    .atfork_child = syslog_atfork_child,
};

static sl_status resolve(sl__syslog *s, const sl_syslog_options *o)
{
    if (s->transport == SL_SYSLOG_UNIX) {
        const char *path = o->path ? o->path : "/dev/log";
        struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
        if (path[0] == '\0' || strlen(path) >= sizeof un->sun_path) {
            return SL_EINVAL;
        }
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, path);
        s->addrlen = (socklen_t)sizeof *un;
        snprintf(s->where, sizeof s->where, "unix:%s", path);
        return SL_OK;
    }
    const char *host = o->host ? o->host : "127.0.0.1";
    char port[8];
    unsigned dport = s->transport == SL_SYSLOG_TLS ? 6514 : 514;
    snprintf(port, sizeof port, "%u", (unsigned)(o->port ? o->port : dport));
    struct addrinfo hints = {
        .ai_socktype = s->transport == SL_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
    };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        /* AI_ADDRCONFIG refuses ::1 on a host with IPv6 only on loopback (or
         * none configured): try once more without it. */
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(host, port, &hints, &res);
    }
    if (rc != 0 || res == NULL) {
        return SL_ENOENT;
    }
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    s->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    bool v6 = strchr(host, ':') != NULL;
    snprintf(s->where, sizeof s->where, "%s://%s%s%s:%s",
             s->transport == SL_SYSLOG_UDP   ? "udp"
             : s->transport == SL_SYSLOG_TLS ? "tls"
                                             : "tcp",
             v6 ? "[" : "", host, v6 ? "]" : "", port);
    return SL_OK;
}

sl_status sl_syslog_sink_new(const sl_syslog_options *opts, sl_sink **out, sl_error *err)
{
    if (out == NULL) {
        return sl__error_set(err, SL_EINVAL, "out", NULL, -1, "syslog sink: out is NULL");
    }
    *out = NULL;
    sl_syslog_options defaults;
    if (opts == NULL) {
        sl_syslog_options_init(&defaults);
        opts = &defaults;
    }
    bool stream = opts->transport == SL_SYSLOG_TCP || opts->transport == SL_SYSLOG_TLS;
    sl_status st = sl__syslog_options_check(opts, err);
    if (st != SL_OK) {
        return st;
    }
    sl__syslog *s = sl__calloc(1, sizeof *s);
    if (s == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1,
                             "syslog sink: out of memory");
    }
    s->fd = -1;
    s->transport = opts->transport;
    s->framing = opts->framing;
    s->timeout_ms = opts->timeout_ms;
    s->connect_timeout_ms = opts->connect_timeout_ms;
    s->reconnect_min_ms = opts->reconnect_min_ms;
    s->reconnect_max_ms = opts->reconnect_max_ms;
    s->backoff_ms = opts->reconnect_min_ms;
    s->queue_bytes = opts->queue_bytes;
    pthread_mutex_init(&s->reconnect_lock, NULL);
    st = sl__syslog_fmt_init(&s->fmt, opts, opts->transport);
    if (st != SL_OK) {
        sl__error_set(err, st, NULL, NULL, -1, "syslog sink: invalid options");
    } else if ((st = resolve(s, opts)) != SL_OK) {
        bool un = opts->transport == SL_SYSLOG_UNIX;
        const char *what = un                   ? opts->path
                           : opts->host != NULL ? opts->host
                                                : "127.0.0.1";
        sl__error_set(err, st, un ? "path" : "host", what, -1,
                      un ? "syslog sink: socket path too long: %s"
                         : "syslog sink: cannot resolve host %s",
                      what);
    }
    if (st == SL_OK && !stream) {
        s->fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0) {
            char buf[128];
            st = sl__error_set(err, SL_EIO, NULL, NULL, -1, "syslog sink: socket: %s",
                               sl__syslog_errtext(errno, buf, sizeof buf));
        }
    }
    sl_sink *sink = NULL;
    if (st == SL_OK && (st = sl_sink_new(&syslog_vtable, s, &sink)) != SL_OK) {
        sl__error_set(err, st, NULL, NULL, -1, "syslog sink: %s", sl_strerror(st));
    }
    if (st != SL_OK) {
        if (s->fd >= 0) {
            close(s->fd);
        }
        pthread_mutex_destroy(&s->reconnect_lock);
        sl__free(s);
        return st;
    }
    s->sink = sink;
    if (stream) {
        char tls_err[256] = "";
        st = s->transport == SL_SYSLOG_TLS
                 ? sl__syslog_tls_new(s, opts, tls_err, sizeof tls_err)
                 : SL_OK;
        if (st != SL_OK) {
            sl__error_set(err, st, "tls", NULL, -1, "syslog %s: %s", s->where,
                          tls_err[0] != '\0' ? tls_err : sl_strerror(st));
        } else if ((st = sl__syslog_tcp_new(s)) != SL_OK) {
            sl__error_set(err, st, NULL, NULL, -1, "syslog %s: cannot start: %s",
                          s->where, sl_strerror(st));
        }
        if (st != SL_OK) {
            sl_sink_free(sink, 0); /* destroys s too */
            return st;
        }
    } else {
        /* The daemon may not be there yet: that is not an error here. */
        (void)dgram_reconnect(s, true);
    }
    *out = sink;
    return SL_OK;
}
