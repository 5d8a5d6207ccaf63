"""The coordinator's side of a distributed run: batches on Dask, and ``safeness``.

:class:`DaskEvaluator` evaluates each generation as one :class:`GenerationRound`: the
generation's batches of ``genomes_per_task`` genomes (docs/algorithm.md section 7.1), sent
to a Dask scheduler as tasks, with the rules of section 7.2:

1. one u per batch, in batch order, from the run's verification stream, drawn when the
   round starts;
2. a batch first evaluated by a remote worker W1 with u < safeness is **checked**: it is
   evaluated again by a worker W2 that differs from W1 in credentials and in machine, or
   by the coordinator when there is no such worker;
3. results agree within a relative tolerance of 1e-6 (floor 1e-9);
4. on disagreement the coordinator evaluates the batch, its result is accepted, every
   worker that disagrees with it is excluded (no more batches, refused if it reconnects),
   and every batch of the generation it returned or confirmed is evaluated again.

Batches evaluated by the coordinator (its own Dask workers, which hold the coordinator's
certificate, or this process) are trusted.  Lost batches are re-run by Dask (a worker
killed mid-task loses nothing); a batch whose task is lost three times, or whose worker
reports an error, is evaluated by the coordinator.  Fitness depends only on the genome and
its episode seeds, so whoever evaluates a batch, the accepted values equal the local run's.
"""
from __future__ import annotations

import enum
import itertools
import math
import queue
import sys
import threading
import time
from typing import Callable

import attrs
import numpy as np

from ezspark._version import __version__
from ezspark.distributed.batch import (BatchReply, BatchRequest, ReplyError, agree,
                                       close_evaluators, evaluate_batch, parse_reply,
                                       play_batch)
from ezspark.evaluation.contract import EvalResult, EvaluationError, Evaluator, Progress
from ezspark.evaluation.local import episode_seeds

__all__ = ["DaskEvaluator", "GenerationRound", "WorkerIdentity", "Role", "Task", "Answer",
           "Check", "COORDINATOR"]

#: Seconds between looks at the cluster while a round waits (tasks stuck on workers that
#: left, a cluster without workers).
WAKE = 0.5

#: Seconds without any worker before the coordinator says it is waiting.
IDLE_MESSAGE = 10.0


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
#: the identity of an answer whose worker Dask can no longer name (who_has failed or the
#: holder left before it was asked): nobody can be held to account for it
UNKNOWN = WorkerIdentity("?", "?")


class Role(enum.Enum):
    """Why a task evaluates its batch (the value appears in the task's Dask key)."""

    PRIMARY = "primary"                          # the first evaluation, by any worker
    CHECK = "check"                              # W2's copy of a checked batch (rule 2)
    CHECK_BY_COORDINATOR = "check-coordinator"   # the check copy when there is no W2
    TIEBREAK = "tiebreak"                        # the coordinator decides a mismatch (4)
    ERROR_BY_COORDINATOR = "error-coordinator"   # a remote worker could not evaluate it


@attrs.frozen
class Answer:
    """One evaluation of a batch: who computed it and what it returned."""

    worker: WorkerIdentity
    reply: BatchReply


@attrs.frozen
class Check:
    """A checked batch (rules 2 and 3): W1's answer, the second one, and the verdict."""

    batch: int
    first: Answer
    second: Answer
    agree: bool


@attrs.frozen
class Task:
    """A batch sent out for evaluation, and what its answer is for."""

    batch: int
    role: Role
    on_coordinator: bool = False         # only the coordinator may evaluate it
    attempt: int = 0                     # earlier tries that were lost
    first: Answer | None = None          # CHECK, CHECK_BY_COORDINATOR: the answer checked
    check: Check | None = None           # TIEBREAK: the comparison that disagreed
    suspect: WorkerIdentity | None = None    # ERROR_BY_COORDINATOR: the worker that failed
    failure: str = ""                        # ... and what it said (or how it was lost)
    allowed: tuple | None = None         # addresses of the workers it may run on (None: any)

    @property
    def w1(self) -> WorkerIdentity | None:
        """The remote worker whose answer this task is about (None for PRIMARY)."""
        if self.first is not None:
            return self.first.worker
        if self.check is not None:
            return self.check.first.worker
        return self.suspect


class Completions:
    """The futures of a round in the order they finish, with a wake-up every ``wake`` s.

    Dask's ``as_completed`` blocks until a future finishes, but a round must also wake
    when none does (its tasks wait for workers that left, or there is no worker at all).
    A daemon thread drains ``as_completed`` into a queue that the round reads with a
    timeout; the thread ends whenever nothing is pending and starts again on ``add``.
    """

    def __init__(self, client, wake: float = WAKE):
        # Dask is optional: the package imports without it, a round needs it
        from distributed import as_completed

        self.pending = as_completed(loop=client.loop)
        self.finished: queue.Queue = queue.Queue()
        self.wake = wake
        self._lock = threading.Lock()
        self._draining = False

    def add(self, future) -> None:
        with self._lock:
            self.pending.add(future)
            if not self._draining:
                self._draining = True
                threading.Thread(target=self._drain, daemon=True,
                                 name="ezspark-completions").start()

    def _drain(self) -> None:
        while True:
            try:
                future = next(self.pending)
            except StopIteration:
                with self._lock:            # ``add`` may have come in since
                    if self.pending.is_empty():
                        self._draining = False
                        return
                continue
            self.finished.put(future)

    def next_batch(self) -> list:
        """The futures finished since the last call; [] after ``wake`` s without any."""
        try:
            batch = [self.finished.get(timeout=self.wake)]
        except queue.Empty:
            return []
        while not self.finished.empty():
            batch.append(self.finished.get_nowait())
        return batch


class GenerationRound:
    """One generation's evaluation on the cluster, until every batch has an accepted answer.

    Holds the generation's state: the requests, the u of each batch, the accepted answers,
    which batches each remote worker returned or confirmed, the tasks in flight (one
    :class:`Task` per Dask future) and the checks made.  Every batch not yet accepted has
    a task in flight, or is being evaluated in this process.
    """

    def __init__(self, evaluator: "DaskEvaluator", programs, seed: int, generation: int,
                 progress: Progress | None = None):
        self.ev, self.cluster, self.k = evaluator, evaluator.cluster, generation
        n = len(programs)
        self.bounds = list(range(0, n, evaluator.per_task)) + [n]
        count = len(self.bounds) - 1
        self.u = evaluator.verification.random(count)                          # rule 1
        seeds = episode_seeds(seed, generation, np.arange(n),
                              evaluator.cfg.max_number_of_games)
        self.requests = [evaluator.request(programs, seeds, generation, lo, hi)
                         for lo, hi in zip(self.bounds, self.bounds[1:])]
        self.accepted: list[BatchReply | None] = [None] * count
        self.vouched: dict[str, set[int]] = {}   # identity key -> batches it vouched for
        self.tasks: dict = {}                     # Dask future -> Task
        self.checks: list[Check] = []
        self.excluded = 0                         # workers excluded in this round
        self.done = 0                             # genomes with an accepted fitness
        self.progress = progress
        self.serial = itertools.count(1)
        self.completions = Completions(evaluator.client)

    def size(self, b: int) -> int:
        return self.bounds[b + 1] - self.bounds[b]

    # -- the round ---------------------------------------------------------------------
    def run(self) -> EvalResult:
        try:
            for b in range(len(self.requests)):
                self.submit(Task(b, Role.PRIMARY))
            looked = time.monotonic()
            while self.tasks:
                self.collect(self.completions.next_batch())
                if time.monotonic() - looked >= WAKE:
                    self.unstick()
                    looked = time.monotonic()
        finally:
            self.cancel_pending()
        return self.result()

    def result(self) -> EvalResult:
        missing = [b for b, a in enumerate(self.accepted) if a is None]
        if missing:                                  # a bug, not a worker's doing
            raise RuntimeError(f"generation {self.k}: batches {missing} were never accepted")
        got = self.accepted
        fitness = np.concatenate([a.fitness for a in got]) if got else np.zeros(0)
        steps = (np.concatenate([a.env_steps for a in got]) if got
                 else np.zeros(0, dtype=np.int64))
        return EvalResult(fitness, steps, sum(a.reward_violations for a in got),
                          min((a.min_reward for a in got), default=math.inf),
                          checks=len(self.checks),
                          mismatches=sum(not c.agree for c in self.checks),
                          excluded=self.excluded)

    def cancel_pending(self) -> None:
        """After an error: nobody will read these tasks' answers."""
        if self.tasks:
            try:
                self.ev.client.cancel(list(self.tasks))
            except Exception:       # the client is closing too; the error raised matters
                pass
            self.tasks.clear()

    # -- sending tasks -----------------------------------------------------------------
    def submit(self, task: Task) -> None:
        """Send ``task`` to a worker allowed to evaluate it, or evaluate it here."""
        if task.on_coordinator:
            allowed = self.cluster.coordinator_workers()
            if not allowed:                       # no Dask workers of our own: here
                self.handle(task, COORDINATOR, play_batch(self.requests[task.batch]))
                return
        elif task.role is Role.CHECK:
            allowed = [a for a, ident in self.cluster.remote_workers().items()
                       if ident.differs(task.first.worker) and not self.ev.is_excluded(ident)]
            if not allowed:                       # rule 2: no such worker
                self.submit(Task(task.batch, Role.CHECK_BY_COORDINATOR, on_coordinator=True,
                                 first=task.first))
                return
        else:
            allowed = None
        key = f"{self.ev.tag}-k{self.k}-b{task.batch}-{task.role.value}-{next(self.serial)}"
        future = self.ev.client.submit(evaluate_batch, self.requests[task.batch], key=key,
                                       pure=False, workers=allowed, allow_other_workers=False,
                                       priority=10 if task.on_coordinator else 0)
        self.tasks[future] = attrs.evolve(
            task, allowed=tuple(allowed) if allowed is not None else None)
        self.completions.add(future)

    def unstick(self) -> None:
        """Tasks restricted to workers that have all left would wait forever: send them
        again (a check goes to another W2, or to the coordinator)."""
        live = set(self.cluster.live_workers())
        self.ev.note_workers(bool(live))
        stuck = [(f, t) for f, t in self.tasks.items()
                 if t.allowed is not None and not live.intersection(t.allowed)]
        for future, task in stuck:
            del self.tasks[future]
            future.cancel()
            self.submit(attrs.evolve(task, allowed=None))

    # -- answers -----------------------------------------------------------------------
    def collect(self, finished: list) -> None:
        """Apply the answers of finished futures (those cancelled by ``unstick`` were
        replaced already)."""
        finished = [f for f in finished if f in self.tasks]
        owners = self.cluster.identities_of([f for f in finished if f.status == "finished"])
        for future in finished:
            task = self.tasks.pop(future)
            try:
                data = future.result()
            except Exception as exc:                 # lost worker, cancelled, killed
                future.release()
                self.lost(task, exc)
                continue
            ident = owners.get(future.key) or self.cluster.identity_of(future)
            future.release()
            try:
                reply = parse_reply(data, self.size(task.batch))
            except ReplyError as exc:
                reply = exc
            self.handle(task, ident, reply)

    def lost(self, task: Task, exc: Exception) -> None:
        """Dask could not get an answer for ``task``: try again, the third time on the
        coordinator."""
        attempt = task.attempt + 1
        if attempt < self.ev.max_attempts:
            self.submit(attrs.evolve(task, attempt=attempt, allowed=None))
        elif task.role is Role.PRIMARY:
            self.submit(Task(task.batch, Role.ERROR_BY_COORDINATOR, on_coordinator=True,
                             attempt=attempt, failure=f"{type(exc).__name__}: {exc}"))
        else:
            self.submit(attrs.evolve(task, on_coordinator=True, attempt=attempt,
                                     allowed=None))

    def handle(self, task: Task, ident: WorkerIdentity, reply) -> None:
        """``ident`` answered ``task`` with ``reply`` (a BatchReply or a ReplyError)."""
        b = task.batch
        if self.ev.is_excluded(ident):              # a late answer from an excluded worker
            if task.role is Role.PRIMARY:
                self.submit(Task(b, Role.PRIMARY))
            elif task.role is Role.CHECK:
                self.submit(Task(b, Role.CHECK_BY_COORDINATOR, on_coordinator=True,
                                 first=task.first))
            else:
                self.submit(attrs.evolve(task, allowed=None))
            return
        if isinstance(reply, ReplyError):
            self.failed(task, ident, reply)
            return
        if ident == UNKNOWN and task.role in (Role.PRIMARY, Role.CHECK):
            # an answer nobody vouches for is never accepted, nor taken as a check: a
            # lie in it could not be traced back to its worker when that worker is
            # excluded; the coordinator evaluates the batch and compares
            first = Answer(ident, reply) if task.role is Role.PRIMARY else task.first
            self.submit(Task(b, Role.CHECK_BY_COORDINATOR, on_coordinator=True, first=first))
            return
        if task.role is not Role.PRIMARY and task.w1 is not None \
                and self.ev.is_excluded(task.w1):
            self.submit(Task(b, Role.PRIMARY))        # W1 was excluded meanwhile
            return
        answer = Answer(ident, reply)
        if task.role is Role.PRIMARY:
            self.on_primary(task, answer)
        elif task.role is Role.CHECK:
            self.on_check(task, answer)
        elif task.role is Role.CHECK_BY_COORDINATOR:
            self.on_check_by_coordinator(task, answer)
        elif task.role is Role.TIEBREAK:
            self.on_tiebreak(task, answer)
        else:
            self.accept(b, answer.reply, answer.worker)
            self.exclude(task.suspect, f"it could not evaluate batch {b}: {task.failure}")

    def failed(self, task: Task, ident: WorkerIdentity, error: ReplyError) -> None:
        """The batch could not be evaluated, or the reply is malformed."""
        if ident.trusted:                # as a local run would fail: the same message
            text = str(error)
            for prefix in ("EvaluationError: ", "EnvError: "):
                text = text.removeprefix(prefix)
            raise EvaluationError(text)
        # a remote worker failed or answered garbage: the coordinator decides
        self.submit(Task(task.batch, Role.ERROR_BY_COORDINATOR, on_coordinator=True,
                         suspect=ident, failure=str(error)))

    def on_primary(self, task: Task, answer: Answer) -> None:
        if not answer.worker.trusted and self.u[task.batch] < self.ev.safeness:
            self.submit(Task(task.batch, Role.CHECK, first=answer))           # rule 2
        else:
            self.accept(task.batch, answer.reply, answer.worker)

    def on_check(self, task: Task, answer: Answer) -> None:
        check = self.compare(task, answer)                                     # rule 3
        if check.agree:
            self.accept(task.batch, task.first.reply, task.first.worker, answer.worker)
        else:
            self.submit(Task(task.batch, Role.TIEBREAK, on_coordinator=True, check=check))

    def on_check_by_coordinator(self, task: Task, answer: Answer) -> None:
        check = self.compare(task, answer)
        self.accept(task.batch, answer.reply, answer.worker)
        if not check.agree:
            self.exclude(task.first.worker, f"its fitness values for batch {task.batch} "
                                            "differ from the coordinator's")

    def on_tiebreak(self, task: Task, answer: Answer) -> None:
        self.accept(task.batch, answer.reply, answer.worker)                   # rule 4
        for other in (task.check.first, task.check.second):
            if not agree(other.reply.fitness, answer.reply.fitness):
                self.exclude(other.worker, f"its fitness values for batch {task.batch} "
                                           "differ from the coordinator's")

    def compare(self, task: Task, answer: Answer) -> Check:
        check = Check(task.batch, task.first, answer,
                      agree(task.first.reply.fitness, answer.reply.fitness))
        self.checks.append(check)
        return check

    def accept(self, b: int, reply: BatchReply, *by: WorkerIdentity) -> None:
        """``reply`` is batch ``b``'s result; the remote workers ``by`` vouch for it."""
        if self.accepted[b] is None:
            self.done += self.size(b)
        self.accepted[b] = reply
        for ident in by:
            if not ident.trusted:
                self.vouched.setdefault(ident.key, set()).add(b)
        if self.progress is not None:
            self.progress(self.done)

    def exclude(self, ident: WorkerIdentity | None, why: str) -> None:
        """Rule 4: no more batches for ``ident``; what it vouched for is evaluated again."""
        if ident is None or ident == UNKNOWN or ident.trusted or self.ev.is_excluded(ident):
            return                  # (None: a batch lost three times, nobody to blame)
        self.ev.exclude(ident)
        self.excluded += 1
        again = sorted(self.vouched.pop(ident.key, ()))
        self.ev.log(f"excluded worker {ident.key} (generation {self.k}): {why}; "
                    f"{len(again)} of its batches are evaluated again")
        for b in again:
            if self.accepted[b] is not None:
                self.done -= self.size(b)
                self.accepted[b] = None
                self.submit(Task(b, Role.PRIMARY))


class DaskEvaluator(Evaluator):
    """Evaluates generations on a Dask cluster (see the module docstring).

    ``cluster`` is a :class:`~ezspark.distributed.cluster.ServedCluster` or
    :class:`~ezspark.distributed.cluster.ExternalCluster`.  Batches the coordinator
    evaluates run on its own Dask workers, or in this process when it has none.
    ``verification`` is the run's verification stream (docs/algorithm.md section 1.2);
    ``excluded`` the identity keys excluded earlier in the run.
    """

    max_attempts = 3

    def __init__(self, cfg, info, cluster, *, verification: np.random.Generator,
                 excluded=(), log: Callable[[str], None] | None = None,
                 run_tag: str = "ezspark"):
        self.cfg, self.info, self.cluster = cfg, info, cluster
        self.client = cluster.client
        self.verification = verification
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.tag = run_tag
        self.safeness = float(cfg.safeness)
        self.per_task = int(cfg.genomes_per_task)
        self._excluded: set[str] = set(excluded)
        for key in self._excluded:
            cluster.ban(key)
        self._idle_since: float | None = None
        self._idle_said = False

    @property
    def excluded(self) -> frozenset:
        """Identity keys of the workers excluded so far."""
        return frozenset(self._excluded)

    def is_excluded(self, ident: WorkerIdentity) -> bool:
        return ident.key in self._excluded

    def exclude(self, ident: WorkerIdentity) -> None:
        self._excluded.add(ident.key)
        self.cluster.ban(ident.key)       # closed now, refused if it comes back

    def request(self, programs, seeds, k: int, lo: int, hi: int) -> BatchRequest:
        info, cfg = self.info, self.cfg
        return BatchRequest(generation=k, first=lo,
                            programs=programs.subset(np.arange(lo, hi)), seeds=seeds[lo:hi],
                            env_id=info.env_id, input_size=info.input_size,
                            output_size=info.output_size, action_start=info.action_start,
                            games=cfg.max_number_of_games,
                            max_steps=cfg.max_number_of_steps, sub_games=cfg.sub_games,
                            minimum_reward=cfg.minimum_reward, version=__version__)

    def evaluate(self, programs, seed: int, generation: int,
                 progress: Progress | None = None) -> EvalResult:
        return GenerationRound(self, programs, seed, generation, progress).run()

    def note_workers(self, any_live: bool) -> None:
        """Say once when the cluster has had no worker at all for a while."""
        now = time.monotonic()
        if any_live:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since > IDLE_MESSAGE and not self._idle_said:
            self._idle_said = True
            self.log(f"waiting: the Dask cluster at {self.cluster.address} has no workers "
                     "(the generation continues when one joins)")

    def close(self) -> None:
        close_evaluators()          # environments of batches evaluated in this process
