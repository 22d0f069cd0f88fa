/*
 * syslog_parse.h - a strict RFC 5424 reader for the tests, written from the
 * ABNF independently of the formatter, so the two check each other.
 */
#ifndef SPANLOG_TEST_SYSLOG_PARSE_H
#define SPANLOG_TEST_SYSLOG_PARSE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SP_MAX_ELEMS  4
#define SP_MAX_PARAMS 64
#define SP_VAL_MAX    4096

typedef struct sp_param {
    char name[40];
    char value[SP_VAL_MAX]; /* unescaped */
    size_t value_len;
} sp_param;

typedef struct sp_elem {
    char id[40];
    sp_param params[SP_MAX_PARAMS];
    int nparams;
} sp_elem;

typedef struct sp_msg {
    int pri;
    char timestamp[40];
    char hostname[300];
    char app[60];
    char procid[140];
    char msgid[40];
    sp_elem elems[SP_MAX_ELEMS];
    int nelems;
    bool has_msg;
    const char *msg; /* points into the input */
    size_t msg_len;
} sp_msg;

/* PRINTUSASCII token of 1..max bytes up to the next SP. */
static bool sp_token(const char **p, const char *end, char *out, size_t max)
{
    size_t n = 0;
    while (*p < end && **p != ' ') {
        unsigned char c = (unsigned char)**p;
        if (c < 33 || c > 126 || n >= max) {
            return false;
        }
        out[n++] = (char)c;
        (*p)++;
    }
    out[n] = '\0';
    if (n == 0 || *p >= end) {
        return false;
    }
    (*p)++; /* SP */
    return true;
}

static bool sp_sdname(const char **p, const char *end, char *out)
{
    size_t n = 0;
    while (*p < end) {
        unsigned char c = (unsigned char)**p;
        if (c == '=' || c == ' ' || c == ']' || c == '"') {
            break;
        }
        if (c < 33 || c > 126 || n >= 32) {
            return false;
        }
        out[n++] = (char)c;
        (*p)++;
    }
    out[n] = '\0';
    return n > 0;
}

/* Returns true when buf[0..n) is a well-formed RFC 5424 message. */
static bool sp_parse(const char *buf, size_t n, sp_msg *m)
{
    memset(m, 0, sizeof *m);
    const char *p = buf, *end = buf + n;
    if (p >= end || *p++ != '<') {
        return false;
    }
    int pri = 0, digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 3) {
        pri = pri * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || pri > 191 || p >= end || *p++ != '>') {
        return false;
    }
    m->pri = pri;
    if (end - p < 2 || p[0] != '1' || p[1] != ' ') {
        return false;
    }
    p += 2;
    if (!sp_token(&p, end, m->timestamp, 32) || !sp_token(&p, end, m->hostname, 255) ||
        !sp_token(&p, end, m->app, 48) || !sp_token(&p, end, m->procid, 128) ||
        !sp_token(&p, end, m->msgid, 32)) {
        return false;
    }
    if (p < end && *p == '-') {
        p++;
    } else {
        while (p < end && *p == '[') {
            if (m->nelems == SP_MAX_ELEMS) {
                return false;
            }
            sp_elem *e = &m->elems[m->nelems++];
            p++;
            if (!sp_sdname(&p, end, e->id)) {
                return false;
            }
            while (p < end && *p == ' ') {
                p++;
                if (e->nparams == SP_MAX_PARAMS) {
                    return false;
                }
                sp_param *pa = &e->params[e->nparams++];
                if (!sp_sdname(&p, end, pa->name) || p + 1 >= end || p[0] != '=' ||
                    p[1] != '"') {
                    return false;
                }
                p += 2;
                size_t v = 0;
                for (;;) {
                    if (p >= end || v >= SP_VAL_MAX - 1) {
                        return false;
                    }
                    char c = *p++;
                    if (c == '"') {
                        break;
                    }
                    if (c == ']') {
                        return false; /* must have been escaped */
                    }
                    if (c == '\\' && p < end && (*p == '"' || *p == '\\' || *p == ']')) {
                        c = *p++;
                    }
                    pa->value[v++] = c;
                }
                pa->value[v] = '\0';
                pa->value_len = v;
            }
            if (p >= end || *p++ != ']') {
                return false;
            }
        }
        if (m->nelems == 0) {
            return false;
        }
    }
    if (p == end) {
        return true;
    }
    if (*p++ != ' ') {
        return false;
    }
    m->has_msg = true;
    m->msg = p;
    m->msg_len = (size_t)(end - p);
    return true;
}

static const sp_param *sp_find(const sp_elem *e, const char *name)
{
    for (int i = 0; i < e->nparams; i++) {
        if (strcmp(e->params[i].name, name) == 0) {
            return &e->params[i];
        }
    }
    return NULL;
}

#endif /* SPANLOG_TEST_SYSLOG_PARSE_H */
