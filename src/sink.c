/*
 * sink.c - the sl_sink wrapper: vtable + state, counters, the rate-limited
 * error callback, and the registry of live sinks that carries fork().
 *
 *     registry (mutex) ── sink ⇄ sink ⇄ sink      (doubly linked, live sinks)
 *
 * pthread_atfork handlers walk the registry: prepare takes the registry lock
 * and then calls each sink's atfork_prepare (so a sink can take its own
 * locks); parent/child call the matching hooks in reverse order and release
 * the registry lock. Holding the lock across fork() means the child sees a
 * list that no other thread was in the middle of changing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "core.h"
#include "internal.h"

/* Sentinel for "no report yet": the first error is always reported. */
#define NEVER_REPORTED     INT64_MIN
#define REPORT_INTERVAL_NS 1000000000LL

/*
 * `written` is counted once per record, from every thread that logs. One
 * shared counter cost a locked add per record and, with two threads, the
 * cache line bouncing between them: 23 ns of a 135 ns record into the null
 * sink. So each of the first WRITTEN_SLOTS threads that count owns a slot
 * of its own in every sink (a cache line apart), which only it writes, with
 * a relaxed load and store; threads beyond that share `written` itself.
 * sl_sink_get_stats() sums them. A slot freed at thread exit passes to the
 * next thread, which adds on to it (the claim/release atomics order them).
 */
#define WRITTEN_SLOTS 16
#define SLOT_STRIDE   (64 / sizeof(uint64_t)) /* one slot per cache line */

#if defined(__GNUC__) || defined(__clang__)
#define SINK_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define SINK_TLS _Thread_local
#endif

struct sl_sink {
    const sl_sink_vtable *vt;
    void *state;

    /* Counters: updated with relaxed atomics from any thread. */
    uint64_t written;
    uint64_t dropped;
    uint64_t errors;

    /* Error callback (setup-time) and its lock-free rate limiter. */
    sl_error_fn on_error;
    void *on_error_user;
    int64_t last_report_ns; /* atomic; NEVER_REPORTED until the first report */
    uint64_t suppressed;    /* atomic; errors not reported since the last report */

    /* Registry links, guarded by registry_lock. */
    struct sl_sink *prev;
    struct sl_sink *next;
    bool registered;

    /* Per-thread `written` slots: slot i at (i + 1) * SLOT_STRIDE, so that
     * none shares a cache line with the fields above or another slot. */
    uint64_t written_slot[(WRITTEN_SLOTS + 1) * SLOT_STRIDE];
};

/* Bit i set: slot i is free. */
static uint32_t free_slots = (uint32_t)((1ULL << WRITTEN_SLOTS) - 1);
static pthread_once_t slot_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t slot_key;
static int slot_key_ok;
/* 0: not claimed yet; 1..WRITTEN_SLOTS: slot + 1; -1: none, use `written`. */
static SINK_TLS int tl_slot;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static sl_sink *registry_head;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* ---- fork handling ------------------------------------------------------ */

static void atfork_prepare(void)
{
    sl__cores_fork_lock();
    pthread_mutex_lock(&registry_lock);
    for (sl_sink *s = registry_head; s != NULL; s = s->next) {
        if (s->vt->atfork_prepare != NULL) {
            s->vt->atfork_prepare(s);
        }
    }
}

/* Reverse order of prepare, so sinks release what they took in LIFO order. */
static void call_after_fork(bool child)
{
    sl_sink *last = registry_head;
    while (last != NULL && last->next != NULL) {
        last = last->next;
    }
    for (sl_sink *s = last; s != NULL; s = s->prev) {
        void (*hook)(sl_sink *) = child ? s->vt->atfork_child : s->vt->atfork_parent;
        if (hook != NULL) {
            hook(s);
        }
    }
}

static void atfork_parent(void)
{
    call_after_fork(false);
    pthread_mutex_unlock(&registry_lock);
    sl__cores_fork_unlock();
}

static void atfork_child(void)
{
    call_after_fork(true);
    /* The forking thread took the locks in prepare; the child is that thread. */
    pthread_mutex_unlock(&registry_lock);
    sl__cores_fork_unlock();
}

static void install_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void sl__atfork_install(void)
{
    pthread_once(&atfork_once, install_atfork);
}

static void registry_add(sl_sink *s)
{
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&registry_lock);
    s->prev = NULL;
    s->next = registry_head;
    if (registry_head != NULL) {
        registry_head->prev = s;
    }
    registry_head = s;
    s->registered = true;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(sl_sink *s)
{
    pthread_mutex_lock(&registry_lock);
    if (s->registered) {
        if (s->prev != NULL) {
            s->prev->next = s->next;
        } else {
            registry_head = s->next;
        }
        if (s->next != NULL) {
            s->next->prev = s->prev;
        }
        s->prev = s->next = NULL;
        s->registered = false;
    }
    pthread_mutex_unlock(&registry_lock);
}

size_t sl__sink_live_count(void)
{
    size_t n = 0;
    pthread_mutex_lock(&registry_lock);
    for (sl_sink *s = registry_head; s != NULL; s = s->next) {
        n++;
    }
    pthread_mutex_unlock(&registry_lock);
    return n;
}

/* ---- life cycle ------------------------------------------------------------ */

sl_status sl_sink_new(const sl_sink_vtable *vtable, void *state, sl_sink **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (vtable == NULL || vtable->write == NULL || vtable->version < 1 ||
        vtable->version > SL_SINK_VTABLE_VERSION) {
        return SL_EINVAL;
    }
    sl_sink *s = sl__calloc(1, sizeof(*s));
    if (s == NULL) {
        return SL_ENOMEM;
    }
    s->vt = vtable;
    s->state = state;
    s->last_report_ns = NEVER_REPORTED;
    registry_add(s);
    *out = s;
    return SL_OK;
}

void *sl_sink_state(const sl_sink *sink)
{
    return sink != NULL ? sink->state : NULL;
}

const char *sl_sink_name(const sl_sink *sink)
{
    if (sink == NULL) {
        return "(null)";
    }
    return sink->vt->name != NULL ? sink->vt->name : "sink";
}

void sl_sink_free(sl_sink *sink, int close_timeout_ms)
{
    if (sink == NULL) {
        return;
    }
    /* Out of the registry first: no fork hook may see a half-destroyed sink. */
    registry_remove(sink);
    if (sink->vt->close != NULL) {
        (void)sink->vt->close(sink, close_timeout_ms);
    }
    if (sink->vt->destroy != NULL) {
        sink->vt->destroy(sink);
    }
    sl__free(sink);
}

sl_status sl_sink_flush(sl_sink *sink, int timeout_ms)
{
    if (sink == NULL) {
        return SL_EINVAL;
    }
    if (sink->vt->flush == NULL) {
        return SL_OK;
    }
    return sink->vt->flush(sink, timeout_ms);
}

void sl__sink_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    sink->vt->write(sink, rec, line, len);
}

/* ---- statistics ------------------------------------------------------------ */

/* At thread exit (the key's destructor runs on the exiting thread). */
static void slot_release(void *v)
{
    unsigned slot = (unsigned)((uintptr_t)v - 1);
    /* Records logged by later destructors of this thread count into the
     * shared counter: the slot may belong to another thread from now on. */
    tl_slot = -1;
    __atomic_fetch_or(&free_slots, 1u << slot, __ATOMIC_RELEASE);
}

static void slot_make_key(void)
{
    slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

/* The calling thread's slot (0-based), or -1: count into `written`. */
static int slot_claim(void)
{
    pthread_once(&slot_key_once, slot_make_key);
    tl_slot = -1;
    if (!slot_key_ok) {
        return -1;
    }
    uint32_t mask = __atomic_load_n(&free_slots, __ATOMIC_RELAXED);
    while (mask != 0) {
        int slot = __builtin_ctz(mask);
        if (__atomic_compare_exchange_n(&free_slots, &mask, mask & ~(1u << slot), false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            /* The key's destructor gives the slot back at thread exit. */
            if (pthread_setspecific(slot_key, (void *)(uintptr_t)(slot + 1)) != 0) {
                slot_release((void *)(uintptr_t)(slot + 1));
                return -1;
            }
            tl_slot = slot + 1;
            return slot;
        }
    }
    return -1;
}

void sl_sink_get_stats(const sl_sink *sink, sl_sink_stats *out)
{
    if (out == NULL) {
        return;
    }
    if (sink == NULL) {
        *out = (sl_sink_stats){0, 0, 0};
        return;
    }
    uint64_t written = __atomic_load_n(&sink->written, __ATOMIC_RELAXED);
    for (size_t i = 1; i <= WRITTEN_SLOTS; i++) {
        written +=
            __atomic_load_n(&sink->written_slot[i * SLOT_STRIDE], __ATOMIC_RELAXED);
    }
    out->written = written;
    out->dropped = __atomic_load_n(&sink->dropped, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&sink->errors, __ATOMIC_RELAXED);
}

void sl_sink_count_written(sl_sink *sink, uint64_t n)
{
    if (sink == NULL) {
        return;
    }
    int slot = tl_slot - 1;
    if (slot == -1) {
        slot = slot_claim();
    }
    if (slot >= 0) {
        /* Only this thread writes this slot: no locked add needed. */
        uint64_t *c = &sink->written_slot[((size_t)slot + 1) * SLOT_STRIDE];
        __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_add(&sink->written, n, __ATOMIC_RELAXED);
    }
}

void sl_sink_count_dropped(sl_sink *sink, uint64_t n)
{
    if (sink != NULL) {
        __atomic_fetch_add(&sink->dropped, n, __ATOMIC_RELAXED);
    }
}

/* ---- errors ---------------------------------------------------------------- */

void sl_sink_set_error_callback(sl_sink *sink, sl_error_fn fn, void *user)
{
    if (sink == NULL) {
        return;
    }
    sink->on_error = fn;
    sink->on_error_user = user;
}

/*
 * Claims the right to report now. Lock-free: of the threads that find the
 * last report at least a second old, exactly one wins the compare-and-swap;
 * the others count themselves as suppressed. No lock is ever held while the
 * callback runs, and a fork in the middle cannot leave a lock behind.
 */
static bool claim_report(sl_sink *sink, uint64_t *suppressed)
{
    int64_t now = sl__monotonic_ns();
    int64_t last = __atomic_load_n(&sink->last_report_ns, __ATOMIC_ACQUIRE);
    for (;;) {
        if (last != NEVER_REPORTED && now - last < REPORT_INTERVAL_NS) {
            __atomic_fetch_add(&sink->suppressed, 1, __ATOMIC_RELAXED);
            return false;
        }
        if (__atomic_compare_exchange_n(&sink->last_report_ns, &last, now, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            *suppressed = __atomic_exchange_n(&sink->suppressed, 0, __ATOMIC_ACQ_REL);
            return true;
        }
        /* Lost the race: `last` now holds the winner's time; re-check it. */
    }
}

void sl_sink_report_error(sl_sink *sink, sl_status code, const char *fmt, ...)
{
    if (sink == NULL) {
        return;
    }
    __atomic_fetch_add(&sink->errors, 1, __ATOMIC_RELAXED);
    sl_error_fn fn = sink->on_error;
    if (fn == NULL) {
        return;
    }
    uint64_t suppressed = 0;
    if (!claim_report(sink, &suppressed)) {
        return;
    }
    /* Formatted only when reported: a storm of errors costs a few atomics. */
    char text[512];
    text[0] = '\0';
    if (sl__format_has_n(fmt)) {
        snprintf(text, sizeof(text), "%s", fmt); /* %n is never honoured */
    } else if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
    }
    fn(sink->on_error_user, sink, code, text, suppressed);
}

/* ---- the null sink --------------------------------------------------------- */

static void null_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    (void)rec;
    (void)line;
    (void)len;
    sl_sink_count_written(sink, 1);
}

static const sl_sink_vtable null_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "null",
    .write = null_write,
};

sl_status sl_null_sink_new(sl_sink **out)
{
    return sl_sink_new(&null_vtable, NULL, out);
}
