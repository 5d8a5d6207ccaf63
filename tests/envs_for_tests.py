"""Small deterministic gymnasium environments for evaluation tests."""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces


class SeedLogEnv(gymnasium.Env):
    """Episodes whose length and rewards depend only on the reset seed and the actions.

    Every reset is logged as (instance id, seed) in ``SeedLogEnv.log``.  The episode lasts
    3 + seed % 5 steps; step t gives reward ((seed % 7) - 2) * 0.5 + 0.1 * action.
    """

    metadata = {"render_modes": []}
    log: list = []

    def __init__(self, obs_size: int = 2, n_actions: int = 2, reward_value=None, obs_value=None):
        self.observation_space = spaces.Box(-10.0, 10.0, (obs_size,), np.float32)
        self.action_space = spaces.Discrete(n_actions)
        self.reward_value = reward_value
        self.obs_value = obs_value
        self._seed = 0
        self._t = 0

    def _obs(self):
        if self.obs_value is not None:
            return np.full(self.observation_space.shape, self.obs_value, dtype=np.float32)
        base = (self._seed % 11) / 11.0 - 0.5
        return np.full(self.observation_space.shape, base + 0.1 * self._t, dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._seed = int(seed) if seed is not None else 0
        self._t = 0
        SeedLogEnv.log.append((id(self), self._seed))
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        if self.reward_value is not None:
            reward = self.reward_value
        else:
            reward = ((self._seed % 7) - 2) * 0.5 + 0.1 * int(action)
        terminated = self._t >= 3 + self._seed % 5
        return self._obs(), reward, terminated, False, {}


class DictObsEnv(gymnasium.Env):
    observation_space = spaces.Dict({"a": spaces.Box(0, 1, (2,))})
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


class BoxActionEnv(gymnasium.Env):
    """Continuous actions of the given bounds and shape; the reward of a step is the sum of
    the action's values, so a network is rewarded for asking for the top of every range.
    Episodes last 5 steps; the observation is the step count and a constant."""

    metadata = {"render_modes": []}

    def __init__(self, low=-1.0, high=1.0, shape=(2,)):
        self.observation_space = spaces.Box(-10.0, 10.0, (2,), np.float64)
        self.action_space = spaces.Box(np.broadcast_to(np.float32(low), shape),
                                       np.broadcast_to(np.float32(high), shape), shape,
                                       np.float32)
        self.seen: list = []
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return np.array([0.0, 1.0]), {}

    def step(self, action):
        self.seen.append(action)
        self._t += 1
        return np.array([self._t, 1.0]), float(np.sum(action)), self._t >= 5, False, {}


class RaisingEnv(SeedLogEnv):
    def step(self, action):
        raise RuntimeError("simulator exploded")


def register_all():
    for env_id, entry, kw in [
        ("ezspark_tests/SeedLog-v0", SeedLogEnv, {}),
        ("ezspark_tests/Dict-v0", DictObsEnv, {}),
        ("ezspark_tests/NaNReward-v0", SeedLogEnv, {"reward_value": float("nan")}),
        ("ezspark_tests/NaNObs-v0", SeedLogEnv, {"obs_value": float("nan")}),
        ("ezspark_tests/Negative-v0", SeedLogEnv, {"reward_value": -1.0}),
        ("ezspark_tests/Raising-v0", RaisingEnv, {}),
        ("ezspark_tests/Box-v0", BoxActionEnv, {"low": [-1.0, 0.0], "high": [1.0, 3.0]}),
        ("ezspark_tests/BoxMatrix-v0", BoxActionEnv, {"shape": (2, 2)}),
        ("ezspark_tests/BoxUnbounded-v0", BoxActionEnv, {"low": -np.inf, "high": np.inf}),
    ]:
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=entry, kwargs=kw, max_episode_steps=50)
