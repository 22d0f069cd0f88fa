/*
 * sink.c - the sl_sink wrapper: vtable + state, counters, the rate-limited
 * error callback. Every live sink is a node of the one lifecycle registry
 * (lifecycle.c), which calls its atfork hooks around fork() and flushes it
 * at exit within the one exit budget.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "internal.h"
#include "lifecycle.h"

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

    /* Error or event callback (setup-time, one of the two) and the
     * lock-free rate limiter of errors. */
    sl_error_fn on_error;
    void *on_error_user;
    sl_sink_event_fn on_event;
    void *on_event_user;
    /* Drops for the event callback: one not told yet (atomic 0/1), and the
     * reason of the latest (atomic). */
    int drop_pending;
    int drop_code;
    const char *drop_why;
    uint64_t drops_evented; /* atomic: told to event callbacks (from the first drop) */
    int64_t last_report_ns; /* atomic; NEVER_REPORTED until the first report */
    uint64_t suppressed;    /* atomic; errors not reported since the last report */

    sl__life life;   /* in the one lifecycle registry (fork, exit) */
    size_t max_line; /* bytes, '\n' included; 0: no limit */
    /* Diagnostics without a callback (diag.c): drops reported so far and when. */
    uint64_t drops_reported;     /* atomic */
    int64_t last_drop_report_ns; /* atomic; NEVER_REPORTED */
    char *target;                /* what the sink was made from, or NULL */
    bool closed;                 /* close callback called (sl__sink_close) */
    /* The first error reported while no callback was set, for the callback
     * installed later. Written once (pending_state 0 -> 1 -> 2). */
    int pending_state; /* atomic: 0 none, 1 being written, 2 ready */
    sl_status pending_code;
    char pending_text[160];

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

/* ---- fork and exit: through the one lifecycle registry -------------------- */

static size_t live_sinks; /* atomic */

static void sink_prepare(void *obj)
{
    sl_sink *s = obj;
    if (s->vt->atfork_prepare != NULL) {
        s->vt->atfork_prepare(s);
    }
}

static void sink_parent(void *obj)
{
    sl_sink *s = obj;
    if (s->vt->atfork_parent != NULL) {
        s->vt->atfork_parent(s);
    }
}

static void sink_child(void *obj)
{
    sl_sink *s = obj;
    if (s->vt->atfork_child != NULL) {
        s->vt->atfork_child(s);
    }
}

/* At exit every live sink is flushed, whether a logger still holds it or
 * not (a buffered fd sink that was never freed still writes its records). */
static void sink_exit_flush(void *obj, int timeout_ms)
{
    (void)sl_sink_flush(obj, timeout_ms);
}

static const sl__life_ops sink_life_ops = {
    .prepare = sink_prepare,
    .parent = sink_parent,
    .child = sink_child,
    .exit_flush = sink_exit_flush,
};

size_t sl__sink_live_count(void)
{
    return __atomic_load_n(&live_sinks, __ATOMIC_RELAXED);
}

void sl_sink_set_max_line_bytes(sl_sink *sink, size_t max_line_bytes)
{
    if (sink != NULL) {
        sink->max_line = max_line_bytes;
    }
}

size_t sl_sink_max_line_bytes(const sl_sink *sink)
{
    return sink != NULL ? sink->max_line : 0;
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
    /* A version 1 vtable ends before max_line_bytes: never read it there. */
    s->max_line = vtable->version >= 2 ? vtable->max_line_bytes : 0;
    s->last_drop_report_ns = NEVER_REPORTED;
    __atomic_fetch_add(&live_sinks, 1, __ATOMIC_RELAXED);
    sl__life_register(&s->life, &sink_life_ops, s);
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
    sl__life_unregister(&sink->life);
    __atomic_fetch_sub(&live_sinks, 1, __ATOMIC_RELAXED);
    (void)sl__sink_close(sink, close_timeout_ms);
    if (sink->vt->destroy != NULL) {
        sink->vt->destroy(sink);
    }
    sl__free(sink->target);
    sl__free(sink);
}

/* What diagnostics call the sink: "loki http://h:3100", or just "fd". */
static void sink_label(const sl_sink *sink, char *out, size_t cap)
{
    if (sink->target != NULL && strcmp(sink->target, sl_sink_name(sink)) != 0) {
        snprintf(out, cap, "%s %s", sl_sink_name(sink), sink->target);
    } else {
        snprintf(out, cap, "%s", sl_sink_name(sink));
    }
}

/*
 * Tells the drops not told yet: to the event callback, or, with no callback
 * at all, to stderr. `force` ignores the rate limit. With an event callback
 * this runs only at a safe point (no lock of the sink held: see
 * sl__sink_tell_drops), since the callback may log.
 */
static void tell_drops(sl_sink *sink, bool force)
{
    sl_sink_event_fn ev_fn = sink->on_event;
    if (ev_fn == NULL && sink->on_error != NULL) {
        return; /* the owner of the error callback reads the counters */
    }
    /* An event callback hears of every drop, those before it was set too;
     * stderr of those it has not shown. */
    uint64_t *told = ev_fn != NULL ? &sink->drops_evented : &sink->drops_reported;
    if (__atomic_load_n(&sink->dropped, __ATOMIC_SEQ_CST) <=
        __atomic_load_n(told, __ATOMIC_RELAXED)) {
        return; /* nothing new: the rate limit's slot stays for when there is */
    }
    int64_t now = sl__monotonic_ns();
    int64_t last = __atomic_load_n(&sink->last_drop_report_ns, __ATOMIC_RELAXED);
    if (!force && last != NEVER_REPORTED && now - last < REPORT_INTERVAL_NS) {
        return;
    }
    if (!__atomic_compare_exchange_n(&sink->last_drop_report_ns, &last, now, false,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
        !force) {
        return; /* another thread reports them */
    }
    /* Cleared before the counter is read: a drop counted from here on sets
     * it again and is told next time. */
    __atomic_store_n(&sink->drop_pending, 0, __ATOMIC_SEQ_CST);
    uint64_t total = __atomic_load_n(&sink->dropped, __ATOMIC_SEQ_CST);
    uint64_t before = __atomic_exchange_n(told, total, __ATOMIC_RELAXED);
    if (total <= before) {
        return;
    }
    if (ev_fn != NULL) {
        const char *why = __atomic_load_n(&sink->drop_why, __ATOMIC_RELAXED);
        sl_sink_event ev = {
            .kind = SL_SINK_EVENT_DROP,
            .code = (sl_status)__atomic_load_n(&sink->drop_code, __ATOMIC_RELAXED),
            .text = why != NULL ? why : "records dropped",
            .count = total - before,
            .total = total,
        };
        ev_fn(sink->on_event_user, sink, &ev);
        return;
    }
    char label[200], n[32], t[32];
    sink_label(sink, label, sizeof(label));
    sl__diag("%s: %s record%s dropped (%s in total)%s", label,
             sl__diag_count(total - before, n), total - before == 1 ? "" : "s",
             sl__diag_count(total, t), sink->closed ? " by the time it closed" : "");
}

sl_status sl__sink_close(sl_sink *sink, int timeout_ms)
{
    if (sink->closed) {
        return SL_OK;
    }
    sl_status st = SL_OK;
    if (sink->vt->close != NULL) {
        st = sink->vt->close(sink, timeout_ms);
    }
    __atomic_store_n(&sink->closed, true, __ATOMIC_RELEASE);
    tell_drops(sink, true);
    return st;
}

void sl__sink_set_target(sl_sink *sink, const char *target)
{
    if (sink == NULL) {
        return;
    }
    sl__free(sink->target);
    sink->target = sl__strdup(target); /* NULL on ENOMEM: the name alone */
}

sl_status sl_sink_flush(sl_sink *sink, int timeout_ms)
{
    if (sink == NULL) {
        return SL_EINVAL;
    }
    sl_status st = SL_OK; /* no flush, or closed: nothing left to push */
    if (sink->vt->flush != NULL && !__atomic_load_n(&sink->closed, __ATOMIC_ACQUIRE)) {
        st = sink->vt->flush(sink, timeout_ms);
    }
    sl__sink_tell_drops(sink); /* a safe point for the event callback */
    return st;
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

/* The calling thread's slot (0-based), or -1: count into `written`. Once
 * per thread: kept out of line so the counting path saves no registers. */
SL__NOINLINE_FN static int slot_claim(void)
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

void sl_sink_stats_init_size(sl_sink_stats *stats, size_t size)
{
    sl_sink_stats d;
    memset(&d, 0, sizeof(d));
    sl__abi_init(stats, size, &d, sizeof(d));
}

void sl_sink_get_stats(const sl_sink *sink, sl_sink_stats *dst)
{
    if (dst == NULL) {
        return;
    }
    sl_sink_stats t;
    sl_sink_stats_init(&t);
    sl_sink_stats *out = &t;
    /* The first version's fields every caller's struct has; later ones only
     * when the caller's size says its struct holds them. */
    size_t size = sl__abi_size(dst->size, SL__SINK_STATS_V1, sizeof(t));
    if (sink == NULL) {
        t.size = size;
        memcpy(dst, &t, size);
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
    t.size = size;
    memcpy(dst, &t, size);
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
    sl_sink_count_dropped_reason(sink, n, SL_OK, NULL);
}

void sl_sink_count_dropped_reason(sl_sink *sink, uint64_t n, sl_status code,
                                  const char *why)
{
    if (sink == NULL || n == 0) {
        return;
    }
    if (sink->on_event != NULL) {
        __atomic_store_n(&sink->drop_code, (int)code, __ATOMIC_RELAXED);
        __atomic_store_n(&sink->drop_why, why, __ATOMIC_RELAXED);
        __atomic_fetch_add(&sink->dropped, n, __ATOMIC_SEQ_CST);
        /* Told from a safe point: this may be inside a write or a lock. */
        __atomic_store_n(&sink->drop_pending, 1, __ATOMIC_SEQ_CST);
        return;
    }
    __atomic_fetch_add(&sink->dropped, n, __ATOMIC_RELAXED);
    tell_drops(sink, false);
}

void sl__sink_tell_drops(sl_sink *sink)
{
    if (sink != NULL && sink->on_event != NULL &&
        __atomic_load_n(&sink->drop_pending, __ATOMIC_SEQ_CST) != 0) {
        tell_drops(sink, false);
    }
}

/* ---- errors ---------------------------------------------------------------- */

/* Takes the error kept from before a callback was set: true, with the errors
 * counted since it in *suppressed, when there was one. */
static bool take_pending(sl_sink *sink, uint64_t *suppressed)
{
    if (__atomic_load_n(&sink->pending_state, __ATOMIC_ACQUIRE) != 2) {
        return false;
    }
    __atomic_store_n(&sink->pending_state, 0, __ATOMIC_RELAXED);
    *suppressed = __atomic_exchange_n(&sink->suppressed, 0, __ATOMIC_ACQ_REL);
    return true;
}

void sl_sink_set_error_callback(sl_sink *sink, sl_error_fn fn, void *user)
{
    if (sink == NULL) {
        return;
    }
    sink->on_event = NULL;
    sink->on_error = fn;
    sink->on_error_user = user;
    uint64_t suppressed;
    if (fn != NULL && take_pending(sink, &suppressed)) {
        fn(user, sink, sink->pending_code, sink->pending_text, suppressed);
    }
}

static void tell_error(sl_sink *sink, sl_status code, const char *text, uint64_t count)
{
    sl_sink_event ev = {
        .kind = SL_SINK_EVENT_ERROR,
        .code = code,
        .text = text,
        .count = count,
        .total = __atomic_load_n(&sink->errors, __ATOMIC_RELAXED),
    };
    sink->on_event(sink->on_event_user, sink, &ev);
}

void sl_sink_set_event_callback(sl_sink *sink, sl_sink_event_fn fn, void *user)
{
    if (sink == NULL) {
        return;
    }
    sink->on_error = NULL;
    sink->on_event_user = user;
    sink->on_event = fn;
    if (fn == NULL) {
        return;
    }
    uint64_t suppressed;
    if (take_pending(sink, &suppressed)) {
        tell_error(sink, sink->pending_code, sink->pending_text, suppressed);
    }
    tell_drops(sink, true); /* the drops counted before it was installed */
}

/* Without a callback: keep the first error for a later one, tell stderr. */
static void report_uncalled(sl_sink *sink, sl_status code, const char *text,
                            uint64_t suppressed)
{
    int none = 0;
    if (__atomic_compare_exchange_n(&sink->pending_state, &none, 1, false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        sink->pending_code = code;
        snprintf(sink->pending_text, sizeof(sink->pending_text), "%s", text);
        __atomic_store_n(&sink->pending_state, 2, __ATOMIC_RELEASE);
    }
    /* Adapters start their texts with their name ("syslog: connect ..."). */
    const char *name = sl_sink_name(sink);
    size_t nl = strlen(name);
    if (strncmp(text, name, nl) == 0 && text[nl] == ':' && text[nl + 1] == ' ') {
        text += nl + 2;
    }
    char label[200], n[32];
    sink_label(sink, label, sizeof(label));
    if (suppressed > 0) {
        sl__diag("%s: %s (%s more suppressed)", label, text,
                 sl__diag_count(suppressed, n));
    } else {
        sl__diag("%s: %s", label, text);
    }
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
    sl__sink_tell_drops(sink); /* reported outside the sink's locks: a safe point */
    sl_error_fn fn = sink->on_error;
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
    if (sink->on_event != NULL) {
        tell_error(sink, code, text, suppressed);
        return;
    }
    if (fn == NULL) {
        report_uncalled(sink, code, text, suppressed);
        return;
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
