/*
 * tls_none.c - the syslog adapter built without TLS
 * (-DSPANLOG_WITH_SYSLOG_TLS=OFF): no OpenSSL is linked; a tls:// target is
 * refused when the options are checked (target.c), so none of these runs
 * on a sink but the constructor's and destructor's calls.
 */
#include <errno.h>
#include <stdio.h>

#include "adapters/syslog/syslog_sink.h"

sl_status sl__syslog_tls_new(sl__syslog *s, const sl_syslog_options *o, char *err,
                             size_t cap)
{
    snprintf(err, cap, "built without TLS (SPANLOG_WITH_SYSLOG_TLS=OFF)");
    return SL_ENOTSUP;
}

void sl__syslog_tls_free(sl__syslog *s) {}

int sl__syslog_tls_handshake(sl__syslog *s, int fd, int timeout_ms, char *err, size_t cap)
{
    snprintf(err, cap, "built without TLS");
    return -1;
}

ssize_t sl__syslog_tls_send(sl__syslog *s, int fd, const char *p, size_t n)
{
    errno = ENOTSUP;
    return -1;
}

bool sl__syslog_tls_pending(const sl__syslog *s)
{
    return false;
}

uint64_t sl__syslog_tls_acked(sl__syslog *s, uint64_t tcp_acked)
{
    return tcp_acked;
}

void sl__syslog_tls_close(sl__syslog *s) {}
