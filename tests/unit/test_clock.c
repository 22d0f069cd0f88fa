/*
 * test_clock.c - RFC 3339 timestamps against gmtime_r, the clocks, and the
 * cached host name and pid (including after fork).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The reference: gmtime_r and snprintf. */
static void reference(int64_t ns, int digits, char *out, size_t cap)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (digits > 0) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)frac);
        f[digits] = '\0';
        n += snprintf(out + n, cap - (size_t)n, ".%s", f);
    }
    snprintf(out + n, cap - (size_t)n, "Z");
}

static void check(int64_t ns)
{
    static const int widths[] = {0, 3, 6, 9};
    for (int i = 0; i < 4; i++) {
        char got[32], want[48];
        memset(got, 0x55, sizeof got);
        size_t len = sl__format_rfc3339_utc(ns, widths[i], got);
        reference(ns, widths[i], want, sizeof want);
        if (strcmp(got, want) != 0) {
            fail_msg("ns=%lld digits=%d: got %s want %s", (long long)ns, widths[i], got,
                     want);
        }
        assert_int_equal(len, strlen(want));
        assert_true(len <= 30);
    }
}

static void test_known(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(sl__format_rfc3339_utc(0, 0, out), 20);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    sl__format_rfc3339_utc(0, 9, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000000Z");
    sl__format_rfc3339_utc(951782400LL * 1000000000 + 123456789, 6, out);
    assert_string_equal(out, "2000-02-29T00:00:00.123456Z");
    sl__format_rfc3339_utc(1795256130123456789LL, 3, out);
    assert_string_equal(out, "2026-11-21T10:15:30.123Z");
    sl__format_rfc3339_utc(-1, 9, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999999Z");
    /* unsupported widths round up to the next supported one */
    assert_int_equal(sl__format_rfc3339_utc(0, 1, out), 24);
    assert_int_equal(sl__format_rfc3339_utc(0, 5, out), 27);
    assert_int_equal(sl__format_rfc3339_utc(0, 42, out), 30);
    assert_int_equal(sl__format_rfc3339_utc(0, -3, out), 20);
}

static void test_every_day(void **state)
{
    (void)state;
    /* every day that int64 nanoseconds can hold, at a varying time of day */
    int64_t first = INT64_MIN / 1000000000 / 86400 + 1;
    int64_t last = INT64_MAX / 1000000000 / 86400 - 1;
    for (int64_t d = first; d <= last; d++) {
        int64_t sod = (d * 7919) % 86400;
        if (sod < 0) {
            sod += 86400;
        }
        check((d * 86400 + sod) * 1000000000 + (d & 0x3fffffff));
    }
    check(INT64_MAX);
    check(INT64_MIN);
}

static void test_random(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        check((int64_t)rnd());
    }
}

static void test_clocks(void **state)
{
    (void)state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t now = sl__now_ns();
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    assert_true(before <= now && now <= after);
    int64_t m1 = sl__monotonic_ns();
    int64_t m2 = sl__monotonic_ns();
    assert_true(m1 > 0 && m2 >= m1);
}

static void test_sysinfo(void **state)
{
    (void)state;
    char host[256] = {0};
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    assert_string_equal(sl__hostname(), host[0] ? host : "localhost");
    assert_ptr_equal(sl__hostname(), sl__hostname());

    int parent = sl__pid();
    assert_int_equal(parent, getpid());
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int pids[2] = {sl__pid(), (int)getpid()};
        ssize_t w = write(fds[1], pids, sizeof pids);
        _exit(w == (ssize_t)sizeof pids ? 0 : 1);
    }
    int pids[2];
    assert_int_equal(read(fds[0], pids, sizeof pids), (ssize_t)sizeof pids);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(pids[0], pids[1]);
    assert_int_equal(pids[1], child);
    assert_int_equal(sl__pid(), parent);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),   cmocka_unit_test(test_every_day),
        cmocka_unit_test(test_random),  cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_sysinfo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
