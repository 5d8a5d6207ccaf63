"""ezspark's batched versions of its pole-balancing environments (``ezspark.poles``).

One class per registered id (``ezspark/SinglePole-v0`` … ``ezspark/DoublePoleNoVelDamping-v0``),
each playing bit for bit what ``gymnasium.make(id)`` plays: every episode starts from the
standard start (pole 1 at 0.07 rad, the reset seed draws nothing), and a step of every row
is one compiled kernel call (``_core.poles_step``, numpy twin in ``_core/_poles_py.py``;
docs/poles.md has the physics).  The built-in plugin ``ezspark.plugins.poles`` registers
them next to the environments.
"""
from __future__ import annotations

import numpy as np

from ezspark import _core
from ezspark.batched import BatchedEnv
from ezspark.poles import (CART_FRICTION, DAMPING_WINDOW, EPISODE_STEPS, HINGE_FRICTION,
                           START_ANGLE, PoleBalancingEnv, observe, start_state)

__all__ = ["SinglePole", "SinglePoleNoVel", "DoublePole", "DoublePoleNoVel",
           "DoublePoleNoVelDamping"]


class _Poles(BatchedEnv):
    """Rows of a pole-balancing environment (``kernels``: a namespace of ``_core.load``;
    default the process's set)."""

    POLES: int
    VELOCITIES = True
    FITNESS = "steps"
    time_limit = EPISODE_STEPS

    def __init__(self, rows: int, *, kernels=None):
        super().__init__(rows)
        template = PoleBalancingEnv(self.POLES, self.VELOCITIES, self.FITNESS)
        self.observation_space = template.observation_space
        self.action_space = template.action_space
        self.state = np.zeros((self.rows, 2 * self.POLES + 2))
        self.balanced = np.zeros(self.rows, dtype=np.int64)
        self.f2 = np.zeros(self.rows)
        self.window = np.zeros((self.rows, DAMPING_WINDOW))
        self._step = (kernels or _core).poles_step

    def reset(self, rows, seeds, obs) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        start = start_state(self.POLES, START_ANGLE)
        self.state[rows] = start
        self.balanced[rows], self.f2[rows], self.window[rows] = 0, 0.0, 0.0
        obs[rows] = observe(start, self.VELOCITIES)

    def step(self, n, actions, obs, reward, terminated) -> None:
        action = np.asarray(actions)
        if action.dtype != np.float32:
            raise TypeError(f"the pole-balancing batched actions are float32 (the action "
                            f"space's dtype), not {action.dtype}")
        self._step(n, self.state, action.reshape(-1), obs, reward, terminated.view(np.uint8),
                   self.balanced, self.f2, self.window, self.POLES, self.VELOCITIES,
                   self.FITNESS == "damping", CART_FRICTION, HINGE_FRICTION)

    def swap(self, a: int, b: int) -> None:
        if a != b:
            for rows in (self.state, self.balanced, self.f2, self.window):
                rows[[a, b]] = rows[[b, a]]


class SinglePole(_Poles):
    """ezspark/SinglePole-v0."""
    POLES = 1


class SinglePoleNoVel(_Poles):
    """ezspark/SinglePoleNoVel-v0."""
    POLES, VELOCITIES = 1, False


class DoublePole(_Poles):
    """ezspark/DoublePole-v0."""
    POLES = 2


class DoublePoleNoVel(_Poles):
    """ezspark/DoublePoleNoVel-v0."""
    POLES, VELOCITIES = 2, False


class DoublePoleNoVelDamping(_Poles):
    """ezspark/DoublePoleNoVelDamping-v0."""
    POLES, VELOCITIES, FITNESS = 2, False, "damping"
