/*
 * sysinfo.c - host name and process id, cached.
 *
 * getpid() is a system call in current glibc, and a pino-style record
 * writes the pid every time, so it is cached; the library's one atfork
 * child handler (lifecycle.c) clears the cache so that a forked child
 * reports its own pid.
 * The host name does not change across fork and is read once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "lifecycle.h"

static char sl_hostname[256];
static pthread_once_t sl_hostname_once = PTHREAD_ONCE_INIT;

static void hostname_init(void)
{
    if (gethostname(sl_hostname, sizeof sl_hostname - 1) != 0 || sl_hostname[0] == '\0') {
        strcpy(sl_hostname, "localhost");
    }
    sl_hostname[sizeof sl_hostname - 1] = '\0';
}

const char *sl__hostname(void)
{
    pthread_once(&sl_hostname_once, hostname_init);
    return sl_hostname;
}

static atomic_int sl_pid_cache; /* 0: not known in this process */

/* Called by the library's one atfork child handler (lifecycle.c). */
void sl__sysinfo_fork_child(void)
{
    atomic_store_explicit(&sl_pid_cache, 0, memory_order_relaxed);
}

int sl__pid(void)
{
    int pid = atomic_load_explicit(&sl_pid_cache, memory_order_relaxed);
    if (pid == 0) {
        /* Register the fork handler before caching, so a fork after this
         * point always clears what is cached. */
        sl__life_init();
        pid = (int)getpid();
        atomic_store_explicit(&sl_pid_cache, pid, memory_order_relaxed);
    }
    return pid;
}
