/*
 * test_alloc.c - the allocator hook: every spanlog allocation goes through
 * it, calloc checks for overflow, and a failing allocator makes the
 * growable JSON writer behave like a full buffer (never a crash, never a
 * byte past the prefix it could keep).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "internal.h"

static size_t n_malloc, n_realloc, n_free;
static long fail_at = -1; /* the index of the allocation that fails; -1: none */
static long n_calls;

static bool should_fail(void)
{
    return fail_at >= 0 && n_calls++ == fail_at;
}

static void *count_malloc(size_t n)
{
    n_malloc++;
    return should_fail() ? NULL : malloc(n);
}

static void *count_realloc(void *p, size_t n)
{
    n_realloc++;
    return should_fail() ? NULL : realloc(p, n);
}

static void count_free(void *p)
{
    n_free++;
    free(p);
}

static const sl_allocator counting = {count_malloc, count_realloc, count_free};

static int setup(void **state)
{
    (void)state;
    n_malloc = n_realloc = n_free = 0;
    fail_at = -1;
    n_calls = 0;
    return sl_set_allocator(&counting) == SL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return sl_set_allocator(NULL) == SL_OK ? 0 : -1;
}

static void test_hook_counts(void **state)
{
    (void)state;
    void *p = sl__malloc(10);
    assert_non_null(p);
    p = sl__realloc(p, 100);
    assert_non_null(p);
    sl__free(p);
    sl__free(NULL);
    char *c = sl__calloc(4, 8);
    assert_non_null(c);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(c[i], 0);
    }
    sl__free(c);
    char *d = sl__strdup("hello");
    assert_string_equal(d, "hello");
    sl__free(d);
    d = sl__strndup("hello", 3);
    assert_string_equal(d, "hel");
    sl__free(d);
    d = sl__strndup("hi", 10);
    assert_string_equal(d, "hi");
    sl__free(d);
    assert_null(sl__strdup(NULL));
    assert_null(sl__strndup(NULL, 3));
    /* malloc(0) still gives a pointer that free accepts */
    p = sl__malloc(0);
    assert_non_null(p);
    sl__free(p);
    assert_int_equal(n_malloc, 6);
    assert_int_equal(n_realloc, 1);
    assert_int_equal(n_free, 6);
}

static void test_calloc_overflow(void **state)
{
    (void)state;
    assert_null(sl__calloc(SIZE_MAX / 2, 3));
    assert_null(sl__calloc(3, SIZE_MAX / 2));
    assert_int_equal(n_malloc, 0); /* refused before asking the allocator */
    void *p = sl__calloc(0, 16);
    assert_non_null(p);
    sl__free(p);
}

static void test_partial_hook_rejected(void **state)
{
    (void)state;
    sl_allocator half = {count_malloc, NULL, count_free};
    assert_int_equal(sl_set_allocator(&half), SL_EINVAL);
    /* the previous hook is still in place */
    sl__free(sl__malloc(1));
    assert_int_equal(n_malloc, 1);
    assert_int_equal(n_free, 1);
}

static void test_failures(void **state)
{
    (void)state;
    fail_at = 0;
    assert_null(sl__malloc(8));
    n_calls = 0;
    assert_null(sl__strdup("x"));
    n_calls = 0;
    assert_null(sl__calloc(2, 2));
}

static void write_doc(sl__jw *w)
{
    sl__jw_char(w, '[');
    for (int i = 0; i < 200; i++) {
        if (i > 0) {
            sl__jw_char(w, ',');
        }
        sl__jw_string(w, "some text \"quoted\" \xc3\xa9", 21);
        sl__jw_char(w, ',');
        sl__jw_int(w, i);
        sl__jw_char(w, ',');
        sl__jw_double(w, i / 7.0);
    }
    sl__jw_char(w, ']');
}

/* Fail each allocation of the growable writer in turn. */
static void test_growable_failure_injection(void **state)
{
    (void)state;
    sl__jw w;
    sl__jw_init_growable(&w, 8, 0);
    write_doc(&w);
    assert_false(w.overflow);
    size_t total = w.len;
    char *full = malloc(total);
    memcpy(full, w.buf, total);
    sl__jw_free(&w);
    size_t allocs = n_malloc + n_realloc;
    assert_true(allocs > 3);
    assert_int_equal(n_free, 1); /* realloc does the rest */

    json_error_t err;
    json_t *root = json_loadb(full, total, 0, &err);
    assert_non_null(root);
    assert_int_equal(json_array_size(root), 600);
    json_decref(root);

    for (long k = 0; k < (long)allocs; k++) {
        fail_at = k;
        n_calls = 0;
        sl__jw_init_growable(&w, 8, 0);
        write_doc(&w);
        /* the failed allocation turned the writer into a full buffer */
        assert_true(w.overflow);
        assert_int_equal(sl__jw_need(&w), total);
        assert_true(w.len < total);
        assert_int_equal(w.len, w.cap);
        if (w.len > 0) {
            assert_memory_equal(w.buf, full, w.len);
        }
        /* and it stays full: no allocation is retried until reset */
        long calls = n_calls;
        sl__jw_string(&w, "more", 4);
        assert_int_equal(n_calls, calls);
        sl__jw_free(&w);
    }
    fail_at = -1;
    free(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calloc_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_hook_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growable_failure_injection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
