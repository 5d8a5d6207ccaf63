"""Pure-Python twin of ``_classic.pyx``: batched steps of gymnasium's classic-control
environments.

Same signatures, checks and bits as the compiled kernel (contract in ``_classic.pxd``).
Rows are stepped together with numpy's element-wise float64 operations, in the order of
gymnasium's own code; where gymnasium calls a libm function on a scalar (``math.cos``, the
``x ** 2`` of a numpy scalar, which is ``pow(x, 2.0)`` and not always ``x * x``) the twin
calls it row by row, because numpy's vectorised ``power`` and ``square`` round differently.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_array

__all__ = ["cartpole_step", "acrobot_step", "mountaincar_step", "pendulum_step",
           "seeded_uniform"]

# CartPole-v1
CP_GRAVITY, CP_MASSPOLE, CP_TOTAL_MASS, CP_LENGTH = 9.8, 0.1, 0.1 + 1.0, 0.5
CP_POLEMASS_LENGTH, CP_FORCE, CP_TAU = 0.1 * 0.5, 10.0, 0.02
CP_THETA_LIMIT, CP_X_LIMIT = 12 * 2 * math.pi / 360, 2.4
# Acrobot-v1 ("book" dynamics)
AC_M1 = AC_M2 = AC_L1 = AC_I1 = AC_I2 = 1.0
AC_LC1 = AC_LC2 = 0.5
AC_G = 9.8
AC_LC1_SQ, AC_L1_SQ, AC_LC2_SQ = 0.5 ** 2, 1.0 ** 2, 0.5 ** 2
AC_DT = 0.2
AC_MAX_VEL_1, AC_MAX_VEL_2 = 4 * math.pi, 9 * math.pi
AC_TORQUE = np.array([-1.0, 0.0, 1.0])
# MountainCar-v0
MC_MIN_POSITION, MC_MAX_POSITION, MC_MAX_SPEED = -1.2, 0.6, 0.07
MC_GOAL_POSITION, MC_GOAL_VELOCITY, MC_FORCE, MC_GRAVITY = 0.5, 0.0, 0.001, 0.0025
# Pendulum-v1 (g = 10)
PE_MAX_SPEED, PE_MAX_TORQUE, PE_DT = 8.0, np.float32(2.0), 0.05
PE_GAIN = 3 * 10.0 / (2 * 1.0)
PE_TORQUE_GAIN = np.float32(3.0 / (1.0 * 1.0 ** 2))
PE_TORQUE_COST = np.float32(0.001)


def _libm(fn, x: np.ndarray) -> np.ndarray:
    """fn (a libm function through Python's math) of every value of x."""
    return np.array([fn(v) for v in x.tolist()], dtype=np.float64).reshape(x.shape)


def _square_pow(x: np.ndarray) -> np.ndarray:
    """x ** 2 of each value as a numpy float64 scalar (libm's pow(x, 2.0)), as gymnasium
    computes it."""
    return np.array([v ** 2 for v in x], dtype=np.float64)


def _check(n, state, obs, n_actions, reward, terminated, n_state, n_obs):
    state = check_array(state, "f", 8, 2, "state", writeable=True)
    obs = check_array(obs, "f", 8, 2, "obs", writeable=True)
    reward = check_array(reward, "f", 8, 1, "reward", writeable=True)
    terminated = check_array(terminated, "u", 1, 1, "terminated", writeable=True)
    if state.shape[1] != n_state or obs.shape[1] != n_obs:
        raise ValueError(f"state needs {n_state} columns and obs {n_obs} (got "
                         f"{state.shape[1]} and {obs.shape[1]})")
    n = int(n)
    if n < 0 or n > min(state.shape[0], obs.shape[0], n_actions, reward.shape[0],
                        terminated.shape[0]):
        raise ValueError(f"n = {n} exceeds the length of a row array")
    return n


def _discrete(actions, n, count):
    actions = check_array(actions, "i", 8, 1, "actions")
    bad = np.flatnonzero((actions[:n] < 0) | (actions[:n] >= count))
    if bad.size:
        r = int(bad[0])
        raise ValueError(f"actions[{r}] = {actions[r]} is not an action of Discrete({count})")
    return actions[:n]


def cartpole_step(n, state, actions, obs, reward, terminated):
    """CartPoleEnv.step for rows 0 ... n-1 (state x, x', theta, theta'; actions 0/1)."""
    actions = check_array(actions, "i", 8, 1, "actions")
    n = _check(n, state, obs, actions.shape[0], reward, terminated, 4, 4)
    a = _discrete(actions, n, 2)
    x, x_dot, theta, theta_dot = (state[:n, j].copy() for j in range(4))
    force = np.where(a == 1, CP_FORCE, -CP_FORCE)
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    temp = (force + CP_POLEMASS_LENGTH * np.square(theta_dot) * sintheta) / CP_TOTAL_MASS
    thetaacc = (CP_GRAVITY * sintheta - costheta * temp) / (
        CP_LENGTH * (4.0 / 3.0 - CP_MASSPOLE * np.square(costheta) / CP_TOTAL_MASS))
    xacc = temp - CP_POLEMASS_LENGTH * thetaacc * costheta / CP_TOTAL_MASS
    x = x + CP_TAU * x_dot
    x_dot = x_dot + CP_TAU * xacc
    theta = theta + CP_TAU * theta_dot
    theta_dot = theta_dot + CP_TAU * thetaacc
    state[:n] = np.stack([x, x_dot, theta, theta_dot], axis=1)
    obs[:n] = state[:n].astype(np.float32)
    terminated[:n] = ((x < -CP_X_LIMIT) | (x > CP_X_LIMIT) | (theta < -CP_THETA_LIMIT)
                      | (theta > CP_THETA_LIMIT))
    reward[:n] = 1.0


def _acrobot_dsdt(y, a):
    """AcrobotEnv._dsdt of every row: (theta1', theta2', theta1'', theta2'')."""
    theta1, theta2, dtheta1, dtheta2 = y
    d1 = AC_M1 * AC_LC1_SQ + AC_M2 * (AC_L1_SQ + AC_LC2_SQ + 2 * AC_L1 * AC_LC2
                                      * np.cos(theta2)) + AC_I1 + AC_I2
    d2 = AC_M2 * (AC_LC2_SQ + AC_L1 * AC_LC2 * np.cos(theta2)) + AC_I2
    phi2 = AC_M2 * AC_LC2 * AC_G * np.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (-AC_M2 * AC_L1 * AC_LC2 * _square_pow(dtheta2) * np.sin(theta2)
            - 2 * AC_M2 * AC_L1 * AC_LC2 * dtheta2 * dtheta1 * np.sin(theta2)
            + (AC_M1 * AC_LC1 + AC_M2 * AC_L1) * AC_G * np.cos(theta1 - math.pi / 2)
            + phi2)
    ddtheta2 = (a + d2 / d1 * phi1 - AC_M2 * AC_L1 * AC_LC2 * _square_pow(dtheta1)
                * np.sin(theta2) - phi2) / (AC_M2 * AC_LC2_SQ + AC_I2
                                            - _square_pow(d2) / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return np.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])


def _acrobot_rk4(y, a):
    dt2 = AC_DT / 2.0
    k1 = _acrobot_dsdt(y, a)
    k2 = _acrobot_dsdt(y + dt2 * k1, a)
    k3 = _acrobot_dsdt(y + dt2 * k2, a)
    k4 = _acrobot_dsdt(y + AC_DT * k3, a)
    return y + AC_DT / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def _wrap(x, m, big):
    diff = big - m
    while (x > big).any():
        x = np.where(x > big, x - diff, x)
    while (x < m).any():
        x = np.where(x < m, x + diff, x)
    return x


def _bound(x, m, big):
    """min(max(x, m), big) of Python's builtins (the first argument wins ties and NaN)."""
    x = np.where(m > x, m, x)
    return np.where(big < x, big, x)


def acrobot_step(n, state, actions, obs, reward, terminated):
    """AcrobotEnv.step for rows 0 ... n-1 (state theta1, theta2, theta1', theta2';
    actions 0/1/2: torque -1, 0, +1)."""
    actions = check_array(actions, "i", 8, 1, "actions")
    n = _check(n, state, obs, actions.shape[0], reward, terminated, 4, 6)
    a = _discrete(actions, n, 3)
    y = _acrobot_rk4(state[:n].T.copy(), AC_TORQUE[a])
    y[0] = _wrap(y[0], -math.pi, math.pi)
    y[1] = _wrap(y[1], -math.pi, math.pi)
    y[2] = _bound(y[2], -AC_MAX_VEL_1, AC_MAX_VEL_1)
    y[3] = _bound(y[3], -AC_MAX_VEL_2, AC_MAX_VEL_2)
    state[:n] = y.T
    done = -np.cos(y[0]) - np.cos(y[1] + y[0]) > 1.0
    terminated[:n] = done
    reward[:n] = np.where(done, 0.0, -1.0)
    obs[:n] = np.stack([np.cos(y[0]), np.sin(y[0]), np.cos(y[1]), np.sin(y[1]), y[2], y[3]],
                       axis=1).astype(np.float32)


def mountaincar_step(n, state, actions, obs, reward, terminated):
    """MountainCarEnv.step for rows 0 ... n-1 (state position, velocity; actions 0/1/2)."""
    actions = check_array(actions, "i", 8, 1, "actions")
    n = _check(n, state, obs, actions.shape[0], reward, terminated, 2, 2)
    a = _discrete(actions, n, 3)
    position, velocity = state[:n, 0].copy(), state[:n, 1].copy()
    velocity = velocity + ((a - 1).astype(np.float64) * MC_FORCE
                           + _libm(math.cos, 3 * position) * (-MC_GRAVITY))
    velocity = np.clip(velocity, -MC_MAX_SPEED, MC_MAX_SPEED)
    position = position + velocity
    position = np.clip(position, MC_MIN_POSITION, MC_MAX_POSITION)
    velocity = np.where((position == MC_MIN_POSITION) & (velocity < 0), 0.0, velocity)
    terminated[:n] = (position >= MC_GOAL_POSITION) & (velocity >= MC_GOAL_VELOCITY)
    reward[:n] = -1.0
    state[:n, 0], state[:n, 1] = position, velocity
    obs[:n] = state[:n].astype(np.float32)


def pendulum_step(n, state, actions, obs, reward, terminated):
    """PendulumEnv.step for rows 0 ... n-1 (state theta, theta'; actions: the float32
    torque of each row)."""
    actions = check_array(actions, "f", 4, 1, "actions")
    n = _check(n, state, obs, actions.shape[0], reward, terminated, 2, 3)
    th, thdot = state[:n, 0].copy(), state[:n, 1].copy()
    u = np.clip(actions[:n], -PE_MAX_TORQUE, PE_MAX_TORQUE)
    u_squared = np.array([v ** 2 for v in u], dtype=np.float32)      # powf, row by row
    normalized = np.remainder(th + math.pi, 2 * math.pi) - math.pi
    costs = (_square_pow(normalized) + 0.1 * _square_pow(thdot)
             + (PE_TORQUE_COST * u_squared).astype(np.float64))
    newthdot = thdot + (PE_GAIN * np.sin(th)
                        + (PE_TORQUE_GAIN * u).astype(np.float64)) * PE_DT
    newthdot = np.clip(newthdot, -PE_MAX_SPEED, PE_MAX_SPEED)
    newth = th + newthdot * PE_DT
    state[:n, 0], state[:n, 1] = newth, newthdot
    obs[:n] = np.stack([np.cos(newth), np.sin(newth), newthdot], axis=1).astype(np.float32)
    terminated[:n] = 0
    reward[:n] = -costs


def seeded_uniform(rows, seeds, low, high, out) -> None:
    """out[rows[j], :k] = np_random(seeds[j]).uniform(low, high) (k = len(low)): numpy's own
    SeedSequence, PCG64 and uniform, as gymnasium's resets call them."""
    rows = check_array(rows, "i", 8, 1, "rows")
    seeds = check_array(seeds, "i", 8, 1, "seeds")
    low = check_array(low, "f", 8, 1, "low")
    high = check_array(high, "f", 8, 1, "high")
    out = check_array(out, "f", 8, 2, "out", writeable=True)
    m, k = rows.shape[0], low.shape[0]
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
    for r, seed in zip(rows.tolist(), seeds.tolist()):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        out[r, :k] = rng.uniform(low, high)
