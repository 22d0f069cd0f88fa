/*
 * fuzz_sink_uri.c - sink targets and adapter target strings, through the
 * parse-only entry point sl_sink_uri_check(): every scheme (stdout, stderr,
 * file:, pretty, null, syslog[:unix:|udp://|tcp://|tls://], loki:URL,
 * otlp[:URL]) with its option query. The first byte of the input picks a
 * scheme prefix (or none) and whether URL credentials are put in after the
 * first "://"; the rest is the target (up to its first NUL).
 *
 * Properties:
 *   - a check opens and creates nothing: no open(2), socket, connect, name
 *     lookup, pipe, rename, unlink, thread or curl handle while it runs
 *     (each is wrapped at link time: -Wl,--wrap, fuzz.cmake), no new file
 *     descriptor, and the working directory, an empty temporary one, stays
 *     empty;
 *   - a refused target gives a non-empty, NUL-terminated error text with the
 *     status in err.code, and no field of the error echoes the URL's
 *     password (neither the one put in, nor one the input wrote itself);
 *   - the answer is deterministic: sl_sink_from_uri()'s own check
 *     (sl__sink_target, check only) gives the same status and text again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>

#include "config.h"
#include "fuzz.h"
#include "internal.h"
#include "spanlog/spanlog.h"

/* ---- what a check must not do ------------------------------------------------ */

static bool checking; /* inside a check: every call below is a failure */
static int forbidden; /* calls made while checking */
static const char *what;

static void called(const char *name)
{
    if (checking) {
        forbidden++;
        what = name;
    }
}

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
    int mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    called("open");
    return __real_open(path, flags, mode);
}

#define WRAP(ret, name, params, args)                                                    \
    ret __real_##name params;                                                            \
    ret __wrap_##name params;                                                            \
    ret __wrap_##name params                                                             \
    {                                                                                    \
        called(#name);                                                                   \
        return __real_##name args;                                                       \
    }

WRAP(int, socket, (int d, int t, int p), (d, t, p))
WRAP(int, connect, (int fd, const struct sockaddr *a, socklen_t n), (fd, a, n))
WRAP(int, getaddrinfo,
     (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r),
     (n, s, h, r))
WRAP(int, pipe2, (int fds[2], int flags), (fds, flags))
WRAP(int, rename, (const char *a, const char *b), (a, b))
WRAP(int, unlink, (const char *p), (p))
WRAP(int, pthread_create,
     (pthread_t * t, const pthread_attr_t *a, void *(*fn)(void *), void *arg),
     (t, a, fn, arg))
#ifdef SL_FUZZ_WRAP_CURL /* a build with libcurl (Loki or OTLP) */
WRAP(void *, curl_easy_init, (void), ())
#endif

/* ---- the environment ---------------------------------------------------------- */

static char workdir[64];
static int home =
    -1; /* the directory we were started in (corpus paths are relative to it) */

/* Nothing but "." and ".." in the working directory. */
static bool cwd_empty(bool quiet)
{
    DIR *d = opendir(".");
    FUZZ_CHECK(d != NULL);
    bool empty = true;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            if (!quiet) {
                fprintf(stderr, "created: %s/%s\n", workdir, e->d_name);
            }
            empty = false;
        }
    }
    closedir(d);
    return empty;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    FUZZ_CHECK(d != NULL);
    int n = 0;
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

static void remove_workdir(void)
{
    rmdir(workdir); /* empty, unless a check failed: then it is kept */
}

/* Checks run in the empty directory; libFuzzer's own files are relative to home. */
static void enter(void)
{
    FUZZ_CHECK(chdir(workdir) == 0);
}

static void leave(void)
{
    FUZZ_CHECK(fchdir(home) == 0);
}

static void setup(void)
{
    static bool done;
    if (done) {
        return;
    }
    done = true;
    /* The target alone decides: no adapter variable from the environment. */
    extern char **environ;
    for (bool again = true; again;) {
        again = false;
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "SPANLOG_", 8) == 0 || strncmp(*e, "OTEL_", 5) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
                again = true;
                break;
            }
        }
    }
    snprintf(workdir, sizeof workdir, "/tmp/fuzz-sink-uri-XXXXXX");
    FUZZ_CHECK(mkdtemp(workdir) != NULL);
    home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FUZZ_CHECK(home >= 0);
    atexit(remove_workdir);
    enter();
    sl_set_diagnostics(SL_DIAG_OFF);
    /* The watch works: opening a sink for real is seen, by every check. */
    sl_sink *sink = NULL;
    int fds = open_fds();
    checking = true;
    FUZZ_CHECK(sl_sink_from_uri("file:selftest.log", &sink, NULL) == SL_OK);
    checking = false;
    FUZZ_CHECK(forbidden > 0 && open_fds() > fds && !cwd_empty(true));
    sl_sink_free(sink, 0);
    FUZZ_CHECK(unlink("selftest.log") == 0 && cwd_empty(false) && open_fds() == fds);
    forbidden = 0;
    leave();
}

/* ---- the target ------------------------------------------------------------------ */

static const char *const prefixes[] = {
    "",
    "stdout",
    "stderr?buffered=1&buffer_size=",
    "file:",
    "FILE:out.log?",
    "pretty",
    "pretty:stderr?color=",
    "null",
    "syslog",
    "syslog:unix:",
    "syslog:udp://",
    "syslog:tcp://",
    "syslog:tls://",
    "SysLog:tcp://[::1]:6514?",
    "loki:",
    "loki:http://",
    "LOKI:HTTPS://",
    "otlp",
    "otlp:http://",
    "otlp:https://",
};
#define NPREFIX (sizeof prefixes / sizeof prefixes[0])

#define SECRET "Zq7Secret9xW"

/*
 * The "://" of the URL that a target is ("loki:http://...", "otlp:https://",
 * "syslog:tcp://"): the first one, when only schemes (letters and ':') come
 * before it; NULL when the target is not a URL (one inside a query value or
 * a path is just text).
 */
static char *url_sep(char *uri)
{
    char *p = strstr(uri, "://");
    if (p == NULL) {
        return NULL;
    }
    for (const char *q = uri; q < p; q++) {
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == ':')) {
            return NULL;
        }
    }
    return p;
}

/* The password of the target's URL ("scheme://user:password@"), or NULL. */
static const char *password(char *uri, size_t *len)
{
    const char *p = url_sep(uri);
    if (p == NULL) {
        return NULL;
    }
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth; i++) {
        if (p[i] == '@') {
            at = p + i; /* the last '@' of the authority ends the userinfo */
        }
    }
    const char *colon = at != NULL ? memchr(p, ':', (size_t)(at - p)) : NULL;
    if (colon == NULL) {
        return NULL;
    }
    *len = (size_t)(at - colon - 1);
    return colon + 1;
}

static size_t count(const char *hay, const char *needle, size_t n)
{
    size_t k = 0;
    for (const char *p = hay; n > 0 && (p = memmem(p, strlen(p), needle, n)) != NULL;
         p++) {
        k++;
    }
    return k;
}

static bool has(const char *hay, const char *needle, size_t n)
{
    return n > 0 && memmem(hay, strlen(hay), needle, n) != NULL;
}

static void check_no_secret(const sl_error *e, const char *secret, size_t n)
{
    if (has(e->text, secret, n) || has(e->name, secret, n) || has(e->value, secret, n)) {
        fprintf(stderr, "echoed the password \"%.*s\": %s [%s=%s]\n", (int)n, secret,
                e->text, e->name, e->value);
        FUZZ_CHECK(!"an error echoes URL credentials");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0) {
        return 0;
    }
    uint8_t sel = data[0];
    const char *prefix = prefixes[sel % NPREFIX];
    size_t rest = strnlen((const char *)data + 1, size - 1);
    size_t plen = strlen(prefix);
    char *uri = malloc(plen + rest + sizeof "fuzzuser:" SECRET "@" + 1);
    memcpy(uri, prefix, plen);
    memcpy(uri + plen, data + 1, rest);
    uri[plen + rest] = '\0';
    bool creds = (sel & 0x80) != 0;
    char *sep = creds ? url_sep(uri) : NULL;
    if (sep != NULL) {
        const char *ins = "fuzzuser:" SECRET "@";
        size_t il = strlen(ins);
        memmove(sep + 3 + il, sep + 3, strlen(sep + 3) + 1);
        memcpy(sep + 3, ins, il);
    }

    enter();
    int fds = open_fds();
    sl_error err;
    sl_error_init(&err);
    forbidden = 0;
    checking = true;
    sl_status st = sl_sink_uri_check(uri, &err);
    checking = false;
    if (forbidden != 0) {
        fprintf(stderr, "checking \"%s\" called %s\n", uri, what);
    }
    FUZZ_CHECK(forbidden == 0);
    FUZZ_CHECK(open_fds() == fds);
    FUZZ_CHECK(cwd_empty(false));

    if (st != SL_OK) {
        FUZZ_CHECK(err.code == st);
        FUZZ_CHECK(memchr(err.text, '\0', sizeof err.text) != NULL);
        FUZZ_CHECK(memchr(err.name, '\0', sizeof err.name) != NULL);
        FUZZ_CHECK(memchr(err.value, '\0', sizeof err.value) != NULL);
        FUZZ_CHECK(err.text[0] != '\0');
        FUZZ_CHECK(err.position >= -1);
        if (sep != NULL && count(uri, SECRET, strlen(SECRET)) == 1) {
            check_no_secret(&err, SECRET, strlen(SECRET));
        }
        size_t pl = 0;
        const char *pw = password(uri, &pl);
        /* a password of the input's own, when long enough to be told apart
         * from the words of an error text, and written only once */
        char own[128];
        if (pw != NULL && pl >= 8 && pl < sizeof own) {
            memcpy(own, pw, pl);
            own[pl] = '\0';
            if (count(uri, own, pl) == 1) {
                check_no_secret(&err, own, pl);
            }
        }
    } else {
        FUZZ_CHECK(err.code == SL_OK);
    }

    /* sl_sink_from_uri's own check answers the same */
    sl_error again;
    sl_error_init(&again);
    sl_sink *none = NULL;
    checking = true;
    sl_status st2 = sl__sink_target(uri, true, &none, &again);
    checking = false;
    FUZZ_CHECK(forbidden == 0 && none == NULL);
    FUZZ_CHECK(st2 == st);
    FUZZ_CHECK(strcmp(again.text, err.text) == 0);
    FUZZ_CHECK(strcmp(again.name, err.name) == 0 && again.position == err.position);
    FUZZ_CHECK(cwd_empty(false));
    leave();
    free(uri);
    return 0;
}
