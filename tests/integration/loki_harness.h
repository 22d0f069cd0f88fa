/*
 * loki_harness.h - what the Loki sink's integration tests share: start and
 * stop the Loki API receiver (tests/integration/loki_receiver.py) on a
 * loopback port, drive its control API, and wait on its state with a
 * deadline (polling its /control/entries, never a fixed sleep).
 */
#ifndef SPANLOG_TEST_LOKI_HARNESS_H
#define SPANLOG_TEST_LOKI_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spanlog/spanlog.h"

typedef struct lk_recv {
    pid_t pid;
    int port;
    char url[64];  /* http://127.0.0.1:PORT */
    char dir[256]; /* a private temp directory (port file, scratch files) */
} lk_recv;

/* The receiver of the running test program, for the group fixtures below. */
extern lk_recv LK;

/* cmocka fixtures: start LK (group setup), stop it (group teardown), and
 * reset its entries and faults (per-test setup). */
int lk_setup(void **state);
int lk_teardown(void **state);
int lk_reset(void **state);

/*
 * A Loki sink from o and a logger (service, level trace) that owns it, plus
 * an fd sink appending to fd_file when not NULL. NULL on failure, with the
 * reason on stderr (usable in a forked child, where asserts cannot unwind).
 */
sl_logger *lk_logger(const sl_loki_options *o, const char *service, const char *fd_file,
                     sl_sink **loki);

/* All drops of the stats, whatever the reason. */
uint64_t lk_dropped_total(const sl_loki_stats *st);

/* One sl_info(lg, msg, "i": i); returns how long the call took, in ns. */
int64_t lk_timed_info(sl_logger *lg, const char *msg, int i);

/* Starts the receiver and waits (10 s at most) for its port file. Fails the
 * test otherwise. */
void lk_recv_start(lk_recv *r);
/* Asks it to shut down, waits for it, kills it if it lingers, removes the temp dir. */
void lk_recv_stop(lk_recv *r);

/* POSTs a JSON body to a control path; returns the HTTP status (0: no answer). */
int lk_control(const lk_recv *r, const char *path, const char *json);
/* GET /control/entries, parsed; fails the test when that is impossible. */
json_t *lk_entries(const lk_recv *r);
/* All entries of all streams. */
size_t lk_count(json_t *snapshot);
/* Polls until `pred(snapshot, arg)` holds or timeout_ms pass; returns the
 * last snapshot (the caller decrefs) and sets *ok. */
json_t *lk_wait(const lk_recv *r, bool (*pred)(json_t *snap, void *arg), void *arg,
                int timeout_ms, bool *ok);
/* lk_wait() for at least n entries. */
json_t *lk_wait_count(const lk_recv *r, size_t n, int timeout_ms);

/* Options for a sink pushing to r with test-friendly timings. */
void lk_options(const lk_recv *r, sl_loki_options *o);

/* Waits until the sink's pending count is zero or timeout_ms pass. */
bool lk_wait_settled(sl_sink *sink, int timeout_ms);

int64_t lk_now_ms(void); /* CLOCK_MONOTONIC */

/* Reads a whole file (the fd sink's output), NUL-terminated; caller frees. */
char *lk_read_file(const char *path, size_t *len);

/* Collects error-callback texts (thread-safe); for checking reports. */
typedef struct lk_errors {
    int count;
    char texts[16][512];
    sl_status codes[16];
} lk_errors;
void lk_on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                 uint64_t suppressed);
/* True when some collected text contains needle. */
bool lk_errors_have(lk_errors *e, const char *needle);

#endif /* SPANLOG_TEST_LOKI_HARNESS_H */
