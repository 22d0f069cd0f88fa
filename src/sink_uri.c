/*
 * sink_uri.c - sl_sink_from_uri(): one textual way to name a sink, shared by
 * SPANLOG_SINK and spanlog-pipe --sink.
 */
#include <string.h>

#include "internal.h"

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static sl_status fd_sink(int fd, const char *path, sl_sink **out)
{
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fd;
    o.path = path;
    return sl_fd_sink_new(&o, out);
}

static sl_status from_uri(const char *uri, sl_sink **out)
{
    if (uri == NULL || out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (strcmp(uri, "stdout") == 0) {
        return fd_sink(1, NULL, out);
    }
    if (strcmp(uri, "stderr") == 0) {
        return fd_sink(2, NULL, out);
    }
    if (strcmp(uri, "null") == 0) {
        return sl_null_sink_new(out);
    }
    if (has_prefix(uri, "file:")) {
        const char *path = uri + strlen("file:");
        return *path == '\0' ? SL_EPARSE : fd_sink(-1, path, out);
    }
    if (strcmp(uri, "syslog") == 0) {
        return sl_syslog_sink_from_target("", out);
    }
    if (has_prefix(uri, "syslog:")) {
        return sl_syslog_sink_from_target(uri + strlen("syslog:"), out);
    }
    if (has_prefix(uri, "loki:")) {
        const char *url = uri + strlen("loki:");
        return *url == '\0' ? SL_EPARSE : sl_loki_sink_from_url(url, out);
    }
    return SL_EPARSE;
}

sl_status sl_sink_from_uri(const char *uri, sl_sink **out)
{
    sl_status st = from_uri(uri, out);
    if (st == SL_OK) {
        /* Diagnostics name the sink by what it was made from. */
        const char *colon = strchr(uri, ':');
        const char *target = colon != NULL ? colon + 1 : uri;
        sl__sink_set_target(*out, strcmp(uri, "syslog") == 0 ? "/dev/log" : target);
    }
    return st;
}
