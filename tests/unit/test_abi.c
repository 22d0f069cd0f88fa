/*
 * test_abi.c - an older caller against a newer library. This file is
 * compiled with the public headers as they are; the library it links
 * (spanlog_grown, tests/unit/install.cmake) is built from the same sources
 * with SL__ABI_TEST_TAIL adding members at the end of every sized struct,
 * as a later release would. Each struct the caller allocates sits at the end
 * of a page followed by an inaccessible one, so a library that wrote or read
 * past the caller's size (its own sizeof) would crash here.
 *
 * And the other way round: a caller with a larger struct than the library's
 * (a newer caller) is accepted, its unknown tail zeroed by _init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "spanlog/spanlog.h"
#include "unit/loopback.h"

/* `size` bytes ending exactly where an inaccessible page begins. */
static void *guarded(size_t size)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    char *m =
        mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pg, pg, PROT_NONE), 0);
    assert_int_equal(size % 8, 0);
    char *p = m + pg - size;
    memset(p, 0xA5, size);
    return p;
}

static void unguard(void *p, size_t size)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    munmap((char *)p + size - pg, 2 * pg);
}

static void test_logger_options_and_stats(void **unused)
{
    (void)unused;
    sl_logger_options *o = guarded(sizeof(*o));
    sl_logger_options_init(o);
    assert_int_equal(o->size, sizeof(sl_logger_options));
    assert_int_equal(o->level, SL_LEVEL_INFO);
    assert_int_equal(o->max_record_bytes, 65536);
    o->service = "old-caller";
    o->level = SL_LEVEL_DEBUG;
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(o, &lg), SL_OK);
    assert_int_equal(sl_logger_get_level(lg), SL_LEVEL_DEBUG);
    sl_sink *null = NULL;
    assert_int_equal(sl_null_sink_new(&null), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, null, SL_LEVEL_TRACE), SL_OK);
    sl_debug(lg, "one");
    sl_info(lg, "two");

    sl_sink_stats *ss = guarded(sizeof(*ss));
    sl_sink_stats_init(ss);
    sl_sink_get_stats(sl_logger_sink_at(lg, 0), ss);
    assert_int_equal(ss->size, sizeof(sl_sink_stats));
    assert_int_equal(ss->written, 2);
    assert_int_equal(ss->dropped, 0);

    sl_logger_stats *ls = guarded(sizeof(*ls));
    sl_logger_stats_init(ls);
    assert_int_equal(sl_logger_get_stats(lg, ls), SL_OK);
    assert_int_equal(ls->size, sizeof(sl_logger_stats));
    assert_int_equal(ls->written, 2);
    assert_int_equal(ls->nsinks, 1);
    sl_logger_stats_init(ls);
    assert_int_equal(sl_logger_close(lg, 1000, ls), SL_OK);
    assert_int_equal(ls->written, 2);
    unguard(o, sizeof(*o));
    unguard(ss, sizeof(*ss));
    unguard(ls, sizeof(*ls));
}

static void test_error_detail(void **unused)
{
    (void)unused;
    sl_error *e = guarded(sizeof(*e));
    sl_error_init(e);
    assert_int_equal(e->size, sizeof(sl_error));
    assert_int_equal(e->position, -1);
    assert_int_equal(sl__error_set(e, SL_EPARSE, "SPANLOG_LEVEL", "verbose", 0,
                                   "not a level: %s", "verbose"),
                     SL_EPARSE);
    assert_string_equal(e->name, "SPANLOG_LEVEL");
    assert_string_equal(e->text, "not a level: verbose");
    unguard(e, sizeof(*e));
}

static void test_sink_options(void **unused)
{
    (void)unused;
    sl_fd_sink_options *f = guarded(sizeof(*f));
    sl_fd_sink_options_init(f);
    assert_int_equal(f->size, sizeof(sl_fd_sink_options));
    assert_int_equal(f->fd, 1);
    f->path = "/dev/null";
    sl_sink *fd = NULL;
    assert_int_equal(sl_fd_sink_new(f, &fd, NULL), SL_OK);
    sl_sink_free(fd, 0);

    int port = 0;
    int rx = loopback_socket(SOCK_DGRAM, &port);
    sl_syslog_options *s = guarded(sizeof(*s));
    sl_syslog_options_init(s);
    assert_int_equal(s->size, sizeof(sl_syslog_options));
    assert_string_equal(s->path, "/dev/log");
    s->transport = SL_SYSLOG_UDP;
    s->port = (uint16_t)port;
    sl_sink *sys = NULL;
    assert_int_equal(sl_syslog_sink_new(s, &sys, NULL), SL_OK);
    sl_sink_free(sys, 0);
    close(rx);

    unguard(f, sizeof(*f));
    unguard(s, sizeof(*s));
#if SPANLOG_WITH_LOKI
    sl_loki_options *l = guarded(sizeof(*l));
    sl_loki_options_init(l);
    assert_int_equal(l->size, sizeof(sl_loki_options));
    assert_int_equal(l->connect_timeout_ms, 5000);
    l->url = "http://127.0.0.1:9";
    sl_sink *loki = NULL;
    assert_int_equal(sl_loki_sink_new(l, &loki, NULL), SL_OK);
    sl_loki_stats *ls = guarded(sizeof(*ls));
    sl_loki_stats_init(ls);
    assert_int_equal(sl_loki_get_stats(loki, ls), SL_OK);
    assert_int_equal(ls->size, sizeof(sl_loki_stats));
    assert_int_equal(ls->queued_records, 0);
    sl_sink_free(loki, 0);
    unguard(l, sizeof(*l));
    unguard(ls, sizeof(*ls));
#endif
}

/* Options no _init prepared (size 0) are refused, not misread. */
static void test_unprepared_options_refused(void **unused)
{
    (void)unused;
    sl_logger_options o;
    memset(&o, 0, sizeof(o));
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(&o, &lg), SL_EINVAL);
    assert_null(lg);
    sl_fd_sink_options f;
    memset(&f, 0, sizeof(f));
    sl_sink *s = NULL;
    assert_int_equal(sl_fd_sink_new(&f, &s, NULL), SL_EINVAL);
#if SPANLOG_WITH_LOKI
    sl_loki_options l;
    memset(&l, 0, sizeof(l));
    l.url = "http://127.0.0.1:9";
    assert_int_equal(sl_loki_sink_new(&l, &s, NULL), SL_EINVAL);
#endif
    assert_null(s);
}

/* The carrier: the newer library's init and sl_carrier_pairs write only
 * this caller's struct, and extract reads no more of it. */
static const char *get_tp(void *ctx, const char *name, size_t *len)
{
    (void)ctx;
    static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    if (strcmp(name, "traceparent") != 0) {
        return NULL;
    }
    *len = sizeof tp - 1;
    return tp;
}

static void test_carrier(void **unused)
{
    (void)unused;
    sl_carrier *c = guarded(sizeof(*c));
    sl_carrier_init(c);
    assert_int_equal(c->size, sizeof(sl_carrier));
    c->get_n = get_tp;
    sl_span_context p;
    assert_int_equal(sl_extract(c, &p, NULL), SL_OK);
    assert_true(sl_span_context_is_valid(&p));
    sl_header_pair pair = {"traceparent",
                           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                           SL_NPOS};
    sl_header_pairs hp = {&pair, 1};
    assert_ptr_equal(sl_carrier_pairs(c, &hp), c);
    assert_int_equal(sl_extract(c, &p, NULL), SL_OK);
    assert_true(sl_span_context_is_valid(&p));
    unguard(c, sizeof(*c));
}

/* A newer caller: its struct is larger than the library's. */
static void test_newer_caller(void **unused)
{
    (void)unused;
    struct newer {
        sl_logger_options o;
        unsigned char future[512];
    } *n = guarded(sizeof(struct newer));
    sl_logger_options_init_size(&n->o, sizeof(*n));
    assert_int_equal(n->o.size, sizeof(*n));
    for (size_t i = 0; i < sizeof(n->future); i++) {
        assert_int_equal(n->future[i], 0); /* unknown here: zeroed */
    }
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(&n->o, &lg), SL_OK);
    struct newer_stats {
        sl_sink_stats s;
        uint64_t future[8];
    } *st = guarded(sizeof(struct newer_stats));
    sl_sink_stats_init_size(&st->s, sizeof(*st));
    /* The library's struct is 40 bytes larger than this file's (the grown
     * tail): it fills that much, and leaves what lies beyond alone. */
    st->future[7] = 77;
    sl_sink_get_stats(NULL, &st->s);
    assert_int_equal(st->s.size, sizeof(sl_sink_stats) + 5 * sizeof(uint64_t));
    assert_int_equal(st->future[7], 77);
    sl_logger_free(lg);
    unguard(n, sizeof(*n));
    unguard(st, sizeof(*st));
}

int main(void)
{
    sl_set_diagnostics(SL_DIAG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logger_options_and_stats),
        cmocka_unit_test(test_error_detail),
        cmocka_unit_test(test_sink_options),
        cmocka_unit_test(test_unprepared_options_refused),
        cmocka_unit_test(test_newer_caller),
        cmocka_unit_test(test_carrier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
