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

/* The first version of the options struct (src/internal.h, "ABI: sized
 * structs"). */
#define SL__SYSLOG_OPTIONS_V1 SL__V1_SIZE(sl_syslog_options, tls_key_file)

const char *sl__syslog_errtext(int e, char *buf, size_t cap)
{
    /* GNU strerror_r: returns the text, maybe not in buf. */
    return strerror_r(e, buf, cap);
}

/* How long one wait for the socket may last: the longest close's deadline
 * can be overrun while the daemon does not read. */
#define POLL_SLICE_MS 20

/* Connects the datagram socket again if it is time to (or `force`). Worker
 * only (and the constructor, before the worker sends). True when connected. */
static bool dgram_reconnect(sl__syslog *s, bool force)
{
    if (s->connected) {
        return true;
    }
    int64_t now = sl__monotonic_ns();
    if (!force && now < s->next_attempt_ns) {
        return false;
    }
    if (connect(s->fd, (const struct sockaddr *)&s->addr, s->addrlen) == 0) {
        s->connected = true;
        s->reconnects = 0;
        return true;
    }
    int e = errno;
    char eb[128];
    /* The one backoff (without jitter: one socket, one daemon). */
    s->next_attempt_ns =
        now + sl__deliver_backoff_ms(s->reconnects++, s->reconnect_min_ms,
                                     s->reconnect_max_ms, SL__JITTER_NONE, 0) *
                  1000000;
    sl_sink_report_error(s->sink, SL_EIO, "syslog: connect %s: %s", s->where,
                         sl__syslog_errtext(e, eb, sizeof eb));
    return false;
}

static bool peer_gone(int e)
{
    return e == ECONNREFUSED || e == ENOTCONN || e == ENOENT || e == ECONNRESET ||
           e == EDESTADDRREQ || e == EPIPE;
}

static void reject(sl__deliver_verdict *v, const sl__syslog *s, const char *why, int e)
{
    char eb[128];
    v->kind = SL__DELIVER_REJECTED;
    v->code = SL_EIO;
    snprintf(v->text, sizeof v->text, "%s %s: %s", why, s->where,
             sl__syslog_errtext(e, eb, sizeof eb));
}

/*
 * The datagram transport, on the runtime's worker: one sendmsg() of two
 * iovecs (head, MSG) per record. A full socket (the daemon is slower than
 * the burst; a unix socket queues only net.unix.max_dgram_qlen datagrams)
 * is waited for here, so the caller never waits and a burst that fits the
 * queue loses nothing. Batches hold one record: each gets its own verdict.
 */
static void dgram_send(void *user, void *conn, const sl__deliver_batch *b,
                       sl__deliver_verdict *v)
{
    (void)conn;
    sl__syslog *s = user;
    const sl__deliver_entry *e = &b->entries[0];
    sl__syslog_entry h;
    memcpy(&h, e->data, sizeof h);
    const char *head = sl__syslog_entry_head(e);
    if (!s->connected && !dgram_reconnect(s, false)) {
        reject(v, s, "no daemon at", ENOTCONN);
        return;
    }
    struct iovec iov[2] = {{(void *)head, h.head_len},
                           {(void *)(head + h.head_len), h.msg_len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = h.msg_len > 0 ? 2 : 1};
    bool reconnected = false;
    for (;;) {
        if (sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
            return; /* SENT */
        }
        int err = errno;
        if (err == EINTR) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            if (sl__deliver_cancelled(s->d)) {
                v->kind = SL__DELIVER_CANCELLED;
                return;
            }
            struct pollfd p = {.fd = s->fd, .events = POLLOUT};
            (void)poll(&p, 1, POLL_SLICE_MS);
            continue;
        }
        if (peer_gone(err) && !reconnected) {
            /* The daemon went away (restart: a new socket at the same path),
             * or for UDP an earlier datagram was refused: try again once. */
            s->connected = false;
            reconnected = true;
            if (dgram_reconnect(s, true)) {
                continue;
            }
        }
        if (peer_gone(err)) {
            s->connected = false;
        }
        reject(v, s, "send to", err);
        return;
    }
}

static const sl__deliver_ops dgram_ops = {
    .send = dgram_send,
};

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
    sl__syslog_entry h = {(uint32_t)fr.head_len, (uint32_t)fr.msg_len};
    sl__deliver_part parts[3] = {
        {&h, sizeof h}, {head, fr.head_len}, {fr.msg, fr.msg_len}};
    /* A drop (queue full, closed) is counted by the runtime. */
    (void)sl__deliver_push(s->d, parts, 3, (uint32_t)(fr.head_len + fr.msg_len));
}

static sl_status syslog_flush(sl_sink *sink, int timeout_ms)
{
    sl__syslog *s = sl_sink_state(sink);
    return sl__deliver_flush(s->d, timeout_ms);
}

static sl_status syslog_close(sl_sink *sink, int timeout_ms)
{
    sl__syslog *s = sl_sink_state(sink);
    return sl__deliver_close(s->d, timeout_ms);
}

static void syslog_destroy(sl_sink *sink)
{
    sl__syslog *s = sl_sink_state(sink);
    if (s == NULL) {
        return;
    }
    sl__deliver_free(s->d); /* joins the worker first */
    sl__syslog_tcp_free(s);
    sl__syslog_tls_free(s);
    if (s->fd >= 0) {
        close(s->fd);
    }
    sl__free(s);
}

/*
 * The longest JSON line (with its '\n') that fits max_message next to the
 * longest head this sink makes without fields as structured data: a record
 * at the most verbose level, the longest app name, a span context (its SD
 * element), room for a host name that changes, and with fields_sd the
 * most the formatter gives the fields' SD element (half of max_message).
 * 0: no limit (TCP, or MSG is the text). The logger never cuts below its
 * 1024-byte minimum, so only a head above max_message - 1024 (huge bound
 * fields as SD on UDP) can still see MSG cut.
 */
static size_t line_limit(const sl__syslog *s)
{
    if (s->fmt.max_message == 0 || s->fmt.msg != SL_SYSLOG_MSG_JSON) {
        return 0;
    }
    char svc[SL__SYSLOG_APPNAME_MAX + 1];
    memset(svc, 's', SL__SYSLOG_APPNAME_MAX);
    svc[SL__SYSLOG_APPNAME_MAX] = '\0';
    sl_span_context ctx;
    memset(&ctx, 0, sizeof ctx);
    memset(ctx.trace_id.bytes, 0xab, sizeof ctx.trace_id.bytes);
    memset(ctx.span_id.bytes, 0xcd, sizeof ctx.span_id.bytes);
    ctx.flags = 1;
    sl_record rec = {.level = SL_LEVEL_FATAL,
                     .time_ns = sl__now_ns(),
                     .msg = "m",
                     .msg_len = 1,
                     .service = svc,
                     .ctx = &ctx};
    char head[SL__SYSLOG_HEAD_MAX];
    sl__syslog_frame fr;
    if (sl__syslog_format(&s->fmt, &rec, "{}\n", 3, head, &fr) != SL_OK) {
        return 0;
    }
    size_t reserve = fr.head_len + (s->fmt.hostname_auto ? SL__SYSLOG_HOSTNAME_MAX : 0) +
                     (s->fmt.fields_sd ? s->fmt.max_message / 2 : 0);
    return s->fmt.max_message > reserve ? s->fmt.max_message - reserve + 1 : 0;
}

static const sl_sink_vtable syslog_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "syslog",
    .write = syslog_write,
    .flush = syslog_flush,
    .close = syslog_close,
    .destroy = syslog_destroy,
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
    sl_syslog_options_init(&defaults);
    if (opts != NULL &&
        !sl__abi_options(&defaults, sizeof(defaults), opts, SL__SYSLOG_OPTIONS_V1)) {
        return sl__error_set(err, SL_EINVAL, "opts", NULL, -1,
                             "syslog: options not prepared by sl_syslog_options_init");
    }
    opts = &defaults;
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
    s->queue_bytes = opts->queue_bytes;
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
        sl__free(s);
        return st;
    }
    s->sink = sink;
    sl__deliver_options dopt;
    sl__deliver_options_init(&dopt);
    dopt.name = "syslog";
    dopt.queue_bytes = s->queue_bytes;
    /* timeout_ms: how long a log call may wait for room in the queue. */
    dopt.overflow = s->timeout_ms > 0 ? SL__OVERFLOW_BLOCK : SL__OVERFLOW_DROP_NEWEST;
    dopt.block_timeout_ms = s->timeout_ms;
    dopt.batch_age_ms = 0; /* records go out as they come */
    dopt.backoff_min_ms = s->reconnect_min_ms;
    dopt.backoff_max_ms = s->reconnect_max_ms;
    dopt.max_batch_age_ms = 0; /* kept until sent: the queue's bound drops */
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
        /* The batch joins the queue's bytes in memory: keep it small. */
        dopt.batch_bytes =
            s->queue_bytes / 4 < (64u << 10) ? s->queue_bytes / 4 : 64u << 10;
        if (st == SL_OK) {
            st = sl__deliver_new(&dopt, &sl__syslog_tcp_ops, s, sink, &s->d);
        }
    } else {
        /* The daemon may not be there yet: that is not an error here. */
        (void)dgram_reconnect(s, true);
        dopt.batch_max_entries = 1;
        st = sl__deliver_new(&dopt, &dgram_ops, s, sink, &s->d);
    }
    if (st != SL_OK) {
        sl_sink_free(sink, 0); /* destroys s too */
        return st;
    }
    /* The logger cuts the JSON line so that head + line fit max_message:
     * MSG is never cut inside the JSON (see head_reserve). */
    sl_sink_set_max_line_bytes(sink, line_limit(s));
    *out = sink;
    return SL_OK;
}
