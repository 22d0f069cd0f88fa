/*
 * spanlog/stdout.h - the stdout / file-descriptor sink.
 *
 * Unbuffered (the default), every record is one write(2) of the whole line
 * and its newline, so lines from many threads and processes sharing the fd
 * (or a file opened with O_APPEND) never interleave. EINTR, EAGAIN and short
 * writes are handled; a record that cannot be written is counted as dropped.
 * Buffered, records are gathered and written when the buffer would overflow,
 * on an error-or-worse record, on flush, on close and at exit.
 * Thread-safe: write may be called from any number of threads.
 *
 * Bounds: a non-blocking fd that is full (EAGAIN) is polled for at most
 * 100 ms per record; if it stays full the record is dropped (counted, and
 * reported as SL_EAGAIN) and the sink marks itself stalled: until a write
 * succeeds again, records are tried once and dropped without waiting. A
 * line already partly written is finished within 1 s before it is given up.
 * Writing to a pipe whose reader is gone raises SIGPIPE as for any write(2);
 * with SIGPIPE ignored, EPIPE is counted as an error and the record dropped.
 * Buffered sinks still alive at exit() are flushed by an atexit hook; a
 * forked child starts with an empty buffer (the parent writes what it held).
 *
 * Asynchronous (async = true), the caller copies its line into a bounded
 * ring of queue_bytes and returns; one writer thread per sink writes
 * everything queued with one writev(2). Lines stay whole and in call order.
 * When the ring is full the record is dropped (overflow DROP, the default)
 * or the caller waits up to block_ms for room and then drops it (BLOCK);
 * every drop is counted. Records at sync_level or above (default
 * SL_LEVEL_OFF: none) are written, with everything queued before them,
 * before the call returns. flush waits until what was queued is written;
 * the logger's exit flush writes what is queued at exit(); close drains
 * within its timeout, then drops (and counts) the rest. A forked child
 * starts with an empty ring and starts its own writer on its first record.
 * A line larger than the ring is written by the caller after the ring has
 * drained.
 */
#ifndef SPANLOG_STDOUT_H
#define SPANLOG_STDOUT_H

#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The asynchronous mode's policy when its ring is full. */
typedef enum sl_fd_overflow {
    SL_FD_OVERFLOW_DROP = 0, /* drop the record at once (counted) */
    SL_FD_OVERFLOW_BLOCK = 1 /* wait up to block_ms for room, then drop it */
} sl_fd_overflow;

typedef struct sl_fd_sink_options {
    int fd; /* default 1 (stdout); ignored when path is set */
    /* Open this file instead (O_WRONLY|O_CREAT|O_APPEND|O_NONBLOCK, 0644);
     * copied. A FIFO with no reader fails (SL_EIO) rather than block; a full
     * pipe or device follows the EAGAIN rule (bounded wait, then drops). */
    const char *path;
    bool close_fd;      /* close fd on destroy; default false (true for path) */
    bool buffered;      /* default false */
    size_t buffer_size; /* buffered mode; default 64 KiB, minimum 4 KiB */
    /* Asynchronous mode (overrides buffered): see above. */
    bool async;              /* default false */
    size_t queue_bytes;      /* ring size, rounded up to a power of two;
                              * default 1 MiB, minimum 4 KiB */
    sl_fd_overflow overflow; /* default SL_FD_OVERFLOW_DROP */
    int block_ms;            /* BLOCK: default 100; 0: never wait */
    sl_level sync_level;     /* default SL_LEVEL_OFF (no record waits) */
} sl_fd_sink_options;

/* Fills the defaults above. NULL is a no-op. Any thread. */
SL_API void sl_fd_sink_options_init(sl_fd_sink_options *opts);

/*
 * Creates the sink. opts NULL: stdout, unbuffered. Returns SL_EINVAL (bad
 * fd or options: a buffer or queue under 4 KiB, an unknown overflow
 * policy, a negative block_ms), SL_EIO (path could not be opened: err has
 * the path and the system's reason), SL_ENOMEM; err (may be NULL) is
 * filled on failure and *out is NULL. The async mode starts its writer
 * thread on the first record. The caller keeps ownership of opts (path is
 * copied when needed). Thread-safe.
 */
SL_API sl_status sl_fd_sink_new(const sl_fd_sink_options *opts, sl_sink **out,
                                sl_error *err);

/* Shorthand for sl_fd_sink_new() on fd 1, unbuffered. */
SL_API sl_status sl_stdout_sink_new(sl_sink **out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_STDOUT_H */
