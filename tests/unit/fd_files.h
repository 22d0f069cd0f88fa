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

#endif
