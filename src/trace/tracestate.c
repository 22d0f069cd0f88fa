/*
 * tracestate.c - validation of the W3C tracestate header (Trace Context
 * level 1 grammar):
 *
 *   list        = list-member 0*31( OWS "," OWS list-member )
 *   list-member = key "=" value / OWS
 *   key         = simple-key / multi-tenant-key
 *   simple-key  = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
 *   multi-tenant-key = tenant-id "@" system-id
 *   tenant-id   = ( lcalpha / DIGIT ) 0*240( keychar )
 *   system-id   = lcalpha 0*13( keychar )
 *   value       = 0*255( chr ) nblk-chr      ; chr = %x20 / nblk-chr
 *   nblk-chr    = %x21-2B / %x2D-3C / %x3E-7E
 *
 * Empty and blank-only members are allowed and do not count towards the 32
 * members. The header is kept as received (outer blanks trimmed): spanlog
 * does not add its own entry, it only passes the list on.
 */
#include "trace/trace_internal.h"

#define MAX_SIMPLE_KEY 256
#define MAX_TENANT     241
#define MAX_SYSTEM     14
#define MAX_VALUE      256

static inline int is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline int is_keychar(char c)
{
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

static inline int is_value_char(char c)
{
    return c >= 0x20 && c <= 0x7e && c != ',' && c != '=';
}

/* Validates keychar* over [p, p+n). */
static int all_keychars(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_keychar(p[i])) {
            return 0;
        }
    }
    return 1;
}

static int valid_key(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (at == NULL) {
        return n >= 1 && n <= MAX_SIMPLE_KEY && is_lcalpha(k[0]) &&
               all_keychars(k + 1, n - 1);
    }
    size_t tn = (size_t)(at - k);
    size_t sn = n - tn - 1;
    const char *sys = at + 1;
    return tn >= 1 && tn <= MAX_TENANT && (is_lcalpha(k[0]) || is_digit(k[0])) &&
           all_keychars(k + 1, tn - 1) && sn >= 1 && sn <= MAX_SYSTEM &&
           is_lcalpha(sys[0]) && all_keychars(sys + 1, sn - 1);
}

static int valid_value(const char *v, size_t n)
{
    if (n < 1 || n > MAX_VALUE || v[n - 1] == ' ') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_value_char(v[i])) {
            return 0;
        }
    }
    return 1;
}

typedef struct span_ref {
    const char *p;
    size_t n;
} span_ref;

/*
 * Validates the (already trimmed) list [p, p+n). Returns 1 when valid.
 */
static int valid_list(const char *p, size_t n)
{
    span_ref keys[SL_TRACESTATE_MAX_MEMBERS];
    size_t members = 0;
    const char *end = p + n;
    const char *cur = p;
    for (;;) {
        const char *comma = memchr(cur, ',', (size_t)(end - cur));
        const char *mend = comma ? comma : end;
        const char *a = cur;
        const char *b = mend;
        sl__trim_blanks(&a, &b);
        if (a < b) {
            const char *eq = memchr(a, '=', (size_t)(b - a));
            if (eq == NULL || members == SL_TRACESTATE_MAX_MEMBERS) {
                return 0;
            }
            size_t kn = (size_t)(eq - a);
            if (!valid_key(a, kn) || !valid_value(eq + 1, (size_t)(b - eq - 1))) {
                return 0;
            }
            for (size_t i = 0; i < members; i++) {
                if (keys[i].n == kn && memcmp(keys[i].p, a, kn) == 0) {
                    return 0; /* duplicate key */
                }
            }
            keys[members].p = a;
            keys[members].n = kn;
            members++;
        }
        if (comma == NULL) {
            return 1;
        }
        cur = comma + 1;
    }
}

sl_status sl_tracestate_parse(const char *header, size_t len, sl_span_context *ctx)
{
    if (ctx == NULL) {
        return SL_EINVAL;
    }
    ctx->tracestate_len = 0;
    ctx->tracestate[0] = '\0';
    if (header == NULL) {
        return SL_EINVAL;
    }
    const char *p = header;
    const char *end = header + len;
    sl__trim_blanks(&p, &end);
    size_t n = (size_t)(end - p);
    if (!valid_list(p, n)) {
        return SL_EPARSE;
    }
    if (n > SL_TRACESTATE_MAX) {
        return SL_ERANGE;
    }
    memcpy(ctx->tracestate, p, n);
    ctx->tracestate[n] = '\0';
    ctx->tracestate_len = (uint16_t)n;
    return SL_OK;
}
