/*
 * queue_worker - consumes the requests examples/http_service publishes to
 * NATS (--nats) and logs each one with the request's trace id.
 *
 * The handler wrapper of libspanlog-nats does the tracing: for every
 * message it continues the trace from the message headers in a CONSUMER
 * span "process <subject>", and hands the function below a child logger
 * bound to the message. Every record written while handling it (and every
 * span started under it) carries the trace id the HTTP request came with,
 * so one trace runs HTTP -> NATS -> worker.
 *
 * Usage: queue_worker --nats URL [--subject SUBJECT] [--queue-group GROUP]
 *                     [--max-messages N] [--log-spans]
 *
 * Records go to stdout (sl_logger_from_env: SPANLOG_* apply). The
 * "subscribed" record says the worker is ready. Stops on SIGTERM/SIGINT or
 * after N messages: drains the subscription, flushes, exits 0.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spanlog/nats.h>
#include <spanlog/spanlog.h>

typedef struct worker_cfg {
    const char *url;
    const char *subject;
    const char *group;
    unsigned long max_messages; /* 0: no limit */
    bool log_spans;
} worker_cfg;

static worker_cfg cfg = {NULL, "requests", "workers", 0, false};
static atomic_ulong handled;

/* One job: the request as http_service published it. */
static int handle_job(sl_nats_delivery *d, void *user)
{
    json_error_t err;
    json_t *job = json_loadb(natsMsg_GetData(d->msg),
                             (size_t)natsMsg_GetDataLength(d->msg), 0, &err);
    const char *request_id = json_string_value(json_object_get(job, "requestId"));
    int rc = 0;
    (void)user;

    if (request_id == NULL) {
        sl_warn(d->log, "job refused",
                SL_STR("error", job == NULL ? err.text : "no requestId"));
        d->error_type = "bad_job";
        d->error_message = "job is not a request";
        rc = 1;
    } else {
        sl_info(d->log, "job received", SL_STR("requestId", request_id),
                SL_STR("method", json_string_value(json_object_get(job, "method"))),
                SL_STR("path", json_string_value(json_object_get(job, "path"))));
        /* The work itself, in its own span under the consumer span. */
        sl_span *work = sl_span_start("audit request", SL_SPAN_INTERNAL);
        sl_span_set(work, SL_STR("requestId", request_id));
        sl_info(d->log, "job done", SL_STR("requestId", request_id));
        sl_span_end(work);
    }
    json_decref(job);
    if (cfg.max_messages > 0 && atomic_fetch_add(&handled, 1) + 1 == cfg.max_messages) {
        kill(getpid(), SIGTERM); /* main is in sigwait */
    }
    return rc;
}

static int parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"nats", required_argument, NULL, 'n'},
        {"subject", required_argument, NULL, 's'},
        {"queue-group", required_argument, NULL, 'g'},
        {"max-messages", required_argument, NULL, 'm'},
        {"log-spans", no_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            cfg.url = optarg;
            break;
        case 's':
            cfg.subject = optarg;
            break;
        case 'g':
            cfg.group = optarg;
            break;
        case 'm':
            cfg.max_messages = strtoul(optarg, NULL, 10);
            break;
        case 'l':
            cfg.log_spans = true;
            break;
        default:
            return 2;
        }
    }
    if (cfg.url == NULL || optind != argc) {
        fprintf(stderr, "usage: queue_worker --nats URL [--subject SUBJECT] "
                        "[--queue-group GROUP] [--max-messages N] [--log-spans]\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    sl_logger *log = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    sl_nats_handler *h = NULL;
    sl_nats_handler_options ho;
    natsOptions *no = NULL;
    natsStatus st;
    sigset_t stop;
    int sig, rc;

    if ((rc = parse_args(argc, argv)) != 0) {
        return rc;
    }
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* libnats' threads inherit it */
    sl_error err;
    sl_error_init(&err);
    if (sl_logger_from_env("queue-worker", &log, &err) != SL_OK) {
        fprintf(stderr, "queue-worker: %s\n", err.text);
        return 1;
    }
    if (cfg.log_spans) {
        sl_span_set_end_logger(log, SL_LEVEL_INFO);
    }

    sl_nats_handler_options_init(&ho);
    ho.fn = handle_job;
    ho.logger = log;
    ho.queue_group = cfg.group;
    st = natsOptions_Create(&no);
    if (st == NATS_OK) {
        st = natsOptions_SetURL(no, cfg.url);
    }
    if (st == NATS_OK) {
        st = natsOptions_SetMaxReconnect(no, -1);
    }
    if (st == NATS_OK) {
        st = natsConnection_Connect(&nc, no);
    }
    if (st == NATS_OK && sl_nats_handler_new(&ho, &h) != SL_OK) {
        st = NATS_NO_MEMORY;
    }
    if (st == NATS_OK) {
        st = natsConnection_QueueSubscribe(&sub, nc, cfg.subject, cfg.group,
                                           sl_nats_on_msg, h);
    }
    if (st == NATS_OK) {
        st = natsConnection_Flush(nc); /* the server has the subscription */
    }
    natsOptions_Destroy(no);
    if (st != NATS_OK) {
        sl_fatal(log, "cannot subscribe", SL_STR("url", cfg.url),
                 SL_STR("error", natsStatus_GetText(st)));
        rc = 1;
    } else {
        sl_info(log, "subscribed", SL_STR("url", cfg.url), SL_STR("subject", cfg.subject),
                SL_STR("queueGroup", cfg.group));
        if (sigwait(&stop, &sig) != 0) {
            sig = SIGTERM;
        }
        /* Every message already delivered is handled before we go. */
        if (natsSubscription_Drain(sub) == NATS_OK) {
            natsSubscription_WaitForDrainCompletion(sub, 5000);
        }
        sl_info(log, "stopped", SL_UINT("handled", atomic_load(&handled)));
    }
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    sl_nats_handler_free(h);
    nats_Close();
    sl_span_set_end_logger(NULL, SL_LEVEL_INFO);
    sl_logger_flush(log, 5000);
    sl_logger_free(log);
    return rc;
}
