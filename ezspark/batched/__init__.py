"""Batched environments: many copies of one environment stepped with one call (issue 17).

A :class:`BatchedEnv` holds R rows, each one copy of an environment in its own episode.
ezspark's evaluator plays every live game of a generation on the rows of one batched
environment when a plugin registered one for the gymnasium id it trains on
(``ezspark_register_batched_envs``; docs/plugins.md, "Batched environments"), and on one
gymnasium instance per game otherwise.  A batched environment must play exactly what
``gymnasium.make(env_id)`` plays: from the same reset seed and the same actions, the same
observations (as float32 or float64 values), rewards and ends, bit for bit, so that a
genome's fitness is the same whichever way it was played.  :func:`compare` checks that.

``EZSPARK_NO_BATCHED_ENVS=1`` switches every batched environment off (the evaluator then
steps gymnasium's environments one by one; same fitness, slower).  ezspark's own batched
versions (``ezspark.batched.classic``: CartPole-v1, Acrobot-v1, MountainCar-v0,
Pendulum-v1; ``ezspark.batched.poles``: the pole-balancing ids) are registered by the
built-in plugins ``ezspark.plugins.batched`` and ``ezspark.plugins.poles``.
"""
from __future__ import annotations

import abc
import importlib
import os
from typing import Callable, Sequence

import numpy as np

from ezspark.plugins.manager import batched_entry, get_plugin_manager

__all__ = ["BatchedEnv", "BatchedMismatch", "SWITCH", "compare", "enabled", "factory_for"]

#: The environment variable that switches batched environments off ("1").
SWITCH = "EZSPARK_NO_BATCHED_ENVS"


class BatchedEnv(abc.ABC):
    """``rows`` copies of one environment, stepped together.

    Subclasses declare the environment's ``observation_space`` and ``action_space`` (the
    gymnasium spaces of the environment they reproduce) and ``time_limit`` (its registered
    ``max_episode_steps``, None for none; the evaluator ends a game there, the environment
    never truncates by itself), and implement ``reset``, ``step`` and ``swap``.  Arrays are
    the evaluator's: write into them, never keep them.
    """

    observation_space = None
    action_space = None
    time_limit: int | None = None

    def __init__(self, rows: int):
        self.rows = int(rows)

    @abc.abstractmethod
    def reset(self, rows: np.ndarray, seeds: Sequence[int], obs: np.ndarray) -> None:
        """Row ``rows[j]`` starts an episode as ``env.reset(seed=seeds[j])`` would (an int64
        array of distinct rows, a list of Python ints), and writes its observation,
        flattened, into ``obs[rows[j]]`` (float64[R, observation size])."""

    @abc.abstractmethod
    def step(self, n: int, actions: np.ndarray, obs: np.ndarray, reward: np.ndarray,
             terminated: np.ndarray) -> None:
        """Rows 0 … n-1 take one step each: row r with ``actions[r]`` (Discrete: int64[>= n],
        the action values ``start + j``; Box: an array (n, k) of the space's dtype).  Writes
        row r's observation into ``obs[r]``, its reward into ``reward[r]`` (float64[R]) and
        whether its episode ended into ``terminated[r]`` (bool[R]): terminated, or truncated
        by the environment itself, not by ``time_limit``.  Every row 0 … n-1 is written."""

    @abc.abstractmethod
    def swap(self, a: int, b: int) -> None:
        """Rows a and b exchange everything they hold (the evaluator keeps its live rows
        first)."""

    def close(self) -> None:
        """Releases what the rows hold (called once, when the evaluator closes)."""


class BatchedMismatch(AssertionError):
    """A batched environment played something other than what gymnasium's played."""


def enabled() -> bool:
    """Whether batched environments are used (``EZSPARK_NO_BATCHED_ENVS`` is not "1")."""
    return os.environ.get(SWITCH) != "1"


def factory_for(env_id: str, *, switch: bool = True) -> Callable[[int], BatchedEnv] | None:
    """The factory of the batched version registered for ``env_id`` (a ``"module:attr"``
    string imported), or None: none is registered, or (with ``switch``) batched
    environments are switched off."""
    if switch and not enabled():
        return None
    entry = batched_entry(env_id)
    if entry is None:
        return None
    factory = entry[1]
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory


def compare(env_id: str, *, episodes: int = 20, rows: int = 4, seed: int = 0,
            factory: Callable[[int], BatchedEnv] | None = None,
            policy: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
            ) -> int:
    """Plays ``episodes`` episodes of ``env_id`` on a batched version (``factory``, default
    the registered one) and on ``gymnasium.make(env_id)`` side by side, and raises
    :class:`BatchedMismatch` at the first difference: the declared spaces and time limit,
    or an observation, reward, ``terminated`` or ``truncated`` (at the time limit) of any
    step, compared bit for bit.  Episode e starts with ``reset(seed=seed + e)``; ``rows``
    rows play at once, each taking the next episode when its own ends, and rows left
    without an episode are swapped behind the others (so ``reset`` of several rows,
    ``step`` of a prefix and ``swap`` are all exercised).  Actions: ``policy(obs, rng)``
    for the observations of the live rows, default uniformly random from the action space
    (``rng`` seeded with ``seed``).  Returns the number of steps compared."""
    import gymnasium

    get_plugin_manager()
    make = factory or factory_for(env_id, switch=False)
    if make is None:
        raise ValueError(f"no batched version of {env_id!r} is registered")
    batched = make(int(rows))
    try:
        return _Comparison(env_id, batched, episodes, seed, policy).play(gymnasium)
    finally:
        batched.close()


def _bits(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1).view(np.uint64)


class _Comparison:
    """The state of one :func:`compare`: which episode each row plays, and its gymnasium
    twin."""

    def __init__(self, env_id, batched, episodes, seed, policy):
        self.env_id, self.batched, self.episodes, self.seed = env_id, batched, episodes, seed
        self.rng = np.random.default_rng(seed)
        self.policy = policy or self._random
        self.row_episode: list[int] = []
        self.row_steps: list[int] = []
        self.row_env: list = []
        self.next = 0

    def play(self, gymnasium) -> int:
        b = self.batched
        self.envs = [gymnasium.make(self.env_id) for _ in range(b.rows)]
        try:
            self._check_declared(self.envs[0])
            size = int(np.prod(b.observation_space.shape, dtype=np.int64))
            self.obs, self.reward = np.zeros((b.rows, size)), np.zeros(b.rows)
            self.term = np.zeros(b.rows, dtype=bool)
            live = self._start(min(b.rows, self.episodes))
            steps = 0
            while live:
                steps += live
                live = self._step(live)
            return steps
        finally:
            for env in self.envs:
                env.close()

    def _check_declared(self, env) -> None:
        b, spec = self.batched, env.spec
        for what, mine, theirs in (("observation_space", b.observation_space,
                                    env.observation_space),
                                   ("action_space", b.action_space, env.action_space),
                                   ("time_limit", b.time_limit, spec.max_episode_steps)):
            if mine != theirs:
                raise BatchedMismatch(f"{self.env_id}: {what} differs: gymnasium {theirs!r}, "
                                      f"batched {mine!r}")

    def _start(self, count: int) -> int:
        """Rows 0 … count-1 start the first episodes (one reset call)."""
        seeds = [self.seed + e for e in range(count)]
        self.batched.reset(np.arange(count, dtype=np.int64), seeds, self.obs)
        for r in range(count):
            self.row_episode.append(r)
            self.row_steps.append(0)
            self.row_env.append(self.envs[r])
            self._reset_twin(r)
        self.next = count
        return count

    def _reset_twin(self, r: int) -> None:
        e = self.row_episode[r]
        expected, _ = self.row_env[r].reset(seed=self.seed + e)
        self._same(r, "the reset observation", _bits(expected), _bits(self.obs[r]))

    def _random(self, obs, rng) -> np.ndarray:
        space = self.batched.action_space
        if hasattr(space, "n"):
            return rng.integers(int(space.start), int(space.start) + int(space.n),
                                size=obs.shape[0], dtype=np.int64)
        return rng.uniform(space.low, space.high,
                           size=(obs.shape[0],) + space.shape).astype(space.dtype)

    def _step(self, live: int) -> int:
        """One step of rows 0 … live-1 on both sides; returns the rows live after it."""
        actions = np.asarray(self.policy(self.obs[:live].copy(), self.rng))
        self.batched.step(live, actions, self.obs, self.reward, self.term)
        limit = self.batched.time_limit
        ended = []
        for r in range(live):
            obs, reward, term, trunc, _ = self.row_env[r].step(actions[r])
            self.row_steps[r] += 1
            mine_trunc = limit is not None and self.row_steps[r] >= limit
            self._same(r, "the observation", _bits(obs), _bits(self.obs[r]))
            self._same(r, "the reward", _bits(float(reward)), _bits(self.reward[r]))
            self._same(r, "terminated", bool(term), bool(self.term[r]))
            self._same(r, "truncated", bool(trunc), mine_trunc)
            if term or trunc:
                ended.append(r)
        for r in reversed(ended):
            live = self._next_episode(r, live)
        return live

    def _next_episode(self, r: int, live: int) -> int:
        """Row r's episode ended: it starts the next one, or is swapped behind the live
        rows."""
        if self.next < self.episodes:
            self.row_episode[r], self.row_steps[r] = self.next, 0
            self.next += 1
            self.batched.reset(np.array([r], dtype=np.int64), [self.seed + self.row_episode[r]],
                               self.obs)
            self._reset_twin(r)
            return live
        last = live - 1
        if r != last:
            self.batched.swap(r, last)
            for lst in (self.row_episode, self.row_steps, self.row_env):
                lst[r], lst[last] = lst[last], lst[r]
            self.obs[[r, last]] = self.obs[[last, r]]
        return last

    def _same(self, r: int, what: str, expected, got) -> None:
        if not np.array_equal(expected, got):
            e = self.row_episode[r]
            raise BatchedMismatch(
                f"{self.env_id}: episode {e} (reset seed {self.seed + e}), step "
                f"{self.row_steps[r]}: {what} differs: gymnasium {_show(expected)}, batched "
                f"{_show(got)}")


def _show(value):
    if isinstance(value, np.ndarray) and value.dtype == np.uint64:
        return value.view(np.float64).tolist()
    return value
