/*
 * propagation.c - extract and inject of traceparent, tracestate and
 * baggage through a carrier of header callbacks.
 */
#include <strings.h>

#include "trace/trace_internal.h"

typedef struct joined {
    char *p;
    size_t len, cap, max; /* max: stop growing (and mark over) past this */
    int over, oom, seen;
} joined;

static void join_add(joined *j, const char *v, size_t n)
{
    if (j->over || j->oom) {
        return;
    }
    size_t need = j->len + (j->seen ? 1 : 0) + n;
    if (need > j->max) {
        j->over = 1;
        return;
    }
    if (need + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < need + 1) {
            cap *= 2;
        }
        char *p = sl__realloc(j->p, cap);
        if (p == NULL) {
            j->oom = 1;
            return;
        }
        j->p = p;
        j->cap = cap;
    }
    if (j->seen) {
        j->p[j->len++] = ',';
    }
    memcpy(j->p + j->len, v, n);
    j->len += n;
    j->p[j->len] = '\0';
    j->seen = 1;
}

typedef struct extract_state {
    sl_span_context *parent;
    int traceparents, tracestates, baggages;
    sl_status tp_status;
    joined tracestate;
    joined baggage;
    int want_baggage;
} extract_state;

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static void visit(void *arg, const char *name, size_t name_len, const char *value,
                  size_t value_len)
{
    extract_state *x = arg;
    if (name == NULL || value == NULL) {
        return;
    }
    if (name_is(name, name_len, "traceparent")) {
        if (++x->traceparents == 1) {
            x->tp_status = sl_traceparent_parse(value, value_len, x->parent);
        }
    } else if (name_is(name, name_len, "tracestate")) {
        x->tracestates++;
        join_add(&x->tracestate, value, value_len);
    } else if (name_is(name, name_len, "baggage")) {
        x->baggages++;
        if (x->want_baggage) {
            join_add(&x->baggage, value, value_len);
        }
    }
}

static void fill_report(sl_extract_report *r, const extract_state *x, sl_status tp)
{
    r->traceparent_fields = (unsigned)x->traceparents;
    r->tracestate_fields = (unsigned)x->tracestates;
    r->baggage_fields = (unsigned)x->baggages;
    r->traceparent = x->traceparents == 0  ? SL_HEADER_ABSENT
                     : x->traceparents > 1 ? SL_HEADER_REPEATED
                     : tp == SL_OK         ? SL_HEADER_USED
                                           : SL_HEADER_INVALID;
    if (x->tracestates > 0 && r->tracestate == SL_HEADER_ABSENT) {
        r->tracestate = x->tracestate.over ? SL_HEADER_TOO_LONG : SL_HEADER_NO_PARENT;
    }
    if (x->baggages > 0 && r->baggage == SL_HEADER_ABSENT && x->baggage.over) {
        r->baggage = SL_HEADER_TOO_LONG;
    }
}

const char *sl_header_verdict_name(sl_header_verdict v)
{
    static const char *const names[] = {"absent",   "used",     "invalid",
                                        "repeated", "too long", "no parent"};
    return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

/* The header fields of a carrier without foreach, by name. */
static void visit_by_name(const sl_carrier *carrier, extract_state *x)
{
    static const char *const names[] = {"traceparent", "tracestate", "baggage"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = 0;
        const char *v = NULL;
        if (carrier->get_n != NULL) {
            v = carrier->get_n(carrier->ctx, names[i], &n);
        } else if (carrier->get != NULL) {
            v = carrier->get(carrier->ctx, names[i]);
            n = v != NULL ? strlen(v) : 0;
        }
        if (v != NULL) {
            visit(x, names[i], strlen(names[i]), v, n);
        }
    }
}

/* A carrier whose size the library can read: 0 (a designated initializer
 * that left it out: the first sized layout) or at least that layout. */
static bool carrier_sized(const sl_carrier *c)
{
    return c->size == 0 || c->size >= SL__CARRIER_V1;
}

sl_status sl_extract(const sl_carrier *carrier, sl_span_context *parent,
                     sl_baggage **baggage)
{
    return sl_extract_report_get(carrier, parent, baggage, NULL);
}

sl_status sl_extract_report_get(const sl_carrier *carrier, sl_span_context *parent,
                                sl_baggage **baggage, sl_extract_report *report)
{
    sl_extract_report scratch;
    sl_extract_report *r = report != NULL ? report : &scratch;
    memset(r, 0, sizeof *r);
    if (baggage != NULL) {
        *baggage = NULL;
    }
    if (parent != NULL) {
        memset(parent, 0, sizeof *parent);
    }
    if (carrier == NULL || parent == NULL || !carrier_sized(carrier) ||
        (carrier->foreach == NULL && carrier->get == NULL && carrier->get_n == NULL)) {
        return SL_EINVAL;
    }
    extract_state x;
    memset(&x, 0, sizeof x);
    x.parent = parent;
    x.tp_status = SL_ENOENT;
    x.tracestate.max = SL_TRACESTATE_JOINED_MAX;
    /* Keep a little more than the limit so parse can drop the members past
     * it instead of the whole header. */
    x.baggage.max = 4 * SL_BAGGAGE_MAX_BYTES;
    x.want_baggage = baggage != NULL;
    if (carrier->foreach != NULL) {
        carrier->foreach (carrier->ctx, visit, &x);
    } else {
        visit_by_name(carrier, &x);
    }
    sl_status st = x.tp_status;
    if (x.traceparents > 1) {
        /* Two traceparent fields: which one is ours is unknowable. */
        st = SL_EPARSE;
    }
    int oom = 0;
    if (st == SL_OK) {
        if (x.tracestate.seen && !x.tracestate.over && !x.tracestate.oom) {
            r->tracestate = sl_tracestate_parse_info(x.tracestate.p, x.tracestate.len,
                                                     parent, &r->tracestate_info) == SL_OK
                                ? SL_HEADER_USED
                                : SL_HEADER_INVALID;
        }
        oom |= x.tracestate.oom;
    } else {
        memset(parent, 0, sizeof *parent);
    }
    if (baggage != NULL) {
        oom |= x.baggage.oom;
        if (x.baggage.seen && !x.baggage.oom && !x.baggage.over) {
            sl_status bs = sl_baggage_parse(x.baggage.p, x.baggage.len, baggage,
                                            &r->baggage_dropped);
            oom |= bs == SL_ENOMEM;
            r->baggage = bs != SL_OK ? SL_HEADER_INVALID
                         : *baggage != NULL || r->baggage_dropped == 0
                             ? SL_HEADER_USED
                             : SL_HEADER_INVALID;
        }
    }
    fill_report(r, &x, x.tp_status);
    if (oom) {
        st = SL_ENOMEM; /* *parent stays filled in when traceparent was valid */
    }
    sl__free(x.tracestate.p);
    sl__free(x.baggage.p);
    return st;
}

/* ---- the pairs carrier ----------------------------------------------------- */

static void pairs_foreach(void *ctx, sl_header_visit_fn fn, void *arg)
{
    const sl_header_pairs *hp = ctx;
    if (hp == NULL || hp->pairs == NULL) {
        return;
    }
    for (size_t i = 0; i < hp->n; i++) {
        const sl_header_pair *p = &hp->pairs[i];
        if (p->name != NULL && p->value != NULL) {
            size_t vn = p->value_len == SL_NPOS ? strlen(p->value) : p->value_len;
            fn(arg, p->name, strlen(p->name), p->value, vn);
        }
    }
}

void sl_carrier_init_size(sl_carrier *c, size_t size)
{
    sl_carrier d;
    memset(&d, 0, sizeof d);
    sl__abi_init(c, size, &d, sizeof d);
}

sl_carrier *sl_carrier_pairs(sl_carrier *c, sl_header_pairs *pairs)
{
    if (c != NULL) {
        /* only the first layout: the caller's struct may be any later size */
        memset(c, 0, SL__CARRIER_V1);
        c->size = SL__CARRIER_V1;
        c->ctx = pairs;
        c->foreach = pairs_foreach;
    }
    return c;
}

sl_status sl_inject(const sl_carrier *carrier, const sl_span_context *ctx,
                    const sl_baggage *b)
{
    if (carrier == NULL || !carrier_sized(carrier) || carrier->set == NULL) {
        return SL_EINVAL;
    }
    sl_status st = SL_OK;
    if (sl__ctx_valid(ctx)) {
        char tp[SL_TRACEPARENT_LEN + 1];
        if (sl_traceparent_format(ctx, tp, sizeof tp) == SL_OK &&
            carrier->set(carrier->ctx, "traceparent", tp) != 0) {
            st = SL_EIO;
        }
        if (ctx->tracestate_len > 0 && ctx->tracestate_len <= SL_TRACESTATE_MAX &&
            carrier->set(carrier->ctx, "tracestate", ctx->tracestate) != 0) {
            st = SL_EIO;
        }
    }
    size_t count = sl_baggage_count(b);
    if (count > 0) {
        char buf[SL_BAGGAGE_MAX_BYTES + 1];
        size_t n = sl__baggage_format_n(b, count, buf, sizeof buf);
        while (n > SL_BAGGAGE_MAX_BYTES && count > 0) {
            count--;
            n = sl__baggage_format_n(b, count, buf, sizeof buf);
        }
        if (count > 0) {
            buf[n] = '\0';
            if (carrier->set(carrier->ctx, "baggage", buf) != 0) {
                st = SL_EIO;
            }
        }
    }
    return st;
}

sl_status sl_inject_current(const sl_carrier *carrier)
{
    return sl_inject(carrier, sl_context_current(), sl_baggage_current());
}
