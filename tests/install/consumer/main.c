/* A program built against an installed spanlog: one record inside a span. */
#include <spanlog/spanlog.h>

int main(void)
{
    sl_logger *log = NULL;
    sl_sink *out = NULL;
    if (sl_logger_new(NULL, &log) != SL_OK || sl_stdout_sink_new(&out) != SL_OK ||
        sl_logger_add_sink(log, out, SL_LEVEL_TRACE) != SL_OK) {
        return 1;
    }
    sl_span *span = sl_span_start("consumer", SL_SPAN_INTERNAL);
    sl_info(log, "installed consumer", SL_INT("answer", 42));
    sl_span_end(span);
    sl_logger_free(log);
    return 0;
}
