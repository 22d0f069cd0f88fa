/* Built against an installed tree with `pkg-config spanlog-nats spanlog-kafka`:
 * injects a context through both carriers and reads it back. */
#include <stdio.h>
#include <string.h>

#include <spanlog/kafka.h>
#include <spanlog/nats.h>

int main(void)
{
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sl_span_context in, out;
    natsMsg *m = NULL;
    int ok;
    if (sl_traceparent_parse(tp, strlen(tp), &in) != SL_OK || nats_Open(-1) != NATS_OK ||
        natsMsg_Create(&m, "s", NULL, "", 0) != NATS_OK) {
        return 1;
    }
    sl_carrier n = sl_nats_carrier(m);
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    sl_carrier k = sl_kafka_carrier(h);
    ok = sl_inject(&n, &in, NULL) == SL_OK && sl_extract(&n, &out, NULL) == SL_OK &&
         memcmp(&out.trace_id, &in.trace_id, sizeof in.trace_id) == 0 &&
         sl_inject(&k, &in, NULL) == SL_OK && sl_extract(&k, &out, NULL) == SL_OK &&
         memcmp(&out.span_id, &in.span_id, sizeof in.span_id) == 0;
    rd_kafka_headers_destroy(h);
    natsMsg_Destroy(m);
    nats_Close();
    puts(ok ? "messaging consumer: ok" : "messaging consumer: MISMATCH");
    return ok ? 0 : 1;
}
