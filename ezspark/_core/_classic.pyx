"""Batched steps of gymnasium's classic-control environments (contract in ``_classic.pxd``).

One call steps rows 0 ... n-1 of a batch: each row's state is advanced exactly as
gymnasium's own ``step`` advances it (the same float64 operations in the same order, the
same libm calls, the float32 casts of the observation), so a row plays bit for bit the
episode the environment plays.  ``_classic_py.py`` is the numpy twin with the same
signatures.
"""
import math

from ezspark._core._typedefs cimport float64_t, int64_t, intp_t, uint8_t
from libc.stdint cimport uint64_t

cdef extern from "ez_classic.h" nogil:
    double ez_sin(double x)
    double ez_cos(double x)
    double ez_square_pow(double x)
    float ez_square_powf(float x)
    double ez_remainder(double a, double b)
    double ez_float32(double x)
    float ez_mul_f32(float a, float b)
    void ez_seeded_uniform(uint64_t seed, int k, const double* low, const double* high,
                           double* out)

__all__ = ["cartpole_step", "acrobot_step", "mountaincar_step", "pendulum_step",
           "seeded_uniform"]

# CartPole-v1 (gymnasium.envs.classic_control.cartpole.CartPoleEnv)
cdef double CP_GRAVITY = 9.8
cdef double CP_MASSPOLE = 0.1
cdef double CP_TOTAL_MASS = 0.1 + 1.0
cdef double CP_LENGTH = 0.5
cdef double CP_POLEMASS_LENGTH = 0.1 * 0.5
cdef double CP_FORCE = 10.0
cdef double CP_TAU = 0.02
cdef double CP_THETA_LIMIT = 12 * 2 * math.pi / 360
cdef double CP_X_LIMIT = 2.4

# Acrobot-v1 (gymnasium.envs.classic_control.acrobot.AcrobotEnv, "book" dynamics)
cdef double AC_M1 = 1.0, AC_M2 = 1.0, AC_L1 = 1.0, AC_LC1 = 0.5, AC_LC2 = 0.5
cdef double AC_I1 = 1.0, AC_I2 = 1.0, AC_G = 9.8
cdef double AC_LC1_SQ = 0.5 ** 2, AC_L1_SQ = 1.0 ** 2, AC_LC2_SQ = 0.5 ** 2
cdef double AC_PI = math.pi
cdef double AC_DT = 0.2
cdef double AC_MAX_VEL_1 = 4 * math.pi
cdef double AC_MAX_VEL_2 = 9 * math.pi
cdef double[3] AC_TORQUE = [-1.0, 0.0, 1.0]

# MountainCar-v0 (gymnasium.envs.classic_control.mountain_car.MountainCarEnv)
cdef double MC_MIN_POSITION = -1.2, MC_MAX_POSITION = 0.6, MC_MAX_SPEED = 0.07
cdef double MC_GOAL_POSITION = 0.5, MC_GOAL_VELOCITY = 0.0
cdef double MC_FORCE = 0.001, MC_GRAVITY = 0.0025

# Pendulum-v1 (gymnasium.envs.classic_control.pendulum.PendulumEnv, g = 10)
cdef double PE_MAX_SPEED = 8.0
cdef float PE_MAX_TORQUE = 2.0
cdef double PE_DT = 0.05
cdef double PE_GAIN = 3 * 10.0 / (2 * 1.0)           # 3 * g / (2 * l)
cdef float PE_TORQUE_GAIN = 3.0 / (1.0 * 1.0 ** 2)    # 3.0 / (m * l ** 2), used as a float32
cdef float PE_TORQUE_COST = 0.001                     # 0.001 * u ** 2 of a float32 u


cdef inline void _check(intp_t n, intp_t n_state, intp_t n_obs, float64_t[:, ::1] state,
                        float64_t[:, ::1] obs, intp_t n_actions, float64_t[::1] reward,
                        uint8_t[::1] terminated) except *:
    if state.shape[1] != n_state or obs.shape[1] != n_obs:
        raise ValueError(f"state needs {n_state} columns and obs {n_obs} (got "
                         f"{state.shape[1]} and {obs.shape[1]})")
    if n < 0 or n > min(state.shape[0], obs.shape[0], n_actions, reward.shape[0],
                        terminated.shape[0]):
        raise ValueError(f"n = {n} exceeds the length of a row array")


cdef inline void _check_discrete(intp_t n, const int64_t[::1] actions, int64_t count) except *:
    cdef intp_t r
    for r in range(n):
        if actions[r] < 0 or actions[r] >= count:
            raise ValueError(f"actions[{r}] = {actions[r]} is not an action of Discrete({count})")


def cartpole_step(intp_t n, float64_t[:, ::1] state, const int64_t[::1] actions,
                  float64_t[:, ::1] obs, float64_t[::1] reward, uint8_t[::1] terminated):
    """CartPoleEnv.step for rows 0 ... n-1 (state x, x', theta, theta'; actions 0/1)."""
    cdef intp_t r
    cdef double x, x_dot, theta, theta_dot, force, costheta, sintheta, temp, thetaacc, xacc
    _check(n, 4, 4, state, obs, actions.shape[0], reward, terminated)
    _check_discrete(n, actions, 2)
    with nogil:
        for r in range(n):
            x, x_dot, theta, theta_dot = state[r, 0], state[r, 1], state[r, 2], state[r, 3]
            force = CP_FORCE if actions[r] == 1 else -CP_FORCE
            costheta = ez_cos(theta)
            sintheta = ez_sin(theta)
            temp = (force + CP_POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) \
                / CP_TOTAL_MASS
            thetaacc = (CP_GRAVITY * sintheta - costheta * temp) / (
                CP_LENGTH * (4.0 / 3.0 - CP_MASSPOLE * (costheta * costheta) / CP_TOTAL_MASS))
            xacc = temp - CP_POLEMASS_LENGTH * thetaacc * costheta / CP_TOTAL_MASS
            x = x + CP_TAU * x_dot
            x_dot = x_dot + CP_TAU * xacc
            theta = theta + CP_TAU * theta_dot
            theta_dot = theta_dot + CP_TAU * thetaacc
            state[r, 0], state[r, 1], state[r, 2], state[r, 3] = x, x_dot, theta, theta_dot
            obs[r, 0], obs[r, 1] = ez_float32(x), ez_float32(x_dot)
            obs[r, 2], obs[r, 3] = ez_float32(theta), ez_float32(theta_dot)
            terminated[r] = (x < -CP_X_LIMIT or x > CP_X_LIMIT or theta < -CP_THETA_LIMIT
                             or theta > CP_THETA_LIMIT)
            reward[r] = 1.0


cdef inline void _acrobot_dsdt(const double* y, double a, double* k) noexcept nogil:
    """AcrobotEnv._dsdt: k = (theta1', theta2', theta1'', theta2'') at y = (theta1,
    theta2, theta1', theta2') under torque a."""
    cdef double theta1 = y[0], theta2 = y[1], dtheta1 = y[2], dtheta2 = y[3]
    cdef double d1, d2, phi1, phi2, ddtheta1, ddtheta2
    d1 = AC_M1 * AC_LC1_SQ + AC_M2 * (AC_L1_SQ + AC_LC2_SQ + 2 * AC_L1 * AC_LC2
                                      * ez_cos(theta2)) + AC_I1 + AC_I2
    d2 = AC_M2 * (AC_LC2_SQ + AC_L1 * AC_LC2 * ez_cos(theta2)) + AC_I2
    phi2 = AC_M2 * AC_LC2 * AC_G * ez_cos(theta1 + theta2 - AC_PI / 2.0)
    phi1 = (-AC_M2 * AC_L1 * AC_LC2 * ez_square_pow(dtheta2) * ez_sin(theta2)
            - 2 * AC_M2 * AC_L1 * AC_LC2 * dtheta2 * dtheta1 * ez_sin(theta2)
            + (AC_M1 * AC_LC1 + AC_M2 * AC_L1) * AC_G * ez_cos(theta1 - AC_PI / 2)
            + phi2)
    ddtheta2 = (a + d2 / d1 * phi1 - AC_M2 * AC_L1 * AC_LC2 * ez_square_pow(dtheta1)
                * ez_sin(theta2) - phi2) / (AC_M2 * AC_LC2_SQ + AC_I2
                                            - ez_square_pow(d2) / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    k[0], k[1], k[2], k[3] = dtheta1, dtheta2, ddtheta1, ddtheta2


cdef inline void _acrobot_rk4(double* y, double a) noexcept nogil:
    """The module function rk4(_dsdt, y + [a], [0, dt]): one classical Runge-Kutta step."""
    cdef double k1[4]
    cdef double k2[4]
    cdef double k3[4]
    cdef double k4[4]
    cdef double z[4]
    cdef double dt2 = AC_DT / 2.0
    cdef intp_t i
    _acrobot_dsdt(y, a, k1)
    for i in range(4):
        z[i] = y[i] + dt2 * k1[i]
    _acrobot_dsdt(z, a, k2)
    for i in range(4):
        z[i] = y[i] + dt2 * k2[i]
    _acrobot_dsdt(z, a, k3)
    for i in range(4):
        z[i] = y[i] + AC_DT * k3[i]
    _acrobot_dsdt(z, a, k4)
    for i in range(4):
        y[i] = y[i] + AC_DT / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])


cdef inline double _wrap(double x, double m, double big) noexcept nogil:
    cdef double diff = big - m
    while x > big:
        x = x - diff
    while x < m:
        x = x + diff
    return x


cdef inline double _bound(double x, double m, double big) noexcept nogil:
    """min(max(x, m), big) of Python's builtins (the first argument wins ties and NaN)."""
    if m > x:
        x = m
    if big < x:
        x = big
    return x


def acrobot_step(intp_t n, float64_t[:, ::1] state, const int64_t[::1] actions,
                 float64_t[:, ::1] obs, float64_t[::1] reward, uint8_t[::1] terminated):
    """AcrobotEnv.step for rows 0 ... n-1 (state theta1, theta2, theta1', theta2';
    actions 0/1/2: torque -1, 0, +1)."""
    cdef intp_t r
    cdef double y[4]
    cdef bint done
    _check(n, 4, 6, state, obs, actions.shape[0], reward, terminated)
    _check_discrete(n, actions, 3)
    with nogil:
        for r in range(n):
            y[0], y[1], y[2], y[3] = state[r, 0], state[r, 1], state[r, 2], state[r, 3]
            _acrobot_rk4(y, AC_TORQUE[actions[r]])
            y[0] = _wrap(y[0], -AC_PI, AC_PI)
            y[1] = _wrap(y[1], -AC_PI, AC_PI)
            y[2] = _bound(y[2], -AC_MAX_VEL_1, AC_MAX_VEL_1)
            y[3] = _bound(y[3], -AC_MAX_VEL_2, AC_MAX_VEL_2)
            state[r, 0], state[r, 1], state[r, 2], state[r, 3] = y[0], y[1], y[2], y[3]
            done = -ez_cos(y[0]) - ez_cos(y[1] + y[0]) > 1.0
            terminated[r] = done
            reward[r] = 0.0 if done else -1.0
            obs[r, 0], obs[r, 1] = ez_float32(ez_cos(y[0])), ez_float32(ez_sin(y[0]))
            obs[r, 2], obs[r, 3] = ez_float32(ez_cos(y[1])), ez_float32(ez_sin(y[1]))
            obs[r, 4], obs[r, 5] = ez_float32(y[2]), ez_float32(y[3])


cdef inline double _clip(double x, double low, double high) noexcept nogil:
    """numpy's clip of a float64 (NaN stays NaN)."""
    if x != x:
        return x
    x = x if x > low else low
    return x if x < high else high


def mountaincar_step(intp_t n, float64_t[:, ::1] state, const int64_t[::1] actions,
                     float64_t[:, ::1] obs, float64_t[::1] reward, uint8_t[::1] terminated):
    """MountainCarEnv.step for rows 0 ... n-1 (state position, velocity; actions 0/1/2)."""
    cdef intp_t r
    cdef double position, velocity
    _check(n, 2, 2, state, obs, actions.shape[0], reward, terminated)
    _check_discrete(n, actions, 3)
    with nogil:
        for r in range(n):
            position, velocity = state[r, 0], state[r, 1]
            velocity = velocity + ((<double>(actions[r] - 1)) * MC_FORCE
                                   + ez_cos(3 * position) * (-MC_GRAVITY))
            velocity = _clip(velocity, -MC_MAX_SPEED, MC_MAX_SPEED)
            position = position + velocity
            position = _clip(position, MC_MIN_POSITION, MC_MAX_POSITION)
            if position == MC_MIN_POSITION and velocity < 0:
                velocity = 0.0
            terminated[r] = position >= MC_GOAL_POSITION and velocity >= MC_GOAL_VELOCITY
            reward[r] = -1.0
            state[r, 0], state[r, 1] = position, velocity
            obs[r, 0], obs[r, 1] = ez_float32(position), ez_float32(velocity)


cdef inline float _clipf(float x, float low, float high) noexcept nogil:
    """numpy's clip of a float32 (NaN stays NaN)."""
    if x != x:
        return x
    x = x if x > low else low
    return x if x < high else high


def pendulum_step(intp_t n, float64_t[:, ::1] state, const float[::1] actions,
                  float64_t[:, ::1] obs, float64_t[::1] reward, uint8_t[::1] terminated):
    """PendulumEnv.step for rows 0 ... n-1 (state theta, theta'; actions: the float32
    torque of each row)."""
    cdef intp_t r
    cdef double th, thdot, costs, newthdot, newth
    cdef float u
    _check(n, 2, 3, state, obs, actions.shape[0], reward, terminated)
    with nogil:
        for r in range(n):
            th, thdot = state[r, 0], state[r, 1]
            u = _clipf(actions[r], -PE_MAX_TORQUE, PE_MAX_TORQUE)
            costs = (ez_square_pow(ez_remainder(th + AC_PI, 2 * AC_PI) - AC_PI)
                     + 0.1 * ez_square_pow(thdot)
                     + <double>ez_mul_f32(PE_TORQUE_COST, ez_square_powf(u)))
            newthdot = thdot + (PE_GAIN * ez_sin(th)
                                + <double>ez_mul_f32(PE_TORQUE_GAIN, u)) * PE_DT
            newthdot = _clip(newthdot, -PE_MAX_SPEED, PE_MAX_SPEED)
            newth = th + newthdot * PE_DT
            state[r, 0], state[r, 1] = newth, newthdot
            obs[r, 0], obs[r, 1] = ez_float32(ez_cos(newth)), ez_float32(ez_sin(newth))
            obs[r, 2] = ez_float32(newthdot)
            terminated[r] = 0
            reward[r] = -costs


def seeded_uniform(const int64_t[::1] rows, const int64_t[::1] seeds,
                   const float64_t[::1] low, const float64_t[::1] high, float64_t[:, ::1] out):
    """out[rows[j], :k] = np_random(seeds[j]).uniform(low, high) (k = len(low)): the first k
    draws of np.random.Generator(PCG64(SeedSequence(seeds[j]))), as gymnasium's resets draw
    them (gymnasium.utils.seeding.np_random), bit for bit.  Seeds are 0 ... 2**63-1."""
    cdef intp_t j, m = rows.shape[0], k = low.shape[0]
    if seeds.shape[0] != m or high.shape[0] != k:
        raise ValueError(f"rows and seeds, low and high need the same lengths (got {m} and "
                         f"{seeds.shape[0]}, {k} and {high.shape[0]})")
    if k > out.shape[1]:
        raise ValueError(f"out has {out.shape[1]} columns, fewer than the {k} values drawn")
    for j in range(m):
        if rows[j] < 0 or rows[j] >= out.shape[0]:
            raise ValueError(f"rows[{j}] = {rows[j]} is not a row of out ({out.shape[0]} rows)")
        if seeds[j] < 0:
            raise ValueError(f"seeds[{j}] = {seeds[j]} is negative")
    if k == 0:
        return
    with nogil:
        for j in range(m):
            ez_seeded_uniform(<uint64_t>seeds[j], <int>k, &low[0], &high[0], &out[rows[j], 0])
