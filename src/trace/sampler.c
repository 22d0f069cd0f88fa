/*
 * sampler.c - the OpenTelemetry samplers: always_on, always_off,
 * traceidratio and parentbased, configured in code or from
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
 *
 * traceidratio follows the current OpenTelemetry rule, which relies on the
 * W3C level-2 guarantee that the least significant 56 bits of a trace id
 * are random:
 *
 *   R = trace_id bytes 9..15 as a big-endian 56-bit number
 *   T = 2^56 - round(ratio * 2^56)      (the rejection threshold)
 *   sampled  <=>  R >= T
 *
 * so ratio 1 samples everything, ratio 0 nothing, and every service seeing
 * the same trace id decides alike.
 *
 * The process-wide sampler is one atomic word, (kind + 1) << 57 | T, so a
 * span never sees a kind with another sampler's threshold. 0 means "not
 * configured yet": the first decision then reads the environment.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

#include "trace/trace_internal.h"

#define RANDOM_BITS 56
#define MAX_T       ((uint64_t)1 << RANDOM_BITS)
#define T_MASK      (((uint64_t)1 << 57) - 1)

static atomic_uint_fast64_t g_word;
static _Atomic double g_ratio = 1.0; /* for sl_sampler_get only */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static uint64_t threshold(double ratio)
{
    if (!(ratio > 0.0)) { /* also NaN */
        return MAX_T;
    }
    if (ratio >= 1.0) {
        return 0;
    }
    /* ratio * 2^56 is exact (a power-of-two scale); + 0.5 rounds it. */
    return MAX_T - (uint64_t)(ratio * (double)MAX_T + 0.5);
}

static uint64_t randomness(sl_trace_id id)
{
    uint64_t r = 0;
    for (int i = 9; i < 16; i++) {
        r = (r << 8) | id.bytes[i];
    }
    return r;
}

static int decide(sl_sampler_kind kind, uint64_t t, const sl_span_context *parent,
                  sl_trace_id trace_id)
{
    int has_parent = sl__ctx_valid(parent);
    switch (kind) {
    case SL_SAMPLER_ALWAYS_ON:
        return 1;
    case SL_SAMPLER_ALWAYS_OFF:
        return 0;
    case SL_SAMPLER_TRACEIDRATIO:
        return randomness(trace_id) >= t;
    case SL_SAMPLER_PARENTBASED_ALWAYS_ON:
        return has_parent ? (parent->flags & SL_TRACE_FLAG_SAMPLED) != 0 : 1;
    case SL_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return has_parent ? (parent->flags & SL_TRACE_FLAG_SAMPLED) != 0 : 0;
    case SL_SAMPLER_PARENTBASED_TRACEIDRATIO:
        return has_parent ? (parent->flags & SL_TRACE_FLAG_SAMPLED) != 0
                          : randomness(trace_id) >= t;
    }
    return 1;
}

int sl_sampler_should_sample(const sl_sampler *sampler, const sl_span_context *parent,
                             sl_trace_id trace_id)
{
    if (sampler == NULL) {
        return decide(SL_SAMPLER_PARENTBASED_ALWAYS_ON, 0, parent, trace_id);
    }
    return decide(sampler->kind, threshold(sampler->ratio), parent, trace_id);
}

static int valid_kind(int k)
{
    return k >= SL_SAMPLER_ALWAYS_ON && k <= SL_SAMPLER_PARENTBASED_TRACEIDRATIO;
}

static void install(const sl_sampler *s)
{
    atomic_store_explicit(&g_ratio, s->ratio, memory_order_relaxed);
    uint64_t w = ((uint64_t)(s->kind + 1) << 57) | threshold(s->ratio);
    atomic_store_explicit(&g_word, w, memory_order_release);
}

static const struct {
    const char *name;
    sl_sampler_kind kind;
} names[] = {
    {"always_on", SL_SAMPLER_ALWAYS_ON},
    {"always_off", SL_SAMPLER_ALWAYS_OFF},
    {"traceidratio", SL_SAMPLER_TRACEIDRATIO},
    {"parentbased_always_on", SL_SAMPLER_PARENTBASED_ALWAYS_ON},
    {"parentbased_always_off", SL_SAMPLER_PARENTBASED_ALWAYS_OFF},
    {"parentbased_traceidratio", SL_SAMPLER_PARENTBASED_TRACEIDRATIO},
};

sl_status sl_sampler_parse(const char *name, const char *arg, sl_sampler *out)
{
    if (name == NULL || out == NULL) {
        return SL_EINVAL;
    }
    out->kind = SL_SAMPLER_PARENTBASED_ALWAYS_ON;
    out->ratio = 1.0;
    const char *name_end = name + strlen(name);
    sl__trim_blanks(&name, &name_end);
    size_t n = (size_t)(name_end - name);
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == n && strncasecmp(names[i].name, name, n) == 0) {
            out->kind = names[i].kind;
            found = 1;
            break;
        }
    }
    if (!found) {
        return SL_EPARSE;
    }
    if (arg == NULL) {
        return SL_OK;
    }
    while (isspace((unsigned char)*arg)) {
        arg++;
    }
    if (*arg == '\0') {
        return SL_OK;
    }
    char *end;
    double r = strtod(arg, &end);
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (end == arg || *end != '\0' || !(r >= 0.0 && r <= 1.0)) {
        return SL_EPARSE; /* the named kind with ratio 1.0 */
    }
    out->ratio = r;
    return SL_OK;
}

sl_status sl_sampler_from_env(void)
{
    const char *name = getenv("OTEL_TRACES_SAMPLER");
    const char *arg = getenv("OTEL_TRACES_SAMPLER_ARG");
    sl_sampler s;
    sl_status st = SL_OK;
    if (name == NULL || name[0] == '\0') {
        s.kind = SL_SAMPLER_PARENTBASED_ALWAYS_ON;
        s.ratio = 1.0;
    } else {
        st = sl_sampler_parse(name, arg, &s);
    }
    install(&s);
    return st;
}

static void env_default(void)
{
    /* Only when the code has not set a sampler in the meantime. */
    if (atomic_load_explicit(&g_word, memory_order_acquire) == 0) {
        (void)sl_sampler_from_env();
    }
}

static uint64_t word(void)
{
    uint64_t w = atomic_load_explicit(&g_word, memory_order_acquire);
    if (w == 0) {
        pthread_once(&env_once, env_default);
        w = atomic_load_explicit(&g_word, memory_order_acquire);
    }
    return w;
}

sl_status sl_sampler_set(const sl_sampler *sampler)
{
    if (sampler == NULL || !valid_kind((int)sampler->kind)) {
        return SL_EINVAL;
    }
    install(sampler);
    return SL_OK;
}

sl_sampler sl_sampler_get(void)
{
    uint64_t w = word();
    sl_sampler s;
    s.kind = (sl_sampler_kind)((w >> 57) - 1);
    s.ratio = atomic_load_explicit(&g_ratio, memory_order_relaxed);
    return s;
}

int sl__sampler_decide(const sl_span_context *parent, sl_trace_id trace_id)
{
    uint64_t w = word();
    return decide((sl_sampler_kind)((w >> 57) - 1), w & T_MASK, parent, trace_id);
}
