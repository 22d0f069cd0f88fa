/*
 * fd_files.c - temp files, line parsing and child processes for the fd sink
 * tests (see fd_files.h).
 */
#include "unit/fd_files.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

void temp_path(char *out, size_t cap, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(out, cap, "%s/spanlog_%s_%d_XXXXXX", dir ? dir : "/tmp", tag, (int)getpid());
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
}

char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

size_t for_each_line(const char *data, size_t len, line_fn fn, void *user)
{
    size_t lines = 0, off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        if (nl == NULL) {
            fail_msg("last line has no newline");
        }
        size_t n = (size_t)(nl - (data + off));
        json_error_t err;
        json_t *obj = json_loadb(data + off, n, 0, &err);
        if (obj == NULL) {
            fail_msg("line %zu does not parse: %s: %.60s", lines, err.text, data + off);
        }
        assert_true(json_is_object(obj));
        if (fn != NULL) {
            fn(obj, user);
        }
        json_decref(obj);
        lines++;
        off += n + 1;
    }
    return lines;
}

int jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_integer(v));
    return (int)json_integer_value(v);
}

void run_processes(int n, int (*fn)(const char *path, int p), const char *path)
{
    pid_t kids[16];
    assert_true(n > 0 && n <= (int)(sizeof kids / sizeof kids[0]));
    for (int p = 0; p < n; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            _exit(fn(path, p));
        }
    }
    for (int p = 0; p < n; p++) {
        int status;
        assert_int_equal(waitpid(kids[p], &status, 0), kids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}
