"""Evaluation: fitness of every genome of a generation (engine-spec section 6).

``EnvEvaluator`` plays the games of many genomes at once.  Each genome's games are split
over ``sub_games`` copies (game g on copy g mod sub_games, in increasing g); every live
(genome, copy) pair holds one environment instance, and all live rows are activated with
one kernel call per step.  Returns are summed in step order and games in game order, so
fitness depends only on (genome, configuration, seed, k, i), never on how many rows are
live at once, on ``sub_games`` or on the process that played them.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ezspark import _core
from ezspark.evaluation.contract import EvalResult, EvaluationError
from ezspark.evaluation.envs import EnvError, EnvInfo, FastEnv, episode_seed

__all__ = ["EvalResult", "EnvEvaluator", "EvaluationError", "evaluate_fitness_function",
           "episode_seeds"]


def evaluate_fitness_function(fitness: Callable, nets, population_size: int) -> EvalResult:
    """Spec 6.1 "user fitness functions": ``fitness(nets)`` returns one value per genome."""
    values = fitness(nets)
    try:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"the fitness function must return {population_size} numbers: "
                              f"{exc}") from exc
    if values.shape[0] != population_size:
        raise EvaluationError(f"the fitness function returned {values.shape[0]} values for "
                              f"{population_size} genomes")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.shape[0]:
        raise EvaluationError(f"the fitness function returned {values[bad[0]]} for genome "
                              f"{int(bad[0])}; fitness must be finite")
    return EvalResult(values, np.zeros(population_size, dtype=np.int64))


def episode_seeds(seed: int, generation: int, genome_ids, games: int) -> np.ndarray:
    """int64[len(genome_ids), games]: e(k, i, g) of spec 6.2 for every genome and game."""
    ids = [int(i) for i in genome_ids]
    return np.array([[episode_seed(seed, generation, i, g) for g in range(games)] for i in ids],
                    dtype=np.int64).reshape(len(ids), games)


def _jobs(n: int, copies: int, pull: Callable[[], int] | None):
    """(program, copy) pairs in play order: programs 0 … n-1, or as ``pull`` hands them out."""
    programs = range(n) if pull is None else iter(pull, -1)
    for p in programs:
        if not 0 <= p < n:
            raise ValueError(f"pull() returned {p}; expected a program index below {n} or -1")
        for c in range(copies):
            yield p, c


class EnvEvaluator:
    """Plays every genome's games on a pool of environments, batched across genomes."""

    def __init__(self, info: EnvInfo, *, games: int, max_steps: int, sub_games: int,
                 minimum_reward: float, max_rows: int = 512):
        self.info = info
        self.games = int(games)
        self.max_steps = int(max_steps)
        self.sub_games = int(sub_games)
        self.minimum_reward = float(minimum_reward)
        self.max_rows = int(max_rows)
        self._pool: list[FastEnv] = []

    @classmethod
    def from_config(cls, cfg, info: EnvInfo, **kwargs) -> "EnvEvaluator":
        return cls(info, games=cfg.max_number_of_games, max_steps=cfg.max_number_of_steps,
                   sub_games=cfg.sub_games, minimum_reward=cfg.minimum_reward, **kwargs)

    def close(self):
        for env in self._pool:
            env.close()
        self._pool.clear()

    def _envs(self, n: int) -> list[FastEnv]:
        while len(self._pool) < n:
            self._pool.append(FastEnv(self.info.env_id))
        return self._pool[:n]

    def evaluate(self, programs, seed: int, generation: int,
                 genome_ids: Sequence[int] | None = None,
                 progress: Callable[[int], None] | None = None) -> EvalResult:
        """Fitness of the genomes of ``programs``.  ``genome_ids`` gives each program's
        index i in the generation (for episode seeds); default 0 … P-1.  ``progress``, if
        given, is called with the number of genomes finished so far."""
        n = len(programs)
        ids = np.arange(n) if genome_ids is None else np.asarray(genome_ids, dtype=np.int64)
        seeds = episode_seeds(seed, generation, ids, self.games)
        return self.play(programs, seeds, generation=generation, genome_ids=ids,
                         progress=progress)

    def play(self, programs, seeds: np.ndarray, *, generation: int = -1,
             genome_ids: Sequence[int] | None = None,
             progress: Callable[[int], None] | None = None) -> EvalResult:
        """Fitness of the genomes of ``programs`` from their episode seeds
        (``seeds[p, g]`` seeds game g of program p; spec 6.2).  This is what a remote
        worker runs: it is given episode seeds, never the run seed (spec 7.2).
        ``generation`` and ``genome_ids`` only label error messages."""
        n = len(programs)
        ids = np.arange(n) if genome_ids is None else np.asarray(genome_ids, dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64)
        if seeds.shape != (n, self.games):
            raise ValueError(f"seeds has shape {seeds.shape}; expected ({n}, {self.games})")
        seed_rows = seeds.tolist()
        return self._play(programs, lambda p, g: seed_rows[p][g], ids, generation, progress)

    def _play(self, programs, seed_of: Callable[[int, int], int], ids, generation: int,
              progress: Callable[[int], None] | None, pull: Callable[[], int] | None = None,
              max_rows: int | None = None) -> EvalResult:
        """The lockstep loop behind ``play``.  ``seed_of(p, g)`` is the reset seed of game g
        of program p.  Programs are taken in order 0 … P-1, or, when ``pull`` is given, as
        ``pull()`` hands out their indices (-1: no more) each time a row frees up: the
        programs never pulled keep fitness NaN and 0 steps (``--workers`` shares one
        generation between processes this way).  At most ``max_rows`` rows (default
        ``self.max_rows``) are live at once."""
        n = len(programs)
        games, copies, cap = self.games, self.sub_games, self.max_steps
        n_in = self.info.input_size
        env_id, floor = self.info.env_id, self.minimum_reward
        n_copies = min(copies, games)
        returns = np.zeros((n, games))
        steps_of = np.zeros(n, dtype=np.int64)
        played = np.zeros(n, dtype=bool)
        limit = self.max_rows if max_rows is None else max(int(max_rows), 1)
        rows = min(n * n_copies, max(limit, copies))
        if rows == 0:
            return EvalResult(np.full(n, np.nan) if pull else np.zeros(n), steps_of)
        jobs = _jobs(n, n_copies, pull)
        envs = self._envs(rows)
        table = self._action_table(envs)
        step_rows = _core.step_rows
        # per-row state: arrays the stepping kernel updates, lists touched once per game
        X = np.zeros((rows, n_in))
        row_genome = np.zeros(rows, dtype=np.int64)
        act = np.zeros(rows, dtype=np.int64)
        r_ret = np.zeros(rows)                          # return of the current game so far
        r_len = np.zeros(rows, dtype=np.int64)          # steps of the current game so far
        r_cap = np.array([min(cap, env.time_limit) if env.time_limit else cap for env in envs],
                         dtype=np.int64)
        finished = np.zeros(rows, dtype=np.int64)
        state = np.array([0, 0, -1, 0], dtype=np.int64)   # row, violations, bad obs row, phase
        low = np.array([math.inf])
        r_prog = [0] * rows                             # program index (-1: row idle)
        r_game = [0] * rows                             # current game g
        steps = [env.step for env in envs]
        copies_left = [n_copies] * n
        done = 0

        def begin(r: int, prog: int, game: int):
            r_prog[r], r_game[r] = prog, game
            r_ret[r], r_len[r], row_genome[r] = 0.0, 0, prog
            played[prog] = True
            try:
                obs, _ = envs[r].reset(seed=seed_of(prog, game))
            except Exception as exc:
                raise self._failure("reset", exc, generation, ids[prog], game) from exc
            self._put(X, r, obs, generation, ids[prog], game)
            if not np.isfinite(X[r]).all():
                raise self._bad_obs(generation, ids[prog], game)

        def put(r, obs):
            self._put(X, r, obs, generation, ids[r_prog[r]], r_game[r])

        live = 0
        while live < rows:
            job = next(jobs, None)
            if job is None:
                break
            begin(live, *job)
            live += 1

        while live:
            programs.act_rows(row_genome[:live], X[:live], out=act[:live])
            try:
                k = step_rows(live, steps, act, table, X, r_ret, r_len, r_cap, floor,
                              finished, state, low, put)
            except Exception as exc:
                if state[3]:                  # put(): the observation could not be used
                    raise
                r = int(state[0])
                raise self._failure("step", exc, generation, ids[r_prog[r]], r_game[r]) from exc
            if k:
                idle = False
                for r in finished[:k].tolist():
                    prog, game = r_prog[r], r_game[r]
                    ret = float(r_ret[r])
                    if not math.isfinite(ret):
                        raise EvaluationError(f"{env_id} returned a non-finite reward (the return "
                                              f"of the game is {ret}; generation {generation}, "
                                              f"genome {int(ids[prog])}, game {game})")
                    returns[prog, game] = ret
                    steps_of[prog] += int(r_len[r])
                    if game + copies < games:
                        begin(r, prog, game + copies)
                    else:
                        copies_left[prog] -= 1
                        if copies_left[prog] == 0:
                            done += 1
                            if progress is not None:
                                progress(done)
                        job = next(jobs, None)
                        if job is not None:
                            begin(r, *job)
                        else:
                            r_prog[r] = -1
                            idle = True
            if state[2] >= 0:
                r = int(state[2])
                raise self._bad_obs(generation, ids[r_prog[r]], r_game[r])
            if k and idle:
                keep = [r for r in range(live) if r_prog[r] >= 0]
                for dst, src in enumerate(keep):
                    if dst != src:
                        for lst in (r_prog, r_game, envs, steps):
                            lst[dst], lst[src] = lst[src], lst[dst]
                        for arr in (X, row_genome, r_ret, r_len, r_cap):
                            arr[[dst, src]] = arr[[src, dst]]
                live = len(keep)
        fitness = np.cumsum(returns, axis=1)[:, -1] / games
        if pull is not None:
            fitness[~played] = np.nan
        return EvalResult(fitness, steps_of, int(state[1]), float(low[0]))

    def _action_table(self, envs) -> tuple:
        """The action objects handed to ``step``: index j is action ``action_start + j``.

        For a gymnasium ``Discrete`` space they are scalars of the space's own dtype (what
        ``action_space.sample()`` returns, and the fast path of ``Discrete.contains``);
        otherwise Python ints.  Either way the env sees the same action values."""
        from gymnasium import spaces

        start, n_out = self.info.action_start, self.info.output_size
        space = envs[0].env.action_space if envs else None
        if (type(space) is spaces.Discrete and space.dtype is not None
                and np.dtype(space.dtype).kind == "i" and int(space.start) == start):
            make = np.dtype(space.dtype).type
            table = tuple(make(start + j) for j in range(n_out))
            if all(space.contains(a) for a in table):
                return table
        return tuple(start + j for j in range(n_out))

    def _bad_obs(self, generation, genome, game):
        return EvaluationError(f"{self.info.env_id} returned a non-finite observation "
                               f"(generation {generation}, genome {int(genome)}, game {game})")

    def _put(self, X, r, obs, generation, genome, game):
        if type(obs) is np.ndarray and obs.shape == X.shape[1:]:
            X[r] = obs
            return
        flat = np.asarray(obs, dtype=np.float64).reshape(-1)
        if flat.shape[0] != X.shape[1]:
            raise EnvError(f"{self.info.env_id} returned an observation with "
                           f"{flat.shape[0]} values, but input_size is {X.shape[1]} "
                           f"(generation {generation}, genome {int(genome)}, game {game})")
        X[r] = flat

    def _failure(self, what, exc, generation, genome, game):
        return EvaluationError(f"{self.info.env_id} raised in {what}(): {type(exc).__name__}: "
                               f"{exc} (generation {generation}, genome {int(genome)}, "
                               f"game {game})")
