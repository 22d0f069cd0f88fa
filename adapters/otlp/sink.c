/*
 * sink.c - the otlp: log sink. Each record is encoded as a LogRecord on the
 * logging thread, from the record view (never by parsing the line back),
 * and queued; the pipe's worker batches and exports them to /v1/logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/otlp/otlp_exporter.h"
#include "config.h"

#define STACK_ITEM 2048
#define MAX_ITEM   (4u << 20)

typedef struct otlp_sink {
    sl__otlp_pipe pipe;
} otlp_sink;

static void otlp_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    (void)line, (void)len;
    otlp_sink *s = sl_sink_state(sink);
    sl__otlp_pipe *p = &s->pipe;
    sl__otlp_log_extra x = {.observed_ns = sl__now_ns(),
                            .baggage_keys = (const char *const *)p->cfg.bkeys,
                            .nbaggage_keys = p->cfg.nbkeys};
    _Alignas(16) uint8_t stack[STACK_ITEM];
    bool failed;
    if (!p->cfg.json) {
        sl__pb b;
        sl__pb_init(&b, stack, sizeof stack, MAX_ITEM);
        sl__otlp_log_pb(&b, rec, &x, &p->cfg.lim);
        failed = b.failed;
        if (!failed) {
            sl__otlp_pipe_push(p, b.buf, b.len);
        }
        sl__pb_free(&b);
    } else {
        sl__jw w;
        sl__jw_init(&w, (char *)stack, sizeof stack);
        sl__otlp_log_json(&w, rec, &x, &p->cfg.lim);
        if (w.overflow) {
            sl__jw_init_growable(&w, 2 * STACK_ITEM, MAX_ITEM);
            sl__otlp_log_json(&w, rec, &x, &p->cfg.lim);
        }
        failed = w.overflow;
        if (!failed) {
            sl__otlp_pipe_push(p, w.buf, w.len);
        }
        if (w.growable) {
            sl__jw_free(&w);
        }
    }
    if (failed) {
        atomic_fetch_add(&p->encode, 1);
        sl_sink_count_dropped(sink, 1);
    }
}

static sl_status otlp_flush(sl_sink *sink, int timeout_ms)
{
    otlp_sink *s = sl_sink_state(sink);
    return sl__deliver_flush(s->pipe.d, timeout_ms);
}

static sl_status otlp_close(sl_sink *sink, int timeout_ms)
{
    otlp_sink *s = sl_sink_state(sink);
    return s->pipe.d != NULL ? sl__deliver_close(s->pipe.d, timeout_ms) : SL_OK;
}

static void otlp_destroy(sl_sink *sink)
{
    otlp_sink *s = sl_sink_state(sink);
    sl__otlp_pipe_free(&s->pipe);
    sl__free(s);
}

static const sl_sink_vtable otlp_vtable = {
    .version = SL_SINK_VTABLE_VERSION,
    .name = "otlp",
    .write = otlp_write,
    .flush = otlp_flush,
    .close = otlp_close,
    .destroy = otlp_destroy,
};

/* SPANLOG_BAGGAGE_KEYS, split (the strings point into a copy kept in *buf). */
static size_t env_baggage_keys(char **buf, const char **keys, size_t max)
{
    const char *v = getenv("SPANLOG_BAGGAGE_KEYS");
    *buf = v != NULL ? sl__strdup(v) : NULL;
    size_t n = 0;
    for (char *save = NULL, *t = *buf ? strtok_r(*buf, ",", &save) : NULL; t && n < max;
         t = strtok_r(NULL, ",", &save)) {
        const char *a = t, *b = t + strlen(t);
        sl__trim_blanks(&a, &b);
        if (a < b) {
            t[b - t] = '\0';
            keys[n++] = a;
        }
    }
    return n;
}

sl_status sl_otlp_log_sink_new(const sl_otlp_options *o, sl_sink **out, sl_error *err)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    sl_otlp_options local;
    char *keybuf = NULL;
    const char *keys[SL_MAX_BAGGAGE_KEYS];
    if (o == NULL) {
        sl_otlp_options_init(&local, SL_OTLP_LOGS);
        sl_status st = sl_otlp_options_from_env(&local, err);
        if (st != SL_OK) {
            return st;
        }
        local.nbaggage_keys = env_baggage_keys(&keybuf, keys, SL_MAX_BAGGAGE_KEYS);
        local.baggage_keys = keys;
        o = &local;
    }
    if (o->signal != SL_OTLP_LOGS) {
        sl__free(keybuf);
        return sl__error_set(err, SL_EINVAL, "signal", NULL, -1,
                             "otlp sink: options are for traces, not logs");
    }
    otlp_sink *s = sl__calloc(1, sizeof *s);
    if (s == NULL) {
        sl__free(keybuf);
        return SL_ENOMEM;
    }
    sl_sink *sink = NULL;
    sl_status st = sl_sink_new(&otlp_vtable, s, &sink);
    if (st == SL_OK) {
        st = sl__otlp_pipe_init(&s->pipe, o, sink, false, err);
        if (st != SL_OK) {
            /* the pipe cleaned up after itself: close and destroy see zeros */
            sl_sink_free(sink, 0);
        }
    } else {
        sl__free(s);
    }
    sl__free(keybuf);
    if (st != SL_OK) {
        return st;
    }
    *out = sink;
    return SL_OK;
}

void sl_otlp_sink_get_stats(const sl_sink *sink, sl_otlp_stats *out)
{
    if (out == NULL) {
        return;
    }
    if (sink == NULL || strcmp(sl_sink_name(sink), "otlp") != 0) {
        size_t size = out->size;
        memset(out, 0, size < sizeof *out ? size : sizeof *out);
        out->size = size;
        return;
    }
    otlp_sink *s = sl_sink_state(sink);
    sl__otlp_pipe_stats(&s->pipe, out);
}

/* ---- the registry entry ----------------------------------------------------- */

/* The logs options from OTEL_* and SPANLOG_BAGGAGE_KEYS (keys point into
 * *keybuf, which the caller frees), with `rest` ("otlp:URL") as endpoint. */
static sl_status log_options(sl_otlp_options *o, const char *rest, char **keybuf,
                             const char **keys, sl_error *err)
{
    sl_otlp_options_init(o, SL_OTLP_LOGS);
    *keybuf = NULL;
    sl_status st = sl_otlp_options_from_env(o, err);
    if (st != SL_OK) {
        return st;
    }
    o->nbaggage_keys = env_baggage_keys(keybuf, keys, SL_MAX_BAGGAGE_KEYS);
    o->baggage_keys = keys;
    if (rest != NULL && rest[0] != '\0') {
        /* A URL with a path is used as given (Loki 3: .../otlp/v1/logs);
         * a bare base gets /v1/logs. */
        const char *host = strstr(rest, "://");
        const char *path = host != NULL ? strchr(host + 3, '/') : NULL;
        if (path != NULL && path[1] != '\0') {
            o->endpoint = rest;
        } else {
            o->endpoint = NULL;
            o->base_endpoint = rest;
        }
    }
    return SL_OK;
}

/* Makes the sink, or (check_only) checks what the constructor would. */
static sl_status make(const sl_otlp_options *o, bool check_only, sl_sink **out,
                      sl_error *err)
{
    if (!check_only) {
        return sl_otlp_log_sink_new(o, out, err);
    }
    sl__otlp_config c;
    sl_status st = sl__otlp_config_init(&c, o, err);
    if (st == SL_OK) {
        sl__otlp_config_free(&c);
    }
    return st;
}

/* "otlp" or "otlp:URL": the OTEL_* logs options, then the URL. */
static sl_status otlp_open(const char *scheme, const char *rest, bool check_only,
                           sl_sink **out, sl_error *err)
{
    sl_otlp_options o;
    char *keybuf;
    const char *keys[SL_MAX_BAGGAGE_KEYS];
    sl_status st = log_options(&o, rest, &keybuf, keys, err);
    if (st == SL_OK) {
        st = make(&o, check_only, out, err);
    }
    sl__free(keybuf);
    return st;
}

/*
 * sl_logger_from_env: the span exporter (OTEL_TRACES_EXPORTER, or an
 * endpoint) and an otlp log sink (OTEL_LOGS_EXPORTER, or a logs endpoint)
 * unless SPANLOG_SINK has one already. check_only: every variable parsed
 * and checked, nothing installed.
 */
static sl_status otlp_env_setup(sl_logger *lg, const char *service, const char *sink_list,
                                bool check_only, sl_error *err)
{
    int traces = 0, choice = 0;
    sl_status st = sl__otlp_exporter_choice(
        "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces, err);
    if (st != SL_OK) {
        return st;
    }
    if (check_only && traces != 0) {
        sl_otlp_options t;
        sl_otlp_options_init(&t, SL_OTLP_TRACES);
        if ((st = sl_otlp_options_from_env(&t, err)) != SL_OK ||
            (st = make(&t, true, NULL, err)) != SL_OK) {
            return st;
        }
    } else if (!check_only) {
        st = sl_otlp_setup_from_env(service, err);
        if (st != SL_OK && st != SL_ENOENT) {
            return st;
        }
    }
    const char *v = getenv("OTEL_LOGS_EXPORTER");
    if (v != NULL && v[0] != '\0') {
        st = sl__otlp_exporter_choice("OTEL_LOGS_EXPORTER",
                                      "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &choice, err);
        if (st != SL_OK) {
            return st;
        }
    } else {
        /* The general endpoint exports spans; logs need their own ask. */
        const char *e = getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
        bool off;
        if ((st = sl__otlp_sdk_disabled(&off, err)) != SL_OK) {
            return st;
        }
        choice = e != NULL && e[0] != '\0' && !off;
    }
    if (choice == 0 || (choice == 1 && sink_list != NULL && strstr(sink_list, "otlp"))) {
        return SL_OK; /* none asked, or SPANLOG_SINK has it already */
    }
    sl_otlp_options o;
    char *keybuf;
    const char *keys[SL_MAX_BAGGAGE_KEYS];
    st = log_options(&o, NULL, &keybuf, keys, err);
    o.default_service = service;
    o.console = choice == 2;
    sl_sink *sink = NULL;
    if (st == SL_OK) {
        st = make(&o, check_only, &sink, err);
    }
    sl__free(keybuf);
    if (st != SL_OK || check_only) {
        return st;
    }
    st = sl_logger_add_sink(lg, sink, SL_LEVEL_TRACE);
    if (st != SL_OK) {
        sl__error_set(err, st, "OTEL_LOGS_EXPORTER", NULL, -1,
                      "otlp: cannot add the log sink: %s", sl_strerror(st));
    }
    return st;
}

static const char *const otlp_schemes[] = {"otlp", NULL};

/* The variables that are not options of one signal (the per-signal ones:
 * docs/otlp.md, read by sl_otlp_options_from_env). */
typedef struct otlp_env {
    const char *traces_exporter, *logs_exporter, *resource_attributes;
    bool sdk_disabled;
} otlp_env;

static const sl__opt otlp_opts[] = {
    SL__O_STR(otlp_env, traces_exporter, NULL, "OTEL_TRACES_EXPORTER", NULL,
              "`otlp`, `console` or `none`: export spans (default: when an endpoint "
              "is set)"),
    SL__O_STR(otlp_env, logs_exporter, NULL, "OTEL_LOGS_EXPORTER", NULL,
              "`otlp`, `console` or `none`: add an otlp log sink to "
              "sl_logger_from_env"),
    SL__O_BOOL(otlp_env, sdk_disabled, "false", "OTEL_SDK_DISABLED", NULL,
               "export nothing"),
    SL__O_STR(otlp_env, resource_attributes, NULL, "OTEL_RESOURCE_ATTRIBUTES", NULL,
              "resource attributes, `k=v,k=v` (percent-encoded values)"),
};

static const sl__opt_table otlp_table = {"OTLP export (docs/otlp.md)", otlp_opts,
                                         SL__NOPTS(otlp_opts)};
static const sl__opt_table *const otlp_more[] = {&sl__otlp_traces_options,
                                                 &sl__otlp_logs_options, NULL};

const sl__adapter sl__adapter_otlp = {
    .name = "otlp",
    .schemes = otlp_schemes,
    .usage = "otlp[:URL]",
    .env_prefix = "OTEL_",
    .env_target = NULL,
    .opts = &otlp_table,
    .more = otlp_more,
    .open = otlp_open,
    .env_setup = otlp_env_setup,
};
