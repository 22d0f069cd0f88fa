/*
 * options.c - the stdout / file adapter's entry in the registry: its
 * option table (defaults, URI keys) and the targets "stdout", "stderr" and
 * "file:PATH", each optionally followed by "?buffered=1&buffer_size=N".
 */
#include <string.h>
#include <strings.h>

#include "config.h"
#include "internal.h"
#include "spanlog/stdout.h"

_Static_assert(sizeof(sl_fd_overflow) == sizeof(int), "option tables store enums as int");

static const char *const fd_overflow_names[] = {"drop", "block", NULL};

static const sl__opt fd_opts[] = {
    SL__O_INT(sl_fd_sink_options, fd, "1", -1, 1 << 30, NULL, NULL,
              "file descriptor to write to; ignored when path is set"),
    SL__O_STR(sl_fd_sink_options, path, NULL, NULL, NULL,
              "open this file (append, create 0644) instead of fd"),
    SL__O_BOOL(sl_fd_sink_options, close_fd, "false", NULL, NULL,
               "close fd when the sink is destroyed (always for path)"),
    SL__O_BOOL(sl_fd_sink_options, buffered, "false", NULL, "buffered",
               "gather records; written when full, on error-or-worse records, flush, "
               "close and exit"),
    SL__O_SIZE(sl_fd_sink_options, buffer_size, "65536", 0, 1 << 30, NULL, "buffer_size",
               "buffered mode's buffer in bytes (minimum 4096; 0: 65536)"),
    SL__O_BOOL(sl_fd_sink_options, async, "false", NULL, "async",
               "a writer thread writes from a ring; the caller only copies (overrides "
               "buffered)"),
    SL__O_SIZE(sl_fd_sink_options, queue_bytes, "1048576" /* SL__FD_DEFAULT_QUEUE */, 0,
               1ll << 40, NULL, "queue_bytes",
               "async: the ring's size, rounded up to a power of two (minimum 4096)"),
    SL__O_ENUM(sl_fd_sink_options, overflow, "drop", fd_overflow_names, NULL, "overflow",
               "async: a full ring drops the record, or blocks up to block_ms"),
    SL__O_INT(sl_fd_sink_options, block_ms, "100" /* SL__FD_DEFAULT_BLOCK_MS */, 0,
              3600000, NULL, "block_ms", "async, overflow=block: the longest wait"),
    SL__O_CUSTOM(sl_fd_sink_options, sync_level, "off", sl__opt_parse_level,
                 SL__LEVEL_GRAMMAR, NULL, "sync_level",
                 "async: records at or above this level wait until written"),
};

static const sl__opt_table fd_table = {"stdout, stderr, file (sl_fd_sink_options)",
                                       fd_opts, SL__NOPTS(fd_opts)};

void sl_fd_sink_options_init(sl_fd_sink_options *opts)
{
    sl__opts_init(&fd_table, opts, sizeof *opts);
}

static sl_status fd_open(const char *scheme, const char *rest, bool check_only,
                         sl_sink **out, sl_error *err)
{
    sl_fd_sink_options o;
    sl_fd_sink_options_init(&o);
    bool file = strcasecmp(scheme, "file") == 0;
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
        st = sl__opts_check(&fd_table, &o, err);
    }
    if (st == SL_OK && o.buffered && o.buffer_size != 0 && o.buffer_size < 4096) {
        st = sl__error_set(err, SL_EINVAL, "buffer_size", NULL, -1,
                           "%s: buffer_size is at least 4096 bytes", scheme);
    }
    if (st == SL_OK && !check_only) {
        st = sl_fd_sink_new(&o, out, err);
    }
    sl__free(copy);
    return st;
}

static const char *const fd_schemes[] = {"stdout", "stderr", "file", NULL};

const sl__adapter sl__adapter_stdout = {
    .name = "stdout",
    .schemes = fd_schemes,
    .usage = "stdout, stderr, file:PATH",
    .env_prefix = NULL,
    .opts = &fd_table,
    .open = fd_open,
};
