/*
 * tls.c - syslog over TLS (RFC 5425) for the TCP worker, with OpenSSL.
 *
 * OpenSSL works on memory BIOs and this file moves the ciphertext to and
 * from the socket itself, so it knows exactly which TCP byte ends each
 * SSL_write(). That keeps the TCP worker's rule for TLS too: a record is
 * written once the receiver's TCP acknowledged the last byte of the
 * ciphertext that carried it.
 *
 *   plaintext ring ──SSL_write──▶ wbio ──▶ pending ciphertext ──send()──▶ fd
 *                  checkpoint (plain_end, tcp_end) per SSL_write
 *
 * Certificate verification is on unless the user turns it off: the peer's
 * chain against the CA file (or the system's trust store) and its name (DNS
 * name or IP address) against tls_server_name (default: the host).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "adapters/syslog/syslog_sink.h"

#define CHECKPOINTS 256

typedef struct checkpoint {
    uint64_t plain_end; /* plaintext bytes of this connection up to here */
    uint64_t tcp_end;   /* TCP bytes of this connection that carry them */
} checkpoint;

struct sl__syslog_tls {
    SSL_CTX *ctx;
    char *server_name;
    bool verify;
    /* the current connection (worker only) */
    SSL *ssl;
    BIO *rbio, *wbio;
    char *pend; /* ciphertext not yet handed to the kernel */
    size_t pend_off, pend_len, pend_cap;
    uint64_t plain_pos, tcp_pos, plain_acked;
    checkpoint cps[CHECKPOINTS];
    size_t cp_head, cp_count;
};

static void ssl_error_text(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, cap, "TLS error");
    } else {
        ERR_error_string_n(e, buf, cap);
    }
    ERR_clear_error();
}

sl_status sl__syslog_tls_new(sl__syslog *s, const sl_syslog_options *o, char *err,
                             size_t cap)
{
    sl__syslog_tls *t = sl__calloc(1, sizeof *t);
    if (t == NULL) {
        return SL_ENOMEM;
    }
    s->tls = t;
    t->verify = o->tls_verify;
    const char *name = o->tls_server_name ? o->tls_server_name : o->host;
    t->server_name = sl__strdup(name ? name : "127.0.0.1");
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->server_name == NULL || t->ctx == NULL) {
        return SL_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    if (t->verify) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        int ok = o->tls_ca_file
                     ? SSL_CTX_load_verify_locations(t->ctx, o->tls_ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(t->ctx);
        if (ok != 1) {
            ssl_error_text(err, cap);
            return SL_EINVAL;
        }
    }
    if (o->tls_cert_file != NULL || o->tls_key_file != NULL) {
        if (o->tls_cert_file == NULL || o->tls_key_file == NULL ||
            SSL_CTX_use_certificate_chain_file(t->ctx, o->tls_cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(t->ctx, o->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t->ctx) != 1) {
            ssl_error_text(err, cap);
            return SL_EINVAL;
        }
    }
    return SL_OK;
}

static void conn_reset(sl__syslog_tls *t)
{
    SSL_free(t->ssl); /* frees both BIOs */
    t->ssl = NULL;
    t->rbio = t->wbio = NULL;
    t->pend_off = t->pend_len = 0;
    t->plain_pos = t->tcp_pos = t->plain_acked = 0;
    t->cp_head = t->cp_count = 0;
}

void sl__syslog_tls_free(sl__syslog *s)
{
    sl__syslog_tls *t = s->tls;
    if (t == NULL) {
        return;
    }
    conn_reset(t);
    SSL_CTX_free(t->ctx);
    sl__free(t->server_name);
    sl__free(t->pend);
    sl__free(t);
    s->tls = NULL;
}

void sl__syslog_tls_close(sl__syslog *s)
{
    conn_reset(s->tls);
}

/* Moves what OpenSSL wrote into the pending buffer. */
static bool take_ciphertext(sl__syslog_tls *t, size_t *added)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    *added = n;
    if (n == 0) {
        return true;
    }
    if (t->pend_off > 0 && t->pend_off == t->pend_len) {
        t->pend_off = t->pend_len = 0;
    }
    if (t->pend_len + n > t->pend_cap) {
        size_t cap = (t->pend_len + n) * 2;
        char *p = sl__realloc(t->pend, cap);
        if (p == NULL) {
            return false;
        }
        t->pend = p;
        t->pend_cap = cap;
    }
    int r = BIO_read(t->wbio, t->pend + t->pend_len, (int)n);
    if (r != (int)n) {
        return false;
    }
    t->pend_len += n;
    return true;
}

/* Sends pending ciphertext; 0 when all went out, -1 with errno otherwise. */
static int flush_pending(sl__syslog_tls *t, int fd)
{
    while (t->pend_off < t->pend_len) {
        ssize_t n = send(fd, t->pend + t->pend_off, t->pend_len - t->pend_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        t->pend_off += (size_t)n;
    }
    t->pend_off = t->pend_len = 0;
    return 0;
}

static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    int64_t left = deadline_ns - sl__monotonic_ns();
    if (left <= 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = events};
    int rc = poll(&p, 1, (int)((left + 999999) / 1000000));
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

int sl__syslog_tls_handshake(sl__syslog *s, int fd, int timeout_ms, char *err, size_t cap)
{
    sl__syslog_tls *t = s->tls;
    conn_reset(t);
    int64_t deadline = sl__monotonic_ns() + (int64_t)timeout_ms * 1000000;
    t->ssl = SSL_new(t->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        snprintf(err, cap, "out of memory");
        return -1;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, t->server_name, ip) == 1 ||
                 inet_pton(AF_INET6, t->server_name, ip) == 1;
    if (!is_ip) {
        SSL_set_tlsext_host_name(t->ssl, t->server_name);
    }
    if (t->verify) {
        int ok =
            is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->server_name)
                  : SSL_set1_host(t->ssl, t->server_name);
        if (ok != 1) {
            snprintf(err, cap, "cannot verify the name %s", t->server_name);
            return -1;
        }
    }
    for (;;) {
        int r = SSL_do_handshake(t->ssl);
        size_t added;
        if (!take_ciphertext(t, &added)) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        t->tcp_pos += added;
        while (t->pend_len > 0) {
            if (flush_pending(t, fd) == 0) {
                break;
            }
            if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                wait_fd(fd, POLLOUT, deadline)) {
                snprintf(err, cap, "handshake: %s", strerror(errno));
                return -1;
            }
        }
        if (r == 1) {
            return 0;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e != SSL_ERROR_WANT_READ) {
            long vr = SSL_get_verify_result(t->ssl);
            if (vr != X509_V_OK) {
                snprintf(err, cap, "certificate verification failed: %s",
                         X509_verify_cert_error_string(vr));
                ERR_clear_error();
            } else {
                ssl_error_text(err, cap);
            }
            return -1;
        }
        if (wait_fd(fd, POLLIN, deadline) != 0) {
            snprintf(err, cap, "handshake: %s", strerror(errno));
            return -1;
        }
        char buf[16384];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) {
            snprintf(err, cap, "handshake: the server closed the connection");
            return -1;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            snprintf(err, cap, "handshake: %s", strerror(errno));
            return -1;
        }
        BIO_write(t->rbio, buf, (int)n);
    }
}

bool sl__syslog_tls_pending(const sl__syslog *s)
{
    return s->tls->pend_off < s->tls->pend_len;
}

ssize_t sl__syslog_tls_send(sl__syslog *s, int fd, const char *p, size_t n)
{
    sl__syslog_tls *t = s->tls;
    if (flush_pending(t, fd) != 0) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    if (n > 16384) {
        n = 16384; /* one TLS record per call */
    }
    int w = SSL_write(t->ssl, p, (int)n);
    if (w <= 0) {
        errno = EPROTO;
        return -1;
    }
    size_t added;
    if (!take_ciphertext(t, &added)) {
        errno = ENOMEM;
        return -1;
    }
    t->plain_pos += (uint64_t)w;
    t->tcp_pos += added;
    if (t->cp_count == CHECKPOINTS) {
        /* Coarser, never wrong: the last range grows until acks catch up. */
        checkpoint *last = &t->cps[(t->cp_head + t->cp_count - 1) % CHECKPOINTS];
        last->plain_end = t->plain_pos;
        last->tcp_end = t->tcp_pos;
    } else {
        t->cps[(t->cp_head + t->cp_count) % CHECKPOINTS] =
            (checkpoint){t->plain_pos, t->tcp_pos};
        t->cp_count++;
    }
    if (flush_pending(t, fd) != 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        return -1;
    }
    return w;
}

uint64_t sl__syslog_tls_acked(sl__syslog *s, uint64_t tcp_acked)
{
    sl__syslog_tls *t = s->tls;
    while (t->cp_count > 0 && t->cps[t->cp_head].tcp_end <= tcp_acked) {
        t->plain_acked = t->cps[t->cp_head].plain_end;
        t->cp_head = (t->cp_head + 1) % CHECKPOINTS;
        t->cp_count--;
    }
    return t->plain_acked;
}
