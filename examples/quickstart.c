/*
 * quickstart.c - what the README's first command runs.
 *
 * A logger from the environment, a server span, a request-scoped child
 * logger, a nested client span, and a warning that carries an errno.
 * Try: SPANLOG_LEVEL=debug OTEL_SERVICE_NAME=shop ./build/examples/quickstart
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <spanlog/spanlog.h>

int main(void)
{
    sl_logger *log = NULL;
    sl_error err; /* what is wrong, should the environment be */
    sl_error_init(&err);
    sl_status st = sl_logger_from_env("checkout", &log, &err);
    if (st != SL_OK) {
        fprintf(stderr, "spanlog: %s\n", err.text); /* e.g. SPANLOG_LEVEL: expected ... */
        return 1;
    }
    sl_info(log, "service started", SL_STR("version", SPANLOG_VERSION_STRING));

    /* A request arrives: its span becomes current on this thread. */
    sl_span *request = sl_span_start("POST /pay", SL_SPAN_SERVER);
    sl_logger *req = sl_child(log, SL_STR("requestId", "r-42"), SL_STR("route", "/pay"));
    sl_info(req, "request received", SL_STR("method", "POST"));

    /* A downstream call: a nested span, so the records name it. */
    sl_span *charge = sl_span_start("charge card", SL_SPAN_CLIENT);
    sl_info(req, "card charged", SL_INT("cents", 1299), SL_BOOL("retry", false));
    int fd = open("/nonexistent/gateway.conf", O_RDONLY);
    if (fd < 0) {
        sl_warn(req, "gateway config missing, using defaults", SL_ERRNO("err", errno));
    } else {
        close(fd);
    }
    sl_span_end(charge);

    sl_debugf(req, "answered in %d ms", 12); /* written only at SPANLOG_LEVEL=debug */
    sl_info(req, "request done", SL_INT("status", 200));
    sl_span_end(request);

    sl_info(log, "no span is current now, so no trace ids");
    sl_logger_free(req);
    sl_logger_free(log);
    return 0;
}
