"""``checkpoint.h5``: the whole state of a run between two generations (docs/algorithm.md 8).

Written to ``checkpoint.h5.tmp``, fsynced and renamed over ``checkpoint.h5``, so a crash
at any instant leaves the previous checkpoint or the new one.  Layout (plain h5py)::

    /                attrs: format_version, ezspark_version, seed, next_generation,
                            best_ever, stall, rho, next_species_id, warned, finished,
                            threshold (the species threshold of the next generation)
    /config          the training JSON (string)
    /population/     off, innovation, src, dst, weight, enabled   (generation next_generation)
    /species/        id, founded, best, stagnation (one row per species, id order)
    /species/representatives/   off, innovation, src, dst, weight, enabled
    /registry/       pair_keys, pair_values, split_keys, split_values, counters, io
    /rng             JSON of both streams' bit-generator states (evolution, verification)
    /history         (checkpoints written before run.h5 format 2 only) the history so far;
                     now run.h5 alone holds it, so that the checkpoint's size does not grow
                     with the run (a resume reads the history from run.h5)
    /excluded        identities of excluded remote workers (strings)
    /trust/          keys (strings) and counts (int64, n x 4: validated, unchecked, checked,
                     accepted unchecked): the verification records of remote workers
                     (absent from checkpoints written before them: no records)
    /last_fitness    finished runs only: the fitness of the final generation, whose
                     population /population still holds, so that a resumed run can
                     reproduce it and go on (the run extended to more generations)
"""
from __future__ import annotations

import json
from pathlib import Path

import attrs
import h5py
import numpy as np

from ezspark.store.layout import HISTORY_DTYPE, StoreError, atomic_replace
from ezspark._version import __version__
from ezspark.engine.population import Population

__all__ = ["RunState", "save_checkpoint", "load_checkpoint", "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 1
_POP = ("off", "innovation", "src", "dst", "weight", "enabled")


@attrs.define
class RunState:
    """Everything needed to continue a run at ``next_generation``, bit for bit."""

    config_json: str
    seed: int
    next_generation: int
    population: object            # Population
    evolution: dict               # Evolution.state()
    rng_states: dict              # {"evolution": ..., "verification": ...}
    # HISTORY_DTYPE rows of the generations before next_generation: not saved (run.h5 holds
    # them); a resume fills them in from run.h5 (or an old checkpoint's /history)
    history: np.ndarray = attrs.field(factory=lambda: np.empty(0, HISTORY_DTYPE))
    warned: bool = False
    excluded: tuple = ()
    trust: tuple = ()             # Verification.rows() of a served run
    finished: bool = False        # the run ended after its final generation
    # finished runs: the final generation's fitness (``population`` is that generation and
    # ``evolution`` the state after its steps 1 and 2), so that it can still be reproduced
    last_fitness: np.ndarray | None = None
    # the best validated champion before next_generation: not saved (run.h5 holds the
    # champions and their scores); a resume reads it from run.h5
    best_champion: object = None


def _write_table(group: h5py.Group, table) -> None:
    for name, arr in table.arrays().items():
        group.create_dataset(name, data=arr)


def _read_table(group: h5py.Group):
    return Population(*(group[name][()] for name in _POP))


def _write_trust(group: h5py.Group, rows: tuple) -> None:
    group.create_dataset("keys", data=[row[0] for row in rows], dtype=h5py.string_dtype())
    group.create_dataset("counts", data=np.array([row[1:] for row in rows],
                                                 dtype=np.int64).reshape(len(rows), 4))


def _strings(dataset: h5py.Dataset) -> tuple[str, ...]:
    """A dataset of strings as str (h5py gives bytes for some, str for others)."""
    return tuple(x.decode() if isinstance(x, bytes) else str(x) for x in dataset[()])


def _read_trust(group: h5py.Group) -> tuple:
    keys = _strings(group["keys"])
    counts = group["counts"][()].reshape(len(keys), 4).tolist()
    return tuple((key, *row) for key, row in zip(keys, counts))


def save_checkpoint(path: Path, state: RunState) -> None:
    """Write ``state`` atomically to ``path``."""

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    evo = state.evolution
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format_version"] = CHECKPOINT_VERSION
            f.attrs["ezspark_version"] = __version__
            f.attrs["seed"] = np.uint64(state.seed)
            f.attrs["next_generation"] = np.int64(state.next_generation)
            for key in ("best_ever", "rho", "threshold"):
                f.attrs[key] = np.float64(evo[key])
            for key in ("stall", "next_species_id"):
                f.attrs[key] = np.int64(evo[key])
            f.attrs["warned"] = bool(state.warned)
            f.attrs["finished"] = bool(state.finished)
            f.create_dataset("config", data=state.config_json, dtype=h5py.string_dtype())
            _write_table(f.create_group("population"), state.population)
            sp = f.create_group("species")
            for key in ("id", "founded", "best", "stagnation"):
                sp.create_dataset(key, data=evo["species"][key])
            _write_table(sp.create_group("representatives"),
                         Population.from_genomes(evo["species"]["representatives"]))
            reg = f.create_group("registry")
            for key, arr in evo["registry"].items():
                reg.create_dataset(key, data=arr)
            f.create_dataset("rng", data=json.dumps(state.rng_states), dtype=h5py.string_dtype())
            f.create_dataset("excluded", data=list(state.excluded), dtype=h5py.string_dtype())
            _write_trust(f.create_group("trust"), state.trust)
            if state.last_fitness is not None:
                f.create_dataset("last_fitness", data=np.asarray(state.last_fitness, np.float64))
        atomic_replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write checkpoint {path}: {exc.strerror or exc}") from exc


def load_checkpoint(path: Path) -> RunState:
    """Read a checkpoint; a missing, foreign, truncated or newer file is a StoreError."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"no checkpoint to resume from: {path} does not exist (start a new "
                         "run without --resume; add --overwrite to replace a run.h5 there)")
    if not h5py.is_hdf5(path):
        raise StoreError(f"{path} is not an HDF5 file (not an ezspark checkpoint)")
    try:
        with h5py.File(path, "r") as f:
            if "next_generation" not in f.attrs or "population" not in f:
                raise StoreError(f"{path} is an HDF5 file but not an ezspark checkpoint")
            version = int(f.attrs["format_version"])
            if version > CHECKPOINT_VERSION:
                raise StoreError(f"{path} has checkpoint format_version {version}, newer than "
                                 f"this ezspark reads ({CHECKPOINT_VERSION}): upgrade ezspark "
                                 "(pip install --upgrade ezspark)")
            config_json = f["config"][()]
            config_json = config_json.decode() if isinstance(config_json, bytes) else config_json
            sp = f["species"]
            species = {key: sp[key][()] for key in ("id", "founded", "best", "stagnation")}
            species["representatives"] = _read_table(sp["representatives"])
            evolution = {
                "best_ever": float(f.attrs["best_ever"]), "rho": float(f.attrs["rho"]),
                "stall": int(f.attrs["stall"]), "next_species_id": int(f.attrs["next_species_id"]),
                # absent from checkpoints written before target_species: the configured value
                "threshold": (float(f.attrs["threshold"]) if "threshold" in f.attrs else None),
                "species": species,
                "registry": {key: f["registry"][key][()] for key in f["registry"]},
            }
            rng = f["rng"][()]
            rng = json.loads(rng.decode() if isinstance(rng, bytes) else rng)
            excluded = _strings(f["excluded"])
            return RunState(config_json=config_json, seed=int(f.attrs["seed"]),
                            next_generation=int(f.attrs["next_generation"]),
                            population=_read_table(f["population"]), evolution=evolution,
                            rng_states=rng, history=(f["history"][()] if "history" in f
                                                             else np.empty(0, HISTORY_DTYPE)),
                            warned=bool(f.attrs["warned"]), excluded=excluded,
                            trust=_read_trust(f["trust"]) if "trust" in f else (),
                            finished=bool(f.attrs.get("finished", False)),
                            last_fitness=f["last_fitness"][()] if "last_fitness" in f else None)
    except StoreError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise StoreError(f"{path} cannot be read as an ezspark checkpoint: {exc}") from exc
