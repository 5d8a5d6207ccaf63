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

#endif
