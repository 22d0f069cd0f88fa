/*
 * fuzz_env.c - every environment variable the library reads, set from the
 * input (one value per line, in the order of `vars` below; a line starting
 * with 0x01 leaves its variable unset). SPANLOG_SINK is "null" so nothing
 * is written anywhere and nothing connects; SPANLOG_SYSLOG and the Loki URL
 * stay unset (their sinks would connect), but every Loki option is read by
 * sl_loki_options_from_env. Properties: a refused environment gives no
 * logger and a known status; an accepted one gives a logger whose records
 * (through a capture sink added after) are one line of JSON within the
 * limit; Loki option error texts are NUL-terminated and do not depend on
 * SPANLOG_LOKI_PASSWORD or _TOKEN (never echo them).
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "spanlog/spanlog.h"

static const char *const vars[] = {
    "OTEL_SERVICE_NAME",        "SPANLOG_LEVEL",           "SPANLOG_FORMAT",
    "SPANLOG_MAX_RECORD_BYTES", "SPANLOG_CALLER",          "SPANLOG_BAGGAGE_KEYS",
    "OTEL_TRACES_SAMPLER",      "OTEL_TRACES_SAMPLER_ARG", "SPANLOG_LOKI_BATCH_BYTES",
    "SPANLOG_LOKI_BATCH_MS",    "SPANLOG_LOKI_CA_FILE",    "SPANLOG_LOKI_ENCODING",
    "SPANLOG_LOKI_GZIP",        "SPANLOG_LOKI_LABELS",     "SPANLOG_LOKI_LEVEL_LABEL",
    "SPANLOG_LOKI_METADATA",    "SPANLOG_LOKI_OVERFLOW",   "SPANLOG_LOKI_PASSWORD",
    "SPANLOG_LOKI_QUEUE_BYTES", "SPANLOG_LOKI_TENANT",     "SPANLOG_LOKI_TIMEOUT_MS",
    "SPANLOG_LOKI_TLS_VERIFY",  "SPANLOG_LOKI_TOKEN",      "SPANLOG_LOKI_USER",
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

typedef struct line {
    char buf[1 << 17];
    size_t len;
    int n;
} line;

static void cap_write(sl_sink *sink, const sl_record *rec, const char *l, size_t len)
{
    (void)rec;
    line *c = sl_sink_state(sink);
    FUZZ_CHECK(len < sizeof c->buf);
    memcpy(c->buf, l, len);
    c->len = len;
    c->n++;
}

static const sl_sink_vtable cap_vt = {
    .version = SL_SINK_VTABLE_VERSION, .name = "fuzz", .write = cap_write};

static char values[NVARS][512];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    bool set[NVARS] = {false};
    setenv("SPANLOG_SINK", "null", 1);
    unsetenv("SPANLOG_SYSLOG");
    unsetenv("SPANLOG_LOKI_URL");
    for (size_t i = 0; i < NVARS; i++) {
        const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        size_t n = p < end ? (size_t)((nl ? nl : end) - p) : 0;
        if (p >= end || (n > 0 && p[0] == 0x01)) {
            unsetenv(vars[i]);
        } else {
            n = n < sizeof values[i] - 1 ? n : sizeof values[i] - 1;
            memcpy(values[i], p, n);
            values[i][n] = '\0'; /* the environment ends values at a NUL anyway */
            setenv(vars[i], values[i], 1);
            set[i] = true;
        }
        p = nl ? nl + 1 : end;
    }

    sl_logger *lg = NULL;
    sl_status st = sl_logger_from_env("fuzz", &lg, NULL);
    FUZZ_CHECK(st <= 0 && sl_strerror(st) != NULL);
    if (st != SL_OK) {
        FUZZ_CHECK(lg == NULL);
    } else {
        static line out;
        out.n = 0;
        sl_sink *sink = NULL;
        FUZZ_CHECK(sl_sink_new(&cap_vt, &out, &sink) == SL_OK);
        FUZZ_CHECK(sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE) == SL_OK);
        sl_logger_set_level(lg, SL_LEVEL_TRACE); /* SPANLOG_LEVEL may say off */
        sl_log_write(lg, SL_LEVEL_FATAL, NULL, NULL, "env", NULL, 0);
        FUZZ_CHECK(out.n == 1 && out.len >= 2 && out.buf[out.len - 1] == '\n');
        FUZZ_CHECK(memchr(out.buf, '\n', out.len - 1) == NULL);
        json_t *r = json_loadb(out.buf, out.len - 1, 0, NULL);
        FUZZ_CHECK(r != NULL);
        json_decref(r);
        sl_logger_free(lg);
    }
    (void)sl_sampler_from_env();

    sl_loki_options lo;
    sl_loki_options_init(&lo);
    sl_error err, err2;
    sl_error_init(&err);
    sl_error_init(&err2);
    st = sl_loki_options_from_env(&lo, &err);
    if (st != SL_OK) {
        FUZZ_CHECK(memchr(err.text, '\0', sizeof err.text) != NULL);
        FUZZ_CHECK(err.code == st && err.name[0] != '\0');
        /* Secrets never reach the text: with every letter and digit of the
         * password and token rotated (same character classes, so the same
         * validity), the error must read the same. */
        for (size_t i = 0; i < NVARS; i++) {
            if (set[i] && (strcmp(vars[i], "SPANLOG_LOKI_PASSWORD") == 0 ||
                           strcmp(vars[i], "SPANLOG_LOKI_TOKEN") == 0)) {
                char rot[512];
                size_t k = 0;
                for (; values[i][k] != '\0'; k++) {
                    char c = values[i][k];
                    rot[k] = c >= 'a' && c <= 'z'   ? (char)('a' + (c - 'a' + 1) % 26)
                             : c >= 'A' && c <= 'Z' ? (char)('A' + (c - 'A' + 1) % 26)
                             : c >= '0' && c <= '9' ? (char)('0' + (c - '0' + 1) % 10)
                                                    : c;
                }
                rot[k] = '\0';
                setenv(vars[i], rot, 1);
            }
        }
        sl_loki_options lo2;
        sl_loki_options_init(&lo2);
        FUZZ_CHECK(sl_loki_options_from_env(&lo2, &err2) == st);
        if (strcmp(err.text, err2.text) != 0) {
            fprintf(stderr, "error text depends on a secret:\n  %s\n  %s\n", err.text,
                    err2.text);
        }
        FUZZ_CHECK(strcmp(err.text, err2.text) == 0 &&
                   strcmp(err.value, err2.value) == 0);
    }
    return 0;
}
