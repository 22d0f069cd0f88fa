/*
 * fd_async.c - the fd sink's asynchronous mode: each thread copies its line
 * into a bounded byte ring of its own and returns; one writer thread per
 * sink gathers what every ring holds and writes it with one writev(2).
 *
 *   thread A ──copy, publish head──▶ ring A [tail ... head) ─┐
 *   thread B ──copy, publish head──▶ ring B [tail ... head) ─┼─▶ writer:
 *                                                            │   writev(fd,
 *   ...                                                      ┘   1-2 pieces
 *                                                                per ring)
 *
 * A ring has one producer (its thread) and one consumer (the writer), so the
 * record path takes no lock: it reads the writer's tail, copies, and
 * publishes its head with a release store (the head packs the ring's record
 * count with its byte count, so the writer knows exactly how many records a
 * range holds). Measured against the earlier single ring under an adaptive
 * mutex (docs/performance.md, History), the per-thread rings keep the
 * callers off each other's cache lines; the price is the order across
 * threads: lines of one thread stay in call order, lines of different
 * threads are written ring by ring.
 *
 * Guarantees, as for the synchronous sink:
 *   - whole lines: a line is copied in whole or not at all, and each ring is
 *     written in order, so the file only ever holds complete lines;
 *   - every record counted: written once it reached the fd; dropped when
 *     its ring had no room (policy DROP: at once; policy BLOCK: after
 *     waiting up to block_ms for room), when the write failed, or when the
 *     sink closed with records still queued past its deadline;
 *   - flush waits (bounded) until everything queued in every ring before it
 *     is written; the logger's exit flush (logger.c, atexit) calls it for
 *     every live sink, so records queued before exit() reach the fd;
 *   - records at sync_level or above are queued and then waited for: they
 *     (and everything their thread queued before) are written before the
 *     call returns;
 *   - fork: the child starts with empty rings (the parent writes what they
 *     held), the other threads' rings orphaned, and no writer thread, which
 *     the child's first record starts again;
 *   - a line larger than the ring is written by the caller itself, after its
 *     own ring has drained, under the I/O lock the writer holds for its
 *     writes (so lines never interleave);
 *   - a thread's ring outlives the thread until the writer has written what
 *     it holds, and the sink until the thread exits (a reference each).
 *
 * The writer does not wake for every record: a caller signals it only when
 * it sleeps (idle) or when the caller's ring passes half full; otherwise the
 * writer, while records keep coming, naps for at most NAP_US between passes.
 * The idle flag is read without a fence after the head is published, so a
 * wake-up can be missed in a narrow race; the idle writer therefore never
 * sleeps longer than IDLE_WAIT_MS (flush, close and synchronous records wake
 * it explicitly, under the lock).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "adapters/stdout/fd_async.h"
#include "internal.h"

#define NAP_US             200
#define IDLE_AFTER_NAPS    500 /* ~100 ms without records: idle */
#define IDLE_WAIT_MS       50
#define EAGAIN_WAIT_MS     100
#define MIN_QUEUE_BYTES    4096
#define MAX_QUEUE_BYTES    ((size_t)1 << 30) /* a position's byte part is 32 bits */
#define DESTROY_TIMEOUT_MS 1000
#define GATHER_RINGS       64 /* rings per writev: 2 pieces each, far below IOV_MAX */

/*
 * A position: records ever published in the high 32 bits, bytes ever
 * published (mod 2^32) in the low 32. Differences of either half are exact
 * as long as a ring holds fewer than 2^32 of each (cap <= 2^30).
 */
#define POS_REC(p)      ((uint32_t)((p) >> 32))
#define POS_BYTES(p)    ((uint32_t)(p))
#define POS(rec, bytes) (((uint64_t)(uint32_t)(rec) << 32) | (uint32_t)(bytes))

typedef struct fd_async fd_async;

typedef struct tring {
    _Atomic uint64_t head; /* the producer's: published position */
    char pad0[56];
    _Atomic uint64_t tail; /* the writer's: position written or dropped */
    char pad1[56];
    _Atomic int busy;   /* the producer is inside async_write (see close) */
    _Atomic int refs;   /* the thread's and the sink's */
    _Atomic int orphan; /* the thread exited (or is gone after fork) */
    _Atomic int gone;   /* the sink was destroyed: the thread drops its entry */
    _Atomic int kicked; /* the producer signalled the writer since its last pass */
    uint64_t sink_id;   /* which sink (ids are never reused) */
    char *buf;
    size_t cap;
    struct tring *next;  /* the sink's list (a->mu) */
    struct tring *tnext; /* the thread's list (that thread only) */
} tring;

struct fd_async {
    sl_sink *sink;
    uint64_t id;
    int fd;
    bool close_fd;
    sl_fd_overflow overflow;
    int block_ms;
    sl_level sync_level;
    size_t ring_cap;

    pthread_mutex_t mu;    /* the ring list, the writer's state, the condvars */
    pthread_mutex_t io_mu; /* held around every write to the fd */
    pthread_cond_t wake;   /* writer: records queued, or stop */
    pthread_cond_t room;   /* callers (BLOCK): a tail moved */
    pthread_cond_t done;   /* flushers and sync records: a tail moved */
    tring *rings;
    _Atomic int idle;    /* the writer sleeps until woken (or IDLE_WAIT_MS) */
    _Atomic int closed;  /* records are dropped from now on */
    _Atomic int running; /* a writer thread exists (in this process) */
    bool stop;
    bool abandon;     /* close past its deadline: the writer stops after its pass */
    unsigned waiters; /* threads in wait_written: no ring is reaped meanwhile */
    pthread_t thread;
};

static atomic_uint_fast64_t next_sink_id = 1;

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

/* Deadline for a condition wait, ns from now (CLOCK_REALTIME: the condvars'
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

/* ---- ring lifetime -------------------------------------------------------- */

static void ring_unref(tring *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        sl__free(r->buf);
        sl__free(r);
    }
}

/* The calling thread's rings, one per async sink it has written to. */
static _Thread_local tring *tl_rings;
static pthread_key_t rings_key;
static pthread_once_t rings_once = PTHREAD_ONCE_INIT;
static int rings_key_ok;

/* Thread exit: the writer drains and unlinks each ring; the thread's
 * reference goes now. */
static void rings_destructor(void *p)
{
    (void)p;
    tring *r = tl_rings;
    tl_rings = NULL;
    while (r != NULL) {
        tring *next = r->tnext;
        atomic_store_explicit(&r->orphan, 1, memory_order_release);
        ring_unref(r);
        r = next;
    }
}

static void rings_key_create(void)
{
    rings_key_ok = pthread_key_create(&rings_key, rings_destructor) == 0;
}

/* This thread's ring for a, created on its first record; NULL: no memory
 * (or no thread-exit hook, without which a ring could never be released). */
static tring *ring_get(fd_async *a)
{
    tring **pp = &tl_rings;
    for (tring *r = *pp; r != NULL; r = *pp) {
        if (r->sink_id == a->id) {
            return r;
        }
        if (atomic_load_explicit(&r->gone, memory_order_acquire)) {
            *pp = r->tnext; /* its sink was destroyed */
            ring_unref(r);
            continue;
        }
        pp = &r->tnext;
    }
    pthread_once(&rings_once, rings_key_create);
    if (!rings_key_ok || pthread_setspecific(rings_key, (void *)1) != 0) {
        return NULL;
    }
    tring *r = sl__calloc(1, sizeof *r);
    char *buf = r != NULL ? sl__malloc(a->ring_cap) : NULL;
    if (buf == NULL) {
        sl__free(r);
        return NULL;
    }
    r->buf = buf;
    r->cap = a->ring_cap;
    r->sink_id = a->id;
    atomic_init(&r->refs, 2);
    pthread_mutex_lock(&a->mu);
    r->next = a->rings;
    a->rings = r;
    pthread_mutex_unlock(&a->mu);
    r->tnext = tl_rings;
    tl_rings = r;
    return r;
}

/* ---- the writer ------------------------------------------------------------ */

typedef struct taken {
    tring *r;
    uint64_t to; /* the head taken */
} taken;

/*
 * Writes what the rings in t[0..n) hold up to their taken heads with one
 * writev, counts it, and moves their tails. Outside mu.
 */
static void write_taken(fd_async *a, taken *t, size_t n)
{
    struct iovec iov[2 * GATHER_RINGS];
    int niov = 0;
    uint64_t nrec = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        tring *r = t[i].r;
        uint64_t from = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint32_t len = POS_BYTES(t[i].to) - POS_BYTES(from);
        size_t off = POS_BYTES(from) & (r->cap - 1);
        size_t first = len <= r->cap - off ? len : r->cap - off;
        iov[niov].iov_base = r->buf + off;
        iov[niov++].iov_len = first;
        if (first < len) {
            iov[niov].iov_base = r->buf;
            iov[niov++].iov_len = len - first;
        }
        nrec += POS_REC(t[i].to) - POS_REC(from);
        total += len;
    }
    struct iovec keep[2 * GATHER_RINGS];
    memcpy(keep, iov, (size_t)niov * sizeof iov[0]);
    int err;
    pthread_mutex_lock(&a->io_mu);
    size_t done = writev_all(a->fd, iov, niov, &err);
    pthread_mutex_unlock(&a->io_mu);
    uint64_t written = nrec;
    if (done < total) {
        /* Whole lines up to the failure were written; count them. */
        written = 0;
        size_t left = done;
        for (int i = 0; i < niov && left > 0; i++) {
            size_t part = left < keep[i].iov_len ? left : keep[i].iov_len;
            written += sl__fd_count_lines(keep[i].iov_base, part);
            left -= part;
        }
    }
    if (written > 0) {
        sl_sink_count_written(a->sink, written);
    }
    if (written < nrec) {
        sl_sink_count_dropped(a->sink, nrec - written);
        report(a, err, nrec - written);
    }
    for (size_t i = 0; i < n; i++) {
        atomic_store_explicit(&t[i].r->kicked, 0, memory_order_relaxed);
        atomic_store_explicit(&t[i].r->tail, t[i].to, memory_order_release);
    }
}

/* mu held: unlinks and releases orphaned rings with nothing left. */
static void reap_orphans(fd_async *a)
{
    tring **pp = &a->rings;
    for (tring *r = *pp; r != NULL; r = *pp) {
        if (atomic_load_explicit(&r->orphan, memory_order_acquire) &&
            atomic_load_explicit(&r->head, memory_order_acquire) ==
                atomic_load_explicit(&r->tail, memory_order_relaxed)) {
            *pp = r->next;
            ring_unref(r);
            continue;
        }
        pp = &r->next;
    }
}

static void *writer_main(void *arg)
{
    fd_async *a = arg;
    unsigned naps = 0;
    taken t[GATHER_RINGS];
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (a->abandon) {
            break; /* close() counts what is left as dropped */
        }
        /* Take what every ring holds, GATHER_RINGS rings per writev. */
        bool any = false;
        tring *r = a->rings;
        while (r != NULL) {
            size_t n = 0;
            for (; r != NULL && n < GATHER_RINGS; r = r->next) {
                uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
                if (h != atomic_load_explicit(&r->tail, memory_order_relaxed)) {
                    t[n].r = r;
                    t[n++].to = h;
                }
            }
            if (n > 0) {
                any = true;
                /* Rings are unlinked only here, by this thread: the ones
                 * taken stay valid while mu is released. */
                pthread_mutex_unlock(&a->mu);
                write_taken(a, t, n);
                pthread_mutex_lock(&a->mu);
            }
        }
        if (any) {
            naps = 0;
            pthread_cond_broadcast(&a->room);
            pthread_cond_broadcast(&a->done);
            continue;
        }
        if (a->waiters == 0) {
            reap_orphans(a); /* a waiter may be walking the list */
        }
        if (a->stop) {
            break;
        }
        if (naps < IDLE_AFTER_NAPS) {
            naps++;
            struct timespec ts = deadline_in((int64_t)NAP_US * 1000);
            (void)pthread_cond_timedwait(&a->wake, &a->mu, &ts);
            continue;
        }
        atomic_store(&a->idle, 1);
        /* One more look after the flag is up: a record published before a
         * producer could see it is taken now. */
        bool pending = false;
        for (tring *q = a->rings; q != NULL && !pending; q = q->next) {
            pending = atomic_load(&q->head) != atomic_load(&q->tail);
        }
        if (!pending) {
            struct timespec ts = deadline_in((int64_t)IDLE_WAIT_MS * 1000000);
            (void)pthread_cond_timedwait(&a->wake, &a->mu, &ts);
        }
        atomic_store(&a->idle, 0);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Makes sure a writer thread runs (first record, or after fork). */
static bool ensure_writer(fd_async *a)
{
    if (atomic_load_explicit(&a->running, memory_order_acquire)) {
        return true;
    }
    pthread_mutex_lock(&a->mu);
    bool ok = atomic_load_explicit(&a->running, memory_order_relaxed) != 0;
    if (!ok && !a->stop && pthread_create(&a->thread, NULL, writer_main, a) == 0) {
        atomic_store_explicit(&a->running, 1, memory_order_release);
        ok = true;
    }
    pthread_mutex_unlock(&a->mu);
    return ok;
}

/* Whether ring r's tail has reached position `pos` (its record count). */
static bool reached(tring *r, uint64_t pos)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    return (int32_t)(POS_REC(t) - POS_REC(pos)) >= 0;
}

/* mu held: waits until ring r (NULL: every ring, at the heads it has now)
 * is written up to its current head, or the deadline (ns, monotonic; 0:
 * none) passes. Returns true when it was. */
static bool wait_written_locked(fd_async *a, tring *only, int64_t deadline);

static bool wait_written(fd_async *a, tring *only, int64_t deadline)
{
    a->waiters++;
    bool ok = wait_written_locked(a, only, deadline);
    a->waiters--;
    return ok;
}

static bool wait_written_locked(fd_async *a, tring *only, int64_t deadline)
{
    /* The heads to reach, kept in the rings' order: only this list's rings
     * exist while mu is held (the writer unlinks under it). */
    for (tring *r = only != NULL ? only : a->rings; r != NULL;
         r = only != NULL ? NULL : r->next) {
        uint64_t pos = atomic_load_explicit(&r->head, memory_order_acquire);
        while (!reached(r, pos)) {
            if (!atomic_load_explicit(&a->running, memory_order_relaxed)) {
                return false;
            }
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
    }
    return true;
}

/* The caller writes the line itself, once its ring has drained. */
static void write_direct(fd_async *a, tring *r, const char *line, size_t len)
{
    if (r != NULL) {
        pthread_mutex_lock(&a->mu);
        (void)wait_written(a, r, 0);
        pthread_mutex_unlock(&a->mu);
    }
    struct iovec iov = {.iov_base = (void *)line, .iov_len = len};
    int err;
    pthread_mutex_lock(&a->io_mu);
    size_t done = writev_all(a->fd, &iov, 1, &err);
    pthread_mutex_unlock(&a->io_mu);
    if (done == len) {
        sl_sink_count_written(a->sink, 1);
    } else {
        sl_sink_count_dropped(a->sink, 1);
        report(a, err, 1);
    }
}

/* r has no room for len bytes (BLOCK): waits up to block_ms for the writer.
 * Returns true when there is room. */
static bool wait_room(fd_async *a, tring *r, size_t len, uint64_t h)
{
    int64_t deadline = sl__monotonic_ns() + (int64_t)a->block_ms * 1000000;
    bool ok = false;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r->cap - (uint32_t)(POS_BYTES(h) - POS_BYTES(t)) >= len) {
            ok = true;
            break;
        }
        if (atomic_load_explicit(&a->closed, memory_order_relaxed)) {
            break;
        }
        pthread_cond_signal(&a->wake);
        int64_t left = deadline - sl__monotonic_ns();
        if (left <= 0) {
            break;
        }
        struct timespec ts = deadline_in(left);
        (void)pthread_cond_timedwait(&a->room, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    return ok;
}

static void kick(fd_async *a)
{
    pthread_mutex_lock(&a->mu);
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
}

static void async_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    fd_async *a = sl_sink_state(sink);
    tring *r = ring_get(a);
    if (r == NULL) {
        sl_sink_count_dropped(sink, 1);
        return;
    }
    /* busy before closed is read, both seq_cst: close() either sees busy
     * or this call sees closed (the one fence on the record path). */
    atomic_store(&r->busy, 1);
    if (atomic_load(&a->closed)) {
        atomic_store_explicit(&r->busy, 0, memory_order_release);
        sl_sink_count_dropped(sink, 1);
        return;
    }
    if (!ensure_writer(a) || len > r->cap) {
        /* no thread to hand it to, or bigger than the ring */
        write_direct(a, r, line, len);
        atomic_store_explicit(&r->busy, 0, memory_order_release);
        return;
    }
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t used = (uint32_t)(POS_BYTES(h) - POS_BYTES(t));
    if (r->cap - used < len) {
        if (a->overflow != SL_FD_OVERFLOW_BLOCK || a->block_ms <= 0 ||
            !wait_room(a, r, len, h)) {
            if (atomic_load_explicit(&a->idle, memory_order_relaxed)) {
                kick(a);
            }
            atomic_store_explicit(&r->busy, 0, memory_order_release);
            sl_sink_count_dropped(sink, 1);
            return;
        }
        t = atomic_load_explicit(&r->tail, memory_order_acquire);
        used = (uint32_t)(POS_BYTES(h) - POS_BYTES(t));
    }
    size_t off = POS_BYTES(h) & (r->cap - 1);
    size_t first = len <= r->cap - off ? len : r->cap - off;
    memcpy(r->buf + off, line, first);
    if (first < len) {
        memcpy(r->buf, line + first, len - first);
    }
    uint64_t pos = POS(POS_REC(h) + 1, POS_BYTES(h) + (uint32_t)len);
    atomic_store_explicit(&r->head, pos, memory_order_release);
    if (atomic_load_explicit(&a->idle, memory_order_relaxed) ||
        (used + len > r->cap / 2 &&
         !atomic_exchange_explicit(&r->kicked, 1, memory_order_relaxed))) {
        kick(a);
    }
    if (rec != NULL && rec->level >= a->sync_level) {
        pthread_mutex_lock(&a->mu);
        (void)wait_written(a, r, 0);
        pthread_mutex_unlock(&a->mu);
    }
    atomic_store_explicit(&r->busy, 0, memory_order_release);
}

static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? 0
                          : sl__monotonic_ns() + (int64_t)timeout_ms * 1000000 +
                                (timeout_ms == 0 ? 1 : 0);
}

static sl_status async_flush(sl_sink *sink, int timeout_ms)
{
    fd_async *a = sl_sink_state(sink);
    int64_t deadline = deadline_of(timeout_ms);
    pthread_mutex_lock(&a->mu);
    bool ok = wait_written(a, NULL, deadline);
    pthread_mutex_unlock(&a->mu);
    return ok ? SL_OK : SL_ETIMEDOUT;
}

/* Stops the writer once the rings are empty or the deadline passed; whatever
 * is left is counted as dropped. */
static sl_status async_close(sl_sink *sink, int timeout_ms)
{
    fd_async *a = sl_sink_state(sink);
    sl_status st = async_flush(sink, timeout_ms);
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->closed, 1);
    pthread_cond_broadcast(&a->room);
    /* Callers already past the closed check finish (a BLOCK wait sees
     * closed); nothing enters a ring after that. */
    for (tring *r = a->rings; r != NULL; r = r->next) {
        while (atomic_load(&r->busy)) {
            pthread_mutex_unlock(&a->mu);
            sched_yield();
            pthread_mutex_lock(&a->mu);
        }
    }
    a->stop = true;
    a->abandon = st != SL_OK; /* past the deadline: no further pass */
    pthread_cond_signal(&a->wake);
    bool join = atomic_load(&a->running) != 0;
    pthread_mutex_unlock(&a->mu);
    if (join) {
        pthread_join(a->thread, NULL);
        atomic_store(&a->running, 0);
    }
    /* What the writer did not take (no writer, or past the deadline it had
     * stopped before): dropped, counted. */
    uint64_t left = 0;
    for (tring *r = a->rings; r != NULL; r = r->next) {
        uint64_t h = atomic_load(&r->head), t = atomic_load(&r->tail);
        left += POS_REC(h) - POS_REC(t);
        atomic_store(&r->tail, h);
    }
    if (left > 0) {
        sl_sink_count_dropped(sink, left);
    }
    if (a->close_fd && a->fd >= 0) {
        close(a->fd);
        a->fd = -1;
    }
    return st;
}

/* The state's locks, condition variables and memory (no thread left); each
 * ring loses the sink's reference, its buffer goes now. */
static void state_free(fd_async *a)
{
    tring *r = a->rings;
    while (r != NULL) {
        tring *next = r->next;
        sl__free(r->buf); /* its thread never reads it again: ids differ */
        r->buf = NULL;
        atomic_store_explicit(&r->gone, 1, memory_order_release);
        ring_unref(r);
        r = next;
    }
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->room);
    pthread_cond_destroy(&a->done);
    pthread_mutex_destroy(&a->io_mu);
    pthread_mutex_destroy(&a->mu);
    sl__free(a);
}

static void async_destroy(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    if (a == NULL) {
        return;
    }
    if (!atomic_load(&a->closed)) {
        (void)async_close(sink, DESTROY_TIMEOUT_MS);
    }
    state_free(a);
}

static void async_atfork_prepare(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    pthread_mutex_lock(&a->mu);
    pthread_mutex_lock(&a->io_mu);
}

static void async_atfork_parent(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    pthread_mutex_unlock(&a->io_mu);
    pthread_mutex_unlock(&a->mu);
}

static bool own_ring(const tring *r)
{
    for (const tring *q = tl_rings; q != NULL; q = q->tnext) {
        if (q == r) {
            return true;
        }
    }
    return false;
}

static void async_atfork_child(sl_sink *sink)
{
    fd_async *a = sl_sink_state(sink);
    /* No writer thread here, and only this thread: the parent writes what
     * the rings hold; the other threads' rings are orphans, reaped by the
     * child's writer. The condition variables may have had waiters in the
     * parent: start them afresh. */
    atomic_store(&a->running, 0);
    atomic_store(&a->idle, 0);
    for (tring *r = a->rings; r != NULL; r = r->next) {
        atomic_store(&r->tail, atomic_load(&r->head));
        atomic_store(&r->busy, 0);
        atomic_store(&r->kicked, 0);
        if (!own_ring(r)) {
            atomic_store(&r->orphan, 1);
        }
    }
    pthread_cond_init(&a->wake, NULL);
    pthread_cond_init(&a->room, NULL);
    pthread_cond_init(&a->done, NULL);
    pthread_mutex_unlock(&a->io_mu);
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
    a->id = atomic_fetch_add(&next_sink_id, 1);
    a->fd = fd;
    a->close_fd = close_fd;
    a->overflow = o->overflow;
    a->block_ms = o->block_ms;
    a->sync_level = o->sync_level;
    /* a power of two, so that a position in a ring is a mask away */
    size_t want = o->queue_bytes == 0 ? SL__FD_DEFAULT_QUEUE : o->queue_bytes;
    a->ring_cap = MIN_QUEUE_BYTES;
    while (a->ring_cap < want && a->ring_cap < MAX_QUEUE_BYTES) {
        a->ring_cap *= 2;
    }
    if (sl__fd_mutex_init(&a->mu) != 0) {
        sl__free(a);
        return SL_ENOMEM;
    }
    if (sl__fd_mutex_init(&a->io_mu) != 0) {
        pthread_mutex_destroy(&a->mu);
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
