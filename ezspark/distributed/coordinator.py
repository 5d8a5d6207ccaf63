"""The coordinator's side of a distributed run: batches on Dask, and ``safeness``.

:class:`DaskEvaluator` evaluates each generation as one :class:`GenerationRound`: the
generation's batches of ``genomes_per_task`` genomes (docs/algorithm.md section 7.1), sent
to a Dask scheduler as tasks, with the rules of section 7.2:

1. one u per batch, in batch order, from the run's verification stream, drawn when the
   round starts;
2. a batch first evaluated by a remote worker W1 is **checked** when its u is below W1's
   checking probability (``safeness``, or with ``trusted_after`` the adaptive rule of
   :mod:`ezspark.distributed.trust`): it is evaluated again by a worker W2 that differs
   from W1 in credentials and in machine, or by the coordinator when there is no such
   worker;
3. results agree within a relative tolerance of 1e-6 (floor 1e-9);
4. on disagreement the coordinator evaluates the batch, its result is accepted, every
   worker that disagrees with it is excluded (no more batches, refused if it reconnects),
   and every batch of the generation it returned or confirmed is evaluated again.

Batches evaluated by the coordinator (its own Dask workers, which hold the coordinator's
certificate, or this process) are trusted.  Lost batches are re-run by Dask (a worker
killed mid-task loses nothing); a batch whose task is lost three times, or whose worker
reports an error, is evaluated by the coordinator.  When the generation's last batches are
out and workers are idle, they are sent to idle workers too: the first answer is used, a
later one is compared with it (a check), so a slow worker holds nobody up.  Fitness depends
only on the genome and its episode seeds, so whoever evaluates a batch, the accepted values
equal the local run's.
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
from ezspark.distributed.trust import Verification
from ezspark.evaluation.contract import EvalResult, EvaluationError, Evaluator, Progress
from ezspark.evaluation.local import episode_seeds

__all__ = ["DaskEvaluator", "GenerationRound", "WorkerIdentity", "Role", "Task", "Answer",
           "Check", "COORDINATOR"]

#: Seconds between looks at the cluster while a round waits (tasks stuck on workers that
#: left, a cluster without workers).
WAKE = 0.5

#: Seconds between two looks for idle workers while a round's last batches are out.
SPECULATE_EVERY = 0.2

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
    copy: bool = False                   # a copy given to an idle worker (no straggler wait)
    sent: float = 0.0                    # time.monotonic() when it was sent


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

    Each batch b is in one of four states:

    - **open**: no usable answer yet; a task evaluates it;
    - **checking**: its first remote answer ``first[b]`` waits for a second evaluation
      (rule 2);
    - **judged**: two answers disagreed; the coordinator evaluates it and judges every
      answer in ``judging[b]`` (rule 4);
    - **accepted**: ``accepted[b]`` holds its values and ``answer[b]`` who gave them.

    Answers are taken as they come, whatever task they belong to: the first usable answer
    of an open batch is the one used (checked or accepted by the rule in force), a later
    one is compared with it and counts as a check.  When the generation's last batches are
    out and workers are idle, those batches are also sent to idle workers (``speculate``),
    so a slow or vanished worker does not hold the generation up; the round ends when every
    batch is accepted, and the copies still running then are cancelled.
    """

    def __init__(self, evaluator: "DaskEvaluator", programs, seed: int, generation: int,
                 progress: Progress | None = None):
        self.ev, self.cluster, self.k = evaluator, evaluator.cluster, generation
        self.trust = evaluator.trust
        n = len(programs)
        self.bounds = list(range(0, n, evaluator.per_task)) + [n]
        count = len(self.bounds) - 1
        self.u = evaluator.verification.random(count)                          # rule 1
        seeds = episode_seeds(seed, generation, np.arange(n),
                              evaluator.cfg.max_number_of_games)
        self.requests = [evaluator.request(programs, seeds, generation, lo, hi)
                         for lo, hi in zip(self.bounds, self.bounds[1:])]
        self.accepted: list[BatchReply | None] = [None] * count
        self.answer: list[Answer | None] = [None] * count   # who gave the accepted values
        self.first: list[Answer | None] = [None] * count    # an answer waiting for its check
        self.judging: dict[int, list[Answer]] = {}           # batch -> answers to judge
        self.vouched: dict[str, set[int]] = {}   # identity key -> batches it vouched for
        self.tasks: dict = {}                     # Dask future -> Task
        self.flight: dict[int, dict] = {}         # batch -> {Dask future: Task}
        self.parked: list[Task] = []              # tasks no connected worker may run now
        self.view: dict = {}                      # address -> (identity, threads)
        self.slots = 0                            # threads of the connected workers
        self.shunned: set[str] = set()            # addresses of excluded workers still here
        self.checks: list[Check] = []
        self.excluded = 0                         # workers excluded in this round
        self.copies = 0                           # copies sent to idle workers
        self.copy_wins: set[int] = set()          # batches accepted from such a copy
        self.sent = 0                             # tasks sent to Dask
        self.looked_idle = 0.0                    # when ``speculate`` last asked Dask
        self.done = 0                             # genomes with an accepted fitness
        self.progress = progress
        self.serial = itertools.count(1)
        self.completions = Completions(evaluator.client)

    def size(self, b: int) -> int:
        return self.bounds[b + 1] - self.bounds[b]

    # -- the round ---------------------------------------------------------------------
    def run(self) -> EvalResult:
        try:
            self.look()
            for b in range(len(self.requests)):
                self.submit(Task(b, Role.PRIMARY))
            looked = time.monotonic()
            while any(a is None for a in self.accepted):
                if not self.tasks and not self.parked:     # a bug, not a worker's doing
                    raise RuntimeError(f"generation {self.k}: batches are left with no "
                                       "task to evaluate them")
                self.collect(self.completions.next_batch())
                if time.monotonic() - looked >= WAKE:
                    self.look()
                    self.unstick()
                    looked = time.monotonic()
                self.speculate()
        finally:
            self.cancel_pending()
        self.ev.note_round(self)
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
        """When the round ends: nobody will read these tasks' answers (copies still
        running on slow workers, or everything after an error)."""
        if self.tasks:
            try:
                self.ev.client.cancel(list(self.tasks))
            except Exception:       # the client is closing too; the error raised matters
                pass
            self.tasks.clear()
            self.flight.clear()
        self.parked.clear()

    # -- the cluster as the round sees it ----------------------------------------------
    def look(self) -> None:
        """Refresh the view of the connected workers (at the start and every ``WAKE`` s),
        and send the parked tasks that a worker may run now."""
        try:
            self.view = self.cluster.snapshot()
        except Exception:               # the scheduler is busy or closing: keep the last
            pass
        self.slots = sum(threads for _, threads in self.view.values())
        self.shunned = {a for a, (ident, _) in self.view.items() if self.ev.is_excluded(ident)}
        self.ev.note_workers(bool(set(self.view) - self.shunned))
        parked, self.parked = self.parked, []
        for task in parked:
            self.submit(task)

    # -- sending tasks -----------------------------------------------------------------
    def submit(self, task: Task) -> None:
        """Send ``task`` to a worker allowed to evaluate it, or evaluate it here."""
        task = attrs.evolve(task, sent=time.monotonic())
        if task.copy and task.allowed:                # sent to an idle worker it names
            allowed = list(task.allowed)
        elif task.on_coordinator:
            allowed = [a for a, (ident, _) in self.view.items() if ident.trusted]
            if not allowed:                       # no Dask workers of our own: here
                self.handle(task, COORDINATOR, play_batch(self.requests[task.batch]))
                return
        elif task.role is Role.CHECK:
            allowed = [a for a, (ident, _) in self.view.items()
                       if not ident.trusted and ident.differs(task.first.worker)
                       and not self.ev.is_excluded(ident)]
            if not allowed:                       # rule 2: no such worker
                self.submit(Task(task.batch, Role.CHECK_BY_COORDINATOR, on_coordinator=True,
                                 first=task.first))
                return
        elif self.shunned:
            # excluded workers are still connected (an external cluster retires them
            # slowly): a batch must not go back to them
            allowed = [a for a in self.view if a not in self.shunned]
            if not allowed:
                self.parked.append(attrs.evolve(task, allowed=None))
                return
        else:
            allowed = None
        role = task.role.value + ("-copy" if task.copy else "")
        key = f"{self.ev.tag}-k{self.k}-b{task.batch}-{role}-{next(self.serial)}"
        future = self.ev.client.submit(evaluate_batch, self.requests[task.batch], key=key,
                                       pure=False, workers=allowed, allow_other_workers=False,
                                       priority=self.priority(task))
        task = attrs.evolve(task, allowed=tuple(allowed) if allowed is not None else None)
        self.tasks[future] = task
        self.flight.setdefault(task.batch, {})[future] = task
        self.sent += 1
        self.completions.add(future)

    @staticmethod
    def priority(task: Task) -> int:
        """Dask runs higher priorities first.  The coordinator's own tasks settle disputes;
        a check holds back a batch already evaluated, so it goes before the first
        evaluations still queued instead of after them all, where every check would
        lengthen the generation by a task (docs/distributed.md, "What verification costs")."""
        if task.on_coordinator:
            return 10
        return 5 if task.role is Role.CHECK else 0

    def forget(self, future) -> Task:
        task = self.tasks.pop(future)
        flight = self.flight.get(task.batch)
        if flight is not None:
            flight.pop(future, None)
            if not flight:
                del self.flight[task.batch]
        return task

    def unstick(self) -> None:
        """Tasks restricted to workers that have all left would wait forever: send them
        again (a check goes to another W2, or to the coordinator)."""
        live = set(self.view)
        stuck = [f for f, t in self.tasks.items()
                 if t.allowed is not None and not live.intersection(t.allowed)]
        for future in stuck:
            task = self.forget(future)
            future.cancel()
            self.submit(attrs.evolve(task, allowed=None))

    def speculate(self) -> None:
        """No waiting on stragglers: when the generation's last batches are out (at most
        two tasks per worker thread) and workers are idle, give those batches to the idle
        workers too, the longest out first, at most two copies of a batch at a time.  The
        first answer is used; a later one is compared with it (a check)."""
        now = time.monotonic()
        if len(self.tasks) > 2 * max(self.slots, 1) or now - self.looked_idle < SPECULATE_EVERY:
            return
        self.looked_idle = now
        waiting = []
        for b, flight in self.flight.items():
            if len(flight) != 1 or self.accepted[b] is not None or b in self.judging:
                continue
            ((future, task),) = flight.items()
            if not task.on_coordinator:
                waiting.append((task.sent, b, future.key))
        if not waiting:
            return
        try:
            busy = self.cluster.busy()
        except Exception:           # the scheduler is busy or closing: next time
            return
        holder = {key: a for a, keys in busy.items() for key in keys}
        idle = [a for a, (ident, threads) in self.view.items()
                if len(busy.get(a, ())) < threads and a not in self.shunned
                and not self.ev.is_excluded(ident)]
        for _, b, key in sorted(waiting):
            if key not in holder:       # finished (its answer is on its way) or queued
                continue
            first = self.first[b]
            fits = [a for a in idle if a != holder[key] and (
                first is None or self.view[a][0].trusted
                or self.view[a][0].differs(first.worker))]
            if not fits:
                continue
            idle.remove(fits[0])
            self.copies += 1
            self.submit(Task(b, Role.CHECK if first is not None else Role.PRIMARY,
                             first=first, copy=True, allowed=(fits[0],)))
            if not idle:
                return

    def ensure(self, b: int) -> None:
        """Keep the invariant: a batch not accepted has a task that can settle it."""
        if self.accepted[b] is not None:
            return
        pending = list(self.flight.get(b, {}).values())
        pending += [t for t in self.parked if t.batch == b]
        if b in self.judging:
            if not any(t.role is Role.TIEBREAK for t in pending):
                self.submit(Task(b, Role.TIEBREAK, on_coordinator=True))
        elif self.first[b] is not None:
            if not any(t.role in (Role.CHECK, Role.CHECK_BY_COORDINATOR)
                       and t.first is self.first[b] for t in pending):
                self.submit(Task(b, Role.CHECK, first=self.first[b]))
        elif not pending:
            self.submit(Task(b, Role.PRIMARY))

    # -- answers -----------------------------------------------------------------------
    def collect(self, finished: list) -> None:
        """Apply the answers of finished futures (those cancelled by ``unstick`` were
        replaced already)."""
        finished = [f for f in finished if f in self.tasks]
        owners = self.cluster.identities_of([f for f in finished if f.status == "finished"])
        for future in finished:
            if future not in self.tasks:         # settled meanwhile and cancelled
                continue
            task = self.forget(future)
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
        coordinator (unless the batch was settled, or another task still serves it)."""
        b = task.batch
        if self.accepted[b] is not None or (task.copy and b in self.flight):
            return
        attempt = task.attempt + 1
        if attempt < self.ev.max_attempts:
            self.submit(attrs.evolve(task, attempt=attempt, allowed=None))
        elif task.role is Role.PRIMARY:
            self.submit(Task(b, Role.ERROR_BY_COORDINATOR, on_coordinator=True,
                             attempt=attempt, failure=f"{type(exc).__name__}: {exc}"))
        else:
            self.submit(attrs.evolve(task, on_coordinator=True, attempt=attempt,
                                     allowed=None))

    def handle(self, task: Task, ident: WorkerIdentity, reply) -> None:
        """``ident`` answered ``task`` with ``reply`` (a BatchReply or a ReplyError)."""
        b = task.batch
        if self.ev.is_excluded(ident):              # a late answer from an excluded worker
            self.ensure(b)
            return
        if isinstance(reply, ReplyError):
            self.failed(task, ident, reply)
            return
        if task.on_coordinator and not ident.trusted:
            ident = COORDINATOR              # only the coordinator's workers may run it
        answer = Answer(ident, reply)
        fresh = self.accepted[b] is None
        if task.role is Role.ERROR_BY_COORDINATOR:
            self.exclude(task.suspect, f"it could not evaluate batch {b}: {task.failure}")
        if ident.trusted:
            self.on_trusted(b, answer)
        else:
            self.on_remote(b, answer)
        if fresh and task.copy and self.answer[b] is answer:
            self.copy_wins.add(b)
        self.ensure(b)

    def failed(self, task: Task, ident: WorkerIdentity, error: ReplyError) -> None:
        """The batch could not be evaluated, or the reply is malformed."""
        if ident.trusted or task.on_coordinator:   # as a local run would fail: same message
            text = str(error)
            for prefix in ("EvaluationError: ", "EnvError: "):
                text = text.removeprefix(prefix)
            raise EvaluationError(text)
        # a remote worker failed or answered garbage: the coordinator decides
        self.submit(Task(task.batch, Role.ERROR_BY_COORDINATOR, on_coordinator=True,
                         suspect=ident, failure=str(error)))

    def on_trusted(self, b: int, answer: Answer) -> None:
        """An answer of the coordinator (or its workers) settles batch ``b``."""
        if b in self.judging or self.first[b] is not None:
            suspects = []
            if self.first[b] is not None:
                suspects.append(self.first[b])
                self.compare(b, self.first[b], answer)
            self.settle(b, answer, suspects)
        elif self.accepted[b] is not None:
            self.second_opinion(b, answer)
        else:
            self.accept(b, answer)

    def on_remote(self, b: int, answer: Answer) -> None:
        """A remote worker's answer to batch ``b`` (a first evaluation, a check or a copy)."""
        if answer.worker == UNKNOWN:
            # an answer nobody vouches for is never accepted, nor taken as a check: a lie
            # in it could not be traced back to its worker when that worker is excluded;
            # for an open batch the coordinator evaluates it and compares
            if self.accepted[b] is None and b not in self.judging and self.first[b] is None:
                self.first[b] = answer
                self.submit(Task(b, Role.CHECK_BY_COORDINATOR, on_coordinator=True,
                                 first=answer))
            return
        if b in self.judging:                    # the coordinator judges this one too
            self.judging[b].append(answer)
        elif self.accepted[b] is not None:       # a late copy: a second opinion
            self.second_opinion(b, answer)
        elif self.first[b] is not None:          # the second evaluation of a checked batch
            self.on_check(b, answer)
        elif self.trust.decide(answer.worker.key, self.u[b]):                  # rule 2
            self.first[b] = answer
            self.submit(Task(b, Role.CHECK, first=answer))
        else:
            self.accept(b, answer)

    def on_check(self, b: int, answer: Answer) -> None:
        """A remote ``answer`` for a batch whose first answer waits for its check."""
        first = self.first[b]
        check = self.compare(b, first, answer)                                 # rule 3
        if not check.agree:
            self.first[b] = None
            self.judging[b] = [first, answer]
            self.submit(Task(b, Role.TIEBREAK, on_coordinator=True, check=check))
        elif answer.worker.differs(first.worker):   # a second opinion that counts
            self.first[b] = None
            self.trust.confirmed(first.worker.key)
            self.trust.confirmed(answer.worker.key)
            self.accept(b, first, answer.worker)
        # else the same credentials or machine agreed with itself: the check goes on

    def second_opinion(self, b: int, answer: Answer) -> None:
        """Another answer for an accepted batch: compared, and a mismatch is decided."""
        held = self.answer[b]
        check = self.compare(b, held, answer)
        if check.agree:
            if held.worker.trusted or answer.worker.trusted \
                    or answer.worker.differs(held.worker):
                for a in (held, answer):
                    if not a.worker.trusted:
                        self.trust.confirmed(a.worker.key)
        elif held.worker.trusted:
            self.exclude(answer.worker, f"its fitness values for batch {b} differ from "
                                        "the coordinator's")
        elif answer.worker.trusted:                 # the values accepted were wrong
            self.settle(b, answer, [held])
        else:                                       # rule 4: the coordinator decides
            self.unaccept(b)
            self.judging[b] = [held, answer]
            self.submit(Task(b, Role.TIEBREAK, on_coordinator=True, check=check))

    def settle(self, b: int, truth: Answer, suspects: list[Answer]) -> None:
        """The coordinator's ``truth`` for batch ``b`` is accepted; every other answer
        judged against it: confirmed if it agrees, its worker excluded if not (rule 4)."""
        judged = suspects + self.judging.pop(b, [])
        self.first[b] = None
        for batches in self.vouched.values():
            batches.discard(b)
        self.accept(b, truth)
        for other in judged:
            if other.worker.trusted or other.worker == UNKNOWN:
                continue
            if agree(other.reply.fitness, truth.reply.fitness):
                self.trust.confirmed(other.worker.key)
            else:
                self.exclude(other.worker, f"its fitness values for batch {b} differ from "
                                           "the coordinator's")

    def compare(self, b: int, first: Answer, second: Answer) -> Check:
        check = Check(b, first, second, agree(first.reply.fitness, second.reply.fitness))
        self.checks.append(check)
        return check

    def accept(self, b: int, answer: Answer, *confirmed_by: WorkerIdentity) -> None:
        """``answer`` gives batch ``b``'s values; its remote worker and ``confirmed_by``
        vouch for them."""
        if self.accepted[b] is None:
            self.done += self.size(b)
        self.accepted[b] = answer.reply
        self.answer[b] = answer
        for ident in (answer.worker, *confirmed_by):
            if not ident.trusted and ident != UNKNOWN:
                self.vouched.setdefault(ident.key, set()).add(b)
        if self.progress is not None:
            self.progress(self.done)

    def unaccept(self, b: int) -> None:
        if self.accepted[b] is not None:
            self.done -= self.size(b)
        self.accepted[b] = None
        self.answer[b] = None
        for batches in self.vouched.values():
            batches.discard(b)

    def exclude(self, ident: WorkerIdentity | None, why: str) -> None:
        """Rule 4: no more batches for ``ident``; what it vouched for is evaluated again."""
        if ident is None or ident == UNKNOWN or ident.trusted or self.ev.is_excluded(ident):
            return                  # (None: a batch lost three times, nobody to blame)
        tainted = self.tainted(ident.key)
        self.ev.exclude(ident)       # retiring its workers moves their results elsewhere
        self.excluded += 1
        self.shunned |= {a for a, (who, _) in self.view.items() if who.key == ident.key}
        again = sorted(self.vouched.pop(ident.key, ()))
        self.ev.log(f"excluded worker {ident.key} (generation {self.k}): {why}; "
                    f"{len(again)} of its batches are evaluated again")
        waiting = [b for b, a in enumerate(self.first)
                   if a is not None and a.worker.key == ident.key]
        for b in again:
            self.unaccept(b)
        for b in waiting:
            self.first[b] = None
        dropped = []
        for future in tainted:
            if future in self.tasks:
                dropped.append(self.forget(future).batch)
                future.cancel()
        for b in again + waiting + dropped:
            self.ensure(b)

    def tainted(self, key: str) -> list:
        """The tasks in flight that a worker of identity ``key`` holds the result of or
        runs.  Once that worker is retired Dask moves its results to other workers, whose
        identity a result would then carry: they must be dropped, not collected."""
        futures = list(self.tasks)
        holders = self.cluster.identities_of(futures)
        try:
            busy = self.cluster.busy()
        except Exception:           # the scheduler is busy or closing: the holders suffice
            busy = {}
        running = {k for a, keys in busy.items()
                   if self.cluster.identity_at(a).key == key for k in keys}
        return [f for f in futures if f.key in running
                or (holders.get(f.key, UNKNOWN) != UNKNOWN and holders[f.key].key == key)]


class DaskEvaluator(Evaluator):
    """Evaluates generations on a Dask cluster (see the module docstring).

    ``cluster`` is a :class:`~ezspark.distributed.cluster.ServedCluster` or
    :class:`~ezspark.distributed.cluster.ExternalCluster`.  Batches the coordinator
    evaluates run on its own Dask workers, or in this process when it has none.
    ``verification`` is the run's verification stream (docs/algorithm.md section 1.2);
    ``excluded`` the identity keys excluded earlier in the run, ``trust`` the verification
    records it had (``Verification.rows``).
    """

    max_attempts = 3

    def __init__(self, cfg, info, cluster, *, verification: np.random.Generator,
                 excluded=(), trust=(), log: Callable[[str], None] | None = None,
                 run_tag: str = "ezspark"):
        self.cfg, self.info, self.cluster = cfg, info, cluster
        self.client = cluster.client
        self.verification = verification
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.tag = run_tag
        self.safeness = float(cfg.safeness)
        self.trust = Verification.from_config(cfg)     # fixed or adaptive (7.2)
        self.trust.restore(trust)
        self.per_task = int(cfg.genomes_per_task)
        #: totals over the rounds so far: tasks sent, copies sent to idle workers, batches
        #: accepted from such a copy, comparisons made
        self.totals = {"tasks": 0, "copies": 0, "copy_wins": 0, "checks": 0}
        self._excluded: set[str] = set(excluded)
        for key in self._excluded:
            cluster.ban(key)
        self._idle_since: float | None = None
        self._idle_said = False

    @property
    def excluded(self) -> frozenset:
        """Identity keys of the workers excluded so far."""
        return frozenset(self._excluded)

    @property
    def trust_records(self) -> tuple:
        """The verification records so far, for the checkpoint."""
        return self.trust.rows()

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

    def note_round(self, round_: GenerationRound) -> None:
        self.totals["tasks"] += round_.sent
        self.totals["copies"] += round_.copies
        self.totals["copy_wins"] += len(round_.copy_wins)
        self.totals["checks"] += len(round_.checks)

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
