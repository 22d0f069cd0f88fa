/*
 * logger.c - loggers and their shared core: creation, sinks, child loggers
 * with bound fields encoded once, levels, flushing, and the flush at exit.
 *
 * A logger is a small handle; what children share (options, service, sinks)
 * lives in a refcounted core, so parent and child may be freed in any
 * order. The core is sealed (no more sinks) as soon as it has a child or has
 * written a record: from then on it is read without locks.
 *
 * Every live sink is in the one lifecycle registry (lifecycle.c), whose
 * atexit handler flushes them within one budget when the program ends
 * without flushing.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "lifecycle.h"

/* How long closing one sink (when its last logger goes) may take. */
#define CLOSE_TIMEOUT_MS 2000

/* ---- fork: a core's tree lock, through the one lifecycle registry ------------ */

/* The tree lock is never held while another lock is taken, so its place in
 * the registry's order does not matter; held across fork(), a child never
 * inherits it locked by a thread that does not exist there. */
static void core_fork_lock(void *obj)
{
    pthread_mutex_lock(&((sl__core *)obj)->tree_lock);
}

static void core_fork_unlock(void *obj)
{
    pthread_mutex_unlock(&((sl__core *)obj)->tree_lock);
}

static const sl__life_ops core_life_ops = {
    .prepare = core_fork_lock,
    .parent = core_fork_unlock,
    .child = core_fork_unlock,
};

static int remaining_ms(int64_t deadline)
{
    return sl__ms_left(deadline);
}

/* ---- the logger tree (level propagation) ------------------------------------------ */

/* tree_lock held. Every logger of a core is on core->loggers. */
static void all_add(sl__core *c, sl_logger *lg)
{
    lg->all_prev = NULL;
    lg->all_next = c->loggers;
    if (c->loggers != NULL) {
        c->loggers->all_prev = lg;
    }
    c->loggers = lg;
}

static void all_remove(sl__core *c, sl_logger *lg)
{
    if (lg->all_prev != NULL) {
        lg->all_prev->all_next = lg->all_next;
    } else {
        c->loggers = lg->all_next;
    }
    if (lg->all_next != NULL) {
        lg->all_next->all_prev = lg->all_prev;
    }
}

/* tree_lock held. Makes child the first child of parent. */
static void tree_link(sl_logger *parent, sl_logger *child)
{
    child->parent = parent;
    child->prev_sibling = NULL;
    child->next_sibling = parent->children;
    if (parent->children != NULL) {
        parent->children->prev_sibling = child;
    }
    parent->children = child;
}

/* tree_lock held. Takes lg out; its children move up to lg's parent (or
 * become roots), keeping the level they have. */
static void tree_unlink(sl_logger *lg)
{
    while (lg->children != NULL) {
        sl_logger *k = lg->children;
        lg->children = k->next_sibling;
        if (lg->parent != NULL) {
            tree_link(lg->parent, k);
        } else {
            k->parent = NULL;
            k->prev_sibling = k->next_sibling = NULL;
        }
    }
    if (lg->prev_sibling != NULL) {
        lg->prev_sibling->next_sibling = lg->next_sibling;
    } else if (lg->parent != NULL) {
        lg->parent->children = lg->next_sibling;
    }
    if (lg->next_sibling != NULL) {
        lg->next_sibling->prev_sibling = lg->prev_sibling;
    }
    lg->parent = lg->prev_sibling = lg->next_sibling = NULL;
}

/* tree_lock held. The level reaches every descendant that follows its parent. */
static void tree_set_level(sl_logger *lg, int level)
{
    __atomic_store_n(&lg->head.level, level, __ATOMIC_RELAXED);
    for (sl_logger *k = lg->children; k != NULL; k = k->next_sibling) {
        if (!k->level_explicit) {
            tree_set_level(k, level);
        }
    }
}

/* ---- options ---------------------------------------------------------------- */

void sl_logger_options_init_size(sl_logger_options *opts, size_t size)
{
    sl_logger_options d;
    memset(&d, 0, sizeof(d));
    d.level = SL_LEVEL_INFO;
    d.profile = SL_PROFILE_DEFAULT;
    d.max_record_bytes = SL__DEFAULT_RECORD_BYTES;
    sl__abi_init(opts, size, &d, sizeof(d));
}

static bool options_valid(const sl_logger_options *o)
{
    if (o->nbaggage_keys > SL_MAX_BAGGAGE_KEYS ||
        (o->nbaggage_keys > 0 && o->baggage_keys == NULL)) {
        return false;
    }
    for (size_t i = 0; i < o->nbaggage_keys; i++) {
        if (o->baggage_keys[i] == NULL || o->baggage_keys[i][0] == '\0') {
            return false;
        }
    }
    return (unsigned)o->level <= (unsigned)SL_LEVEL_OFF &&
           (unsigned)o->profile <= (unsigned)SL_PROFILE_PINO &&
           o->max_record_bytes >= SL__MIN_RECORD_BYTES &&
           o->max_record_bytes <= SL__MAX_RECORD_BYTES;
}

/* ---- core -------------------------------------------------------------------- */

static void core_free(sl__core *c)
{
    sl__life_unregister(&c->life);
    for (size_t i = 0; i < c->nsinks; i++) {
        sl_sink_free(c->sinks[i].sink, CLOSE_TIMEOUT_MS);
    }
    sl__free(c->sinks);
    sl__free(c->service);
    sl__free(c->service_frag);
    sl__free(c->baggage_keys);
    pthread_mutex_destroy(&c->tree_lock);
    sl__sampler_free(c->sampler);
    sl__redactor_free(c->redactor);
    sl__free(c);
}

static void core_release(sl__core *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        core_free(c);
    }
}

/* `,"service":"..."` with the profile's key, encoded once. */
static sl_status encode_service(sl__core *c, const char *service)
{
    sl__jw w;
    sl__jw_init_growable(&w, 64, SL__SERVICE_FRAG_MAX);
    if (w.buf == NULL) {
        return SL_ENOMEM;
    }
    const char *k = sl__profile_service_key(c->profile);
    if (sl__json_escaped_len(service, strlen(service)) > SL__SERVICE_VALUE_MAX) {
        sl__jw_free(&w);
        return SL_EINVAL; /* the limit is the value's, not the key's too */
    }
    sl__jw_char(&w, ',');
    sl__jw_string(&w, k, strlen(k));
    sl__jw_char(&w, ':');
    sl__jw_string(&w, service, strlen(service));
    if (w.overflow) {
        sl__jw_free(&w);
        return SL_EINVAL; /* too long (or no memory to grow: rare, same answer) */
    }
    c->service_frag = w.buf;
    c->service_frag_len = w.len;
    return SL_OK;
}

/*
 * The baggage keys: an array of descriptors followed by each raw key and its
 * `,"key":` fragment, in one allocation, so the record path only copies.
 */
static sl_status encode_baggage_keys(sl__core *c, const char *const *keys, size_t n)
{
    if (n == 0) {
        return SL_OK;
    }
    size_t size = n * sizeof(struct sl__baggage_key);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(keys[i]);
        size_t e = sl__json_escaped_len(keys[i], k);
        if (k > SIZE_MAX / 8 || e > SIZE_MAX / 8) {
            return SL_ERANGE;
        }
        size += k + 1 + e + 4; /* key NUL , " escaped " : */
    }
    char *arena = sl__malloc(size);
    if (arena == NULL) {
        return SL_ENOMEM;
    }
    struct sl__baggage_key *d = (struct sl__baggage_key *)(void *)arena;
    char *p = arena + n * sizeof(*d);
    char *end = arena + size;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(keys[i]);
        memcpy(p, keys[i], k + 1);
        d[i].key = p;
        d[i].key_len = k;
        p += k + 1;
        sl__jw w;
        sl__jw_init(&w, p, (size_t)(end - p));
        sl__jw_char(&w, ',');
        sl__jw_string(&w, keys[i], k);
        sl__jw_char(&w, ':');
        d[i].frag = p;
        d[i].frag_len = w.len;
        p += w.len;
    }
    c->baggage_keys = d;
    c->nbaggage_keys = n;
    return SL_OK;
}

sl_status sl_logger_new(const sl_logger_options *opts, sl_logger **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    sl_logger_options defaults;
    sl_logger_options_init(&defaults);
    if (opts != NULL &&
        !sl__abi_options(&defaults, sizeof(defaults), opts, SL__LOGGER_OPTIONS_V1)) {
        return SL_EINVAL; /* not prepared by sl_logger_options_init */
    }
    opts = &defaults;
    if (!options_valid(opts)) {
        return SL_EINVAL;
    }
    sl__life_init(); /* the one atfork and atexit handler (lifecycle.c) */

    sl__core *c = sl__calloc(1, sizeof(*c));
    sl_logger *lg = sl__calloc(1, sizeof(*lg));
    if (c == NULL || lg == NULL) {
        sl__free(c);
        sl__free(lg);
        return SL_ENOMEM;
    }
    static uint64_t next_core_id;
    c->id = __atomic_add_fetch(&next_core_id, 1, __ATOMIC_RELAXED);
    c->refs = 1;
    pthread_mutex_init(&c->tree_lock, NULL);
    c->profile = opts->profile;
    c->max_record_bytes = opts->max_record_bytes;
    c->caller_info = opts->caller_info;
    c->trace_flags = opts->trace_flags;
    c->trace_variant = sl__profile_trace_variant(opts->profile, opts->trace_flags);
    c->reserved =
        opts->head_keys == SL_HEAD_KEYS_KEEP ? NULL : sl__profile_reserved(opts->profile);
    c->min_sink_level = SL_LEVEL_OFF;
    if (opts->service != NULL) {
        sl_status st = SL_ENOMEM;
        c->service = sl__strdup(opts->service);
        if (c->service == NULL || (st = encode_service(c, opts->service)) != SL_OK) {
            sl__free(c->service);
            pthread_mutex_destroy(&c->tree_lock);
            sl__free(c);
            sl__free(lg);
            return st;
        }
    }
    sl_status bst = encode_baggage_keys(c, opts->baggage_keys, opts->nbaggage_keys);
    if (bst != SL_OK) {
        sl__free(c->service);
        sl__free(c->service_frag);
        pthread_mutex_destroy(&c->tree_lock);
        sl__free(c);
        sl__free(lg);
        return bst;
    }
    lg->head.level = (int)opts->level;
    lg->core = c;
    all_add(c, lg);
    sl__life_register(&c->life, &core_life_ops, c);
    *out = lg;
    return SL_OK;
}

sl_status sl_logger_add_sink(sl_logger *lg, sl_sink *sink, sl_level min_level)
{
    if (lg == NULL || sink == NULL || (unsigned)min_level > (unsigned)SL_LEVEL_OFF) {
        sl_sink_free(sink, CLOSE_TIMEOUT_MS);
        return SL_EINVAL;
    }
    sl__core *c = lg->core;
    if (__atomic_load_n(&c->sealed, __ATOMIC_RELAXED)) {
        sl_sink_free(sink, CLOSE_TIMEOUT_MS);
        return SL_ESTATE;
    }
    sl__sink_slot *slots = sl__realloc(c->sinks, (c->nsinks + 1) * sizeof(*slots));
    if (slots == NULL) {
        sl_sink_free(sink, CLOSE_TIMEOUT_MS);
        return SL_ENOMEM;
    }
    slots[c->nsinks].sink = sink;
    slots[c->nsinks].min_level = min_level;
    /* Truncate once, to the smallest limit of the sinks: every sink then
     * receives a whole, valid JSON line and never cuts one itself. */
    size_t max_line = sl_sink_max_line_bytes(sink);
    if (max_line > 0 && max_line < c->max_record_bytes) {
        c->max_record_bytes =
            max_line < SL__MIN_RECORD_BYTES ? SL__MIN_RECORD_BYTES : max_line;
    }
    c->sinks = slots;
    c->nsinks++;
    if ((int)min_level < c->min_sink_level) {
        c->min_sink_level = (int)min_level;
    }
    return SL_OK;
}

/* ---- children ------------------------------------------------------------------ */

/*
 * Bytes of arena a field needs beyond its sl_field: the key and the string
 * value, NUL-terminated.
 */
static size_t field_extra(const sl_field *f)
{
    size_t n = f->key != NULL ? strlen(f->key) + 1 : 0;
    if (f->type == SL_FIELD_STR && f->v.s != NULL) {
        n += sl__field_str_len(f) + 1;
    }
    return n;
}

/* Deep-copies *src into *dst, strings into *pool. JSON values are increfed. */
static void field_copy(sl_field *dst, const sl_field *src, char **pool)
{
    *dst = *src;
    if (src->key != NULL) {
        size_t n = strlen(src->key) + 1;
        memcpy(*pool, src->key, n);
        dst->key = *pool;
        *pool += n;
    }
    if (src->type == SL_FIELD_STR && src->v.s != NULL) {
        size_t n = sl__field_str_len(src);
        memcpy(*pool, src->v.s, n);
        (*pool)[n] = '\0';
        dst->v.s = *pool;
        dst->len = n;
        *pool += n + 1;
    } else if (src->type == SL_FIELD_JSON && src->v.json != NULL) {
        json_incref((json_t *)src->v.json);
    }
}

static void fields_release(const sl_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].type == SL_FIELD_JSON && f[i].v.json != NULL) {
            json_decref((json_t *)f[i].v.json);
        }
    }
}

static sl_status child_make(sl_logger *parent, const sl_field *fields, size_t nfields,
                            sl_logger **out);

/* Bound fields are redacted once, here, before they are encoded. */
sl_status sl_logger_child(sl_logger *parent, const sl_field *fields, size_t nfields,
                          sl_logger **out)
{
    if (parent == NULL || parent->core->redactor == NULL || fields == NULL) {
        return child_make(parent, fields, nfields, out);
    }
    sl__redacted red;
    if (!sl__redact_fields(parent->core->redactor, fields, nfields, &red)) {
        if (out != NULL) {
            *out = NULL;
        }
        return SL_ENOMEM;
    }
    sl_status st = child_make(parent, red.fields, red.n, out);
    sl__redacted_release(&red);
    return st;
}

static sl_status child_make(sl_logger *parent, const sl_field *fields, size_t nfields,
                            sl_logger **out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    *out = NULL;
    if (parent == NULL || (fields == NULL && nfields > 0)) {
        return SL_EINVAL;
    }
    sl__core *c = parent->core;

    /* The new fields, encoded once, after the parent's fragment. */
    sl__jw w;
    sl__jw_init_growable(&w, parent->bound_json_len + 64, c->max_record_bytes);
    if (w.buf == NULL) {
        return SL_ENOMEM;
    }
    sl__jw_raw(&w, parent->bound_json, parent->bound_json_len);
    (void)sl__encode_fields(&w, fields, nfields, SIZE_MAX, c->reserved);
    if (w.overflow) {
        /* Bound fields that fill a whole record can never be written. */
        size_t need = sl__jw_need(&w);
        sl__jw_free(&w);
        return need > c->max_record_bytes ? SL_ERANGE : SL_ENOMEM;
    }

    /* One arena: [sl_field x nbound][strings][bound JSON]. */
    size_t nbound = parent->nbound + nfields;
    size_t size = nbound * sizeof(sl_field);
    for (size_t i = 0; i < parent->nbound; i++) {
        size += field_extra(&parent->bound[i]);
    }
    for (size_t i = 0; i < nfields; i++) {
        size += field_extra(&fields[i]);
    }
    size += w.len;
    sl_logger *lg = sl__calloc(1, sizeof(*lg));
    char *arena = sl__malloc(size);
    if (lg == NULL || arena == NULL) {
        sl__free(lg);
        sl__free(arena);
        sl__jw_free(&w);
        return SL_ENOMEM;
    }
    sl_field *bound = (sl_field *)(void *)arena;
    char *pool = arena + nbound * sizeof(sl_field);
    for (size_t i = 0; i < parent->nbound; i++) {
        field_copy(&bound[i], &parent->bound[i], &pool);
    }
    for (size_t i = 0; i < nfields; i++) {
        field_copy(&bound[parent->nbound + i], &fields[i], &pool);
    }
    memcpy(pool, w.buf, w.len);
    lg->bound_json = w.len > 0 ? pool : NULL;
    lg->bound_json_len = w.len;
    sl__jw_free(&w);

    lg->bound = bound;
    lg->nbound = nbound;
    lg->arena = arena;
    lg->core = c;
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    sl__core_seal(c);
    /* Linked and given the parent's level under the tree lock, so that a
     * concurrent sl_logger_set_level() on the parent reaches it too. */
    pthread_mutex_lock(&c->tree_lock);
    tree_link(parent, lg);
    all_add(c, lg);
    lg->head.level = __atomic_load_n(&parent->head.level, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->tree_lock);
    *out = lg;
    return SL_OK;
}

sl_logger *sl_logger_child_or_null(sl_logger *parent, const sl_field *fields,
                                   size_t nfields)
{
    sl_logger *child = NULL;
    sl_status st = sl_logger_child(parent, fields, nfields, &child);
    if (st == SL_OK || parent == NULL) {
        return child;
    }
    /* Records still reach the sinks, through the parent (without the child's
     * fields): counted, and said once per logger family. */
    sl__core *c = parent->core;
    uint64_t n = __atomic_add_fetch(&c->child_failures, 1, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&c->child_failure_told, 1, __ATOMIC_RELAXED) == 0) {
        sl__diag("a child logger could not be made (%s); its records go to the parent "
                 "without its fields (failure %llu, counted in sl_logger_stats)",
                 sl_strerror(st), (unsigned long long)n);
    }
    __atomic_add_fetch(&parent->extra_refs, 1, __ATOMIC_RELAXED);
    return parent;
}

void sl_logger_free(sl_logger *lg)
{
    if (lg == NULL) {
        return;
    }
    /* A handle given out again by a failed sl_child: only drop that use. */
    uint64_t extra = __atomic_load_n(&lg->extra_refs, __ATOMIC_ACQUIRE);
    while (extra > 0) {
        if (__atomic_compare_exchange_n(&lg->extra_refs, &extra, extra - 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return;
        }
    }
    if (lg->core->sampler != NULL &&
        __atomic_load_n(&lg->core->refs, __ATOMIC_ACQUIRE) == 1) {
        sl__sampling_summary(lg, true); /* the last logger: what was left out */
    }
    pthread_mutex_lock(&lg->core->tree_lock);
    tree_unlink(lg);
    all_remove(lg->core, lg);
    pthread_mutex_unlock(&lg->core->tree_lock);
    fields_release(lg->bound, lg->nbound);
    sl__free(lg->arena);
    core_release(lg->core);
    sl__free(lg);
}

/* ---- level and flush ------------------------------------------------------------- */

void sl_logger_set_level(sl_logger *lg, sl_level level)
{
    if (lg == NULL || (unsigned)level > (unsigned)SL_LEVEL_OFF) {
        return;
    }
    pthread_mutex_lock(&lg->core->tree_lock);
    if (!lg->core->shut_down) {
        lg->level_explicit = lg->parent != NULL;
        tree_set_level(lg, (int)level);
    }
    pthread_mutex_unlock(&lg->core->tree_lock);
}

void sl_logger_inherit_level(sl_logger *lg)
{
    if (lg == NULL) {
        return;
    }
    pthread_mutex_lock(&lg->core->tree_lock);
    if (lg->parent != NULL && !lg->core->shut_down) {
        lg->level_explicit = false;
        tree_set_level(lg, __atomic_load_n(&lg->parent->head.level, __ATOMIC_RELAXED));
    }
    pthread_mutex_unlock(&lg->core->tree_lock);
}

sl_level sl_logger_get_level(const sl_logger *lg)
{
    if (lg == NULL) {
        return SL_LEVEL_OFF;
    }
    return (sl_level)__atomic_load_n(&lg->head.level, __ATOMIC_RELAXED);
}

/*
 * Flushes every sink of c, and with `close` then closes each (dropping and
 * counting what is left), within timeout_ms in total (negative: no bound).
 * Returns the first error a sink gave.
 */
static sl_status core_drain(sl__core *c, int timeout_ms, bool close)
{
    int64_t deadline =
        timeout_ms < 0 ? 0 : sl__monotonic_ns() + (int64_t)timeout_ms * 1000000;
    sl_status result = SL_OK;
    for (size_t i = 0; i < c->nsinks; i++) {
        int t = timeout_ms < 0 ? -1 : remaining_ms(deadline);
        sl_status st = sl_sink_flush(c->sinks[i].sink, t);
        if (close) {
            t = timeout_ms < 0 ? -1 : remaining_ms(deadline);
            sl_status cst = sl__sink_close(c->sinks[i].sink, t);
            st = st != SL_OK ? st : cst;
        }
        if (st != SL_OK && result == SL_OK) {
            result = st;
        }
    }
    return result;
}

sl_status sl_logger_flush(sl_logger *lg, int timeout_ms)
{
    if (lg == NULL) {
        return SL_EINVAL;
    }
    if (lg->core->sampler != NULL) {
        sl__sampling_summary(lg, true);
    }
    return core_drain(lg->core, timeout_ms, false);
}

/* ---- sinks and statistics through the logger -------------------------------------- */

size_t sl_logger_sink_count(const sl_logger *lg)
{
    return lg != NULL ? lg->core->nsinks : 0;
}

sl_sink *sl_logger_sink_at(const sl_logger *lg, size_t index)
{
    if (lg == NULL || index >= lg->core->nsinks) {
        return NULL;
    }
    return lg->core->sinks[index].sink;
}

sl_sink *sl_logger_sink_by_name(const sl_logger *lg, const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sl_logger_sink_count(lg); i++) {
        sl_sink *s = lg->core->sinks[i].sink;
        if (strcmp(sl_sink_name(s), name) == 0) {
            return s;
        }
    }
    return NULL;
}

void sl_logger_stats_init_size(sl_logger_stats *st, size_t size)
{
    sl_logger_stats d;
    memset(&d, 0, sizeof(d));
    sl__abi_init(st, size, &d, sizeof(d));
}

sl_status sl_logger_get_stats(const sl_logger *lg, sl_logger_stats *out)
{
    if (lg == NULL || out == NULL) {
        return SL_EINVAL;
    }
    sl_logger_stats t;
    sl_logger_stats_init(&t);
    t.size = sl__abi_size(out->size, SL__LOGGER_STATS_V1, sizeof(t));
    const sl__core *c = lg->core;
    for (size_t i = 0; i < c->nsinks; i++) {
        sl_sink_stats s;
        sl_sink_stats_init(&s);
        sl_sink_get_stats(c->sinks[i].sink, &s);
        t.written += s.written;
        t.dropped += s.dropped;
        t.errors += s.errors;
    }
    t.nsinks = c->nsinks;
    t.child_failures = __atomic_load_n(&c->child_failures, __ATOMIC_RELAXED);
    /* An older caller's struct is smaller: fill only what it has. */
    memcpy(out, &t, t.size);
    return SL_OK;
}

sl_status sl_logger_shutdown(sl_logger *lg, int timeout_ms)
{
    if (lg == NULL) {
        return SL_EINVAL;
    }
    sl__core *c = lg->core;
    if (c->sampler != NULL) {
        sl__sampling_summary(lg, true); /* what sampling left out, before the end */
    }
    /* Every logger sharing the sinks is turned off first: no record reaches
     * a closed sink, and sl_logger_set_level() cannot turn one on again. */
    pthread_mutex_lock(&c->tree_lock);
    bool already = c->shut_down;
    c->shut_down = true;
    for (sl_logger *k = c->loggers; k != NULL; k = k->all_next) {
        __atomic_store_n(&k->head.level, (int)SL_LEVEL_OFF, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&c->tree_lock);
    if (already) {
        return SL_OK;
    }
    return core_drain(c, timeout_ms, true);
}

sl_status sl_logger_close(sl_logger *lg, int timeout_ms, sl_logger_stats *final_stats)
{
    if (lg == NULL) {
        return SL_EINVAL;
    }
    sl_status st = sl_logger_shutdown(lg, timeout_ms);
    sl_logger_stats t;
    sl_logger_stats_init(&t);
    (void)sl_logger_get_stats(lg, &t);
    if (final_stats != NULL) {
        (void)sl_logger_get_stats(lg, final_stats);
    }
    sl_logger_free(lg);
    if (st == SL_OK && t.dropped > 0) {
        st = SL_EIO;
    }
    return st;
}
