/*
 * record.c - writing one record: the level gate, encoding into this
 * thread's scratch buffer, truncation to the size limit, and the hand-off
 * to each sink.
 *
 * Steady state allocates nothing: each thread keeps one record buffer, grown
 * once to the largest max_record_bytes it has met, and one printf buffer,
 * both freed by a pthread key destructor at thread exit. (vsnprintf may
 * allocate for some conversions, e.g. %ls or very large precisions.)
 *
 * Truncation. Pass 1 encodes into a buffer of the limit; the writer keeps
 * counting the full size past the end. When it overflows, the excess must
 * come out of the strings that can be cut: msg and the call's string fields.
 * All of them are capped at one common escaped length c, the largest for
 * which what the caps remove covers the excess plus the `"truncated":true`
 * marker ("water-filling": the longest strings are cut first, short ones are
 * left whole). Pass 2 encodes with that cap. If even empty strings would not
 * fit (huge keys or embedded JSON), a last pass writes the record without
 * caller, bound or call fields, with msg cut to what is left.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "field_fast.h"

#define TRUNCATED_MARK     ",\"truncated\":true"
#define TRUNCATED_MARK_LEN (sizeof(TRUNCATED_MARK) - 1)
#define FMT_INITIAL        256

/* ---- per-thread buffers --------------------------------------------------------- */

typedef struct scratch {
    char *buf; /* the record: cap bytes */
    size_t cap;
    char *fmt; /* printf-style messages */
    size_t fmt_cap;
    bool busy; /* a record is being written on this thread (re-entrancy guard) */
    struct site_entry *sites; /* SITE_SLOTS, allocated at the first macro call */
    uint64_t sites_epoch;     /* 1 + the sites_epoch they were filled in; 0: none */
} scratch;

static _Thread_local scratch *tls_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(scratch *s)
{
    if (s != NULL) {
        sl__free(s->buf);
        sl__free(s->fmt);
        sl__free(s->sites);
        sl__free(s);
    }
}

static void scratch_destructor(void *p)
{
    /* Runs on the exiting thread: a later destructor that logs starts over. */
    if (tls_scratch == p) {
        tls_scratch = NULL;
    }
    scratch_free(p);
}

static void scratch_key_create(void)
{
    (void)pthread_key_create(&scratch_key, scratch_destructor);
}

void sl__scratch_release(void)
{
    scratch *s = tls_scratch;
    if (s != NULL && !s->busy) {
        tls_scratch = NULL;
        (void)pthread_setspecific(scratch_key, NULL);
        scratch_free(s);
    }
}

static scratch *scratch_get(void)
{
    scratch *s = tls_scratch;
    if (s != NULL) {
        return s;
    }
    pthread_once(&scratch_once, scratch_key_create);
    s = sl__calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    if (pthread_setspecific(scratch_key, s) != 0) {
        sl__free(s);
        return NULL;
    }
    tls_scratch = s;
    return s;
}

/* Makes the record buffer hold `need` bytes; grows once per larger limit. */
static bool scratch_reserve(scratch *s, size_t need)
{
    if (s->cap >= need) {
        return true;
    }
    char *p = sl__realloc(s->buf, need);
    if (p == NULL) {
        return false;
    }
    s->buf = p;
    s->cap = need;
    return true;
}

/* ---- the call-site cache --------------------------------------------------------- */

/*
 * What one macro call site (its static sl_src) needs checked only once: its
 * keys' fragments (field.c) and whether its literal message is its own JSON
 * body. Per thread, so read and written without synchronisation; direct
 * mapped on the site's address, a collision just rebuilds the slot. An
 * entry is valid for one set of head keys (the loggers' profiles): a call
 * through a logger of another profile rebuilds it. Entries are found by
 * address: a call site and its literals must stay mapped while a thread
 * that used them runs. A unit that includes log.h calls sl__sites_forget()
 * when it is unloaded (a dlclose()d plugin): every thread's table is then
 * emptied before its next record, so a library mapped later at the same
 * addresses is never served the old bytes.
 */
#define SITE_SLOTS 64

static uint64_t sites_epoch; /* atomic: bumped by sl__sites_forget() */

void sl__sites_forget(void)
{
    __atomic_add_fetch(&sites_epoch, 1, __ATOMIC_RELEASE);
}

typedef struct site_entry {
    const sl_src *src;      /* NULL: empty */
    const sl__reserved *rk; /* the head keys the fragments were checked against */
    const char *msg;        /* the literal message head is for, or NULL */
    uint64_t seg_core;      /* the core and level head.seg was made for */
    sl_level seg_level;
    sl__site_head head;
    sl__site_keys keys;
} site_entry;

static SL__ALWAYS_INLINE site_entry *site_find(scratch *s, const sl_src *src,
                                               const sl__reserved *rk)
{
    uint64_t epoch = __atomic_load_n(&sites_epoch, __ATOMIC_ACQUIRE);
    if (s->sites_epoch != epoch + 1) {
        /* sites_epoch is the epoch + 1: 0 (calloc'd scratch) is "no table". */
        if (s->sites == NULL) {
            s->sites = sl__calloc(SITE_SLOTS, sizeof(site_entry));
            if (s->sites == NULL) {
                return NULL; /* the general path: the same bytes, checked per record */
            }
        } else {
            memset(s->sites, 0, SITE_SLOTS * sizeof(site_entry));
        }
        s->sites_epoch = epoch + 1;
    }
    uintptr_t a = (uintptr_t)src;
    site_entry *e = &s->sites[(a >> 4 ^ a >> 11) & (SITE_SLOTS - 1)];
    if (e->src != src || e->rk != rk) {
        memset(e, 0, sizeof(*e));
        e->src = src;
        e->rk = rk;
    }
    return e;
}

/* ---- encoding ------------------------------------------------------------------ */

/* One record being written: what the sinks get (rec), its logger, and its
 * call site's cache entry (NULL: none). */
typedef struct job {
    const sl_logger *lg;
    site_entry *site;
    const sl__site_head *head; /* the site's literal msg, checked; or NULL */
    sl_record rec;
} job;

/*
 * The configured baggage keys present in the thread's current baggage, as
 * `,"key":"value"`; values are cut like the other strings when truncating.
 */
static bool encode_baggage(sl__jw *w, const sl__core *c, size_t str_cap)
{
    if (c->nbaggage_keys == 0) {
        return false;
    }
    const sl_baggage *b = sl__baggage_current();
    if (b == NULL) {
        return false;
    }
    bool cut = false;
    for (size_t i = 0; i < c->nbaggage_keys; i++) {
        const struct sl__baggage_key *k = &c->baggage_keys[i];
        size_t vlen = 0;
        const char *v = sl__baggage_value(b, k->key, k->key_len, &vlen);
        if (v != NULL) {
            sl__jw_raw(w, k->frag, k->frag_len);
            cut |= sl__encode_string_capped(w, v, vlen, str_cap);
        }
    }
    return cut;
}

/* One full encoding with every string capped at str_cap escaped bytes. */
static SL__ALWAYS_INLINE bool encode_full_at(sl__jw *w, job *j, size_t str_cap)
{
    const sl__core *c = j->lg->core;
    bool cut = sl__encode_head(w, c, &j->rec, str_cap, true, j->head);
    if (j->lg->bound_json_len != 0) {
        sl__jw_raw(w, j->lg->bound_json, j->lg->bound_json_len);
    }
    if (c->nbaggage_keys != 0) {
        cut |= encode_baggage(w, c, str_cap);
    }
    if (j->site != NULL && str_cap == SIZE_MAX) {
        sl__encode_fields_site(w, j->rec.fields, j->rec.nfields, c->reserved,
                               &j->site->keys);
    } else {
        cut |= sl__encode_fields(w, j->rec.fields, j->rec.nfields, str_cap, c->reserved);
    }
    if (str_cap != SIZE_MAX) {
        sl__jw_raw(w, TRUNCATED_MARK, TRUNCATED_MARK_LEN);
    }
    sl__jw_char(w, '}');
    return cut;
}

static bool encode_full(sl__jw *w, job *j, size_t str_cap)
{
    return encode_full_at(w, j, str_cap);
}

/* The last resort: no caller, bound or call fields; msg capped. */
static void encode_minimal(sl__jw *w, job *j, size_t msg_cap)
{
    (void)sl__encode_head(w, j->lg->core, &j->rec, msg_cap, false, NULL);
    sl__jw_raw(w, TRUNCATED_MARK, TRUNCATED_MARK_LEN);
    sl__jw_char(w, '}');
}

/* Escaped lengths kept on the stack for up to this many strings; more take
 * one allocation (or, when that fails, are recomputed on each probe). */
#define CAP_STACK_LENS 32

/* What cap c removes from strings of escaped lengths e[0..n). */
static size_t removed_by(const size_t *e, size_t n, size_t c, size_t excess)
{
    size_t removed = 0;
    for (size_t i = 0; i < n && removed < excess; i++) {
        removed += e[i] > c ? e[i] - c : 0;
    }
    return removed;
}

/* The escaped length of the i-th cuttable string: msg (i == 0), then the
 * call's string fields; SIZE_MAX past the last. *next is where to go on. */
static size_t cuttable_len(const job *j, size_t *idx)
{
    if (*idx == 0) {
        (*idx)++;
        return sl__escaped_len_counted(j->rec.msg, j->rec.msg_len);
    }
    for (size_t i = *idx - 1; i < j->rec.nfields; i++) {
        const sl_field *f = &j->rec.fields[i];
        if (f->type == SL_FIELD_STR && f->v.s != NULL) {
            *idx = i + 2;
            return sl__escaped_len_counted(f->v.s, sl__field_str_len(f));
        }
    }
    *idx = j->rec.nfields + 1;
    return SIZE_MAX;
}

/* The fallback when no memory holds the lengths: rescans on each probe. */
static size_t removed_rescan(const job *j, size_t c, size_t excess)
{
    size_t removed = 0;
    size_t idx = 0;
    for (size_t e; removed < excess && (e = cuttable_len(j, &idx)) != SIZE_MAX;) {
        removed += e > c ? e - c : 0;
    }
    return removed;
}

/*
 * The largest common cap that removes at least `excess` bytes, or SIZE_MAX
 * when cutting every string to nothing would not be enough. Each string's
 * escaped length is computed once (one pass over the record's strings);
 * the binary search then reads the stored lengths.
 */
static size_t find_cap(const job *j, size_t excess)
{
    size_t stack[CAP_STACK_LENS];
    size_t count = j->rec.nfields + 1;
    size_t *e = count <= CAP_STACK_LENS ? stack : sl__calloc(count, sizeof(size_t));
    size_t n = 0, hi = 0, total = 0;
    size_t idx = 0;
    for (size_t len; (len = cuttable_len(j, &idx)) != SIZE_MAX;) {
        if (e != NULL) {
            e[n++] = len;
        }
        total += len;
        hi = len > hi ? len : hi;
    }
    size_t lo = SIZE_MAX;
    if (total >= excess) {
        /* f(c) = what cap c removes; decreasing in c. f(0) = total >= excess
         * and f(hi) = 0 < excess: find the largest c with f(c) >= excess. */
        lo = 0;
        while (lo + 1 < hi) {
            size_t mid = lo + (hi - lo) / 2;
            size_t removed = e != NULL ? removed_by(e, n, mid, excess)
                                       : removed_rescan(j, mid, excess);
            if (removed >= excess) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
    }
    if (e != stack) {
        sl__free(e);
    }
    return lo;
}

/*
 * Encodes the record into buf (cap bytes, the last two kept for '\n' and
 * NUL). Returns the line length including '\n', or 0 when it cannot fit at
 * all. *truncated tells whether anything was cut.
 */
static size_t encode_cut(job *j, char *buf, size_t limit, sl__jw w);

static SL__ALWAYS_INLINE size_t encode_record(job *j, char *buf, size_t limit,
                                              bool *truncated)
{
    sl__jw w;
    size_t room = limit - 1; /* the '\n' is part of the limit */
    sl__jw_init(&w, buf, room);
    (void)encode_full_at(&w, j, SIZE_MAX);
    if (!w.overflow) {
        *truncated = false;
        buf[w.len] = '\n';
        buf[w.len + 1] = '\0';
        return w.len + 1;
    }
    *truncated = true;
    return encode_cut(j, buf, limit, w);
}

/* encode_record's second part: w is the first encoding, which overflowed. */
static size_t encode_cut(job *j, char *buf, size_t limit, sl__jw w)
{
    size_t room = limit - 1;
    size_t excess = sl__jw_need(&w) + TRUNCATED_MARK_LEN - room;
    size_t cap = find_cap(j, excess);
    if (cap != SIZE_MAX) {
        sl__jw_init(&w, buf, room);
        (void)encode_full(&w, j, cap);
        if (!w.overflow) {
            goto done;
        }
    }
    /* Fields cannot be made to fit: measure the minimal record, cut msg. */
    sl__jw_init(&w, buf, room);
    encode_minimal(&w, j, 0);
    if (w.overflow) {
        return 0;
    }
    size_t left = room - sl__jw_need(&w);
    sl__jw_init(&w, buf, room);
    encode_minimal(&w, j, left);
    if (w.overflow) {
        return 0;
    }
done:
    buf[w.len] = '\n';
    buf[w.len + 1] = '\0';
    return w.len + 1;
}

/* ---- writing --------------------------------------------------------------------- */

static void count_dropped(const sl__core *c, sl_level level)
{
    for (size_t i = 0; i < c->nsinks; i++) {
        if (level >= c->sinks[i].min_level) {
            sl_sink_count_dropped(c->sinks[i].sink, 1);
        }
    }
}

/* write_record's hints: src is a macro call site (the key cache may be used);
 * msg is that site's literal (its bytes never change). */
#define HINT_SITE    1u
#define HINT_MSG_LIT 2u

/* The record path, inlined into its two entries (the macros' and every
 * other) so that neither pays a call and a second register save for it. */
static SL__ALWAYS_INLINE void record_at(sl_logger *lg, sl_level level,
                                        const sl_span_context *ctx, const sl_src *src,
                                        const char *msg, size_t msg_len,
                                        const sl_field *fields, size_t nfields,
                                        unsigned hints)
{
    sl__core *c = lg->core;
    sl__core_seal(c);
    if ((int)level < c->min_sink_level) {
        return;
    }
    if (ctx == NULL) {
        ctx = sl__context_current(); /* NULL unless valid */
    } else if (!sl_span_context_is_valid(ctx)) {
        ctx = NULL; /* an explicit but invalid context: no trace keys */
    }
    if (fields == NULL) {
        nfields = 0;
    }
    /* Member by member: an initialiser would zero the whole job first. */
    job j;
    j.lg = lg;
    j.site = NULL;
    j.head = NULL;
    j.rec.level = level;
    j.rec.time_ns = sl__now_ns();
    j.rec.msg = msg;
    j.rec.msg_len = msg_len;
    j.rec.service = c->service;
    j.rec.ctx = ctx;
    j.rec.bound = lg->bound;
    j.rec.nbound = lg->nbound;
    j.rec.fields = fields;
    j.rec.nfields = nfields;
    j.rec.src = src;
    j.rec.truncated = false;

    /* The record buffer: this thread's, or a temporary one when a sink logs
     * from inside its write callback (the thread's buffer is in use). */
    size_t limit = c->max_record_bytes;
    scratch *s = scratch_get();
    char *buf = NULL;
    bool nested = s == NULL || s->busy;
    if (!nested && scratch_reserve(s, limit + 1)) {
        buf = s->buf;
        s->busy = true;
        if ((hints & HINT_SITE) != 0 && src != NULL) {
            site_entry *e = site_find(s, src, c->reserved);
            j.site = e;
            if (e != NULL && (hints & HINT_MSG_LIT) != 0) {
                if (e->msg != msg) {
                    e->msg = msg;
                    e->head.msg_plain = sl__plain_ascii(msg, msg_len);
                    e->seg_core = 0; /* no core has id 0 */
                }
                if (e->seg_core != c->id || e->seg_level != level) {
                    sl__head_segment(c, level, msg, msg_len, &e->head);
                    e->seg_core = c->id;
                    e->seg_level = level;
                }
                j.head = &e->head;
            }
        }
    } else if (nested) {
        buf = sl__malloc(limit + 1);
    }
    if (buf == NULL) {
        count_dropped(c, level);
        return;
    }

    bool truncated = false;
    size_t len = encode_record(&j, buf, limit, &truncated);
    if (len == 0) {
        count_dropped(c, level);
    } else {
        j.rec.truncated = truncated;
        for (size_t i = 0; i < c->nsinks; i++) {
            if (level >= c->sinks[i].min_level) {
                sl__sink_write(c->sinks[i].sink, &j.rec, buf, len);
            }
        }
    }
    if (nested) {
        sl__free(buf);
    } else {
        s->busy = false;
    }
}

static void write_record(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                         const sl_src *src, const char *msg, size_t msg_len,
                         const sl_field *fields, size_t nfields, unsigned hints)
{
    record_at(lg, level, ctx, src, msg, msg_len, fields, nfields, hints);
}

/* Levels a record may carry: trace..fatal. "off" is a threshold, not a level. */
static bool gate(const sl_logger *lg, sl_level level)
{
    return (unsigned)level <= (unsigned)SL_LEVEL_FATAL && sl_would_log(lg, level);
}

/* ---- sampling and redaction (spanlog/filter.h) ------------------------------ */

static void summary_at(sl_logger *lg, int64_t now, bool force)
{
    uint64_t sampled, limited;
    sl__sampler *sm = lg->core->sampler;
    if (!sl__sampler_take_summary(sm, now, force, &sampled, &limited)) {
        return;
    }
    const sl_field f[] = {
        {.key = "dropped", .type = SL_FIELD_UINT, .v.u = sampled + limited},
        {.key = "sampled", .type = SL_FIELD_UINT, .v.u = sampled},
        {.key = "rateLimited", .type = SL_FIELD_UINT, .v.u = limited},
        {.key = "intervalMs", .type = SL_FIELD_UINT, .v.u = sl__sampler_interval_ms(sm)},
    };
    write_record(lg, SL_LEVEL_WARN, NULL, NULL, "sampled", strlen("sampled"), f,
                 sizeof(f) / sizeof(f[0]), 0);
}

void sl__sampling_summary(sl_logger *lg, bool force)
{
    summary_at(lg, sl__monotonic_ns(), force);
}

/* Whether the sampler (when there is one) lets this record through; writes
 * a due summary first. */
static bool sampled_in(sl_logger *lg, sl_level level, const char *key, size_t key_len)
{
    sl__sampler *sm = lg->core->sampler;
    if (sm == NULL) {
        return true;
    }
    int64_t now = sl__monotonic_ns(); /* one clock read for both */
    summary_at(lg, now, false);
    return sl__sampler_keep(sm, level, key, key_len, now);
}

static void write_redacted(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                           const sl_src *src, const char *msg, size_t msg_len,
                           const sl_field *fields, size_t nfields, unsigned hints)
{
    sl__redacted red;
    if (!sl__redact_fields(lg->core->redactor, fields, nfields, &red)) {
        count_dropped(lg->core, level); /* no memory for the copy: not written raw */
        return;
    }
    write_record(lg, level, ctx, src, msg, msg_len, red.fields, red.n, hints);
    sl__redacted_release(&red);
}

static SL__ALWAYS_INLINE void log_fields(sl_logger *lg, sl_level level,
                                         const sl_span_context *ctx, const sl_src *src,
                                         const char *msg, size_t msg_len,
                                         const sl_field *fields, size_t nfields,
                                         unsigned hints)
{
    if (!sampled_in(lg, level, msg, msg_len)) {
        return;
    }
    if (lg->core->redactor != NULL && fields != NULL && nfields > 0) {
        write_redacted(lg, level, ctx, src, msg, msg_len, fields, nfields, hints);
        return;
    }
    if (hints != 0) {
        record_at(lg, level, ctx, src, msg, msg_len, fields, nfields, hints);
    } else {
        write_record(lg, level, ctx, src, msg, msg_len, fields, nfields, 0);
    }
}

void sl_log_write(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                  const sl_src *src, const char *msg, const sl_field *fields,
                  size_t nfields)
{
    if (!gate(lg, level)) {
        return;
    }
    if (msg == NULL) {
        msg = "";
    }
    log_fields(lg, level, ctx, src, msg, strlen(msg), fields, nfields, 0);
}

void sl__log_site(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                  const sl_src *site, const char *msg, size_t msg_len,
                  const sl_field *fields, size_t nfields)
{
    if (!gate(lg, level)) {
        return;
    }
    unsigned hints = HINT_SITE;
    if (msg == NULL) {
        msg = "";
        msg_len = 0;
        hints |= HINT_MSG_LIT;
    } else if (msg_len == SL_NPOS) {
        msg_len = strlen(msg);
    } else {
        hints |= HINT_MSG_LIT;
    }
    log_fields(lg, level, ctx, site, msg, msg_len, fields, nfields, hints);
}

static void write_formatted_heap(sl_logger *lg, sl_level level,
                                 const sl_span_context *ctx, const sl_src *src,
                                 const char *fmt, va_list ap) SL__PRINTF(5, 0);

static void write_formatted_heap(sl_logger *lg, sl_level level,
                                 const sl_span_context *ctx, const sl_src *src,
                                 const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    size_t limit = lg->core->max_record_bytes;
    size_t cap = n < 0 ? 0 : ((size_t)n + 1 < limit ? (size_t)n + 1 : limit);
    char *text = cap > 0 ? sl__malloc(cap) : NULL;
    if (text == NULL) {
        count_dropped(lg->core, level);
        return;
    }
    va_copy(aq, ap);
    n = vsnprintf(text, cap, fmt, aq);
    va_end(aq);
    size_t len = n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
    write_record(lg, level, ctx, src, text, len, NULL, 0, 0);
    sl__free(text);
}

void sl_log_writef(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                   const sl_src *src, const char *fmt, ...)
{
    if (!gate(lg, level)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    sl_log_writev(lg, level, ctx, src, fmt, ap);
    va_end(ap);
}

void sl_log_writev(sl_logger *lg, sl_level level, const sl_span_context *ctx,
                   const sl_src *src, const char *fmt, va_list ap)
{
    if (!gate(lg, level)) {
        return;
    }
    if (!sampled_in(lg, level, fmt != NULL ? fmt : "", fmt != NULL ? strlen(fmt) : 0)) {
        return;
    }
    if (fmt == NULL) {
        write_record(lg, level, ctx, src, "", 0, NULL, 0, 0);
        return;
    }
    if (sl__format_has_n(fmt)) {
        /* Never honoured: written as it is, no argument read (log.h). */
        write_record(lg, level, ctx, src, fmt, strlen(fmt), NULL, 0, 0);
        return;
    }
    scratch *s = scratch_get();
    if (s == NULL || s->busy) {
        /* A sink logging from its write callback: this thread's buffers are in
         * use, so this one (rare) message gets its own. */
        write_formatted_heap(lg, level, ctx, src, fmt, ap);
        return;
    }
    if (s->fmt == NULL) {
        s->fmt = sl__malloc(FMT_INITIAL);
        if (s->fmt == NULL) {
            count_dropped(lg->core, level);
            return;
        }
        s->fmt_cap = FMT_INITIAL;
    }
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(s->fmt, s->fmt_cap, fmt, aq);
    va_end(aq);
    if (n < 0) {
        write_record(lg, level, ctx, src, fmt, strlen(fmt), NULL, 0, 0);
        return;
    }
    /* Longer than the buffer: grow, but only up to the record limit; a longer
     * message is cut by vsnprintf there and then by the record truncation. */
    size_t want = (size_t)n + 1;
    if (want > s->fmt_cap) {
        size_t limit = lg->core->max_record_bytes;
        size_t cap = want < limit ? want : limit;
        if (cap > s->fmt_cap) {
            char *p = sl__realloc(s->fmt, cap);
            if (p != NULL) {
                s->fmt = p;
                s->fmt_cap = cap;
            }
        }
        va_copy(aq, ap);
        n = vsnprintf(s->fmt, s->fmt_cap, fmt, aq);
        va_end(aq);
        if (n < 0) {
            write_record(lg, level, ctx, src, fmt, strlen(fmt), NULL, 0, 0);
            return;
        }
    }
    size_t len = (size_t)n < s->fmt_cap ? (size_t)n : s->fmt_cap - 1;
    /* s->fmt stays untouched meanwhile: a nested call sees `busy` and takes
     * the heap path. */
    write_record(lg, level, ctx, src, s->fmt, len, NULL, 0, 0);
}
