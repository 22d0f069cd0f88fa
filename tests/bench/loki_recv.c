/*
 * loki_recv.c - the Loki-API receiver both Loki clients of the side-by-side
 * benchmark push into (spanlog's Loki sink and pino-loki), so that records
 * per second and bytes on the wire are measured against the same peer.
 *
 * It accepts POST /loki/api/v1/push, counts the request's bytes on the wire
 * (request line, headers and body as received), inflates a gzip body,
 * counts streams and entries (the first push after a reset is parsed with
 * jansson, later ones are scanned: see count_push_scanned), keeps the last
 * entry's line as a sample, and answers 204 (400 for a body it cannot read). It is
 * deliberately lean: tests/integration/loki_receiver.py enforces every rule
 * of Loki's API for the correctness tests, but validating in Python would
 * make the receiver, not the clients, the bottleneck here.
 *
 *   GET  /stats   {"requests":N,"wire_bytes":N,"body_bytes":N,
 *                  "decoded_bytes":N,"streams":N,"entries":N,"errors":N,
 *                  "sample_line":"..."}
 *   POST /reset   zeroes the counters
 *
 *   bench_loki_recv [--lifetime SECONDS]
 *
 * Listens on 127.0.0.1, on a port the kernel picks, and prints that port on
 * stdout. Serves until stdin reaches EOF (the driver holds a pipe to it, so
 * the receiver dies with the driver), SIGTERM, or the lifetime (default 600 s).
 * One polling thread handles every request: the counters need no lock.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_BODY (64u * 1024 * 1024)

typedef struct counters {
    unsigned long long requests, wire_bytes, body_bytes, decoded_bytes, streams, entries,
        errors;
    char *sample_line;
} counters;

static counters stats;

typedef struct request {
    char *body;
    size_t len, cap;
    int too_big;
} request;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result add_header_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    /* "Key: value\r\n" */
    *(size_t *)cls += strlen(key) + 2 + (value != NULL ? strlen(value) : 0) + 2;
    return MHD_YES;
}

/* Inflates a gzip body; returns a malloc'd buffer (NUL-terminated) or NULL. */
static char *gunzip(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        return NULL;
    }
    size_t cap = n * 8 + 1024, len = 0;
    char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    int rc = Z_OK;
    while (out != NULL && rc != Z_STREAM_END) {
        if (cap - len < 4096) {
            char *p = cap * 2 <= MAX_BODY ? realloc(out, cap * 2) : NULL;
            if (p == NULL) {
                free(out);
                out = NULL;
                break;
            }
            out = p;
            cap *= 2;
        }
        z.next_out = (Bytef *)out + len;
        z.avail_out = (uInt)(cap - len - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        len = cap - 1 - z.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END) {
            free(out);
            out = NULL;
        }
    }
    inflateEnd(&z);
    if (out != NULL) {
        out[len] = '\0';
        *out_len = len;
    }
    return out;
}

/* Keeps the line of the entry that starts at p ("[\"ts\",\"line\"..."). */
static void keep_sample(const char *p, size_t n)
{
    json_error_t err;
    json_t *entry = json_loadb(p, n, JSON_DISABLE_EOF_CHECK, &err);
    const char *line = json_string_value(json_array_get(entry, 1));
    if (line != NULL) {
        free(stats.sample_line);
        stats.sample_line = strdup(line);
    }
    json_decref(entry);
}

/*
 * Full check: parses the body and counts streams and entries. Used on the
 * first push after a reset, so that each run's format is proven once.
 */
static int count_push_parsed(const char *text, size_t n)
{
    json_error_t err;
    json_t *root = json_loadb(text, n, 0, &err);
    json_t *streams = json_object_get(root, "streams");
    if (!json_is_array(streams)) {
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *s;
    json_array_foreach(streams, i, s)
    {
        json_t *values = json_object_get(s, "values");
        if (!json_is_object(json_object_get(s, "stream")) || !json_is_array(values)) {
            json_decref(root);
            return -1;
        }
        stats.streams++;
        stats.entries += json_array_size(values);
    }
    json_decref(root);
    return 0;
}

/*
 * Fast count, for every later push: in a Loki push body a quote inside a
 * string is always escaped, so `"stream":` starts exactly one stream and
 * `["` followed by digits and `",` starts exactly one entry (its nanosecond
 * timestamp). Parsing every body with jansson would make this receiver the
 * slowest party; scanning keeps it far faster than either client.
 */
static int count_push_scanned(const char *text, size_t n)
{
    const char *end = text + n, *p = text, *last = NULL;
    unsigned long long entries = 0, streams = 0;
    while ((p = memchr(p, '[', (size_t)(end - p))) != NULL) {
        const char *q = p + 1;
        if (q < end && *q == '"') {
            const char *d = q + 1;
            while (d < end && *d >= '0' && *d <= '9') {
                d++;
            }
            if (d > q + 1 && d + 1 < end && d[0] == '"' && d[1] == ',') {
                entries++;
                last = p;
            }
        }
        p = q;
    }
    for (p = text; (p = memmem(p, (size_t)(end - p), "\"stream\":", 9)) != NULL; p += 9) {
        streams++;
    }
    if (entries == 0 || streams == 0) {
        return -1;
    }
    stats.entries += entries;
    stats.streams += streams;
    keep_sample(last, (size_t)(end - last));
    return 0;
}

/* ---- protobuf + snappy (Loki's native push) ------------------------------ */

/* Reads a base-128 varint; 0 at the end of the input or past 10 bytes. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/*
 * Snappy's block format: the uncompressed length as a varint, then
 * literals (tag 00) and back-references (tags 01, 10, 11 with 1, 2 and 4
 * offset bytes). Returns a malloc'd buffer, or NULL for a malformed block.
 */
static char *unsnappy(const char *in, size_t n, size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + n;
    uint64_t total;
    if (!get_varint(&p, end, &total) || total > MAX_BODY) {
        return NULL;
    }
    unsigned char *out = malloc(total + 1);
    size_t o = 0;
    while (out != NULL && p < end) {
        unsigned char tag = *p++;
        size_t len, off = 0;
        if ((tag & 3) == 0) {
            len = (size_t)(tag >> 2) + 1;
            if (len > 60) {
                size_t k = len - 60; /* 1-4 length bytes follow */
                if ((size_t)(end - p) < k) {
                    break;
                }
                len = 0;
                for (size_t i = 0; i < k; i++) {
                    len |= (size_t)p[i] << (8 * i);
                }
                len++;
                p += k;
            }
            if ((size_t)(end - p) < len || total - o < len) {
                break;
            }
            memcpy(out + o, p, len);
            p += len;
            o += len;
            continue;
        }
        size_t k = (tag & 3) == 1 ? 1 : (tag & 3) == 2 ? 2 : 4;
        if ((size_t)(end - p) < k) {
            break;
        }
        if (k == 1) {
            len = (size_t)((tag >> 2) & 7) + 4;
            off = ((size_t)(tag >> 5) << 8) | p[0];
        } else {
            len = (size_t)(tag >> 2) + 1;
            for (size_t i = 0; i < k; i++) {
                off |= (size_t)p[i] << (8 * i);
            }
        }
        p += k;
        if (off == 0 || off > o || total - o < len) {
            break;
        }
        for (size_t i = 0; i < len; i++, o++) { /* may overlap: byte by byte */
            out[o] = out[o - off];
        }
    }
    if (out == NULL || p != end || o != total) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *out_len = o;
    return (char *)out;
}

/* Walks one message's fields, calling fn for each length-delimited one;
 * -1 if the wire format is broken. */
typedef int (*field_fn)(int num, const unsigned char *v, size_t n, void *arg);
static int walk(const unsigned char *p, size_t n, field_fn fn, void *arg)
{
    const unsigned char *end = p + n;
    while (p < end) {
        uint64_t key, v;
        if (!get_varint(&p, end, &key)) {
            return -1;
        }
        switch (key & 7) {
        case 0:
            if (!get_varint(&p, end, &v)) {
                return -1;
            }
            break;
        case 1:
        case 5:
            if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u)) {
                return -1;
            }
            p += (key & 7) == 1 ? 8 : 4;
            break;
        case 2:
            if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p)) {
                return -1;
            }
            if (fn(key >> 3, p, (size_t)v, arg) != 0) {
                return -1;
            }
            p += v;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

typedef struct pb_count {
    unsigned long long entries, streams;
    int has_labels;
    const unsigned char *line;
    size_t line_len;
} pb_count;

/* EntryAdapter: 1 timestamp, 2 line, 3 structured metadata. */
static int on_entry(int num, const unsigned char *v, size_t n, void *arg)
{
    pb_count *c = arg;
    if (num == 2) {
        c->line = v;
        c->line_len = n;
    }
    return 0;
}

/* StreamAdapter: 1 labels, 2 entries. */
static int on_stream_field(int num, const unsigned char *v, size_t n, void *arg)
{
    pb_count *c = arg;
    if (num == 1) {
        c->has_labels = n > 0 && v[0] == '{';
    } else if (num == 2) {
        c->line = NULL;
        if (walk(v, n, on_entry, c) != 0 || c->line == NULL) {
            return -1;
        }
        c->entries++;
    }
    return 0;
}

/* PushRequest: 1 streams. */
static int on_stream(int num, const unsigned char *v, size_t n, void *arg)
{
    pb_count *c = arg;
    if (num != 1) {
        return 0;
    }
    c->has_labels = 0;
    if (walk(v, n, on_stream_field, c) != 0 || !c->has_labels) {
        return -1;
    }
    c->streams++;
    return 0;
}

static int count_push_proto(const char *body, size_t n)
{
    pb_count c = {0};
    if (walk((const unsigned char *)body, n, on_stream, &c) != 0 || c.entries == 0) {
        return -1;
    }
    stats.streams += c.streams;
    stats.entries += c.entries;
    free(stats.sample_line);
    stats.sample_line = strndup((const char *)c.line, c.line_len);
    return 0;
}

static int count_push(const char *text, size_t n)
{
    return stats.requests == 1 ? count_push_parsed(text, n) : count_push_scanned(text, n);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    if (type != NULL) {
        MHD_add_response_header(r, "Content-Type", type);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result stats_reply(struct MHD_Connection *c)
{
    json_t *o = json_pack(
        "{sI sI sI sI sI sI sI ss?}", "requests", (json_int_t)stats.requests,
        "wire_bytes", (json_int_t)stats.wire_bytes, "body_bytes",
        (json_int_t)stats.body_bytes, "decoded_bytes", (json_int_t)stats.decoded_bytes,
        "streams", (json_int_t)stats.streams, "entries", (json_int_t)stats.entries,
        "errors", (json_int_t)stats.errors, "sample_line", stats.sample_line);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    enum MHD_Result r = reply(c, 200, text != NULL ? text : "{}", "application/json");
    free(text);
    return r;
}

static enum MHD_Result handle_push(struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, request *rq)
{
    size_t wire = strlen(method) + 1 + strlen(url) + 1 + strlen(version) + 2 + 2;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_len, &wire);
    wire += rq->len;
    stats.requests++;
    stats.wire_bytes += wire;
    stats.body_bytes += rq->len;
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    char *plain = NULL;
    size_t plain_len = rq->len;
    const char *text = rq->body != NULL ? rq->body : "";
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    int proto = type != NULL && strncmp(type, "application/x-protobuf", 22) == 0;
    if (proto) {
        /* Loki's protobuf push is always snappy-compressed. */
        plain = rq->body != NULL ? unsnappy(rq->body, rq->len, &plain_len) : NULL;
        text = plain;
    } else if (enc != NULL && strcmp(enc, "gzip") == 0) {
        plain = gunzip(rq->body, rq->len, &plain_len);
        text = plain;
    }
    int ok =
        !rq->too_big && text != NULL &&
        (proto ? count_push_proto(text, plain_len) : count_push(text, plain_len)) == 0;
    if (ok) {
        stats.decoded_bytes += plain_len;
    } else {
        stats.errors++;
    }
    free(plain);
    return ok ? reply(c, 204, "", NULL)
              : reply(c, 400, "unreadable push body\n", "text/plain");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    (void)cls;
    request *rq = *state;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        *state = rq;
        return rq != NULL ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        if (rq->len + *upload_size > MAX_BODY) {
            rq->too_big = 1;
        } else {
            if (rq->len + *upload_size > rq->cap) {
                size_t cap = (rq->len + *upload_size) * 2;
                char *p = realloc(rq->body, cap);
                if (p == NULL) {
                    return MHD_NO;
                }
                rq->body = p;
                rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0) {
        return stats_reply(c);
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/reset") == 0) {
        free(stats.sample_line);
        memset(&stats, 0, sizeof(stats));
        return reply(c, 204, "", NULL);
    }
    if (strcmp(method, "POST") == 0 && strcmp(url, "/loki/api/v1/push") == 0) {
        return handle_push(c, url, method, version, rq);
    }
    return reply(c, 404, "not found\n", "text/plain");
}

static void on_done(void *cls, struct MHD_Connection *c, void **state,
                    enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    request *rq = *state;
    if (rq != NULL) {
        free(rq->body);
        free(rq);
        *state = NULL;
    }
}

int main(int argc, char **argv)
{
    int lifetime = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--lifetime") == 0) {
            lifetime = atoi(argv[i + 1]);
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "bench_loki_recv: cannot start the HTTP daemon\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info != NULL ? (unsigned)info->port : 0u);
    fflush(stdout);
    time_t end = time(NULL) + lifetime;
    while (!stop && time(NULL) < end) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int n = poll(&p, 1, 500);
        if (n > 0) {
            char buf[256];
            if (read(0, buf, sizeof(buf)) <= 0) {
                break; /* the driver is gone */
            }
        }
    }
    MHD_stop_daemon(d);
    free(stats.sample_line);
    return 0;
}
