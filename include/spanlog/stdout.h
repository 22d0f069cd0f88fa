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
 */
#ifndef SPANLOG_STDOUT_H
#define SPANLOG_STDOUT_H

#include "sink.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_fd_sink_options {
    int fd; /* default 1 (stdout); ignored when path is set */
    /* Open this file instead (O_WRONLY|O_CREAT|O_APPEND|O_NONBLOCK, 0644);
     * copied. A FIFO with no reader fails (SL_EIO) rather than block; a full
     * pipe or device follows the EAGAIN rule (bounded wait, then drops). */
    const char *path;
    bool close_fd;      /* close fd on destroy; default false (true for path) */
    bool buffered;      /* default false */
    size_t buffer_size; /* buffered mode; default 64 KiB, minimum 4 KiB */
} sl_fd_sink_options;

SL_API void sl_fd_sink_options_init(sl_fd_sink_options *opts);

/*
 * Creates the sink. opts NULL: stdout, unbuffered. Returns SL_EINVAL (bad
 * fd or options), SL_EIO (path could not be opened: err has the path and
 * the system's reason), SL_ENOMEM; err (may be NULL) is filled on failure
 * and *out is NULL. Thread-safe.
 */
SL_API sl_status sl_fd_sink_new(const sl_fd_sink_options *opts, sl_sink **out,
                                sl_error *err);

/* Shorthand for sl_fd_sink_new() on fd 1, unbuffered. */
SL_API sl_status sl_stdout_sink_new(sl_sink **out);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_STDOUT_H */
