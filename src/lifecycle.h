/*
 * lifecycle.h - the one registry of live objects that outlast a call (sinks,
 * delivery runtimes), the one pthread_atfork handler and the one atexit
 * handler (lifecycle.c).
 *
 *   registry (one mutex) ── node ⇄ node ⇄ node    (each: ops + object)
 *
 * fork(): prepare takes the registry lock, then calls every node's prepare
 * in registration order (each takes its own locks); parent and child call
 * the matching hooks in the reverse order and release the registry lock.
 * One order for every lock, whatever the number of sinks; the core's own
 * fork-sensitive caches (pid, id generator) are reset in the child first.
 *
 * exit(): the handler spends one budget (SL__EXIT_FLUSH_MS, 2 s in total,
 * as log.h promises) flushing every node that has an exit_flush, in
 * registration order, each with what is left of the budget.
 *
 * Generic: an object registers callbacks; this file knows no sink or
 * adapter. The node is embedded in the object (no allocation).
 */
#ifndef SPANLOG_LIFECYCLE_H
#define SPANLOG_LIFECYCLE_H

#include <stdbool.h>

#define SL__EXIT_FLUSH_MS 2000

typedef struct sl__life_ops {
    void (*prepare)(void *obj); /* before fork: take the object's locks */
    void (*parent)(void *obj);  /* after fork, parent: release them */
    void (*child)(void *obj);   /* after fork, child (one thread, no malloc) */
    void (*exit_flush)(void *obj, int timeout_ms); /* at exit, within timeout_ms */
} sl__life_ops;

typedef struct sl__life {
    const sl__life_ops *ops;
    void *obj;
    struct sl__life *prev, *next;
    bool registered;
} sl__life;

/* Adds n (installing the handlers on first use). ops must outlive n. */
void sl__life_register(sl__life *n, const sl__life_ops *ops, void *obj);
/* Removes n; no hook of it runs after this returns. Idempotent. */
void sl__life_unregister(sl__life *n);
/* Installs the atfork and atexit handlers (idempotent). */
void sl__life_init(void);
/* Registered nodes (tests). */
size_t sl__life_count(void);

/* Core caches that a fork child must reset (called by the child handler). */
void sl__sysinfo_fork_child(void);
void sl__ids_fork_child(void);

#endif /* SPANLOG_LIFECYCLE_H */
