/*
 * sampling.c - zap-style log sampling and a records-per-second cap for a
 * logger tree (spanlog/filter.h).
 *
 *   record ─▶ level >= keep? ─yes─▶ written
 *               │ no
 *               ▼
 *   counter[level][hash(msg) % 256]:  new interval? reset to 0
 *               n = ++count:  n <= first, or (n - first) % thereafter == 0 ─▶ cap ─▶
 * written otherwise ─▶ counted as sampled (and pending for the summary)
 *
 * Every decision is a handful of relaxed atomics on one counter; no lock.
 * When two threads see an interval end at once, one of them resets the
 * counter and the other's increment may land before or after the reset, so
 * the split between kept and left out at an interval's edge is approximate
 * (as in zap); the number left out is always exact, because every record
 * is either written or counted, never both, never neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "spanlog/filter.h"

#define SLOTS 256

typedef struct counter {
    int64_t start; /* atomic: monotonic ns at which the counter's interval began */
    uint64_t n;    /* atomic */
} counter;

struct sl__sampler {
    sl_sampling_options o;
    int64_t tick_ns;
    counter c[SL_LEVEL_FATAL + 1][SLOTS];
    counter cap;                          /* the per-second window of the cap */
    uint64_t sampled, limited, summaries; /* atomic totals */
    uint64_t pend_sampled, pend_limited;  /* atomic: since the last summary */
    int64_t summary_at;                   /* atomic: when the last summary was due */
};

void sl_sampling_options_init(sl_sampling_options *opts)
{
    if (opts == NULL) {
        return;
    }
    memset(opts, 0, sizeof(*opts));
    opts->size = sizeof(*opts);
    opts->interval_ms = 1000;
    opts->keep_level = SL_LEVEL_ERROR;
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

/* The counter's count after this record, its interval restarted when over. */
static uint64_t count_in(counter *c, int64_t now, int64_t tick)
{
    int64_t start = __atomic_load_n(&c->start, __ATOMIC_RELAXED);
    if (now - start >= tick &&
        __atomic_compare_exchange_n(&c->start, &start, now, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
        __atomic_store_n(&c->n, 1, __ATOMIC_RELAXED);
        return 1;
    }
    return __atomic_add_fetch(&c->n, 1, __ATOMIC_RELAXED);
}

bool sl__sampler_keep(sl__sampler *s, sl_level level, const char *key, size_t key_len,
                      int64_t now)
{
    if (level >= s->o.keep_level || (unsigned)level > (unsigned)SL_LEVEL_FATAL) {
        return true;
    }
    if (s->o.first > 0) {
        counter *c = &s->c[level][hash(key, key_len) % SLOTS];
        uint64_t n = count_in(c, now, s->tick_ns);
        bool keep = n <= s->o.first ||
                    (s->o.thereafter > 0 && (n - s->o.first) % s->o.thereafter == 0);
        if (!keep) {
            __atomic_add_fetch(&s->sampled, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&s->pend_sampled, 1, __ATOMIC_RELAXED);
            return false;
        }
    }
    if (s->o.max_per_second > 0 &&
        count_in(&s->cap, now, 1000000000) > s->o.max_per_second) {
        __atomic_add_fetch(&s->limited, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s->pend_limited, 1, __ATOMIC_RELAXED);
        return false;
    }
    return true;
}

bool sl__sampler_take_summary(sl__sampler *s, int64_t now, bool force, uint64_t *sampled,
                              uint64_t *limited)
{
    if (__atomic_load_n(&s->pend_sampled, __ATOMIC_RELAXED) == 0 &&
        __atomic_load_n(&s->pend_limited, __ATOMIC_RELAXED) == 0) {
        return false;
    }
    int64_t at = __atomic_load_n(&s->summary_at, __ATOMIC_RELAXED);
    int64_t tick = s->o.first > 0 ? s->tick_ns : 1000000000;
    if (!force && now - at < tick) {
        return false;
    }
    /* One thread wins the interval's summary. */
    if (!__atomic_compare_exchange_n(&s->summary_at, &at, now, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED)) {
        return false;
    }
    *sampled = __atomic_exchange_n(&s->pend_sampled, 0, __ATOMIC_RELAXED);
    *limited = __atomic_exchange_n(&s->pend_limited, 0, __ATOMIC_RELAXED);
    if (*sampled == 0 && *limited == 0) {
        return false;
    }
    __atomic_add_fetch(&s->summaries, 1, __ATOMIC_RELAXED);
    return true;
}

uint32_t sl__sampler_interval_ms(const sl__sampler *s)
{
    return s->o.first > 0 ? s->o.interval_ms : 1000;
}

void sl__sampler_stats(const sl__sampler *s, sl_filter_stats *out)
{
    out->sampled = __atomic_load_n(&s->sampled, __ATOMIC_RELAXED);
    out->rate_limited = __atomic_load_n(&s->limited, __ATOMIC_RELAXED);
    out->summaries = __atomic_load_n(&s->summaries, __ATOMIC_RELAXED);
}

void sl__sampler_free(sl__sampler *s)
{
    sl__free(s);
}

sl_status sl__sampler_new(const sl_sampling_options *o, sl__sampler **out)
{
    *out = NULL;
    if (o->size < sizeof(sl_sampling_options) ||
        (unsigned)o->keep_level > (unsigned)SL_LEVEL_OFF ||
        (o->first > 0 && o->interval_ms == 0)) {
        return SL_EINVAL;
    }
    if (o->first == 0 && o->max_per_second == 0) {
        return SL_OK; /* nothing to do: no sampler at all */
    }
    sl__sampler *s = sl__calloc(1, sizeof(*s));
    if (s == NULL) {
        return SL_ENOMEM;
    }
    s->o = *o;
    s->tick_ns = (int64_t)o->interval_ms * 1000000;
    int64_t now = sl__monotonic_ns();
    /* Every interval starts now, so the first one is exact. */
    for (int l = 0; l <= SL_LEVEL_FATAL; l++) {
        for (int i = 0; i < SLOTS; i++) {
            s->c[l][i].start = now;
        }
    }
    s->cap.start = now;
    s->summary_at = now;
    *out = s;
    return SL_OK;
}

/* ---- the SPANLOG_SAMPLING syntax -------------------------------------------------- */

static bool parse_u32(const char *p, const char *end, uint32_t *out)
{
    if (p == end) {
        return false;
    }
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX) {
            return false;
        }
    }
    *out = (uint32_t)v;
    return true;
}

/* "500ms", "1s", "2m" (a bare number is milliseconds) to milliseconds. */
static bool parse_duration(const char *p, const char *end, uint32_t *ms)
{
    const char *d = p;
    while (d < end && *d >= '0' && *d <= '9') {
        d++;
    }
    uint32_t v;
    if (!parse_u32(p, d, &v)) {
        return false;
    }
    uint64_t mul;
    size_t ul = (size_t)(end - d);
    if (ul == 0 || (ul == 2 && memcmp(d, "ms", 2) == 0)) {
        mul = 1;
    } else if (ul == 1 && *d == 's') {
        mul = 1000;
    } else if (ul == 1 && *d == 'm') {
        mul = 60000;
    } else {
        return false;
    }
    if ((uint64_t)v * mul > UINT32_MAX || v == 0) {
        return false;
    }
    *ms = (uint32_t)(v * mul);
    return true;
}

sl_status sl_sampling_parse(const char *spec, sl_sampling_options *opts, sl_error *err)
{
    if (spec == NULL || opts == NULL) {
        return SL_EINVAL;
    }
    sl_sampling_options o;
    sl_sampling_options_init(&o);
    sl_sampling_options_init(opts);
    const char *p = spec;
    while (*p != '\0') {
        const char *e = strchr(p, ',');
        if (e == NULL) {
            e = p + strlen(p);
        }
        const char *a = p, *b = e;
        sl__trim_blanks(&a, &b);
        const char *colon = memchr(a, ':', (size_t)(b - a));
        bool ok = colon != NULL;
        if (ok) {
            size_t kl = (size_t)(colon - a);
            const char *v = colon + 1;
            if (kl == 5 && memcmp(a, "first", 5) == 0) {
                ok = parse_u32(v, b, &o.first);
            } else if (kl == 10 && memcmp(a, "thereafter", 10) == 0) {
                ok = parse_u32(v, b, &o.thereafter);
            } else if (kl == 3 && memcmp(a, "per", 3) == 0) {
                ok = parse_duration(v, b, &o.interval_ms);
            } else if (kl == 3 && memcmp(a, "max", 3) == 0) {
                ok = parse_u32(v, b, &o.max_per_second);
            } else if (kl == 4 && memcmp(a, "keep", 4) == 0) {
                char lv[16];
                size_t n = (size_t)(b - v);
                ok = n < sizeof(lv);
                if (ok) {
                    memcpy(lv, v, n);
                    lv[n] = '\0';
                    ok = sl_level_parse(lv, &o.keep_level) == SL_OK;
                }
            } else {
                ok = false;
            }
        }
        if (!ok) {
            return sl__error_set(err, SL_EPARSE, "SPANLOG_SAMPLING", spec,
                                 (int)(a - spec),
                                 "SPANLOG_SAMPLING: bad item '%.*s' (expected first:N, "
                                 "thereafter:N, per:1s, max:N or keep:LEVEL)",
                                 (int)(b - a), a);
        }
        p = *e == ',' ? e + 1 : e;
    }
    *opts = o;
    return SL_OK;
}
