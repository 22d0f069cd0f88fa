/*
 * lifecycle.c - the one registry of live objects, the one pthread_atfork
 * handler and the one atexit handler (see lifecycle.h).
 *
 * Before this file, the sink registry, the logger registry, the fd sink, the
 * pid cache and the id generator each installed handlers of their own, run
 * in an order set by whichever was used first. Now there is one of each.
 */
#include <pthread.h>
#include <stdlib.h>

#include "core.h"
#include "lifecycle.h"

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
static sl__life *life_head, *life_tail;
static pthread_once_t life_once = PTHREAD_ONCE_INIT;

static void on_prepare(void)
{
    pthread_mutex_lock(&life_lock);
    for (sl__life *n = life_head; n != NULL; n = n->next) {
        if (n->ops->prepare != NULL) {
            n->ops->prepare(n->obj);
        }
    }
}

/* Reverse order of prepare, so objects release what they took in LIFO order. */
static void after_fork(bool child)
{
    for (sl__life *n = life_tail; n != NULL; n = n->prev) {
        void (*hook)(void *) = child ? n->ops->child : n->ops->parent;
        if (hook != NULL) {
            hook(n->obj);
        }
    }
}

static void on_parent(void)
{
    after_fork(false);
    pthread_mutex_unlock(&life_lock);
}

static void on_child(void)
{
    sl__sysinfo_fork_child();
    sl__ids_fork_child();
    after_fork(true);
    /* The forking thread took the lock in prepare; the child is that thread. */
    pthread_mutex_unlock(&life_lock);
}

static void on_exit_flush(void)
{
    int64_t deadline = sl__monotonic_ns() + (int64_t)SL__EXIT_FLUSH_MS * 1000000;
    pthread_mutex_lock(&life_lock);
    for (sl__life *n = life_head; n != NULL; n = n->next) {
        if (n->ops->exit_flush != NULL) {
            n->ops->exit_flush(n->obj, sl__ms_left(deadline));
        }
    }
    pthread_mutex_unlock(&life_lock);
    sl__scratch_release();
}

static void install(void)
{
    (void)pthread_atfork(on_prepare, on_parent, on_child);
    (void)atexit(on_exit_flush);
}

void sl__life_init(void)
{
    pthread_once(&life_once, install);
}

void sl__life_register(sl__life *n, const sl__life_ops *ops, void *obj)
{
    sl__life_init();
    n->ops = ops;
    n->obj = obj;
    pthread_mutex_lock(&life_lock);
    /* Appended: registration order is the order locks are taken in. */
    n->next = NULL;
    n->prev = life_tail;
    if (life_tail != NULL) {
        life_tail->next = n;
    } else {
        life_head = n;
    }
    life_tail = n;
    n->registered = true;
    pthread_mutex_unlock(&life_lock);
}

void sl__life_unregister(sl__life *n)
{
    pthread_mutex_lock(&life_lock);
    if (n->registered) {
        if (n->prev != NULL) {
            n->prev->next = n->next;
        } else {
            life_head = n->next;
        }
        if (n->next != NULL) {
            n->next->prev = n->prev;
        } else {
            life_tail = n->prev;
        }
        n->prev = n->next = NULL;
        n->registered = false;
    }
    pthread_mutex_unlock(&life_lock);
}

size_t sl__life_count(void)
{
    size_t k = 0;
    pthread_mutex_lock(&life_lock);
    for (sl__life *n = life_head; n != NULL; n = n->next) {
        k++;
    }
    pthread_mutex_unlock(&life_lock);
    return k;
}
