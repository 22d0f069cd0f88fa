/*
 * test_noalloc.c - steady-state logging makes no heap allocation: a counting
 * allocator (sl_set_allocator) sees zero allocations over 10,000 records of
 * each kind once the thread's buffers have been warmed up.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spanlog/spanlog.h"
#include "spanlog/stdout.h"

static size_t allocs; /* malloc + realloc calls through the hook */

static void *count_malloc(size_t n)
{
    allocs++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n)
{
    allocs++;
    return realloc(p, n);
}

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

enum { RECORDS = 10000 };

/* One of each kind of record this test proves allocation-free. */
static void log_each_kind(sl_logger *lg, sl_logger *child, int i, const char *big)
{
    sl_info(lg, "card charged", SL_STR("user", "u-1"), SL_INT("cents", i),
            SL_DOUBLE("ratio", 0.5), SL_BOOL("retry", false));
    sl_warn(child, "child", SL_ERRNO("err", 2), SL_UINT("u", 7), SL_NULL("n"),
            SL_STRN("p", "abc", 2));
    sl_errorf(lg, "printf %d %s %.3f", i, "text", 1.25);
    sl_info(lg, "oversized", SL_STR("big", big), SL_STR("s", "x")); /* truncated */
    sl_debug(lg, "below the level", SL_INT("n", i));
}

static void test_no_allocation_per_record(void **unused)
{
    (void)unused;
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "noalloc";
    o.caller_info = true;
    o.trace_flags = true;
    o.max_record_bytes = 4096;
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(&o, &lg), SL_OK);
    sl_sink *null_sink = NULL, *fd_sink = NULL;
    assert_int_equal(sl_null_sink_new(&null_sink), SL_OK);
    sl_fd_sink_options fo;
    sl_fd_sink_options_init(&fo);
    fo.path = "/dev/null";
    assert_int_equal(sl_fd_sink_new(&fo, &fd_sink, NULL), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, null_sink, SL_LEVEL_TRACE), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, fd_sink, SL_LEVEL_INFO), SL_OK);
    sl_logger *child = sl_child(lg, SL_STR("requestId", "r-42"), SL_INT("attempt", 1));
    assert_non_null(child);

    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(TP, strlen(TP), &ctx), SL_OK);
    sl_context_token tok;
    assert_int_equal(sl_context_attach(&ctx, &tok), SL_OK);

    char *big = malloc(20000);
    memset(big, 'b', 19999);
    big[19999] = '\0';

    /* Warm-up: the thread's record and printf buffers are made here. */
    log_each_kind(lg, child, 0, big);
    size_t warm = allocs;
    assert_true(warm > 0); /* the hook really is in place */

    allocs = 0;
    for (int i = 0; i < RECORDS; i++) {
        log_each_kind(lg, child, i, big);
    }
    assert_int_equal(allocs, 0);

    /* Explicit context, and a span's own context. */
    sl_span *span = sl_span_start("work", SL_SPAN_INTERNAL);
    sl_info(lg, "in span"); /* warm */
    sl_span_context other = *sl_span_get_context(span);
    allocs = 0;
    for (int i = 0; i < RECORDS; i++) {
        sl_log_ctx(lg, SL_LEVEL_INFO, &other, "explicit", SL_INT("i", i));
        sl_info(child, "in span", SL_INT("i", i));
    }
    assert_int_equal(allocs, 0);
    sl_span_end(span);

    sl_sink_stats st;
    sl_sink_get_stats(null_sink, &st);
    assert_int_equal(st.written, (RECORDS + 1) * 4 + 1 + 2 * RECORDS);
    assert_int_equal(st.dropped, 0);
    sl_sink_get_stats(fd_sink, &st);
    assert_int_equal(st.written, (RECORDS + 1) * 4 + 1 + 2 * RECORDS);

    assert_int_equal(sl_context_detach(tok), SL_OK);
    free(big);
    sl_logger_free(child);
    sl_logger_free(lg);
}

int main(void)
{
    /* Before any other spanlog call, as the contract requires. */
    const sl_allocator counting = {count_malloc, count_realloc, free};
    if (sl_set_allocator(&counting) != SL_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation_per_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
