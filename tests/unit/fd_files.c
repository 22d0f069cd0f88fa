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

#include "core.h"
#include "internal.h"

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

/* ---- hand-made records ------------------------------------------------------ */

sl_record make_record(sl_level level)
{
    sl_record r;
    memset(&r, 0, sizeof r);
    r.level = level;
    r.time_ns = sl__now_ns();
    r.msg = "m";
    r.msg_len = 1;
    return r;
}

size_t make_line(char *buf, size_t cap, int p, int t, int i, size_t pad)
{
    sl__jw w;
    sl__jw_init(&w, buf, cap);
    sl__jw_raw(&w, "{\"p\":", 5);
    sl__jw_int(&w, p);
    sl__jw_raw(&w, ",\"t\":", 5);
    sl__jw_int(&w, t);
    sl__jw_raw(&w, ",\"i\":", 5);
    sl__jw_int(&w, i);
    sl__jw_raw(&w, ",\"pad\":\"", 8);
    for (size_t k = 0; k < pad; k++) {
        sl__jw_char(&w, (char)('a' + (i + k) % 26));
    }
    sl__jw_raw(&w, "\"}\n", 3);
    assert_false(w.overflow);
    assert_true(w.len < cap);
    buf[w.len] = '\0';
    return w.len;
}

void put(sl_sink *sink, sl_level level, int p, int t, int i, size_t pad)
{
    char line[16384];
    size_t len = make_line(line, sizeof line, p, t, i, pad);
    sl_record rec = make_record(level);
    /* the write callback, as the logger calls it */
    sl__sink_write(sink, &rec, line, len);
}

sl_sink_stats stats(const sl_sink *s)
{
    sl_sink_stats st;
    sl_sink_get_stats(s, &st);
    return st;
}

size_t file_lines(const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    size_t lines = len == 0 ? 0 : for_each_line(data, len, NULL, NULL);
    free(data);
    return lines;
}
