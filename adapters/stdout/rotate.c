/*
 * rotate.c - a file sink's path: reopen on demand, rotation by size and
 * by time, old files kept and optionally gzipped (spanlog/stdout.h).
 *
 * Everything here runs under the fd sink's mutex, before a record's
 * write(2), so a record is never split across two files and never written
 * twice:
 *
 *   write ─▶ reopen asked (SIGHUP / sl_logger_reopen)? ─▶ reopen PATH
 *        ─▶ size + line > max_bytes, or the period ended? ─▶ rotate
 *        ─▶ write(2) into the current file
 *
 *   rotate: flock(current) ─▶ PATH still our file? ─no─▶ another process
 *           rotated it: just reopen
 *                    │ yes
 *                    ▼
 *           numbered: PATH.(n-1) ─▶ PATH.n ... PATH ─▶ PATH.1
 *           dated:    PATH ─▶ PATH.2026-12-03 (PATH.2026-12-03T14 hourly)
 *           open a new PATH, unlock, close the old; prune beyond max_files;
 *           gzip the rotated file on a thread of its own (compress)
 *
 * Several processes may append to one PATH: each holds the file lock
 * while it rotates and checks that PATH is still the file it writes, and
 * every 64 records it re-reads the file's size and identity, so it sees the
 * others' lines and rotations. What is and is not safe across processes is
 * written in stdout.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/stdout/rotate.h"
#include "internal.h"

#if SPANLOG_WITH_GZIP
#include <zlib.h>
#endif

#define RECHECK_EVERY 64

struct sl__rotor {
    char *path;
    uint64_t max_bytes;
    unsigned max_files;
    int mode;       /* SL_ROTATE_* */
    unsigned hours; /* SL_ROTATE_HOURS: the period */
    bool utc;
    bool compress;
    uint64_t size;      /* bytes in the current file, as far as we know */
    int64_t period_end; /* Unix seconds at which the current period ends; 0: unknown */
    unsigned gen_seen;  /* the reopen generation last acted on */
    unsigned writes;    /* since the last re-check */
    int compressing;    /* gzip threads running; under gz_mu */
    pthread_mutex_t gz_mu;
    pthread_cond_t gz_done; /* signalled when compressing drops */
};

static int open_path(const char *path)
{
    /* O_NONBLOCK: a FIFO with no reader fails instead of hanging (stdout.h). */
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
}

static uint64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The end of the period that contains t (local time unless utc). */
static int64_t period_end(const sl__rotor *r, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if ((r->utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL) {
        return t + 86400;
    }
    tm.tm_sec = 0;
    tm.tm_min = 0;
    if (r->mode == SL_ROTATE_DAILY) {
        tm.tm_hour = 0;
        tm.tm_mday += 1;
    } else {
        tm.tm_hour = (tm.tm_hour / (int)r->hours + 1) * (int)r->hours;
    }
    tm.tm_isdst = -1;
    time_t end = r->utc ? timegm(&tm) : mktime(&tm);
    return end > tt ? (int64_t)end : t + 3600;
}

/* PATH.2026-12-03 (daily) or PATH.2026-12-03T14 for the period before `end`. */
static void dated_name(const sl__rotor *r, int64_t end, char *out, size_t cap)
{
    time_t tt = (time_t)(end - 1);
    struct tm tm;
    if ((r->utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL) {
        memset(&tm, 0, sizeof(tm));
    }
    if (r->mode == SL_ROTATE_DAILY) {
        snprintf(out, cap, "%s.%04d-%02d-%02d", r->path, tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
    } else {
        int h = tm.tm_hour / (int)r->hours * (int)r->hours;
        snprintf(out, cap, "%s.%04d-%02d-%02dT%02d", r->path, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, h);
    }
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* ---- gzip of a rotated file, off the caller's thread ------------------------------ */

typedef struct gz_job {
    sl__rotor *r;
    char name[];
} gz_job;

#if SPANLOG_WITH_GZIP
static bool gzip_file(const char *name)
{
    char tmp[4200], dst[4200];
    snprintf(tmp, sizeof(tmp), "%s.gz.tmp", name);
    snprintf(dst, sizeof(dst), "%s.gz", name);
    int in = open(name, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        return false;
    }
    gzFile out = gzopen(tmp, "wb");
    bool ok = out != NULL;
    char buf[65536];
    ssize_t n;
    while (ok && (n = read(in, buf, sizeof(buf))) > 0) {
        ok = gzwrite(out, buf, (unsigned)n) == (int)n;
    }
    close(in);
    if (out != NULL && gzclose(out) != Z_OK) {
        ok = false;
    }
    if (ok && rename(tmp, dst) == 0) {
        unlink(name);
        return true;
    }
    unlink(tmp);
    return false;
}
#endif

static void *gzip_main(void *arg)
{
    gz_job *j = arg;
#if SPANLOG_WITH_GZIP
    (void)gzip_file(j->name);
#endif
    sl__rotor *r = j->r;
    sl__free(j);
    pthread_mutex_lock(&r->gz_mu);
    r->compressing--;
    pthread_cond_broadcast(&r->gz_done);
    pthread_mutex_unlock(&r->gz_mu);
    return NULL;
}

static void gzip_later(sl__rotor *r, const char *name)
{
    size_t n = strlen(name) + 1;
    gz_job *j = sl__malloc(sizeof(*j) + n);
    if (j == NULL) {
        return; /* the file stays uncompressed: nothing is lost */
    }
    j->r = r;
    memcpy(j->name, name, n);
    pthread_mutex_lock(&r->gz_mu);
    r->compressing++;
    pthread_mutex_unlock(&r->gz_mu);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, gzip_main, j) != 0) {
        pthread_mutex_lock(&r->gz_mu);
        r->compressing--;
        pthread_mutex_unlock(&r->gz_mu);
        sl__free(j);
    }
    pthread_attr_destroy(&a);
}

/* ---- keeping max_files ------------------------------------------------------------ */

/* Numbered: PATH.(i) -> PATH.(i+1) from the oldest down, then PATH -> PATH.1. */
static int shift_numbered(sl__rotor *r)
{
    char a[4200], b[4200];
    const char *ext[2] = {"", ".gz"};
    for (unsigned i = r->max_files; i >= 1; i--) {
        for (int e = 0; e < 2; e++) {
            snprintf(a, sizeof(a), "%s.%u%s", r->path, i, ext[e]);
            if (i == r->max_files) {
                unlink(a); /* the oldest goes */
                continue;
            }
            snprintf(b, sizeof(b), "%s.%u%s", r->path, i + 1, ext[e]);
            if (rename(a, b) != 0 && errno != ENOENT) {
                return errno;
            }
        }
    }
    snprintf(b, sizeof(b), "%s.1", r->path);
    return rename(r->path, b) == 0 ? 0 : errno;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Dated: the names sort by date; remove the oldest beyond max_files. */
static void prune_dated(sl__rotor *r)
{
    char dir[4096];
    const char *slash = strrchr(r->path, '/');
    const char *base = slash != NULL ? slash + 1 : r->path;
    size_t dl = slash != NULL ? (size_t)(slash - r->path) : 1;
    memcpy(dir, slash != NULL ? r->path : ".", dl);
    dir[dl] = '\0';
    if (dl == 0) {
        strcpy(dir, "/");
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    size_t bl = strlen(base), n = 0, cap = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        /* BASE.2026-... : a date right after the dot */
        if (strncmp(nm, base, bl) == 0 && nm[bl] == '.' && nm[bl + 1] >= '0' &&
            nm[bl + 1] <= '9' && strstr(nm, ".tmp") == NULL) {
            if (n == cap) {
                size_t nc = cap == 0 ? 16 : cap * 2;
                char **p = sl__realloc(names, nc * sizeof(*p));
                if (p == NULL) {
                    break;
                }
                names = p;
                cap = nc;
            }
            if ((names[n] = sl__strdup(nm)) == NULL) {
                break;
            }
            n++;
        }
    }
    closedir(d);
    if (n > r->max_files) {
        qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i + r->max_files < n; i++) {
            char p[8200];
            snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
            unlink(p);
        }
    }
    for (size_t i = 0; i < n; i++) {
        sl__free(names[i]);
    }
    sl__free(names);
}

/* ---- the decisions before a write ------------------------------------------------- */

static int reopen(sl__rotor *r, int *fd)
{
    int nfd = open_path(r->path);
    if (nfd < 0) {
        return errno; /* keep writing where we were */
    }
    close(*fd);
    *fd = nfd;
    r->size = file_size(nfd);
    return 0;
}

/* Is PATH still the file fd writes? */
static bool still_ours(const sl__rotor *r, int fd)
{
    struct stat a, b;
    if (stat(r->path, &a) != 0 || fstat(fd, &b) != 0) {
        return false;
    }
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* A dated name already used this period (the file, or its .gz)? */
static bool name_taken(const char *name)
{
    char gz[4224];
    snprintf(gz, sizeof(gz), "%s.gz", name);
    return exists(name) || exists(gz);
}

static int rotate(sl__rotor *r, int *fd, int64_t now_s)
{
    int err = 0;
    (void)flock(*fd, LOCK_EX);
    if (!still_ours(r, *fd)) {
        /* another process rotated (or the file was moved away): follow it */
        int old = *fd;
        err = reopen(r, fd);
        if (err != 0) {
            (void)flock(old, LOCK_UN);
        }
        return err;
    }
    char rotated[4200];
    if (r->mode == SL_ROTATE_NONE) {
        err = shift_numbered(r);
        snprintf(rotated, sizeof(rotated), "%s.1", r->path);
    } else {
        dated_name(r, r->period_end != 0 ? r->period_end : period_end(r, now_s), rotated,
                   sizeof(rotated) - 8);
        size_t base = strlen(rotated);
        for (unsigned k = 1; name_taken(rotated) && k < 1000; k++) {
            snprintf(rotated + base, sizeof(rotated) - base, ".%u", k);
        }
        err = rename(r->path, rotated) == 0 ? 0 : errno;
    }
    if (err != 0) {
        (void)flock(*fd, LOCK_UN);
        return err;
    }
    int nfd = open_path(r->path);
    if (nfd < 0) {
        err = errno;
        (void)flock(*fd, LOCK_UN);
        return err; /* go on in the rotated file */
    }
    (void)flock(*fd, LOCK_UN);
    close(*fd);
    *fd = nfd;
    r->size = file_size(nfd);
    if (r->mode != SL_ROTATE_NONE) {
        prune_dated(r);
    }
    if (r->compress) {
        gzip_later(r, rotated);
    }
    return 0;
}

int sl__rotor_before_write(sl__rotor *r, int *fd, size_t len, int64_t now_ns)
{
    int err = 0;
    unsigned gen = sl__reopen_generation();
    if (gen != r->gen_seen) {
        r->gen_seen = gen;
        err = reopen(r, fd);
    }
    if (r->max_bytes == 0 && r->mode == SL_ROTATE_NONE) {
        return err;
    }
    if (++r->writes >= RECHECK_EVERY) {
        /* other processes' lines and rotations */
        r->writes = 0;
        if (!still_ours(r, *fd)) {
            int e = reopen(r, fd);
            err = err != 0 ? err : e;
        } else {
            r->size = file_size(*fd);
        }
    }
    int64_t now_s = now_ns / 1000000000;
    bool due = false;
    if (r->mode != SL_ROTATE_NONE) {
        if (r->period_end == 0) {
            r->period_end = period_end(r, now_s);
        }
        due = now_s >= r->period_end;
    }
    if (!due && r->max_bytes > 0 && r->size > 0 && r->size + len > r->max_bytes) {
        due = true;
    }
    if (due) {
        int e = rotate(r, fd, now_s);
        err = err != 0 ? err : e;
        if (r->mode != SL_ROTATE_NONE) {
            r->period_end = period_end(r, now_s);
        }
    }
    return err;
}

void sl__rotor_wrote(sl__rotor *r, size_t n)
{
    r->size += n;
}

sl_status sl__rotor_new(const sl_fd_sink_options *o, int fd, sl__rotor **out)
{
    *out = NULL;
    if (o->rotate < SL_ROTATE_NONE || o->rotate > SL_ROTATE_HOURS ||
        (o->rotate == SL_ROTATE_HOURS &&
         (o->rotate_hours == 0 || o->rotate_hours > 24 || 24 % o->rotate_hours != 0))) {
        return SL_EINVAL;
    }
#if !SPANLOG_WITH_GZIP
    if (o->compress) {
        return SL_ENOTSUP;
    }
#endif
    sl__rotor *r = sl__calloc(1, sizeof(*r));
    if (r == NULL || (r->path = sl__strdup(o->path)) == NULL) {
        sl__free(r);
        return SL_ENOMEM;
    }
    r->max_bytes = o->max_bytes;
    r->max_files = o->max_files == 0 ? 5 : o->max_files;
    r->mode = o->rotate;
    r->hours = o->rotate == SL_ROTATE_DAILY ? 24 : o->rotate_hours;
    r->utc = o->utc;
    r->compress = o->compress;
    r->size = file_size(fd);
    r->gen_seen = sl__reopen_generation();
    pthread_mutex_init(&r->gz_mu, NULL);
    pthread_cond_init(&r->gz_done, NULL);
    *out = r;
    return SL_OK;
}

bool sl__rotor_wait(sl__rotor *r, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    int64_t ns =
        (int64_t)dl.tv_nsec + (int64_t)(timeout_ms < 0 ? 2000 : timeout_ms) * 1000000;
    dl.tv_sec += (time_t)(ns / 1000000000);
    dl.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&r->gz_mu);
    int rc = 0;
    while (r->compressing > 0 && rc == 0) {
        rc = pthread_cond_timedwait(&r->gz_done, &r->gz_mu, &dl);
    }
    bool done = r->compressing == 0;
    pthread_mutex_unlock(&r->gz_mu);
    return done;
}

void sl__rotor_free(sl__rotor *r)
{
    if (r == NULL) {
        return;
    }
    /* A gzip thread still running holds r: let it finish first (bounded). */
    if (!sl__rotor_wait(r, 5000)) {
        return; /* leak rather than free under a running thread */
    }
    pthread_cond_destroy(&r->gz_done);
    pthread_mutex_destroy(&r->gz_mu);
    sl__free(r->path);
    sl__free(r);
}
