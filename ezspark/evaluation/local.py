"""Evaluation on this process: fitness of every genome of a generation (docs/algorithm.md 6).

``EnvEvaluator`` plays the games of many genomes at once.  Each genome's games are split
over ``sub_games`` copies (game g on copy g mod sub_games, in increasing g); every live
(genome, copy) pair holds one environment instance, and all live rows are activated with
one kernel call per step (the loop is :class:`~ezspark.evaluation.lockstep.Lockstep`).
When a batched version of the environment is registered (``ezspark.batched``; not with
``EZSPARK_NO_BATCHED_ENVS=1`` or ``batched=False``), the rows are the rows of one batched
environment instead, stepped with one call (:class:`~ezspark.evaluation.batched.BatchedLoop`).
Returns are summed in step order and games in game order, so fitness depends only on
(genome, configuration, seed, k, i), never on how many rows are live at once, on
``sub_games`` (docs/algorithm.md 6.3) or on the process that played them.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ezspark.batched import factory_for
from ezspark.evaluation.batched import BatchedLoop, check_batched
from ezspark.evaluation.contract import EvalResult, EvaluationError, Evaluator, Progress
from ezspark.evaluation.envs import EnvInfo, FastEnv, episode_seed
from ezspark.evaluation.lockstep import Lockstep, SeedOf, jobs
from ezspark.network.actions import BoxActions, box_actions

# EvaluationError is re-exported: callers catch it from here
__all__ = ["EvalResult", "EnvEvaluator", "EvaluationError", "episode_seeds", "BATCHED_ROWS",
           "LOCKSTEP_ROWS"]

#: Live rows at most, by default (docs/decisions.md "Rows in flight", measured): a batched
#: environment steps all its rows with one call, so more rows cost less per step; gymnasium's
#: instances are stepped one by one, and fewer live copies stay in the caches.
BATCHED_ROWS = 2048
LOCKSTEP_ROWS = 32


def episode_seeds(seed: int, generation: int, genome_ids, games: int) -> np.ndarray:
    """int64[len(genome_ids), games]: e(k, i, g) of docs/algorithm.md 6.2 for every genome
    and game."""
    ids = [int(i) for i in genome_ids]
    return np.array([[episode_seed(seed, generation, i, g) for g in range(games)] for i in ids],
                    dtype=np.int64).reshape(len(ids), games)


class EnvEvaluator(Evaluator):
    """Plays every genome's games on a pool of environments, batched across genomes.

    Three ways in, from the most to the least specific: ``evaluate`` (a generation, seeds
    from the run seed), ``play`` (episode seeds given, what a remote worker runs) and
    ``play_jobs`` (any seed function, programs handed out one at a time, what a
    ``--workers`` process runs).
    """

    def __init__(self, info: EnvInfo, *, games: int, max_steps: int, sub_games: int,
                 minimum_reward: float, max_rows: int | None = None, batched: bool = True):
        self.info = info
        self.games = int(games)
        self.max_steps = int(max_steps)
        self.sub_games = int(sub_games)
        self.minimum_reward = float(minimum_reward)
        # None: BATCHED_ROWS on a batched environment, LOCKSTEP_ROWS on gymnasium's
        self.max_rows = None if max_rows is None else int(max_rows)
        # False: always the lockstep loop, even where a batched version is registered
        self.batched = bool(batched)
        self._pool: list[FastEnv] = []
        self._batched_env = None

    @classmethod
    def from_config(cls, cfg, info: EnvInfo, **kwargs) -> "EnvEvaluator":
        return cls(info, games=cfg.max_number_of_games, max_steps=cfg.max_number_of_steps,
                   sub_games=cfg.sub_games, minimum_reward=cfg.minimum_reward, **kwargs)

    def close(self) -> None:
        for env in self._pool:
            env.close()
        self._pool.clear()
        if self._batched_env is not None:
            self._batched_env.close()
            self._batched_env = None

    def evaluate(self, programs, seed: int, generation: int, progress: Progress | None = None,
                 *, genome_ids: Sequence[int] | None = None) -> EvalResult:
        """Fitness of the genomes of ``programs``.  ``genome_ids`` gives each program's
        index i in the generation (for episode seeds); default 0 … P-1."""
        n = len(programs)
        ids = np.arange(n) if genome_ids is None else np.asarray(genome_ids, dtype=np.int64)
        seeds = episode_seeds(seed, generation, ids, self.games)
        return self.play(programs, seeds, generation=generation, genome_ids=ids,
                         progress=progress)

    def play(self, programs, seeds: np.ndarray, *, generation: int = -1,
             genome_ids: Sequence[int] | None = None,
             progress: Progress | None = None) -> EvalResult:
        """Fitness of the genomes of ``programs`` from their episode seeds
        (``seeds[p, g]`` seeds game g of program p; docs/algorithm.md 6.2).  This is what a
        remote worker runs: it is given episode seeds, never the run seed (docs/algorithm.md
        7.2).  ``generation`` and ``genome_ids`` only label error messages."""
        n = len(programs)
        ids = np.arange(n) if genome_ids is None else np.asarray(genome_ids, dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64)
        if seeds.shape != (n, self.games):
            raise ValueError(f"seeds has shape {seeds.shape}; expected ({n}, {self.games})")
        seed_rows = seeds.tolist()
        return self.play_jobs(programs, lambda p, g: seed_rows[p][g], genome_ids=ids,
                              generation=generation, progress=progress)

    def play_jobs(self, programs, seed_of: SeedOf, *, pull: Callable[[], int] | None = None,
                  genome_ids: Sequence[int] | None = None, generation: int = -1,
                  progress: Progress | None = None,
                  max_rows: int | None = None) -> EvalResult:
        """Plays the games of ``programs``; ``seed_of(p, g)`` is the reset seed of game g of
        program p.

        Programs are taken in order 0 … P-1 or, when ``pull`` is given, as ``pull()`` hands
        out their indices (-1: no more) each time a row frees up; programs never pulled
        keep fitness NaN and 0 steps (``--workers`` shares one generation between processes
        this way).  At most ``max_rows`` rows are live at once (default ``self.max_rows``;
        when that is None, no more than ``BATCHED_ROWS`` on a batched environment and
        ``LOCKSTEP_ROWS`` on gymnasium's instances, whatever ``max_rows`` asks).
        ``genome_ids[p]`` (default p) and ``generation`` only label error messages;
        ``progress(done)`` is called each time a program's last game ends."""
        n = len(programs)
        ids = np.arange(n) if genome_ids is None else genome_ids
        n_copies = min(self.sub_games, self.games)
        cap = self.max_rows
        if cap is None:
            cap = BATCHED_ROWS if self.batched and factory_for(self.info.env_id) else LOCKSTEP_ROWS
            limit = cap if max_rows is None else min(max(int(max_rows), 1), cap)
        else:
            limit = cap if max_rows is None else max(int(max_rows), 1)
        rows = min(n * n_copies, max(limit, self.sub_games))
        if rows == 0:
            return EvalResult(np.full(n, np.nan) if pull else np.zeros(n),
                              np.zeros(n, dtype=np.int64))
        work = jobs(n, n_copies, pull)
        batched = self._batched(rows)
        if batched is not None:
            loop = BatchedLoop(self, programs, batched, rows, work, seed_of, ids, generation,
                               progress)
        else:
            envs = self._envs(rows)
            loop = Lockstep(self, programs, envs, self._action_table(envs), work, seed_of,
                            ids, generation, progress)
        return loop.run(pulled=pull is not None)

    def _batched(self, rows: int):
        """A batched environment of at least ``rows`` rows, or None: none is registered for
        the id, or batched environments are switched off."""
        factory = factory_for(self.info.env_id) if self.batched else None
        if factory is None:
            return None
        env = self._batched_env
        if env is None or env.rows < rows:
            if env is not None:
                env.close()
            self._batched_env = None
            env = factory(rows)
            check_batched(env, self.info)
            self._batched_env = env
        return env

    def _envs(self, n: int) -> list[FastEnv]:
        while len(self._pool) < n:
            self._pool.append(FastEnv(self.info.env_id))
        return self._pool[:n]

    def _action_table(self, envs) -> tuple | BoxActions:
        """The action objects handed to ``step``: index j is action ``action_start + j``; for
        a ``Box`` action space its BoxActions (the bounds of the environments played).

        For gymnasium's own ``Discrete`` class with a signed integer dtype and the same start
        they are scalars of the space's dtype (what ``action_space.sample()`` returns, and the
        fast path of ``Discrete.contains``); for any other space, ``Discrete`` subclasses and
        unsigned dtypes included, Python ints.  Either way the env sees the same values."""
        from gymnasium import spaces    # gymnasium takes ~0.4 s to import: only when playing

        start, n_out = self.info.action_start, self.info.output_size
        space = envs[0].env.action_space if envs else None
        if isinstance(space, spaces.Box):
            return box_actions(space)
        if (type(space) is spaces.Discrete and space.dtype is not None
                and np.dtype(space.dtype).kind == "i" and int(space.start) == start):
            make = np.dtype(space.dtype).type
            table = tuple(make(start + j) for j in range(n_out))
            if all(space.contains(a) for a in table):
                return table
        return tuple(start + j for j in range(n_out))
