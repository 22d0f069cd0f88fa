/*
 * spanlog-pretty - JSON log lines on stdin, one readable line each on
 * stdout, like pino-pretty: spanlog's records in any profile, pino's, or
 * any JSON object with level/msg-like keys. Lines that are not JSON pass
 * through, made visible (no control character reaches the terminal).
 *
 *   kubectl logs checkout | spanlog-pretty
 *   ./service 2>&1 | spanlog-pretty --utc
 *
 * Exit codes: 0 done, 1 output failed (e.g. a closed pipe), 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spanlog/pretty.h"

static void usage(FILE *f)
{
    fputs("usage: spanlog-pretty [--utc] [--date] [--no-time] "
          "[--color=auto|always|never]\n"
          "Reads JSON log lines on stdin and prints them for humans.\n"
          "Colors (auto): on a terminal, unless NO_COLOR is set or TERM=dumb;\n"
          "FORCE_COLOR forces them.\n"
          "Exit codes: 0 ok, 1 output failed, 2 usage.\n",
          f);
}

int main(int argc, char **argv)
{
    sl_pretty_options o;
    sl_pretty_options_init(&o);
    sl_color_mode mode = SL_COLOR_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--utc") == 0) {
            o.utc = true;
        } else if (strcmp(a, "--date") == 0) {
            o.show_date = true;
        } else if (strcmp(a, "--no-time") == 0) {
            o.show_time = false;
        } else if (strcmp(a, "--color=auto") == 0) {
            mode = SL_COLOR_AUTO;
        } else if (strcmp(a, "--color=always") == 0 || strcmp(a, "--color") == 0) {
            mode = SL_COLOR_ALWAYS;
        } else if (strcmp(a, "--color=never") == 0 || strcmp(a, "--no-color") == 0) {
            mode = SL_COLOR_NEVER;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "spanlog-pretty: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    o.color = sl_pretty_use_color(STDOUT_FILENO, mode);

    char *line = NULL, *out = NULL;
    size_t line_cap = 0, out_cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &line_cap, stdin)) >= 0) {
        size_t need = 8 * (size_t)n + 129;
        if (need > out_cap) {
            char *p = realloc(out, need);
            if (p == NULL) {
                fputs("spanlog-pretty: out of memory\n", stderr);
                rc = 1;
                break;
            }
            out = p;
            out_cap = need;
        }
        size_t k = sl_pretty_format(line, (size_t)n, &o, out, out_cap);
        if (fwrite(out, 1, k, stdout) != k) {
            rc = 1;
            break;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        rc = 1;
    }
    if (rc != 0) {
        fputs("spanlog-pretty: could not write the output\n", stderr);
    }
    free(line);
    free(out);
    return rc;
}
