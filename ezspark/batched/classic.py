"""ezspark's batched versions of gymnasium's classic-control environments.

``CartPole`` (CartPole-v1), ``Acrobot`` (Acrobot-v1), ``MountainCar`` (MountainCar-v0) and
``Pendulum`` (Pendulum-v1) play bit for bit what ``gymnasium.make(id)`` plays (gymnasium 1.x,
default arguments): resets draw the first state from gymnasium's own generator,
``gymnasium.utils.seeding.np_random(seed)``, with gymnasium's own calls, row by row in
Python (once per episode); steps are one compiled kernel call for every row
(``_core.cartpole_step`` …, numpy twins in ``_core/_classic_py.py``; the arithmetic and
the libm calls that make them identical are in ``_core/_classic.pxd``).  The built-in plugin
``ezspark.plugins.batched`` registers them for their ids.
"""
from __future__ import annotations

import numpy as np
from gymnasium.envs.classic_control import (AcrobotEnv, CartPoleEnv, MountainCarEnv,
                                            PendulumEnv)
from gymnasium.utils.seeding import np_random

from ezspark import _core
from ezspark.batched import BatchedEnv

__all__ = ["CartPole", "Acrobot", "MountainCar", "Pendulum"]


class _Classic(BatchedEnv):
    """Rows of a classic-control environment: a float64 state row each, one kernel call
    per step (``kernels``: a namespace of ``_core.load``; default the process's set)."""

    #: gymnasium's environment class (its spaces are declared), the kernel's name and the
    #: number of state variables
    ENV: type
    KERNEL: str
    STATE: int

    def __init__(self, rows: int, *, kernels=None):
        super().__init__(rows)
        template = self.ENV()
        self.observation_space = template.observation_space
        self.action_space = template.action_space
        template.close()
        self.state = np.zeros((self.rows, self.STATE))
        self._step = getattr(kernels or _core, self.KERNEL)

    def reset(self, rows, seeds, obs) -> None:
        for r, seed in zip(np.asarray(rows).tolist(), seeds):
            rng, _ = np_random(int(seed))
            obs[r] = self._start(r, rng)

    def _start(self, r: int, rng) -> np.ndarray:
        """Row r's first state, drawn as gymnasium's reset draws it; its observation."""
        raise NotImplementedError

    def step(self, n, actions, obs, reward, terminated) -> None:
        self._step(n, self.state, actions, obs, reward, terminated.view(np.uint8))

    def swap(self, a: int, b: int) -> None:
        if a != b:
            self.state[[a, b]] = self.state[[b, a]]


class CartPole(_Classic):
    """CartPole-v1: state (x, x', theta, theta'), actions 0/1, 500 steps."""

    ENV, KERNEL, STATE = CartPoleEnv, "cartpole_step", 4
    time_limit = 500

    def _start(self, r, rng):
        self.state[r] = rng.uniform(low=-0.05, high=0.05, size=(4,))
        return np.array(self.state[r], dtype=np.float32)


class Acrobot(_Classic):
    """Acrobot-v1: state (theta1, theta2, theta1', theta2'), actions 0/1/2, 500 steps.
    gymnasium keeps the first state as float32: so does its row (in float64)."""

    ENV, KERNEL, STATE = AcrobotEnv, "acrobot_step", 4
    time_limit = 500

    def _start(self, r, rng):
        s = rng.uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32)
        self.state[r] = s
        return np.array([np.cos(s[0]), np.sin(s[0]), np.cos(s[1]), np.sin(s[1]), s[2], s[3]],
                        dtype=np.float32)


class MountainCar(_Classic):
    """MountainCar-v0: state (position, velocity), actions 0/1/2, 200 steps."""

    ENV, KERNEL, STATE = MountainCarEnv, "mountaincar_step", 2
    time_limit = 200

    def _start(self, r, rng):
        self.state[r] = np.array([rng.uniform(low=-0.6, high=-0.4), 0])
        return np.array(self.state[r], dtype=np.float32)


class Pendulum(_Classic):
    """Pendulum-v1: state (theta, theta'), one float32 torque in [-2, 2], 200 steps."""

    ENV, KERNEL, STATE = PendulumEnv, "pendulum_step", 2
    time_limit = 200

    def _start(self, r, rng):
        high = np.array([np.pi, 1.0])
        self.state[r] = rng.uniform(low=-high, high=high)
        theta, thetadot = self.state[r]
        return np.array([np.cos(theta), np.sin(theta), thetadot], dtype=np.float32)

    def step(self, n, actions, obs, reward, terminated) -> None:
        torque = np.asarray(actions)
        if torque.dtype != np.float32:
            raise TypeError(f"Pendulum-v1's batched actions are float32 (the action space's "
                            f"dtype), not {torque.dtype}")
        self._step(n, self.state, torque.reshape(-1), obs, reward, terminated.view(np.uint8))
