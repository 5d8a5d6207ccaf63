"""Records of a run: one row of history per generation, and the result of ``train``."""
from __future__ import annotations

from pathlib import Path

import attrs

__all__ = ["GenerationStats", "RunResult", "HISTORY_FIELDS"]


@attrs.frozen
class GenerationStats:
    """One row of history (docs/algorithm.md 6.4)."""

    generation: int
    best_fitness: float
    mean_fitness: float
    population: int
    species: int            # species left after culling; -1 for the final generation
    evaluations: int        # genomes evaluated in this generation
    env_steps: int
    reward_violations: int  # steps whose reward was below minimum_reward
    seconds: float          # wall time of the generation (evaluation and evolution)
    # distributed runs (docs/algorithm.md 6.4, 7.2); 0 in local runs
    checks: int = 0         # remote batches evaluated a second time and compared
    mismatches: int = 0     # compared results that disagreed
    excluded: int = 0       # remote workers excluded in this generation


HISTORY_FIELDS = tuple(f.name for f in attrs.fields(GenerationStats))


@attrs.frozen
class RunResult:
    """What ``ezspark.train`` returns."""

    champion: object                 # the best genome of the run, as a Champion
    history: tuple                   # GenerationStats, one per generation
    path: Path | None                # run.h5, or None when the run kept no files
    seed: int
    # why the run ended: "generations", "fitness_threshold", "stop", "interrupted", "failed"
    stopped: str = "generations"
    reason: str = ""                 # a failed run: the exception, in one line

    @property
    def generations(self) -> int:
        return len(self.history)
