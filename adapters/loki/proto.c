/*
 * proto.c - the push body as Loki's protobuf PushRequest (logproto,
 * pkg/push/push.proto), snappy-compressed by the caller:
 *
 *   PushRequest    { repeated StreamAdapter streams = 1; }
 *   StreamAdapter  { string labels = 1; repeated EntryAdapter entries = 2; }
 *   EntryAdapter   { Timestamp timestamp = 1; string line = 2;
 *                    repeated LabelPairAdapter structuredMetadata = 3; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 *   Timestamp      { int64 seconds = 1; int32 nanos = 2; }
 *
 * Labels travel as one string in Prometheus form, {a="b", c="d"}, values
 * quoted like Go's strconv.Quote so Loki's label parser reads them back.
 * Lines travel as raw bytes: no JSON escaping, smaller bodies than JSON.
 * Every length-delimited field needs its length first, so sizes are
 * computed before anything is written.
 */
#include <string.h>

#include "adapters/loki/loki_internal.h"

#define NONE UINT32_MAX

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(sl__jw *w, uint64_t v)
{
    char b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (char)v;
    sl__jw_raw(w, b, n);
}

/* Field key: (number << 3) | wire type (0 varint, 2 length-delimited). */
static void put_key(sl__jw *w, unsigned field, unsigned type)
{
    sl__jw_char(w, (char)((field << 3) | type));
}

static size_t bytes_field_len(size_t n)
{
    return 1 + varint_len(n) + n;
}

static void put_bytes(sl__jw *w, unsigned field, const char *s, size_t n)
{
    put_key(w, field, 2);
    put_varint(w, n);
    sl__jw_raw(w, s, n);
}

/*
 * Go string literal syntax, which Loki's label parser unquotes: '"' and '\\'
 * escaped, newline as \n, other controls as \xHH. Ill-formed UTF-8 and NUL
 * are replaced by U+FFFD exactly as the JSON writer replaces them in record
 * strings: Loki refuses a label string that is not UTF-8 ("invalid UTF-8
 * rune") and with it every entry of the stream.
 */
void sl__loki_prom_quote(sl__jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sl__jw_char(w, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t sub = 1;
            size_t len = sl__utf8_seq(s + i, n - i, &sub);
            if (len == 0) {
                sl__jw_raw(w, "\xEF\xBF\xBD", 3);
                i += sub;
            } else {
                sl__jw_raw(w, s + i, len);
                i += len;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            sl__jw_char(w, '\\');
            sl__jw_char(w, (char)c);
        } else if (c == '\n') {
            sl__jw_raw(w, "\\n", 2);
        } else if (c == 0) {
            sl__jw_raw(w, "\xEF\xBF\xBD", 3);
        } else if (c < 0x20 || c == 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            sl__jw_raw(w, e, 4);
        } else {
            sl__jw_char(w, (char)c);
        }
        i++;
    }
    sl__jw_char(w, '"');
}

/* Timestamp message length; seconds and nanos of a non-negative ts. */
static size_t ts_len(int64_t ts, uint64_t *sec, uint64_t *nsec)
{
    if (ts < 0) {
        ts = 0; /* before 1970: Loki refuses it as too old either way */
    }
    *sec = (uint64_t)(ts / 1000000000);
    *nsec = (uint64_t)(ts % 1000000000);
    return (*sec ? 1 + varint_len(*sec) : 0) + (*nsec ? 1 + varint_len(*nsec) : 0);
}

#define TRACE_PAIR_LEN (bytes_field_len(8) + bytes_field_len(SL_TRACE_ID_HEX_LEN))
#define SPAN_PAIR_LEN  (bytes_field_len(7) + bytes_field_len(SL_SPAN_ID_HEX_LEN))

static size_t entry_len(const sl__loki_entry *e, bool metadata)
{
    uint64_t s, n;
    size_t t = ts_len(e->ts, &s, &n);
    size_t len = bytes_field_len(t) + bytes_field_len(e->line_len);
    if (metadata && e->has_ctx) {
        len += bytes_field_len(TRACE_PAIR_LEN) + bytes_field_len(SPAN_PAIR_LEN);
    }
    return len;
}

static void put_pair(sl__jw *w, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
    put_key(w, 3, 2);
    put_varint(w, bytes_field_len(nlen) + bytes_field_len(vlen));
    put_bytes(w, 1, name, nlen);
    put_bytes(w, 2, value, vlen);
}

static void put_entry(sl__jw *w, const sl__loki_batch *b, const sl__loki_entry *e,
                      bool metadata)
{
    uint64_t sec, nsec;
    size_t t = ts_len(e->ts, &sec, &nsec);
    put_key(w, 2, 2);
    put_varint(w, entry_len(e, metadata));
    put_key(w, 1, 2);
    put_varint(w, t);
    if (sec) {
        put_key(w, 1, 0);
        put_varint(w, sec);
    }
    if (nsec) {
        put_key(w, 2, 0);
        put_varint(w, nsec);
    }
    put_bytes(w, 2, b->arena + e->line_off, e->line_len);
    if (metadata && e->has_ctx) {
        char tid[SL_TRACE_ID_HEX_LEN + 1], sid[SL_SPAN_ID_HEX_LEN + 1];
        sl__loki_entry_ids(e, tid, sid);
        put_pair(w, "trace_id", 8, tid, SL_TRACE_ID_HEX_LEN);
        put_pair(w, "span_id", 7, sid, SL_SPAN_ID_HEX_LEN);
    }
}

bool sl__loki_proto_build(const sl__loki_batch *b, const char *labels_prom, bool metadata,
                          sl__jw *w)
{
    sl__jw_reset(w);
    sl__jw labels;
    sl__jw_init_growable(&labels, 256, 1u << 20);
    bool ok = true;
    for (size_t si = 0; si < b->nstreams && ok; si++) {
        const sl__loki_stream *s = &b->streams[si];
        if (s->first == NONE) {
            continue;
        }
        sl__jw_reset(&labels);
        sl__jw_raw(&labels, "{service_name=", 14);
        sl__loki_prom_quote(&labels, s->service, strlen(s->service));
        if (s->level >= 0) {
            const char *lv = sl_level_name((sl_level)s->level);
            sl__jw_raw(&labels, ", level=", 8);
            sl__loki_prom_quote(&labels, lv, strlen(lv));
        }
        sl__jw_raw(&labels, labels_prom, strlen(labels_prom));
        sl__jw_char(&labels, '}');
        if (labels.overflow) {
            ok = false;
            break;
        }
        size_t slen = bytes_field_len(labels.len);
        for (uint32_t ei = s->first; ei != NONE; ei = b->entries[ei].next) {
            slen += bytes_field_len(entry_len(&b->entries[ei], metadata));
        }
        put_key(w, 1, 2);
        put_varint(w, slen);
        put_bytes(w, 1, labels.buf, labels.len);
        for (uint32_t ei = s->first; ei != NONE; ei = b->entries[ei].next) {
            put_entry(w, b, &b->entries[ei], metadata);
        }
    }
    sl__jw_free(&labels);
    return ok && !w->overflow;
}
