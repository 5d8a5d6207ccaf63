"""The lockstep loop behind ``EnvEvaluator.play_jobs`` (docs/algorithm.md 6.2).

A :class:`Lockstep` owns the rows of one call: row r holds one environment instance and
plays one game of one program at a time.  Every step activates the networks of all live
rows with one kernel call and steps their environments with another (``_core.step_rows``);
when a game ends its row starts the program's next game, or the next job, and rows left
without work move to the end so the live rows stay a dense prefix.  Returns are summed in
step order and games in game order, so a program's fitness never depends on the row, the
batch or the process that played it.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from ezspark import _core
from ezspark.evaluation.contract import EvalResult, EvaluationError, Progress
from ezspark.evaluation.envs import EnvError
from ezspark.network.actions import BoxActions

__all__ = ["Lockstep", "jobs"]

#: ``seed_of(p, g)``: the reset seed of game g of program p.
SeedOf = Callable[[int, int], int]


def jobs(n: int, copies: int, pull: Callable[[], int] | None) -> Iterator[tuple[int, int]]:
    """(program, copy) pairs in play order: programs 0 … n-1, or as ``pull`` hands them out
    (-1: no more)."""
    programs = range(n) if pull is None else iter(pull, -1)
    for p in programs:
        if not 0 <= p < n:
            raise ValueError(f"pull() returned {p}; expected a program index below {n} or -1")
        for c in range(copies):
            yield p, c


class Lockstep:
    """The rows of one ``play_jobs`` call and what their games have returned so far.

    ``settings`` is the EnvEvaluator whose ``info``, ``games``, ``sub_games``,
    ``max_steps`` and ``minimum_reward`` apply; ``envs`` gives one environment per row and
    ``table`` the action objects of its action indices, or the BoxActions of a continuous
    action space.  ``work`` yields (program, copy)
    jobs; copy c of program p plays games c, c + sub_games, …  ``ids[p]`` (genome index)
    and ``generation`` only label error messages.
    """

    def __init__(self, settings, programs, envs: list, table: tuple,
                 work: Iterator[tuple[int, int]], seed_of: SeedOf, ids, generation: int,
                 progress: Progress | None):
        self._setup(settings, programs, len(envs), work, seed_of, ids, generation, progress)
        self.envs, self.table = envs, table
        self.step_rows = _core.step_rows
        cap = settings.max_steps
        self.r_cap = np.array([min(cap, env.time_limit) if env.time_limit else cap
                               for env in envs], dtype=np.int64)
        self.steps = [env.step for env in envs]
        # a Box action space (table is its BoxActions): each row's action is the row's own
        # entry of a table made anew every step from the outputs (docs/algorithm.md 3.4)
        self.box = table if isinstance(table, BoxActions) else None
        self.own_row = np.arange(len(envs), dtype=np.int64)

    def _setup(self, settings, programs, rows: int, work: Iterator[tuple[int, int]],
               seed_of: SeedOf, ids, generation: int, progress: Progress | None) -> None:
        """The state of the rows and of the programs' games, whatever steps the rows."""
        n = len(programs)
        self.rows = rows
        # the programs with one state row per env row (recurrent networks: reset at every
        # game's start, swapped with their row; feed-forward programs keep none)
        self.programs = programs.with_state(rows)
        self.work, self.seed_of, self.ids = work, seed_of, ids
        self.generation, self.progress = generation, progress
        self.env_id, self.floor = settings.info.env_id, settings.minimum_reward
        self.games, self.copies = settings.games, settings.sub_games
        # per program: the return of every game, steps, and copies still playing
        self.returns = np.zeros((n, self.games))
        self.steps_of = np.zeros(n, dtype=np.int64)
        self.played = np.zeros(n, dtype=bool)
        self.copies_left = [min(self.copies, self.games)] * n
        self.done = 0
        # per row: arrays the stepping kernel updates, lists touched once per game
        self.X = np.zeros((rows, settings.info.input_size))
        self.row_genome = np.zeros(rows, dtype=np.int64)
        self.act = np.zeros(rows, dtype=np.int64)
        self.r_ret = np.zeros(rows)                      # return of the current game so far
        self.r_len = np.zeros(rows, dtype=np.int64)      # steps of the current game so far
        self.finished = np.zeros(rows, dtype=np.int64)
        self.state = np.array([0, 0, -1, 0], dtype=np.int64)  # row, violations, bad obs row, phase
        self.low = np.array([math.inf])
        self.r_prog = [0] * rows                          # program index (-1: row idle)
        self.r_game = [0] * rows                          # current game g
        self.live = 0
        self.out = np.zeros((rows, settings.info.output_size))

    def run(self, pulled: bool) -> EvalResult:
        """Plays every job; with ``pulled``, programs never handed out keep fitness NaN."""
        self._fill()
        while self.live:
            k = self._step()
            idle = self._finish(k) if k else False
            if self.state[2] >= 0:
                r = int(self.state[2])
                raise self._bad_obs(self.ids[self.r_prog[r]], self.r_game[r])
            if idle:
                self._compact()
        fitness = np.cumsum(self.returns, axis=1)[:, -1] / self.games
        if pulled:
            fitness[~self.played] = np.nan
        return EvalResult(fitness, self.steps_of, int(self.state[1]), float(self.low[0]))

    def _fill(self) -> None:
        """Gives every row its first job, while there are jobs."""
        while self.live < self.rows:
            job = next(self.work, None)
            if job is None:
                break
            self._begin(self.live, *job)
            self.live += 1

    def _step(self) -> int:
        """One step of every live row; returns how many games ended (rows in finished[:k])."""
        live, state = self.live, self.state
        if self.box is None:
            self.programs.act_rows(self.row_genome[:live], self.X[:live], out=self.act[:live])
            actions, table = self.act, self.table
        else:
            out = self.programs.activate_rows(self.row_genome[:live], self.X[:live],
                                              out=self.out[:live])
            actions, table = self.own_row, tuple(self.box.of(out))
        try:
            return self.step_rows(live, self.steps, actions, table, self.X, self.r_ret,
                                  self.r_len, self.r_cap, self.floor, self.finished, state,
                                  self.low, self._put_row)
        except Exception as exc:
            if state[3]:                  # _put_row: the observation could not be used
                raise
            r = int(state[0])
            raise self._failure("step", exc, self.ids[self.r_prog[r]], self.r_game[r]) from exc

    def _finish(self, k: int) -> bool:
        """Records the games that ended on rows finished[:k] and gives each row its next
        game or job; True when a row is left idle."""
        idle = False
        for r in self.finished[:k].tolist():
            prog, game = self.r_prog[r], self.r_game[r]
            self._record(r, prog, game)
            if game + self.copies < self.games:
                self._begin(r, prog, game + self.copies)
            elif not self._next_job(r, prog):
                idle = True
        return idle

    def _record(self, r: int, prog: int, game: int) -> None:
        ret = float(self.r_ret[r])
        if not math.isfinite(ret):
            raise EvaluationError(f"{self.env_id} returned a non-finite reward (the return of "
                                  f"the game is {ret}; generation {self.generation}, genome "
                                  f"{int(self.ids[prog])}, game {game})")
        self.returns[prog, game] = ret
        self.steps_of[prog] += int(self.r_len[r])

    def _next_job(self, r: int, prog: int) -> bool:
        """Row r played the last game of its copy of ``prog``: counts the program done when
        all its copies are, then starts the next job on r (False: none left, r is idle)."""
        self.copies_left[prog] -= 1
        if self.copies_left[prog] == 0:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done)
        job = next(self.work, None)
        if job is None:
            self.r_prog[r] = -1
            return False
        self._begin(r, *job)
        return True

    def _compact(self) -> None:
        """Moves the idle rows after the live ones (swapping their whole state)."""
        keep = [r for r in range(self.live) if self.r_prog[r] >= 0]
        for dst, src in enumerate(keep):
            if dst != src:
                self._swap_rows(dst, src)
        self.live = len(keep)

    def _swap_rows(self, a: int, b: int) -> None:
        """Rows a and b exchange everything: game, sums, network state, environment."""
        for lst in (self.r_prog, self.r_game):
            lst[a], lst[b] = lst[b], lst[a]
        for arr in (self.row_genome, self.r_ret, self.r_len, self.r_cap):
            arr[a], arr[b] = arr[b], arr[a]
        X, row = self.X, self.X[a].copy()
        X[a] = X[b]
        X[b] = row
        self.programs.swap(a, b)
        self._swap_envs(a, b)

    def _swap_envs(self, a: int, b: int) -> None:
        """Rows a and b exchange their environments."""
        for lst in (self.envs, self.steps):
            lst[a], lst[b] = lst[b], lst[a]

    def _begin(self, r: int, prog: int, game: int) -> None:
        """Row r starts game ``game`` of program ``prog``: reset with its seed."""
        self.r_prog[r], self.r_game[r] = prog, game
        self.r_ret[r], self.r_len[r], self.row_genome[r] = 0.0, 0, prog
        self.programs.reset(r)          # a recurrent network starts every game from zero
        self.played[prog] = True
        self._reset(r, self.seed_of(prog, game))

    def _reset(self, r: int, seed: int) -> None:
        """Row r's environment starts a game from ``seed``; its observation goes into X[r]."""
        genome, game = self.ids[self.r_prog[r]], self.r_game[r]
        try:
            obs, _ = self.envs[r].reset(seed=seed)
        except Exception as exc:
            raise self._failure("reset", exc, genome, game) from exc
        self._put(r, obs, genome, game)
        if not np.isfinite(self.X[r]).all():
            raise self._bad_obs(genome, game)

    def _put_row(self, r: int, obs) -> None:
        """The stepping kernel's slow path for an observation it cannot copy itself."""
        self._put(r, obs, self.ids[self.r_prog[r]], self.r_game[r])

    def _put(self, r: int, obs, genome, game: int) -> None:
        X = self.X
        if type(obs) is np.ndarray and obs.shape == X.shape[1:]:
            X[r] = obs
            return
        flat = np.asarray(obs, dtype=np.float64).reshape(-1)
        if flat.shape[0] != X.shape[1]:
            raise EnvError(f"{self.env_id} returned an observation with {flat.shape[0]} "
                           f"values, but input_size is {X.shape[1]} (generation "
                           f"{self.generation}, genome {int(genome)}, game {game})")
        X[r] = flat

    def _bad_obs(self, genome, game: int) -> EvaluationError:
        return EvaluationError(f"{self.env_id} returned a non-finite observation (generation "
                               f"{self.generation}, genome {int(genome)}, game {game})")

    def _failure(self, what: str, exc: Exception, genome, game: int) -> EvaluationError:
        return EvaluationError(f"{self.env_id} raised in {what}(): {type(exc).__name__}: "
                               f"{exc} (generation {self.generation}, genome {int(genome)}, "
                               f"game {game})")
