/*
 * fd_sink.c - the stdout / file-descriptor sink.
 *
 * Unbuffered, a record is one write(2) of its whole line, so lines written
 * by many processes to one pipe (up to PIPE_BUF bytes) or one O_APPEND file
 * never interleave. A mutex is held around the write as well, so that when
 * the kernel takes only part of a line (a pipe, a socket, a full disk) the
 * rest is written before another thread of this process writes its line.
 *
 * Buffered, lines are gathered under the same mutex and written in one
 * write(2) when the next line would not fit, after an error-or-worse record,
 * on flush, on close and at exit (the library's one exit handler flushes
 * every live sink, so a sink that was never freed still writes its records).
 *
 * A non-blocking fd that is full (EAGAIN) is waited for with poll(2):
 *
 *   first EAGAIN ──▶ wait up to SL_FD_EAGAIN_WAIT_MS (100 ms) ──▶ written
 *                          │ still full
 *                          ▼
 *                    drop the record, count it, mark the sink "stalled"
 *   while stalled: one write attempt, no waiting (the caller is never held
 *   for 100 ms per record); the first write that succeeds clears the state.
 *   A line already partly written is finished with a longer bound
 *   (SL_FD_PARTIAL_WAIT_MS, 1 s), because dropping it then would leave half
 *   a line in the stream.
 *
 * Records are counted when they reach the fd (written) or are given up
 * (dropped); failed system calls go to sl_sink_report_error(), after the
 * mutex is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/stdout/fd_async.h"
#include "adapters/stdout/rotate.h"
#include "internal.h"
#include "spanlog/stdout.h"

/* The first version of the options struct (src/internal.h, "ABI: sized
 * structs"). */
#define SL__FD_OPTIONS_V1 SL__V1_SIZE(sl_fd_sink_options, compress)

#define SL_FD_EAGAIN_WAIT_MS  100
#define SL_FD_PARTIAL_WAIT_MS 1000
#define SL_FD_DEFAULT_BUFFER  (64 * 1024)
#define SL_FD_MIN_BUFFER      (4 * 1024)

typedef struct fd_sink {
    sl_sink *sink;
    int fd;
    bool close_fd;
    bool buffered;
    bool closed;         /* under mu */
    atomic_bool stalled; /* the fd stayed full: do not wait again until it drains */
    pthread_mutex_t mu;
    char *buf; /* buffered mode */
    size_t cap;
    size_t len;
    uint64_t nrec;    /* records in buf */
    sl__rotor *rotor; /* a path: reopen and rotation (rotate.c) */
    int rotate_err;   /* under mu: to report once it is released */
    bool pretty;      /* write sl_pretty_format()'s lines */
    sl_pretty_options popts;
} fd_sink;

/* What a write attempt ran into, reported once the mutex is released. */
typedef struct fd_result {
    int err;        /* errno of the failure, 0 when none */
    bool timed_out; /* EAGAIN for longer than the bound */
} fd_result;

/* ---- raw writing ------------------------------------------------------------ */

/*
 * Writes n bytes, handling EINTR, short writes and EAGAIN (see the diagram).
 * Returns the number of bytes written; less than n on failure, with *res set.
 */
static size_t write_all(fd_sink *s, const char *p, size_t n, fd_result *res)
{
    size_t off = 0;
    int64_t deadline = 0;
    while (off < n) {
        ssize_t r = write(s->fd, p + off, n - off);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t now = sl__monotonic_ns();
            if (deadline == 0) {
                int wait_ms = off > 0 ? SL_FD_PARTIAL_WAIT_MS
                              : atomic_load_explicit(&s->stalled, memory_order_relaxed)
                                  ? 0
                                  : SL_FD_EAGAIN_WAIT_MS;
                deadline = now + (int64_t)wait_ms * 1000000;
            }
            if (now >= deadline) {
                atomic_store_explicit(&s->stalled, true, memory_order_relaxed);
                res->timed_out = true;
                return off;
            }
            struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
            int ms = (int)((deadline - now + 999999) / 1000000);
            (void)poll(&pfd, 1, ms); /* any outcome: try the write again */
            continue;
        }
        res->err = r < 0 ? errno : EIO; /* write() returning 0 for n > 0 */
        return off;
    }
    if (atomic_load_explicit(&s->stalled, memory_order_relaxed)) {
        atomic_store_explicit(&s->stalled, false, memory_order_relaxed);
    }
    return off;
}

uint64_t sl__fd_count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

static void report(fd_sink *s, const fd_result *res, uint64_t dropped)
{
    if (res->timed_out) {
        sl_sink_report_error(s->sink, SL_EAGAIN,
                             "fd %d stayed full for %d ms: %llu record(s) dropped", s->fd,
                             SL_FD_EAGAIN_WAIT_MS, (unsigned long long)dropped);
    } else if (res->err != 0) {
        sl_sink_report_error(s->sink, SL_EIO,
                             "write to fd %d: %s: %llu record(s) dropped", s->fd,
                             strerror(res->err), (unsigned long long)dropped);
    }
}

/*
 * Buffered mode, mu held: writes the buffer out and counts its records.
 * Returns how many were dropped; *res says why.
 */
/* write_all() into a rotating file: reopened or rotated first, its size kept. */
static size_t write_file(fd_sink *s, const char *p, size_t n, fd_result *res,
                         int64_t now_ns)
{
    if (s->rotor == NULL) {
        return write_all(s, p, n, res);
    }
    int err = sl__rotor_before_write(s->rotor, &s->fd, n, now_ns);
    if (err != 0) {
        s->rotate_err = err;
    }
    size_t done = write_all(s, p, n, res);
    sl__rotor_wrote(s->rotor, done);
    return done;
}

static uint64_t flush_locked(fd_sink *s, fd_result *res)
{
    if (s->len == 0) {
        return 0;
    }
    size_t done = write_file(s, s->buf, s->len, res, s->rotor ? sl__now_ns() : 0);
    uint64_t written = done == s->len ? s->nrec : sl__fd_count_lines(s->buf, done);
    uint64_t dropped = s->nrec - written;
    if (written > 0) {
        sl_sink_count_written(s->sink, written);
    }
    if (dropped > 0) {
        sl_sink_count_dropped(s->sink, dropped);
    }
    s->len = 0;
    s->nrec = 0;
    return dropped;
}

/*
 * The mutex is held across write(2) (so that lines never interleave), a
 * hold time of a few microseconds. A default glibc mutex puts a contending
 * thread to sleep at once, and with two threads logging every record then
 * cost a futex sleep and wake. An adaptive mutex spins briefly first, which
 * is what a lock held that long wants. PTHREAD_MUTEX_ADAPTIVE_NP is glibc's;
 * elsewhere the default mutex is used.
 */
int sl__fd_mutex_init(pthread_mutex_t *mu)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) == 0) {
        int rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        if (rc == 0) {
            rc = pthread_mutex_init(mu, &attr);
        }
        pthread_mutexattr_destroy(&attr);
        if (rc == 0) {
            return 0;
        }
    }
#endif
    return pthread_mutex_init(mu, NULL);
}

/* ---- the vtable ----------------------------------------------------------------- */

/* Pretty lines are made on the caller's stack; only a huge record takes
 * the heap, for the time of the call. */
#define PRETTY_STACK 8192

static void fd_write_line(sl_sink *sink, const sl_record *rec, const char *line,
                          size_t len);

static void fd_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    fd_sink *s = sl_sink_state(sink);
    if (!s->pretty) {
        fd_write_line(sink, rec, line, len);
        return;
    }
    char stack[PRETTY_STACK];
    size_t n = sl_pretty_format(line, len, &s->popts, stack, sizeof stack);
    if (n < sizeof stack) {
        fd_write_line(sink, rec, stack, n);
        return;
    }
    char *heap = sl__malloc(n + 1);
    if (heap == NULL) {
        sl_sink_count_dropped(sink, 1);
        sl_sink_report_error(sink, SL_ENOMEM, "no memory to format a %zu-byte record",
                             len);
        return;
    }
    sl_pretty_format(line, len, &s->popts, heap, n + 1);
    fd_write_line(sink, rec, heap, n);
    sl__free(heap);
}

/* Rotation periods follow the records' own times (a test can give any). */
static int64_t rec_time(const fd_sink *s, const sl_record *rec)
{
    if (s->rotor == NULL) {
        return 0;
    }
    return rec != NULL ? rec->time_ns : sl__now_ns();
}

static int take_rotate_err(fd_sink *s)
{
    int e = s->rotate_err;
    s->rotate_err = 0;
    return e;
}

/* Called with mu released: a reopen or rotation that failed. */
static void report_rotation(fd_sink *s, int err)
{
    if (err != 0) {
        sl_sink_report_error(s->sink, SL_EIO, "reopening or rotating the file: %s",
                             strerror(err));
    }
}

static void fd_write_line(sl_sink *sink, const sl_record *rec, const char *line,
                          size_t len)
{
    fd_sink *s = sl_sink_state(sink);
    fd_result res = {0, false};
    uint64_t dropped = 0;

    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        pthread_mutex_unlock(&s->mu);
        sl_sink_count_dropped(sink, 1);
        return;
    }
    if (!s->buffered) {
        bool ok = write_file(s, line, len, &res, rec_time(s, rec)) == len;
        int rerr = take_rotate_err(s);
        pthread_mutex_unlock(&s->mu);
        report_rotation(s, rerr);
        if (ok) {
            sl_sink_count_written(sink, 1);
        } else {
            sl_sink_count_dropped(sink, 1);
            report(s, &res, 1);
        }
        return;
    }

    if (len > s->cap - s->len) {
        dropped += flush_locked(s, &res);
    }
    if (len > s->cap) {
        /* bigger than the whole buffer: straight out, the buffer is empty */
        if (write_file(s, line, len, &res, rec_time(s, rec)) == len) {
            sl_sink_count_written(sink, 1);
        } else {
            sl_sink_count_dropped(sink, 1);
            dropped++;
        }
    } else {
        memcpy(s->buf + s->len, line, len);
        s->len += len;
        s->nrec++;
        if (rec != NULL && rec->level >= SL_LEVEL_ERROR) {
            dropped += flush_locked(s, &res);
        }
    }
    int rerr = take_rotate_err(s);
    pthread_mutex_unlock(&s->mu);
    report_rotation(s, rerr);
    if (dropped > 0) {
        report(s, &res, dropped);
    }
}

static sl_status fd_flush(sl_sink *sink, int timeout_ms)
{
    (void)timeout_ms; /* every wait is bounded already (see the diagram) */
    fd_sink *s = sl_sink_state(sink);
    fd_result res = {0, false};
    pthread_mutex_lock(&s->mu);
    uint64_t dropped = s->buffered ? flush_locked(s, &res) : 0;
    pthread_mutex_unlock(&s->mu);
    if (dropped > 0) {
        report(s, &res, dropped);
        return res.timed_out ? SL_ETIMEDOUT : SL_EIO;
    }
    return SL_OK;
}

/* ---- close, destroy, fork ------------------------------------------------------ */

static sl_status fd_close(sl_sink *sink, int timeout_ms)
{
    fd_sink *s = sl_sink_state(sink);
    sl_status st = fd_flush(sink, timeout_ms);
    if (s->rotor != NULL && !sl__rotor_wait(s->rotor, timeout_ms) && st == SL_OK) {
        st = SL_ETIMEDOUT; /* a rotated file is still being compressed */
    }
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    if (s->close_fd && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

static void fd_destroy(sl_sink *sink)
{
    fd_sink *s = sl_sink_state(sink);
    if (s == NULL) {
        return;
    }
    if (s->close_fd && s->fd >= 0) {
        close(s->fd);
    }
    sl__rotor_free(s->rotor);
    pthread_mutex_destroy(&s->mu);
    sl__free(s->buf);
    sl__free(s);
}

static void fd_atfork_prepare(sl_sink *sink)
{
    fd_sink *s = sl_sink_state(sink);
    pthread_mutex_lock(&s->mu);
}

static void fd_atfork_parent(sl_sink *sink)
{
    fd_sink *s = sl_sink_state(sink);
    pthread_mutex_unlock(&s->mu);
}

static void fd_atfork_child(sl_sink *sink)
{
    fd_sink *s = sl_sink_state(sink);
    /* The parent still holds these records and writes them; a child that
     * wrote its copy too (at exit, say) would duplicate them. */
    s->len = 0;
    s->nrec = 0;
    pthread_mutex_unlock(&s->mu);
}

static const sl_sink_vtable fd_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "fd",
    .write = fd_write,
    .flush = fd_flush,
    .close = fd_close,
    .destroy = fd_destroy,
    .atfork_prepare = fd_atfork_prepare,
    .atfork_parent = fd_atfork_parent,
    .atfork_child = fd_atfork_child,
};

/* ---- construction ------------------------------------------------------------------ */

sl_status sl_fd_sink_new(const sl_fd_sink_options *opts, sl_sink **out, sl_error *err)
{
    if (out == NULL) {
        return sl__error_set(err, SL_EINVAL, "out", NULL, -1, "fd sink: out is NULL");
    }
    *out = NULL;
    sl_fd_sink_options defaults;
    sl_fd_sink_options_init(&defaults);
    if (opts != NULL &&
        !sl__abi_options(&defaults, sizeof defaults, opts, SL__FD_OPTIONS_V1)) {
        return sl__error_set(err, SL_EINVAL, "opts", NULL, -1,
                             "fd sink: options not prepared by sl_fd_sink_options_init");
    }
    opts = &defaults;
    size_t cap = opts->buffer_size == 0 ? SL_FD_DEFAULT_BUFFER : opts->buffer_size;
    if (opts->buffered && cap < SL_FD_MIN_BUFFER) {
        return sl__error_set(err, SL_EINVAL, "buffer_size", NULL, -1,
                             "fd sink buffer_size: at least %d bytes", SL_FD_MIN_BUFFER);
    }
    if (opts->path == NULL && (opts->fd < 0 || fcntl(opts->fd, F_GETFD) < 0)) {
        return sl__error_set(err, SL_EINVAL, "fd", NULL, -1,
                             "fd sink: fd %d is not an open file descriptor", opts->fd);
    }
    if ((opts->format != SL_FD_FORMAT_JSON && opts->format != SL_FD_FORMAT_PRETTY) ||
        (unsigned)opts->color > (unsigned)SL_COLOR_NEVER ||
        (opts->async && (opts->format == SL_FD_FORMAT_PRETTY || opts->max_bytes > 0 ||
                         opts->rotate != SL_ROTATE_NONE || opts->compress))) {
        /* the console format is written by the caller's thread */
        return sl__error_set(err, SL_EINVAL, "async", NULL, -1,
                             "fd sink: async is only for JSON without rotation, and "
                             "format, color must be known values");
    }
    if (opts->async) {
        sl_status st = sl__fd_async_check(opts);
        if (st != SL_OK) {
            return sl__error_set(
                err, st, "queue_bytes", NULL, -1,
                "fd sink async: queue_bytes 0 or at least 4096, overflow "
                "drop or block, block_ms >= 0");
        }
        int fd = opts->fd;
        if (opts->path != NULL) {
            fd = open(opts->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0) {
                int e = errno;
                return sl__error_set(err, SL_EIO, "path", opts->path, -1, "file %s: %s",
                                     opts->path, strerror(e));
            }
        }
        st = sl__fd_async_new(opts, fd, opts->path != NULL || opts->close_fd, out);
        if (st != SL_OK && opts->path != NULL) {
            close(fd);
        }
        return st != SL_OK ? sl__error_set(err, st, NULL, NULL, -1, "fd sink async: %s",
                                           sl_strerror(st))
                           : SL_OK;
    }

    fd_sink *s = sl__calloc(1, sizeof *s);
    if (s == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "fd sink: out of memory");
    }
    s->buffered = opts->buffered;
    if (s->buffered) {
        s->cap = cap;
        s->buf = sl__malloc(cap);
        if (s->buf == NULL) {
            sl__free(s);
            return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1,
                                 "fd sink: out of memory");
        }
    }
    if (sl__fd_mutex_init(&s->mu) != 0) {
        sl__free(s->buf);
        sl__free(s);
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "fd sink: out of memory");
    }
    atomic_init(&s->stalled, false);
    s->pretty = opts->format == SL_FD_FORMAT_PRETTY;
    sl_pretty_options_init(&s->popts);
    s->popts.utc = opts->utc;
    if (opts->path != NULL) {
        /* O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of blocking
         * the caller forever, and a full pipe or device is met by the EAGAIN
         * rule above. Regular files ignore the flag. */
        s->fd = open(opts->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK,
                     0644);
        s->close_fd = true;
        if (s->fd < 0) {
            int e = errno;
            pthread_mutex_destroy(&s->mu);
            sl__free(s->buf);
            sl__free(s);
            return sl__error_set(err, SL_EIO, "path", opts->path, -1, "file %s: %s",
                                 opts->path, strerror(e));
        }
        sl_status rst = sl__rotor_new(opts, s->fd, &s->rotor);
        if (rst != SL_OK) {
            close(s->fd);
            pthread_mutex_destroy(&s->mu);
            sl__free(s->buf);
            sl__free(s);
            return sl__error_set(
                err, rst, rst == SL_ENOTSUP ? "compress" : "rotate", NULL, -1,
                rst == SL_ENOTSUP ? "file %s: compress needs zlib, which this spanlog "
                                    "was built without"
                                  : "file %s: rotation options out of range",
                opts->path);
        }
    } else {
        s->fd = opts->fd;
        s->close_fd = opts->close_fd;
    }
    s->popts.color = s->pretty && sl_pretty_use_color(s->fd, opts->color);

    sl_status st = sl_sink_new(&fd_vtable, s, out);
    if (st != SL_OK) {
        /* the state is still ours: undo without closing a caller's fd */
        if (opts->path != NULL) {
            close(s->fd);
        }
        sl__rotor_free(s->rotor);
        pthread_mutex_destroy(&s->mu);
        sl__free(s->buf);
        sl__free(s);
        *out = NULL;
        return sl__error_set(err, st, NULL, NULL, -1, "fd sink: %s", sl_strerror(st));
    }
    s->sink = *out;
    return SL_OK;
}

sl_status sl_stdout_sink_new(sl_sink **out)
{
    return sl_fd_sink_new(NULL, out, NULL);
}
