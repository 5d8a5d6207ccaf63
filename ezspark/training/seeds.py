"""The run seed and the two random streams it gives (docs/algorithm.md 1.2)."""
from __future__ import annotations

import numpy as np

from ezspark.config.training import ConfigError, Problem, TrainingConfig

__all__ = ["MAX_SEED", "resolve_seed", "make_streams"]

MAX_SEED = 2**63 - 1


def resolve_seed(seed: int | None, cfg: TrainingConfig) -> int:
    """The run seed: the argument, else the config's ``seed``, else fresh OS entropy."""
    if seed is None:
        seed = cfg.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (MAX_SEED + 1))
    if (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
            or not 0 <= seed <= MAX_SEED):
        raise ConfigError([Problem("seed", seed,
                                   f"{seed!r} is not an integer from 0 to {MAX_SEED}")])
    return int(seed)


def make_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """docs/algorithm.md 1.2: the evolution stream and the verification stream of a run
    seed."""
    evolution, verification = np.random.SeedSequence(seed).spawn(2)
    return (np.random.Generator(np.random.PCG64(evolution)),
            np.random.Generator(np.random.PCG64(verification)))
