/*
 * alloc.c - every heap allocation spanlog makes goes through here, so that
 * a user (or a test) can count allocations or inject failures with
 * sl_set_allocator().
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * The hook is set once, before spanlog is used from several threads (the
 * header says so), so plain reads are enough on the hot path.
 */
static sl_allocator sl_alloc = {malloc, realloc, free};

sl_status sl_set_allocator(const sl_allocator *allocator)
{
    if (allocator == NULL) {
        sl_alloc.malloc_fn = malloc;
        sl_alloc.realloc_fn = realloc;
        sl_alloc.free_fn = free;
        return SL_OK;
    }
    if (allocator->malloc_fn == NULL || allocator->realloc_fn == NULL ||
        allocator->free_fn == NULL) {
        return SL_EINVAL;
    }
    sl_alloc = *allocator;
    return SL_OK;
}

void *sl__malloc(size_t n)
{
    /* malloc(0) may return NULL, which callers would read as a failure. */
    return sl_alloc.malloc_fn(n ? n : 1);
}

void *sl__calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    size_t n = count * size;
    void *p = sl_alloc.malloc_fn(n ? n : 1);
    if (p != NULL) {
        memset(p, 0, n);
    }
    return p;
}

void *sl__realloc(void *p, size_t n)
{
    return sl_alloc.realloc_fn(p, n ? n : 1);
}

void sl__free(void *p)
{
    if (p != NULL) {
        sl_alloc.free_fn(p);
    }
}

char *sl__strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    return sl__strndup(s, strlen(s));
}

char *sl__strndup(const char *s, size_t n)
{
    if (s == NULL) {
        return NULL;
    }
    size_t len = strnlen(s, n);
    if (len == SIZE_MAX) {
        return NULL;
    }
    char *p = sl__malloc(len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}
