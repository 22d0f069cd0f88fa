/*
 * otlp_harness.h - the strict OTLP receiver for the OTLP tests: start it on
 * a loopback port (or again on the same port, after an outage), reset and
 * inject faults, and poll what it stored (otlp_decode.py's plain data).
 */
#ifndef SPANLOG_TEST_OTLP_HARNESS_H
#define SPANLOG_TEST_OTLP_HARNESS_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct recv_t {
    pid_t pid;
    int port;
    char base[64]; /* http://127.0.0.1:PORT (https:// with --tls-cert) */
    char dir[64];
} recv_t;

extern recv_t OR;

/* More receiver arguments (NULL-terminated, e.g. "--tls-cert", PEM); NULL: none. */
extern const char *const *otlp_recv_args;
/* The client certificate the control requests present (mutual TLS); NULL: none. */
extern const char *otlp_control_cert, *otlp_control_key;

/* Starts the receiver (port 0: any) and waits for its port; fails the test otherwise. */
void otlp_recv_start(int port);
/* SIGTERM and reap (an outage: connections are refused until started again). */
void otlp_recv_kill(void);
/* GET (body NULL) or POST a control path; the parsed answer (caller decrefs). */
json_t *otlp_control(const char *path, const char *body);
/* POST /control/faults. */
void otlp_faults(const char *json);
/* Polls /control/<what> ("spans", "logs") until it holds n items or timeout_ms
 * passed; returns the last answer. */
json_t *otlp_wait(const char *what, size_t n, int timeout_ms);
/* How many answers with this HTTP status the receiver gave. */
json_int_t otlp_status_count(const char *status);
int64_t otlp_now_ms(void);
void otlp_pause_ms(int ms);

#endif /* SPANLOG_TEST_OTLP_HARNESS_H */
