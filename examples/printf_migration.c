/*
 * printf_migration.c - one printf-logging function, before and after.
 *
 * Step 1 of a migration changes only the call: sl_infof() takes the same
 * format and arguments (the compiler still checks them) and the line becomes
 * a JSON record with the trace ids of the current span. Step 2, when the
 * file is touched anyway, turns the interesting values into typed fields so
 * that Loki can filter on them without regular expressions.
 */
#include <stdio.h>

#include <spanlog/spanlog.h>

/* Before: text to stderr, nothing a machine can query, no trace ids. */
static void charge_before(const char *user, int cents)
{
    fprintf(stderr, "[INFO] charging %s: %d cents\n", user, cents);
    if (cents > 100000) {
        fprintf(stderr, "[WARN] large charge for %s\n", user);
    }
}

/* After, step 1: the same format strings, now records. */
static void charge_step1(sl_logger *log, const char *user, int cents)
{
    sl_infof(log, "charging %s: %d cents", user, cents);
    if (cents > 100000) {
        sl_warnf(log, "large charge for %s", user);
    }
}

/* After, step 2: a fixed message and typed fields. */
static void charge_step2(sl_logger *log, const char *user, int cents)
{
    sl_info(log, "charging", SL_STR("user", user), SL_INT("cents", cents));
    if (cents > 100000) {
        sl_warn(log, "large charge", SL_STR("user", user), SL_INT("cents", cents));
    }
}

int main(void)
{
    sl_logger *log = NULL;
    sl_error err;
    sl_error_init(&err);
    if (sl_logger_from_env("billing", &log, &err) != SL_OK) {
        fprintf(stderr, "billing: %s\n", err.text);
        return 1;
    }
    sl_span *span = sl_span_start("nightly billing", SL_SPAN_INTERNAL);
    charge_before("ada", 250000);
    charge_step1(log, "ada", 250000);
    charge_step2(log, "ada", 250000);
    sl_span_end(span);
    sl_logger_free(log);
    return 0;
}
