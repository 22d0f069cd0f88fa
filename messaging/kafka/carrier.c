/*
 * carrier.c - sl_carrier over librdkafka header lists.
 *
 * Kafka headers are an ordered list of (name, bytes) pairs; names may
 * repeat and are compared byte for byte. foreach gives spanlog every pair
 * in order, so sl_extract() applies the W3C rules (any case, a repeated
 * traceparent invalid, tracestate and baggage joined in order). set
 * removes every case of the name first, so a record never carries two
 * traceparents after a hop that spelled it differently.
 */
#include <string.h>

#include "messaging/common/msg.h"
#include "spanlog/kafka.h"

static void foreach_kafka(void *ctx, sl_header_visit_fn visit, void *arg)
{
    const rd_kafka_headers_t *hdrs = ctx;
    const char *name;
    const void *value;
    size_t size;
    if (hdrs == NULL) {
        return;
    }
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        visit(arg, name, strlen(name), value != NULL ? (const char *)value : "",
              value != NULL ? size : 0);
    }
}

/* The first header name equal to `name` under any case, copied; false: none. */
static bool find_any_case(const rd_kafka_headers_t *hdrs, const char *name, char *out,
                          size_t cap)
{
    const char *n;
    const void *value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &n, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        if (sl__msg_name_eq(n, name) && strlen(n) < cap) {
            strcpy(out, n);
            return true;
        }
    }
    return false;
}

static int set_kafka(void *ctx, const char *name, const char *value)
{
    rd_kafka_headers_t *hdrs = ctx;
    char found[64];
    if (hdrs == NULL) {
        return -1;
    }
    while (find_any_case(hdrs, name, found, sizeof(found))) {
        if (rd_kafka_header_remove(hdrs, found) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return -1; /* read-only */
        }
    }
    return rd_kafka_header_add(hdrs, name, -1, value, -1) == RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0
               : -1;
}

sl_carrier sl_kafka_carrier(rd_kafka_headers_t *hdrs)
{
    sl_carrier c = {.size = sizeof(sl_carrier),
                    .ctx = hdrs,
                    .foreach = foreach_kafka,
                    .set = set_kafka};
    return c;
}
