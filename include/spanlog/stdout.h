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
 *
 * Files (path set, synchronous modes): sl_logger_reopen() and SIGHUP (with
 * the handler of control.h) reopen PATH at the next record, so logrotate's
 * `create` mode works. Rotation by size or time (max_bytes, rotate) happens
 * under the sink's lock before a record is written: a record is never split
 * between two files, lost or written twice, whatever the number of
 * threads. Several processes may append to one rotating PATH: rotation
 * takes flock(2) on the file and checks that PATH is still the file being
 * written, so only one process rotates it and the others follow; each
 * counts only its own bytes between checks (every 64 records), so a file
 * can exceed max_bytes by what the others wrote meanwhile. Not safe across
 * processes: different max_files or rotate settings on one PATH, and PATH
 * on a network file system without flock. A failed rename or open is
 * reported (SL_EIO) and writing goes on in the current file; a full disk
 * drops (and counts) records until there is room again. The async mode
 * neither reopens nor rotates (SL_EINVAL when asked to).
 */
#ifndef SPANLOG_STDOUT_H
#define SPANLOG_STDOUT_H

#include "pretty.h"
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
    size_t size; /* sizeof(sl_fd_sink_options) of the caller: set by _init */
    int fd;      /* default 1 (stdout); ignored when path is set */
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
    /* What is written: SL_FD_FORMAT_JSON (default), or SL_FD_FORMAT_PRETTY,
     * the human console format of spanlog/pretty.h. */
    int format;
    sl_color_mode color; /* pretty: SL_COLOR_AUTO (default), _ALWAYS, _NEVER */
    bool utc;            /* pretty times and rotation boundaries in UTC; default
                            false (local time) */
    /* A file (path set) rotates when a record would take it past max_bytes
     * (0: no size limit), and/or at the end of each period (rotate). Old
     * files: numbered PATH.1 (newest) .. PATH.max_files when rotating by
     * size only, dated PATH.2026-12-03 (daily) / PATH.2026-12-03T14 (hours)
     * when rotating by time; at most max_files are kept (default 5). */
    uint64_t max_bytes;
    unsigned max_files;
    int rotate;            /* SL_ROTATE_NONE (default), _DAILY, _HOURS */
    unsigned rotate_hours; /* SL_ROTATE_HOURS: 1, 2, 3, 4, 6, 8, 12 or 24 */
    bool compress;         /* gzip rotated files on a thread of their own */
    SL__ABI_TEST_TAIL
} sl_fd_sink_options;

#define SL_ROTATE_NONE  0
#define SL_ROTATE_DAILY 1 /* at midnight */
#define SL_ROTATE_HOURS 2 /* every rotate_hours, at whole hours */

#define SL_FD_FORMAT_JSON   0
#define SL_FD_FORMAT_PRETTY 1

/* Fills the defaults above and sets its size (a macro: the caller's sizeof,
 * see sl_logger_options_init). NULL is a no-op. Any thread. */
SL_API void sl_fd_sink_options_init_size(sl_fd_sink_options *opts, size_t size);
#define sl_fd_sink_options_init(opts)                                                    \
    sl_fd_sink_options_init_size((opts), sizeof(sl_fd_sink_options))

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
