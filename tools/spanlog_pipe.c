/*
 * spanlog-pipe: every line read from stdin becomes one correlated JSON record.
 *
 * It is how shell scripts and printf-logging programs get spanlog records
 * without code changes. TRACEPARENT is read by spanlog-pipe, so it is set on
 * spanlog-pipe's side of the pipe:
 *
 *     ./legacy-job | TRACEPARENT=00-...-01 spanlog-pipe --service job --sink stdout
 *
 * The run is one span: a child of --traceparent / $TRACEPARENT when given (and
 * valid), else the root of a new trace. Exit status: 0 when every record was
 * written, 1 when any sink dropped a record (said on stderr), 2 on a usage or
 * setup error.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spanlog/spanlog.h>
#if SPANLOG_WITH_OTLP
#include <spanlog/otlp.h>
#endif

#define MAX_SINKS 8

#define MIN_RECORD_BYTES 1024L
#define MAX_RECORD_BYTES (64L * 1024 * 1024)
#define MAX_FLUSH_MS     3600000L

static void usage(FILE *f)
{
    fputs("usage: spanlog-pipe [options] < input\n"
          "  --level LEVEL         level of every record (default info)\n"
          "  --service NAME        service name (default $OTEL_SERVICE_NAME, else none)\n"
          "  --traceparent HDR     parent context (default $TRACEPARENT; with "
          "$TRACESTATE)\n"
          "  --span-name NAME      name of the run's span (default spanlog-pipe)\n"
          "  --sink TARGET         stdout, stderr, null, file:PATH, syslog[:TARGET],\n"
          "                        loki:URL; repeatable, at most 8 (default stdout)\n"
          "  --format PROFILE      default, otel, ecs or pino\n"
          "  --max-record-bytes N  record size limit, 1024 to 67108864 (default 65536)\n"
          "  --flush-timeout MS    bound on delivering what is left at the end,\n"
          "                        0 to 3600000 (default 10000)\n"
          "  --stats               after shutdown, print each sink's final statistics\n"
          "                        to stderr, one JSON object per line\n"
          "  --help                print this and exit 0\n"
          "exit status:\n"
          "  0  every record was delivered\n"
          "  1  some record was dropped (a message on stderr says how many)\n"
          "  2  usage or setup error\n",
          f);
}

struct args {
    const char *level, *service, *traceparent, *tracestate, *span_name, *format;
    const char *sinks[MAX_SINKS];
    size_t nsinks;
    long max_record_bytes;
    long flush_timeout_ms;
    int stats;
};

/* The options that take a value. */
static const char *const valued[] = {
    "--level", "--service", "--traceparent",      "--span-name",
    "--sink",  "--format",  "--max-record-bytes", "--flush-timeout"};

static int takes_value(const char *o)
{
    for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++) {
        if (strcmp(o, valued[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A whole decimal number in [lo, hi], or a message naming the range. */
static int parse_range(const char *o, const char *v, long lo, long hi, const char *unit,
                       long *out)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
        fprintf(stderr,
                "spanlog-pipe: %s must be a whole number of %s from %ld to %ld, not "
                "\"%s\"\n",
                o, unit, lo, hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof(*a));
    a->level = "info";
    a->span_name = "spanlog-pipe";
    a->flush_timeout_ms = 10000;
    a->service = getenv("OTEL_SERVICE_NAME");
    a->traceparent = getenv("TRACEPARENT");
    a->tracestate = getenv("TRACESTATE");
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--stats") == 0) {
            a->stats = 1;
            continue;
        }
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (!takes_value(o)) {
            fprintf(stderr, "spanlog-pipe: unknown %s %s\n",
                    o[0] == '-' ? "option" : "argument", o);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spanlog-pipe: %s needs a value\n", o);
            return -1;
        }
        const char *v = argv[++i];
        if (strcmp(o, "--level") == 0) {
            a->level = v;
        } else if (strcmp(o, "--service") == 0) {
            a->service = v;
        } else if (strcmp(o, "--traceparent") == 0) {
            a->traceparent = v;
        } else if (strcmp(o, "--span-name") == 0) {
            a->span_name = v;
        } else if (strcmp(o, "--format") == 0) {
            a->format = v;
        } else if (strcmp(o, "--sink") == 0) {
            if (a->nsinks == MAX_SINKS) {
                fprintf(stderr, "spanlog-pipe: at most %d sinks\n", MAX_SINKS);
                return -1;
            }
            a->sinks[a->nsinks++] = v;
        } else if (strcmp(o, "--max-record-bytes") == 0) {
            if (parse_range(o, v, MIN_RECORD_BYTES, MAX_RECORD_BYTES, "bytes",
                            &a->max_record_bytes) != 0) {
                return -1;
            }
        } else if (parse_range(o, v, 0, MAX_FLUSH_MS, "milliseconds",
                               &a->flush_timeout_ms) != 0) {
            return -1;
        }
    }
    if (a->nsinks == 0) {
        a->sinks[a->nsinks++] = "stdout";
    }
    return 0;
}

/* Builds the logger and its sinks (read back with sl_logger_sink_at). */
static int make_logger(const struct args *a, sl_logger **lg)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = (a->service != NULL && *a->service != '\0') ? a->service : NULL;
    o.level = SL_LEVEL_TRACE;
    if (a->format != NULL && sl_profile_parse(a->format, &o.profile) != SL_OK) {
        fprintf(stderr, "spanlog-pipe: unknown format %s\n", a->format);
        return -1;
    }
    if (a->max_record_bytes > 0) {
        o.max_record_bytes = (size_t)a->max_record_bytes;
    }
    sl_status st = sl_logger_new(&o, lg);
    if (st != SL_OK) {
        fprintf(stderr, "spanlog-pipe: logger: %s\n", sl_strerror(st));
        return -1;
    }
    sl_error err;
    sl_error_init(&err);
#if SPANLOG_WITH_OTLP
    /* OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_*: the run span is exported. */
    st = sl_otlp_setup_from_env(o.service, &err);
    if (st != SL_OK && st != SL_ENOENT) {
        fprintf(stderr, "spanlog-pipe: otlp: %s\n",
                err.text[0] ? err.text : sl_strerror(st));
        return -1;
    }
#endif
    /* Every target is checked before any is opened. */
    for (size_t i = 0; i < a->nsinks; i++) {
        if (sl_sink_uri_check(a->sinks[i], &err) != SL_OK) {
            fprintf(stderr, "spanlog-pipe: sink %s: %s\n", a->sinks[i], err.text);
            return -1;
        }
    }
    for (size_t i = 0; i < a->nsinks; i++) {
        sl_sink *sink = NULL;
        st = sl_sink_from_uri(a->sinks[i], &sink, &err);
        if (st != SL_OK) {
            fprintf(stderr, "spanlog-pipe: sink %s: %s\n", a->sinks[i], err.text);
            return -1;
        }
        st = sl_logger_add_sink(*lg, sink, SL_LEVEL_TRACE);
        if (st != SL_OK) {
            fprintf(stderr, "spanlog-pipe: sink %s: %s\n", a->sinks[i], sl_strerror(st));
            return -1;
        }
    }
    return 0;
}

/* The run's span: a child of the incoming context, else a new root. */
static sl_span *start_run_span(const struct args *a)
{
    sl_span_context parent = sl_span_context_empty();
    if (a->traceparent != NULL && *a->traceparent != '\0') {
        if (sl_traceparent_parse(a->traceparent, strlen(a->traceparent), &parent) !=
            SL_OK) {
            fprintf(stderr, "spanlog-pipe: invalid traceparent, starting a new trace\n");
        } else if (a->tracestate != NULL) {
            /* An invalid tracestate is dropped whole; the trace goes on. */
            (void)sl_tracestate_parse(a->tracestate, strlen(a->tracestate), &parent);
        }
    }
    return sl_span_start_with_parent(a->span_name, SL_SPAN_INTERNAL,
                                     sl_span_context_is_valid(&parent) ? &parent : NULL);
}

/*
 * The line as a C string. Messages are NUL-terminated, so a NUL byte inside
 * the line becomes U+FFFD, as the encoder does with other invalid bytes,
 * instead of silently cutting the message short. Returns NULL on ENOMEM.
 */
static const char *nul_safe(char *line, size_t len, char **buf, size_t *cap)
{
    size_t nuls = 0;
    for (size_t i = 0; i < len; i++) {
        nuls += line[i] == '\0';
    }
    line[len] = '\0';
    if (nuls == 0) {
        return line;
    }
    size_t need = len + 2 * nuls + 1;
    if (need > *cap) {
        char *p = realloc(*buf, need);
        if (p == NULL) {
            return NULL;
        }
        *buf = p;
        *cap = need;
    }
    char *o = *buf;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\0') {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            *o++ = line[i];
        }
    }
    *o = '\0';
    return *buf;
}

/* s as a JSON string (the --stats lines name the target as given). */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}

int main(int argc, char **argv)
{
    struct args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return 2;
    }
    sl_level level;
    if (sl_level_parse(a.level, &level) != SL_OK || level == SL_LEVEL_OFF) {
        fprintf(stderr, "spanlog-pipe: unknown level %s\n", a.level);
        return 2;
    }
    /* A closed stdout must become a counted drop, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    sl_logger *lg = NULL;
    if (make_logger(&a, &lg) != 0) {
        sl_logger_free(lg);
        return 2;
    }
    sl_span *span = start_run_span(&a);
    if (span == NULL) {
        fprintf(stderr, "spanlog-pipe: out of memory\n");
        sl_logger_free(lg);
        return 2;
    }

    char *line = NULL, *fixed = NULL;
    size_t cap = 0, fixed_cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        const char *msg = nul_safe(line, len, &fixed, &fixed_cap);
        if (msg == NULL) {
            fprintf(stderr, "spanlog-pipe: out of memory\n");
            break;
        }
        sl_log_write(lg, level, NULL, NULL, msg, NULL, 0);
    }
    free(line);
    free(fixed);
    sl_span_end(span);

    /* Shut down first, so that what the sinks could not deliver (a Loki
     * queue at the deadline) is counted before the counts are read. */
    int rc = 0;
    sl_status st = sl_logger_shutdown(lg, (int)a.flush_timeout_ms);
    if (st != SL_OK) {
        fprintf(stderr, "spanlog-pipe: shutdown: %s\n", sl_strerror(st));
    }
    uint64_t dropped = 0;
    for (size_t i = 0; i < sl_logger_sink_count(lg); i++) {
        sl_sink *sink = sl_logger_sink_at(lg, i);
        sl_sink_stats s;
        sl_sink_stats_init(&s);
        sl_sink_get_stats(sink, &s);
        if (a.stats) {
            fprintf(stderr, "{\"sink\":\"%s\",\"target\":", sl_sink_name(sink));
            put_json_string(stderr, a.sinks[i]);
            fprintf(stderr, ",\"written\":%llu,\"dropped\":%llu,\"errors\":%llu}\n",
                    (unsigned long long)s.written, (unsigned long long)s.dropped,
                    (unsigned long long)s.errors);
        }
        dropped += s.dropped;
    }
    if (dropped > 0 || st != SL_OK) {
        fprintf(stderr, "spanlog-pipe: %llu record%s dropped; exit status 1\n",
                (unsigned long long)dropped, dropped == 1 ? "" : "s");
        rc = 1;
    }
    sl_logger_free(lg);
    return rc;
}
