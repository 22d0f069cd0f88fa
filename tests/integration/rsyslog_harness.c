/*
 * rsyslog_harness.c - start, probe, stop and read a private rsyslogd.
 */
#include "integration/rsyslog_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* RSL_BIN, or SPANLOG_RSYSLOGD when set (another install location). */
static const char *rsl_bin(void)
{
    const char *env = getenv("SPANLOG_RSYSLOGD");
    return env != NULL && *env != '\0' ? env : RSL_BIN;
}

int64_t rsl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short pause inside loops that poll a condition up to a deadline. */
static void poll_pause(void)
{
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
}

/* A loopback port that was free a moment ago (bind port 0, read it, close). */
int rsl_free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

static int write_config(rsl *r)
{
    char tls[1600] = "";
    if (r->tls_port > 0) {
        snprintf(tls, sizeof tls,
                 "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\" "
                 "StreamDriver.Name=\"ossl\" StreamDriver.Mode=\"1\" "
                 "StreamDriver.AuthMode=\"anon\" StreamDriver.CAFile=\"%s\" "
                 "StreamDriver.CertFile=\"%s/server.pem\" "
                 "StreamDriver.KeyFile=\"%s/server.key\")\n",
                 r->tls_port, r->ca, r->dir, r->dir);
    }
    FILE *f = fopen(r->conf, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(
        f,
        "$MaxMessageSize 256k\n"
        "global(workDirectory=\"%s\" parser.escapeControlCharactersOnReceive=\"off\")\n"
        "main_queue(queue.size=\"400000\")\n"
        "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
        "input(type=\"imuxsock\" Socket=\"%s\" RateLimit.Interval=\"0\")\n"
        "input(type=\"imuxsock\" Socket=\"%s\" UseSpecialParser=\"off\" "
        "ParseHostname=\"on\" IgnoreTimestamp=\"off\" RateLimit.Interval=\"0\")\n"
        "module(load=\"imudp\")\n"
        "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\")\n"
        "module(load=\"imtcp\")\n"
        "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n"
        "%s"
        "template(name=\"fields\" type=\"list\" option.jsonf=\"on\") {\n"
        "  property(outname=\"pri\" name=\"pri\" format=\"jsonf\")\n"
        "  property(outname=\"time\" name=\"timereported\" dateFormat=\"rfc3339\" "
        "format=\"jsonf\")\n"
        "  property(outname=\"host\" name=\"hostname\" format=\"jsonf\")\n"
        "  property(outname=\"app\" name=\"app-name\" format=\"jsonf\")\n"
        "  property(outname=\"procid\" name=\"procid\" format=\"jsonf\")\n"
        "  property(outname=\"msgid\" name=\"msgid\" format=\"jsonf\")\n"
        "  property(outname=\"sd\" name=\"structured-data\" format=\"jsonf\")\n"
        "  property(outname=\"msg\" name=\"msg\" format=\"jsonf\")\n"
        "  property(outname=\"input\" name=\"inputname\" format=\"jsonf\")\n"
        "}\n"
        "action(type=\"omfile\" file=\"%s\" template=\"fields\")\n",
        r->dir, r->local_sock, r->rfc5424_sock, r->udp_port, r->tcp_port, tls, r->out);
    return fclose(f) == 0 ? 0 : -1;
}

static int spawn(rsl *r)
{
    char pidfile[300];
    snprintf(pidfile, sizeof pidfile, "%s/rsyslogd.pid", r->dir);
    unlink(pidfile);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        /* The daemon must not outlive a test that crashed. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(rsl_bin(), "rsyslogd", "-n", "-f", r->conf, "-i", pidfile, (char *)NULL);
        _exit(127);
    }
    r->pid = pid;
    return 0;
}

int rsl_send_raw(const rsl *r, char input, const char *msg)
{
    size_t n = strlen(msg);
    if (input == 'u' || input == 't') {
        struct sockaddr_in a = {
            .sin_family = AF_INET,
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
            .sin_port = htons((uint16_t)(input == 'u' ? r->udp_port : r->tcp_port))};
        int fd = socket(AF_INET, input == 'u' ? SOCK_DGRAM : SOCK_STREAM, 0);
        if (fd < 0) {
            return -1;
        }
        int rc = -1;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            if (input == 'u') {
                rc = send(fd, msg, n, 0) == (ssize_t)n ? 0 : -1;
            } else {
                char frame[4096];
                int fl = snprintf(frame, sizeof frame, "%zu %s", n, msg);
                rc = fl > 0 && (size_t)fl < sizeof frame &&
                             send(fd, frame, (size_t)fl, MSG_NOSIGNAL) == fl
                         ? 0
                         : -1;
            }
        }
        close(fd);
        return rc;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    const char *path = input == 'l' ? r->local_sock : r->rfc5424_sock;
    if (strlen(path) >= sizeof a.sun_path) {
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) {
        return -1;
    }
    int rc =
        sendto(fd, msg, n, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)n ? 0 : -1;
    close(fd);
    return rc;
}

bool rsl_line_has(const char *line, const char *needle)
{
    return strstr(line, needle) != NULL;
}

static size_t read_lines(const rsl *r, rsl_reader *rd,
                         void (*fn)(void *user, const char *line, size_t len),
                         void *user);

/* The TLS input is ready when it accepts connections (no plain probe there). */
static bool tls_listening(const rsl *r)
{
    if (r->tls_port <= 0) {
        return true;
    }
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)r->tls_port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

typedef struct probe_state {
    char markers[4][64];
    bool seen[4];
} probe_state;

static void probe_line(void *user, const char *line, size_t len)
{
    (void)len;
    probe_state *p = user;
    for (int i = 0; i < 4; i++) {
        if (rsl_line_has(line, p->markers[i])) {
            p->seen[i] = true;
        }
    }
}

/* Sends a probe to every input until each has come out in out.jsonl. */
static int wait_ready(rsl *r, int timeout_ms)
{
    static unsigned round;
    static const char inputs[4] = {'t', 'u', 'l', '5'};
    probe_state p;
    memset(&p, 0, sizeof p);
    round++;
    for (int i = 0; i < 4; i++) {
        snprintf(p.markers[i], sizeof p.markers[i], "rsl-probe-%d-%u-%c", (int)getpid(),
                 round, inputs[i]);
    }
    /* Its own reader: records of the test that arrive meanwhile stay unread
     * for the test. */
    rsl_reader rd = {.off = r->reader.off};
    int64_t deadline = rsl_now_ms() + timeout_ms;
    while (rsl_now_ms() < deadline) {
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            r->pid = 0;
            fprintf(stderr, "rsyslogd exited during start-up (status %d); see %s\n",
                    status, r->log);
            return -1;
        }
        for (int i = 0; i < 4; i++) {
            if (!p.seen[i]) {
                char msg[200];
                if (inputs[i] == 'l') {
                    snprintf(msg, sizeof msg, "<14>Jan  1 00:00:00 probe: %s",
                             p.markers[i]);
                } else {
                    snprintf(msg, sizeof msg, "<14>1 - probe probe - - - %s",
                             p.markers[i]);
                }
                (void)rsl_send_raw(r, inputs[i], msg);
            }
        }
        read_lines(r, &rd, probe_line, &p);
        if (p.seen[0] && p.seen[1] && p.seen[2] && p.seen[3] && tls_listening(r)) {
            free(rd.partial);
            return 0;
        }
        poll_pause();
    }
    free(rd.partial);
    fprintf(stderr,
            "rsyslogd not ready within %d ms (tcp %d udp %d local %d 5424 %d); see %s\n",
            timeout_ms, p.seen[0], p.seen[1], p.seen[2], p.seen[3], r->log);
    return -1;
}

static int start(rsl *r, bool tls);

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "rsyslog harness: failed (%d): %s\n", rc, cmd);
        return -1;
    }
    return 0;
}

/* A CA, a server certificate for localhost/127.0.0.1 signed by it, and a
 * second CA that signed nothing, made with the openssl tool. */
static int make_certs(rsl *r)
{
    char cmd[2048];
    snprintf(r->ca, sizeof r->ca, "%s/ca.pem", r->dir);
    snprintf(r->other_ca, sizeof r->other_ca, "%s/other-ca.pem", r->dir);
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    snprintf(cmd, sizeof cmd,
             "cd '%s' && "
             "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 "
             "-subj '/CN=spanlog test CA' 2>/dev/null && "
             "openssl req -x509 %s -keyout other-ca.key -out other-ca.pem -days 2 "
             "-subj '/CN=spanlog other CA' 2>/dev/null && "
             "openssl req %s -keyout server.key -out server.csr -subj '/CN=localhost' "
             "2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out server.pem -days 2 -extfile ext.cnf 2>/dev/null",
             r->dir, ec, ec, ec);
    return run(cmd);
}

int rsl_start_tls(rsl *r)
{
    return start(r, true);
}

int rsl_start(rsl *r)
{
    return start(r, false);
}

static int start(rsl *r, bool tls)
{
    memset(r, 0, sizeof *r);
    if (access(rsl_bin(), X_OK) != 0) {
        fprintf(
            stderr,
            "FAIL: %s is missing: the syslog integration tests need the Debian package "
            "rsyslog (apt-get install rsyslog)\n",
            rsl_bin());
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/spanlog-rsyslog-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(r->dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(r->conf, sizeof r->conf, "%s/rsyslog.conf", r->dir);
    snprintf(r->out, sizeof r->out, "%s/out.jsonl", r->dir);
    snprintf(r->local_sock, sizeof r->local_sock, "%s/local.sock", r->dir);
    snprintf(r->rfc5424_sock, sizeof r->rfc5424_sock, "%s/rfc5424.sock", r->dir);
    snprintf(r->log, sizeof r->log, "%s/rsyslogd.log", r->dir);
    if (tls) {
        glob_t g;
        bool have = glob("/usr/lib/*/rsyslog/lmnsd_ossl.so", 0, NULL, &g) == 0 ||
                    glob("/usr/lib/rsyslog/lmnsd_ossl.so", 0, NULL, &g) == 0;
        globfree(&g);
        if (!have) {
            fprintf(stderr,
                    "FAIL: rsyslog's OpenSSL stream driver (lmnsd_ossl.so) is "
                    "missing: the TLS tests need the Debian package rsyslog-openssl\n");
            return -1;
        }
        if (access("/usr/bin/openssl", X_OK) != 0 || make_certs(r) != 0) {
            fprintf(stderr,
                    "FAIL: could not make test certificates (Debian package openssl)\n");
            return -1;
        }
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        r->udp_port = rsl_free_port(SOCK_DGRAM);
        r->tcp_port = rsl_free_port(SOCK_STREAM);
        r->tls_port = tls ? rsl_free_port(SOCK_STREAM) : 0;
        if (r->udp_port <= 0 || r->tcp_port <= 0 || write_config(r) != 0 ||
            spawn(r) != 0) {
            fprintf(stderr, "rsyslog harness: setup failed: %s\n", strerror(errno));
            return -1;
        }
        if (wait_ready(r, 15000) == 0) {
            r->reader.off = 0; /* the test reads from the start; probes are filtered */
            return 0;
        }
        /* Most likely a port was taken between the probe and rsyslogd's bind. */
        rsl_stop(r);
    }
    return -1;
}

void rsl_stop(rsl *r)
{
    if (r->pid <= 0) {
        return;
    }
    kill(r->pid, SIGTERM);
    int64_t deadline = rsl_now_ms() + 15000;
    int status;
    while (waitpid(r->pid, &status, WNOHANG) == 0) {
        if (rsl_now_ms() > deadline) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, &status, 0);
            break;
        }
        poll_pause();
    }
    r->pid = 0;
}

int rsl_restart(rsl *r)
{
    rsl_stop(r);
    if (spawn(r) != 0) {
        return -1;
    }
    return wait_ready(r, 15000);
}

void rsl_destroy(rsl *r)
{
    rsl_stop(r);
    free(r->reader.partial);
    r->reader.partial = NULL;
    if (r->dir[0] != '\0' && getenv("SPANLOG_KEEP_RSYSLOG_DIR") == NULL) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", r->dir);
        }
    }
}

static size_t read_lines(const rsl *r, rsl_reader *rd,
                         void (*fn)(void *user, const char *line, size_t len), void *user)
{
    int fd = open(r->out, O_RDONLY);
    if (fd < 0) {
        return 0;
    }
    size_t lines = 0;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)rd->off);
        if (n <= 0) {
            break;
        }
        rd->off += n;
        char *chunk = realloc(rd->partial, rd->partial_len + (size_t)n + 1);
        if (chunk == NULL) {
            break;
        }
        memcpy(chunk + rd->partial_len, buf, (size_t)n);
        size_t total = rd->partial_len + (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < total; i++) {
            if (chunk[i] == '\n') {
                chunk[i] = '\0';
                fn(user, chunk + start, i - start);
                lines++;
                start = i + 1;
            }
        }
        memmove(chunk, chunk + start, total - start);
        rd->partial = chunk;
        rd->partial_len = total - start;
    }
    close(fd);
    return lines;
}

size_t rsl_read(rsl *r, void (*fn)(void *user, const char *line, size_t len), void *user)
{
    return read_lines(r, &r->reader, fn, user);
}

int rsl_counter_init(rsl_counter *c, const char *marker, size_t nseq)
{
    memset(c, 0, sizeof *c);
    c->marker = marker;
    c->mlen = strlen(marker);
    c->nseq = nseq;
    c->seen = calloc(nseq ? nseq : 1, 1);
    return c->seen != NULL ? 0 : -1;
}

void rsl_counter_free(rsl_counter *c)
{
    free(c->seen);
    free(c->first);
    c->seen = NULL;
    c->first = NULL;
}

void rsl_counter_line(void *user, const char *line, size_t len)
{
    rsl_counter *c = user;
    const char *p = strstr(line, c->marker);
    if (p == NULL || p[c->mlen] != '#') {
        return;
    }
    size_t seq = strtoul(p + c->mlen + 1, NULL, 10);
    c->received++;
    if (seq < c->nseq) {
        c->duplicates += c->seen[seq];
        c->seen[seq] = 1;
    }
    if (c->first == NULL) {
        c->first = strndup(line, len);
    }
}

void rsl_counter_wait(rsl *r, rsl_counter *c, size_t want, int timeout_ms)
{
    int64_t deadline = rsl_now_ms() + timeout_ms;
    for (;;) {
        rsl_read(r, rsl_counter_line, c);
        if (c->received >= want || rsl_now_ms() >= deadline) {
            return;
        }
        poll_pause();
    }
}
