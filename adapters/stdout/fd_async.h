/*
 * fd_async.h - the fd sink's asynchronous mode (fd_async.c), created by
 * sl_fd_sink_new() when opts->async is set. Internal to the stdout adapter.
 */
#ifndef SPANLOG_FD_ASYNC_H
#define SPANLOG_FD_ASYNC_H

#include <pthread.h>
#include <stdint.h>

#include "spanlog/stdout.h"

#define SL__FD_DEFAULT_QUEUE    (1024 * 1024)
#define SL__FD_DEFAULT_BLOCK_MS 100

/* SL_OK when the async options are usable, else SL_EINVAL. */
sl_status sl__fd_async_check(const sl_fd_sink_options *opts);

/*
 * The sink on an open fd (closed by the sink when close_fd). On failure
 * nothing is closed and *out is left alone.
 */
sl_status sl__fd_async_new(const sl_fd_sink_options *opts, int fd, bool close_fd,
                           sl_sink **out);

/* Shared with fd_sink.c: the number of '\n' in p[0..n); a mutex that spins
 * briefly before sleeping where glibc offers one (adaptive), 0 or errno. */
uint64_t sl__fd_count_lines(const char *p, size_t n);
int sl__fd_mutex_init(pthread_mutex_t *mu);

#endif
