/*
 * syslog_sink.h - what the syslog sink's files share: the state, the
 * datagram transport (sink.c) and the stream transport (tcp.c, tls.c).
 *
 * Every transport sits behind the delivery runtime (src/deliver/): the
 * caller formats the head and pushes head + JSON into its queue and
 * returns; the runtime's worker calls the transport's send, which waits for
 * the socket (never the caller).
 */
#ifndef SPANLOG_SYSLOG_SINK_H
#define SPANLOG_SYSLOG_SINK_H

#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "adapters/syslog/syslog_format.h"
#include "deliver/deliver.h"

typedef struct sl__syslog_tcp sl__syslog_tcp;
typedef struct sl__syslog_tls sl__syslog_tls;

typedef struct sl__syslog {
    sl__syslog_fmt fmt;
    sl_syslog_transport transport;
    sl_syslog_framing framing;
    int timeout_ms;
    int connect_timeout_ms;
    int reconnect_min_ms;
    int reconnect_max_ms;
    size_t queue_bytes;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char where[160]; /* the target, for error texts */
    sl_sink *sink;

    sl__deliver *d; /* queue + worker for every transport */

    /* Datagram transports: one socket for the sink's lifetime, used by the
     * worker only; reconnecting is connect() on the same socket. */
    int fd;
    bool connected;
    int64_t next_attempt_ns;
    int reconnects; /* failed attempts in a row (the backoff's attempt) */

    sl__syslog_tcp *tcp; /* TCP and TLS: the worker's connection */
    sl__syslog_tls *tls; /* TLS only */
} sl__syslog;

/* Text of errno value e (thread-safe). */
const char *sl__syslog_errtext(int e, char *buf, size_t cap);

/*
 * One queued record: this header, then the head, then the MSG bytes.
 */
typedef struct sl__syslog_entry {
    uint32_t head_len;
    uint32_t msg_len;
} sl__syslog_entry;

/* The entry's pieces, from a batch entry. */
static inline const char *sl__syslog_entry_head(const sl__deliver_entry *e)
{
    return e->data + sizeof(sl__syslog_entry);
}

/* TCP/TLS: the connection state (new/free) and the runtime's callbacks. */
sl_status sl__syslog_tcp_new(sl__syslog *s);
void sl__syslog_tcp_free(sl__syslog *s);
extern const sl__deliver_ops sl__syslog_tcp_ops;

/*
 * TLS for the TCP worker (tls.c). new: SL_EINVAL with a text in err for
 * unreadable CA/certificate/key files. handshake: on a connected socket,
 * bounded by timeout_ms; 0 or -1 with a text in err. send: plaintext bytes
 * taken (at most one TLS record), -1 with errno (EAGAIN: retry when
 * writable); n == 0 only pushes pending ciphertext. acked: plaintext bytes of
 * the connection whose ciphertext the peer acknowledged, given the TCP bytes
 * acknowledged. All but new/free run on the worker only.
 */
sl_status sl__syslog_tls_new(sl__syslog *s, const sl_syslog_options *o, char *err,
                             size_t cap);
void sl__syslog_tls_free(sl__syslog *s);
int sl__syslog_tls_handshake(sl__syslog *s, int fd, int timeout_ms, char *err,
                             size_t cap);
ssize_t sl__syslog_tls_send(sl__syslog *s, int fd, const char *p, size_t n);
bool sl__syslog_tls_pending(const sl__syslog *s);
uint64_t sl__syslog_tls_acked(sl__syslog *s, uint64_t tcp_acked);
void sl__syslog_tls_close(sl__syslog *s);

#endif /* SPANLOG_SYSLOG_SINK_H */
