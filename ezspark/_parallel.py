"""``--workers N``: evaluation split over N processes on this machine.

The generation's genomes are cut into contiguous chunks; each worker process evaluates a
chunk with its own EnvEvaluator (the same code as the serial path) and returns plain
arrays.  Genome indices (and so episode seeds) are those of the whole generation, so the
fitness of every genome is identical to the serial evaluation.
"""
from __future__ import annotations

import multiprocessing
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable

import numpy as np

from ._envs import EnvInfo
from ._evaluation import EnvEvaluator, EvalResult

__all__ = ["ProcessEvaluator"]

_worker: EnvEvaluator | None = None


def _init_worker(env_id, input_size, output_size, action_start, kwargs):
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the trainer handles Ctrl-C
    from ._pluginmanager import get_plugin_manager
    get_plugin_manager()                           # plugin environments, in spawned workers
    _worker = EnvEvaluator(EnvInfo(env_id, input_size, output_size, action_start), **kwargs)


def _evaluate_chunk(programs, seed, generation, genome_ids):
    result = _worker.evaluate(programs, seed, generation, genome_ids)
    return (result.fitness, result.env_steps, result.reward_violations, result.min_reward)


class ProcessEvaluator:
    """Evaluates a generation on ``workers`` processes."""

    def __init__(self, info: EnvInfo, workers: int, *, chunks_per_worker: int = 4, **kwargs):
        self.workers = int(workers)
        self.chunks_per_worker = int(chunks_per_worker)
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(info.env_id, info.input_size, info.output_size, info.action_start, kwargs))

    @classmethod
    def from_config(cls, cfg, info: EnvInfo, workers: int) -> "ProcessEvaluator":
        return cls(info, workers, games=cfg.max_number_of_games,
                   max_steps=cfg.max_number_of_steps, sub_games=cfg.sub_games,
                   minimum_reward=cfg.minimum_reward)

    def evaluate(self, programs, seed: int, generation: int,
                 progress: Callable[[int], None] | None = None) -> EvalResult:
        n = len(programs)
        parts = min(n, self.workers * self.chunks_per_worker)
        bounds = np.linspace(0, n, parts + 1).round().astype(np.int64)
        futures = {}
        for c in range(parts):
            lo, hi = int(bounds[c]), int(bounds[c + 1])
            ids = np.arange(lo, hi)
            futures[self._pool.submit(_evaluate_chunk, programs.subset(ids), seed,
                                      generation, ids)] = c
        results: list = [None] * parts
        done = 0
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    c = futures[fut]
                    results[c] = EvalResult(*fut.result())
                    done += int(bounds[c + 1] - bounds[c])
                    if progress is not None:
                        progress(done)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        return EvalResult.merge(results)

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
