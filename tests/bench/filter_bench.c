/*
 * filter_bench.c - what redaction and sampling add to a record
 * (spanlog/filter.h): the benchmark record (4 fields, a current span, the
 * null sink) plain, with 5 redaction paths of which none or one match, with
 * sampling on and the record kept, and with the record sampled away.
 * Scenarios run interleaved (A B C ... A B C ...), REPS rounds; each line
 * gives the median ns per record and the spread (min..max) of the rounds.
 * Figures, never a test.
 *
 *   bench_filter [--scale X] [--only NAME]
 *
 * tests/bench/filter_instructions.sh runs each scenario under callgrind at
 * two sizes: the difference over the extra records is the instructions per
 * record, the figure that does not move with the machine's load.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spanlog/spanlog.h"

#define REPS 9

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct scenario {
    const char *name;
    sl_logger *lg;
    const char *msg;
    double ns[REPS];
} scenario;

static sl_logger *make(int kind)
{
    sl_logger *lg = NULL;
    sl_sink *sink = NULL;
    if (sl_logger_new(NULL, &lg) != SL_OK || sl_null_sink_new(&sink) != SL_OK ||
        sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) != SL_OK) {
        exit(1);
    }
    static const char *const none[] = {"password", "token", "card.number", "secret",
                                       "authorization"};
    static const char *const one[] = {"password", "token", "card.number", "secret",
                                      "requestId"};
    if (kind == 1 || kind == 2) {
        sl_redact_options ro;
        sl_redact_options_init(&ro);
        ro.paths = kind == 1 ? none : one;
        ro.npaths = 5;
        if (sl_logger_set_redaction(lg, &ro) != SL_OK) {
            exit(1);
        }
    } else if (kind == 3 || kind == 4) {
        sl_sampling_options so;
        sl_sampling_options_init(&so);
        so.first = kind == 3 ? 4000000000u : 1;
        so.interval_ms = 3600 * 1000;
        if (sl_logger_set_sampling(lg, &so) != SL_OK) {
            exit(1);
        }
    }
    return lg;
}

int main(int argc, char **argv)
{
    double scale = 1.0;
    const char *only = NULL; /* --only NAME: one scenario (for callgrind) */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--scale") == 0) {
            scale = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--only") == 0) {
            only = argv[i + 1];
        }
    }
    long n = (long)(200000 * (scale > 0 ? scale : 1));
    scenario sc[] = {
        {"record_plain", make(0), "card charged", {0}},
        {"record_redact5_nomatch", make(1), "card charged", {0}},
        {"record_redact5_onematch", make(2), "card charged", {0}},
        {"record_sampling_kept", make(3), "card charged", {0}},
        {"record_sampled_away", make(4), "card charged", {0}},
    };
    size_t ns = sizeof sc / sizeof sc[0];
    sl_span *span = sl_span_start("bench", SL_SPAN_INTERNAL);
    for (int r = -1; r < REPS; r++) { /* round -1 warms up */
        for (size_t s = 0; s < ns; s++) {
            if (only != NULL && strcmp(only, sc[s].name) != 0) {
                continue;
            }
            double t0 = now_ns();
            for (long i = 0; i < n; i++) {
                sl_info(sc[s].lg, sc[s].msg, SL_STR("requestId", "r-42"),
                        SL_INT("cents", 1299), SL_BOOL("retry", false),
                        SL_DOUBLE("ratio", 0.25));
            }
            double per = (now_ns() - t0) / (double)n;
            if (r >= 0) {
                sc[s].ns[r] = per;
            }
        }
    }
    sl_span_end(span);
    for (size_t s = 0; s < ns; s++) {
        if (only != NULL && strcmp(only, sc[s].name) != 0) {
            sl_logger_free(sc[s].lg);
            continue;
        }
        qsort(sc[s].ns, REPS, sizeof(double), cmp_d);
        printf("{\"bench\":\"%s\",\"ns_per_op\":%.1f,\"min\":%.1f,\"max\":%.1f,"
               "\"reps\":%d,\"ops\":%ld}\n",
               sc[s].name, sc[s].ns[REPS / 2], sc[s].ns[0], sc[s].ns[REPS - 1], REPS, n);
        sl_logger_free(sc[s].lg);
    }
    return 0;
}
