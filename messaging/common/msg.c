/*
 * msg.c - the OpenTelemetry messaging conventions, once for NATS and Kafka.
 *
 * Spans are named "<messaging.operation.name> <destination>" and carry the
 * attributes of the conventions' messaging registry: a producer span for a
 * send (operation type "send", kind PRODUCER, its context injected into the
 * message as the creation context), a consumer span for each processed
 * message (operation type "process", kind CONSUMER, a child of the
 * message's creation context, or in link mode the root of a new trace
 * linked to it). See docs/messaging.md for what is followed
 * and what is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/* Longest span name; longer destinations are cut (the attribute keeps them). */
#define SPAN_NAME_MAX 160

sl__msg_info sl__msg_info_empty(const char *system, const char *operation_name)
{
    sl__msg_info info;
    memset(&info, 0, sizeof(info));
    info.system = system;
    info.operation_name = operation_name;
    info.body_size = -1;
    info.partition = -1;
    info.offset = -1;
    return info;
}

bool sl__msg_name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

static void span_name(char *out, const sl__msg_info *info)
{
    if (info->destination != NULL && info->destination[0] != '\0') {
        snprintf(out, SPAN_NAME_MAX, "%s %s", info->operation_name, info->destination);
    } else {
        snprintf(out, SPAN_NAME_MAX, "%s", info->operation_name);
    }
}

/* The attributes both sides share; the caller adds the side's own. */
static void set_common(sl_span *span, const sl__msg_info *info, const char *type)
{
    char partition[24];
    sl_span_set(span, SL_STR("messaging.system", info->system),
                SL_STR("messaging.operation.name", info->operation_name),
                SL_STR("messaging.operation.type", type));
    if (info->destination != NULL) {
        sl_span_set(span, SL_STR("messaging.destination.name", info->destination));
    }
    if (info->message_id != NULL) {
        sl_span_set(span, SL_STR("messaging.message.id", info->message_id));
    }
    if (info->body_size >= 0) {
        sl_span_set(span, SL_INT("messaging.message.body.size", info->body_size));
    }
    if (info->partition >= 0) {
        /* A string in the conventions: partition ids need not be numbers. */
        snprintf(partition, sizeof(partition), "%lld", (long long)info->partition);
        sl_span_set(span, SL_STR("messaging.destination.partition.id", partition));
    }
    if (info->offset >= 0) {
        sl_span_set(span, SL_INT("messaging.kafka.offset", info->offset));
    }
    if (info->key != NULL && info->key_len > 0) {
        sl_span_set(span, SL_STRN("messaging.kafka.message.key", (const char *)info->key,
                                  info->key_len));
    }
    if (info->server_address != NULL && info->server_address[0] != '\0') {
        sl_span_set(span, SL_STR("server.address", info->server_address));
        if (info->server_port > 0) {
            sl_span_set(span, SL_INT("server.port", info->server_port));
        }
    }
}

sl_span *sl__msg_send_start(const sl__msg_info *info)
{
    char name[SPAN_NAME_MAX];
    sl_span *span;
    span_name(name, info);
    span = sl_span_start(name, SL_SPAN_PRODUCER);
    set_common(span, info, "send");
    return span;
}

void sl__msg_span_finish(sl_span *span, const char *error_type, const char *message)
{
    if (error_type != NULL) {
        sl_span_set(span, SL_STR("error.type", error_type));
        sl_span_set_status(span, SL_SPAN_STATUS_ERROR, message);
    }
    sl_span_end(span);
}

/* The message's own fields, bound once: the same names as the span's
 * attributes, so one vocabulary queries Loki and Tempo. */
static sl_logger *message_logger(sl_logger *log, const sl__msg_info *info)
{
    sl_field f[6];
    size_t n = 0;
    char partition[24];
    f[n++] = SL_STR("messaging.system", info->system);
    if (info->destination != NULL) {
        f[n++] = SL_STR("messaging.destination.name", info->destination);
    }
    if (info->message_id != NULL) {
        f[n++] = SL_STR("messaging.message.id", info->message_id);
    }
    if (info->consumer_group != NULL) {
        f[n++] = SL_STR("messaging.consumer.group.name", info->consumer_group);
    }
    if (info->partition >= 0) {
        snprintf(partition, sizeof(partition), "%lld", (long long)info->partition);
        f[n++] = SL_STR("messaging.destination.partition.id", partition);
    }
    if (info->offset >= 0) {
        f[n++] = SL_INT("messaging.kafka.offset", info->offset);
    }
    return sl_logger_child_or_null(log, f, n);
}

void sl__msg_process_begin(sl__msg_scope *sc, const sl_carrier *in,
                           const sl__msg_info *info, sl_logger *log, bool link)
{
    char name[SPAN_NAME_MAX];
    sl_span_context parent;

    sl_extract_report report;

    memset(sc, 0, sizeof(*sc));
    sc->origin = sl_extract_report_get(in, &parent, &sc->baggage, &report);
    /* SL_ENOMEM concerns tracestate or baggage: a valid parent still continues. */
    if (sc->origin == SL_ENOMEM && sl_span_context_is_valid(&parent)) {
        sc->origin = SL_OK;
    }
    /* Baggage first, so the span and whatever the handler starts carry it. */
    sc->baggage_attached = sl_baggage_attach(sc->baggage, &sc->baggage_token) == SL_OK;
    span_name(name, info);
    sc->span = sl_span_start_with_parent(name, SL_SPAN_CONSUMER,
                                         sc->origin == SL_OK && !link ? &parent : NULL);
    if (link && sc->origin == SL_OK) {
        /* Link mode: a new trace, linked to the creation context. */
        (void)sl_span_add_link(sc->span, &parent, NULL, 0);
    }
    set_common(sc->span, info, "process");
    if (info->consumer_group != NULL) {
        sl_span_set(sc->span,
                    SL_STR("messaging.consumer.group.name", info->consumer_group));
    }
    if (log == NULL) {
        return;
    }
    sc->log = message_logger(log, info);
    if (sc->origin == SL_ENOENT) {
        sl_info(sc->log, "message without trace context, new trace",
                SL_STR("propagation", "new"));
    } else if (sc->origin != SL_OK) {
        /* "invalid", "repeated", "too long": what was wrong with traceparent. */
        sl_warn(sc->log, "message trace context invalid, new trace",
                SL_STR("propagation", "restarted"),
                SL_STR("reason", sc->origin == SL_EPARSE
                                     ? sl_header_verdict_name(report.traceparent)
                                     : sl_strerror(sc->origin)));
    }
}

void sl__msg_process_end(sl__msg_scope *sc, int rc, const char *error_type,
                         const char *error_message)
{
    if (rc != 0) {
        sl__msg_span_finish(sc->span, error_type != NULL ? error_type : "_OTHER",
                            error_message != NULL ? error_message : "handler failed");
    } else {
        sl__msg_span_finish(sc->span, NULL, NULL);
    }
    sc->span = NULL;
    sl_logger_free(sc->log);
    sc->log = NULL;
    if (sc->baggage_attached) {
        (void)sl_context_detach(sc->baggage_token);
        sc->baggage_attached = false;
    }
    sl_baggage_free(sc->baggage);
    sc->baggage = NULL;
}

bool sl__msg_split_url(const char *url, char *host, size_t cap, int *port)
{
    const char *p = url, *end, *at, *colon;
    size_t n;
    *port = 0;
    if (url == NULL || cap == 0) {
        return false;
    }
    if ((end = strstr(p, "://")) != NULL) {
        p = end + 3;
    }
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        p = at + 1;
    }
    if (*p == '[') { /* [v6]:port */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL) {
            return false;
        }
        n = (size_t)(close - p - 1);
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        p++;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon != NULL ? colon : end) - p);
    }
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    if (colon != NULL) {
        long v = strtol(colon + 1, NULL, 10);
        *port = v > 0 && v < 65536 ? (int)v : 0;
    }
    return true;
}
