/*
 * fd_async.c - the fd sink's asynchronous mode: the caller copies its line
 * into one bounded byte ring and returns; a writer thread writes everything
 * queued so far with one writev(2) (two pieces when the ring wraps).
 *
 *   caller ──lock: copy line into ring, count it──▶ ring [tail ... head)
 *                                                      │ writer: lock, take
 *                                                      │ [tail, head), unlock
 *                                                      ▼
 *                                               writev(fd, 1-2 pieces)
 *                                               lock: tail = head, count
 *
 * One ring shared by every thread, under an adaptive mutex held only for
 * the copy of one line (a few tens of ns), rather than one ring per thread:
 * a single ring keeps lines in call order, needs no registration of
 * threads or draining of dead threads' rings, and its lock is short enough
 * that contention costs less than the writer's scan of N rings would.
 *
 * Guarantees, as for the synchronous sink:
 *   - whole lines: a line is copied in whole or not at all, and the ring is
 *     written in order, so the file only ever holds complete lines;
 *   - every record counted: written once it reached the fd; dropped when
 *     the ring had no room (policy DROP: at once; policy BLOCK: after
 *     waiting up to block_ms for room), when the write failed, or when the
 *     sink closed with records still queued past its deadline;
 *   - flush waits (bounded) until everything queued before it is written;
 *     the logger's exit flush (logger.c, atexit) calls it for every live
 *     sink, so records queued before exit() reach the fd;
 *   - records at sync_level or above are queued and then waited for: they
 *     (and everything before them) are written before the call returns;
 *   - fork: the sink's atfork slots take the ring lock around fork(); the
 *     child starts with an empty ring (the parent writes what it held) and
 *     no writer thread, which the child's first record starts again;
 *   - a line larger than the ring is written by the caller itself, after
 *     the ring has drained, under the ring lock (so order is kept).
 *
 * The writer does not wake for every record: a caller signals it only when
 * it is asleep with nothing queued (idle), or when the ring passes half
 * full; otherwise the writer, while records keep coming, naps for at most
 * NAP_US between writes. The waking futex call then stays off most calls.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "adapters/stdout/fd_async.h"
#include "internal.h"

#define NAP_US             200
#define IDLE_AFTER_NAPS    500 /* ~100 ms without records: sleep until woken */
#define EAGAIN_WAIT_MS     100
#define MIN_QUEUE_BYTES    4096
#define DESTROY_TIMEOUT_MS 1000

typedef struct fd_async {
    sl_sink *sink;
    int fd;
    bool close_fd;
    sl_fd_overflow overflow;
    int block_ms;
    sl_level sync_level;

    pthread_mutex_t mu;
    pthread_cond_t wake; /* writer: records queued, or stop */
    pthread_cond_t room; /* callers (BLOCK): tail moved */
    pthread_cond_t done; /* flushers and sync records: written count moved */
    char *ring;
    size_t cap;
    uint64_t head;     /* bytes ever queued (under mu) */
    uint64_t tail;     /* bytes ever taken off by the writer (under mu) */
    uint64_t queued;   /* records ever queued */
    uint64_t finished; /* records ever written or dropped by the writer */
    bool writing;      /* the writer holds [tail, head) outside the lock */
    bool idle;         /* the writer sleeps until woken */
    bool stop;
    bool closed;
    bool running; /* a writer thread exists (in this process) */
    pthread_t thread;
} fd_async;

/* ---- writing -------------------------------------------------------------- */

/*
 * Writes the pieces in order, finishing short writes; EINTR retried, EAGAIN
 * polled for up to EAGAIN_WAIT_MS in all. Returns the bytes written; *err
 * is set (errno, or ETIMEDOUT) when it is less than the total.
 */
static size_t writev_all(int fd, struct iovec *iov, int n, int *err)
{
    size_t done = 0;
    int64_t deadline = 0;
    *err = 0;
    while (n > 0) {
        if (iov[0].iov_len == 0) {
            iov++;
            n--;
            continue;
        }
        ssize_t r = writev(fd, iov, n);
        if (r > 0) {
            size_t left = (size_t)r;
            done += left;
            while (n > 0 && left >= iov[0].iov_len) {
                left -= iov[0].iov_len;
                iov++;
                n--;
            }
            if (n > 0) {
                iov[0].iov_base = (char *)iov[0].iov_base + left;
                iov[0].iov_len -= left;
            }
            continue;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t now = sl__monotonic_ns();
            if (deadline == 0) {
                deadline = now + (int64_t)EAGAIN_WAIT_MS * 1000000;
            }
            if (now >= deadline) {
                *err = ETIMEDOUT;
                return done;
            }
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            (void)poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
            continue;
        }
        *err = r < 0 ? errno : EIO;
        return done;
    }
    return done;
}

static void report(fd_async *a, int err, uint64_t dropped)
{
    if (err == ETIMEDOUT) {
        sl_sink_report_error(a->sink, SL_EAGAIN,
                             "fd %d stayed full for %d ms: %llu record(s) dropped", a->fd,
                             EAGAIN_WAIT_MS, (unsigned long long)dropped);
    } else if (err != 0) {
        sl_sink_report_error(a->sink, SL_EIO,
                             "write to fd %d: %s: %llu record(s) dropped", a->fd,
                             strerror(err), (unsigned long long)dropped);
    }
}

/* Deadline for a condition wait, ms from now (CLOCK_REALTIME: the condvars'
 * default clock). */
static struct timespec deadline_in(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ns += ts.tv_nsec;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

static void *writer_main(void *arg)
{
    fd_async *a = arg;
    unsigned naps = 0;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (a->head == a->tail) {
            if (a->stop) {
                break;
            }
            if (naps < IDLE_AFTER_NAPS) {
                naps++;
                struct timespec ts = deadline_in((int64_t)NAP_US * 1000);
                (void)pthread_cond_timedwait(&a->wake, &a->mu, &ts);
            } else {
                a->idle = true;
                (void)pthread_cond_wait(&a->wake, &a->mu);
                a->idle = false;
            }
            continue;
        }
        naps = 0;
        /* Take everything queued: one or two pieces of the ring. */
        uint64_t from = a->tail, to = a->head;
        uint64_t nrec = a->queued - a->finished;
        size_t off = (size_t)from & (a->cap - 1), n = (size_t)(to - from);
        struct iovec iov[2];
        int niov = 1;
        iov[0].iov_base = a->ring + off;
        iov[0].iov_len = n <= a->cap - off ? n : a->cap - off;
        if (iov[0].iov_len < n) {
            iov[1].iov_base = a->ring;
            iov[1].iov_len = n - iov[0].iov_len;
            niov = 2;
        }
        struct iovec keep[2] = {iov[0], iov[1]};
        a->writing = true;
        pthread_mutex_unlock(&a->mu);

        int err;
        size_t done = writev_all(a->fd, iov, niov, &err);
        uint64_t written = nrec;
        if (done < n) {
            size_t first = done < keep[0].iov_len ? done : keep[0].iov_len;
            written = sl__fd_count_lines(keep[0].iov_base, first);
            if (niov == 2 && done > first) {
                written += sl__fd_count_lines(keep[1].iov_base, done - first);
            }
        }
        if (written > 0) {
            sl_sink_count_written(a->sink, written);
        }
        if (written < nrec) {
            sl_sink_count_dropped(a->sink, nrec - written);
            report(a, err, nrec - written);
        }

        pthread_mutex_lock(&a->mu);
        a->writing = false;
        a->tail = to;
        a->finished += nrec;
        pthread_cond_broadcast(&a->room);
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* mu held: makes sure a writer thread runs (first record, or after fork). */
static bool ensure_writer(fd_async *a)
{
    if (a->running) {
        return true;
    }
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
        return false;
    }
    a->running = true;
    return true;
}

/* mu held: waits until every record queued up to `seq` is finished, or the
 * deadline (ns, monotonic; 0: none) passes. Returns true when finished. */
static bool wait_finished(fd_async *a, uint64_t seq, int64_t deadline)
{
    while (a->finished < seq && a->running) {
        /* napping or idle, the writer is woken: a waiter wants it now */
        pthread_cond_signal(&a->wake);
        if (deadline == 0) {
            pthread_cond_wait(&a->done, &a->mu);
            continue;
        }
        int64_t left = deadline - sl__monotonic_ns();
        if (left <= 0) {
            return false;
        }
        struct timespec ts = deadline_in(left);
        (void)pthread_cond_timedwait(&a->done, &a->mu, &ts);
    }
    return a->finished >= seq;
}

/* mu held, ring drained, writer not writing: the caller writes itself. */
static void write_direct(fd_async *a, const char *line, size_t len)
{
    struct iovec iov = {.iov_base = (void *)line, .iov_len = len};
    int err;
    if (writev_all(a->fd, &iov, 1, &err) == len) {
        sl_sink_count_written(a->sink, 1);
    } else {
        sl_sink_count_dropped(a->sink, 1);
        report(a, err, 1);
    }
}

static void async_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    fd_async *a = sl_sink_state(sink);
    pthread_mutex_lock(&a->mu);
    if (a->closed) {
        pthread_mutex_unlock(&a->mu);
        sl_sink_count_dropped(sink, 1);
        return;
    }
    bool have_writer = ensure_writer(a);
    if (!have_writer || len > a->cap) {
        /* no thread to hand it to, or bigger than the ring: write it here,
         * after what is queued, so that order is kept */
        (void)wait_finished(a, a->queued, 0);
        while (a->writing) {
            pthread_cond_wait(&a->done, &a->mu);
        }
        write_direct(a, line, len);
        pthread_mutex_unlock(&a->mu);
        return;
    }
    if (a->cap - (size_t)(a->head - a->tail) < len) {
        if (a->overflow == SL_FD_OVERFLOW_BLOCK && a->block_ms > 0) {
            int64_t deadline = sl__monotonic_ns() + (int64_t)a->block_ms * 1000000;
            while (a->cap - (size_t)(a->head - a->tail) < len && !a->closed) {
                pthread_cond_signal(&a->wake);
                int64_t left = deadline - sl__monotonic_ns();
                if (left <= 0) {
                    break;
                }
                struct timespec ts = deadline_in(left);
                (void)pthread_cond_timedwait(&a->room, &a->mu, &ts);
            }
        }
        if (a->closed || a->cap - (size_t)(a->head - a->tail) < len) {
            if (a->idle) {
                pthread_cond_signal(&a->wake);
            }
            pthread_mutex_unlock(&a->mu);
            sl_sink_count_dropped(sink, 1);
            return;
        }
    }
    size_t off = (size_t)a->head & (a->cap - 1);
    size_t first = len <= a->cap - off ? len : a->cap - off;
    memcpy(a->ring + off, line, first);
    if (first < len) {
        memcpy(a->ring, line + first, len - first);
    }
    a->head += len;
    a->queued++;
    uint64_t seq = a->queued;
    if (a->idle || (size_t)(a->head - a->tail) > a->cap / 2) {
        pthread_cond_signal(&a->wake);
    }
    if (rec != NULL && rec->level >= a->sync_level) {
        (void)wait_finished(a, seq, 0);
    }
    pthread_mutex_unlock(&a->mu);
}

static sl_status async_flush(sl_sink *sink, int timeout_ms)
{
    fd_async *a = sl_sink_state(sink);
    int64_t deadline = timeout_ms < 0
                           ? 0
                           : sl__monotonic_ns() + (int64_t)timeout_ms * 1000000 +
                                 (timeout_ms == 0 ? 1 : 0);
    pthread_mutex_lock(&a->mu);
    bool ok = wait_finished(a, a->queued, deadline);
    pthread_mutex_unlock(&a->mu);
    return ok ? SL_OK : SL_ETIMEDOUT;
}

/* Stops the writer once the ring is empty or the deadline passed; whatever
 * is left is counted as dropped. */
static sl_status async_close(sl_sink *sink, int timeout_ms)
{
    fd_async *a = sl_sink_state(sink);
    sl_status st = async_flush(sink, timeout_ms);
    pthread_mutex_lock(&a->mu);
    a->closed = true;
    pthread_cond_broadcast(&a->room);
    bool join = a->running;
    if (st != SL_OK && a->running) {
        /* Past the deadline: the writer finishes the write it is in, and
         * what is still queued behind it is dropped. */
        while (a->writing) {
            pthread_cond_wait(&a->done, &a->mu);
        }
        uint64_t left = a->queued - a->finished;
        a->tail = a->head;
        a->finished = a->queued;
        if (left > 0) {
            sl_sink_count_dropped(sink, left);
        }
    }
    a->stop = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    if (join) {
        pthread_join(a->thread, NULL);
        a->running = false;
    }
    if (a->close_fd && a->fd >= 0) {
        close(a->fd);
        a->fd = -1;
    }
    return st;
}

/* The state's locks, condition variables and memory (no thread left). */
static void state_free(fd_async *a)
{
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->room);
    pthread_cond_destroy(&a->done);
    pthread_mutex_destroy(&a->mu);
    sl__free(a->ring);
    sl__free(a);
}

static void async_destroy(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    if (a == NULL) {
        return;
    }
    if (!a->closed) {
        (void)async_close(sink, DESTROY_TIMEOUT_MS);
    }
    state_free(a);
}

static void async_atfork_prepare(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    pthread_mutex_lock(&a->mu);
}

static void async_atfork_parent(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    pthread_mutex_unlock(&a->mu);
}

static void async_atfork_child(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    /* No writer thread here; the parent writes what the ring holds. The
     * condition variables may have had waiters in the parent: start them
     * afresh. */
    a->running = false;
    a->writing = false;
    a->idle = false;
    a->tail = a->head;
    a->finished = a->queued;
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->room, NULL);
    pthread_cond_init(&a->done, NULL);
    pthread_mutex_unlock(&a->mu);
}

static const sl_sink_vtable async_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "fd",
    .write = async_write,
    .flush = async_flush,
    .close = async_close,
    .destroy = async_destroy,
    .atfork_prepare = async_atfork_prepare,
    .atfork_parent = async_atfork_parent,
    .atfork_child = async_atfork_child,
};

sl_status sl__fd_async_check(const sl_fd_sink_options *o)
{
    if (o->queue_bytes != 0 && o->queue_bytes < MIN_QUEUE_BYTES) {
        return SL_EINVAL;
    }
    if (o->overflow != SL_FD_OVERFLOW_DROP && o->overflow != SL_FD_OVERFLOW_BLOCK) {
        return SL_EINVAL;
    }
    if (o->block_ms < 0) {
        return SL_EINVAL;
    }
    return SL_OK;
}

sl_status sl__fd_async_new(const sl_fd_sink_options *o, int fd, bool close_fd,
                           sl_sink **out)
{
    fd_async *a = sl__calloc(1, sizeof *a);
    if (a == NULL) {
        return SL_ENOMEM;
    }
    a->fd = fd;
    a->close_fd = close_fd;
    a->overflow = o->overflow;
    a->block_ms = o->block_ms;
    a->sync_level = o->sync_level;
    /* a power of two, so that a position in the ring is a mask away */
    size_t want = o->queue_bytes == 0 ? SL__FD_DEFAULT_QUEUE : o->queue_bytes;
    a->cap = MIN_QUEUE_BYTES;
    while (a->cap < want && a->cap <= SIZE_MAX / 4) {
        a->cap *= 2;
    }
    a->ring = sl__malloc(a->cap);
    if (a->ring == NULL) {
        sl__free(a);
        return SL_ENOMEM;
    }
    if (sl__fd_mutex_init(&a->mu) != 0) {
        sl__free(a->ring);
        sl__free(a);
        return SL_ENOMEM;
    }
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->room, NULL);
    pthread_cond_init(&a->done, NULL);
    sl_status st = sl_sink_new(&async_vtable, a, out);
    if (st != SL_OK) {
        state_free(a);
        return st;
    }
    a->sink = *out;
    return SL_OK;
}
