/*
 * labels.c - the Loki sink's static labels: validated when the sink is
 * created, with a message that names the label and the reason, rather than
 * met as a stream of 400s later; then encoded once for both body formats.
 */
#include <string.h>

#include "adapters/loki/loki_internal.h"

/* ---- labels --------------------------------------------------------------- */

bool sl__loki_label_name_ok(const char *name, size_t len)
{
    if (name == NULL || len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

size_t sl__loki_repaired_len(const char *s, size_t n)
{
    size_t out = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t sub = 1, len = 1;
        if (c >= 0x80) {
            len = sl__utf8_seq(s + i, n - i, &sub);
        }
        if (c == 0 || len == 0) {
            out += 3; /* U+FFFD */
            i += c == 0 ? 1 : sub;
        } else {
            out += len;
            i += len;
        }
    }
    return out;
}

/* One label checked and appended to the JSON fragment; names kept to catch duplicates. */
typedef struct label_acc {
    sl__jw w;
    sl__jw prom;
    const char *names[SL__LOKI_MAX_LABELS + 2];
    size_t name_lens[SL__LOKI_MAX_LABELS + 2];
    size_t n;
} label_acc;

static sl_status add_label(label_acc *acc, const char *name, size_t nlen,
                           const char *value, size_t vlen, char *errbuf, size_t errlen)
{
    if (!sl__loki_label_name_ok(name, nlen)) {
        sl__loki_set_err(
            errbuf, errlen,
            "loki label \"%.*s\": invalid name (must match [a-zA-Z_:][a-zA-Z0-9_:]*)",
            (int)nlen, name != NULL ? name : "");
        return SL_EINVAL;
    }
    if (nlen >= 2 && name[0] == '_' && name[1] == '_') {
        sl__loki_set_err(errbuf, errlen,
                         "loki label \"%.*s\": names starting with \"__\" are reserved",
                         (int)nlen, name);
        return SL_EINVAL;
    }
    if (value == NULL || vlen == 0) {
        sl__loki_set_err(errbuf, errlen,
                         "loki label \"%.*s\": empty value (Loki drops such labels)",
                         (int)nlen, name);
        return SL_EINVAL;
    }
    if (nlen > SL__LOKI_MAX_LABEL_NAME) {
        sl__loki_set_err(errbuf, errlen,
                         "loki label \"%.32s...\": name longer than Loki's %u bytes",
                         name, SL__LOKI_MAX_LABEL_NAME);
        return SL_EINVAL;
    }
    /* Ill-formed UTF-8 is repaired (U+FFFD) when the value is encoded, as in
     * records; the repaired value must still fit Loki's limit. */
    if (sl__loki_repaired_len(value, vlen) > SL__LOKI_MAX_LABEL_VALUE) {
        sl__loki_set_err(errbuf, errlen,
                         "loki label \"%.*s\": value longer than Loki's %u bytes",
                         (int)nlen, name, SL__LOKI_MAX_LABEL_VALUE);
        return SL_EINVAL;
    }
    for (size_t i = 0; i < acc->n; i++) {
        if (acc->name_lens[i] == nlen && !memcmp(acc->names[i], name, nlen)) {
            sl__loki_set_err(
                errbuf, errlen, "loki label \"%.*s\": given twice%s", (int)nlen, name,
                (!strncmp(name, "service_name", nlen) || !strncmp(name, "level", nlen))
                    ? " (the sink sets it itself)"
                    : "");
            return SL_EINVAL;
        }
    }
    if (acc->n >= SL__LOKI_MAX_LABELS) {
        sl__loki_set_err(
            errbuf, errlen,
            "loki label \"%.*s\": too many labels (Loki accepts at most %d per stream, "
            "service_name and level included)",
            (int)nlen, name, SL__LOKI_MAX_LABELS);
        return SL_EINVAL;
    }
    acc->names[acc->n] = name;
    acc->name_lens[acc->n] = nlen;
    acc->n++;
    sl__jw_char(&acc->w, ',');
    sl__jw_string(&acc->w, name, nlen);
    sl__jw_char(&acc->w, ':');
    sl__jw_string(&acc->w, value, vlen);
    sl__jw_raw(&acc->prom, ", ", 2);
    sl__jw_raw(&acc->prom, name, nlen);
    sl__jw_char(&acc->prom, '=');
    sl__loki_prom_quote(&acc->prom, value, vlen);
    return SL_OK;
}

/* "k=v,k=v" with blanks around items trimmed. */
static sl_status add_labels_text(label_acc *acc, const char *text, char *errbuf,
                                 size_t errlen)
{
    const char *p = text;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        const char *a = p, *b = end;
        sl__trim_blanks(&a, &b);
        if (a < b) {
            const char *eq = memchr(a, '=', (size_t)(b - a));
            if (eq == NULL) {
                sl__loki_set_err(errbuf, errlen,
                                 "loki labels: \"%.*s\" is not name=value", (int)(b - a),
                                 a);
                return SL_EINVAL;
            }
            const char *ne = eq, *vs = eq + 1;
            while (ne > a && (ne[-1] == ' ' || ne[-1] == '\t')) {
                ne--;
            }
            while (vs < b && (*vs == ' ' || *vs == '\t')) {
                vs++;
            }
            sl_status st =
                add_label(acc, a, (size_t)(ne - a), vs, (size_t)(b - vs), errbuf, errlen);
            if (st != SL_OK) {
                return st;
            }
        }
        p = *end == ',' ? end + 1 : end;
    }
    return SL_OK;
}

sl_status sl__loki_labels_build(const sl_loki_options *o, sl__loki_config *cfg,
                                char *errbuf, size_t errlen)
{
    sl_status st = SL_OK;
    label_acc acc;
    memset(&acc, 0, sizeof(acc));
    sl__jw_init_growable(&acc.w, 256, 64u << 10);
    sl__jw_init_growable(&acc.prom, 256, 64u << 10);
    /* The sink's own labels come first so that a static one cannot shadow them. */
    acc.names[acc.n] = "service_name";
    acc.name_lens[acc.n++] = strlen("service_name");
    if (o->level_label) {
        acc.names[acc.n] = "level";
        acc.name_lens[acc.n++] = strlen("level");
    }
    for (size_t i = 0; st == SL_OK && i < o->nlabels; i++) {
        const char *name = o->labels != NULL ? o->labels[i].name : NULL;
        const char *value = o->labels != NULL ? o->labels[i].value : NULL;
        st = add_label(&acc, name, name != NULL ? strlen(name) : 0, value,
                       value != NULL ? strlen(value) : 0, errbuf, errlen);
    }
    if (st == SL_OK && o->labels_text != NULL) {
        st = add_labels_text(&acc, o->labels_text, errbuf, errlen);
    }
    if (st == SL_OK && (acc.w.overflow || acc.prom.overflow)) {
        sl__loki_set_err(errbuf, errlen, "loki labels: too long or out of memory");
        st = SL_ENOMEM;
    }
    if (st == SL_OK) {
        cfg->labels_json = sl__strndup(acc.w.buf != NULL ? acc.w.buf : "", acc.w.len);
        cfg->labels_prom =
            sl__strndup(acc.prom.buf != NULL ? acc.prom.buf : "", acc.prom.len);
        cfg->nlabels = acc.n - (o->level_label ? 2 : 1);
        if (cfg->labels_json == NULL || cfg->labels_prom == NULL) {
            st = SL_ENOMEM;
        }
    }
    sl__jw_free(&acc.w);
    sl__jw_free(&acc.prom);
    if (st != SL_OK) {
        sl__free(cfg->labels_json);
        sl__free(cfg->labels_prom);
        cfg->labels_json = cfg->labels_prom = NULL;
    }
    return st;
}
