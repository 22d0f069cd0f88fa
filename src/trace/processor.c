/*
 * processor.c - the span-end hooks: a small fixed table of processors that
 * every ended sampled span is handed to.
 *
 * Registration publishes the entry before the count (release), and readers
 * load the count first (acquire), so a span ending concurrently with an add
 * sees either the old table or the new one, never half an entry.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "trace/trace_internal.h"

typedef struct processor {
    _Atomic(sl_span_on_end_fn) fn;
    _Atomic(void *) user;
} processor;

static processor table[SL_SPAN_MAX_PROCESSORS];
atomic_size_t sl__span_processors; /* the table's length */
static pthread_mutex_t writers = PTHREAD_MUTEX_INITIALIZER;

_Atomic(sl__span_end_hook_fn) sl__span_end_hook;

sl_status sl_span_processor_add(sl_span_on_end_fn fn, void *user)
{
    if (fn == NULL) {
        return SL_EINVAL;
    }
    pthread_mutex_lock(&writers);
    size_t n = atomic_load_explicit(&sl__span_processors, memory_order_relaxed);
    if (n == SL_SPAN_MAX_PROCESSORS) {
        pthread_mutex_unlock(&writers);
        return SL_ERANGE;
    }
    atomic_store_explicit(&table[n].fn, fn, memory_order_relaxed);
    atomic_store_explicit(&table[n].user, user, memory_order_relaxed);
    atomic_store_explicit(&sl__span_processors, n + 1, memory_order_release);
    pthread_mutex_unlock(&writers);
    return SL_OK;
}

sl_status sl_span_processor_remove(sl_span_on_end_fn fn, void *user)
{
    pthread_mutex_lock(&writers);
    size_t n = atomic_load_explicit(&sl__span_processors, memory_order_relaxed);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        sl_span_on_end_fn f = atomic_load_explicit(&table[i].fn, memory_order_relaxed);
        void *u = atomic_load_explicit(&table[i].user, memory_order_relaxed);
        if (f == fn && u == user) {
            continue;
        }
        atomic_store_explicit(&table[kept].fn, f, memory_order_relaxed);
        atomic_store_explicit(&table[kept].user, u, memory_order_relaxed);
        kept++;
    }
    atomic_store_explicit(&sl__span_processors, kept, memory_order_release);
    pthread_mutex_unlock(&writers);
    return kept < n ? SL_OK : SL_ENOENT;
}

void sl__span_report(const sl_span_data *d)
{
    size_t n = atomic_load_explicit(&sl__span_processors, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        sl_span_on_end_fn f = atomic_load_explicit(&table[i].fn, memory_order_relaxed);
        void *u = atomic_load_explicit(&table[i].user, memory_order_relaxed);
        if (f != NULL) {
            f(d, u);
        }
    }
    void (*hook)(const sl_span_data *) =
        atomic_load_explicit(&sl__span_end_hook, memory_order_acquire);
    if (hook != NULL) {
        hook(d);
    }
}
