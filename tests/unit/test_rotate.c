/*
 * test_rotate.c - files that rotate and reopen (stdout.h, control.h):
 * size rotation under 4 threads and under 2 processes (every record exactly
 * once across all files, every line valid, no file over its limit), old
 * files pruned, daily and hourly rotation on records' own times, gzip of
 * rotated files, logrotate's create flow with SIGHUP, a full disk (a small
 * tmpfs) with counted drops and recovery, file: URI options, and levels
 * stepped and reloaded by signal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <spanlog/features.h>
#if SPANLOG_WITH_GZIP
#include <zlib.h>
#endif

#include "core.h"
#include "spanlog/spanlog.h"
#include "unit/core_capture.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/sl-rot-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/app.log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

static sl_logger *file_logger(const sl_fd_sink_options *fo)
{
    sl_sink *sink = NULL;
    assert_int_equal(sl_fd_sink_new(fo, &sink, NULL), SL_OK);
    sl_logger_options lo;
    sl_logger_options_init(&lo);
    lo.level = SL_LEVEL_TRACE;
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(&lo, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    return lg;
}

static sl_fd_sink_options rotating(uint64_t max_bytes, unsigned max_files)
{
    sl_fd_sink_options fo;
    sl_fd_sink_options_init(&fo);
    fo.path = path;
    fo.max_bytes = max_bytes;
    fo.max_files = max_files;
    return fo;
}

static char *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

typedef void (*line_fn)(json_t *rec, void *user);

/* Parses every line of one file; returns the number of lines. */
static size_t each_line(const char *text, size_t len, line_fn fn, void *user)
{
    size_t n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl); /* never half a line */
        json_error_t err;
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, &err);
        if (j == NULL) {
            fail_msg("not JSON: %.*s (%s)", (int)(nl - p), p, err.text);
        }
        fn(j, user);
        json_decref(j);
        n++;
        p = nl + 1;
    }
    return n;
}

/* Every file in dir whose name starts with "app.log": lines parsed. */
static size_t each_file(line_fn fn, void *user, uint64_t max_bytes, size_t *files)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t lines = 0;
    *files = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "app.log", 7) != 0) {
            continue;
        }
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *t = slurp(p, &len);
        assert_non_null(t);
        if (max_bytes > 0) {
            assert_true(len <= max_bytes);
        }
        lines += each_line(t, len, fn, user);
        free(t);
        (*files)++;
    }
    closedir(d);
    return lines;
}

/* ---- size rotation: threads and processes -------------------------------------------
 */

#define THREADS 4
#define PER     100000

typedef struct seen {
    uint8_t *hits; /* [src][i] */
    int srcs, per;
    size_t dup;
} seen;

static void mark(json_t *rec, void *user)
{
    seen *s = user;
    int t = (int)get_int(rec, "t"), i = (int)get_int(rec, "i");
    assert_true(t >= 0 && t < s->srcs && i >= 0 && i < s->per);
    assert_string_equal(get_str(rec, "msg"), "rotating record with some padding text");
    if (s->hits[(size_t)t * (size_t)s->per + (size_t)i]++ != 0) {
        s->dup++;
    }
}

typedef struct targ {
    sl_logger *lg;
    int t;
} targ;

static void *writer(void *p)
{
    targ *a = p;
    for (int i = 0; i < PER; i++) {
        sl_info(a->lg, "rotating record with some padding text", SL_INT("t", a->t),
                SL_INT("i", i));
    }
    return NULL;
}

static void test_size_rotation_under_threads(void **state)
{
    (void)state;
    const uint64_t max = 1u << 20;
    sl_fd_sink_options fo = rotating(max, 1000);
    sl_logger *lg = file_logger(&fo);
    pthread_t th[THREADS];
    targ a[THREADS];
    for (int t = 0; t < THREADS; t++) {
        a[t] = (targ){lg, t};
        assert_int_equal(pthread_create(&th[t], NULL, writer, &a[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    sl_logger_free(lg);
    seen s = {calloc((size_t)THREADS * PER, 1), THREADS, PER, 0};
    size_t files = 0;
    size_t lines = each_file(mark, &s, max, &files);
    assert_int_equal(lines, (size_t)THREADS * PER);
    assert_int_equal(s.dup, 0);
    for (size_t k = 0; k < (size_t)THREADS * PER; k++) {
        assert_int_equal(s.hits[k], 1);
    }
    assert_true(files >= 24); /* dozens of rotations */
    free(s.hits);
}

static void test_size_rotation_across_processes(void **state)
{
    (void)state;
    const uint64_t max = 256u << 10;
    const int procs = 2, per = 20000;
    pid_t pid[2];
    for (int p = 0; p < procs; p++) {
        pid[p] = fork();
        assert_true(pid[p] >= 0);
        if (pid[p] == 0) {
            sl_fd_sink_options fo = rotating(max, 1000);
            sl_sink *sink = NULL;
            if (sl_fd_sink_new(&fo, &sink, NULL) != SL_OK) {
                _exit(3);
            }
            sl_logger *lg = NULL;
            sl_logger_new(NULL, &lg);
            sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE);
            for (int i = 0; i < per; i++) {
                sl_info(lg, "rotating record with some padding text", SL_INT("t", p),
                        SL_INT("i", i));
            }
            sl_sink_stats st;
            sl_sink_get_stats(sink, &st);
            sl_logger_free(lg);
            _exit(st.dropped == 0 && st.written == (uint64_t)per ? 0 : 4);
        }
    }
    for (int p = 0; p < procs; p++) {
        int ws = 0;
        assert_int_equal(waitpid(pid[p], &ws, 0), pid[p]);
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
    seen s = {calloc((size_t)procs * (size_t)per, 1), procs, per, 0};
    size_t files = 0;
    /* the other process's lines can push a file past max (stdout.h): no bound */
    size_t lines = each_file(mark, &s, 0, &files);
    assert_int_equal(lines, (size_t)procs * (size_t)per);
    assert_int_equal(s.dup, 0);
    assert_true(files >= 4);
    free(s.hits);
}

static void count_line(json_t *rec, void *user)
{
    (void)rec;
    (*(size_t *)user)++;
}

static void test_max_files_pruned(void **state)
{
    (void)state;
    sl_fd_sink_options fo = rotating(4096, 3);
    sl_logger *lg = file_logger(&fo);
    for (int i = 0; i < 2000; i++) {
        sl_info(lg, "x", SL_INT("i", i));
    }
    sl_logger_free(lg);
    size_t n = 0, files = 0;
    each_file(count_line, &n, 4096, &files);
    assert_int_equal(files, 4); /* app.log and app.log.1 .. .3 */
    char p[256];
    snprintf(p, sizeof p, "%s.3", path);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s.4", path);
    assert_int_not_equal(stat(p, &st), 0);
    /* the newest records are in app.log: the last one is i = 1999 */
    size_t len;
    char *t = slurp(path, &len);
    assert_non_null(strstr(t, "\"i\":1999}"));
    free(t);
}

/* ---- time rotation on the records' own clock
 * -------------------------------------------- */

static int64_t utc_ns(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000000000;
}

static void write_at(sl_sink *sink, int64_t t, const char *line)
{
    sl_record rec = {.level = SL_LEVEL_INFO, .time_ns = t, .msg = "m", .msg_len = 1};
    sl__sink_write(sink, &rec, line, strlen(line));
}

static void test_daily_and_hourly_rotation(void **state)
{
    (void)state;
    sl_fd_sink_options fo = rotating(0, 10);
    fo.rotate = SL_ROTATE_DAILY;
    fo.utc = true;
    sl_sink *sink = NULL;
    assert_int_equal(sl_fd_sink_new(&fo, &sink, NULL), SL_OK);
    write_at(sink, utc_ns(2026, 12, 2, 23, 59, 58), "{\"n\":1}\n");
    write_at(sink, utc_ns(2026, 12, 2, 23, 59, 59), "{\"n\":2}\n");
    write_at(sink, utc_ns(2026, 12, 3, 0, 0, 1), "{\"n\":3}\n");
    write_at(sink, utc_ns(2026, 12, 5, 10, 0, 0), "{\"n\":4}\n"); /* days skipped */
    sl_sink_free(sink, 1000);
    char p[256];
    size_t len;
    snprintf(p, sizeof p, "%s.2026-12-02", path);
    char *t = slurp(p, &len);
    assert_non_null(t);
    assert_string_equal(t, "{\"n\":1}\n{\"n\":2}\n");
    free(t);
    snprintf(p, sizeof p, "%s.2026-12-03", path);
    t = slurp(p, &len);
    assert_non_null(t);
    assert_string_equal(t, "{\"n\":3}\n");
    free(t);
    t = slurp(path, &len);
    assert_string_equal(t, "{\"n\":4}\n");
    free(t);
    teardown(NULL);
    setup(NULL);

    fo = rotating(0, 2);
    fo.rotate = SL_ROTATE_HOURS;
    fo.rotate_hours = 6;
    fo.utc = true;
    assert_int_equal(sl_fd_sink_new(&fo, &sink, NULL), SL_OK);
    for (int h = 0; h < 24; h += 3) {
        char line[32];
        snprintf(line, sizeof line, "{\"h\":%d}\n", h);
        write_at(sink, utc_ns(2026, 12, 3, h, 30, 0), line);
    }
    sl_sink_free(sink, 1000);
    /* periods 00, 06, 12 were closed; only the newest two are kept */
    snprintf(p, sizeof p, "%s.2026-12-03T00", path);
    assert_null(slurp(p, &len));
    snprintf(p, sizeof p, "%s.2026-12-03T06", path);
    t = slurp(p, &len);
    assert_string_equal(t, "{\"h\":6}\n{\"h\":9}\n");
    free(t);
    snprintf(p, sizeof p, "%s.2026-12-03T12", path);
    t = slurp(p, &len);
    assert_string_equal(t, "{\"h\":12}\n{\"h\":15}\n");
    free(t);
    t = slurp(path, &len);
    assert_string_equal(t, "{\"h\":18}\n{\"h\":21}\n");
    free(t);

    fo.rotate_hours = 5; /* does not divide a day */
    assert_int_equal(sl_fd_sink_new(&fo, &sink, NULL), SL_EINVAL);
}

static void test_compressed_rotation(void **state)
{
    (void)state;
    sl_fd_sink_options fo = rotating(8192, 3);
    fo.compress = true;
#if !SPANLOG_WITH_GZIP
    /* Built without zlib: refused, by name, and nothing is created. */
    sl_sink *none = NULL;
    sl_error e;
    sl_error_init(&e);
    assert_int_equal(sl_fd_sink_new(&fo, &none, &e), SL_ENOTSUP);
    assert_string_equal(e.name, "compress");
    char uri[512];
    snprintf(uri, sizeof uri, "file:%s?compress=1", path);
    sl_error_init(&e);
    assert_int_equal(sl_sink_uri_check(uri, &e), SL_ENOTSUP);
    assert_non_null(strstr(e.text, "zlib"));
#else
    sl_logger *lg = file_logger(&fo);
    for (int i = 0; i < 400; i++) {
        sl_info(lg, "rotating record with some padding text", SL_INT("t", 0),
                SL_INT("i", i));
    }
    sl_logger_free(lg); /* close waits for the gzip threads */
    char p[256];
    snprintf(p, sizeof p, "%s.1.gz", path);
    gzFile gz = gzopen(p, "rb");
    assert_non_null(gz);
    char buf[65536];
    int n = gzread(gz, buf, sizeof buf - 1);
    gzclose(gz);
    assert_true(n > 0);
    buf[n] = '\0';
    size_t lines = 0;
    each_line(buf, (size_t)n, count_line, &lines);
    assert_true(lines > 10);
    snprintf(p, sizeof p, "%s.1", path);
    struct stat st;
    assert_int_not_equal(stat(p, &st), 0); /* the plain one is gone */
#endif
}

/* ---- reopen: logrotate's create mode --------------------------------------------------
 */

static void test_logrotate_create_with_sighup(void **state)
{
    (void)state;
    sl_fd_sink_options fo;
    sl_fd_sink_options_init(&fo);
    fo.path = path;
    sl_logger *lg = file_logger(&fo);
    assert_int_equal(sl_signals_install(lg, SL_SIGNAL_REOPEN), SL_OK);
    sl_info(lg, "before");
    char moved[256];
    snprintf(moved, sizeof moved, "%s.1", path);
    assert_int_equal(rename(path, moved), 0); /* what logrotate does */
    sl_info(lg, "still into the moved file");
    assert_int_equal(raise(SIGHUP), 0); /* postrotate: kill -HUP */
    sl_info(lg, "after");
    sl_signals_uninstall();
    sl_logger_free(lg);
    size_t len;
    char *t = slurp(moved, &len);
    assert_non_null(strstr(t, "\"before\""));
    assert_non_null(strstr(t, "\"still into the moved file\""));
    assert_null(strstr(t, "\"after\""));
    free(t);
    t = slurp(path, &len);
    assert_non_null(t);
    size_t lines = 0;
    each_line(t, len, count_line, &lines);
    assert_int_equal(lines, 1);
    assert_non_null(strstr(t, "\"after\""));
    free(t);

    /* the same without signals */
    lg = file_logger(&fo);
    assert_int_equal(rename(path, moved), 0);
    sl_logger_reopen(lg);
    sl_info(lg, "reopened");
    sl_logger_free(lg);
    t = slurp(path, &len);
    assert_non_null(strstr(t, "\"reopened\""));
    free(t);
}

/* ---- a full disk
 * ------------------------------------------------------------------------ */

static int errors_seen;
static void on_error(void *user, const sl_sink *sink, sl_status code, const char *text,
                     uint64_t suppressed)
{
    (void)user;
    (void)sink;
    (void)code;
    (void)text;
    (void)suppressed;
    errors_seen++;
}

static void test_full_disk_counts_and_recovers(void **state)
{
    (void)state;
    char mnt[128];
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        rmdir(mnt);
        skip(); /* not root, or no mount here */
    }
    char fp[256];
    snprintf(fp, sizeof fp, "%s/app.log", mnt);
    sl_fd_sink_options fo;
    sl_fd_sink_options_init(&fo);
    fo.path = fp;
    sl_sink *sink = NULL;
    assert_int_equal(sl_fd_sink_new(&fo, &sink, NULL), SL_OK);
    sl_sink_set_error_callback(sink, on_error, NULL);
    errors_seen = 0;
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    const int n = 2000; /* about 200 KiB: far more than fits */
    for (int i = 0; i < n; i++) {
        sl_info(lg, "filling the disk with records", SL_INT("i", i));
    }
    sl_sink_stats st;
    sl_sink_get_stats(sink, &st);
    assert_true(st.dropped > 0);
    assert_int_equal(st.written + st.dropped, (uint64_t)n);
    assert_true(errors_seen > 0);

    /* room again: the file is cut (as an operator would), logging goes on */
    assert_int_equal(truncate(fp, 0), 0);
    sl_info(lg, "room again");
    sl_sink_stats st2;
    sl_sink_get_stats(sink, &st2);
    assert_int_equal(st2.written, st.written + 1);
    sl_logger_free(lg);
    size_t len;
    char *t = slurp(fp, &len);
    assert_non_null(strstr(t, "\"room again\""));
    size_t lines = 0;
    each_line(t, len, count_line, &lines);
    free(t);
    unlink(fp);
    assert_int_equal(umount(mnt), 0);
    rmdir(mnt);
}

/* ---- file: URI options
 * ----------------------------------------------------------------- */

static void test_file_uri_options(void **state)
{
    (void)state;
    char uri[512];
    snprintf(uri, sizeof uri, "file:%s?max_bytes=2k&max_files=2", path);
    sl_sink *sink = NULL;
    assert_int_equal(sl_sink_from_uri(uri, &sink, NULL), SL_OK);
    sl_logger *lg = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE), SL_OK);
    for (int i = 0; i < 200; i++) {
        sl_info(lg, "x", SL_INT("i", i));
    }
    sl_logger_free(lg);
    size_t n = 0, files = 0;
    each_file(count_line, &n, 2048, &files);
    assert_int_equal(files, 3);

    /* Out of range is SL_ERANGE (the one number grammar), the rest SL_EPARSE;
     * the error names the key and the value. */
    const struct {
        const char *q, *key;
        sl_status st;
    } bad[] = {{"?max_bytes=lots", "max_bytes", SL_EPARSE},
               {"?rotate=weekly", "rotate", SL_EPARSE},
               {"?rotate=5h", "rotate", SL_ERANGE},
               {"?colour=1", "colour", SL_EPARSE},
               {"?max_files=0", "max_files", SL_ERANGE},
               {"?max_files= 2", "max_files", SL_EPARSE},
               {"?max_bytes=+2k", "max_bytes", SL_EPARSE},
               {"?compress=maybe", "compress", SL_EPARSE},
               {"?max_bytes", "max_bytes", SL_EPARSE}};
    char other[256];
    snprintf(other, sizeof other, "%s/other.log", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(uri, sizeof uri, "file:%s%s", other, bad[i].q);
        sl_error e;
        sl_error_init(&e);
        assert_int_equal(sl_sink_from_uri(uri, &sink, &e), bad[i].st);
        assert_string_equal(e.name, bad[i].key);
        assert_non_null(strstr(e.text, bad[i].key));
        struct stat st;
        assert_int_not_equal(stat(other, &st), 0); /* nothing created */
    }
    snprintf(uri, sizeof uri, "file:%s?rotate=6h&utc=1", other);
    assert_int_equal(sl_sink_from_uri(uri, &sink, NULL), SL_OK);
    sl_sink_free(sink, 100);
    unlink(other);
}

/* ---- levels from outside
 * ---------------------------------------------------------------- */

static bool level_becomes(sl_logger *lg, sl_level want)
{
    int64_t end = sl__monotonic_ns() + 5000000000LL;
    while (sl__monotonic_ns() < end) {
        if (sl_logger_get_level(lg) == want) {
            return true;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_levels_by_signal(void **state)
{
    (void)state;
    char lf[256];
    snprintf(lf, sizeof lf, "%s/level", dir);
    FILE *f = fopen(lf, "w");
    assert_non_null(f);
    fputs("warn\n", f);
    fclose(f);
    setenv("SPANLOG_LEVEL_FILE", lf, 1);
    capture c;
    capture_init(&c);
    sl_logger *lg = capture_logger(NULL, &c); /* info */
    assert_int_equal(sl_signals_install(lg, SL_SIGNAL_ALL), SL_OK);
    unsetenv("SPANLOG_LEVEL_FILE");
    assert_int_equal(raise(SIGUSR1), 0);
    assert_true(level_becomes(lg, SL_LEVEL_DEBUG));
    assert_int_equal(raise(SIGUSR1), 0);
    assert_true(level_becomes(lg, SL_LEVEL_TRACE));
    assert_int_equal(raise(SIGUSR2), 0);
    assert_true(level_becomes(lg, SL_LEVEL_DEBUG));
    assert_int_equal(raise(SIGHUP), 0);
    assert_true(level_becomes(lg, SL_LEVEL_WARN));
    sl_signals_uninstall();
    /* each change was said in a record, parsed back */
    size_t changes = 0;
    for (size_t i = 0; i < c.n; i++) {
        json_t *j = capture_parse(&c, i);
        if (strcmp(get_str(j, "msg"), "log level changed") == 0) {
            changes++;
            if (strcmp(get_str(j, "to"), "warn") == 0) {
                assert_string_equal(get_str(j, "from"), "debug");
                assert_string_equal(get_str(j, "by"), "SIGHUP");
            }
        }
        json_decref(j);
    }
    assert_int_equal(changes, 4);
    assert_int_equal(sl_signals_install(NULL, SL_SIGNAL_ALL), SL_EINVAL);
    assert_int_equal(sl_signals_install(lg, 64), SL_EINVAL);
    sl_logger_free(lg);
    capture_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_size_rotation_under_threads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_size_rotation_across_processes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_files_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daily_and_hourly_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logrotate_create_with_sighup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_counts_and_recovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_uri_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_by_signal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
