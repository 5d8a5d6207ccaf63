"""Resuming a run from its checkpoint (docs/algorithm.md 8): which configuration may
continue it."""
from __future__ import annotations

import os
from pathlib import Path

from ezspark.config.training import ConfigError, Problem, TrainingConfig
from ezspark.store.checkpoint import RunState, load_checkpoint

__all__ = ["SAFE_TO_CHANGE", "load_resume_state", "resumable_config"]

#: Config keys that may change when a run is resumed with ``allow_changes``: they change
#: when the run stops or what it records, never a result it has already computed.
SAFE_TO_CHANGE = frozenset({"generations", "fitness_threshold", "saving",
                            "alone_training_iterations", "safeness", "genomes_per_task"})


def load_resume_state(out: str | os.PathLike | None, cfg: TrainingConfig, seed: int | None,
                      allow_changes: bool) -> tuple[RunState, TrainingConfig, int]:
    """The checkpoint of the run in ``out``, the config to continue it with, and its seed."""
    if out is None:
        raise ConfigError("resume needs the output directory of the run (out)")
    state = load_checkpoint(Path(out) / "checkpoint.h5")
    cfg = resumable_config(cfg, state, allow_changes)
    if seed is not None and seed != state.seed:
        raise ConfigError([Problem("seed", seed, f"{seed} differs from the seed of the run "
                                   f"being resumed ({state.seed})")])
    return state, cfg, state.seed


def resumable_config(cfg: TrainingConfig, state: RunState,
                     allow_changes: bool) -> TrainingConfig:
    """The config to continue with; refuses changes that would alter computed results."""
    saved = TrainingConfig.from_json(state.config_json)
    if state.finished:
        raise ConfigError(f"the run finished at generation {state.next_generation - 1}; "
                          "there is nothing to resume")
    new, old = cfg.to_dict(), saved.to_dict()
    if new.get("seed") is None:
        new["seed"] = old.get("seed")
    changed = [k for k in old if new.get(k) != old[k]]
    if not changed:
        return saved
    unsafe = [k for k in changed if k not in SAFE_TO_CHANGE]
    if allow_changes and not unsafe:
        if cfg.generations <= state.next_generation - 1:
            raise ConfigError([Problem("generations", cfg.generations,
                                       f"{cfg.generations} generations are already done (the "
                                       f"checkpoint is at generation {state.next_generation})")])
        return cfg
    problems = [Problem(k, new.get(k), f"{old[k]!r} in the checkpoint, {new.get(k)!r} now")
                for k in changed]
    hint = ("these keys cannot change on resume: they would change results already computed"
            if allow_changes else
            "resume with the checkpoint's config, or allow changes to "
            + ", ".join(sorted(SAFE_TO_CHANGE)) + " explicitly")
    raise ConfigError(problems + [Problem(None, None, f"cannot resume: {hint}")])
