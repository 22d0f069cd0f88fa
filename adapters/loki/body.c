/*
 * body.c - the worker's batch: records grouped into streams by label set,
 * timestamps made strictly increasing per stream, and the push body.
 *
 * Loki silently drops an entry whose timestamp and line equal the previous
 * entry of its stream, and sorts by timestamp: so every entry of a stream
 * gets a timestamp above the newest one sent on it (a 1 ns bump on a tie or
 * a step back), remembered across batches. Order within a stream is the
 * order records entered the queue.
 *
 *   {"streams":[{"stream":{"service_name":"svc","env":"prod"},
 *                "values":[["1732180530123456789","{...line...}",
 *                           {"trace_id":"0af7...","span_id":"b7ad..."}]]}]}
 */
#include <string.h>
#include <zlib.h>

#include "adapters/loki/loki_internal.h"

#define NONE UINT32_MAX
/* Per-entry JSON around the line: ["<20
 * digits>","",{"trace_id":"<32>","span_id":"<16>"}], */
#define ENTRY_OVERHEAD 32u
#define META_OVERHEAD  70u

void sl__loki_batch_init(sl__loki_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void sl__loki_batch_free(sl__loki_batch *b)
{
    for (size_t i = 0; i < b->nstreams; i++) {
        sl__free(b->streams[i].service);
    }
    sl__free(b->streams);
    sl__free(b->entries);
    sl__free(b->arena);
    memset(b, 0, sizeof(*b));
}

void sl__loki_batch_clear(sl__loki_batch *b)
{
    for (size_t i = 0; i < b->nstreams; i++) {
        b->streams[i].first = b->streams[i].last = NONE;
    }
    b->n = 0;
    b->arena_len = 0;
    b->cost = 0;
    b->line_bytes = 0;
    b->opened_ns = 0;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return true;
    }
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        ncap *= 2;
    }
    void *np = sl__realloc(*p, ncap * elem);
    if (np == NULL) {
        return false;
    }
    *p = np;
    *cap = ncap;
    return true;
}

static long find_stream(sl__loki_batch *b, const char *service, size_t service_len,
                        int level)
{
    for (size_t i = 0; i < b->nstreams; i++) {
        const sl__loki_stream *s = &b->streams[i];
        if (s->level == level && strlen(s->service) == service_len &&
            !memcmp(s->service, service, service_len)) {
            return (long)i;
        }
    }
    if (!grow((void **)&b->streams, &b->streams_cap, b->nstreams + 1,
              sizeof(*b->streams))) {
        return -1;
    }
    char *copy = sl__strndup(service, service_len);
    if (copy == NULL) {
        return -1;
    }
    sl__loki_stream *s = &b->streams[b->nstreams];
    s->service = copy;
    s->level = level;
    s->last_ts = INT64_MIN;
    s->first = s->last = NONE;
    return (long)b->nstreams++;
}

sl_status sl__loki_batch_add(sl__loki_batch *b, const char *service, size_t service_len,
                             int level, int64_t ts, const char *line, size_t line_len,
                             const uint8_t *trace_id, const uint8_t *span_id,
                             int64_t now_ns)
{
    long si = find_stream(b, service, service_len, level);
    if (si < 0 || !grow((void **)&b->entries, &b->cap, b->n + 1, sizeof(*b->entries)) ||
        !grow((void **)&b->arena, &b->arena_cap, b->arena_len + line_len + 1, 1)) {
        return SL_ENOMEM;
    }
    sl__loki_stream *s = &b->streams[si];
    if (ts <= s->last_ts) {
        ts = s->last_ts + 1;
    }
    s->last_ts = ts;

    sl__loki_entry *e = &b->entries[b->n];
    e->ts = ts;
    e->line_off = b->arena_len;
    e->line_len = (uint32_t)line_len;
    e->stream = (uint32_t)si;
    e->next = NONE;
    e->has_ctx = trace_id != NULL && span_id != NULL;
    if (e->has_ctx) {
        memcpy(e->trace_id, trace_id, 16);
        memcpy(e->span_id, span_id, 8);
    }
    memcpy(b->arena + b->arena_len, line, line_len);
    b->arena_len += line_len;

    if (s->first == NONE) {
        s->first = (uint32_t)b->n;
    } else {
        b->entries[s->last].next = (uint32_t)b->n;
    }
    s->last = (uint32_t)b->n;
    if (b->n == 0) {
        b->opened_ns = now_ns;
    }
    b->n++;
    b->line_bytes += line_len;
    b->cost += sl__loki_entry_cost(line, line_len, e->has_ctx);
    return SL_OK;
}

size_t sl__loki_entry_cost(const char *line, size_t line_len, bool has_ctx)
{
    return sl__json_escaped_len(line, line_len) + ENTRY_OVERHEAD +
           (has_ctx ? META_OVERHEAD : 0);
}

void sl__loki_entry_ids(const sl__loki_entry *e, char *trace_hex, char *span_hex)
{
    sl_trace_id tid;
    sl_span_id sid;
    memcpy(tid.bytes, e->trace_id, sizeof(tid.bytes));
    memcpy(sid.bytes, e->span_id, sizeof(sid.bytes));
    sl_trace_id_to_hex(tid, trace_hex);
    sl_span_id_to_hex(sid, span_hex);
}

static void write_stream_labels(const sl__loki_stream *s, const char *labels_json,
                                sl__jw *w)
{
    sl__jw_raw(w, "{\"stream\":{\"service_name\":", 26);
    sl__jw_string(w, s->service, strlen(s->service));
    if (s->level >= 0) {
        const char *lv = sl_level_name((sl_level)s->level);
        sl__jw_raw(w, ",\"level\":", 9);
        sl__jw_string(w, lv, strlen(lv));
    }
    sl__jw_raw(w, labels_json, strlen(labels_json));
    sl__jw_raw(w, "},\"values\":[", 12);
}

static void write_entry(const sl__loki_batch *b, const sl__loki_entry *e, bool metadata,
                        sl__jw *w)
{
    sl__jw_raw(w, "[\"", 2);
    sl__jw_int(w, e->ts);
    sl__jw_raw(w, "\",", 2);
    sl__jw_string(w, b->arena + e->line_off, e->line_len);
    if (metadata && e->has_ctx) {
        char tid[SL_TRACE_ID_HEX_LEN + 1], sid[SL_SPAN_ID_HEX_LEN + 1];
        sl__loki_entry_ids(e, tid, sid);
        sl__jw_raw(w, ",{\"trace_id\":\"", 14);
        sl__jw_raw(w, tid, SL_TRACE_ID_HEX_LEN);
        sl__jw_raw(w, "\",\"span_id\":\"", 13);
        sl__jw_raw(w, sid, SL_SPAN_ID_HEX_LEN);
        sl__jw_raw(w, "\"}", 2);
    }
    sl__jw_char(w, ']');
}

bool sl__loki_body_build(const sl__loki_batch *b, const char *labels_json, bool metadata,
                         sl__jw *w)
{
    sl__jw_reset(w);
    sl__jw_raw(w, "{\"streams\":[", 12);
    bool first_stream = true;
    for (size_t si = 0; si < b->nstreams; si++) {
        const sl__loki_stream *s = &b->streams[si];
        if (s->first == NONE) {
            continue;
        }
        if (!first_stream) {
            sl__jw_char(w, ',');
        }
        first_stream = false;
        write_stream_labels(s, labels_json, w);
        for (uint32_t ei = s->first; ei != NONE; ei = b->entries[ei].next) {
            if (ei != s->first) {
                sl__jw_char(w, ',');
            }
            write_entry(b, &b->entries[ei], metadata, w);
        }
        sl__jw_raw(w, "]}", 2);
    }
    sl__jw_raw(w, "]}", 2);
    return !w->overflow;
}

sl_status sl__loki_gzip(const char *in, size_t len, char **out, size_t *out_cap,
                        size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* Level 1: logs compress well even at the fastest level, and the worker
     * has to keep up with the callers on one core. 15 + 16: a gzip wrapper. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return SL_ENOMEM;
    }
    size_t bound = deflateBound(&z, (uLong)len);
    if (bound > *out_cap) {
        char *np = sl__realloc(*out, bound);
        if (np == NULL) {
            deflateEnd(&z);
            return SL_ENOMEM;
        }
        *out = np;
        *out_cap = bound;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)*out;
    z.avail_out = (uInt)*out_cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? SL_OK : SL_EIO;
}
