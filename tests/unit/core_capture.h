/*
 * core_capture.h - test helpers for the logger core: a capture sink that
 * keeps every line it receives (and what the record view said), and checks
 * that parse lines back with jansson and compare keys in order.
 */
#ifndef SPANLOG_TEST_CORE_CAPTURE_H
#define SPANLOG_TEST_CORE_CAPTURE_H

#include <jansson.h>
#include <pthread.h>

#include "spanlog/spanlog.h"

typedef struct cap_line {
    char *text; /* the line as received, '\n' included, NUL-terminated */
    size_t len;
    sl_level level;
    bool truncated;
    bool had_ctx;
    size_t nbound;
    size_t nfields;
    char *msg; /* the view's msg, copied */
    char *service;
} cap_line;

typedef struct capture {
    pthread_mutex_t mu;
    cap_line *lines;
    size_t n;
    size_t cap;
    bool destroyed; /* set by the destroy callback */
    int closes;
} capture;

/* A sink writing into *c (which must outlive the sink). */
sl_sink *capture_sink(capture *c);
void capture_init(capture *c);
void capture_clear(capture *c); /* frees the lines, keeps counting from 0 */

/* A logger (opts may be NULL) with one capture sink at min level TRACE. */
sl_logger *capture_logger(const sl_logger_options *opts, capture *c);

/* Parses line i of c (strictly, keys in order) and returns it; fails the test
 * when it does not parse, is not one line, or does not end in '\n'. */
json_t *capture_parse(const capture *c, size_t i);

/* Asserts that o's keys are exactly keys[0..n) in this order. */
void assert_keys(const json_t *o, const char *const *keys, size_t n);
#define ASSERT_KEYS(o, ...)                                                              \
    do {                                                                                 \
        const char *const k__[] = {__VA_ARGS__};                                         \
        assert_keys((o), k__, sizeof(k__) / sizeof(k__[0]));                             \
    } while (0)

/* Typed lookups that fail the test on a missing key or a wrong type. */
const char *get_str(const json_t *o, const char *key);
json_int_t get_int(const json_t *o, const char *key);

#endif
