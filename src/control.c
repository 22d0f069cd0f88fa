/*
 * control.c - levels by signal or file, and reopening log files
 * (spanlog/control.h).
 *
 *   signal ─▶ handler: (SIGHUP) reopen generation + 1; one byte into a pipe
 *                                                        │
 *   control thread ◀─────────────────────────────────────┘
 *     'h': level from SPANLOG_LEVEL_FILE or SPANLOG_LEVEL   '1'/'2': step
 *     sl_logger_set_level(), which takes the logger tree's lock
 *
 * The handler does only async-signal-safe work (an atomic add, write(2) to
 * a non-blocking pipe, errno saved): setting a level reaches every child
 * under a lock, which a handler must never take, so a thread of ours does
 * it. File sinks compare the generation with theirs before each record.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "spanlog/control.h"

static unsigned reopen_gen; /* atomic */

unsigned sl__reopen_generation(void)
{
    return __atomic_load_n(&reopen_gen, __ATOMIC_ACQUIRE);
}

void sl_logger_reopen(sl_logger *lg)
{
    (void)lg;
    __atomic_add_fetch(&reopen_gen, 1, __ATOMIC_ACQ_REL);
}

static struct {
    bool on;
    int which;
    sl_logger *lg;
    int pipe[2];
    pthread_t thread;
    struct sigaction old_hup, old_usr1, old_usr2;
    char level_file[4096];
    bool has_env_level;
    sl_level env_level;
} ctl = {.pipe = {-1, -1}};

static void on_signal(int sig)
{
    int saved = errno;
    char c = 0;
    if (sig == SIGHUP) {
        if (ctl.which & SL_SIGNAL_REOPEN) {
            __atomic_add_fetch(&reopen_gen, 1, __ATOMIC_ACQ_REL);
        }
        c = (ctl.which & SL_SIGNAL_RELOAD) ? 'h' : 0;
    } else if (sig == SIGUSR1) {
        c = '1';
    } else if (sig == SIGUSR2) {
        c = '2';
    }
    if (c != 0) {
        ssize_t r = write(ctl.pipe[1], &c, 1); /* full: the change is dropped */
        (void)r;
    }
    errno = saved;
}

/* The level named by the first word of the file, or by SPANLOG_LEVEL. */
static bool reload_level(sl_level *out)
{
    if (ctl.level_file[0] != '\0') {
        int fd = open(ctl.level_file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
            char buf[64];
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            close(fd);
            if (n > 0) {
                buf[n] = '\0';
                buf[strcspn(buf, " \t\r\n")] = '\0';
                return sl_level_parse(buf, out) == SL_OK;
            }
        }
        return false;
    }
    if (ctl.has_env_level) {
        *out = ctl.env_level;
        return true;
    }
    return false;
}

static void *control_main(void *arg)
{
    (void)arg;
    char c;
    for (;;) {
        ssize_t r = read(ctl.pipe[0], &c, 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0 || c == 'q') {
            return NULL;
        }
        sl_level cur = sl_logger_get_level(ctl.lg), next = cur;
        const char *by = "SIGHUP";
        if (c == 'h') {
            if (!reload_level(&next)) {
                sl_log_write(ctl.lg, SL_LEVEL_WARN, NULL, NULL,
                             "log level not reloaded: SPANLOG_LEVEL_FILE unreadable or "
                             "not a level",
                             NULL, 0);
                continue;
            }
        } else if (c == '1') {
            by = "SIGUSR1";
            next = cur > SL_LEVEL_TRACE ? (sl_level)(cur - 1) : cur;
            if (cur == SL_LEVEL_OFF) {
                next = SL_LEVEL_FATAL;
            }
        } else {
            by = "SIGUSR2";
            next = cur < SL_LEVEL_OFF ? (sl_level)(cur + 1) : cur;
        }
        if (next != cur) {
            sl_logger_set_level(ctl.lg, next);
            const sl_field f[] = {
                {.key = "from",
                 .type = SL_FIELD_STR,
                 .len = SL_NPOS,
                 .v.s = sl_level_name(cur)},
                {.key = "to",
                 .type = SL_FIELD_STR,
                 .len = SL_NPOS,
                 .v.s = sl_level_name(next)},
                {.key = "by", .type = SL_FIELD_STR, .len = SL_NPOS, .v.s = by},
            };
            /* at the new level's floor, so it shows whenever anything does */
            sl_level at = next <= SL_LEVEL_INFO ? SL_LEVEL_INFO : next;
            if (at <= SL_LEVEL_FATAL) {
                sl_log_write(ctl.lg, at, NULL, NULL, "log level changed", f, 3);
            }
        }
    }
}

void sl_signals_uninstall(void)
{
    if (!ctl.on) {
        return;
    }
    sigaction(SIGHUP, &ctl.old_hup, NULL);
    sigaction(SIGUSR1, &ctl.old_usr1, NULL);
    sigaction(SIGUSR2, &ctl.old_usr2, NULL);
    char q = 'q';
    while (write(ctl.pipe[1], &q, 1) < 0 && errno == EINTR) {
    }
    pthread_join(ctl.thread, NULL);
    close(ctl.pipe[0]);
    close(ctl.pipe[1]);
    ctl.pipe[0] = ctl.pipe[1] = -1;
    ctl.on = false;
    ctl.lg = NULL;
}

sl_status sl_signals_install(sl_logger *lg, int which)
{
    if (lg == NULL || which <= 0 || (which & ~SL_SIGNAL_ALL) != 0) {
        return SL_EINVAL;
    }
    sl_signals_uninstall();
    const char *f = getenv("SPANLOG_LEVEL_FILE");
    size_t fl = f != NULL ? strlen(f) : 0;
    if (fl >= sizeof(ctl.level_file)) {
        return SL_EINVAL;
    }
    memcpy(ctl.level_file, f != NULL ? f : "", fl + 1);
    const char *lv = getenv("SPANLOG_LEVEL");
    ctl.has_env_level = lv != NULL && sl_level_parse(lv, &ctl.env_level) == SL_OK;
    if (pipe2(ctl.pipe, O_CLOEXEC) != 0) {
        return SL_EIO;
    }
    (void)fcntl(ctl.pipe[1], F_SETFL, O_NONBLOCK);
    ctl.lg = lg;
    ctl.which = which;
    if (pthread_create(&ctl.thread, NULL, control_main, NULL) != 0) {
        close(ctl.pipe[0]);
        close(ctl.pipe[1]);
        return SL_EIO;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ctl.on = true;
    int rc = 0;
    rc |= sigaction(SIGHUP, (which & (SL_SIGNAL_REOPEN | SL_SIGNAL_RELOAD)) ? &sa : NULL,
                    &ctl.old_hup);
    rc |= sigaction(SIGUSR1, (which & SL_SIGNAL_STEP) ? &sa : NULL, &ctl.old_usr1);
    rc |= sigaction(SIGUSR2, (which & SL_SIGNAL_STEP) ? &sa : NULL, &ctl.old_usr2);
    if (rc != 0) {
        sl_signals_uninstall();
        return SL_EIO;
    }
    return SL_OK;
}
