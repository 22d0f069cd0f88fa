/*
 * json_number.c - integers, doubles and literals for the JSON writer.
 *
 * Doubles are written in the shortest form that reads back to the same
 * value (strtod(out) == v), always with a '.' or an exponent so that a
 * reader keeps them as reals (3.0, not 3). NaN and the infinities are not
 * JSON numbers: they are written as the strings "NaN", "Infinity" and
 * "-Infinity". Negative zero is written as -0.0 (it round-trips).
 *
 * Values that are a whole number of millionths and below 1e9 in magnitude
 * (prices, durations, ratios: most logged doubles) take an exact integer
 * path; the rest get the shortest correctly rounded digits from the Ryu
 * method below, laid out as printf's %g would (no printf, no strtod, so no
 * locale and no allocation).
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "json_number_pow5.h"

/* "00".."99" back to back: two digits a lookup (shared with clock.c). */
const char sl__digits2[201] = "00010203040506070809"
                              "10111213141516171819"
                              "20212223242526272829"
                              "30313233343536373839"
                              "40414243444546474849"
                              "50515253545556575859"
                              "60616263646566676869"
                              "70717273747576777879"
                              "80818283848586878889"
                              "90919293949596979899";

/* Writes v in decimal so that it ends just before `end`; returns the start. */
static inline char *u64_backwards(uint64_t v, char *end)
{
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        p[0] = sl__digits2[2 * r];
        p[1] = sl__digits2[2 * r + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = sl__digits2[2 * v];
        p[1] = sl__digits2[2 * v + 1];
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

/* Appends put(v): straight into the buffer when SL__NUM_MAX bytes are free,
 * else through a small copy (the writer's full-buffer path). */
#define JW_PUT(w, put, v)                                                                \
    do {                                                                                 \
        if ((w)->cap - (w)->len >= SL__NUM_MAX) {                                        \
            (w)->len = (size_t)(put((w)->buf + (w)->len, v) - (w)->buf);                 \
        } else {                                                                         \
            char tmp_[SL__NUM_MAX];                                                      \
            sl__jw_raw((w), tmp_, (size_t)(put(tmp_, v) - tmp_));                        \
        }                                                                                \
    } while (0)

/* Decimal digits of v: 1..20. */
static inline unsigned u64_digits(uint64_t v)
{
    if (v < 10000) {
        return v < 100 ? (v < 10 ? 1 : 2) : (v < 1000 ? 3 : 4);
    }
    unsigned n = 1;
    while (v >= 100) {
        v /= 100;
        n += 2;
    }
    return v >= 10 ? n + 1 : n;
}

char *sl__put_uint_wide(char *p, uint64_t v)
{
    unsigned n = u64_digits(v);
    (void)u64_backwards(v, p + n);
    return p + n;
}

void sl__jw_uint(sl__jw *w, uint64_t v)
{
    JW_PUT(w, sl__put_uint, v);
}

void sl__jw_int(sl__jw *w, int64_t v)
{
    JW_PUT(w, sl__put_int, v);
}

void sl__jw_bool(sl__jw *w, bool v)
{
    if (v) {
        sl__jw_raw(w, "true", 4);
    } else {
        sl__jw_raw(w, "false", 5);
    }
}

void sl__jw_null(sl__jw *w)
{
    sl__jw_raw(w, "null", 4);
}

/* ---- doubles ------------------------------------------------------------------ */

/*
 * Exact path: v == m / 10^6 for an integer m with |v| < 1e9. Below 1e9 a
 * double's spacing is under 1.2e-7, so two different multiples of 1e-6 are
 * always different doubles: the trimmed decimal of m / 10^6 is the only
 * (hence the shortest) one with at most six decimals that reads back as v,
 * and a shorter one would have fewer decimals. Writes the text so that it
 * ends at `end` and returns its start; NULL when the path does not apply.
 */
static char *format_micro(double v, char *end)
{
    double a = fabs(v);
    if (!(a < 1e9)) {
        return NULL;
    }
    double m = a * 1e6;
    uint64_t um = (uint64_t)m; /* m < 1e15: exact when m is whole */
    if ((double)um != m || m / 1e6 != a) {
        return NULL;
    }
    uint64_t ip = um / 1000000;
    unsigned fp = (unsigned)(um - ip * 1000000);
    /* fraction: six digits, trailing zeros trimmed to at least one ("3.0") */
    int fd = 6;
    if (fp == 0) {
        fd = 1;
    } else {
        while (fp % 100 == 0) {
            fp /= 100;
            fd -= 2;
        }
        if (fp % 10 == 0) {
            fp /= 10;
            fd--;
        }
    }
    char *p = end;
    for (int i = fd; i >= 2; i -= 2) {
        unsigned r = fp % 100;
        fp /= 100;
        p -= 2;
        memcpy(p, sl__digits2 + 2 * r, 2);
    }
    if (fd & 1) {
        *--p = (char)('0' + fp);
    }
    *--p = '.';
    p = u64_backwards(ip, p);
    if (signbit(v)) {
        *--p = '-';
    }
    return p;
}

/*
 * The shortest decimal that reads back as v (a finite, non-zero double), by
 * the Ryu method (Ulf Adams, "Ryu: fast float-to-string conversion", PLDI
 * 2018): with v = m2 * 2^e2, the bounds of the interval of reals that round
 * to v are scaled by a 128-bit approximation of 10^-q (a power of 5 and a
 * shift), so that the shortest digit string inside the interval falls out of
 * dropping decimal digits from the scaled bounds; the dropped digits of the
 * scaled value itself round the result (half to even), so among the
 * shortest candidates the one nearest v is chosen. Bounds are inclusive
 * when m2 is even, as round-to-nearest-even reads them.
 *
 * Writes the digits as an integer in *digits and returns the decimal
 * exponent e10: v = *digits * 10^e10.
 */
#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 sl_u128;

static inline uint64_t mul_shift64(uint64_t m, const uint64_t mul[2], int j)
{
    /* (m * mul) >> j, for 64 < j < 128 + 64 */
    sl_u128 b0 = (sl_u128)m * mul[0];
    sl_u128 b2 = (sl_u128)m * mul[1];
    return (uint64_t)(((b0 >> 64) + b2) >> (j - 64));
}
#else
static inline uint64_t umul128(uint64_t a, uint64_t b, uint64_t *hi)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t b00 = a_lo * b_lo, b01 = a_lo * b_hi, b10 = a_hi * b_lo, b11 = a_hi * b_hi;
    uint64_t mid1 = b10 + (b00 >> 32);
    uint64_t mid2 = b01 + (uint32_t)mid1;
    *hi = b11 + (mid1 >> 32) + (mid2 >> 32);
    return (mid2 << 32) | (uint32_t)b00;
}

static inline uint64_t mul_shift64(uint64_t m, const uint64_t mul[2], int j)
{
    uint64_t hi1, hi2;
    (void)umul128(m, mul[0], &hi1);
    uint64_t lo2 = umul128(m, mul[1], &hi2);
    uint64_t sum = hi1 + lo2;
    hi2 += sum < hi1;
    int s = j - 64; /* 0 < s < 64 */
    return (hi2 << (64 - s)) | (sum >> s);
}
#endif

/* floor(log10(2^e)) for 0 <= e <= 1650; floor(log10(5^e)) for 0 <= e <= 2620. */
static inline int log10_pow2(int e)
{
    return (int)(((uint32_t)e * 78913) >> 18);
}
static inline int log10_pow5(int e)
{
    return (int)(((uint32_t)e * 732923) >> 20);
}
/* Bit length of 5^e (1 for e == 0), for 0 <= e <= 3528. */
static inline int pow5_bits(int e)
{
    return (int)(((uint32_t)e * 1217359) >> 19) + 1;
}

static inline int pow5_factor(uint64_t v)
{
    int n = 0;
    while (v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n;
}

static int ryu_shortest(uint64_t bits, uint64_t *digits)
{
    uint64_t mant = bits & ((UINT64_C(1) << 52) - 1);
    int bexp = (int)((bits >> 52) & 0x7ff);
    int e2;
    uint64_t m2;
    if (bexp == 0) {
        e2 = 1 - 1023 - 52 - 2;
        m2 = mant;
    } else {
        e2 = bexp - 1023 - 52 - 2;
        m2 = (UINT64_C(1) << 52) | mant;
    }
    bool even = (m2 & 1) == 0;
    /* The interval [mv - mm, mv + 2] / 4 * 2^e2 rounds to v; the lower gap
     * is half as wide at a power of two (mm = 2 instead of 1 + 1). */
    uint64_t mv = 4 * m2;
    int mm_shift = mant != 0 || bexp <= 1;
    uint64_t vr, vp, vm;
    int e10;
    bool vm_tz = false, vr_tz = false;
    if (e2 >= 0) {
        int q = log10_pow2(e2) - (e2 > 3);
        e10 = q;
        int k = SL__POW5_INV_BITS + pow5_bits(q) - 1;
        int i = -e2 + q + k;
        vr = mul_shift64(mv, sl__pow5_inv[q], i);
        vp = mul_shift64(mv + 2, sl__pow5_inv[q], i);
        vm = mul_shift64(mv - 1 - (uint64_t)mm_shift, sl__pow5_inv[q], i);
        if (q <= 21) {
            /* Exact divisions by 10^q are possible only here: find out
             * whether the dropped digits are all zeros. */
            if (mv % 5 == 0) {
                vr_tz = pow5_factor(mv) >= q;
            } else if (even) {
                vm_tz = pow5_factor(mv - 1 - (uint64_t)mm_shift) >= q;
            } else {
                vp -= pow5_factor(mv + 2) >= q;
            }
        }
    } else {
        int q = log10_pow5(-e2) - (-e2 > 1);
        e10 = q + e2;
        int i = -e2 - q;
        int k = pow5_bits(i) - SL__POW5_BITS;
        int j = q - k;
        vr = mul_shift64(mv, sl__pow5[i], j);
        vp = mul_shift64(mv + 2, sl__pow5[i], j);
        vm = mul_shift64(mv - 1 - (uint64_t)mm_shift, sl__pow5[i], j);
        if (q <= 1) {
            /* mv has at least q trailing zero bits: so have vr, and vm or vp. */
            vr_tz = true;
            if (even) {
                vm_tz = mm_shift == 1;
            } else {
                vp--;
            }
        } else if (q < 63) {
            vr_tz = (mv & ((UINT64_C(1) << q) - 1)) == 0;
        }
    }

    int removed = 0;
    unsigned last = 0;
    uint64_t output;
    if (vm_tz || vr_tz) {
        /* rare: exact ties and inclusive bounds matter */
        while (vp / 10 > vm / 10) {
            vm_tz &= vm % 10 == 0;
            vr_tz &= last == 0;
            last = (unsigned)(vr % 10);
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        if (vm_tz) {
            while (vm % 10 == 0) {
                vr_tz &= last == 0;
                last = (unsigned)(vr % 10);
                vr /= 10;
                vp /= 10;
                vm /= 10;
                removed++;
            }
        }
        if (vr_tz && last == 5 && vr % 2 == 0) {
            last = 4; /* exactly half-way: round to even */
        }
        output = vr + ((vr == vm && (!even || !vm_tz)) || last >= 5);
    } else {
        /* common: two digits at a time while both bounds allow it */
        bool round_up = false;
        if (vp / 100 > vm / 100) {
            round_up = vr % 100 >= 50;
            vr /= 100;
            vp /= 100;
            vm /= 100;
            removed += 2;
        }
        while (vp / 10 > vm / 10) {
            round_up = vr % 10 >= 5;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        output = vr + (vr == vm || round_up);
    }
    *digits = output;
    return e10 + removed;
}

/*
 * The text of digits * 10^e10 (k = its number of digits) as printf's %.{p}g
 * would print it with p = max(15, k) (p = k below DBL_MIN): the format this
 * writer has always used, so that records stay byte for byte what they
 * were. Fixed notation when -4 <= exponent < p (with ".0" when nothing
 * follows the point), otherwise d.ddde[+-]XX.
 */
static size_t render_shortest(bool neg, uint64_t digits, int e10, bool subnormal,
                              char *out)
{
    char d[24];
    char *dend = d + sizeof d;
    char *dp = u64_backwards(digits, dend);
    int k = (int)(dend - dp);
    int x = e10 + k - 1; /* exponent of the first digit */
    int p = subnormal ? k : (k > 15 ? k : 15);
    size_t len = 0;
    if (neg) {
        out[len++] = '-';
    }
    if (x >= -4 && x < p) {
        if (x < 0) {
            out[len++] = '0';
            out[len++] = '.';
            for (int i = -1; i > x; i--) {
                out[len++] = '0';
            }
            memcpy(out + len, dp, (size_t)k);
            len += (size_t)k;
        } else if (k > x + 1) {
            memcpy(out + len, dp, (size_t)x + 1);
            len += (size_t)x + 1;
            out[len++] = '.';
            memcpy(out + len, dp + x + 1, (size_t)(k - x - 1));
            len += (size_t)(k - x - 1);
        } else {
            memcpy(out + len, dp, (size_t)k);
            len += (size_t)k;
            for (int i = k; i <= x; i++) {
                out[len++] = '0';
            }
            out[len++] = '.';
            out[len++] = '0';
        }
    } else {
        out[len++] = dp[0];
        if (k > 1) {
            out[len++] = '.';
            memcpy(out + len, dp + 1, (size_t)(k - 1));
            len += (size_t)(k - 1);
        }
        out[len++] = 'e';
        out[len++] = x < 0 ? '-' : '+';
        unsigned e = (unsigned)(x < 0 ? -x : x);
        if (e >= 100) {
            out[len++] = (char)('0' + e / 100);
        }
        out[len++] = (char)('0' + e / 10 % 10);
        out[len++] = (char)('0' + e % 10);
    }
    return len;
}

/* Every finite double the hundredths path does not take. Out of line, so
 * that path saves no registers for it. */
SL__NOINLINE_FN static char *put_double_general(char *out, double v, uint64_t bits)
{
    char tmp[40];
    char *end = tmp + sizeof tmp;
    char *p = format_micro(v, end); /* zeros included */
    if (p != NULL) {
        size_t n = (size_t)(end - p);
        memcpy(out, p, n);
        return out + n;
    }
    uint64_t digits;
    int e10 = ryu_shortest(bits, &digits);
    return out + render_shortest(bits >> 63 != 0, digits, e10,
                                 (bits & UINT64_C(0x7ff0000000000000)) == 0, out);
}

char *sl__put_double(char *out, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000)) {
        if ((bits & ((UINT64_C(1) << 52) - 1)) != 0) {
            memcpy(out, "\"NaN\"", 5);
            return out + 5;
        }
        if (v > 0) {
            memcpy(out, "\"Infinity\"", 10);
            return out + 10;
        }
        memcpy(out, "\"-Infinity\"", 11);
        return out + 11;
    }
    /* Whole hundredths below 1e7 (prices, ratios, percentages): the same
     * text as format_micro gives them, for a fraction of its work. */
    double a = fabs(v), c = a * 100;
    /* Signed conversions: c < 1e9 once a < 1e7 holds, and x86-64 converts
     * to int64_t in one instruction (to uint64_t only with a branch). */
    if (a < 1e7 && (double)(int64_t)c == c && c / 100 == a) {
        uint64_t uc = (uint64_t)(int64_t)c;
        uint64_t ip = uc / 100;
        unsigned fp = (unsigned)(uc - ip * 100);
        char *p = out;
        if (bits >> 63 != 0) {
            *p++ = '-';
        }
        p = sl__put_uint(p, ip);
        *p++ = '.';
        if (fp % 10 == 0) {
            *p++ = (char)('0' + fp / 10);
        } else {
            memcpy(p, sl__digits2 + 2 * fp, 2);
            p += 2;
        }
        return p;
    }
    return put_double_general(out, v, bits);
}

void sl__jw_double(sl__jw *w, double v)
{
    JW_PUT(w, sl__put_double, v);
}
