"""Batched steps of ezspark's pole-balancing environments (contract in ``_poles.pxd``).

One call steps rows 0 ... n-1: each row's state is advanced exactly as
``ezspark.poles.PoleBalancingEnv.step`` advances it (Wieland's equations, two RK4 steps,
the same float64 operations in the same order, libm's sin and cos, the damping fitness
with math.fsum's correctly rounded sum), so a row plays bit for bit the episode the
environment plays.  ``_poles_py.py`` is the numpy twin with the same signature.
"""
import math

from libc.math cimport fabs, isfinite

from ezspark._core._typedefs cimport float64_t, int64_t, intp_t, uint8_t

cdef extern from "ez_classic.h" nogil:
    double ez_sin(double x)
    double ez_cos(double x)
    double ez_float32(double x)

__all__ = ["poles_step"]

cdef double GRAVITY = -9.8
cdef double CART_MASS = 1.0
cdef double M1 = 0.1, M2 = 0.01
cdef double L1 = 0.5, L2 = 0.05
cdef double ML1 = 0.1 * 0.5, ML2 = 0.01 * 0.05
cdef double FORCE = 10.0
cdef double TAU = 0.01
cdef double HALF = 0.01 * 0.5
cdef double SIXTH = 0.01 / 6.0
cdef double TRACK = 2.4
cdef double LIMIT_1 = math.radians(12.0), LIMIT_2 = math.radians(36.0)
cdef double[6] SCALE6 = [4.8, 2.0, 0.52, 2.0, 0.52, 2.0]
cdef double DAMPING_STEP = 0.1 / 1000
cdef double JIGGLE_FLOOR = 1e-9
cdef enum:
    WINDOW = 100           # balanced steps the damping fitness sums over


cdef inline double _friction(double muc, double dx) noexcept nogil:
    return muc if dx > 0.0 else (-muc if dx < 0.0 else 0.0)


cdef inline void _accel(int poles, double f, const double* s, double muc, double mup,
                        double* acc) noexcept nogil:
    """acc = (x'', theta1''[, theta2'']) at s = (x, x', theta1, theta1'[, theta2, theta2'])
    (poles._accel1 / _accel2; s[0] is not read)."""
    cdef double dx = s[1], t1 = s[2], w1 = s[3], t2, w2
    cdef double c1 = ez_cos(t1), s1 = ez_sin(t1), c2, s2
    cdef double g1 = GRAVITY * s1, g2, h1 = mup * w1 / ML1, h2
    cdef double fi1 = ML1 * w1 * w1 * s1 + 0.75 * M1 * c1 * (h1 + g1), fi2
    cdef double mi1 = M1 * (1.0 - 0.75 * c1 * c1), mi2
    cdef double ddx
    if poles == 1:
        ddx = (f - _friction(muc, dx) + fi1) / (mi1 + CART_MASS)
        acc[0], acc[1] = ddx, -0.75 * (ddx * c1 + g1 + h1) / L1
        return
    t2, w2 = s[4], s[5]
    c2, s2 = ez_cos(t2), ez_sin(t2)
    g2, h2 = GRAVITY * s2, mup * w2 / ML2
    fi2 = ML2 * w2 * w2 * s2 + 0.75 * M2 * c2 * (h2 + g2)
    mi2 = M2 * (1.0 - 0.75 * c2 * c2)
    ddx = (f - _friction(muc, dx) + fi1 + fi2) / (mi1 + mi2 + CART_MASS)
    acc[0] = ddx
    acc[1] = -0.75 * (ddx * c1 + g1 + h1) / L1
    acc[2] = -0.75 * (ddx * c2 + g2 + h2) / L2


cdef inline void _rk4(int poles, double* s, double f, double muc, double mup) noexcept nogil:
    """One classical Runge-Kutta step of TAU (poles._rk4_1 / _rk4_2): the positions
    advance with the velocities, the velocities with the accelerations."""
    cdef double a1[3]
    cdef double a2[3]
    cdef double a3[3]
    cdef double a4[3]
    cdef double v2[3]
    cdef double v3[3]
    cdef double v4[3]
    cdef double z[6]
    cdef intp_t k, m = poles + 1          # velocities: x', theta1'[, theta2'] at 1, 3[, 5]
    _accel(poles, f, s, muc, mup, a1)
    for k in range(m):
        v2[k] = s[2 * k + 1] + HALF * a1[k]
        z[2 * k], z[2 * k + 1] = s[2 * k] + HALF * s[2 * k + 1], v2[k]
    _accel(poles, f, z, muc, mup, a2)
    for k in range(m):
        v3[k] = s[2 * k + 1] + HALF * a2[k]
        z[2 * k], z[2 * k + 1] = s[2 * k] + HALF * v2[k], v3[k]
    _accel(poles, f, z, muc, mup, a3)
    for k in range(m):
        v4[k] = s[2 * k + 1] + TAU * a3[k]
        z[2 * k], z[2 * k + 1] = s[2 * k] + TAU * v3[k], v4[k]
    _accel(poles, f, z, muc, mup, a4)
    for k in range(m):
        s[2 * k] = s[2 * k] + SIXTH * (s[2 * k + 1] + v4[k] + 2.0 * (v3[k] + v2[k]))
        s[2 * k + 1] = s[2 * k + 1] + SIXTH * (a1[k] + a4[k] + 2.0 * (a3[k] + a2[k]))


cdef inline bint _failed(int poles, const double* s) noexcept nogil:
    if poles == 1:
        return s[0] < -TRACK or s[0] > TRACK or s[2] < -LIMIT_1 or s[2] > LIMIT_1
    return (s[0] < -TRACK or s[0] > TRACK or s[2] < -LIMIT_2 or s[2] > LIMIT_2
            or s[4] < -LIMIT_2 or s[4] > LIMIT_2)


cdef double _fsum(const double* values, intp_t count) noexcept nogil:
    """math.fsum of values: the correctly rounded sum (CPython's msum, Shewchuk's partials
    with its half-even correction); a NaN or infinity gives their plain sum."""
    cdef double p[WINDOW]
    cdef double x, y, t, hi, lo = 0.0, yr, special = 0.0
    cdef intp_t i, j, n = 0, k
    for k in range(count):
        x = values[k]
        if not isfinite(x):
            special += x
            continue
        i = 0
        for j in range(n):
            y = p[j]
            if fabs(x) < fabs(y):
                t = x
                x = y
                y = t
            hi = x + y
            lo = y - (hi - x)
            if lo != 0.0:
                p[i] = lo
                i += 1
            x = hi
        n = i
        if x != 0.0:
            p[n] = x
            n += 1
    if special != 0.0:           # NaN != 0.0 too
        return special
    hi = 0.0
    if n > 0:
        n -= 1
        hi = p[n]
        while n > 0:
            x = hi
            n -= 1
            y = p[n]
            hi = x + y
            yr = hi - x
            lo = y - yr
            if lo != 0.0:
                break
        if n > 0 and ((lo < 0.0 and p[n - 1] < 0.0) or (lo > 0.0 and p[n - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            yr = x - hi
            if y == yr:
                hi = x
    return hi


cdef inline double _damping(double* window, int64_t t, const double* s,
                            double* f2_prev) noexcept nogil:
    """The reward of balanced step t of the damping fitness (PoleBalancingEnv._damping_reward)."""
    cdef double f2 = 0.0, total, reward
    window[(t - 1) % WINDOW] = fabs(s[0]) + fabs(s[1]) + fabs(s[2]) + fabs(s[3])
    if t >= WINDOW:
        total = _fsum(window, WINDOW)
        f2 = 0.75 / (JIGGLE_FLOOR if JIGGLE_FLOOR > total else total)
    reward = DAMPING_STEP + 0.9 * (f2 - f2_prev[0])
    f2_prev[0] = f2
    return reward


def poles_step(intp_t n, float64_t[:, ::1] state, const float[::1] actions,
               float64_t[:, ::1] obs, float64_t[::1] reward, uint8_t[::1] terminated,
               int64_t[::1] balanced, float64_t[::1] f2, float64_t[:, ::1] window, int poles,
               bint velocities, bint damping, double cart_friction, double hinge_friction):
    """PoleBalancingEnv.step for rows 0 ... n-1 (state x, x', theta1, theta1'[, theta2,
    theta2']; actions: each row's float32 action, clipped to [-1, 1])."""
    cdef intp_t r, j, k, width = 2 * poles + 2, stride = 1 if velocities else 2
    cdef double s[6]
    cdef double a
    if poles != 1 and poles != 2:
        raise ValueError(f"poles is 1 or 2, not {poles}")
    if state.shape[1] != width or obs.shape[1] != (width if velocities else poles + 1) \
            or window.shape[1] != WINDOW:
        raise ValueError("state, obs or window has the wrong number of columns")
    if n < 0 or n > min(state.shape[0], actions.shape[0], obs.shape[0], reward.shape[0],
                        terminated.shape[0], balanced.shape[0], f2.shape[0], window.shape[0]):
        raise ValueError(f"n = {n} exceeds the length of a row array")
    for r in range(n):
        if actions[r] != actions[r]:
            raise ValueError(f"actions[{r}] is NaN")
    with nogil:
        for r in range(n):
            for j in range(width):
                s[j] = state[r, j]
            a = actions[r]
            a = -1.0 if a < -1.0 else (1.0 if a > 1.0 else a)
            _rk4(poles, s, FORCE * a, cart_friction, hinge_friction)
            _rk4(poles, s, FORCE * a, cart_friction, hinge_friction)
            for j in range(width):
                state[r, j] = s[j]
            k = 0
            j = 0
            while j < width:
                obs[r, k] = ez_float32(s[j] / SCALE6[j])
                k += 1
                j += stride
            if _failed(poles, s):
                terminated[r], reward[r] = 1, 0.0
                continue
            terminated[r] = 0
            balanced[r] += 1
            if damping:
                reward[r] = _damping(&window[r, 0], balanced[r], s, &f2[r])
            else:
                reward[r] = 1.0
