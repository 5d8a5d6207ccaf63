"""The coordinator's side of a distributed run: batches on Dask, and ``safeness``.

:class:`DaskEvaluator` evaluates one generation as batches of ``genomes_per_task``
genomes (engine-spec 7.1) submitted to a Dask scheduler, and applies spec 7.2:

1. one u per batch, in batch order, from the run's verification stream;
2. a batch first evaluated by a remote worker W1 with u < safeness is **checked**: it is
   evaluated again by a worker W2 that differs from W1 in credentials and in machine, or
   by the coordinator when there is no such worker;
3. results agree within a relative tolerance of 1e-6 (floor 1e-9);
4. on disagreement the coordinator evaluates the batch, its result is accepted, every
   worker that disagrees with it is excluded (no more batches, refused if it reconnects),
   and every batch of the generation it returned or confirmed is evaluated again.

Batches evaluated by the coordinator (its own Dask workers, which hold the coordinator's
certificate, or this process) are trusted.  Lost batches are re-run by Dask (a worker
killed mid-task loses nothing); a batch whose task fails three times, or whose worker
reports an error, is evaluated by the coordinator.  Fitness depends only on the genome and
its episode seeds, so whoever evaluates a batch, the accepted values equal the local run's.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable

import attrs
import numpy as np

from ezspark.evaluation.contract import EvalResult, EvaluationError
from ezspark.evaluation.local import episode_seeds
from ezspark.distributed.batch import (BatchRequest, ReplyError, agree, evaluate_batch, parse_reply, play_batch,
                     close_evaluators)
from ezspark._version import __version__

__all__ = ["DaskEvaluator", "WorkerIdentity"]


@attrs.frozen
class WorkerIdentity:
    """Who evaluated a batch: the credentials a worker joined with and its machine."""

    credentials: str      # common name of its TLS certificate ("coordinator" = trusted)
    machine: str          # "<address host>/<machine id it reports>"

    @property
    def key(self) -> str:
        return f"{self.credentials}@{self.machine}"

    @property
    def trusted(self) -> bool:
        return self.credentials == "coordinator"

    def differs(self, other: "WorkerIdentity") -> bool:
        return self.credentials != other.credentials and self.machine != other.machine


COORDINATOR = WorkerIdentity("coordinator", "local")


class _Task:
    __slots__ = ("batch", "role", "w1", "r1", "attempt", "allowed")

    def __init__(self, batch, role, w1=None, r1=None, attempt=0, allowed=None):
        self.batch, self.role, self.w1, self.r1 = batch, role, w1, r1
        self.attempt, self.allowed = attempt, allowed


class DaskEvaluator:
    """Evaluates generations on a Dask cluster (see the module docstring).

    ``cluster`` is a :class:`~ezspark.distributed.cluster.ServedCluster` or
    :class:`~ezspark.distributed.cluster.ExternalCluster`.  Batches the coordinator
    evaluates run on its own Dask workers, or in this process when it has none.
    """

    max_attempts = 3

    def __init__(self, cfg, info, cluster, *, verification: np.random.Generator,
                 excluded=(), log: Callable[[str], None] | None = None,
                 run_tag: str = "ezspark"):

        self.cfg, self.info, self.cluster = cfg, info, cluster
        self.client = cluster.client
        self.verification = verification
        self.excluded: set[str] = set(excluded)
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.version = __version__
        self.tag = run_tag
        self.safeness = float(cfg.safeness)
        self.per_task = int(cfg.genomes_per_task)
        for key in self.excluded:
            cluster.ban(key)
        self._idle_since, self._idle_warned = None, False

    # -- helpers ---------------------------------------------------------------------
    def _request(self, programs, seeds, k, lo, hi) -> BatchRequest:
        info, cfg = self.info, self.cfg
        return BatchRequest(generation=k, first=lo, programs=programs.subset(np.arange(lo, hi)),
                            seeds=seeds[lo:hi], env_id=info.env_id,
                            input_size=info.input_size, output_size=info.output_size,
                            action_start=info.action_start, games=cfg.max_number_of_games,
                            max_steps=cfg.max_number_of_steps, sub_games=cfg.sub_games,
                            minimum_reward=cfg.minimum_reward, version=self.version)

    def close(self):
        close_evaluators()          # environments of batches evaluated in this process

    # -- one generation ----------------------------------------------------------------
    def evaluate(self, programs, seed: int, generation: int,
                 progress: Callable[[int], None] | None = None) -> EvalResult:
        k, n, client, cluster = generation, len(programs), self.client, self.cluster
        bounds = list(range(0, n, self.per_task)) + [n]
        nb = len(bounds) - 1
        u = self.verification.random(nb)                                     # spec 7.2.1
        seeds = episode_seeds(seed, k, np.arange(n), self.cfg.max_number_of_games)
        requests = [self._request(programs, seeds, k, bounds[b], bounds[b + 1])
                    for b in range(nb)]
        accepted: list = [None] * nb
        vouched: dict[str, set[int]] = {}    # identity key -> batches it returned or confirmed
        tasks: dict = {}                     # dask future -> _Task
        counter = [0]
        checks = mismatches = excluded_now = 0
        done_genomes = 0

        def submit(b: int, role: str, *, w1=None, r1=None, attempt=0, coordinator=False,
                   avoid: WorkerIdentity | None = None):
            counter[0] += 1
            key = f"{self.tag}-k{k}-b{b}-{role}-{counter[0]}"
            allowed = None
            if coordinator:
                allowed = cluster.coordinator_workers()
                if not allowed:                       # no Dask workers of our own
                    reply = play_batch(requests[b])      # in this process
                    handle(_Task(b, role, w1, r1, attempt), COORDINATOR, reply)
                    return
            elif avoid is not None:
                allowed = [a for a, ident in cluster.remote_workers().items()
                           if ident.differs(avoid) and ident.key not in self.excluded]
                if not allowed:                       # spec 7.2.2: no such worker
                    submit(b, "check-coordinator", w1=w1, r1=r1, coordinator=True)
                    return
            fut = client.submit(evaluate_batch, requests[b], key=key, pure=False,
                                workers=allowed, allow_other_workers=False,
                                priority=10 if coordinator else 0)
            tasks[fut] = _Task(b, role, w1, r1, attempt, allowed)

        def accept(b: int, reply, *by: WorkerIdentity):
            nonlocal done_genomes
            if accepted[b] is None:
                done_genomes += bounds[b + 1] - bounds[b]
            accepted[b] = reply
            for ident in by:
                if not ident.trusted:
                    vouched.setdefault(ident.key, set()).add(b)
            if progress is not None:
                progress(done_genomes)

        def exclude(ident: WorkerIdentity, why: str):
            nonlocal excluded_now, done_genomes
            if ident.trusted or ident.key in self.excluded:
                return
            self.excluded.add(ident.key)
            excluded_now += 1
            cluster.ban(ident.key)
            again = sorted(vouched.pop(ident.key, ()))
            self.log(f"excluded worker {ident.key} (generation {k}): {why}; "
                     f"{len(again)} of its batches are evaluated again")
            for b in again:
                if accepted[b] is not None:
                    done_genomes -= bounds[b + 1] - bounds[b]
                    accepted[b] = None
                    submit(b, "primary")

        def handle(task: _Task, ident: WorkerIdentity, reply):
            nonlocal checks, mismatches
            b = task.batch
            if ident.key in self.excluded:           # a late answer from an excluded worker
                if task.role == "primary":
                    submit(b, "primary")
                else:
                    submit(b, "check-coordinator", w1=task.w1, r1=task.r1, coordinator=True)
                return
            if isinstance(reply, ReplyError):
                if ident.trusted:         # as a local run would fail: same message
                    text = str(reply)
                    for prefix in ("EvaluationError: ", "EnvError: "):
                        text = text[len(prefix):] if text.startswith(prefix) else text
                    raise EvaluationError(text)
                # a remote worker failed or answered garbage: the coordinator decides
                submit(b, "error-coordinator", w1=ident, r1=reply, coordinator=True)
                return
            role = task.role
            if role != "primary" and task.w1 is not None and task.w1.key in self.excluded:
                submit(b, "primary")                 # W1 was excluded meanwhile
                return
            if role == "primary":
                if ident.trusted:
                    accept(b, reply, ident)
                elif u[b] < self.safeness:
                    submit(b, "check", w1=ident, r1=reply, avoid=ident)       # spec 7.2.2
                else:
                    accept(b, reply, ident)
            elif role == "check":
                checks += 1
                if agree(task.r1.fitness, reply.fitness):                     # spec 7.2.3
                    accept(b, task.r1, task.w1, ident)
                else:
                    mismatches += 1
                    submit(b, "tiebreak", w1=task.w1, r1=(task.r1, ident, reply),
                           coordinator=True)
            elif role == "check-coordinator":
                checks += 1
                accept(b, reply, ident)
                if not agree(task.r1.fitness, reply.fitness):
                    mismatches += 1
                    exclude(task.w1, f"its fitness values for batch {b} differ from the "
                                     "coordinator's")
            elif role == "tiebreak":
                accept(b, reply, ident)                                       # spec 7.2.4
                r1, w2, r2 = task.r1[0], task.r1[1], task.r1[2]
                for w, r in ((task.w1, r1), (w2, r2)):
                    if not agree(r.fitness, reply.fitness):
                        exclude(w, f"its fitness values for batch {b} differ from the "
                                   "coordinator's")
            elif role == "error-coordinator":
                accept(b, reply, ident)
                exclude(task.w1, f"it could not evaluate batch {b}: {task.r1}")

        for b in range(nb):
            submit(b, "primary")
        last_check = time.monotonic()
        # every batch not yet accepted has a task in flight (or was evaluated in-process)
        while tasks:
            finished = [f for f in tasks if f.done()]
            if not finished:
                time.sleep(0.01)
                if time.monotonic() - last_check >= 0.5:
                    self._unstick(tasks, submit)
                    last_check = time.monotonic()
                continue
            owners = cluster.identities_of([f for f in finished if f.status == "finished"])
            for fut in finished:
                task = tasks.pop(fut)
                try:
                    data = fut.result()
                except Exception as exc:                 # lost worker, cancelled, killed
                    fut.release()
                    if task.attempt + 1 >= self.max_attempts:
                        submit(task.batch, task.role if task.role != "primary"
                               else "error-coordinator",
                               w1=task.w1, r1=task.r1 if task.role != "primary"
                               else ReplyError(f"{type(exc).__name__}: {exc}"),
                               coordinator=True, attempt=task.attempt + 1)
                    else:
                        self._resubmit(submit, task, task.attempt + 1)
                    continue
                ident = owners.get(fut.key) or cluster.identity_of(fut)
                fut.release()
                try:
                    reply = parse_reply(data, bounds[task.batch + 1] - bounds[task.batch])
                except ReplyError as exc:
                    reply = exc
                handle(task, ident, reply)
        missing = [b for b, a in enumerate(accepted) if a is None]
        if missing:                                  # a bug, not a worker's doing
            raise RuntimeError(f"generation {k}: batches {missing} were never accepted")
        fit = np.concatenate([a.fitness for a in accepted]) if nb else np.zeros(0)
        steps = (np.concatenate([a.env_steps for a in accepted]) if nb
                 else np.zeros(0, dtype=np.int64))
        return EvalResult(fit, steps, sum(a.reward_violations for a in accepted),
                                     min((a.min_reward for a in accepted), default=math.inf),
                                     checks=checks, mismatches=mismatches,
                                     excluded=excluded_now)

    @staticmethod
    def _resubmit(submit, task: _Task, attempt: int):
        if task.role == "primary":
            submit(task.batch, "primary", attempt=attempt)
        elif task.role == "check":
            submit(task.batch, "check", w1=task.w1, r1=task.r1, avoid=task.w1, attempt=attempt)
        else:
            submit(task.batch, task.role, w1=task.w1, r1=task.r1, coordinator=True,
                   attempt=attempt)

    def _unstick(self, tasks: dict, submit):
        """Tasks restricted to workers that have all left would wait forever: move them.
        Say so once when the cluster has no worker at all for a while."""
        live = set(self.cluster.live_workers())
        if live:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = time.monotonic()
        elif time.monotonic() - self._idle_since > 10 and not self._idle_warned:
            self._idle_warned = True
            self.log(f"waiting: the Dask cluster at {self.cluster.address} has no workers "
                     "(the generation continues when one joins)")
        for fut, task in [(f, t) for f, t in tasks.items() if t.allowed is not None]:
            if not live.intersection(task.allowed):
                tasks.pop(fut)
                fut.cancel()
                self._resubmit(submit, task, task.attempt)
