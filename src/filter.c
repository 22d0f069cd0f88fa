/*
 * filter.c - setting sampling and redaction on a logger tree, and their
 * counters (spanlog/filter.h). The work is in sampling.c and redact.c; the
 * hooks in record.c (call fields, the sampling decision) and logger.c
 * (bound fields, the final summary).
 */
#include "core.h"

/* Setup time only: the core is read without a lock once it is shared. */
static sl_status setup_time(const sl_logger *lg)
{
    if (lg == NULL) {
        return SL_EINVAL;
    }
    return __atomic_load_n(&lg->core->sealed, __ATOMIC_RELAXED) ? SL_ESTATE : SL_OK;
}

sl_status sl_logger_set_sampling(sl_logger *lg, const sl_sampling_options *opts)
{
    sl_status st = setup_time(lg);
    if (st != SL_OK || opts == NULL) {
        return st != SL_OK ? st : SL_EINVAL;
    }
    sl__sampler *s = NULL;
    if ((st = sl__sampler_new(opts, &s)) != SL_OK) {
        return st;
    }
    sl__sampler_free(lg->core->sampler);
    lg->core->sampler = s;
    return SL_OK;
}

sl_status sl_logger_set_redaction(sl_logger *lg, const sl_redact_options *opts)
{
    sl_status st = setup_time(lg);
    if (st != SL_OK || opts == NULL) {
        return st != SL_OK ? st : SL_EINVAL;
    }
    sl__redactor *r = NULL;
    if ((st = sl__redactor_new(opts, &r)) != SL_OK) {
        return st;
    }
    sl__redactor_free(lg->core->redactor);
    lg->core->redactor = r;
    return SL_OK;
}

void sl_logger_get_filter_stats(const sl_logger *lg, sl_filter_stats *out)
{
    if (out == NULL || out->size < sizeof(sl_filter_stats)) {
        return;
    }
    size_t size = out->size;
    memset(out, 0, sizeof(*out));
    out->size = size;
    if (lg == NULL) {
        return;
    }
    if (lg->core->sampler != NULL) {
        sl__sampler_stats(lg->core->sampler, out);
    }
    if (lg->core->redactor != NULL) {
        out->redacted = sl__redactor_count(lg->core->redactor);
    }
}
