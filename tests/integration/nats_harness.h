/*
 * nats_harness.h - a real nats-server for the messaging tests, on a
 * loopback port picked free at run time, in a private temp dir (JetStream
 * storage when asked), stopped and restarted on the same port. Readiness
 * is waited for by polling with a deadline (the server's INFO line).
 */
#ifndef SPANLOG_NATS_HARNESS_H
#define SPANLOG_NATS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NSRV_BIN "/usr/sbin/nats-server"

typedef struct nsrv {
    char dir[256];
    char log[300];
    char url[64]; /* nats://127.0.0.1:PORT */
    int port;
    bool jetstream;
    pid_t pid;
} nsrv;

/* Monotonic milliseconds. */
int64_t nsrv_now_ms(void);

/* A short pause for loops that poll a condition up to a deadline. */
void nsrv_pause(void);

/* Picks a port and a temp dir and fills url, without starting anything
 * (for "broker down at start"). Returns 0 or -1. */
int nsrv_prepare(nsrv *s, bool jetstream);

/* Starts the server on s->port and waits (bounded) until it answers.
 * Returns 0, or -1 with a message on stderr (see s->log). */
int nsrv_start(nsrv *s);

/* nsrv_prepare + nsrv_start, retrying with a new port when it was taken. */
int nsrv_launch(nsrv *s, bool jetstream);

/* SIGTERM, waitpid with a deadline, SIGKILL after it. */
void nsrv_stop(nsrv *s);

/* Stops it if running and removes the temp dir. */
void nsrv_destroy(nsrv *s);

#endif
