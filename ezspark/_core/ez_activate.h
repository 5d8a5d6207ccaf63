/* The C side of _activate.pyx: ezspark's deterministic exp, the scalar row loop and the SIMD
 * blocks of rows (contract in _activate.pxd, design in the _activate.pyx module docstring).
 *
 * Included by _activate.pyx only (`cdef extern from "ez_activate.h"`): every function is
 * static, one copy per extension module.  The numpy twin _activate_py.py performs the same
 * floating-point operations in the same order; the build passes -ffp-contract=off (setup.py)
 * so no multiply-add is fused here either. */
#ifndef EZSPARK_EZ_ACTIVATE_H
#define EZSPARK_EZ_ACTIVATE_H

#include <stdint.h>
#include <string.h>
#include <stddef.h>
#include <math.h>
/* GCC vector extensions (GCC, clang): SIMD blocks of rows.  Elsewhere (or with
 * -DEZ_NO_VECTORS) every row runs the scalar code: the same bits, slower. */
#if defined(__GNUC__) && !defined(EZ_NO_VECTORS)
#define EZ_VECTORS 1
#pragma GCC diagnostic ignored "-Wpsabi"
#else
#define EZ_VECTORS 0
#endif

/* ---- ez_exp: exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 -------------------
 *   t  = x * (1/ln 2) + 1.5 * 2^52        rounds x / ln 2 to the nearest integer k
 *   kf = t - 1.5 * 2^52                    k as a double (exact)
 *   r  = (x - kf * LN2_HI) - kf * LN2_LO    |r| <= 0.3466; kf * LN2_HI is exact
 *   p  = sum of r^n / n!, n = 0 ... 13 (truncation < 5e-18 relative), as
 *        p = 1 + (r + r^2 * h),  h = sum of c_n r^(n-2), n = 2 ... 13, c_n = 1/n!, by
 *        Estrin's scheme: q_m = c_(2m+3) * r + c_(2m+2) (m = 0 ... 5),
 *        u_m = q_(2m+1) * r^2 + q_2m (m = 0 ... 2),  h = (u_2 * r^4 + u_1) * r^4 + u_0
 *   k  = low bits of t (t holds 1.5 * 2^52 + k exactly)
 *   x <  0: y = (p * 2^(k + 64)) * 2^-64   (only the last product rounds: subnormals once)
 *   x >= 0: y = (p * 2^(k - 1)) * 2        (the last product overflows to inf)
 *   x > EZ_EXP_HI: +inf;  x < EZ_EXP_LO: +0.0;  NaN gives NaN.
 * Every operation is written out (the build has -ffp-contract=off: no fused multiply-add),
 * and the numpy twin (_activate_py.py) performs the same ones in the same order. */
#define EZ_INV_LN2 1.4426950408889634
#define EZ_LN2_HI 6.93147180369123816490e-01   /* 0x1.62e42fee00000p-1 */
#define EZ_LN2_LO 1.90821492927058770002e-10   /* 0x1.a39ef35793c76p-33 */
#define EZ_TWO_M64 5.42101086242752217003726400434970855712890625e-20   /* 2^-64 */
#define EZ_SHIFT 6755399441055744.0
#define EZ_EXP_HI 709.79
#define EZ_EXP_LO -745.2
#define EZ_C2 0.5
#define EZ_C3 0.16666666666666666
#define EZ_C4 0.041666666666666664
#define EZ_C5 0.008333333333333333
#define EZ_C6 0.001388888888888889
#define EZ_C7 0.0001984126984126984
#define EZ_C8 2.48015873015873e-05
#define EZ_C9 2.7557319223985893e-06
#define EZ_C10 2.755731922398589e-07
#define EZ_C11 2.505210838544172e-08
#define EZ_C12 2.08767569878681e-09
#define EZ_C13 1.6059043836821613e-10
#define EZ_TWO_M64_BITS 0x3bf0000000000000ULL   /* 2^-64 */
#define EZ_TWO_BITS 0x4000000000000000ULL       /* 2.0 */
#define EZ_INF_BITS 0x7ff0000000000000ULL

/* p = exp(r) for |r| <= 0.35 (T: double or a vector of doubles) */
#define EZ_EXP_POLY(T, p, r) {                                                              \
    T r2_ = r * r, r4_, q0_, q1_, q2_, q3_, q4_, q5_, u0_, u1_, u2_, h_;                      \
    r4_ = r2_ * r2_;                                                                         \
    q0_ = EZ_C3 * r + EZ_C2;  q1_ = EZ_C5 * r + EZ_C4;  q2_ = EZ_C7 * r + EZ_C6;             \
    q3_ = EZ_C9 * r + EZ_C8;  q4_ = EZ_C11 * r + EZ_C10;  q5_ = EZ_C13 * r + EZ_C12;         \
    u0_ = q1_ * r2_ + q0_;  u1_ = q3_ * r2_ + q2_;  u2_ = q5_ * r2_ + q4_;                   \
    h_ = (u2_ * r4_ + u1_) * r4_ + u0_;                                                      \
    p = 1.0 + (r + r2_ * h_);                                                                \
}

static inline double ez_exp(double x) {
    double t, kf, r, p, scale, factor;
    uint64_t bits;
    if (x > EZ_EXP_HI) return HUGE_VAL;
    if (x < EZ_EXP_LO) return 0.0;
    t = x * EZ_INV_LN2 + EZ_SHIFT;
    kf = t - EZ_SHIFT;
    r = (x - kf * EZ_LN2_HI) - kf * EZ_LN2_LO;
    EZ_EXP_POLY(double, p, r)
    memcpy(&bits, &t, 8);
    if (x < 0.0) {
        bits = (bits + (1023 + 64)) << 52;
        factor = EZ_TWO_M64;
    } else {
        bits = (bits + (1023 - 1)) << 52;
        factor = 2.0;
    }
    memcpy(&scale, &bits, 8);
    return (p * scale) * factor;
}

static inline double ez_sigmoid(double z) {
    return 1.0 / (1.0 + ez_exp(-z));
}

/* ---- the same exp on a vector of lanes: selects instead of branches -------------------- */
#if EZ_VECTORS
typedef double ez_d2 __attribute__((vector_size(16)));
typedef uint64_t ez_u2 __attribute__((vector_size(16)));
typedef double ez_d4 __attribute__((vector_size(32)));
typedef uint64_t ez_u4 __attribute__((vector_size(32)));

#define EZ_DEFINE_VEXP(NAME, VD, VU)                                                        \
static inline __attribute__((always_inline)) VD NAME(VD x) {                                \
    VU neg = (VU)(x < 0.0);                                                                 \
    VD t = x * EZ_INV_LN2 + EZ_SHIFT;                                                       \
    VD kf = t - EZ_SHIFT;                                                                   \
    VD r = (x - kf * EZ_LN2_HI) - kf * EZ_LN2_LO;                                           \
    VD p, y;                                                                                \
    VU bits, big, small;                                                                    \
    EZ_EXP_POLY(VD, p, r)                                                                   \
    bits = (((VU)t) + ((neg & 65) + 1022)) << 52;                                           \
    y = (p * (VD)bits) * (VD)((neg & EZ_TWO_M64_BITS) | (~neg & EZ_TWO_BITS));              \
    big = (VU)(x > EZ_EXP_HI);                                                              \
    small = (VU)(x < EZ_EXP_LO);                                                            \
    return (VD)((((VU)y & ~big) | (big & EZ_INF_BITS)) & ~small);                           \
}
EZ_DEFINE_VEXP(ez_vexp2, ez_d2, ez_u2)
EZ_DEFINE_VEXP(ez_vexp4, ez_d4, ez_u4)
#endif

typedef struct {
    ptrdiff_t n_programs;      /* P */
    ptrdiff_t n_inputs;        /* I */
    ptrdiff_t n_outputs;       /* O */
    ptrdiff_t max_values;      /* max over g of I + n_g */
    double slope;
    const long long* node_off; /* [P+1] */
    const double* node_bias;   /* [Nn] */
    const long long* in_off;   /* [Nn+1] */
    const int32_t* in_src;     /* [E] */
    const double* in_w;        /* [E] */
    const int32_t* out_slot;   /* [P*O] */
} ez_prog;

/* Lowest j with o[j] == max(o) (numpy.argmax: the first NaN wins); n >= 1. */
static long long ez_argmax(const double* o, ptrdiff_t n) {
    ptrdiff_t j, best_j = 0;
    double best = o[0], v;
    for (j = 1; j < n; j++) {
        if (best != best) break;
        v = o[j];
        if (v > best || v != v) { best = v; best_j = j; }
    }
    return best_j;
}

/* One row: program g on x[0:I]; values: scratch of max_values doubles (may alias x). */
static void ez_run_one(const ez_prog* p, ptrdiff_t g, const double* x, double* values,
                       double* outputs) {
    ptrdiff_t n_in = p->n_inputs, first = p->node_off[g], last = p->node_off[g + 1];
    ptrdiff_t a, i, e, e_end;
    double s;
    const int32_t* slots = p->out_slot + g * p->n_outputs;
    double* node_values = values + n_in - first;
    if (values != x)
        for (a = 0; a < n_in; a++) values[a] = x[a];
    for (i = first; i < last; i++) {
        s = 0.0;
        e_end = p->in_off[i + 1];
        for (e = p->in_off[i]; e < e_end; e++) s = s + p->in_w[e] * values[p->in_src[e]];
        node_values[i] = ez_sigmoid(p->slope * (p->node_bias[i] + s));
    }
    for (a = 0; a < p->n_outputs; a++) outputs[a] = values[slots[a]];
}

#if EZ_VECTORS
/* ---- blocks: L = NV * W rows of one program side by side ------------------------------
 * rows[0:L] index X (and out, act); all run program g.  values: scratch of max_values
 * slots x NV vectors of W lanes (aligned), lane j of slot a at ((double*)(values + a*NV))[j].
 * Each lane's arithmetic is ez_run_one's.  Writes out[rows[j] * O ...] unless out is NULL and
 * act[rows[j]] unless act is NULL; tmp holds O doubles.  A row may appear in several lanes
 * (padding): those lanes compute and write the same values. */
#define EZ_DEFINE_BLOCK(NAME, ATTR, VD, W, NV, VEXP)                                        \
static ATTR void NAME(const ez_prog* p, ptrdiff_t g, const ptrdiff_t* rows,                 \
                      const double* X, double* out, long long* act, VD* values,             \
                      double* tmp) {                                                        \
    ptrdiff_t n_in = p->n_inputs, n_out = p->n_outputs;                                     \
    ptrdiff_t first = p->node_off[g], last = p->node_off[g + 1];                            \
    ptrdiff_t a, i, e, e_end, j, v;                                                         \
    const int32_t* slots = p->out_slot + g * n_out;                                         \
    const long long* in_off = p->in_off;                                                    \
    const int32_t* in_src = p->in_src;                                                      \
    const double* in_w = p->in_w;                                                           \
    const double slope = p->slope;                                                          \
    VD* node_values = values + (n_in - first) * NV;                                         \
    const VD* src;                                                                          \
    VD s[NV];                                                                               \
    double w, b;                                                                            \
    double* o;                                                                              \
    for (a = 0; a < n_in; a++)                                                              \
        for (j = 0; j < NV * W; j++)                                                        \
            ((double*)(values + a * NV))[j] = X[rows[j] * n_in + a];                        \
    for (i = first; i < last; i++) {                                                        \
        _Pragma("GCC unroll 16")                                                            \
        for (v = 0; v < NV; v++) s[v] = (VD){0};                                            \
        e_end = in_off[i + 1];                                                              \
        for (e = in_off[i]; e < e_end; e++) {                                               \
            w = in_w[e];                                                                    \
            src = values + (ptrdiff_t)in_src[e] * NV;                                       \
            _Pragma("GCC unroll 16")                                                        \
            for (v = 0; v < NV; v++) s[v] = s[v] + w * src[v];                              \
        }                                                                                   \
        b = p->node_bias[i];                                                                \
        _Pragma("GCC unroll 16")                                                            \
        for (v = 0; v < NV; v++)                                                            \
            node_values[i * NV + v] = 1.0 / (1.0 + VEXP(-(slope * (b + s[v]))));           \
    }                                                                                       \
    for (j = 0; j < NV * W; j++) {                                                          \
        o = out != NULL ? out + rows[j] * n_out : tmp;                                      \
        for (a = 0; a < n_out; a++) o[a] = ((double*)(values + slots[a] * NV))[j];          \
        if (act != NULL) act[rows[j]] = ez_argmax(o, n_out);                                \
    }                                                                                       \
}

/* Rows rows[0:n] of one program in blocks of 16, 8, 4 lanes, and 2-3 leftover rows as one
 * padded block of 4; returns the number of rows done (n, or n - 1 when one row is left). */
#define EZ_DEFINE_BLOCKS(NAME, ATTR, VD, W, VEXP)                                           \
EZ_DEFINE_BLOCK(NAME##_16, ATTR, VD, W, 16 / W, VEXP)                                       \
EZ_DEFINE_BLOCK(NAME##_8, ATTR, VD, W, 8 / W, VEXP)                                         \
EZ_DEFINE_BLOCK(NAME##_4, ATTR, VD, W, 4 / W, VEXP)                                         \
static ATTR ptrdiff_t NAME(const ez_prog* p, ptrdiff_t g, const ptrdiff_t* rows,            \
                           ptrdiff_t n, const double* X, double* out, long long* act,       \
                           char* values, double* tmp) {                                     \
    ptrdiff_t k = 0, pad[4];                                                                \
    for (; k + 16 <= n; k += 16) NAME##_16(p, g, rows + k, X, out, act, (VD*)values, tmp);  \
    for (; k + 8 <= n; k += 8) NAME##_8(p, g, rows + k, X, out, act, (VD*)values, tmp);     \
    for (; k + 4 <= n; k += 4) NAME##_4(p, g, rows + k, X, out, act, (VD*)values, tmp);     \
    if (n - k >= 2) {                                                                       \
        pad[0] = rows[k];  pad[1] = rows[k + 1];                                            \
        pad[2] = rows[n - 1];  pad[3] = rows[n - 1];                                        \
        NAME##_4(p, g, pad, X, out, act, (VD*)values, tmp);                                 \
        k = n;                                                                              \
    }                                                                                       \
    return k;                                                                               \
}
EZ_DEFINE_BLOCKS(ez_blocks_base, , ez_d2, 2, ez_vexp2)
#endif
#if EZ_VECTORS && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define EZ_HAVE_AVX2_CODE 1
EZ_DEFINE_BLOCKS(ez_blocks_avx2, __attribute__((target("avx2"))), ez_d4, 4, ez_vexp4)
#else
#define EZ_HAVE_AVX2_CODE 0
#endif

/* Which block code runs: 2 = AVX2, 1 = baseline vectors (SSE2 on x86-64), 0 = none (every
 * row scalar); -1 = not chosen yet.  All give the same bits. */
static int ez_simd_level = -1;

static int ez_simd(void) {
    if (ez_simd_level < 0) {
#if EZ_HAVE_AVX2_CODE
        __builtin_cpu_init();
        ez_simd_level = __builtin_cpu_supports("avx2") ? 2 : 1;
#else
        ez_simd_level = EZ_VECTORS;
#endif
    }
    return ez_simd_level;
}

/* 0 = automatic; 1 = baseline; 2 = AVX2 (if the CPU has it).  Returns the level in use. */
static int ez_set_simd(int level) {
    ez_simd_level = -1;
    ez_simd();
    if ((level == 1 && EZ_VECTORS) || (level == 2 && ez_simd_level == 2))
        ez_simd_level = level;
    return ez_simd_level;
}

/* Rows rows[0:n] of X, all running program g.  scratch: ez_scratch_bytes(p) bytes. */
static void ez_run_group(const ez_prog* p, ptrdiff_t g, const ptrdiff_t* rows, ptrdiff_t n,
                         const double* X, double* out, long long* act, char* scratch) {
    ptrdiff_t k;
    char* aligned = (char*)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    double* tmp = (double*)(aligned + 128 * p->max_values);
    double* o;
#if EZ_HAVE_AVX2_CODE
    if (ez_simd() == 2)
        k = ez_blocks_avx2(p, g, rows, n, X, out, act, aligned, tmp);
    else
#endif
#if EZ_VECTORS
        k = ez_blocks_base(p, g, rows, n, X, out, act, aligned, tmp);
#else
        k = 0;
#endif
    for (; k < n; k++) {
        o = out != NULL ? out + rows[k] * p->n_outputs : tmp;
        ez_run_one(p, g, X + rows[k] * p->n_inputs, (double*)aligned, o);
        if (act != NULL) act[rows[k]] = ez_argmax(o, p->n_outputs);
    }
}

static size_t ez_scratch_bytes(const ez_prog* p) {
    return 128 * (size_t)p->max_values + 8 * (size_t)p->n_outputs + 64;
}

#endif  /* EZSPARK_EZ_ACTIVATE_H */
