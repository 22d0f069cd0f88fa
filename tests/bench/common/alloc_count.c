/*
 * alloc_count.c - counts heap allocations by interposing the allocator.
 *
 * A program linked with this file defines malloc & co. itself; the dynamic
 * linker then binds every library's calls (libc's own, jansson, libstdc++'s
 * operator new, spanlog) to these, which forward to glibc's exported
 * __libc_* entry points. This is glibc-specific, and that is why this file
 * is only linked into the benchmark programs, never into the library.
 *
 * While counting is off the only extra cost is one relaxed load and a
 * predictable branch, so the timed runs are not disturbed; the benchmarks
 * count in a separate pass. free() is not counted: "allocations per record"
 * is the number of malloc/calloc/realloc/memalign calls.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

#ifndef BENCH_NO_INTERPOSE
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t alignment, size_t size);

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
int posix_memalign(void **out, size_t alignment, size_t size);
void *aligned_alloc(size_t alignment, size_t size);

static int counting;
static uint64_t count;

static inline void note(void)
{
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
    }
}

void *malloc(size_t size)
{
    note();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    note();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    note();
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }
    note();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size)
{
    note();
    return __libc_memalign(alignment, size);
}

int bench_alloc_count_available(void)
{
    return 1;
}

void bench_alloc_count_start(void)
{
    __atomic_store_n(&count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
}

uint64_t bench_alloc_count_stop(void)
{
    __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

#else
/* Sanitizer builds bring their own allocator: no interposing, no counts. */
int bench_alloc_count_available(void)
{
    return 0;
}

void bench_alloc_count_start(void) {}

uint64_t bench_alloc_count_stop(void)
{
    return 0;
}
#endif
