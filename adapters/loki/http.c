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

#include "adapters/loki/loki_internal.h"

struct sl__loki_http {
    CURL *curl;
    struct curl_slist *headers;
    const sl__loki_config *cfg;
    char errbuf[CURL_ERROR_SIZE];
    /* per request */
    char body[512];
    size_t body_len;
    int64_t retry_after_ms;
    int64_t deadline_ns;
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

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    sl__loki_http *h = user;
    size_t n = size * nmemb;
    size_t room = sizeof(h->body) - 1 - h->body_len;
    size_t take = n < room ? n : room;
    memcpy(h->body + h->body_len, data, take);
    h->body_len += take;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    sl__loki_http *h = user;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && contains_ci(data, sizeof(name) - 1, name)) {
        h->retry_after_ms = sl__loki_retry_after_ms(
            data + sizeof(name) - 1, n - (sizeof(name) - 1), sl__now_ns() / 1000000000);
    }
    return n;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    sl__loki_http *h = user;
    (void)dt, (void)dn, (void)ut, (void)un;
    return h->deadline_ns != 0 && sl__monotonic_ns() >= h->deadline_ns;
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
    h->curl = curl_easy_init();
    bool ok = h->curl != NULL;
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
    h->headers = l;
    if (!ok) {
        sl__loki_http_free(h);
        return NULL;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, cfg->push_url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "spanlog/" SPANLOG_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, cfg->tls_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, cfg->tls_verify ? 2L : 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cfg->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    }
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
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
    }
    curl_slist_free_all(h->headers);
    sl__free(h);
}

/* Server text made safe to pass on: one line, printable ASCII kept. */
static void sanitise(const char *in, size_t n, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    while (j > 0 && out[j - 1] == ' ') {
        j--;
    }
    out[j] = '\0';
}

void sl__loki_http_post(sl__loki_http *h, const char *body, size_t len,
                        int64_t deadline_ns, sl__loki_answer *ans)
{
    CURL *c = h->curl;
    h->body_len = 0;
    h->errbuf[0] = '\0';
    h->retry_after_ms = -1;
    h->deadline_ns = deadline_ns;
    long timeout = h->cfg->request_timeout_ms;
    if (deadline_ns != 0) {
        int64_t left = (deadline_ns - sl__monotonic_ns()) / 1000000;
        if (left < 1) {
            left = 1;
        }
        if (left < timeout) {
            timeout = (long)left;
        }
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);

    CURLcode rc = curl_easy_perform(c);
    ans->retry_after_ms = -1;
    ans->status = 0;
    if (rc != CURLE_OK) {
        bool aborted = rc == CURLE_ABORTED_BY_CALLBACK ||
                       (deadline_ns != 0 && sl__monotonic_ns() >= deadline_ns);
        ans->outcome = aborted ? SL__LOKI_ABORTED : SL__LOKI_RETRY;
        char tmp[CURL_ERROR_SIZE + 64];
        snprintf(tmp, sizeof(tmp), "transport: %s",
                 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        sanitise(tmp, strlen(tmp), ans->text, sizeof(ans->text));
        return;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    ans->status = (int)status;
    ans->outcome = sl__loki_classify((int)status, h->body, h->body_len);
    if (status == 429 || status == 503) {
        ans->retry_after_ms = h->retry_after_ms;
    }
    char tmp[sizeof(h->body) + 32];
    int k = snprintf(tmp, sizeof(tmp), "HTTP %ld: ", status);
    memcpy(tmp + k, h->body, h->body_len);
    sanitise(tmp, (size_t)k + h->body_len, ans->text, sizeof(ans->text));
}
