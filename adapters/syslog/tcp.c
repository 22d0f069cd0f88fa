/*
 * tcp.c - syslog over TCP (and TLS): RFC 6587 framing and the connection,
 * as the delivery runtime's transport. Queue, worker, backoff between
 * reconnects, flush and close are the runtime's (src/deliver/).
 *
 * For each batch the worker frames the records into one buffer, writes it
 * to the socket and waits until the receiver's TCP has acknowledged it:
 *
 *   batch ─▶ frames |== f1 ==|== f2 ==|== f3 ==|  ─▶ send ─▶ acked ≥ end? ─▶ SENT
 *                                                     │ connection broke
 *                                                     ▼
 *                          RETRY, settled = frames wholly acknowledged
 *
 * A record counts as written only once the receiver's TCP has acknowledged
 * all of its bytes (TCP_INFO tcpi_bytes_acked); after a broken connection
 * the runtime retries the rest of the batch on a new connection (at least
 * once: a possible duplicate, never a silent loss). What a daemon
 * acknowledged but had not yet read when it died is beyond any sender's
 * knowledge (RFC 6587 has no application-level acknowledgement).
 *
 * Every wait here is a poll() of at most POLL_SLICE_MS, after which close's
 * deadline is looked at (sl__deliver_cancelled): close is never held by a
 * daemon that stopped reading.
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adapters/syslog/syslog_sink.h"

#define POLL_SLICE_MS 20

/* The worker's connection (the worker's only; the fork child resets it). */
struct sl__syslog_tcp {
    int fd;
    uint64_t conn_sent; /* plaintext bytes handed to this connection */
    char *buf;          /* the batch's frames */
    size_t cap, len;
    size_t *ends; /* frame i ends at buf offset ends[i] */
    size_t ends_cap;
};

sl_status sl__syslog_tcp_new(sl__syslog *s)
{
    sl__syslog_tcp *t = sl__calloc(1, sizeof *t);
    if (t == NULL) {
        return SL_ENOMEM;
    }
    t->fd = -1;
    s->tcp = t;
    return SL_OK;
}

/* Closes the open socket and its TLS session, if any. */
static void close_socket(sl__syslog *s, sl__syslog_tcp *t)
{
    if (t->fd < 0) {
        return;
    }
    if (s->tls != NULL) {
        sl__syslog_tls_close(s);
    }
    close(t->fd);
    t->fd = -1;
    t->conn_sent = 0;
}

void sl__syslog_tcp_free(sl__syslog *s)
{
    sl__syslog_tcp *t = s->tcp;
    if (t == NULL) {
        return;
    }
    close_socket(s, t);
    sl__free(t->buf);
    sl__free(t->ends);
    sl__free(t);
    s->tcp = NULL;
}

/* ---- framing ------------------------------------------------------------ */

static bool reserve(sl__syslog_tcp *t, size_t more)
{
    if (t->len + more <= t->cap) {
        return true;
    }
    size_t nc = t->cap ? t->cap : 64u << 10;
    while (nc < t->len + more) {
        nc *= 2;
    }
    char *nb = sl__realloc(t->buf, nc);
    if (nb == NULL) {
        return false;
    }
    t->buf = nb;
    t->cap = nc;
    return true;
}

static size_t count_lf(const char *s, size_t n)
{
    size_t k = 0;
    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))) != NULL; p++) {
        k++;
    }
    return k;
}

/* Appends s, each LF as "#012" (LF framing); room was reserved. */
static void put_lf_escaped(sl__syslog_tcp *t, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        const char *lf = memchr(s, '\n', (size_t)(end - s));
        size_t seg = (size_t)((lf ? lf : end) - s);
        memcpy(t->buf + t->len, s, seg);
        t->len += seg;
        s += seg;
        if (lf != NULL) {
            memcpy(t->buf + t->len, "#012", 4);
            t->len += 4;
            s++;
        }
    }
}

/* The batch as RFC 6587 frames in t->buf; false when out of memory. */
static bool frame_batch(sl__syslog *s, sl__syslog_tcp *t, const sl__deliver_batch *b)
{
    t->len = 0;
    if (b->n > t->ends_cap) {
        size_t *ne = sl__realloc(t->ends, b->n * sizeof *ne);
        if (ne == NULL) {
            return false;
        }
        t->ends = ne;
        t->ends_cap = b->n;
    }
    bool lf = s->framing == SL_SYSLOG_FRAMING_LF;
    for (size_t i = 0; i < b->n; i++) {
        sl__syslog_entry h;
        memcpy(&h, b->entries[i].data, sizeof h);
        const char *head = sl__syslog_entry_head(&b->entries[i]);
        const char *msg = head + h.head_len;
        if (lf) {
            size_t nlf = count_lf(head, h.head_len) + count_lf(msg, h.msg_len);
            if (!reserve(t, h.head_len + h.msg_len + 3 * nlf + 1)) {
                return false;
            }
            put_lf_escaped(t, head, h.head_len);
            put_lf_escaped(t, msg, h.msg_len);
            t->buf[t->len++] = '\n';
        } else {
            char prefix[24];
            size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%zu ",
                                           (size_t)h.head_len + h.msg_len);
            if (!reserve(t, plen + h.head_len + h.msg_len)) {
                return false;
            }
            memcpy(t->buf + t->len, prefix, plen);
            memcpy(t->buf + t->len + plen, head, h.head_len);
            memcpy(t->buf + t->len + plen + h.head_len, msg, h.msg_len);
            t->len += plen + h.head_len + h.msg_len;
        }
        t->ends[i] = t->len;
    }
    return true;
}

/* ---- the connection --------------------------------------------------------- */

/* Non-blocking connect bounded by timeout_ms and close's deadline. Returns
 * the fd or -1 (errno). */
static int tcp_connect(sl__syslog *s, int timeout_ms)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        int64_t deadline = sl__monotonic_ns() + (int64_t)timeout_ms * 1000000;
        int rc = 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        while (rc == 0 && sl__monotonic_ns() < deadline && !sl__deliver_cancelled(s->d)) {
            int slice = sl__ms_left(deadline);
            rc = poll(&p, 1, slice < POLL_SLICE_MS ? slice + 1 : POLL_SLICE_MS);
            if (rc < 0 && errno == EINTR) {
                rc = 0;
            }
        }
        int err = 0;
        socklen_t elen = sizeof err;
        if (rc == 0) {
            err = ETIMEDOUT;
        } else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) {
            err = errno;
        }
        if (err != 0) {
            close(fd);
            errno = err;
            return -1;
        }
    }
    return fd;
}

/* A syslog receiver never sends: anything readable means it closed or failed. */
static bool peer_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) {
        return false;
    }
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
        return true;
    }
    char junk[256];
    ssize_t n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Bytes the receiver's TCP acknowledged on this connection, or -1 when the
 * kernel does not say (then bytes handed over count as acknowledged). */
static int64_t bytes_acked(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked) {
        return -1;
    }
    return (int64_t)ti.tcpi_bytes_acked;
}

/* Plaintext bytes of this connection the receiver acknowledged. */
static uint64_t plaintext_acked(sl__syslog *s, sl__syslog_tcp *t)
{
    int64_t acked = bytes_acked(t->fd);
    if (s->tls != NULL) {
        /* TCP bytes to plaintext bytes, through the TLS records. */
        return sl__syslog_tls_acked(s, acked < 0 ? UINT64_MAX : (uint64_t)acked);
    }
    return acked < 0 ? t->conn_sent : (uint64_t)acked;
}

/* Frames of the batch (which starts at connection byte `base`) wholly
 * acknowledged when `acked` bytes are. */
static size_t frames_acked(const sl__syslog_tcp *t, size_t n, uint64_t base,
                           uint64_t acked)
{
    size_t k = 0;
    while (k < n && base + t->ends[k] <= acked) {
        k++;
    }
    return k;
}

static bool connect_now(sl__syslog *s, sl__syslog_tcp *t, sl__deliver_verdict *v)
{
    char eb[128];
    int64_t started = sl__monotonic_ns();
    int fd = tcp_connect(s, s->connect_timeout_ms);
    int e = errno;
    if (fd < 0) {
        v->kind = SL__DELIVER_RETRY;
        snprintf(v->text, sizeof v->text, "connect %s: %s", s->where,
                 sl__syslog_errtext(e, eb, sizeof eb));
        return false;
    }
    if (s->tls != NULL) {
        char tls_err[256] = "";
        int left =
            s->connect_timeout_ms - (int)((sl__monotonic_ns() - started) / 1000000);
        int64_t close_dl = sl__deliver_deadline_ns(s->d);
        if (close_dl != INT64_MAX && sl__ms_left(close_dl) < left) {
            left = sl__ms_left(close_dl); /* closing: no longer than its deadline */
        }
        if (sl__syslog_tls_handshake(s, fd, left > 0 ? left : 1, tls_err,
                                     sizeof tls_err) != 0) {
            sl__syslog_tls_close(s);
            close(fd);
            v->kind = SL__DELIVER_RETRY;
            v->code = SL_EPROTO;
            snprintf(v->text, sizeof v->text, "TLS with %s: %.200s", s->where, tls_err);
            return false;
        }
    }
    t->fd = fd;
    t->conn_sent = 0;
    return true;
}

/* The connection broke: what was acknowledged is settled, the rest retried. */
static void broken(sl__syslog *s, sl__syslog_tcp *t, size_t n, uint64_t base, int e,
                   sl__deliver_verdict *v)
{
    char eb[128];
    uint64_t acked = plaintext_acked(s, t);
    v->kind = SL__DELIVER_RETRY;
    v->settled = frames_acked(t, n, base, acked);
    snprintf(v->text, sizeof v->text, "send to %s: %s; reconnecting", s->where,
             sl__syslog_errtext(e, eb, sizeof eb));
    close_socket(s, t);
}

static void tcp_send(void *user, void *conn, const sl__deliver_batch *b,
                     sl__deliver_verdict *v)
{
    (void)conn;
    sl__syslog *s = user;
    sl__syslog_tcp *t = s->tcp;
    if (!frame_batch(s, t, b)) {
        v->kind = SL__DELIVER_RETRY;
        snprintf(v->text, sizeof v->text, "out of memory framing %zu records", b->n);
        return;
    }
    if (t->fd < 0 && !connect_now(s, t, v)) {
        return;
    }
    uint64_t base = t->conn_sent;
    size_t off = 0;
    for (;;) {
        bool tls_pending = s->tls != NULL && sl__syslog_tls_pending(s);
        if (off == t->len && !tls_pending) {
            break;
        }
        if (sl__deliver_cancelled(s->d)) {
            v->kind = SL__DELIVER_RETRY; /* the runtime settles the rest as closed */
            v->settled = frames_acked(t, b->n, base, plaintext_acked(s, t));
            return;
        }
        if (peer_closed(t->fd)) {
            broken(s, t, b->n, base, ECONNRESET, v);
            return;
        }
        ssize_t n;
        if (s->tls != NULL) {
            n = sl__syslog_tls_send(s, t->fd, t->buf + off, t->len - off);
        } else {
            n = send(t->fd, t->buf + off, t->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (n < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
                /* Slow receiver: wait a slice, then look at close's deadline. */
                struct pollfd p = {.fd = t->fd, .events = POLLOUT};
                (void)poll(&p, 1, POLL_SLICE_MS);
                continue;
            }
            broken(s, t, b->n, base, e, v);
            return;
        }
        off += (size_t)n;
        t->conn_sent += (uint64_t)n;
    }
    /* Everything handed over: wait for the receiver's acknowledgement. */
    int wait_ms = 0;
    for (;;) {
        if (plaintext_acked(s, t) >= t->conn_sent) {
            return; /* SENT */
        }
        if (sl__deliver_cancelled(s->d)) {
            v->kind = SL__DELIVER_RETRY;
            v->settled = frames_acked(t, b->n, base, plaintext_acked(s, t));
            return;
        }
        struct pollfd p = {.fd = t->fd, .events = POLLIN | POLLRDHUP};
        if (poll(&p, 1, wait_ms) > 0 && peer_closed(t->fd)) {
            broken(s, t, b->n, base, ECONNRESET, v);
            return;
        }
        wait_ms = wait_ms < POLL_SLICE_MS ? wait_ms + 1 : POLL_SLICE_MS;
    }
}

/*
 * fork(): the child shares the parent's connection; it lets go of it without
 * a TLS shutdown (sl__syslog_tls_close frees the session only) and its worker
 * connects again with its first record.
 */
static void tcp_fork_child(void *user)
{
    sl__syslog *s = user;
    sl__syslog_tcp *t = s->tcp;
    close_socket(s, t);
    t->len = 0;
}

static void tcp_close(void *user, void *conn)
{
    (void)conn;
    sl__syslog *s = user;
    close_socket(s, s->tcp);
}

const sl__deliver_ops sl__syslog_tcp_ops = {
    .send = tcp_send,
    .close = tcp_close,
    .fork_child = tcp_fork_child,
};
