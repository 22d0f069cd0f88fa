/*
 * fd_files.h - test helpers shared by the fd sink tests (test_fd_sink.c on
 * the sink alone, test_fd_sink_logger.c behind loggers): temp files, reading
 * them back line by line with jansson, and child processes writing to one
 * file.
 */
#ifndef SPANLOG_TEST_FD_FILES_H
#define SPANLOG_TEST_FD_FILES_H

#include <jansson.h>
#include <stddef.h>

#include "spanlog/sink.h"

/* Makes an empty temp file ($TMPDIR or /tmp) and writes its path to out. */
void temp_path(char *out, size_t cap, const char *tag);

/* Reads a whole file (the caller frees the result); fails the test when the
 * file cannot be opened. */
char *slurp(const char *path, size_t *len);

/*
 * Parses every line of data; calls fn (when not NULL) for each object and
 * returns the number of lines. Fails on a line that is not a complete JSON
 * object or on a missing final newline.
 */
typedef void (*line_fn)(json_t *obj, void *user);
size_t for_each_line(const char *data, size_t len, line_fn fn, void *user);

/* obj[key] as an int; fails the test when it is missing or not an integer. */
int jint(json_t *obj, const char *key);

/*
 * Forks n children, child p exiting with fn(path, p), and waits for them all;
 * fails the test unless every child exits normally with status 0.
 */
void run_processes(int n, int (*fn)(const char *path, int p), const char *path);

/* ---- hand-made records, as the logger hands them to a sink ---------------- */

/* A record view of the given level (msg "m", time now). */
sl_record make_record(sl_level level);

/* {"p":P,"t":T,"i":I,"pad":"xxx..."}\n with `pad` bytes of padding into buf;
 * returns its length. */
size_t make_line(char *buf, size_t cap, int p, int t, int i, size_t pad);

/* Writes one such line through the sink's write callback. */
void put(sl_sink *sink, sl_level level, int p, int t, int i, size_t pad);

/* The sink's counters. */
sl_sink_stats stats(const sl_sink *s);

/* Lines in a file, each parsed (0 for an empty file). */
size_t file_lines(const char *path);

#endif
