"""Resuming a run from its checkpoint (docs/algorithm.md 8): which configuration may
continue it, and whether anything is left to do.

A resumed run must give the history a run asked for the same configuration from the start
would have given (same seed).  ``generations`` only says where the run stops, so it may
always change (``--generations N``, or the config's key): a finished run is extended, and
asking for no more generations than were evaluated is refused as "nothing to resume".  The
other keys of ``SAFE_TO_CHANGE`` change only what the run records or how it stops, and may
differ when the user allows it; every other key would change results already computed.
"""
from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np

from ezspark.config.training import ConfigError, Problem, TrainingConfig, show
from ezspark.store.checkpoint import RunState, load_checkpoint
from ezspark.store.layout import HISTORY_DTYPE, StoreError
from ezspark.store.reader import RunFile

__all__ = ["SAFE_TO_CHANGE", "FREE_TO_CHANGE", "load_resume_state", "resumable_config"]

#: Config keys that may change when a run is resumed with ``allow_changes``: they change
#: when the run stops or what it records, never a result it has already computed.
SAFE_TO_CHANGE = frozenset({"generations", "fitness_threshold", "saving",
                            "alone_training_iterations", "safeness", "genomes_per_task",
                            "validation_games", "trusted_after", "safeness_floor"})
#: Keys that may change on resume without ``allow_changes``: the number of generations.
FREE_TO_CHANGE = frozenset({"generations"})

_ALLOW = "--allow-config-change (allow_changes=True in Python)"
_MORE = "--generations N (generations=N in Python)"


def load_resume_state(out: str | os.PathLike | None, cfg: TrainingConfig, seed: int | None,
                      allow_changes: bool,
                      generations: int | None = None) -> tuple[RunState, TrainingConfig, int]:
    """The checkpoint of the run in ``out``, the config to continue it with, and its seed.
    ``generations``, when given, overrides the number of generations."""
    if out is None:
        raise ConfigError("resume needs the output directory of the run (--out DIR; out=DIR "
                          "in Python)")
    state = load_checkpoint(Path(out) / "checkpoint.h5")
    stored = _stored_run(Path(out) / "run.h5", state)
    if not state.history.size:
        state.history = _stored_history(stored, state)
    state.best_champion = _best_validated(stored, state)
    cfg = resumable_config(cfg, state, allow_changes, generations)
    if seed is not None and seed != state.seed:
        raise ConfigError([Problem("seed", seed, f"{seed} differs from the seed of the run "
                                   f"being resumed ({state.seed}): leave --seed out")])
    return state, cfg, state.seed


def _stored_run(path: Path, state: RunState) -> RunFile | None:
    """The run's run.h5, read once; None without one (a run whose run store was blocked),
    which a finished run cannot do without."""
    if path.exists():
        return RunFile.open(path)
    if state.finished:
        raise StoreError(f"cannot continue this finished run without its {path}: start a new "
                         f"run with {_MORE} and --out DIR or --overwrite")
    return None


def _stored_history(stored: RunFile | None, state: RunState) -> np.ndarray:
    """The history rows of the generations the checkpoint has done, from run.h5 (the
    checkpoint does not hold them since run.h5 format 2)."""
    if stored is None:
        return np.empty(0, HISTORY_DTYPE)
    rows = stored.history
    return rows[rows["generation"] < state.next_generation]


def _best_validated(stored: RunFile | None, state: RunState):
    """The best validated champion of the generations the resumed run does not report
    again (a finished run reports its final generation again), or None."""
    if stored is None:
        return None
    first = state.next_generation - 1 if state.finished else state.next_generation
    table = stored.champions.below(first)
    row = table.best_row()
    if row < 0 or not np.isfinite(table.index["validation"][row]):
        return None
    return table.champion_at(row, stored.env_id)


def resumable_config(cfg: TrainingConfig, state: RunState, allow_changes: bool,
                     generations: int | None = None) -> TrainingConfig:
    """The config to continue with: the checkpoint's, with the changes ``cfg`` (and the
    ``generations`` override) make; refuses changes that would alter computed results and
    a resume that has nothing left to do."""
    saved = TrainingConfig.from_json(state.config_json)
    new, old = cfg.to_dict(), saved.to_dict()
    if new.get("seed") is None:
        new["seed"] = old.get("seed")
    if generations is not None:
        new["generations"] = generations
    changed = [k for k in old if new.get(k) != old[k]]
    blocked = [k for k in changed if k not in FREE_TO_CHANGE
               and (k not in SAFE_TO_CHANGE or not allow_changes)]
    if blocked:
        raise ConfigError(_refusal(blocked, new, old))
    resumed = attrs.evolve(saved, **{k: getattr(cfg, k) for k in changed})
    if generations is not None:
        resumed = attrs.evolve(resumed, generations=generations)
    _check_work_left(resumed, state)
    return resumed


def _refusal(blocked: list[str], new: dict, old: dict) -> list[Problem]:
    """One problem per key that may not change, and the remedy."""
    unsafe = [k for k in blocked if k not in SAFE_TO_CHANGE]
    problems = [Problem(k, new.get(k), f"{show(old[k])} in the checkpoint, {show(new.get(k))} "
                        "now" + ("" if k in unsafe else f" (accepted with {_ALLOW})"))
                for k in blocked]
    if unsafe:
        hint = (f"cannot resume: {', '.join(unsafe)} cannot change on resume (it would change "
                "results already computed); resume with the checkpoint's value, or start a new "
                "run with --out DIR or --overwrite")
    else:
        hint = f"cannot resume with these changes unless you pass {_ALLOW}"
    return problems + [Problem(None, None, hint)]


def _check_work_left(cfg: TrainingConfig, state: RunState) -> None:
    """Refuses a resume that would evaluate nothing, or whose history would differ from a run
    started with ``cfg``: ``generations`` at most the generations already done, a
    ``fitness_threshold`` that an evaluated generation already reached."""
    done = state.next_generation
    if cfg.generations <= done:
        raise ConfigError(f"nothing to resume: the run has evaluated {done} generations "
                          f"(0 to {done - 1}) and generations is {cfg.generations}; to "
                          f"continue it, pass {_MORE} with N larger than {done}")
    best = state.history["best_fitness"]
    threshold = cfg.fitness_threshold
    if threshold is not None and best.size and best.max() >= threshold:
        g = int(state.history["generation"][int(np.argmax(best >= threshold))])
        raise ConfigError(f"nothing to resume: generation {g} reached fitness_threshold "
                          f"{threshold:g} (best fitness {best[best >= threshold][0]:g}), so the "
                          "run stops there; to continue, raise fitness_threshold (or set it to "
                          f"null) in the config and pass {_ALLOW}")
    if state.finished and state.last_fitness is None:
        raise ConfigError("this run finished before ezspark could extend finished runs (its "
                          "checkpoint lacks the final generation's fitness); start a new run "
                          f"with {_MORE} and --out DIR or --overwrite")
