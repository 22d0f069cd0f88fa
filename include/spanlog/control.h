/*
 * spanlog/control.h - driving a running service's logging from outside:
 * levels by signal or from a file, and reopening log files (logrotate).
 *
 *   kill -USR1 $pid     one level more verbose (info -> debug -> trace)
 *   kill -USR2 $pid     one level quieter (debug -> info -> warn ...)
 *   kill -HUP  $pid     reopen every log file, and set the level again
 *                       from SPANLOG_LEVEL_FILE (its first word) or else
 *                       SPANLOG_LEVEL
 *
 * Children follow their parent's level unless theirs was set explicitly
 * (log.h), so stepping the root logger reaches every request logger.
 */
#ifndef SPANLOG_CONTROL_H
#define SPANLOG_CONTROL_H

#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Asks every file sink of the process to reopen its path before its next
 * record (after logrotate moved the file away, say). Async-signal-safe (one
 * atomic increment): it may be called from a signal handler. A sink whose
 * path cannot be opened goes on writing where it was and reports SL_EIO.
 * lg is not used (every logger's files reopen); NULL is fine.
 */
SL_API void sl_logger_reopen(sl_logger *lg);

/* What sl_signals_install handles. RELOAD: the level from
 * SPANLOG_LEVEL_FILE, or else SPANLOG_LEVEL. */
#define SL_SIGNAL_REOPEN 1 /* SIGHUP: sl_logger_reopen() */
#define SL_SIGNAL_RELOAD 2 /* SIGHUP: the level again */
#define SL_SIGNAL_STEP   4 /* SIGUSR1 more verbose, SIGUSR2 quieter */
#define SL_SIGNAL_ALL    7

/*
 * Installs handlers (sigaction, SA_RESTART) for what `which` asks, acting on
 * lg's level. One logger at a time: a second call replaces the first (its
 * handlers and logger). The handlers do only async-signal-safe work:
 * atomic stores, and for RELOAD open/read/close of SPANLOG_LEVEL_FILE (the
 * variable itself is read here, at install, not in the handler, as is
 * SPANLOG_LEVEL). lg must outlive the handlers: call sl_signals_uninstall()
 * before freeing it. Setup time, from one thread. Returns SL_EINVAL (lg
 * NULL or `which` outside SL_SIGNAL_ALL), SL_EIO (sigaction failed).
 */
SL_API sl_status sl_signals_install(sl_logger *lg, int which);

/* Restores the previous handlers. Harmless when none is installed. */
SL_API void sl_signals_uninstall(void);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_CONTROL_H */
