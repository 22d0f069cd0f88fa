/*
 * options.c - the stdout / file adapter's entry in the registry: its
 * option table (defaults, URI keys) and the targets "stdout", "stderr",
 * "file:PATH" and the console's "pretty", "pretty:stdout", "pretty:stderr",
 * each optionally followed by "?key=value&..." (buffered=1, async=1,
 * color=never, and for files the rotation keys max_bytes, max_files,
 * rotate, compress, utc).
 */
#include <string.h>
#include <strings.h>

#include "config.h"
#include "internal.h"
#include "spanlog/stdout.h"

_Static_assert(sizeof(sl_fd_overflow) == sizeof(int) &&
                   sizeof(sl_color_mode) == sizeof(int),
               "option tables store enums as int");

static const char *const fd_overflow_names[] = {"drop", "block", NULL};
static const char *const format_names[] = {"json", "pretty", NULL};
static const char *const color_names[] = {"auto", "always", "never", NULL};
_Static_assert(SL_FD_FORMAT_JSON == 0 && SL_FD_FORMAT_PRETTY == 1 && SL_COLOR_AUTO == 0 &&
                   SL_COLOR_ALWAYS == 1 && SL_COLOR_NEVER == 2,
               "the names follow the values");

/* "10485760", "512k", "10M", "1G" (powers of 1024): digits as every number,
 * then at most one suffix. */
static sl_status parse_bytes(const char *text, void *field, void *base, int *pos)
{
    size_t n = strlen(text);
    long long mul = 1;
    char last = n > 0 ? text[n - 1] : '\0';
    if (last == 'k' || last == 'K') {
        mul = 1024;
    } else if (last == 'M') {
        mul = 1024 * 1024;
    } else if (last == 'G') {
        mul = 1024ll * 1024 * 1024;
    }
    char digits[32];
    size_t d = mul == 1 ? n : n - 1;
    if (d >= sizeof digits) {
        *pos = (int)sizeof digits;
        return SL_ERANGE;
    }
    memcpy(digits, text, d);
    digits[d] = '\0';
    long long v;
    sl_status st = sl__parse_int(digits, 0, LLONG_MAX / mul, &v, pos);
    if (st == SL_OK) {
        *(uint64_t *)field = (uint64_t)v * (uint64_t)mul;
    }
    return st;
}

static sl_status parse_max_files(const char *text, void *field, void *base, int *pos)
{
    long long v;
    sl_status st = sl__parse_int(text, 1, 100000, &v, pos);
    if (st == SL_OK) {
        *(unsigned *)field = (unsigned)v;
    }
    return st;
}

/* daily, hourly, or Nh with N dividing 24: sets rotate and rotate_hours. */
static sl_status parse_rotate(const char *text, void *field, void *base, int *pos)
{
    sl_fd_sink_options *o = base;
    if (strcmp(text, "daily") == 0) {
        o->rotate = SL_ROTATE_DAILY;
        return SL_OK;
    }
    if (strcmp(text, "hourly") == 0) {
        o->rotate = SL_ROTATE_HOURS;
        o->rotate_hours = 1;
        return SL_OK;
    }
    size_t n = strlen(text);
    char digits[8];
    if (n < 2 || n - 1 >= sizeof digits || text[n - 1] != 'h') {
        *pos = 0;
        return SL_EPARSE;
    }
    memcpy(digits, text, n - 1);
    digits[n - 1] = '\0';
    long long h;
    sl_status st = sl__parse_int(digits, 1, 24, &h, pos);
    if (st == SL_OK && 24 % h != 0) {
        st = SL_ERANGE;
    }
    if (st == SL_OK) {
        o->rotate = SL_ROTATE_HOURS;
        o->rotate_hours = (unsigned)h;
    }
    return st;
}

#define O sl_fd_sink_options
static const sl__opt fd_opts[] = {
    SL__O_INT(O, fd, "1", -1, 1 << 30, NULL, NULL,
              "file descriptor to write to; ignored when path is set"),
    SL__O_STR(O, path, NULL, NULL, NULL,
              "open this file (append, create 0644) instead of fd"),
    SL__O_BOOL(O, close_fd, "false", NULL, NULL,
               "close fd when the sink is destroyed (always for path)"),
    SL__O_BOOL(O, buffered, "false", NULL, "buffered",
               "gather records; written when full, on error-or-worse records, flush, "
               "close and exit"),
    SL__O_SIZE(O, buffer_size, "65536", 0, 1 << 30, NULL, "buffer_size",
               "buffered mode's buffer in bytes (minimum 4096; 0: 65536)"),
    SL__O_BOOL(O, async, "false", NULL, "async",
               "a writer thread writes from a ring; the caller only copies (overrides "
               "buffered; JSON without rotation only)"),
    SL__O_SIZE(O, queue_bytes, "1048576" /* SL__FD_DEFAULT_QUEUE */, 0, 1ll << 40, NULL,
               "queue_bytes",
               "async: the ring's size, rounded up to a power of two (minimum 4096)"),
    SL__O_ENUM(O, overflow, "drop", fd_overflow_names, NULL, "overflow",
               "async: a full ring drops the record, or blocks up to block_ms"),
    SL__O_INT(O, block_ms, "100" /* SL__FD_DEFAULT_BLOCK_MS */, 0, 3600000, NULL,
              "block_ms", "async, overflow=block: the longest wait"),
    SL__O_CUSTOM(O, sync_level, "off", sl__opt_parse_level, SL__LEVEL_GRAMMAR, NULL,
                 "sync_level",
                 "async: records at or above this level wait until written"),
    SL__O_ENUM(O, format, "json", format_names, NULL, NULL,
               "set by the target: JSON lines, or the console format (pretty:)"),
    SL__O_ENUM(O, color, "auto", color_names, NULL, "color",
               "pretty: colors when the fd is a terminal (NO_COLOR, FORCE_COLOR), "
               "always or never"),
    SL__O_BOOL(O, utc, "false", NULL, "utc",
               "pretty times and rotation boundaries in UTC; false: local time"),
    SL__O_CUSTOM(O, max_bytes, "0", parse_bytes,
                 "a byte count, digits with an optional k, M or G (powers of 1024)", NULL,
                 "max_bytes",
                 "file: rotate before a record would take it past this; 0: "
                 "no size limit"),
    SL__O_CUSTOM(O, max_files, "5", parse_max_files, "1 to 100000", NULL, "max_files",
                 "file: rotated files kept (PATH.1 newest, or dated names)"),
    SL__O_CUSTOM(O, rotate, NULL, parse_rotate,
                 "daily, hourly or Nh (N: 1, 2, 3, 4, 6, 8, 12 or 24)", NULL, "rotate",
                 "file: rotate at midnight or every N whole hours; unset: by size only"),
    SL__O_BOOL(O, compress, "false", NULL, "compress",
               "file: gzip rotated files on a thread of their own (needs zlib: built "
               "with Loki or OTLP)"),
};
#undef O

static const sl__opt_table fd_table = {
    "stdout, stderr, file, pretty (sl_fd_sink_options)", fd_opts, SL__NOPTS(fd_opts)};

void sl_fd_sink_options_init_size(sl_fd_sink_options *opts, size_t size)
{
    sl_fd_sink_options d;
    sl__opts_init(&fd_table, opts, size, &d, sizeof d);
}

/* What sl_fd_sink_new would refuse, checked without opening anything. */
static sl_status check(const sl_fd_sink_options *o, const char *scheme, sl_error *err)
{
    sl_status st = sl__opts_check(&fd_table, o, err);
    if (st != SL_OK) {
        return st;
    }
    bool rotating = o->max_bytes > 0 || o->rotate != SL_ROTATE_NONE || o->compress;
    if (o->buffered && o->buffer_size != 0 && o->buffer_size < 4096) {
        return sl__error_set(err, SL_EINVAL, "buffer_size", NULL, -1,
                             "%s: buffer_size is at least 4096 bytes", scheme);
    }
    if (o->async && o->queue_bytes != 0 && o->queue_bytes < 4096) {
        return sl__error_set(err, SL_EINVAL, "queue_bytes", NULL, -1,
                             "%s: queue_bytes is 0 or at least 4096 bytes", scheme);
    }
    if (rotating && o->path == NULL) {
        return sl__error_set(err, SL_EINVAL, o->compress ? "compress" : "max_bytes", NULL,
                             -1,
                             "%s: rotation (max_bytes, rotate, compress) is for "
                             "file:PATH targets",
                             scheme);
    }
    if (o->async && (o->format == SL_FD_FORMAT_PRETTY || rotating)) {
        return sl__error_set(err, SL_EINVAL, "async", NULL, -1,
                             "%s: async writes JSON without rotation only", scheme);
    }
#if !SPANLOG_WITH_GZIP
    if (o->compress) {
        return sl__error_set(err, SL_ENOTSUP, "compress", NULL, -1,
                             "%s: compress needs zlib, which this spanlog was built "
                             "without (it comes with SPANLOG_WITH_LOKI or "
                             "SPANLOG_WITH_OTLP)",
                             scheme);
    }
#endif
    return SL_OK;
}

static sl_status fd_open(const char *scheme, const char *rest, bool check_only,
                         sl_sink **out, sl_error *err)
{
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    bool file = strcasecmp(scheme, "file") == 0;
    bool pretty = strcasecmp(scheme, "pretty") == 0;
    char *copy = sl__strdup(rest != NULL ? rest : "");
    if (copy == NULL) {
        return sl__error_set(err, SL_ENOMEM, NULL, NULL, -1, "out of memory");
    }
    char *query = strchr(copy, '?');
    if (query != NULL) {
        *query++ = '\0';
    }
    sl_status st = SL_OK;
    if (file) {
        if (copy[0] == '\0') {
            st = sl__error_set(err, SL_EPARSE, "file", NULL, 5,
                               "sink \"file:\": needs a path (file:PATH)");
        }
        o.path = copy;
    } else if (pretty) {
        /* "pretty", "pretty:stdout", "pretty:stderr" */
        o.format = SL_FD_FORMAT_PRETTY;
        if (copy[0] == '\0' || strcasecmp(copy, "stdout") == 0) {
            o.fd = 1;
        } else if (strcasecmp(copy, "stderr") == 0) {
            o.fd = 2;
        } else {
            st = sl__error_set(err, SL_EPARSE, scheme, copy, 7,
                               "sink \"pretty:%s\": expected pretty, pretty:stdout or "
                               "pretty:stderr",
                               copy);
        }
    } else if (rest != NULL && copy[0] != '\0') {
        st = sl__error_set(err, SL_EPARSE, scheme, rest, 0,
                           "sink \"%s\": takes no argument, only ?options", scheme);
    } else {
        o.fd = strcasecmp(scheme, "stderr") == 0 ? 2 : 1;
    }
    if (st == SL_OK && query != NULL) {
        st = sl__opts_from_query(&fd_table, &o, query, scheme, err);
    }
    if (st == SL_OK) {
        st = check(&o, scheme, err);
    }
    if (st == SL_OK && !check_only) {
        st = sl_fd_sink_new(&o, out, err);
    }
    sl__free(copy);
    return st;
}

static const char *const fd_schemes[] = {"stdout", "stderr", "file", "pretty", NULL};

const sl__adapter sl__adapter_stdout = {
    .name = "stdout",
    .schemes = fd_schemes,
    .usage = "stdout, stderr, file:PATH, pretty[:stdout|:stderr]",
    .env_prefix = NULL,
    .opts = &fd_table,
    .open = fd_open,
};
