"""Environments that ship with ezspark.

``ezspark/SlowCartPole-v1``
    CartPole-v1 whose every step also waits ``step_seconds`` (2 ms by default) before
    stepping: a stand-in for an expensive simulator, where evaluation time is dominated by
    the environment.  The wait is a sleep, not computation, so it shows how evaluation
    scales over workers even on a machine with few cores (the distributed scaling
    benchmark and ``examples/distributed/slow-cartpole.json`` use it).  Episodes are
    otherwise exactly CartPole-v1's: same dynamics, rewards, seeds and 500-step limit.
"""
from __future__ import annotations

import time

from gymnasium.envs.classic_control.cartpole import CartPoleEnv

__all__ = ["SlowCartPole", "register_builtin_envs", "BUILTIN_ENVS"]

BUILTIN_ENVS = ("ezspark/SlowCartPole-v1",)


class SlowCartPole(CartPoleEnv):
    """CartPole-v1 with an artificial cost of ``step_seconds`` per step."""

    def __init__(self, step_seconds: float = 0.002, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.step_seconds = float(step_seconds)

    def step(self, action):
        time.sleep(self.step_seconds)
        return super().step(action)


def register_builtin_envs() -> None:
    """Register ezspark's environments with gymnasium (once; later calls do nothing)."""
    import gymnasium

    if "ezspark/SlowCartPole-v1" not in gymnasium.registry:
        gymnasium.register("ezspark/SlowCartPole-v1", entry_point="ezspark.envs:SlowCartPole",
                           max_episode_steps=500, reward_threshold=475.0)
