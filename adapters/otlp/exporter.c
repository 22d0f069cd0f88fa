/*
 * exporter.c - the span exporter: a span processor that encodes each ended
 * sampled span on the ending thread (into a stack buffer, no allocation for
 * a usual span) and queues the bytes; and the process-wide exporter that
 * sl_otlp_setup_from_env() installs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "adapters/otlp/otlp_exporter.h"

#define STACK_ITEM 1024
#define MAX_ITEM   (4u << 20)

struct sl_otlp_exporter {
    sl__otlp_pipe pipe;
    sl_sink *sink; /* private: counters and error reports */
};

static void null_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    (void)sink, (void)rec, (void)line, (void)len;
}

static const sl_sink_vtable counter_vtable = {
    .version = 1,
    .name = "otlp-traces",
    .write = null_write,
};

static void on_end(const sl_span_data *d, void *user)
{
    sl__otlp_pipe *p = user;
    _Alignas(16) uint8_t stack[STACK_ITEM];
    if (!p->cfg.json) {
        sl__pb b;
        sl__pb_init(&b, stack, sizeof stack, MAX_ITEM);
        sl__otlp_span_pb(&b, d, &p->cfg.lim);
        if (b.failed) {
            atomic_fetch_add(&p->encode, 1);
            sl_sink_count_dropped(p->sink, 1);
        } else {
            sl__otlp_pipe_push(p, b.buf, b.len);
        }
        sl__pb_free(&b);
        return;
    }
    sl__jw w;
    sl__jw_init(&w, (char *)stack, sizeof stack);
    sl__otlp_span_json(&w, d, &p->cfg.lim);
    if (w.overflow) {
        sl__jw_init_growable(&w, 2 * STACK_ITEM, MAX_ITEM);
        sl__otlp_span_json(&w, d, &p->cfg.lim);
    }
    if (w.overflow) {
        atomic_fetch_add(&p->encode, 1);
        sl_sink_count_dropped(p->sink, 1);
    } else {
        sl__otlp_pipe_push(p, w.buf, w.len);
    }
    if (w.growable) {
        sl__jw_free(&w);
    }
}

sl_status sl_otlp_exporter_new(const sl_otlp_options *o, sl_otlp_exporter **out,
                               sl_error *err)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    sl_otlp_options local;
    if (o == NULL) {
        sl_otlp_options_init(&local, SL_OTLP_TRACES);
        sl_status st = sl_otlp_options_from_env(&local, err);
        if (st != SL_OK) {
            return st;
        }
        o = &local;
    }
    if (o->signal != SL_OTLP_TRACES) {
        return sl__error_set(err, SL_EINVAL, "signal", NULL, -1,
                             "otlp exporter: options are for logs, not traces");
    }
    sl_otlp_exporter *e = sl__calloc(1, sizeof *e);
    if (e == NULL) {
        return SL_ENOMEM;
    }
    sl_status st = sl_sink_new(&counter_vtable, e, &e->sink);
    if (st == SL_OK) {
        st = sl__otlp_pipe_init(&e->pipe, o, e->sink, true, err);
        if (st != SL_OK) {
            sl_sink_free(e->sink, 0);
        }
    }
    if (st != SL_OK) {
        sl__free(e);
        return st;
    }
    st = sl_span_processor_add(on_end, &e->pipe);
    if (st != SL_OK) {
        sl__otlp_pipe_close(&e->pipe, 0);
        sl__otlp_pipe_free(&e->pipe);
        sl_sink_free(e->sink, 0);
        sl__free(e);
        return sl__error_set(err, st, NULL, NULL, -1, "otlp exporter: no processor slot");
    }
    *out = e;
    return SL_OK;
}

sl_status sl_otlp_exporter_flush(sl_otlp_exporter *e, int timeout_ms)
{
    return e == NULL ? SL_EINVAL : sl__deliver_flush(e->pipe.d, timeout_ms);
}

void sl_otlp_exporter_free(sl_otlp_exporter *e, int timeout_ms)
{
    if (e == NULL) {
        return;
    }
    (void)sl_span_processor_remove(on_end, &e->pipe);
    sl__otlp_pipe_close(&e->pipe, timeout_ms);
    sl__otlp_pipe_free(&e->pipe);
    sl_sink_free(e->sink, 0);
    sl__free(e);
}

void sl_otlp_exporter_get_stats(const sl_otlp_exporter *e, sl_otlp_stats *out)
{
    if (out == NULL) {
        return;
    }
    if (e == NULL) {
        size_t size = out->size;
        memset(out, 0, size < sizeof *out ? size : sizeof *out);
        out->size = size;
        return;
    }
    sl__otlp_pipe_stats(&e->pipe, out);
}

sl_sink *sl_otlp_exporter_sink(sl_otlp_exporter *e)
{
    return e != NULL ? e->sink : NULL;
}

/* ---- the process-wide exporter ----------------------------------------------- */

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;
static sl_otlp_exporter *global;

static bool env_set(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0';
}

sl_status sl__otlp_sdk_disabled(bool *out, sl_error *err)
{
    /* The one bool grammar (config.h); anything else is an error. */
    const char *v = getenv("OTEL_SDK_DISABLED");
    *out = false;
    if (v != NULL && v[0] != '\0' && sl__parse_bool(v, out) != SL_OK) {
        return sl__error_set(err, SL_EPARSE, "OTEL_SDK_DISABLED", v, 0,
                             "OTEL_SDK_DISABLED: expected %s, got \"%s\"",
                             SL__BOOL_GRAMMAR, v);
    }
    return SL_OK;
}

/* Which exporter a OTEL_*_EXPORTER list asks for: 0 none, 1 otlp, 2 console. */
sl_status sl__otlp_exporter_choice(const char *var, const char *endpoint_var, int *choice,
                                   sl_error *err)
{
    *choice = 0;
    /* The one bool grammar (config.h); anything else is an error. */
    const char *off = getenv("OTEL_SDK_DISABLED");
    bool disabled = false;
    if (off != NULL && off[0] != '\0' && sl__parse_bool(off, &disabled) != SL_OK) {
        return sl__error_set(err, SL_EPARSE, "OTEL_SDK_DISABLED", off, 0,
                             "OTEL_SDK_DISABLED: expected %s, got \"%s\"",
                             SL__BOOL_GRAMMAR, off);
    }
    if (disabled) {
        return SL_OK;
    }
    const char *v = getenv(var);
    if (v == NULL || v[0] == '\0') {
        *choice = env_set("OTEL_EXPORTER_OTLP_ENDPOINT") || env_set(endpoint_var) ? 1 : 0;
        return SL_OK;
    }
    const char *p = v;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        end = end != NULL ? end : p + strlen(p);
        const char *a = p, *b = end;
        sl__trim_blanks(&a, &b);
        size_t n = (size_t)(b - a);
        if (n == 4 && strncasecmp(a, "otlp", 4) == 0) {
            *choice = 1;
        } else if (n == 7 && strncasecmp(a, "console", 7) == 0) {
            *choice = *choice == 1 ? 1 : 2;
        } else if (!(n == 4 && strncasecmp(a, "none", 4) == 0) && n != 0) {
            return sl__error_set(err, SL_EPARSE, var, v, (int)(a - v),
                                 "%s: supported exporters are otlp, console and none",
                                 var);
        }
        p = *end == ',' ? end + 1 : end;
    }
    return SL_OK;
}

sl_status sl_otlp_setup_from_env(const char *service, sl_error *err)
{
    int choice;
    sl_status st = sl__otlp_exporter_choice(
        "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &choice, err);
    if (st != SL_OK) {
        return st;
    }
    if (choice == 0) {
        return SL_ENOENT;
    }
    pthread_mutex_lock(&global_mu);
    if (global != NULL) {
        pthread_mutex_unlock(&global_mu);
        return SL_OK;
    }
    sl_otlp_options o;
    sl_otlp_options_init(&o, SL_OTLP_TRACES);
    st = sl_otlp_options_from_env(&o, err);
    o.default_service = service;
    o.console = choice == 2;
    if (st == SL_OK) {
        st = sl_otlp_exporter_new(&o, &global, err);
    }
    pthread_mutex_unlock(&global_mu);
    return st;
}

sl_otlp_exporter *sl_otlp_global_exporter(void)
{
    pthread_mutex_lock(&global_mu);
    sl_otlp_exporter *e = global;
    pthread_mutex_unlock(&global_mu);
    return e;
}

void sl_otlp_shutdown(int timeout_ms)
{
    pthread_mutex_lock(&global_mu);
    sl_otlp_exporter *e = global;
    global = NULL;
    pthread_mutex_unlock(&global_mu);
    sl_otlp_exporter_free(e, timeout_ms);
}
