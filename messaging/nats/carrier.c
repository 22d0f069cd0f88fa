/*
 * carrier.c - sl_carrier over libnats message headers.
 *
 * libnats keeps header names case-sensitive (since 3.0) and a key may hold
 * several values. foreach hands spanlog every value of every key, so
 * sl_extract() applies the W3C rules itself: names matched under any case,
 * a repeated traceparent invalid, repeated tracestate/baggage joined.
 * set first deletes the name under every case it is stored with, so a
 * message never ends up with two traceparents ("traceparent" from us and
 * "Traceparent" from an earlier hop).
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/common/msg.h"
#include "spanlog/nats.h"

static void foreach_nats(void *ctx, sl_header_visit_fn visit, void *arg)
{
    natsMsg *msg = ctx;
    const char **keys = NULL;
    int nkeys = 0;
    if (msg == NULL || natsMsgHeader_Keys(msg, &keys, &nkeys) != NATS_OK) {
        return;
    }
    for (int i = 0; i < nkeys; i++) {
        const char **values = NULL;
        int nvalues = 0;
        if (natsMsgHeader_Values(msg, keys[i], &values, &nvalues) != NATS_OK) {
            continue;
        }
        for (int j = 0; j < nvalues; j++) {
            const char *v = values[j] != NULL ? values[j] : "";
            visit(arg, keys[i], strlen(keys[i]), v, strlen(v));
        }
        free((void *)values);
    }
    free((void *)keys);
}

/* Deletes the first key equal to name under any case; false when none. */
static bool delete_one(natsMsg *msg, const char *name)
{
    const char **keys = NULL;
    int nkeys = 0;
    char found[64];
    bool hit = false;
    if (natsMsgHeader_Keys(msg, &keys, &nkeys) != NATS_OK) {
        return false;
    }
    for (int i = 0; i < nkeys && !hit; i++) {
        if (sl__msg_name_eq(keys[i], name) && strlen(keys[i]) < sizeof(found)) {
            strcpy(found, keys[i]); /* the key's storage may go with the delete */
            hit = true;
        }
    }
    free((void *)keys);
    return hit && natsMsgHeader_Delete(msg, found) == NATS_OK;
}

static int set_nats(void *ctx, const char *name, const char *value)
{
    natsMsg *msg = ctx;
    if (msg == NULL) {
        return -1;
    }
    while (delete_one(msg, name)) {
    }
    return natsMsgHeader_Set(msg, name, value) == NATS_OK ? 0 : -1;
}

sl_carrier sl_nats_carrier(natsMsg *msg)
{
    sl_carrier c = {
        .size = sizeof(sl_carrier), .ctx = msg, .foreach = foreach_nats, .set = set_nats};
    return c;
}
