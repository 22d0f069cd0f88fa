/*
 * rotate.h - the fd sink's file path: reopen, rotation, old files
 * (rotate.c). Every call but _new/_free/_wait runs under the sink's mutex.
 */
#ifndef SPANLOG_ROTATE_H
#define SPANLOG_ROTATE_H

#include "internal.h"
#include "spanlog/stdout.h"

typedef struct sl__rotor sl__rotor;

/* For o->path, open as fd. SL_EINVAL (bad rotation options), SL_ENOTSUP
 * (compress without zlib), SL_ENOMEM. */
sl_status sl__rotor_new(const sl_fd_sink_options *o, int fd, sl__rotor **out);
void sl__rotor_free(sl__rotor *r);
/* Before writing len bytes at now_ns: reopens or rotates, replacing *fd.
 * Returns an errno to report (0: none); the write goes on regardless. */
int sl__rotor_before_write(sl__rotor *r, int *fd, size_t len, int64_t now_ns);
/* After n bytes reached the file. */
void sl__rotor_wrote(sl__rotor *r, size_t n);
/* Waits (bounded) for gzip threads; false when some still run. */
bool sl__rotor_wait(sl__rotor *r, int timeout_ms);

#endif
