/*
 * tcp.c - syslog over TCP: RFC 6587 framing, a bounded queue, a worker.
 *
 * The caller frames the record straight into a byte ring and returns; the
 * worker owns the socket and sends from the ring without holding the lock:
 *
 *        head              sent                 tail
 *   ring  |== frame ==|== fra|me ==|== frame ==|..........free..........|
 *         |<- in flight ->|<-- not sent yet -->|
 *
 * A record counts as written only once the receiver's TCP has acknowledged
 * all of its bytes (TCP_INFO tcpi_bytes_acked); until then it stays in the
 * ring. When the connection breaks (the daemon stopped or restarted), the
 * worker reconnects with backoff and sends again from the first frame that
 * was not wholly acknowledged: a record is never lost silently on the way
 * out, at the price of a possible duplicate. What a daemon acknowledged but
 * had not yet read when it died is beyond any sender's knowledge (RFC 6587
 * has no application-level acknowledgement).
 *
 * A parallel ring of frame lengths keeps the record boundaries. The lock is
 * held only to move positions, never during I/O, so a caller waits at most
 * timeout_ms (default 0: never) for room.
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/syslog/syslog_sink.h"

struct sl__syslog_tcp {
    pthread_mutex_t mu;
    pthread_cond_t work;  /* worker: something queued, or stop */
    pthread_cond_t space; /* callers: room was freed, or stop */
    pthread_cond_t idle;  /* flush: the queue became empty */
    pthread_t thread;
    bool started; /* a worker thread was created in this process (join it) */
    bool stop;
    int64_t stop_deadline; /* monotonic ns */
    char *buf;
    size_t cap;
    uint64_t head, tail; /* absolute byte positions in buf */
    uint32_t *lens;
    size_t lcap;
    uint64_t lhead, ltail; /* absolute positions in lens */
    uint64_t sent;         /* bytes handed to the current connection, up to here */
    uint64_t conn_base;    /* ring position of the connection's first byte */
    int64_t next_attempt_ns;
    int backoff_ms;
    int fd; /* the worker's (and the forked child's, before a worker exists) */
};

static int64_t now_ns(void)
{
    return sl__monotonic_ns();
}

/* Waits on cv until signalled or the monotonic deadline; INT64_MAX: no bound. */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    if (deadline == INT64_MAX) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
    pthread_cond_timedwait(cv, mu, &ts);
}

static void ring_put(sl__syslog_tcp *t, uint64_t pos, const char *src, size_t n)
{
    size_t idx = (size_t)(pos % t->cap);
    size_t first = n < t->cap - idx ? n : t->cap - idx;
    memcpy(t->buf + idx, src, first);
    memcpy(t->buf, src + first, n - first);
}

static size_t count_lf(const char *s, size_t n)
{
    size_t k = 0;
    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))) != NULL; p++) {
        k++;
    }
    return k;
}

/* Copies s into the ring at pos, each LF as "#012" (LF framing); returns the new pos. */
static uint64_t ring_put_lf(sl__syslog_tcp *t, uint64_t pos, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        const char *lf = memchr(s, '\n', (size_t)(end - s));
        size_t seg = (size_t)((lf ? lf : end) - s);
        ring_put(t, pos, s, seg);
        pos += seg;
        s += seg;
        if (lf != NULL) {
            ring_put(t, pos, "#012", 4);
            pos += 4;
            s++;
        }
    }
    return pos;
}

static void tcp_drop(sl__syslog *s, const char *why)
{
    sl_sink_count_dropped(s->sink, 1);
    sl_sink_report_error(s->sink, SL_EAGAIN, "syslog: record dropped (%s, %s)", why,
                         s->where);
}

static void *worker(void *arg);

/* Under mu. */
static bool start_worker(sl__syslog *s)
{
    sl__syslog_tcp *t = s->tcp;
    if (pthread_create(&t->thread, NULL, worker, s) != 0) {
        return false;
    }
    t->started = true;
    return true;
}

void sl__syslog_tcp_write(sl__syslog *s, const char *head, size_t head_len,
                          const char *msg, size_t msg_len)
{
    sl__syslog_tcp *t = s->tcp;
    bool lf = s->framing == SL_SYSLOG_FRAMING_LF;
    size_t nlf = lf ? count_lf(head, head_len) + count_lf(msg, msg_len) : 0;
    size_t body = head_len + msg_len + 3 * nlf;
    char prefix[24];
    size_t plen = 0;
    if (!lf) {
        plen = (size_t)snprintf(prefix, sizeof prefix, "%zu ", body);
    }
    size_t total = plen + body + (lf ? 1 : 0);
    if (total > t->cap || total > UINT32_MAX) {
        tcp_drop(s, "record larger than the queue");
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (!t->started && !t->stop && !start_worker(s)) {
        pthread_mutex_unlock(&t->mu);
        tcp_drop(s, "worker thread could not start");
        return;
    }
    int64_t deadline = 0;
    while (!t->stop && (t->cap - (size_t)(t->tail - t->head) < total ||
                        t->ltail - t->lhead >= t->lcap)) {
        if (s->timeout_ms <= 0) {
            break;
        }
        if (deadline == 0) {
            deadline = now_ns() + (int64_t)s->timeout_ms * 1000000;
        } else if (now_ns() >= deadline) {
            break;
        }
        wait_until(&t->space, &t->mu, deadline);
    }
    if (t->stop || t->cap - (size_t)(t->tail - t->head) < total ||
        t->ltail - t->lhead >= t->lcap) {
        bool closed = t->stop;
        pthread_mutex_unlock(&t->mu);
        tcp_drop(s, closed ? "sink closed" : "queue full");
        return;
    }
    uint64_t pos = t->tail;
    if (lf) {
        pos = ring_put_lf(t, pos, head, head_len);
        pos = ring_put_lf(t, pos, msg, msg_len);
        ring_put(t, pos, "\n", 1);
    } else {
        ring_put(t, pos, prefix, plen);
        ring_put(t, pos + plen, head, head_len);
        ring_put(t, pos + plen + head_len, msg, msg_len);
    }
    t->tail += total;
    t->lens[t->ltail % t->lcap] = (uint32_t)total;
    t->ltail++;
    pthread_cond_signal(&t->work);
    pthread_mutex_unlock(&t->mu);
}

/* ---- the worker --------------------------------------------------------- */

/* Non-blocking connect bounded by timeout_ms. Returns the fd or -1 (errno). */
static int tcp_connect(const sl__syslog *s, int timeout_ms)
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
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int rc;
        do {
            rc = poll(&p, 1, timeout_ms);
        } while (rc < 0 && errno == EINTR);
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

/* Under mu: frames wholly below ring position `upto` are delivered. */
static uint64_t pop_acked(sl__syslog_tcp *t, uint64_t upto)
{
    uint64_t done = 0;
    while (t->lhead != t->ltail && t->head + t->lens[t->lhead % t->lcap] <= upto) {
        t->head += t->lens[t->lhead % t->lcap];
        t->lhead++;
        done++;
    }
    return done;
}

/* Closes the open socket t->fd and its TLS session, if any. */
static void close_socket(sl__syslog *s, sl__syslog_tcp *t)
{
    if (s->tls != NULL) {
        sl__syslog_tls_close(s);
    }
    close(t->fd);
    t->fd = -1;
}

/* Under mu: the connection is gone; the next one starts at the first frame
 * not wholly acknowledged. */
static void drop_connection(sl__syslog *s, sl__syslog_tcp *t)
{
    close_socket(s, t);
    t->sent = t->head;
    t->next_attempt_ns = 0; /* the first attempt at once, then backoff */
}

static void *worker(void *arg)
{
    sl__syslog *s = arg;
    sl__syslog_tcp *t = s->tcp;
    char eb[128];
    pthread_mutex_lock(&t->mu);
    for (;;) {
        bool empty = t->lhead == t->ltail;
        int64_t now = now_ns();
        if (t->stop && (empty || now >= t->stop_deadline)) {
            break;
        }
        if (t->fd >= 0 && t->sent > t->head) {
            /* Records in flight: count those the receiver acknowledged. */
            int fd = t->fd;
            pthread_mutex_unlock(&t->mu);
            int64_t acked = bytes_acked(fd);
            uint64_t upto = 0;
            if (s->tls != NULL) {
                /* TCP bytes to plaintext bytes, through the TLS records. */
                upto = t->conn_base +
                       sl__syslog_tls_acked(s, acked < 0 ? UINT64_MAX : (uint64_t)acked);
            }
            pthread_mutex_lock(&t->mu);
            if (s->tls == NULL) {
                upto = acked < 0 ? t->sent : t->conn_base + (uint64_t)acked;
            }
            uint64_t done = pop_acked(t, upto);
            if (done > 0) {
                sl_sink_count_written(s->sink, done);
                pthread_cond_broadcast(&t->space);
                if (t->lhead == t->ltail) {
                    pthread_cond_broadcast(&t->idle);
                }
                continue;
            }
        }
        bool tls_pending = s->tls != NULL && t->fd >= 0 && sl__syslog_tls_pending(s);
        if (t->fd >= 0 && t->sent == t->tail && !tls_pending) {
            /* Nothing new to send: notice a peer that went away, and wait
             * for records, or briefly for acknowledgements. */
            int fd = t->fd;
            pthread_mutex_unlock(&t->mu);
            bool closed = peer_closed(fd);
            pthread_mutex_lock(&t->mu);
            if (closed) {
                sl_sink_report_error(s->sink, SL_EIO, "syslog: %s closed the connection",
                                     s->where);
                drop_connection(s, t);
                continue;
            }
            int64_t wait = t->sent > t->head ? 2000000 : 200000000;
            wait_until(&t->work, &t->mu,
                       t->stop && t->stop_deadline < now + wait ? t->stop_deadline
                                                                : now + wait);
            continue;
        }
        if (empty) {
            wait_until(&t->work, &t->mu, t->stop ? t->stop_deadline : now + 200000000);
            continue;
        }
        if (t->fd < 0) {
            if (now < t->next_attempt_ns) {
                int64_t until = t->next_attempt_ns;
                if (t->stop && t->stop_deadline < until) {
                    until = t->stop_deadline;
                }
                wait_until(&t->work, &t->mu, until);
                continue;
            }
            int64_t budget = (int64_t)s->connect_timeout_ms * 1000000;
            if (t->stop && t->stop_deadline - now < budget) {
                budget = t->stop_deadline - now;
            }
            pthread_mutex_unlock(&t->mu);
            int64_t started = now_ns();
            int fd = tcp_connect(s, (int)((budget + 999999) / 1000000));
            int e = errno;
            char tls_err[256] = "";
            if (fd >= 0 && s->tls != NULL) {
                int left = (int)((budget - (now_ns() - started)) / 1000000);
                if (sl__syslog_tls_handshake(s, fd, left > 0 ? left : 1, tls_err,
                                             sizeof tls_err) != 0) {
                    sl__syslog_tls_close(s);
                    close(fd);
                    fd = -1;
                }
            }
            pthread_mutex_lock(&t->mu);
            if (fd >= 0) {
                t->fd = fd;
                t->sent = t->head; /* resend from the first unacknowledged frame */
                t->conn_base = t->head;
                t->backoff_ms = s->reconnect_min_ms;
                continue;
            }
            t->next_attempt_ns = now_ns() + (int64_t)t->backoff_ms * 1000000;
            t->backoff_ms = t->backoff_ms * 2 > s->reconnect_max_ms ? s->reconnect_max_ms
                                                                    : t->backoff_ms * 2;
            pthread_mutex_unlock(&t->mu);
            if (tls_err[0] != '\0') {
                sl_sink_report_error(s->sink, SL_EPROTO, "syslog: TLS with %s: %s",
                                     s->where, tls_err);
            } else {
                sl_sink_report_error(s->sink, SL_EIO, "syslog: connect %s: %s", s->where,
                                     sl__syslog_errtext(e, eb, sizeof eb));
            }
            pthread_mutex_lock(&t->mu);
            continue;
        }
        /* Send what is not sent yet, at most two pieces (the ring may wrap). */
        size_t avail = (size_t)(t->tail - t->sent);
        size_t idx = (size_t)(t->sent % t->cap);
        size_t first = avail < t->cap - idx ? avail : t->cap - idx;
        struct iovec iov[2] = {{t->buf + idx, first}, {t->buf, avail - first}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = avail > first ? 2 : 1};
        int fd = t->fd;
        pthread_mutex_unlock(&t->mu);
        ssize_t n = -1;
        int e = ECONNRESET;
        if (!peer_closed(fd)) {
            if (s->tls != NULL) {
                n = sl__syslog_tls_send(s, fd, iov[0].iov_base, iov[0].iov_len);
            } else {
                n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            e = n < 0 ? errno : 0;
            if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)) {
                /* Slow receiver: wait a little, then look at acks, stop, deadline. */
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                (void)poll(&p, 1, 100);
                pthread_mutex_lock(&t->mu);
                continue;
            }
        }
        if (n < 0) {
            sl_sink_report_error(s->sink, SL_EIO, "syslog: send to %s: %s; reconnecting",
                                 s->where, sl__syslog_errtext(e, eb, sizeof eb));
            pthread_mutex_lock(&t->mu);
            drop_connection(s, t);
            continue;
        }
        pthread_mutex_lock(&t->mu);
        t->sent += (uint64_t)n;
    }
    pthread_cond_broadcast(&t->idle);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

/* A fresh lock, and conditions on CLOCK_MONOTONIC (the deadlines' clock):
 * at start, and again in a fork child. */
static void init_sync(sl__syslog_tcp *t)
{
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->work, &ca);
    pthread_cond_init(&t->space, &ca);
    pthread_cond_init(&t->idle, &ca);
    pthread_condattr_destroy(&ca);
}

sl_status sl__syslog_tcp_new(sl__syslog *s)
{
    sl__syslog_tcp *t = sl__calloc(1, sizeof *t);
    if (t == NULL) {
        return SL_ENOMEM;
    }
    t->cap = s->queue_bytes;
    t->lcap = s->queue_bytes / 16;
    t->buf = sl__malloc(t->cap);
    t->lens = sl__calloc(t->lcap, sizeof *t->lens);
    t->fd = -1;
    t->backoff_ms = s->reconnect_min_ms;
    if (t->buf == NULL || t->lens == NULL) {
        sl__free(t->buf);
        sl__free(t->lens);
        sl__free(t);
        return SL_ENOMEM;
    }
    init_sync(t);
    s->tcp = t;
    pthread_mutex_lock(&t->mu);
    bool ok = start_worker(s);
    pthread_mutex_unlock(&t->mu);
    return ok ? SL_OK : SL_EIO;
}

sl_status sl__syslog_tcp_flush(sl__syslog *s, int timeout_ms)
{
    sl__syslog_tcp *t = s->tcp;
    int64_t deadline =
        timeout_ms < 0 ? INT64_MAX : now_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&t->mu);
    while (t->lhead != t->ltail && t->started && now_ns() < deadline) {
        wait_until(&t->idle, &t->mu, deadline);
    }
    bool empty = t->lhead == t->ltail;
    pthread_mutex_unlock(&t->mu);
    return empty ? SL_OK : SL_ETIMEDOUT;
}

sl_status sl__syslog_tcp_close(sl__syslog *s, int timeout_ms)
{
    sl__syslog_tcp *t = s->tcp;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    t->stop_deadline =
        timeout_ms < 0 ? INT64_MAX : now_ns() + (int64_t)timeout_ms * 1000000;
    pthread_cond_broadcast(&t->work);
    pthread_cond_broadcast(&t->space);
    bool started = t->started;
    t->started = false;
    pthread_mutex_unlock(&t->mu);
    if (started) {
        pthread_join(t->thread, NULL);
    }
    pthread_mutex_lock(&t->mu);
    uint64_t left = t->ltail - t->lhead;
    t->lhead = t->ltail;
    t->head = t->tail;
    t->sent = t->tail;
    if (t->fd >= 0) {
        close_socket(s, t);
    }
    pthread_mutex_unlock(&t->mu);
    if (left > 0) {
        sl_sink_count_dropped(s->sink, left);
        sl_sink_report_error(s->sink, SL_ETIMEDOUT,
                             "syslog: %llu records still queued at close, dropped",
                             (unsigned long long)left);
        return SL_ETIMEDOUT;
    }
    return SL_OK;
}

void sl__syslog_tcp_free(sl__syslog *s)
{
    sl__syslog_tcp *t = s->tcp;
    if (t == NULL) {
        return;
    }
    if (t->started || t->fd >= 0) {
        (void)sl__syslog_tcp_close(s, 0);
    }
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->work);
    pthread_cond_destroy(&t->space);
    pthread_cond_destroy(&t->idle);
    sl__free(t->buf);
    sl__free(t->lens);
    sl__free(t);
    s->tcp = NULL;
}

/*
 * fork(): the lock is not held across fork (the core takes its registry
 * lock around sink flushes, and taking ours in prepare would order the two
 * locks both ways). The child does not need a consistent queue: it has no
 * worker and shares the parent's connection, so it lets go of both and of
 * the parent's queued records (the parent sends those), gets fresh lock and
 * conditions, and starts its own worker with its first record.
 */
void sl__syslog_tcp_atfork_child(sl__syslog *s)
{
    sl__syslog_tcp *t = s->tcp;
    init_sync(t);
    if (t->fd >= 0) {
        close_socket(s, t);
    }
    t->started = false;
    t->head = t->tail;
    t->lhead = t->ltail;
    t->sent = t->tail;
    t->next_attempt_ns = 0;
}
