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
import os
import signal
import sys
from pathlib import Path
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numpy as np

from ezspark.batched import factory_for
from ezspark.evaluation.contract import EvalResult, Evaluator, Progress
from ezspark.evaluation.envs import EnvInfo, episode_seed
from ezspark.evaluation.local import EnvEvaluator
from ezspark.plugins.manager import get_plugin_manager

__all__ = ["ProcessEvaluator", "available_cores"]

def available_cores() -> int:
    """The cores this process may use: ``os.process_cpu_count()`` (Python 3.13+) or the CPU
    affinity mask (``os.sched_getaffinity``), else ``os.cpu_count()``, lowered to a cgroup's
    CPU quota when one is set (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``: a container
    limited to 1.5 CPUs gets 2); at least 1.  ``ezspark run``'s default ``--workers``."""
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:
        n = counter()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count()
    n = n or 1
    quota = _cgroup_quota()
    return max(1, min(n, math.ceil(quota)) if quota else n)


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup"),
                  membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs allowed by this process's cgroup quota (quota / period), None for none."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":                         # v2: "0::/path"
            files = [(root / rel / "cpu.max", None), (root / "cpu.max", None)]
        elif "cpu" in controllers.split(","):         # v1: "N:cpu,cpuacct:/path"
            base = root / controllers
            if not base.is_dir():
                base = root / "cpu"
            files = [(base / rel / "cpu.cfs_quota_us", base / rel / "cpu.cfs_period_us"),
                     (base / "cpu.cfs_quota_us", base / "cpu.cfs_period_us")]
        else:
            continue
        for quota_file, period_file in files:
            try:
                fields = quota_file.read_text().split()
                if period_file is not None:
                    fields.append(period_file.read_text().strip())
            except OSError:
                continue
            if len(fields) >= 2 and fields[0] not in ("max", "-1"):
                try:
                    quota, period = float(fields[0]), float(fields[1])
                except ValueError:
                    continue
                if quota > 0 and period > 0:
                    return quota / period
            break
    return None


_worker: EnvEvaluator | None = None
_shared = None      # (next genome, genomes finished, evaluation number): shared int64 values


def _die_with_parent(parent: int) -> None:
    """Linux: this worker is killed when the process that started it dies.  A ``run`` killed
    with SIGKILL cannot shut its pool down, and its workers would wait for work forever,
    holding the pipes of whoever started the run open."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:                      # it died before prctl took effect
        os._exit(1)


def _init_worker(env_id, input_size, output_size, action_start, kwargs, shared, parent=None):
    global _worker, _shared
    if parent is not None:
        _die_with_parent(parent)
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

    def __init__(self, info: EnvInfo, workers: int, *, chunks_per_worker: int | None = None,
                 **kwargs):
        self.workers = int(workers)
        if chunks_per_worker is None:
            # a batched environment steps more rows per call for the same cost: each worker
            # fills rows for its whole share at once (measured faster than 4 chunks,
            # docs/decisions.md "Rows in flight"); gymnasium's instances balance in 4 chunks
            batched = kwargs.get("batched", True) and factory_for(info.env_id) is not None
            chunks_per_worker = 1 if batched else 4
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
                      self._shared, os.getpid()))

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
