/*
 * traceparent.c - the W3C traceparent header (Trace Context level 1, with
 * the level-2 random flag), parsed and formatted without allocation.
 *
 *   00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
 *   |  |                                |                |
 *   0  3                                36               53   (55 = length)
 *
 * Every field sits at a fixed offset, so parsing is a length check, four
 * delimiter checks and table lookups; no scanning, no branches per digit.
 */
#include "trace/trace_internal.h"

/* Flag bits this implementation understands; the spec says unknown ones
 * MUST be set to zero, so they are cleared as the header is read. */
#define KNOWN_FLAGS (SL_TRACE_FLAG_SAMPLED | SL_TRACE_FLAG_RANDOM)

static sl_status fail(sl_span_context *out)
{
    memset(out, 0, sizeof *out);
    return SL_EPARSE;
}

sl_status sl_traceparent_parse(const char *header, size_t len, sl_span_context *out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    if (header == NULL) {
        memset(out, 0, sizeof *out);
        return SL_EINVAL;
    }
    const char *p = header;
    const char *end = header + len;
    sl__trim_blanks(&p, &end);
    size_t n = (size_t)(end - p);
    if (n < SL_TRACEPARENT_LEN) {
        return fail(out);
    }

    uint8_t version;
    if (sl__hex_decode(p, 1, &version) || p[2] != '-' || version == 0xff) {
        return fail(out);
    }
    if (version == 0) {
        if (n != SL_TRACEPARENT_LEN) {
            return fail(out);
        }
    } else if (n > SL_TRACEPARENT_LEN && p[SL_TRACEPARENT_LEN] != '-') {
        /* A future version may append fields, each introduced by '-'. */
        return fail(out);
    }
    if (p[35] != '-' || p[52] != '-') {
        return fail(out);
    }

    sl_trace_id tid;
    sl_span_id sid;
    uint8_t flags;
    unsigned bad = sl__hex_decode(p + 3, sizeof tid.bytes, tid.bytes);
    bad |= sl__hex_decode(p + 36, sizeof sid.bytes, sid.bytes);
    bad |= sl__hex_decode(p + 53, 1, &flags);
    if (bad || sl__all_zero(tid.bytes, sizeof tid.bytes) ||
        sl__all_zero(sid.bytes, sizeof sid.bytes)) {
        return fail(out);
    }
    out->trace_id = tid;
    out->span_id = sid;
    out->flags = (uint8_t)(flags & KNOWN_FLAGS);
    out->remote = 1;
    out->tracestate_len = 0;
    out->tracestate[0] = '\0';
    return SL_OK;
}

sl_status sl_traceparent_format(const sl_span_context *ctx, char *buf, size_t cap)
{
    if (buf == NULL || !sl__ctx_valid(ctx)) {
        if (buf != NULL && cap > 0) {
            buf[0] = '\0';
        }
        return SL_EINVAL;
    }
    if (cap < SL_TRACEPARENT_LEN + 1) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return SL_ERANGE;
    }
    buf[0] = '0';
    buf[1] = '0';
    buf[2] = '-';
    sl__hex_encode(ctx->trace_id.bytes, sizeof ctx->trace_id.bytes, buf + 3);
    buf[35] = '-';
    sl__hex_encode(ctx->span_id.bytes, sizeof ctx->span_id.bytes, buf + 36);
    buf[52] = '-';
    uint8_t flags = (uint8_t)(ctx->flags & KNOWN_FLAGS);
    sl__hex_encode(&flags, 1, buf + 53);
    buf[SL_TRACEPARENT_LEN] = '\0';
    return SL_OK;
}
