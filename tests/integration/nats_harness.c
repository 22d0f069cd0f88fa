/*
 * nats_harness.c - start, stop and restart nats-server for the tests.
 */
#include "nats_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t nsrv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nsrv_pause(void)
{
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

int nsrv_prepare(nsrv *s, bool jetstream)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/spanlog-nats-XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    s->port = free_port();
    s->jetstream = jetstream;
    snprintf(s->url, sizeof(s->url), "nats://127.0.0.1:%d", s->port);
    return s->port > 0 ? 0 : -1;
}

/* 1 when the server sent its INFO line on a fresh connection. */
static int answers(const nsrv *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[8] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok = 0;
    if (fd < 0) {
        return 0;
    }
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && recv(fd, buf, 4, 0) == 4) {
        ok = memcmp(buf, "INFO", 4) == 0;
    }
    close(fd);
    return ok;
}

int nsrv_start(nsrv *s)
{
    char port[16], store[300];
    const char *bin = getenv("SPANLOG_NATS_SERVER");
    int status;
    if (bin == NULL || *bin == '\0') {
        bin = NSRV_BIN;
    }
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(store, sizeof store, "%s/js", s->dir);
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (s->jetstream) {
            execl(bin, "nats-server", "-a", "127.0.0.1", "-p", port, "-js", "-sd", store,
                  (char *)NULL);
        } else {
            execl(bin, "nats-server", "-a", "127.0.0.1", "-p", port, (char *)NULL);
        }
        _exit(127);
    }
    s->pid = pid;
    for (int64_t deadline = nsrv_now_ms() + 15000; nsrv_now_ms() < deadline;) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "nats-server exited at start (see %s)\n", s->log);
            s->pid = 0;
            return -1;
        }
        if (answers(s)) {
            return 0;
        }
        nsrv_pause();
    }
    fprintf(stderr, "nats-server not ready in 15 s (see %s)\n", s->log);
    nsrv_stop(s);
    return -1;
}

int nsrv_launch(nsrv *s, bool jetstream)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        if (nsrv_prepare(s, jetstream) == 0 && nsrv_start(s) == 0) {
            return 0;
        }
        nsrv_destroy(s);
    }
    return -1;
}

void nsrv_stop(nsrv *s)
{
    int status;
    if (s->pid <= 0) {
        return;
    }
    kill(s->pid, SIGTERM);
    for (int64_t deadline = nsrv_now_ms() + 10000;
         waitpid(s->pid, &status, WNOHANG) == 0;) {
        if (nsrv_now_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        nsrv_pause();
    }
    s->pid = 0;
}

void nsrv_destroy(nsrv *s)
{
    char cmd[300];
    nsrv_stop(s);
    if (s->dir[0] != '\0' && strncmp(s->dir, "/tmp/spanlog-nats-", 18) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", s->dir);
        }
    }
    s->dir[0] = '\0';
}
