/*
 * trace_guard.h - test helper: place input so that its last byte is the
 * last readable byte before a PROT_NONE page. A parser that reads one byte
 * past the length it was given faults instead of passing by luck.
 */
#ifndef SPANLOG_TEST_TRACE_GUARD_H
#define SPANLOG_TEST_TRACE_GUARD_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct trace_guard {
    char *base;
    size_t page;
    size_t room; /* readable bytes before the guard page */
} trace_guard;

#define TRACE_GUARD_PAGES 16

static inline int trace_guard_init(trace_guard *g)
{
    g->page = (size_t)sysconf(_SC_PAGESIZE);
    g->room = TRACE_GUARD_PAGES * g->page;
    void *p = mmap(NULL, g->room + g->page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    g->base = p;
    return mprotect(g->base + g->room, g->page, PROT_NONE);
}

/*
 * Copies n bytes (at most room) of s to end exactly at the guard page;
 * returns the copy.
 */
static inline const char *trace_guard_place(trace_guard *g, const char *s, size_t n)
{
    if (n > g->room) {
        abort(); /* a test input larger than the mapping: fix the test */
    }
    char *dst = g->base + g->room - n;
    memcpy(dst, s, n);
    return dst;
}

static inline void trace_guard_free(trace_guard *g)
{
    munmap(g->base, g->room + g->page);
}

#endif
