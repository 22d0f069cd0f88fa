/*
 * http.c - one push request with libcurl, and what the answer means.
 *
 * The easy handle lives on the worker thread and is reused, so connections
 * are kept alive between batches. Nothing here writes the URL, headers or
 * credentials into any text it returns: error texts come from the server's
 * body or from libcurl's error buffer, which names host and port only.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

#include "adapters/http/curl_util.h"
#include "adapters/loki/loki_internal.h"

struct sl__loki_http {
    sl__http_client c; /* the easy handle on its multi handle, the answer */
    const sl__loki_config *cfg;
};

/* Offset just past the first case-insensitive match of needle in hay[0..n), or 0. */
static size_t find_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && tolower((unsigned char)hay[i + j]) == needle[j]) {
            j++;
        }
        if (j == m) {
            return i + m;
        }
    }
    return 0;
}

static bool contains_ci(const char *hay, size_t n, const char *needle)
{
    return find_ci(hay, n, needle) != 0;
}

/* The decimal number right after needle (quotes and blanks skipped), or -1. */
static long long number_after(const char *body, size_t len, const char *needle)
{
    size_t i = find_ci(body, len, needle);
    if (i == 0) {
        return -1;
    }
    while (i < len && (body[i] == '\'' || body[i] == ' ')) {
        i++;
    }
    long long v = -1;
    while (i < len && body[i] >= '0' && body[i] <= '9' && v < (1ll << 50)) {
        v = (v < 0 ? 0 : v * 10) + (body[i++] - '0');
    }
    return v;
}

/*
 * Loki's per-entry and per-stream validation errors (pkg/validation, and the
 * ingester's "total ignored: N out of M"): Loki skips what they name and
 * stores the rest of the push, then answers 400 with them.
 */
static const char *const PARTIAL_MARKERS[] = {
    "max entry size",
    "timestamp too old",
    "timestamp too new",
    "too far behind",
    "out of order",
    "ignored, reason",
    "total ignored",
    "label names; limit",
    "label name too long",
    "label value too long",
    "duplicate label name",
    "at least one label pair",
    "error parsing labels",
    "invalid label name",
    "invalid structured metadata",
    "structured metadata too large",
    "too many structured metadata",
    "structured metadata size",
};

sl__loki_outcome sl__loki_classify(int status, const char *body, size_t len)
{
    if (body == NULL) {
        len = 0;
        body = "";
    }
    if (status >= 200 && status < 300) {
        return SL__LOKI_SENT;
    }
    /* The push is larger than what the server takes at once; retrying the
     * same bytes cannot succeed, halves can. A push above the gRPC message
     * limit fails with a 500 ("grpc: received message larger than max"). */
    if (status == 413 || (status == 500 && contains_ci(body, len, "larger than max"))) {
        return SL__LOKI_TOO_LARGE;
    }
    if (status == 429) {
        /* "ingestion rate limit exceeded for user U (limit: L bytes/sec) while
         * attempting to ingest 'N' lines totaling 'M' bytes, ...": with M above
         * L the push is bigger than the limiter's refill, most likely above its
         * burst too (the burst is not in the text), so it may never fit: split.
         * Otherwise the bucket is only empty for now: retry. */
        long long limit = number_after(body, len, "(limit: ");
        long long total = number_after(body, len, "lines totaling");
        if (limit >= 0 && total > limit && contains_ci(body, len, "rate limit")) {
            return SL__LOKI_TOO_LARGE;
        }
        return SL__LOKI_RETRY;
    }
    if (status == 408 || (status >= 500 && status < 600) || status == 0) {
        return SL__LOKI_RETRY;
    }
    if (status == 401 || status == 403) {
        return SL__LOKI_AUTH;
    }
    if (status == 400) {
        /* Loki 2.9 without allow_structured_metadata: "... includes structured
         * metadata, but this feature is disallowed ..."; our receiver: "structured
         * metadata is not allowed". */
        if (contains_ci(body, len, "structured metadata") &&
            (contains_ci(body, len, "not allowed") ||
             contains_ci(body, len, "disallowed"))) {
            return SL__LOKI_NO_METADATA;
        }
        for (size_t i = 0; i < sizeof(PARTIAL_MARKERS) / sizeof(PARTIAL_MARKERS[0]);
             i++) {
            if (contains_ci(body, len, PARTIAL_MARKERS[i])) {
                return SL__LOKI_REJECTED_PARTIAL;
            }
        }
    }
    return SL__LOKI_REJECTED;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *a,
                                     const char *b, bool *ok)
{
    if (!*ok) {
        return list;
    }
    size_t n = strlen(a) + (b ? strlen(b) : 0) + 1;
    char *s = sl__malloc(n);
    if (s == NULL) {
        *ok = false;
        return list;
    }
    snprintf(s, n, "%s%s", a, b ? b : "");
    struct curl_slist *nl = curl_slist_append(list, s);
    memset(s, 0, n); /* may hold the token */
    sl__free(s);
    if (nl == NULL) {
        *ok = false;
        return list;
    }
    return nl;
}

sl__loki_http *sl__loki_http_new(const sl__loki_config *cfg)
{
    sl__loki_http *h = sl__calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->cfg = cfg;
    bool ok = true;
    struct curl_slist *l = NULL;
    if (cfg->encoding == SL_LOKI_ENCODING_PROTOBUF) {
        /* Snappy is part of the protobuf body's format, not a content coding. */
        l = add_header(l, "Content-Type: application/x-protobuf", NULL, &ok);
    } else {
        l = add_header(l, "Content-Type: application/json", NULL, &ok);
        if (cfg->gzip) {
            l = add_header(l, "Content-Encoding: gzip", NULL, &ok);
        }
    }
    /* libcurl would otherwise wait for "100 Continue" on bodies over 1 KiB. */
    l = add_header(l, "Expect:", NULL, &ok);
    if (cfg->tenant != NULL) {
        l = add_header(l, "X-Scope-OrgID: ", cfg->tenant, &ok);
    }
    if (cfg->bearer_token != NULL) {
        l = add_header(l, "Authorization: Bearer ", cfg->bearer_token, &ok);
    }
    ok = sl__http_client_init(&h->c, cfg->push_url, l, "spanlog/" SPANLOG_VERSION_STRING,
                              cfg->tls_verify, cfg->ca_file) &&
         ok;
    if (!ok) {
        sl__loki_http_free(h);
        return NULL;
    }
    CURL *c = h->c.curl;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    if (cfg->username != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->password);
    }
    return h;
}

void sl__loki_http_free(sl__loki_http *h)
{
    if (h == NULL) {
        return;
    }
    sl__http_client_free(&h->c);
    sl__free(h);
}

void sl__loki_http_post(sl__loki_http *h, const char *body, size_t len, sl__deliver *d,
                        sl__loki_answer *ans)
{
    bool cancelled = false;
    ans->retry_after_ms = -1;
    int status = sl__http_client_post(&h->c, body, len, d, h->cfg->request_timeout_ms,
                                      &cancelled, ans->text, sizeof(ans->text));
    ans->status = status;
    if (status == 0) {
        ans->outcome = cancelled ? SL__LOKI_ABORTED : SL__LOKI_RETRY;
        return;
    }
    ans->outcome = sl__loki_classify(status, h->c.body, h->c.body_len);
    if (status == 429 || status == 503) {
        ans->retry_after_ms = h->c.retry_after_ms;
    }
    /* The first 512 bytes of the server's text are what an error report shows. */
    size_t shown = h->c.body_len < 512 ? h->c.body_len : 512;
    char tmp[512 + 32];
    int k = snprintf(tmp, sizeof(tmp), "HTTP %d: ", status);
    memcpy(tmp + k, h->c.body, shown);
    sl__http_sanitise(tmp, (size_t)k + shown, ans->text, sizeof(ans->text));
}
