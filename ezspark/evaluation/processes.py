"""``--workers N``: evaluation shared by N processes on this machine.

Every worker process is given the whole generation (the programs, the run seed and the
generation number) and runs the same lockstep loop as the serial path
(``EnvEvaluator.play_jobs``), but takes genomes one at a time from a shared counter, each
time one of its rows frees up: dynamic load balancing at the grain of one genome, so a
worker that drew long episodes simply takes fewer genomes.  Each worker keeps only about
P / (N x ``chunks_per_worker``) genomes in play at once, so the first worker to start
cannot take the whole generation.  Genome indices (and so episode seeds) are those of the
whole generation and a genome's games never depend on which process or row plays them, so
the fitness of every genome is identical to the serial evaluation.
"""
from __future__ import annotations

import math
import multiprocessing
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numpy as np

from ezspark.evaluation.contract import EvalResult, Evaluator, Progress
from ezspark.evaluation.envs import EnvInfo, episode_seed
from ezspark.evaluation.local import EnvEvaluator
from ezspark.plugins.manager import get_plugin_manager

__all__ = ["ProcessEvaluator"]

_worker: EnvEvaluator | None = None
_shared = None      # (next genome, genomes finished, evaluation number): shared int64 values


def _init_worker(env_id, input_size, output_size, action_start, kwargs, shared):
    global _worker, _shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the trainer handles Ctrl-C
    get_plugin_manager()                           # plugin environments, in spawned workers
    _worker = EnvEvaluator(EnvInfo(env_id, input_size, output_size, action_start), **kwargs)
    _shared = shared


def _evaluate_shared(programs, seed, generation, token, max_rows, seeds=None, genome_ids=None):
    """Play the genomes this process pulls from the shared counter (evaluation ``token``).
    Episode seeds: ``seeds[p][g]`` when given, else e(seed, generation, p, g).

    Returns (indices played, their fitness, their env steps, violations, smallest reward)."""
    counter, finished, current = _shared
    n = len(programs)
    lock = counter.get_lock()

    def pull() -> int:
        with lock:
            if current.value != token or counter.value >= n:
                return -1
            i = counter.value
            counter.value = i + 1
            return i

    def progress(_done: int):
        with finished.get_lock():
            finished.value += 1

    if seeds is None:
        def seed_of(p, g):
            return episode_seed(seed, generation, p, g)
    else:
        def seed_of(p, g):
            return seeds[p][g]
    result = _worker.play_jobs(programs, seed_of, pull=pull, genome_ids=genome_ids,
                               generation=generation, progress=progress, max_rows=max_rows)
    mine = np.flatnonzero(~np.isnan(result.fitness))
    return (mine, result.fitness[mine], result.env_steps[mine], result.reward_violations,
            result.min_reward)


class ProcessEvaluator(Evaluator):
    """Evaluates a generation on ``workers`` processes (see the module docstring)."""

    def __init__(self, info: EnvInfo, workers: int, *, chunks_per_worker: int = 4, **kwargs):
        self.workers = int(workers)
        self.chunks_per_worker = max(int(chunks_per_worker), 1)
        self.sub_games = int(kwargs.get("sub_games", 1))
        self.games = int(kwargs.get("games", 1))
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        # int64 values with one lock each: the next genome to hand out, genomes finished,
        # and the number of the evaluation in progress (a worker still busy with an
        # abandoned evaluation stops pulling when it changes)
        self._shared = (ctx.Value("q", 0), ctx.Value("q", 0), ctx.Value("q", 0))
        self._token = 0
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker,
            initargs=(info.env_id, info.input_size, info.output_size, info.action_start, kwargs,
                      self._shared))

    @classmethod
    def from_config(cls, cfg, info: EnvInfo, workers: int) -> "ProcessEvaluator":
        return cls(info, workers, games=cfg.max_number_of_games,
                   max_steps=cfg.max_number_of_steps, sub_games=cfg.sub_games,
                   minimum_reward=cfg.minimum_reward)

    def evaluate(self, programs, seed: int, generation: int,
                 progress: Progress | None = None) -> EvalResult:
        """Fitness of the generation's genomes (program p is genome p: docs/algorithm.md 6.2
        seeds)."""
        return self._run(programs, seed, generation, progress)

    def play(self, programs, seeds: np.ndarray, *, generation: int = -1, genome_ids=None,
             progress: Progress | None = None) -> EvalResult:
        """``EnvEvaluator.play`` on the worker processes: ``seeds[p, g]`` seeds game g of
        program p; ``generation`` and ``genome_ids`` only label error messages."""
        n = len(programs)
        seeds = np.asarray(seeds, dtype=np.int64)
        if seeds.shape != (n, self.games):
            raise ValueError(f"seeds has shape {seeds.shape}; expected ({n}, {self.games})")
        ids = None if genome_ids is None else np.asarray(genome_ids, dtype=np.int64)
        return self._run(programs, 0, generation, progress, seeds.tolist(), ids)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, programs, seed, generation, progress, seeds=None, genome_ids=None):
        """Starts one evaluation on every worker and merges what each played."""
        n = len(programs)
        counter, finished, current = self._shared
        self._token += 1
        with counter.get_lock():
            counter.value = 0
            finished.value = 0
            current.value = self._token
        copies = min(self.sub_games, self.games)
        max_rows = max(copies, math.ceil(n * copies / (self.workers * self.chunks_per_worker)))
        futures = [self._pool.submit(_evaluate_shared, programs, seed, generation, self._token,
                                     max_rows, seeds, genome_ids)
                   for _ in range(min(self.workers, max(n, 1)))]
        try:
            result = self._collect(futures, n, progress)
        except BaseException:
            with counter.get_lock():
                current.value = -1           # the workers stop pulling
            for fut in futures:
                fut.cancel()
            raise
        missing = np.flatnonzero(np.isnan(result.fitness))
        if missing.shape[0]:                 # never expected: every genome is pulled once
            raise RuntimeError(f"{missing.shape[0]} genomes were not evaluated")
        return result

    def _collect(self, futures, n: int, progress: Progress | None) -> EvalResult:
        """Waits for the workers' shares, reporting progress from the shared count."""
        finished = self._shared[1]
        fitness = np.full(n, np.nan)
        steps = np.zeros(n, dtype=np.int64)
        violations, low, reported = 0, math.inf, 0
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.05 if progress else None,
                                 return_when=FIRST_COMPLETED)
            for fut in done:
                mine, fit, st, v, lo = fut.result()
                fitness[mine] = fit
                steps[mine] = st
                violations += v
                low = min(low, lo)
            if progress is not None and finished.value > reported:
                reported = int(finished.value)
                progress(reported)
        return EvalResult(fitness, steps, violations, low)
