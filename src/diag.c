/*
 * diag.c - the library's own diagnostics: what a sink with no error
 * callback could not deliver, and other losses nobody else is told about,
 * as one short line on stderr ("spanlog: loki http://h:3100: 503 ...").
 *
 * The mode comes from sl_set_diagnostics(), else from SPANLOG_DIAG
 * ("off" | "stderr", read once), else stderr. Each line goes out in one
 * write(2), so lines from several threads do not interleave. Callers rate
 * limit (sink.c: once a second per sink and kind).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

#define MODE_UNSET -1

static int diag_mode = MODE_UNSET; /* atomic: sl_diag, or MODE_UNSET */

static void write_stderr(const char *line, size_t len);

static int mode_from_env(void)
{
    const char *v = getenv("SPANLOG_DIAG");
    if (v == NULL || *v == '\0' || strcasecmp(v, "stderr") == 0) {
        return SL_DIAG_STDERR;
    }
    if (strcasecmp(v, "off") == 0) {
        return SL_DIAG_OFF;
    }
    /* Unknown: keep telling (silence is the one wrong answer), and say so. */
    static const char msg[] =
        "spanlog: SPANLOG_DIAG must be off or stderr; using stderr\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    return SL_DIAG_STDERR;
}

/*
 * A program whose stderr is a closed pipe must not die of SIGPIPE because
 * the library spoke: SIGPIPE is blocked on this thread around the write, and
 * one it raised is consumed before the mask is restored (unless one was
 * already pending, which stays the program's).
 */
static void write_stderr(const char *line, size_t len)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    (void)sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0) {
        return;
    }
    ssize_t r = write(2, line, len);
    if (r < 0 && errno == EPIPE && !was_pending) {
        const struct timespec zero = {0, 0};
        (void)sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void sl_set_diagnostics(sl_diag mode)
{
    if (mode == SL_DIAG_OFF || mode == SL_DIAG_STDERR) {
        __atomic_store_n(&diag_mode, (int)mode, __ATOMIC_RELAXED);
    }
}

sl_diag sl_get_diagnostics(void)
{
    int m = __atomic_load_n(&diag_mode, __ATOMIC_RELAXED);
    if (m == MODE_UNSET) {
        int want = mode_from_env();
        /* A concurrent sl_set_diagnostics() wins over the environment. */
        if (!__atomic_compare_exchange_n(&diag_mode, &m, want, false, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED)) {
            return (sl_diag)m;
        }
        m = want;
    }
    return (sl_diag)m;
}

void sl__diag(const char *fmt, ...)
{
    if (sl_get_diagnostics() != SL_DIAG_STDERR) {
        return;
    }
    char line[600];
    int n = snprintf(line, sizeof(line), "spanlog: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2) {
        len = sizeof(line) - 2;
    }
    line[len++] = '\n';
    int saved = errno;
    write_stderr(line, len);
    errno = saved;
}

const char *sl__diag_count(uint64_t v, char out[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            out[o++] = ',';
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}
