/*
 * rsyslog_harness.h - a real rsyslogd for the tests and the benchmark,
 * started in a private temp dir on loopback and stopped afterwards.
 *
 * The daemon listens on two private unix sockets (`local.sock` with the
 * stock imuxsock parser, `rfc5424.sock` with UseSpecialParser="off"
 * ParseHostname="on"), on UDP and TCP ports chosen free at run time, and
 * writes every message it parsed as one JSON object per line (template
 * option.jsonf) to out.jsonl: pri, time, host, app, procid, msgid, sd, msg,
 * input. Readiness and delivery are waited for by polling with deadlines.
 */
#ifndef SPANLOG_RSYSLOG_HARNESS_H
#define SPANLOG_RSYSLOG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RSL_BIN "/usr/sbin/rsyslogd"

/* An incremental reader of out.jsonl. */
typedef struct rsl_reader {
    long long off;
    char *partial;
    size_t partial_len;
} rsl_reader;

typedef struct rsl {
    char dir[256];
    char conf[300];
    char out[300];
    char local_sock[300];
    char rfc5424_sock[300];
    char log[300];
    int udp_port;
    int tcp_port;
    int tls_port;       /* rsl_start_tls only: imtcp with the ossl stream driver */
    char ca[300];       /* its CA certificate (PEM), for the client */
    char other_ca[300]; /* a CA that did not sign the server's certificate */
    pid_t pid;
    rsl_reader reader; /* the test's position in out.jsonl */
} rsl;

/* Monotonic milliseconds. */
int64_t rsl_now_ms(void);

/*
 * Creates the temp dir, picks ports, writes the config, starts rsyslogd and
 * waits (bounded) until every input is ready. Retries with new ports when
 * one was taken meanwhile. Returns 0, or -1 with a message on stderr
 * (rsyslogd missing, failed to start, not ready in time).
 */
int rsl_start(rsl *r);

/*
 * rsl_start() plus a TLS input (RFC 5425) whose server certificate, for
 * "localhost" and 127.0.0.1, is made here with the openssl tool and signed by
 * r->ca. Needs the Debian package rsyslog-openssl; fails with a message when
 * it is missing.
 */
int rsl_start_tls(rsl *r);

/* Stops the daemon (SIGTERM, waitpid with a deadline, SIGKILL after it). */
void rsl_stop(rsl *r);

/* Starts the daemon again with the same config (same ports and sockets). */
int rsl_restart(rsl *r);

/* Stops the daemon if running and removes the temp dir. */
void rsl_destroy(rsl *r);

/*
 * Reads the lines added to out.jsonl since the last call and calls fn for
 * each complete one (NUL-terminated, without '\n'). Returns the number of
 * lines read.
 */
size_t rsl_read(rsl *r, void (*fn)(void *user, const char *line, size_t len), void *user);

/* Sends one raw message to an input ('u' udp, 't' tcp octet-counted,
 * 'l' local.sock, '5' rfc5424.sock). Returns 0 on success. */
int rsl_send_raw(const rsl *r, char input, const char *msg);

/* A loopback port (SOCK_STREAM or SOCK_DGRAM) that was free a moment ago. */
int rsl_free_port(int type);

/* Whether `line` (an out.jsonl line) contains `needle`. */
bool rsl_line_has(const char *line, const char *needle);

/*
 * Counting marked records: records whose message is "<marker>#<seq>". The
 * counter notes each sequence number seen (duplicates are counted) and keeps
 * a copy of the first matching line.
 */
typedef struct rsl_counter {
    const char *marker;
    size_t mlen;
    unsigned char *seen; /* one byte per sequence number below nseq */
    size_t nseq;
    size_t received;
    size_t duplicates;
    char *first; /* the first matching out.jsonl line, or NULL */
} rsl_counter;

/* Returns 0, or -1 when memory runs out. */
int rsl_counter_init(rsl_counter *c, const char *marker, size_t nseq);
void rsl_counter_free(rsl_counter *c);

/* An rsl_read() callback that feeds an rsl_counter (user). */
void rsl_counter_line(void *user, const char *line, size_t len);

/* Reads out.jsonl until `want` marked records arrived or timeout_ms passed. */
void rsl_counter_wait(rsl *r, rsl_counter *c, size_t want, int timeout_ms);

#endif /* SPANLOG_RSYSLOG_HARNESS_H */
