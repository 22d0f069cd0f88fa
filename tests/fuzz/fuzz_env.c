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
 * SPANLOG_LOKI_PASSWORD or _TOKEN (never echo them). And the one grammar
 * (src/config.h) holds, checked against a reference written here: every
 * bool or number variable of the core's table (and of Loki's, for
 * sl_loki_options_from_env) that is accepted follows it, and one that does
 * not makes the call fail, naming that variable or an earlier one.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fuzz.h"
#include "spanlog/spanlog.h"

static const char *const vars[] = {
    "OTEL_SERVICE_NAME",
    "SPANLOG_LEVEL",
    "SPANLOG_FORMAT",
    "SPANLOG_MAX_RECORD_BYTES",
    "SPANLOG_CALLER",
    "SPANLOG_BAGGAGE_KEYS",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "SPANLOG_LOKI_BATCH_BYTES",
    "SPANLOG_LOKI_BATCH_MS",
    "SPANLOG_LOKI_CA_FILE",
    "SPANLOG_LOKI_ENCODING",
    "SPANLOG_LOKI_GZIP",
    "SPANLOG_LOKI_LABELS",
    "SPANLOG_LOKI_LEVEL_LABEL",
    "SPANLOG_LOKI_METADATA",
    "SPANLOG_LOKI_OVERFLOW",
    "SPANLOG_LOKI_PASSWORD",
    "SPANLOG_LOKI_QUEUE_BYTES",
    "SPANLOG_LOKI_TENANT",
    "SPANLOG_LOKI_TIMEOUT_MS",
    "SPANLOG_LOKI_TLS_VERIFY",
    "SPANLOG_LOKI_TOKEN",
    "SPANLOG_LOKI_USER",
    /* added later: older inputs leave them unset */
    "SPANLOG_DIAG",
    "SPANLOG_SAMPLING",
    "SPANLOG_REDACT",
    "SPANLOG_REDACT_CENSOR",
    "SPANLOG_REDACT_REMOVE",
    "SPANLOG_LEVEL_FILE",
    "SPANLOG_LOKI_LINE_LIMIT",
    "SPANLOG_LOKI_JITTER",
    "SPANLOG_LOKI_BACKOFF_MIN_MS",
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

/* ---- the grammar, written again from its definition ------------------------ */

static bool ref_bool(const char *v)
{
    static const char *const words[] = {"1",   "0",  "true", "false",
                                        "yes", "no", "on",   "off"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(v, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Decimal digits, a '-' first only when lo < 0, nothing else, in [lo, hi]. */
static bool ref_number(const char *v, long long lo, long long hi)
{
    const char *d = v[0] == '-' && lo < 0 ? v + 1 : v;
    if (*d == '\0') {
        return false;
    }
    for (const char *p = d; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    errno = 0;
    long long x = strtoll(v, NULL, 10);
    return errno == 0 && x >= lo && x <= hi;
}

/* -1: not a bool or number row; else whether value follows the grammar. */
static int grammatical(const sl__opt *o, const char *value)
{
    switch (o->type) {
    case SL__OPT_BOOL:
        return ref_bool(value);
    case SL__OPT_INT:
    case SL__OPT_SIZE:
        return ref_number(value, o->min, o->max);
    default:
        return -1;
    }
}

static const sl__opt *row(const sl__opt_table *t, const char *var)
{
    for (size_t i = 0; t != NULL && i < t->n; i++) {
        if (t->opts[i].env != NULL && strcmp(t->opts[i].env, var) == 0) {
            return &t->opts[i];
        }
    }
    return NULL;
}

/*
 * The call's status st against the grammar for the variables of table t:
 * accepted, every bool and number set is grammatical; one that is not
 * makes it fail, and the variable it names is one of the table's rows
 * that is ungrammatical, or one read before (an earlier row).
 */
static void agrees(const sl__opt_table *t, sl_status st, const sl_error *err,
                   const bool *set)
{
    int first_bad = -1;
    for (size_t i = 0; i < t->n; i++) {
        const sl__opt *o = &t->opts[i];
        for (size_t v = 0; o->env != NULL && v < NVARS; v++) {
            if (set[v] && strcmp(vars[v], o->env) == 0 && values[v][0] != '\0' &&
                grammatical(o, values[v]) == 0 && first_bad < 0) {
                first_bad = (int)i;
            }
        }
    }
    if (st == SL_OK) {
        FUZZ_CHECK(first_bad < 0);
        return;
    }
    const sl__opt *named = row(t, err->name);
    if (first_bad >= 0 && named != NULL) {
        /* The one named was read no later than the first bad one. */
        FUZZ_CHECK(named - t->opts <= first_bad);
    }
}

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
    sl_error e;
    sl_error_init(&e);
    sl_status st = sl_logger_from_env("fuzz", &lg, &e);
    FUZZ_CHECK(st <= 0 && sl_strerror(st) != NULL);
    FUZZ_CHECK(st == SL_OK || (e.code == st && memchr(e.text, '\0', sizeof e.text)));
    agrees(&sl__core_options, st, &e, set);
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

#if !SPANLOG_WITH_LOKI
    (void)set;
#else
    sl_loki_options lo;
    sl_loki_options_init(&lo);
    sl_error err, err2;
    sl_error_init(&err);
    sl_error_init(&err2);
    st = sl_loki_options_from_env(&lo, &err);
    for (size_t a = 0; sl__adapters[a] != NULL; a++) {
        if (strcmp(sl__adapters[a]->name, "loki") == 0) {
            agrees(sl__adapters[a]->opts, st, &err, set);
        }
    }
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
#endif
    return 0;
}
