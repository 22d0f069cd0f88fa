/*
 * alloc_fallback.c - weak stand-ins for the core's allocation functions
 * (sl__malloc & co., src/alloc.c on the core branch), so that src/trace
 * builds and tests on its own. The core's strong definitions replace these
 * at link time; this file goes away when the trace branch merges core.
 */
#include <stdlib.h>

#include "internal.h"

__attribute__((weak)) void *sl__malloc(size_t n)
{
    return malloc(n ? n : 1);
}

__attribute__((weak)) void *sl__calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

__attribute__((weak)) void *sl__realloc(void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

__attribute__((weak)) void sl__free(void *p)
{
    free(p);
}
