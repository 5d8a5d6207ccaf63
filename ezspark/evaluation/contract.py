"""The evaluator contract: what the generation loop asks of every evaluator.

The trainer knows evaluators only through :class:`Evaluator`.  It calls ``start`` once
before the first generation it evaluates, ``evaluate`` once per generation, reads
``excluded`` and ``trust_records`` when it writes a checkpoint, and calls ``close`` when the
run ends however it ends.  An evaluator that needs nothing from the run (the local ones)
keeps the defaults of ``start``, ``excluded`` and ``trust_records``.  Adding a kind of
evaluator means writing one class that implements this contract; no trainer code changes
(``docs/architecture.md``).
"""
from __future__ import annotations

import abc
import math
from typing import Callable

import attrs
import numpy as np

__all__ = ["Evaluator", "EvalResult", "EvaluationError", "RunContext", "Progress"]

#: ``progress(done)``: ``done`` genomes of the generation have their fitness so far.
Progress = Callable[[int], None]


class EvaluationError(RuntimeError):
    """An environment or fitness function misbehaved during evaluation."""


@attrs.frozen
class EvalResult:
    """What one generation's evaluation gives back (docs/algorithm.md section 6)."""

    fitness: np.ndarray              # float64[P]: mean return per game
    env_steps: np.ndarray            # int64[P]
    reward_violations: int = 0       # steps whose reward was below minimum_reward
    min_reward: float = math.inf     # smallest reward seen
    # distributed evaluation (docs/algorithm.md section 7); 0 everywhere else
    checks: int = 0                  # remote batches evaluated a second time and compared
    mismatches: int = 0              # compared results that disagreed
    excluded: int = 0                # workers excluded during this generation


@attrs.frozen
class RunContext:
    """What an evaluator may learn about the run before its first generation."""

    seed: int                                # the run seed
    verification: np.random.Generator        # the run's verification stream (section 1.2)
    excluded: frozenset = frozenset()        # workers excluded earlier (from a checkpoint)
    trust: tuple = ()                        # verification records (from a checkpoint)


class Evaluator(abc.ABC):
    """Fitness of every genome of a generation.

    ``evaluate(programs, seed, generation, progress)`` returns an :class:`EvalResult` whose
    ``fitness[p]`` belongs to program ``p`` (genome ``p`` of the generation); it must depend
    only on the genome, the configuration, ``seed`` and ``generation``, never on the
    evaluator or on how the work was split.  ``progress``, when given, is called with the
    number of genomes finished so far.  Errors of the environment or of a fitness function
    raise :class:`EvaluationError`.
    """

    def start(self, context: RunContext) -> None:
        """Called once, before the first generation this run evaluates.  The default keeps
        nothing: an evaluator whose results follow from the genomes and the seed alone
        needs nothing more from the run."""
        del context

    @abc.abstractmethod
    def evaluate(self, programs, seed: int, generation: int,
                 progress: Progress | None = None) -> EvalResult:
        """The fitness of every program of one generation."""

    @property
    def excluded(self) -> frozenset:
        """Keys of workers excluded so far; the checkpoint keeps them for a resume."""
        return frozenset()

    @property
    def trust_records(self) -> tuple:
        """Verification records of remote workers so far (``Verification.rows``); the
        checkpoint keeps them for a resume."""
        return ()

    def close(self) -> None:
        """Release processes, environments and connections; called once at the end."""

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
