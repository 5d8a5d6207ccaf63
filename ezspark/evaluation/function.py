"""Fitness from a user function of the whole generation (docs/algorithm.md 6.1)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ezspark.evaluation.contract import EvalResult, EvaluationError, Evaluator, Progress

__all__ = ["FunctionEvaluator", "evaluate_fitness_function"]


def evaluate_fitness_function(fitness: Callable, nets, population_size: int) -> EvalResult:
    """docs/algorithm.md 6.1 "user fitness functions": ``fitness(nets)`` returns one value
    per genome."""
    values = fitness(nets)
    try:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"the fitness function must return {population_size} numbers: "
                              f"{exc}") from exc
    if values.shape[0] != population_size:
        raise EvaluationError(f"the fitness function returned {values.shape[0]} values for "
                              f"{population_size} genomes")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.shape[0]:
        raise EvaluationError(f"the fitness function returned {values[bad[0]]} for genome "
                              f"{int(bad[0])}; fitness must be finite")
    return EvalResult(values, np.zeros(population_size, dtype=np.int64))


class FunctionEvaluator(Evaluator):
    """``ezspark.train(..., fitness=f)``: ``f(nets)`` gives the fitness of the whole
    generation at once (``nets.activate(X)`` has shape (P, rows, output_size)).  The seed
    and generation are not passed on: a fitness function that wants randomness owns it."""

    def __init__(self, fitness: Callable):
        self.fitness = fitness

    def evaluate(self, programs, seed: int, generation: int,
                 progress: Progress | None = None) -> EvalResult:
        size = len(programs)
        result = evaluate_fitness_function(self.fitness, programs, size)
        if progress is not None:
            progress(size)          # one call gives every genome its fitness
        return result
