/*
 * pipe.c - what the span exporter and the log sink share: one delivery
 * runtime, the request envelope, and the OTLP counters the runtime does not
 * keep (the max_queue_size count, partial rejections, invalid answers).
 *
 *   push(item) ─▶ count check ─▶ sl__deliver_push ─▶ worker: send(batch)
 *                                   request = envelope + items (+ gzip)
 *                                   POST, or one JSON line on stderr (console)
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <curl/curl.h>
#include <zlib.h>

#include "adapters/otlp/otlp_exporter.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    (void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Per worker: the transport and the request buffers, reused. */
typedef struct conn {
    struct conn *next_orphan;
    sl__otlp_http *http; /* NULL for console */
    sl__pb req;
    char *gz;
    size_t gz_cap;
    const void **items;
    size_t *lens;
    size_t cap;
} conn;

/*
 * A fork child inherits the parent's worker connection but not the worker:
 * it must not close it (a TLS session the parent still uses) and cannot
 * free it safely, so it stays here, reachable, for the child's lifetime.
 */
static conn *orphans; /* touched only by fork_child, in a single-threaded child */

static void *op_open(void *user)
{
    sl__otlp_pipe *p = user;
    conn *c = sl__calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    p->conn = c;
    sl__pb_init(&c->req, NULL, 0, (size_t)1 << 31);
    if (!p->cfg.console && (c->http = sl__otlp_http_new(&p->cfg)) == NULL) {
        sl__free(c);
        return NULL;
    }
    return c;
}

static void op_close(void *user, void *cp)
{
    sl__otlp_pipe *p = user;
    conn *c = cp;
    if (c == NULL) {
        return;
    }
    if (p->conn == c) {
        p->conn = NULL;
    }
    sl__otlp_http_free(c->http);
    sl__pb_free(&c->req);
    sl__free(c->gz);
    sl__free(c->items);
    sl__free(c->lens);
    sl__free(c);
}

static bool gzip_body(conn *c, const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return false;
    }
    size_t bound = deflateBound(&z, (uLong)len);
    if (bound > c->gz_cap) {
        char *n = sl__realloc(c->gz, bound);
        if (n == NULL) {
            deflateEnd(&z);
            return false;
        }
        c->gz = n;
        c->gz_cap = bound;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)c->gz;
    z.avail_out = (uInt)c->gz_cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void op_send(void *user, void *cp, const sl__deliver_batch *b,
                    sl__deliver_verdict *v)
{
    sl__otlp_pipe *p = user;
    conn *c = cp;
    if (c == NULL) {
        v->kind = SL__DELIVER_RETRY;
        snprintf(v->text, sizeof v->text, "otlp: no transport (out of memory)");
        return;
    }
    if (b->n > c->cap) {
        const void **ni = sl__realloc(c->items, b->n * sizeof *ni);
        if (ni != NULL) {
            c->items = ni;
        }
        size_t *nl = ni != NULL ? sl__realloc(c->lens, b->n * sizeof *nl) : NULL;
        if (nl == NULL) {
            v->kind = SL__DELIVER_RETRY;
            snprintf(v->text, sizeof v->text, "otlp: out of memory");
            return;
        }
        c->lens = nl;
        c->cap = b->n;
    }
    for (size_t i = 0; i < b->n; i++) {
        c->items[i] = b->entries[i].data;
        c->lens[i] = b->entries[i].len;
    }
    c->req.len = 0;
    c->req.failed = false;
    if (!sl__otlp_request(&p->env, c->items, c->lens, b->n, &c->req)) {
        v->kind = b->n > 1 ? SL__DELIVER_TOO_LARGE : SL__DELIVER_REJECTED;
        snprintf(v->text, sizeof v->text, "otlp: request could not be built");
        return;
    }
    if (p->cfg.console) {
        sl__pb_raw(&c->req, "\n", 1);
        write_all(2, c->req.buf, c->req.len);
        return; /* SENT */
    }
    const char *body = (const char *)c->req.buf;
    size_t len = c->req.len;
    if (p->cfg.gzip) {
        if (!gzip_body(c, c->req.buf, c->req.len, &len)) {
            v->kind = SL__DELIVER_RETRY;
            snprintf(v->text, sizeof v->text, "otlp: gzip failed");
            return;
        }
        body = c->gz;
    }
    sl__otlp_answer a;
    sl__otlp_http_post(c->http, body, len, p->d, v, &a);
    if (a.bad_body) {
        atomic_fetch_add(&p->bad_resp, 1);
        sl_sink_report_error(p->sink, SL_EPROTO, "otlp: %s", v->text);
    }
    if (a.rejected > 0) {
        uint64_t r = (uint64_t)a.rejected > b->n ? b->n : (uint64_t)a.rejected;
        atomic_fetch_add(&p->partial, r);
        sl_sink_report_error(p->sink, SL_EPROTO, "otlp: %s", v->text);
    }
}

static void op_settled(void *user, const sl__deliver_verdict *v, size_t n,
                       uint64_t weight)
{
    (void)v, (void)weight;
    sl__otlp_pipe *p = user;
    atomic_fetch_sub(&p->inq, n);
}

/* In the fork child (single thread, no malloc): the parent's connection
 * becomes an orphan; the child's worker opens its own. */
static void op_fork_child(void *user)
{
    sl__otlp_pipe *p = user;
    conn *c = p->conn;
    if (c != NULL) {
        c->next_orphan = orphans;
        orphans = c;
        p->conn = NULL;
    }
}

static const sl__deliver_ops ops = {
    .open = op_open,
    .close = op_close,
    .send = op_send,
    .settled = op_settled,
    .fork_child = op_fork_child,
};

sl_status sl__otlp_pipe_init(sl__otlp_pipe *p, const sl_otlp_options *o, sl_sink *sink,
                             bool flush_at_exit, sl_error *err)
{
    memset(p, 0, sizeof *p);
    p->sink = sink;
    pthread_once(&curl_once, curl_init);
    sl_status st = sl__otlp_config_init(&p->cfg, o, err);
    if (st != SL_OK) {
        return st;
    }
    sl__otlp_resource r;
    st = sl__otlp_resource_build(&r, o->service_name, o->default_service,
                                 o->resource_attributes, err);
    if (st == SL_OK) {
        st = sl__otlp_envelope_init(&p->env, p->cfg.signal, p->cfg.json, &r);
        sl__otlp_resource_free(&r);
    }
    if (st != SL_OK) {
        sl__otlp_config_free(&p->cfg);
        return st;
    }
    sl__deliver_options d;
    sl__deliver_options_init(&d);
    d.name = p->cfg.signal == SL__OTLP_LOGS ? "otlp logs" : "otlp traces";
    d.queue_bytes = p->cfg.queue_bytes;
    d.batch_bytes = 4u << 20;
    d.batch_max_entries = p->cfg.batch;
    d.batch_age_ms = p->cfg.schedule_delay_ms;
    d.backoff_min_ms = p->cfg.backoff_min_ms;
    d.backoff_max_ms = p->cfg.backoff_max_ms;
    d.max_batch_age_ms = p->cfg.export_timeout_ms;
    d.flush_at_exit = flush_at_exit;
    st = sl__deliver_new(&d, &ops, p, sink, &p->d);
    if (st != SL_OK) {
        sl__otlp_envelope_free(&p->env);
        sl__otlp_config_free(&p->cfg);
        return sl__error_set(err, st, NULL, NULL, -1,
                             "otlp: cannot start the exporter: %s", sl_strerror(st));
    }
    return SL_OK;
}

void sl__otlp_pipe_close(sl__otlp_pipe *p, int timeout_ms)
{
    if (p->d != NULL) {
        (void)sl__deliver_close(p->d, timeout_ms);
    }
}

void sl__otlp_pipe_free(sl__otlp_pipe *p)
{
    sl__deliver_free(p->d);
    p->d = NULL;
    sl__otlp_envelope_free(&p->env);
    sl__otlp_config_free(&p->cfg);
}

void sl__otlp_pipe_push(sl__otlp_pipe *p, const void *item, size_t len)
{
    if (atomic_fetch_add_explicit(&p->inq, 1, memory_order_relaxed) >= p->cfg.max_queue) {
        atomic_fetch_sub_explicit(&p->inq, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->full, 1, memory_order_relaxed);
        sl_sink_count_dropped(p->sink, 1);
        return;
    }
    sl__deliver_part part = {item, len};
    if (sl__deliver_push(p->d, &part, 1,
                         (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len)) != SL_OK) {
        atomic_fetch_sub_explicit(&p->inq, 1, memory_order_relaxed); /* counted there */
    }
}

void sl__otlp_pipe_stats(const sl__otlp_pipe *p, sl_otlp_stats *out)
{
    size_t size = out->size;
    sl_otlp_stats s;
    memset(&s, 0, sizeof s);
    s.size = size;
    sl__deliver_stats d;
    sl__deliver_get_stats(p->d, &d);
    uint64_t partial = atomic_load(&p->partial);
    s.queued = d.queued_records;
    s.exported = d.sent_records - (partial < d.sent_records ? partial : d.sent_records);
    s.pending = d.pending_records;
    s.requests = d.requests;
    s.retries = d.retries;
    s.dropped_queue_full = d.dropped_queue_full + atomic_load(&p->full);
    s.dropped_rejected = d.dropped_rejected + d.dropped_rejected_partial;
    s.dropped_partial = partial;
    s.dropped_retries_exhausted = d.dropped_retries_exhausted;
    s.dropped_too_large = d.dropped_too_large;
    s.dropped_closed = d.dropped_closed;
    s.dropped_encode = atomic_load(&p->encode);
    s.bad_responses = atomic_load(&p->bad_resp);
    s.last_status = d.last_status;
    memcpy(s.last_error, d.last_error, sizeof s.last_error);
    s.last_error[sizeof s.last_error - 1] = '\0';
    memcpy(out, &s, size < sizeof s ? size : sizeof s);
}
