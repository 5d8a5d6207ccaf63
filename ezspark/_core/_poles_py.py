"""Pure-Python twin of ``_poles.pyx``: batched steps of ezspark's pole-balancing
environments.

Same signature, checks and bits as the compiled kernel (contract in ``_poles.pxd``).  Rows
are stepped together with numpy's element-wise float64 operations in the order of
``ezspark.poles``; its ``math.sin``/``math.cos`` are called row by row (libm, as the
environment calls them), and the damping fitness sums its window with ``math.fsum``.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_array

__all__ = ["poles_step"]

GRAVITY, CART_MASS = -9.8, 1.0
M1, M2, L1, L2 = 0.1, 0.01, 0.5, 0.05
ML1, ML2 = 0.1 * 0.5, 0.01 * 0.05
FORCE, TAU, HALF, SIXTH = 10.0, 0.01, 0.01 * 0.5, 0.01 / 6.0
TRACK = 2.4
LIMITS = {1: math.radians(12.0), 2: math.radians(36.0)}
SCALE6 = (4.8, 2.0, 0.52, 2.0, 0.52, 2.0)
DAMPING_STEP, JIGGLE_FLOOR, WINDOW = 0.1 / 1000, 1e-9, 100


def _libm(fn, x: np.ndarray) -> np.ndarray:
    return np.array([fn(v) for v in x.tolist()], dtype=np.float64)


def _friction(muc, dx):
    return np.where(dx > 0.0, muc, np.where(dx < 0.0, -muc, 0.0))


def _pole(t, w, mup, m, ml):
    """The terms of one pole at angle t, angular velocity w (poles._accel1/_accel2)."""
    c, s = _libm(math.cos, t), _libm(math.sin, t)
    g = GRAVITY * s
    h = mup * w / ml
    fi = ml * w * w * s + 0.75 * m * c * (h + g)
    mi = m * (1.0 - 0.75 * c * c)
    return c, g, h, fi, mi


def _accel(poles, f, z, muc, mup):
    """(x'', theta1''[, theta2'']) of every row at z = (x, x', theta1, theta1'[, ...])."""
    c1, g1, h1, fi1, mi1 = _pole(z[2], z[3], mup, M1, ML1)
    if poles == 1:
        ddx = (f - _friction(muc, z[1]) + fi1) / (mi1 + CART_MASS)
        return [ddx, -0.75 * (ddx * c1 + g1 + h1) / L1]
    c2, g2, h2, fi2, mi2 = _pole(z[4], z[5], mup, M2, ML2)
    ddx = (f - _friction(muc, z[1]) + fi1 + fi2) / (mi1 + mi2 + CART_MASS)
    return [ddx, -0.75 * (ddx * c1 + g1 + h1) / L1, -0.75 * (ddx * c2 + g2 + h2) / L2]


def _rk4(poles, s, f, muc, mup):
    """One classical Runge-Kutta step of TAU for every row (s: a list of state columns)."""
    m = poles + 1
    a1 = _accel(poles, f, s, muc, mup)
    v2 = [s[2 * k + 1] + HALF * a1[k] for k in range(m)]
    z = [col for k in range(m) for col in (s[2 * k] + HALF * s[2 * k + 1], v2[k])]
    a2 = _accel(poles, f, z, muc, mup)
    v3 = [s[2 * k + 1] + HALF * a2[k] for k in range(m)]
    z = [col for k in range(m) for col in (s[2 * k] + HALF * v2[k], v3[k])]
    a3 = _accel(poles, f, z, muc, mup)
    v4 = [s[2 * k + 1] + TAU * a3[k] for k in range(m)]
    z = [col for k in range(m) for col in (s[2 * k] + TAU * v3[k], v4[k])]
    a4 = _accel(poles, f, z, muc, mup)
    return [col for k in range(m) for col in (
        s[2 * k] + SIXTH * (s[2 * k + 1] + v4[k] + 2.0 * (v3[k] + v2[k])),
        s[2 * k + 1] + SIXTH * (a1[k] + a4[k] + 2.0 * (a3[k] + a2[k])))]


def _failed(poles, s):
    limit = LIMITS[poles]
    out = (s[0] < -TRACK) | (s[0] > TRACK) | (s[2] < -limit) | (s[2] > limit)
    if poles == 2:
        out |= (s[4] < -limit) | (s[4] > limit)
    return out


def _damping(rows, s, balanced, f2, window):
    """The damping reward of each balanced row (PoleBalancingEnv._damping_reward)."""
    rewards = []
    for r in rows.tolist():
        t = int(balanced[r])
        window[r, (t - 1) % WINDOW] = abs(s[0][r]) + abs(s[1][r]) + abs(s[2][r]) + abs(s[3][r])
        value = 0.0
        if t >= WINDOW:
            total = _fsum(window[r].tolist())
            value = 0.75 / (JIGGLE_FLOOR if JIGGLE_FLOOR > total else total)
        rewards.append(DAMPING_STEP + 0.9 * (value - float(f2[r])))
        f2[r] = value
    return rewards


def _fsum(values):
    """math.fsum, or the plain sum when a value is not finite (as the kernel)."""
    if all(math.isfinite(v) for v in values):
        return math.fsum(values)
    return sum(v for v in values if not math.isfinite(v))


def _check(n, state, actions, obs, reward, terminated, balanced, f2, window, poles,
           velocities):
    state = check_array(state, "f", 8, 2, "state", writeable=True)
    actions = check_array(actions, "f", 4, 1, "actions")
    obs = check_array(obs, "f", 8, 2, "obs", writeable=True)
    reward = check_array(reward, "f", 8, 1, "reward", writeable=True)
    terminated = check_array(terminated, "u", 1, 1, "terminated", writeable=True)
    balanced = check_array(balanced, "i", 8, 1, "balanced", writeable=True)
    f2 = check_array(f2, "f", 8, 1, "f2", writeable=True)
    window = check_array(window, "f", 8, 2, "window", writeable=True)
    if poles not in (1, 2):
        raise ValueError(f"poles is 1 or 2, not {poles}")
    width = 2 * poles + 2
    if state.shape[1] != width or obs.shape[1] != (width if velocities else poles + 1) \
            or window.shape[1] != WINDOW:
        raise ValueError("state, obs or window has the wrong number of columns")
    n = int(n)
    if n < 0 or n > min(state.shape[0], actions.shape[0], obs.shape[0], reward.shape[0],
                        terminated.shape[0], balanced.shape[0], f2.shape[0], window.shape[0]):
        raise ValueError(f"n = {n} exceeds the length of a row array")
    bad = np.flatnonzero(np.isnan(actions[:n]))
    if bad.size:
        raise ValueError(f"actions[{int(bad[0])}] is NaN")
    return n


def poles_step(n, state, actions, obs, reward, terminated, balanced, f2, window, poles,
               velocities, damping, cart_friction, hinge_friction):
    """PoleBalancingEnv.step for rows 0 ... n-1 (state x, x', theta1, theta1'[, theta2,
    theta2']; actions: each row's float32 action, clipped to [-1, 1])."""
    n = _check(n, state, actions, obs, reward, terminated, balanced, f2, window, poles,
               velocities)
    poles, muc, mup = int(poles), float(cart_friction), float(hinge_friction)
    a = actions[:n].astype(np.float64)
    f = FORCE * np.where(a < -1.0, -1.0, np.where(a > 1.0, 1.0, a))
    s = [state[:n, j].copy() for j in range(2 * poles + 2)]
    s = _rk4(poles, _rk4(poles, s, f, muc, mup), f, muc, mup)
    picks = range(0, 2 * poles + 2, 1 if velocities else 2)
    for j in range(2 * poles + 2):
        state[:n, j] = s[j]
    obs[:n] = np.stack([s[j] / SCALE6[j] for j in picks], axis=1).astype(np.float32)
    failed = _failed(poles, s)
    terminated[:n] = failed
    balanced[:n] += ~failed
    if damping:
        rows = np.flatnonzero(~failed)
        reward[:n] = 0.0
        reward[rows] = _damping(rows, s, balanced, f2, window)
    else:
        reward[:n] = np.where(failed, 0.0, 1.0)
