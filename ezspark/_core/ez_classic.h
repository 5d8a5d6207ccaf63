/* The C side of _classic.pyx: the libm functions that gymnasium's classic-control
 * environments call, reached through volatile pointers so that the compiler calls them as
 * written.
 *
 * Included by _classic.pyx only (`cdef extern from "ez_classic.h"`).  Without the pointers
 * GCC rewrites pow(x, 2.0) as x * x and fuses sin(x) and cos(x) into one sincos(x) call.
 * The environments' numpy scalars call libm: `x ** 2` on a numpy float64 is pow(x, 2.0),
 * which is not always x * x rounded (about 1 value in 1,000 differs in its last bit); on a
 * numpy float32 it is powf(x, 2.0f); numpy's float64 sin and cos, and math.sin/math.cos,
 * are libm's sin and cos.  So the kernels call exactly these functions. */
#ifndef EZSPARK_EZ_CLASSIC_H
#define EZSPARK_EZ_CLASSIC_H

#include <math.h>

static double (*volatile ez_sin_p)(double) = sin;
static double (*volatile ez_cos_p)(double) = cos;
static double (*volatile ez_pow_p)(double, double) = pow;
static float (*volatile ez_powf_p)(float, float) = powf;

static inline double ez_sin(double x) { return ez_sin_p(x); }
static inline double ez_cos(double x) { return ez_cos_p(x); }
/* x ** 2 of a numpy float64 / float32 scalar */
static inline double ez_square_pow(double x) { return ez_pow_p(x, 2.0); }
static inline float ez_square_powf(float x) { return ez_powf_p(x, 2.0f); }

/* A float32 cast (numpy's astype(float32)) and a float32 product, through a volatile float:
 * GCC 12's SLP vectorizer was seen to drop the narrowing of (double)(float)x when it paired two
 * such stores (Acrobot's observation), so the rounding is forced here. */
static inline double ez_float32(double x) {
    volatile float f = (float)x;
    return (double)f;
}

static inline float ez_mul_f32(float a, float b) {
    volatile float p = a * b;
    return p;
}

/* numpy's float64 remainder (x % m of numpy scalars: npy_divmod), the sign of m */
static inline double ez_remainder(double a, double b) {
    double mod = fmod(a, b);
    if (mod != 0.0) {
        if ((b < 0) != (mod < 0)) {
            mod += b;
        }
    } else {
        mod = copysign(0.0, b);
    }
    return mod;
}

/* The first draws of np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed))),
 * what gymnasium's reset(seed=seed) starts from (gymnasium.utils.seeding.np_random), for a
 * seed in 0 ... 2**63-1.  numpy's algorithms, as numpy/random/bit_generator.pyx and
 * _pcg64.pyx specify them: SeedSequence hashes the seed's 32-bit words (little end first;
 * one word for seeds below 2**32) into a pool of 4 words and generates 8 words, read as 4
 * little-endian uint64; PCG64 (XSL RR 128/64) takes the first two as its initial state and
 * the last two as its stream; Generator.random() is (next64 >> 11) * 2**-53. */
#include <stdint.h>

typedef struct { unsigned __int128 state, inc; } ez_pcg64;

#define EZ_SS_INIT_A 0x43b0d7e5u
#define EZ_SS_MULT_A 0x931e8875u
#define EZ_SS_INIT_B 0x8b51f9ddu
#define EZ_SS_MULT_B 0x58f38dedu
#define EZ_SS_MIX_L 0xca01f9ddu
#define EZ_SS_MIX_R 0x4973f715u

static inline uint32_t ez_ss_hashmix(uint32_t value, uint32_t *hash_const) {
    value ^= *hash_const;
    *hash_const *= EZ_SS_MULT_A;
    value *= *hash_const;
    value ^= value >> 16;
    return value;
}

static inline uint32_t ez_ss_mix(uint32_t x, uint32_t y) {
    uint32_t result = EZ_SS_MIX_L * x - EZ_SS_MIX_R * y;
    result ^= result >> 16;
    return result;
}

static inline unsigned __int128 ez_pcg64_multiplier(void) {
    return ((unsigned __int128)0x2360ED051FC65DA4ULL << 64) | 0x4385DF649FCCF645ULL;
}

static inline void ez_pcg64_seed(ez_pcg64 *g, uint64_t seed) {
    uint32_t entropy[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    int n_entropy = (seed >> 32) ? 2 : 1;
    uint32_t pool[4], words[8], hash_const = EZ_SS_INIT_A;
    uint64_t s[4];
    int i, src, dst;
    for (i = 0; i < 4; i++)
        pool[i] = ez_ss_hashmix(i < n_entropy ? entropy[i] : 0u, &hash_const);
    for (src = 0; src < 4; src++)
        for (dst = 0; dst < 4; dst++)
            if (src != dst)
                pool[dst] = ez_ss_mix(pool[dst], ez_ss_hashmix(pool[src], &hash_const));
    hash_const = EZ_SS_INIT_B;
    for (i = 0; i < 8; i++) {
        uint32_t v = pool[i % 4];
        v ^= hash_const;
        hash_const *= EZ_SS_MULT_B;
        v *= hash_const;
        v ^= v >> 16;
        words[i] = v;
    }
    for (i = 0; i < 4; i++)
        s[i] = (uint64_t)words[2 * i] | ((uint64_t)words[2 * i + 1] << 32);
    /* pcg64_set_seed -> pcg_setseq_128_srandom_r(initstate, initseq) */
    g->state = 0;
    g->inc = ((((unsigned __int128)s[2] << 64) | s[3]) << 1) | 1u;
    g->state = g->state * ez_pcg64_multiplier() + g->inc;
    g->state += ((unsigned __int128)s[0] << 64) | s[1];
    g->state = g->state * ez_pcg64_multiplier() + g->inc;
}

static inline double ez_pcg64_double(ez_pcg64 *g) {
    uint64_t x;
    unsigned rot;
    g->state = g->state * ez_pcg64_multiplier() + g->inc;
    x = (uint64_t)(g->state >> 64) ^ (uint64_t)g->state;
    rot = (unsigned)(g->state >> 122);
    x = (x >> rot) | (x << ((-rot) & 63u));
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

/* Generator.uniform(low, high): low + (high - low) * random(), one draw per value, in order */
static inline void ez_seeded_uniform(uint64_t seed, int k, const double *low,
                                     const double *high, double *out) {
    ez_pcg64 g;
    int j;
    ez_pcg64_seed(&g, seed);
    for (j = 0; j < k; j++)
        out[j] = low[j] + (high[j] - low[j]) * ez_pcg64_double(&g);
}

#endif
