"""The batched loop behind ``EnvEvaluator.play_jobs``: every live row stepped with one call
(docs/algorithm.md 6; docs/decisions.md "Batched environments").

When a batched version of the environment is registered (``ezspark.batched``), a
:class:`BatchedLoop` plays the same jobs as :class:`~ezspark.evaluation.lockstep.Lockstep`
with one :class:`~ezspark.batched.BatchedEnv` of R rows instead of R environment instances:
per step one activation kernel call, one ``step`` call of the batched environment for rows
0 … n-1, and one bookkeeping kernel call (``_core.tally_rows``: the sums, step counts,
end-of-game test and finiteness check of the lockstep kernel).  Games start with the same
episode seeds, programs are handed out the same way, recurrent state is reset and moves with
its row, and returns are summed in step order and games in game order by the code Lockstep
runs, so fitness is the same bits whichever loop plays.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ezspark import _core
from ezspark.evaluation.contract import EvaluationError, Progress
from ezspark.evaluation.envs import EnvError, EnvInfo
from ezspark.evaluation.lockstep import Lockstep, SeedOf
from ezspark.network.actions import box_actions

__all__ = ["BatchedLoop", "check_batched"]


def check_batched(env, info: EnvInfo) -> None:
    """EnvError unless the batched environment ``env`` declares the spaces of ``info`` (the
    gymnasium environment's) and the time limit gymnasium registered for its id.  A Box
    action space is compared with ``info.box`` when the EnvInfo has it (a ``--workers``
    process's does not; its loop reads the bounds off the batched environment, as the
    lockstep loop reads them off its environments)."""
    # deferred: gymnasium (ezspark.envs subclasses one of its environments)
    from ezspark.envs import flat_size
    import gymnasium
    from gymnasium import spaces

    name = f"the batched version of {info.env_id} ({type(env).__name__})"
    obs_space, space = env.observation_space, env.action_space
    size = flat_size(obs_space) if obs_space is not None else None
    if size != info.input_size:
        raise EnvError(f"{name} declares observations of {size} values, but the environment "
                       f"has {info.input_size}")
    if isinstance(space, spaces.Box):
        box = box_actions(space)
        ok = box.size == info.output_size and info.box in (None, box)
    else:
        ok = (isinstance(space, spaces.Discrete) and info.box is None
              and int(space.n) == info.output_size and int(space.start) == info.action_start)
    if not ok:
        raise EnvError(f"{name} declares actions {space}, which are not the environment's")
    limit = gymnasium.spec(info.env_id).max_episode_steps
    if env.time_limit != limit:
        raise EnvError(f"{name} declares the time limit {env.time_limit}, but gymnasium has "
                       f"{limit} for the id")


def _actions(space) -> tuple:
    """(BoxActions, 0) of a Box action space, (None, start) of a Discrete one."""
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        return box_actions(space), 0
    return None, int(space.start)


class BatchedLoop(Lockstep):
    """The rows of one ``play_jobs`` call, played on one batched environment.

    ``env`` is a :class:`~ezspark.batched.BatchedEnv` with at least ``rows`` rows whose
    spaces ``check_batched`` accepted; the other arguments are Lockstep's.  Rows that start
    a game in one pass of the loop are reset with one call.
    """

    def __init__(self, settings, programs, env, rows: int, work: Iterator[tuple[int, int]],
                 seed_of: SeedOf, ids, generation: int, progress: Progress | None):
        self._setup(settings, programs, rows, work, seed_of, ids, generation, progress)
        self.env, self.tally_rows = env, _core.tally_rows
        cap = settings.max_steps
        limit = env.time_limit
        self.r_cap = np.full(rows, min(cap, limit) if limit else cap, dtype=np.int64)
        self.reward = np.zeros(rows)
        self.terminated = np.zeros(rows, dtype=bool)
        self.ended = self.terminated.view(np.uint8)
        # Box: the actions of the outputs (docs/algorithm.md 3.4); Discrete: the action
        # values start + j of the chosen outputs j
        self.box, self.start = _actions(env.action_space)
        self.values = np.zeros(rows, dtype=np.int64)
        self.pending: list[tuple[int, int]] = []       # (row, seed) to reset
        self.idle: list[int] = []                       # rows left without a job, to compact
        # feed-forward Discrete: the activation kernel without act_rows' per-call checks
        self.kernel = self.programs.unchecked() if self.box is None else None

    def _step(self) -> int:
        """One step of every live row; returns how many games ended (rows in finished[:k])."""
        live = self.live
        if self.kernel is not None:
            actions = self.act[:live]
            self.kernel(self.row_genome[:live], self.X[:live], None, actions)
            if self.start:
                actions = np.add(actions, self.start, out=self.values[:live])
        elif self.box is None:
            actions = self.programs.act_rows(self.row_genome[:live], self.X[:live],
                                             out=self.act[:live])
            if self.start:
                actions = np.add(actions, self.start, out=self.values[:live])
        else:
            out = self.programs.activate_rows(self.row_genome[:live], self.X[:live],
                                              out=self.out[:live])
            actions = self.box.of(out)
        try:
            self.env.step(live, actions, self.X, self.reward, self.terminated)
        except Exception as exc:
            raise EvaluationError(
                f"{self.env_id} (batched: {type(self.env).__name__}) raised in step(): "
                f"{type(exc).__name__}: {exc} (generation {self.generation}, {live} games in "
                f"play; EZSPARK_NO_BATCHED_ENVS=1 plays them one environment at a time and "
                f"names the game)") from exc
        return self.tally_rows(live, self.reward, self.ended, self.X, self.r_ret, self.r_len,
                               self.r_cap, self.floor, self.finished, self.state, self.low)

    def _fill(self) -> None:
        super()._fill()
        self._flush()

    def _finish(self, k: int) -> bool:
        idle = super()._finish(k)
        self._flush()
        return idle

    def _reset(self, r: int, seed: int) -> None:
        self.pending.append((r, seed))

    def _flush(self) -> None:
        """Resets every row that starts a game, with one call; checks their observations."""
        if not self.pending:
            return
        rows = np.array([r for r, _ in self.pending], dtype=np.int64)
        seeds = [seed for _, seed in self.pending]
        self.pending = []
        self._reset_rows(rows, seeds)
        first = self.X[rows]
        if not np.isfinite(first).all():
            r = int(rows[np.flatnonzero(~np.isfinite(first).all(axis=1))[0]])
            raise self._bad_obs(self.ids[self.r_prog[r]], self.r_game[r])

    def _reset_rows(self, rows: np.ndarray, seeds: list[int]) -> None:
        try:
            self.env.reset(rows, seeds, self.X)
        except Exception as exc:
            if rows.size > 1:               # name the row that fails on its own
                for r, seed in zip(rows.tolist(), seeds):
                    self._reset_rows(np.array([r], dtype=np.int64), [seed])
            r = int(rows[0])
            raise self._failure("reset", exc, self.ids[self.r_prog[r]],
                                self.r_game[r]) from exc

    def _next_job(self, r: int, prog: int) -> bool:
        if super()._next_job(r, prog):
            return True
        self.idle.append(r)
        return False

    def _compact(self) -> None:
        """Moves the idle rows after the live ones: each idle row, lowest first, swaps with
        the last live row.  Lockstep keeps the rows' order and moves every row after an idle
        one, which costs more than a batched step; the order of the rows changes no
        result."""
        live, r_prog = self.live, self.r_prog
        for r in sorted(self.idle):
            while live and r_prog[live - 1] < 0:
                live -= 1
            if r >= live:
                break
            self._swap_rows(r, live - 1)
            live -= 1
        self.idle.clear()
        self.live = live

    def _swap_envs(self, a: int, b: int) -> None:
        self.env.swap(a, b)
