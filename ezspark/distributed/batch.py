"""One evaluation task of a distributed run: a batch of genomes, played on a worker.

The coordinator sends a :class:`BatchRequest` (pickled by Dask: workers trust the
coordinator, which they chose to join).  The worker plays the batch exactly as
docs/algorithm.md section 6 says, with the episode seeds it is given (never the run seed,
so it cannot predict which batches are checked, section 7.2), and answers with **plain
bytes** that the coordinator parses with fixed shapes and dtypes: nothing a worker sends is
unpickled.

Reply format (little-endian)::

    b"EZB1" | uint32 header length | header (UTF-8 JSON) | float64[n] fitness | int64[n] steps
    b"EZE1" | UTF-8 error text                      (the batch could not be evaluated)

The JSON header holds ``n``, ``reward_violations``, ``min_reward`` (a number or null for
+inf) and ``worker`` (the worker's address, for messages).
"""
from __future__ import annotations

import contextlib
import json
import math
import struct
import threading

import attrs
import numpy as np

from ezspark._version import __version__
from ezspark.evaluation.envs import EnvInfo
from ezspark.evaluation.local import EnvEvaluator

__all__ = ["BatchRequest", "BatchReply", "ReplyError", "evaluate_batch", "play_batch",
           "close_evaluators", "parse_reply", "agree"]

MAGIC_OK = b"EZB1"
MAGIC_ERROR = b"EZE1"


@attrs.frozen
class BatchRequest:
    """A batch of ``len(programs)`` consecutive genomes, starting at genome ``first``."""

    generation: int
    first: int
    programs: object              # ezspark.network.programs.Programs for the batch
    seeds: np.ndarray             # int64[n, games]: episode seeds e(k, i, g)
    env_id: str
    input_size: int
    output_size: int
    action_start: int
    games: int
    max_steps: int
    sub_games: int
    minimum_reward: float
    version: str                  # the coordinator's ezspark version


@attrs.frozen
class BatchReply:
    fitness: np.ndarray           # float64[n]
    env_steps: np.ndarray         # int64[n]
    reward_violations: int
    min_reward: float
    worker: str


class ReplyError(ValueError):
    """A worker's reply is malformed, or says the batch failed."""


class _Evaluators:
    """The evaluators this process keeps for batches, one per batch being played.

    A worker plays batch after batch of the same run, and making environments is slow, so
    evaluators are kept between batches.  But an :class:`EnvEvaluator` plays on its own
    pool of environments and must never play two batches at once: in one process, batches
    are played concurrently by the threads of a Dask worker with ``nthreads > 1`` and by
    the coordinator (a check it evaluates itself) while an in-process Dask worker plays
    another batch.  Sharing one evaluator there mixes the games of two batches in the same
    environments: wrong fitness, honest workers excluded as liars.  So each batch borrows
    an evaluator nobody else is using (a new one if all are busy) and gives it back.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[EnvEvaluator] = []   # evaluators of ``_settings``, not in use
        self._settings = None                  # the settings of the newest request
        self._epoch = 0                        # bumped by ``close``

    @contextlib.contextmanager
    def borrow(self, req: BatchRequest):
        settings = (req.env_id, req.input_size, req.output_size, req.action_start,
                    req.games, req.max_steps, req.sub_games, req.minimum_reward)
        stale: list[EnvEvaluator] = []
        with self._lock:
            if settings != self._settings:      # another run: drop the old environments
                stale, self._idle, self._settings = self._idle, [], settings
            ev = self._idle.pop() if self._idle else None
            epoch = self._epoch
        for old in stale:
            old.close()
        if ev is None:
            ev = EnvEvaluator(EnvInfo(req.env_id, req.input_size, req.output_size,
                                      req.action_start),
                              games=req.games, max_steps=req.max_steps,
                              sub_games=req.sub_games, minimum_reward=req.minimum_reward)
        try:
            yield ev
        finally:
            with self._lock:
                keep = settings == self._settings and epoch == self._epoch
                if keep:
                    self._idle.append(ev)
            if not keep:                        # closed, or another run's, meanwhile
                ev.close()

    def close(self) -> None:
        """Close the idle evaluators; those in use close when their batch ends."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._epoch += 1
        for ev in idle:
            ev.close()


_evaluators = _Evaluators()


def close_evaluators() -> None:
    """Close the environments this process keeps for batches."""
    _evaluators.close()


def _worker_address() -> str:
    try:
        from distributed import get_worker     # Dask is optional: only workers need it here
        return str(get_worker().address)
    except Exception:   # outside a Dask worker (the coordinator evaluating in-process)
        return "coordinator"


def play_batch(req: BatchRequest, worker: str = "coordinator") -> BatchReply:
    """Evaluate a batch here (docs/algorithm.md section 6, from its episode seeds).  The
    coordinator calls this directly; workers through :func:`evaluate_batch`."""
    n = len(req.programs)
    with _evaluators.borrow(req) as ev:       # this batch's own environments
        result = ev.play(req.programs, req.seeds, generation=req.generation,
                         genome_ids=np.arange(req.first, req.first + n))
    return BatchReply(np.asarray(result.fitness, dtype=np.float64),
                      np.asarray(result.env_steps, dtype=np.int64),
                      int(result.reward_violations), float(result.min_reward), worker)


def evaluate_batch(req: BatchRequest) -> bytes:
    """The task a worker runs.  Never raises: failures come back as an error reply."""
    try:
        if req.version != __version__:
            raise RuntimeError(f"this worker runs ezspark {__version__}, the run needs "
                               f"{req.version}")
        reply = play_batch(req, _worker_address())
        fitness = np.asarray(reply.fitness, dtype="<f8")
        header = json.dumps({"n": len(fitness), "reward_violations": reply.reward_violations,
                             "min_reward": (None if math.isinf(reply.min_reward)
                                            else reply.min_reward),
                             "worker": reply.worker}).encode()
        return (MAGIC_OK + struct.pack("<I", len(header)) + header + fitness.tobytes()
                + np.asarray(reply.env_steps, dtype="<i8").tobytes())
    except Exception as exc:                     # noqa: BLE001 - reported, as plain text
        return MAGIC_ERROR + f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")


def parse_reply(data, n: int) -> BatchReply:
    """Check and decode a worker's reply for a batch of ``n`` genomes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ReplyError(f"the reply is a {type(data).__name__}, not bytes")
    data = bytes(data)
    if data[:4] == MAGIC_ERROR:
        raise ReplyError(data[4:4000].decode("utf-8", "replace"))
    if data[:4] != MAGIC_OK or len(data) < 8:
        raise ReplyError("the reply is not an ezspark batch result")
    (length,) = struct.unpack_from("<I", data, 4)
    end = 8 + length
    if length > 65536 or len(data) != end + 16 * n:
        raise ReplyError(f"the reply has {len(data)} bytes; a batch of {n} genomes needs "
                         f"{end + 16 * n}")
    try:
        header = json.loads(data[8:end].decode("utf-8"))
        assert isinstance(header, dict) and header.get("n") == n
        violations = int(header["reward_violations"])
        low = header["min_reward"]
        low = math.inf if low is None else float(low)
        worker = str(header.get("worker", "?"))[:200]
    except Exception as exc:
        raise ReplyError(f"the reply's header is malformed ({exc!r})") from None
    fitness = np.frombuffer(data, dtype="<f8", count=n, offset=end).astype(np.float64)
    steps = np.frombuffer(data, dtype="<i8", count=n, offset=end + 8 * n).astype(np.int64)
    if not np.isfinite(fitness).all() or (steps < 0).any() or violations < 0:
        raise ReplyError("the reply holds non-finite fitness or negative counts")
    return BatchReply(fitness, steps, violations, low, worker)


def agree(f1: np.ndarray, f2: np.ndarray) -> bool:
    """docs/algorithm.md section 7.2 rule 3: same length and, for every genome,
    |f1 - f2| <= max(1e-6 max(|f1|, |f2|), 1e-9)."""
    if f1.shape != f2.shape:
        return False
    tol = np.maximum(1e-6 * np.maximum(np.abs(f1), np.abs(f2)), 1e-9)
    return bool(np.all(np.abs(f1 - f2) <= tol))
