"""ezspark's batched versions of gymnasium's classic-control environments.

``CartPole`` (CartPole-v1), ``Acrobot`` (Acrobot-v1), ``MountainCar`` (MountainCar-v0) and
``Pendulum`` (Pendulum-v1) play bit for bit what ``gymnasium.make(id)`` plays (gymnasium 1.x,
default arguments): a reset of many rows is one kernel call that draws each row's first
state as gymnasium's ``np_random(seed).uniform(low, high)`` draws it (numpy's SeedSequence,
PCG64 and uniform, reproduced bit for bit: ``_core.seeded_uniform``), and steps are one
compiled kernel call for every row (``_core.cartpole_step`` …, numpy twins in
``_core/_classic_py.py``; the arithmetic and the libm calls that make them identical are in
``_core/_classic.pxd``).  The built-in plugin
``ezspark.plugins.batched`` registers them for their ids.
"""
from __future__ import annotations

import numpy as np
from gymnasium.envs.classic_control import (AcrobotEnv, CartPoleEnv, MountainCarEnv,
                                            PendulumEnv)

from ezspark import _core
from ezspark.batched import BatchedEnv

__all__ = ["CartPole", "Acrobot", "MountainCar", "Pendulum"]


#: (low, high) of the uniform draws of each environment's reset (gymnasium's arguments)
_CARTPOLE_START = (np.full(4, -0.05), np.full(4, 0.05))
_ACROBOT_START = (np.full(4, -0.1), np.full(4, 0.1))
_MOUNTAINCAR_START = (np.array([-0.6]), np.array([-0.4]))
_PENDULUM_START = (-np.array([np.pi, 1.0]), np.array([np.pi, 1.0]))


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
        kernels = kernels or _core
        self._step = getattr(kernels, self.KERNEL)
        self._seeded = kernels.seeded_uniform

    def reset(self, rows, seeds, obs) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        try:
            seeds = np.array(seeds, dtype=np.int64)
        except OverflowError:
            raise ValueError(f"{self.ENV.__name__}: a reset seed is above 2**63-1") from None
        self._start(rows, seeds, obs)

    def _draw(self, rows, seeds, low, high) -> None:
        """state[rows, :len(low)] = gymnasium's np_random(seed).uniform(low, high) (float64
        arrays)."""
        self._seeded(rows, seeds, low, high, self.state)

    def _start(self, rows, seeds, obs) -> None:
        """The rows' first states, drawn as gymnasium's reset draws them; their
        observations into obs[rows]."""
        raise NotImplementedError

    def step(self, n, actions, obs, reward, terminated) -> None:
        self._step(n, self.state, actions, obs, reward, terminated.view(np.uint8))

    def swap(self, a: int, b: int) -> None:
        if a != b:
            state, row = self.state, self.state[a].copy()
            state[a] = state[b]
            state[b] = row


class CartPole(_Classic):
    """CartPole-v1: state (x, x', theta, theta'), actions 0/1, 500 steps."""

    ENV, KERNEL, STATE = CartPoleEnv, "cartpole_step", 4
    time_limit = 500

    def _start(self, rows, seeds, obs):
        # np_random.uniform(low=-0.05, high=0.05, size=(4,))
        self._draw(rows, seeds, *_CARTPOLE_START)
        obs[rows] = self.state[rows].astype(np.float32)


class Acrobot(_Classic):
    """Acrobot-v1: state (theta1, theta2, theta1', theta2'), actions 0/1/2, 500 steps.
    gymnasium keeps the first state as float32: so does its row (in float64)."""

    ENV, KERNEL, STATE = AcrobotEnv, "acrobot_step", 4
    time_limit = 500

    def _start(self, rows, seeds, obs):
        # np_random.uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32); the
        # observation's cos and sin are numpy's float32 ones, as of gymnasium's float32 state
        self._draw(rows, seeds, *_ACROBOT_START)
        s = self.state[rows].astype(np.float32)
        self.state[rows] = s
        obs[rows] = np.stack([np.cos(s[:, 0]), np.sin(s[:, 0]), np.cos(s[:, 1]),
                              np.sin(s[:, 1]), s[:, 2], s[:, 3]], axis=1)


class MountainCar(_Classic):
    """MountainCar-v0: state (position, velocity), actions 0/1/2, 200 steps."""

    ENV, KERNEL, STATE = MountainCarEnv, "mountaincar_step", 2
    time_limit = 200

    def _start(self, rows, seeds, obs):
        # np.array([np_random.uniform(low=-0.6, high=-0.4), 0])
        self._draw(rows, seeds, *_MOUNTAINCAR_START)
        self.state[rows, 1] = 0.0
        obs[rows] = self.state[rows].astype(np.float32)


class Pendulum(_Classic):
    """Pendulum-v1: state (theta, theta'), one float32 torque in [-2, 2], 200 steps."""

    ENV, KERNEL, STATE = PendulumEnv, "pendulum_step", 2
    time_limit = 200

    def _start(self, rows, seeds, obs):
        # high = np.array([np.pi, 1.0]); np_random.uniform(low=-high, high=high)
        self._draw(rows, seeds, *_PENDULUM_START)
        theta, thetadot = self.state[rows, 0], self.state[rows, 1]
        obs[rows] = np.stack([np.cos(theta), np.sin(theta), thetadot],
                             axis=1).astype(np.float32)

    def step(self, n, actions, obs, reward, terminated) -> None:
        torque = np.asarray(actions)
        if torque.dtype != np.float32:
            raise TypeError(f"Pendulum-v1's batched actions are float32 (the action space's "
                            f"dtype), not {torque.dtype}")
        self._step(n, self.state, torque.reshape(-1), obs, reward, terminated.view(np.uint8))
