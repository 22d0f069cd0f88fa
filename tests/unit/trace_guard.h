/*
 * trace_guard.h - test helper: place input so that its last byte is the
 * last readable byte before a PROT_NONE page. A parser that reads one byte
 * past the length it was given faults instead of passing by luck.
 */
#ifndef SPANLOG_TEST_TRACE_GUARD_H
#define SPANLOG_TEST_TRACE_GUARD_H

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct trace_guard {
    char *base;
    size_t page;
} trace_guard;

static inline int trace_guard_init(trace_guard *g)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    g->base = p;
    return mprotect(g->base + g->page, g->page, PROT_NONE);
}

/* Copies n bytes of s to end exactly at the guard page; returns the copy. */
static inline const char *trace_guard_place(trace_guard *g, const char *s, size_t n)
{
    char *dst = g->base + g->page - n;
    memcpy(dst, s, n);
    return dst;
}

static inline void trace_guard_free(trace_guard *g)
{
    munmap(g->base, 2 * g->page);
}

#endif
