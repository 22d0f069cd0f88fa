/*
 * sink_uri.c - sl_sink_from_uri(): one textual way to name a sink, shared by
 * SPANLOG_SINK and spanlog-pipe --sink.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static sl_status fd_sink_fmt(int fd, const char *path, int format, sl_sink **out)
{
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = fd;
    o.path = path;
    o.format = format;
    return sl_fd_sink_new(&o, out);
}

static sl_status fd_sink(int fd, const char *path, sl_sink **out)
{
    return fd_sink_fmt(fd, path, SL_FD_FORMAT_JSON, out);
}

/* "10485760", "512k", "10M", "1G" (powers of 1024). */
static bool parse_bytes(const char *v, uint64_t *out)
{
    char *end = NULL;
    if (*v < '0' || *v > '9') {
        return false;
    }
    unsigned long long n = strtoull(v, &end, 10);
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K') {
        mul = 1024;
        end++;
    } else if (*end == 'M') {
        mul = 1024 * 1024;
        end++;
    } else if (*end == 'G') {
        mul = 1024ull * 1024 * 1024;
        end++;
    }
    if (*end != '\0' || n > UINT64_MAX / mul) {
        return false;
    }
    *out = (uint64_t)n * mul;
    return true;
}

static bool parse_flag(const char *v, bool *out)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
        strcmp(v, "on") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
        strcmp(v, "off") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* One rotation option; false when the key or its value is not known. */
static bool file_option(sl_fd_sink_options *o, const char *k, const char *v)
{
    if (strcmp(k, "max_bytes") == 0) {
        return parse_bytes(v, &o->max_bytes);
    }
    if (strcmp(k, "max_files") == 0) {
        uint64_t n;
        if (!parse_bytes(v, &n) || n == 0 || n > 100000) {
            return false;
        }
        o->max_files = (unsigned)n;
        return true;
    }
    if (strcmp(k, "rotate") == 0) {
        if (strcmp(v, "daily") == 0) {
            o->rotate = SL_ROTATE_DAILY;
            return true;
        }
        if (strcmp(v, "hourly") == 0) {
            o->rotate = SL_ROTATE_HOURS;
            o->rotate_hours = 1;
            return true;
        }
        char *end = NULL;
        unsigned long h = strtoul(v, &end, 10);
        if (end != v && strcmp(end, "h") == 0 && h > 0 && h <= 24) {
            o->rotate = SL_ROTATE_HOURS;
            o->rotate_hours = (unsigned)h;
            return true;
        }
        return false;
    }
    if (strcmp(k, "compress") == 0) {
        return parse_flag(v, &o->compress);
    }
    if (strcmp(k, "utc") == 0) {
        return parse_flag(v, &o->utc);
    }
    return false;
}

/*
 * file:PATH?max_bytes=10M&max_files=5&rotate=daily|hourly|6h&compress=1&utc=1
 * (stdout.h). The whole query is checked before the file is opened.
 */
static sl_status file_sink_query(const char *spec, sl_sink **out)
{
    char *copy = sl__strdup(spec);
    if (copy == NULL) {
        return SL_ENOMEM;
    }
    char *q = strchr(copy, '?');
    *q++ = '\0';
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    o.fd = -1;
    o.path = copy;
    sl_status st = *copy == '\0' ? SL_EPARSE : SL_OK;
    char *save = NULL;
    for (char *kv = strtok_r(q, "&", &save); kv != NULL && st == SL_OK;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            st = SL_EPARSE;
            break;
        }
        *eq = '\0';
        if (!file_option(&o, kv, eq + 1)) {
            st = SL_EPARSE;
        }
    }
    if (st == SL_OK) {
        st = sl_fd_sink_new(&o, out);
    }
    sl__free(copy);
    return st;
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
    if (strcmp(uri, "pretty") == 0 || strcmp(uri, "pretty:stdout") == 0) {
        return fd_sink_fmt(1, NULL, SL_FD_FORMAT_PRETTY, out);
    }
    if (strcmp(uri, "pretty:stderr") == 0) {
        return fd_sink_fmt(2, NULL, SL_FD_FORMAT_PRETTY, out);
    }
    if (strcmp(uri, "null") == 0) {
        return sl_null_sink_new(out);
    }
    if (has_prefix(uri, "file:")) {
        const char *path = uri + strlen("file:");
        if (*path == '\0') {
            return SL_EPARSE;
        }
        return strchr(path, '?') != NULL ? file_sink_query(path, out)
                                         : fd_sink(-1, path, out);
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
#ifdef SPANLOG_WITH_OTLP
    if (strcmp(uri, "otlp") == 0) {
        return sl__otlp_sink_from_uri(NULL, out);
    }
    if (has_prefix(uri, "otlp:")) {
        return sl__otlp_sink_from_uri(uri + strlen("otlp:"), out);
    }
#endif
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
