/*
 * spanlog/syslog.h - the syslog sink: RFC 5424 and RFC 3164 over the local
 * datagram socket, UDP and TCP, with its own sockets (never openlog(3) or
 * syslog(3), whose state is process-global).
 *
 * Every transport: the caller formats and copies the record into a bounded
 * queue (queue_bytes) and returns; a worker thread (the library's delivery
 * runtime) sends, waiting for the socket when it is full. A full queue drops
 * (and counts) the record, after waiting up to timeout_ms when set.
 *
 *   unix:/dev/log     one datagram per record; reconnects by itself when the
 *                     daemon restarts.
 *   udp://host:port   one datagram per record of at most max_message_size:
 *                     the sink declares its line limit, so the logger cuts
 *                     the JSON record once and MSG stays valid JSON.
 *   tcp://host:port   RFC 6587 octet counting (default) or LF framing; the
 *                     worker connects (non-blocking, with a timeout) and
 *                     reconnects with exponential backoff.
 *                     A record counts as written once the receiver's TCP
 *                     acknowledged it; after a broken connection the worker
 *                     resends from the first unacknowledged record.
 *   tls://host:port   the same over TLS (RFC 5425), the server's certificate
 *                     verified by default.
 *
 * The default format depends on the transport so that a stock daemon
 * understands it: the local socket gets the BSD local format that glibc's
 * syslog(3) sends (`<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`); UDP and TCP get
 * RFC 5424 with the trace ids as structured data. MSG is the JSON line.
 *
 * Threading: the sink's write may be called from any number of threads.
 * Ownership: option strings are copied by sl_syslog_sink_new().
 */
#ifndef SPANLOG_SYSLOG_H
#define SPANLOG_SYSLOG_H

#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sl_syslog_transport {
    SL_SYSLOG_UNIX = 0, /* datagram socket at `path` (default /dev/log) */
    SL_SYSLOG_UDP = 1,
    SL_SYSLOG_TCP = 2,
    SL_SYSLOG_TLS = 3 /* TCP with TLS (RFC 5425), octet counting; port 6514 */
} sl_syslog_transport;

typedef enum sl_syslog_format {
    SL_SYSLOG_FORMAT_AUTO = 0,    /* unix: LOCAL; udp, tcp: RFC5424 */
    SL_SYSLOG_FORMAT_RFC5424 = 1, /* <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG */
    SL_SYSLOG_FORMAT_RFC3164 = 2, /* <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG */
    SL_SYSLOG_FORMAT_LOCAL = 3    /* <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG (glibc) */
} sl_syslog_format;

typedef enum sl_syslog_framing {
    SL_SYSLOG_FRAMING_OCTET_COUNTING = 0, /* "LEN SP FRAME" (RFC 6587 3.4.1) */
    SL_SYSLOG_FRAMING_LF = 1 /* FRAME "\n"; each LF inside the frame is sent as "#012" */
} sl_syslog_framing;

typedef enum sl_syslog_msg {
    SL_SYSLOG_MSG_JSON = 0, /* MSG is the JSON line (without its '\n') */
    SL_SYSLOG_MSG_TEXT = 1  /* MSG is the record's message text only, as given */
} sl_syslog_msg;

/* Facility numbers (RFC 5424 table 1). */
#define SL_SYSLOG_FACILITY_KERN   0
#define SL_SYSLOG_FACILITY_USER   1
#define SL_SYSLOG_FACILITY_DAEMON 3
#define SL_SYSLOG_FACILITY_AUTH   4
#define SL_SYSLOG_FACILITY_LOCAL0 16
#define SL_SYSLOG_FACILITY_LOCAL7 23

typedef struct sl_syslog_options {
    size_t size;                   /* sizeof(sl_syslog_options) of the caller: _init */
    sl_syslog_transport transport; /* default SL_SYSLOG_UNIX */
    const char *path;              /* unix: socket path; default "/dev/log" */
    const char *host;              /* udp/tcp: name or address; default "127.0.0.1" */
    uint16_t port;                 /* default 0: 514 (udp, tcp) or 6514 (tls) */

    sl_syslog_format format;   /* default AUTO (see above) */
    sl_syslog_framing framing; /* tcp only; default OCTET_COUNTING */
    sl_syslog_msg msg;         /* default JSON */
    int facility;              /* 0..23; default SL_SYSLOG_FACILITY_USER */

    /* Header fields. Invalid characters become '_', overlong values are cut
     * to the RFC limits (HOSTNAME 255, APP-NAME 48, TAG 32, MSGID 32), empty
     * values are written as NILVALUE "-". */
    const char *hostname; /* NULL: gethostname() */
    const char *app_name; /* NULL: the record's service, else the program name */
    const char *msgid;    /* NULL: "-" */
    bool include_pid;     /* PROCID / [PID]; default true (follows fork) */

    /* RFC 5424 structured data. */
    const char *trace_sd_id; /* default "opentelemetry"; "" leaves the ids out */
    bool trace_flags;        /* add trace_flags="01" to it; default true */
    bool fields_sd; /* bound fields of the logger as an SD element; default false */
    const char *fields_sd_id; /* default "fields@32473" */
    bool bom;                 /* UTF-8 BOM before MSG (RFC 5424); default false */

    /* Size of one message (frame without transport framing). The logger cuts
     * the JSON record to fit beside the header (a valid object marked
     * "truncated"); only an oversized header of bound fields (fields_sd) can
     * still cut MSG, at a UTF-8 boundary. 0: the transport's default (unix
     * 131072, udp 2048, tcp no limit). Minimum 480. */
    size_t max_message_size;

    /* How long a log call may wait for room in the queue before dropping
     * the record; default 0: never wait. */
    int timeout_ms;

    int connect_timeout_ms; /* tcp: default 2000 */
    int reconnect_min_ms;   /* first backoff; default 100 */
    int reconnect_max_ms;   /* backoff cap; default 10000 */
    size_t queue_bytes;     /* the bounded queue, every transport; default 4 MiB,
                               minimum 64 KiB */

    /* tls: the server's certificate is verified by default, its chain
     * against tls_ca_file (NULL: the system's trust store) and its name (DNS
     * name or IP address) against tls_server_name (NULL: host). */
    bool tls_verify;             /* default true; false accepts any server (insecure) */
    const char *tls_ca_file;     /* PEM file of trusted CAs */
    const char *tls_server_name; /* name to verify and send as SNI */
    const char *tls_cert_file;   /* client certificate chain (PEM), optional */
    const char *tls_key_file;    /* its private key (PEM), with tls_cert_file */
    SL__ABI_TEST_TAIL
} sl_syslog_options;

/* Fills *opts with the defaults above (docs/configuration.md) and sets its
 * size (a macro: the caller's sizeof, see sl_logger_options_init). NULL is a
 * no-op. */
SL_API void sl_syslog_options_init_size(sl_syslog_options *opts, size_t size);
#define sl_syslog_options_init(opts)                                                     \
    sl_syslog_options_init_size((opts), sizeof(sl_syslog_options))

/*
 * Creates the sink. opts NULL: the defaults (local socket /dev/log). The
 * sink does not need the daemon to be there: a missing or refusing daemon
 * means records are dropped and counted (unix, udp) or queued (tcp) until it
 * comes. Returns SL_EINVAL (an option out of range, an invalid SD-ID, an
 * unreadable TLS CA, certificate or key file: err keeps OpenSSL's text),
 * SL_ENOTSUP (tls in a build without TLS), SL_ENOENT (host name not
 * resolvable), SL_EIO (socket or thread creation failed), SL_ENOMEM; err
 * (may be NULL) says which option and why. *out is NULL on failure.
 * Thread-safe.
 */
SL_API sl_status sl_syslog_sink_new(const sl_syslog_options *opts, sl_sink **out,
                                    sl_error *err);

/*
 * Creates the sink from a target: "unix:/path", "udp://host:port",
 * "tcp://host:port", "tls://host:port" (host may be "[v6addr]"; the port
 * defaults to 514, for tls to 6514),
 * optionally followed by "?key=value&..." with keys format
 * (rfc5424|rfc3164|local), facility (a name or a number), framing
 * (octet|lf), msg (json|text), app, msgid, hostname, max (bytes),
 * timeout_ms, fields (a bool), queue_bytes, and for tls ca (a file),
 * servername, verify (a bool), cert, key (docs/configuration.md). Booleans
 * are 1/0/true/false/yes/no/on/off, numbers decimal digits only. NULL or ""
 * is the local socket /dev/log. `base` (may be NULL) gives every other
 * option; the target overrides it. The environment is not read (the
 * "syslog:TARGET" sink target of sl_sink_from_uri reads SPANLOG_SYSLOG_*).
 * Returns SL_EPARSE for a malformed target or an unknown key, with err's
 * position at the fault, else as sl_syslog_sink_new().
 */
SL_API sl_status sl_syslog_sink_new_target(const sl_syslog_options *base,
                                           const char *target, sl_sink **out,
                                           sl_error *err);

/* sl_syslog_sink_new_target(NULL, target, out, err). */
SL_API sl_status sl_syslog_sink_from_target(const char *target, sl_sink **out,
                                            sl_error *err);

/*
 * Parses a facility name ("kern", "user", "mail", "daemon", "auth", "syslog",
 * "lpr", "news", "uucp", "cron", "authpriv", "ftp", "local0".."local7") or a
 * number 0..23. SL_EPARSE otherwise (*out unchanged).
 */
SL_API sl_status sl_syslog_facility_parse(const char *name, int *out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_SYSLOG_H */
