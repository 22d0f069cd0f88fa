/*
 * logger.c - loggers and their shared core: creation, sinks, child loggers
 * with bound fields encoded once, levels, flushing, and the flush at exit.
 *
 * A logger is a small handle; what children share (options, service, sinks)
 * lives in a refcounted core, so parent and child may be freed in any
 * order. The core is sealed (no more sinks) as soon as it has a child or has
 * written a record: from then on it is read without locks.
 *
 * Live cores sit in a registry so that an atexit handler can flush every
 * sink, within a bounded time, when the program ends without flushing.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* How long the exit handler may spend flushing, over all loggers. */
#define EXIT_FLUSH_MS 2000
/* How long closing one sink (when its last logger goes) may take. */
#define CLOSE_TIMEOUT_MS 2000

static pthread_mutex_t cores_lock = PTHREAD_MUTEX_INITIALIZER;
static sl__core *cores_head;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* ---- registry, fork and exit ------------------------------------------------ */

/*
 * Held across fork() by the one atfork handler (sink.c), before the sink
 * registry and the sinks' own locks: the same order as flush_at_exit, which
 * holds this lock while sinks flush. Two handlers registered separately would
 * run in an order set by whichever of logger and sink was made first.
 */
void sl__cores_fork_lock(void)
{
    pthread_mutex_lock(&cores_lock);
}

void sl__cores_fork_unlock(void)
{
    pthread_mutex_unlock(&cores_lock);
}

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - sl__monotonic_ns();
    return left <= 0 ? 0 : (int)(left / 1000000);
}

static void flush_at_exit(void)
{
    int64_t deadline = sl__monotonic_ns() + (int64_t)EXIT_FLUSH_MS * 1000000;
    pthread_mutex_lock(&cores_lock);
    for (sl__core *c = cores_head; c != NULL; c = c->next) {
        for (size_t i = 0; i < c->nsinks; i++) {
            (void)sl_sink_flush(c->sinks[i].sink, remaining_ms(deadline));
        }
    }
    pthread_mutex_unlock(&cores_lock);
    sl__scratch_release();
}

static void init_once_fn(void)
{
    sl__atfork_install();
    atexit(flush_at_exit);
}

static void cores_add(sl__core *c)
{
    pthread_mutex_lock(&cores_lock);
    c->prev = NULL;
    c->next = cores_head;
    if (cores_head != NULL) {
        cores_head->prev = c;
    }
    cores_head = c;
    pthread_mutex_unlock(&cores_lock);
}

static void cores_remove(sl__core *c)
{
    pthread_mutex_lock(&cores_lock);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        cores_head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&cores_lock);
}

/* ---- options ---------------------------------------------------------------- */

void sl_logger_options_init(sl_logger_options *opts)
{
    if (opts == NULL) {
        return;
    }
    memset(opts, 0, sizeof(*opts));
    opts->level = SL_LEVEL_INFO;
    opts->profile = SL_PROFILE_DEFAULT;
    opts->max_record_bytes = SL__DEFAULT_RECORD_BYTES;
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
    cores_remove(c);
    for (size_t i = 0; i < c->nsinks; i++) {
        sl_sink_free(c->sinks[i].sink, CLOSE_TIMEOUT_MS);
    }
    sl__free(c->sinks);
    sl__free(c->service);
    sl__free(c->service_frag);
    sl__free(c->baggage_keys);
    sl__free(c);
}

static void core_release(sl__core *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        core_free(c);
    }
}

void sl__core_seal(sl__core *core)
{
    /* Read first: the common case (already sealed) then writes nothing. */
    if (!__atomic_load_n(&core->sealed, __ATOMIC_RELAXED)) {
        __atomic_store_n(&core->sealed, 1, __ATOMIC_RELAXED);
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
    if (opts == NULL) {
        sl_logger_options_init(&defaults);
        opts = &defaults;
    }
    if (!options_valid(opts)) {
        return SL_EINVAL;
    }
    pthread_once(&init_once, init_once_fn);

    sl__core *c = sl__calloc(1, sizeof(*c));
    sl_logger *lg = sl__calloc(1, sizeof(*lg));
    if (c == NULL || lg == NULL) {
        sl__free(c);
        sl__free(lg);
        return SL_ENOMEM;
    }
    c->refs = 1;
    c->profile = opts->profile;
    c->max_record_bytes = opts->max_record_bytes;
    c->caller_info = opts->caller_info;
    c->trace_flags = opts->trace_flags;
    c->reserved =
        opts->head_keys == SL_HEAD_KEYS_KEEP ? NULL : sl__profile_reserved(opts->profile);
    c->min_sink_level = SL_LEVEL_OFF;
    if (opts->service != NULL) {
        sl_status st = SL_ENOMEM;
        c->service = sl__strdup(opts->service);
        if (c->service == NULL || (st = encode_service(c, opts->service)) != SL_OK) {
            sl__free(c->service);
            sl__free(c);
            sl__free(lg);
            return st;
        }
    }
    sl_status bst = encode_baggage_keys(c, opts->baggage_keys, opts->nbaggage_keys);
    if (bst != SL_OK) {
        sl__free(c->service);
        sl__free(c->service_frag);
        sl__free(c);
        sl__free(lg);
        return bst;
    }
    lg->head.level = (int)opts->level;
    lg->core = c;
    cores_add(c);
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

sl_status sl_logger_child(sl_logger *parent, const sl_field *fields, size_t nfields,
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
    lg->head.level = __atomic_load_n(&parent->head.level, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    sl__core_seal(c);
    *out = lg;
    return SL_OK;
}

sl_logger *sl_logger_child_or_null(sl_logger *parent, const sl_field *fields,
                                   size_t nfields)
{
    sl_logger *child = NULL;
    (void)sl_logger_child(parent, fields, nfields, &child);
    return child;
}

void sl_logger_free(sl_logger *lg)
{
    if (lg == NULL) {
        return;
    }
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
    __atomic_store_n(&lg->head.level, (int)level, __ATOMIC_RELAXED);
}

sl_level sl_logger_get_level(const sl_logger *lg)
{
    if (lg == NULL) {
        return SL_LEVEL_OFF;
    }
    return (sl_level)__atomic_load_n(&lg->head.level, __ATOMIC_RELAXED);
}

sl_status sl_logger_flush(sl_logger *lg, int timeout_ms)
{
    if (lg == NULL) {
        return SL_EINVAL;
    }
    sl__core *c = lg->core;
    int64_t deadline =
        timeout_ms < 0 ? 0 : sl__monotonic_ns() + (int64_t)timeout_ms * 1000000;
    sl_status result = SL_OK;
    for (size_t i = 0; i < c->nsinks; i++) {
        int t = timeout_ms < 0 ? -1 : remaining_ms(deadline);
        sl_status st = sl_sink_flush(c->sinks[i].sink, t);
        if (st != SL_OK && result == SL_OK) {
            result = st;
        }
    }
    return result;
}
