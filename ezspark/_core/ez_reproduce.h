/* The C side of _reproduce.pyx: the registry hash constant and 64-bit bit counting.
 *
 * Included by _reproduce.pyx only (`cdef extern from "ez_reproduce.h"`).  The hash multiplier
 * is the one of ezspark._core._registry.HASH_MULTIPLIER: the kernel and the Python registry
 * must probe the same slots.  Bitset rows of the add-connection search are counted and walked
 * with popcount / count-trailing-zeros; the portable fallbacks give the same results. */
#ifndef EZSPARK_EZ_REPRODUCE_H
#define EZSPARK_EZ_REPRODUCE_H

#define EZ_HASH_MULTIPLIER 0x9E3779B97F4A7C15ULL
#define EZ_INT32_MAX 2147483647LL

static inline int ez_popcount64(unsigned long long x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
#endif
}

static inline int ez_ctz64(unsigned long long x) {  /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while (!(x & 1ULL)) { x >>= 1; n++; }
    return n;
#endif
}

#endif  /* EZSPARK_EZ_REPRODUCE_H */
