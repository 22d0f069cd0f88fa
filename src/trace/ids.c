/*
 * ids.c - random trace and span ids, their hex forms and the correlationId.
 *
 * Each thread owns a xoshiro256** generator: no lock, no shared cache line,
 * a handful of cycles per id. It is seeded lazily from getrandom(2) and
 * reseeded when the process has forked since the seed was taken, so a child
 * never repeats its parent's ids. The fork check is one relaxed load of a
 * generation counter that a pthread_atfork child handler bumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "trace/trace_internal.h"

#define BAD SL__HEX_BAD
/* clang-format off */
const uint8_t sl__hex_lc[256] = {
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, 10,  11,  12,  13,  14,  15,  BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
    BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD,
};
/* clang-format on */
#undef BAD

const char sl__hex_digits[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                 '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

/* ---- the per-thread generator -------------------------------------------- */

typedef struct rng {
    uint64_t s[4];
    uint64_t generation; /* fork generation the seed belongs to; 0: unseeded */
} rng;

static SL__TLS rng tl_rng;

/* Starts at 1 so that a zeroed thread-local state always reads as stale. */
static atomic_uint_fast64_t fork_generation = 1;

/* Called by the library's one atfork child handler (lifecycle.c). */
void sl__ids_fork_child(void)
{
    atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int read_all_urandom(void *buf, size_t n)
{
    int fd;
    do {
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return -1;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

static int os_entropy(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            break; /* ENOSYS (old kernel), seccomp filters, ... */
        }
        got += (size_t)r;
    }
    if (got == n) {
        return 0;
    }
    return read_all_urandom(buf, n);
}

static void seed(rng *r, uint64_t generation)
{
    uint64_t key[4];
    int saved_errno = errno; /* seeding must not disturb the caller's errno */
    if (os_entropy(key, sizeof key) != 0) {
        /*
         * No kernel entropy at all (no getrandom, no /dev/urandom, e.g. a
         * bare chroot under seccomp). Ids then only need to be unique, not
         * unpredictable: mix wall and monotonic time, pid, tid and the
         * addresses of a stack and a thread-local variable (ASLR) through
         * splitmix64. Such ids are guessable; that is the best left to do.
         */
        struct timespec rt, mono;
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        uint64_t x = (uint64_t)rt.tv_sec * 1000000007ull ^ (uint64_t)rt.tv_nsec;
        x ^= ((uint64_t)mono.tv_nsec << 32) ^ (uint64_t)mono.tv_sec;
        x ^= (uint64_t)getpid() << 40;
        x ^= (uint64_t)syscall(SYS_gettid) << 20;
        x ^= (uint64_t)(uintptr_t)&x ^ ((uint64_t)(uintptr_t)r << 7);
        for (int i = 0; i < 4; i++) {
            key[i] = splitmix64(&x);
        }
    }
    errno = saved_errno;
    /* Run the key through splitmix64 so no state word is left zero by a
     * short or patterned read, and the all-zero state is unreachable. */
    uint64_t x = key[0] ^ key[1] ^ key[2] ^ key[3];
    for (int i = 0; i < 4; i++) {
        r->s[i] = key[i] ^ splitmix64(&x);
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) {
        r->s[0] = 0x9e3779b97f4a7c15ull;
    }
    r->generation = generation;
}

__attribute__((noinline, cold)) static void reseed(rng *r)
{
    sl__life_init(); /* the fork handler exists before any seed is cached */
    /* Re-read: the handler may have been registered after a fork. */
    seed(r, atomic_load_explicit(&fork_generation, memory_order_relaxed));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sl__rand64(void)
{
    rng *r = &tl_rng;
    uint64_t generation = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    if (__builtin_expect(r->generation != generation, 0)) {
        reseed(r);
    }
    /* xoshiro256** (Blackman and Vigna). */
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static inline void put64(uint8_t *out, uint64_t v)
{
    /* Byte order does not matter for random bits; one store does. */
    memcpy(out, &v, 8);
}

sl_trace_id sl_trace_id_random(void)
{
    sl_trace_id id;
    do {
        put64(id.bytes, sl__rand64());
        put64(id.bytes + 8, sl__rand64());
    } while (sl__all_zero(id.bytes, sizeof id.bytes));
    return id;
}

sl_span_id sl_span_id_random(void)
{
    sl_span_id id;
    do {
        put64(id.bytes, sl__rand64());
    } while (sl__all_zero(id.bytes, sizeof id.bytes));
    return id;
}

/* ---- validity, hex, correlationId ---------------------------------------- */

sl_span_context sl_span_context_empty(void)
{
    sl_span_context ctx;
    memset(&ctx, 0, sizeof ctx);
    return ctx;
}

int sl_trace_id_is_valid(sl_trace_id id)
{
    return !sl__all_zero(id.bytes, sizeof id.bytes);
}

int sl_span_id_is_valid(sl_span_id id)
{
    return !sl__all_zero(id.bytes, sizeof id.bytes);
}

int sl_span_context_is_valid(const sl_span_context *ctx)
{
    return ctx != NULL && sl_trace_id_is_valid(ctx->trace_id) &&
           sl_span_id_is_valid(ctx->span_id);
}

void sl_trace_id_to_hex(sl_trace_id id, char *out)
{
    if (out == NULL) {
        return;
    }
    sl__hex_encode(id.bytes, sizeof id.bytes, out);
    out[SL_TRACE_ID_HEX_LEN] = '\0';
}

void sl_span_id_to_hex(sl_span_id id, char *out)
{
    if (out == NULL) {
        return;
    }
    sl__hex_encode(id.bytes, sizeof id.bytes, out);
    out[SL_SPAN_ID_HEX_LEN] = '\0';
}

sl_status sl_trace_id_from_hex(const char *hex, size_t len, sl_trace_id *out)
{
    if (hex == NULL || out == NULL) {
        return SL_EINVAL;
    }
    sl_trace_id id;
    if (len != SL_TRACE_ID_HEX_LEN || sl__hex_decode(hex, sizeof id.bytes, id.bytes)) {
        return SL_EPARSE;
    }
    *out = id;
    return SL_OK;
}

sl_status sl_span_id_from_hex(const char *hex, size_t len, sl_span_id *out)
{
    if (hex == NULL || out == NULL) {
        return SL_EINVAL;
    }
    sl_span_id id;
    if (len != SL_SPAN_ID_HEX_LEN || sl__hex_decode(hex, sizeof id.bytes, id.bytes)) {
        return SL_EPARSE;
    }
    *out = id;
    return SL_OK;
}

sl_status sl_correlation_id(const sl_span_context *ctx, char *out)
{
    if (out == NULL) {
        return SL_EINVAL;
    }
    if (!sl_span_context_is_valid(ctx)) {
        out[0] = '\0';
        return SL_EINVAL;
    }
    sl__hex_encode(ctx->trace_id.bytes, 4, out);
    out[8] = '-';
    sl__hex_encode(ctx->span_id.bytes, 4, out + 9);
    out[SL_CORRELATION_ID_LEN] = '\0';
    return SL_OK;
}
