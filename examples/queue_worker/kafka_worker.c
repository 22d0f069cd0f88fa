/*
 * kafka_worker - the Kafka variant of queue_worker: a poll loop that runs
 * each record inside its CONSUMER span (sl_kafka_process), continued from
 * the record's headers, logging through a child logger bound to it.
 *
 * Usage: kafka_worker --brokers HOST:PORT --topic TOPIC [--group GROUP]
 *                     [--max-messages N]
 *        kafka_worker --mock [--max-messages N]
 *
 * --mock needs no Kafka: it starts librdkafka's in-process mock cluster,
 * produces N records (default 3) itself, each from its own SERVER span
 * through sl_kafka_produce_traced, then consumes them: the "job received"
 * records carry the trace ids of the "request" records.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spanlog/kafka.h>
#include <spanlog/spanlog.h>

#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int handle(sl_kafka_delivery *d, void *user)
{
    unsigned long *handled = user;
    sl_info(d->log, "job received", SL_STRN("job", d->msg->payload, d->msg->len));
    (*handled)++;
    return 0;
}

static rd_kafka_t *make(rd_kafka_type_t type, const char *brokers, const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) !=
            RD_KAFKA_CONF_OK ||
        (group != NULL && (rd_kafka_conf_set(conf, "group.id", group, err, sizeof err) !=
                               RD_KAFKA_CONF_OK ||
                           rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err,
                                             sizeof err) != RD_KAFKA_CONF_OK))) {
        fprintf(stderr, "kafka_worker: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "kafka_worker: %s\n", err);
    }
    return rk;
}

/* --mock: N records, each produced from its own request span. */
static int produce_requests(sl_logger *log, const char *brokers, const char *topic,
                            unsigned long n)
{
    rd_kafka_t *p = make(RD_KAFKA_PRODUCER, brokers, NULL);
    if (p == NULL) {
        return -1;
    }
    for (unsigned long i = 0; i < n; i++) {
        char body[64];
        sl_kafka_record r;
        sl_span *req = sl_span_start("POST /orders", SL_SPAN_SERVER);
        sl_kafka_record_init(&r);
        r.topic = topic;
        r.value = body;
        r.value_len = (size_t)snprintf(body, sizeof body, "{\"order\":%lu}", i);
        sl_info(log, "request", SL_UINT("order", i));
        if (sl_kafka_produce_traced(p, &r) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            sl_error(log, "not produced", SL_UINT("order", i));
        }
        sl_span_end(req);
    }
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"max-messages", required_argument, NULL, 'm'},
        {"mock", no_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = NULL, *group = "workers";
    unsigned long max = 0, handled = 0;
    bool mock = false;
    rd_kafka_t *host = NULL, *c = NULL;
    rd_kafka_mock_cluster_t *cluster = NULL;
    sl_logger *log = NULL;
    int opt, rc = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'm':
            max = strtoul(optarg, NULL, 10);
            break;
        case 'M':
            mock = true;
            break;
        default:
            return 2;
        }
    }
    if (!mock && (brokers == NULL || topic == NULL)) {
        fprintf(stderr,
                "usage: kafka_worker --brokers HOST:PORT --topic TOPIC [--group G] "
                "[--max-messages N] | --mock [--max-messages N]\n");
        return 2;
    }
    sl_error env_err;
    sl_error_init(&env_err);
    if (sl_logger_from_env("kafka-worker", &log, &env_err) != SL_OK) {
        fprintf(stderr, "kafka-worker: %s\n", env_err.text);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (mock) {
        char err[256];
        max = max ? max : 3;
        topic = "orders";
        host = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
        cluster = host != NULL ? rd_kafka_mock_cluster_new(host, 1) : NULL;
        if (cluster == NULL) {
            fprintf(stderr, "kafka_worker: no mock cluster\n");
            return 1;
        }
        brokers = rd_kafka_mock_cluster_bootstraps(cluster);
        rd_kafka_mock_topic_create(cluster, topic, 1, 1);
        produce_requests(log, brokers, topic, max);
    }

    c = make(RD_KAFKA_CONSUMER, brokers, group);
    if (c != NULL) {
        rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
        sl_kafka_process_options o;
        sl_kafka_process_options_init(&o);
        o.logger = log;
        o.consumer_group = group;
        rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_poll_set_consumer(c);
        rd_kafka_subscribe(c, t);
        rd_kafka_topic_partition_list_destroy(t);
        sl_info(log, "subscribed", SL_STR("brokers", brokers), SL_STR("topic", topic),
                SL_STR("group", group));
        while (!stopping && (max == 0 || handled < max)) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
            if (m == NULL) {
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                sl_kafka_process(c, m, &o, handle, &handled);
            }
            rd_kafka_message_destroy(m);
        }
        sl_info(log, "stopped", SL_UINT("handled", handled));
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
    } else {
        rc = 1;
    }
    if (cluster != NULL) {
        rd_kafka_mock_cluster_destroy(cluster);
        rd_kafka_destroy(host);
    }
    sl_logger_flush(log, 5000);
    sl_logger_free(log);
    return rc;
}
