/*
 * worker.c - the Loki sink's part of the delivery runtime's worker: turn a
 * batch of queued records into a push body, POST it, and answer a verdict.
 *
 *   batch ─▶ streams + bumped timestamps ─▶ JSON+gzip | protobuf+snappy ─▶ POST
 *                                                                          │
 *     2xx ──────────────────────────────▶ SENT                              │
 *     400 "structured metadata" ────────▶ metadata off for good, rebuild ◀──┤
 *     401/403 ──────────────────────────▶ REJECTED (authentication text)    │
 *     other 4xx ────────────────────────▶ REJECTED                          │
 *     429/5xx/transport ────────────────▶ RETRY (Retry-After)               │
 *     close's deadline ─────────────────▶ CANCELLED ◀───────────────────────┘
 *
 * Queue, batching, backoff, flush and close are the runtime's
 * (src/deliver/deliver.c): this file never waits on anything but the POST.
 */
#include <stdio.h>
#include <string.h>

#include "adapters/loki/loki_internal.h"

typedef struct worker {
    sl__loki_batch batch;
    sl__jw body;
    char *gz;
    size_t gz_cap, gz_len;
    sl__loki_http *http;
} worker;

static size_t loki_cost(void *user, const char *data, size_t len)
{
    (void)user;
    const sl__loki_rec *r = (const sl__loki_rec *)(const void *)data;
    size_t skip = sizeof(*r) + r->service_len;
    return sl__loki_entry_cost(data + skip, len - skip, r->has_ctx);
}

static void *loki_open(void *user)
{
    (void)user;
    worker *w = sl__calloc(1, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    sl__loki_batch_init(&w->batch);
    sl__jw_init_growable(&w->body, 64u << 10,
                         2 * SL__LOKI_MAX_BATCH + SL__LOKI_MAX_LINE * 2);
    return w;
}

static void loki_close(void *user, void *conn)
{
    (void)user;
    worker *w = conn;
    if (w == NULL) {
        return;
    }
    sl__loki_http_free(w->http);
    sl__loki_batch_free(&w->batch);
    sl__jw_free(&w->body);
    sl__free(w->gz);
    sl__free(w);
}

/* Body for the metadata setting; false when it cannot be built. */
static bool build(sl__loki *L, worker *w, bool metadata, const char **data, size_t *len)
{
    if (L->cfg.encoding == SL_LOKI_ENCODING_PROTOBUF) {
        if (!sl__loki_proto_build(&w->batch, L->cfg.labels_prom, metadata, &w->body)) {
            return false;
        }
        size_t bound = sl__loki_snappy_bound(w->body.len);
        if (bound > w->gz_cap) {
            char *np = sl__realloc(w->gz, bound);
            if (np == NULL) {
                return false;
            }
            w->gz = np;
            w->gz_cap = bound;
        }
        *data = w->gz;
        *len = sl__loki_snappy(w->body.buf, w->body.len, w->gz);
        return true;
    }
    if (!sl__loki_body_build(&w->batch, L->cfg.labels_json, metadata, &w->body)) {
        return false;
    }
    if (!L->cfg.gzip) {
        *data = w->body.buf;
        *len = w->body.len;
        return true;
    }
    if (sl__loki_gzip(w->body.buf, w->body.len, &w->gz, &w->gz_cap, &w->gz_len) !=
        SL_OK) {
        return false;
    }
    *data = w->gz;
    *len = w->gz_len;
    return true;
}

/* The batch's records into w->batch (streams, bumped timestamps). */
static bool fill(sl__loki *L, worker *w, const sl__deliver_batch *b)
{
    sl__loki_batch_clear(&w->batch);
    int64_t now = sl__monotonic_ns();
    for (size_t i = 0; i < b->n; i++) {
        const sl__deliver_entry *e = &b->entries[i];
        const sl__loki_rec *r = (const sl__loki_rec *)(const void *)e->data;
        const char *service = (const char *)(r + 1);
        const char *line = service + r->service_len;
        size_t line_len = e->len - sizeof(*r) - r->service_len;
        if (sl__loki_batch_add(&w->batch, service, r->service_len,
                               L->cfg.level_label ? r->level : -1, r->ts, line, line_len,
                               r->has_ctx ? r->trace_id : NULL,
                               r->has_ctx ? r->span_id : NULL, now) != SL_OK) {
            return false;
        }
    }
    return true;
}

static void loki_send(void *user, void *conn, const sl__deliver_batch *b,
                      sl__deliver_verdict *v)
{
    sl__loki *L = user;
    worker *w = conn;
    if (w != NULL && w->http == NULL) {
        w->http = sl__loki_http_new(&L->cfg);
    }
    if (w == NULL || w->http == NULL) {
        v->kind = SL__DELIVER_RETRY;
        snprintf(v->text, sizeof(v->text), "cannot create a libcurl handle");
        return;
    }
    bool metadata = __atomic_load_n(&L->metadata_on, __ATOMIC_RELAXED) != 0;
    const char *data = NULL;
    size_t len = 0;
    if (!fill(L, w, b) || !build(L, w, metadata, &data, &len)) {
        /* Out of memory: try again later, as the runtime's backoff allows. */
        v->kind = SL__DELIVER_RETRY;
        snprintf(v->text, sizeof(v->text), "cannot build a push body for %zu records",
                 b->n);
        return;
    }
    for (;;) {
        sl__loki_answer ans;
        __atomic_fetch_add(&L->wire_bytes, len, __ATOMIC_RELAXED);
        sl__loki_http_post(w->http, data, len, L->d, &ans);
        v->status = ans.status;
        v->retry_after_ms = ans.retry_after_ms;
        snprintf(v->text, sizeof(v->text), "%s", ans.text);
        if (ans.outcome == SL__LOKI_NO_METADATA && !metadata) {
            ans.outcome = SL__LOKI_REJECTED; /* already off: an ordinary rejection */
        }
        switch (ans.outcome) {
        case SL__LOKI_SENT:
            v->kind = SL__DELIVER_SENT;
            return;
        case SL__LOKI_NO_METADATA:
            metadata = false;
            __atomic_store_n(&L->metadata_on, 0, __ATOMIC_RELAXED);
            sl_sink_report_error(L->sink, SL_EPROTO,
                                 "loki: the server does not accept structured metadata "
                                 "(%s); sending trace_id/span_id in the line only from "
                                 "now on",
                                 ans.text);
            if (!build(L, w, false, &data, &len)) {
                v->kind = SL__DELIVER_RETRY;
                return;
            }
            continue;
        case SL__LOKI_AUTH:
            v->kind = SL__DELIVER_REJECTED;
            snprintf(
                v->text, sizeof(v->text),
                "authentication problem (check tenant, user/password or token): %.440s",
                ans.text);
            return;
        case SL__LOKI_REJECTED:
            v->kind = SL__DELIVER_REJECTED;
            return;
        case SL__LOKI_REJECTED_PARTIAL:
            /* Loki stored the valid entries: resending would duplicate them. */
            v->kind = SL__DELIVER_REJECTED_PARTIAL;
            snprintf(v->text, sizeof(v->text),
                     "Loki may have stored some of these; not resent: %.460s", ans.text);
            return;
        case SL__LOKI_TOO_LARGE:
            /* The runtime splits the batch in halves and sends each. */
            v->kind = SL__DELIVER_TOO_LARGE;
            return;
        case SL__LOKI_ABORTED:
            v->kind = SL__DELIVER_CANCELLED;
            return;
        case SL__LOKI_RETRY:
            v->kind = SL__DELIVER_RETRY;
            return;
        }
    }
}

const sl__deliver_ops sl__loki_deliver_ops = {
    .cost = loki_cost,
    .open = loki_open,
    .close = loki_close,
    .send = loki_send,
};
