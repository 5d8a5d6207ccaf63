"""The run store: ``run.h5`` (format_version 1), the only HDF5 writer of ezspark.

Layout (docs/architecture.md, readable with plain h5py)::

    /                    attrs: format_version, ezspark_version, env_id, seed, created
    /config              string dataset: the training JSON, normalised
    /history             table, one row per generation (GenerationStats fields)
    /champions/gen_000042/
        node_id int32[n], node_kind uint8[n] (0 input, 1 output, 2 hidden)
        conn_innovation int32[c], conn_in int32[c], conn_out int32[c],
        conn_weight float64[c], conn_enabled bool[c]
        attrs: generation, fitness, species

Every write goes to ``run.h5.tmp`` in the same directory (a copy of the current file plus
the new rows), which is flushed, fsynced and then renamed over ``run.h5``: a crash at any
instant leaves either the old file or the new one, never a half-written one.  Rows are
buffered in memory and written at most every ``flush_seconds`` (and always at the end).
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import time
from pathlib import Path

import h5py
import numpy as np

from ._stats import HISTORY_FIELDS, GenerationStats

__all__ = ["RunStore", "StoreError", "FORMAT_VERSION", "HISTORY_DTYPE", "champion_arrays",
           "atomic_replace"]

FORMAT_VERSION = 1
NODE_INPUT, NODE_OUTPUT, NODE_HIDDEN = 0, 1, 2
HISTORY_DTYPE = np.dtype([
    ("generation", np.int64), ("best_fitness", np.float64), ("mean_fitness", np.float64),
    ("population", np.int64), ("species", np.int64), ("evaluations", np.int64),
    ("env_steps", np.int64), ("reward_violations", np.int64), ("seconds", np.float64),
])
assert HISTORY_DTYPE.names == HISTORY_FIELDS


class StoreError(ValueError):
    """A run file or directory cannot be used (a user mistake: exit code 2 in the CLI)."""


def _version() -> str:
    from . import __version__

    return __version__


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, rename it over ``final`` and fsync the directory."""
    fsync_path(tmp)
    os.replace(tmp, final)
    try:
        fsync_path(final.parent)
    except OSError:  # some file systems cannot fsync a directory
        pass


def champion_arrays(champion) -> dict[str, np.ndarray]:
    """The datasets of one champion group."""
    g = champion.genome
    n_in, n_out = champion.n_inputs, champion.n_outputs
    hidden = g.hidden_nodes(n_in, n_out)
    node_id = np.concatenate([np.arange(1, n_in + n_out + 1, dtype=np.int32), hidden])
    node_kind = np.concatenate([np.full(n_in, NODE_INPUT, np.uint8),
                                np.full(n_out, NODE_OUTPUT, np.uint8),
                                np.full(hidden.shape[0], NODE_HIDDEN, np.uint8)])
    return {"node_id": node_id.astype(np.int32), "node_kind": node_kind,
            "conn_innovation": g.innovation, "conn_in": g.src, "conn_out": g.dst,
            "conn_weight": g.weight, "conn_enabled": g.enabled}


def champion_group_name(generation: int) -> str:
    return f"gen_{generation:06d}"


class RunStore:
    """Appends history rows and champions to ``DIR/run.h5``, atomically."""

    def __init__(self, path: Path, flush_seconds: float = 2.0):
        self.path = Path(path)
        self.flush_seconds = float(flush_seconds)
        self._rows: list[GenerationStats] = []
        self._champions: list = []
        self._last_flush = time.monotonic()

    @classmethod
    def create(cls, directory: Path, cfg, seed: int, env_id: str | None, *,
               overwrite: bool = False, flush_seconds: float = 2.0) -> "RunStore":
        directory = Path(directory)
        path = directory / "run.h5"
        if path.exists() and not overwrite:
            raise StoreError(f"{path} already exists: choose another output directory, "
                             "or resume that run")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create output directory {directory}: {exc.strerror}") from exc
        store = cls(path, flush_seconds)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["format_version"] = FORMAT_VERSION
                f.attrs["ezspark_version"] = _version()
                f.attrs["env_id"] = env_id or ""
                f.attrs["seed"] = np.uint64(seed)
                f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
                f.create_dataset("config", data=cfg.to_json(), dtype=h5py.string_dtype())
                f.create_dataset("history", shape=(0,), maxshape=(None,), dtype=HISTORY_DTYPE,
                                 chunks=(256,))
                f.create_group("champions")
            atomic_replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return store

    def append(self, stats: GenerationStats, champion=None) -> None:
        self._rows.append(stats)
        if champion is not None:
            self._champions.append(champion)
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows and champions (copy, append, fsync, rename)."""
        if not self._rows and not self._champions:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.copyfile(self.path, tmp)
        try:
            with h5py.File(tmp, "a") as f:
                self._write(f)
            atomic_replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._rows.clear()
        self._champions.clear()
        self._last_flush = time.monotonic()

    def _write(self, f: h5py.File) -> None:
        if self._rows:
            table = f["history"]
            start = table.shape[0]
            rows = np.array([tuple(getattr(s, n) for n in HISTORY_FIELDS) for s in self._rows],
                            dtype=HISTORY_DTYPE)
            table.resize((start + rows.shape[0],))
            table[start:] = rows
        group = f["champions"]
        for champ in self._champions:
            name = champion_group_name(champ.generation)
            if name in group:
                del group[name]
            g = group.create_group(name)
            for key, arr in champion_arrays(champ).items():
                g.create_dataset(key, data=arr)
            g.attrs["generation"] = np.int64(champ.generation)
            g.attrs["fitness"] = np.float64(champ.fitness)
            g.attrs["species"] = np.int64(champ.species)

    def close(self) -> None:
        self.flush()
