"""Validation of stored champions on fresh episodes (docs/algorithm.md 6.5).

A champion's training fitness is the best of many noisy means, so it overstates what the
network does on episodes it has not seen.  Each stored champion therefore also plays
``validation_games`` episodes from a seed stream of its own; their mean return is its
validation score.  The score only chooses which stored champion a run hands out: it never
reaches the evolution, so histories do not depend on it.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ezspark.evaluation.envs import EnvInfo
from ezspark.evaluation.local import EnvEvaluator

__all__ = ["Validator", "validation_seeds"]

# Training's episode seeds are below 2**31 (docs/algorithm.md 6.2); validation's lie in
# [2**31, 2**32), so no validation episode is ever a training episode, and every seed still
# fits the 32-bit seeds some environments' random generators take.
_VALIDATION_BASE = 1 << 31
_CACHE = 256


def validation_seeds(run_seed: int, games: int) -> np.ndarray:
    """int64[games]: the reset seeds of a run's validation episodes, the same for every
    champion of the run (their scores compare on equal terms): v + j for episode j, where
    v = 2**31 + the low 30 bits of the first 4 bytes (little-endian) of
    SHA-256("ezspark-validation:{run_seed}")."""
    digest = hashlib.sha256(f"ezspark-validation:{int(run_seed)}".encode("ascii")).digest()
    start = _VALIDATION_BASE + (int.from_bytes(digest[:4], "little") & ((1 << 30) - 1))
    return start + np.arange(int(games), dtype=np.int64)


class Validator:
    """Scores champions on the run's validation episodes, in this process.

    The episodes run batched (one network call per step for all of them) and end like
    training's: at the environment's own end or after ``max_steps`` steps.  A champion that
    was scored already (the elite often stays champion for generations) is not played
    again: its genes decide its returns.
    """

    def __init__(self, info: EnvInfo, games: int, max_steps: int, run_seed: int):
        self.games = int(games)
        self.seeds = validation_seeds(run_seed, self.games).reshape(1, self.games)
        self._evaluator = EnvEvaluator(info, games=self.games, max_steps=max_steps,
                                       sub_games=self.games, minimum_reward=-np.inf)
        self._scores: dict[bytes, float] = {}

    def close(self) -> None:
        self._evaluator.close()

    def validate(self, champion) -> None:
        """Sets ``champion.validation`` (the mean return of the validation episodes) and
        ``champion.validation_steps`` (env steps this call played: 0 when remembered)."""
        key = _genes_key(champion.genome)
        score = self._scores.get(key)
        steps = 0
        if score is None:
            result = self._evaluator.play(champion.programs, self.seeds,
                                          generation=champion.generation)
            score, steps = float(result.fitness[0]), int(result.env_steps[0])
            if len(self._scores) >= _CACHE:
                self._scores.pop(next(iter(self._scores)))    # the oldest
            self._scores[key] = score
        champion.validation, champion.validation_steps = score, steps


def _genes_key(genome) -> bytes:
    """Bytes that equal for two genomes exactly when their networks do."""
    return b"|".join(np.ascontiguousarray(a).tobytes() for a in (
        genome.innovation, genome.src, genome.dst, genome.weight, genome.enabled))
