"""The run store: ``run.h5`` (format 2, ezspark.store.layout), the only writer of it.

The file is created complete but empty (every table chunked and resizable), then held open
in HDF5's single-writer / multiple-reader mode (SWMR): rows and champions are appended in
place, so a flush costs the same at generation 10 and at generation 600,000, and readers
(``h5py.File(path, "r", swmr=True)``) can open it at any time, while the run writes it or
after the run was killed.  Rows are buffered in memory and written at most every
``flush_seconds`` (and before every checkpoint, and at the end), then flushed and fsynced:
a crash loses at most the rows since the last flush, and a resume continues from the
checkpoint, which is never ahead of run.h5.

How the run ended is in the root attributes (SWMR allows no attribute writes, so they are
written once the file has left SWMR mode at the end of the run): ``status`` is "running"
until then (a killed run keeps it), afterwards why it stopped, as ``RunResult.stopped``
says it ("generations", "fitness_threshold", "stop", "interrupted", "failed");
``stopped_at`` its last finished generation (-1: none); ``reason`` the one-line cause of a
failure; ``wall_seconds`` the wall time of every session of the run and ``env_steps`` its
total environment steps.  While the run goes on, the wall time is in ``/live/wall_seconds``
(rewritten in place at every flush) and the steps are the sum of the history's column.

A resume reads the file (whatever state the killed writer left it in), writes a new one
holding the rows and champions below the checkpoint's generation, renames it over run.h5
(one copy per resume, atomically) and appends in place again.  A format-1 file is
converted to format 2 that way.
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from pathlib import Path

import h5py
import numpy as np

from ezspark._version import __version__
from ezspark.store.champions import ChampionTable
from ezspark.store.layout import (CONNECTION_DTYPE, END_ATTRS, FORMAT_VERSION, HISTORY_DTYPE,
                                  INDEX_DTYPE, NODE_DTYPE, StoreError, atomic_replace,
                                  conformed, history_rows)
from ezspark.store.population import GROUP, create_population_tables, population_rows
from ezspark.store.reader import RunFile, is_json_file, load_champion

__all__ = ["RunStore", "prepare_run_directory", "RunFile", "load_champion", "is_json_file",
           "StoreError", "FORMAT_VERSION", "HISTORY_DTYPE", "atomic_replace"]

#: rows per chunk of each table: a flush rewrites at most the last, partly filled chunk
_CHUNKS = {"history": 1024, "index": 1024, "nodes": 8192, "connections": 4096}


def prepare_run_directory(directory: Path, *, resume: bool, overwrite: bool) -> Path:
    """``directory`` made ready for a run's files (created, writable); an existing run.h5
    there is refused unless the run resumes or overwrites it."""
    if not resume and not overwrite and (directory / "run.h5").exists():
        raise StoreError(f"{directory / 'run.h5'} already exists: continue it with --resume, "
                         "choose another output directory with --out DIR, or replace it with "
                         "--overwrite (resume=True, out=DIR, overwrite=True in Python)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create output directory {directory}: "
                         f"{exc.strerror or exc} (choose another with --out DIR; out=DIR in "
                         "Python)") from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(f"output directory {directory} is not writable: choose another with "
                         "--out DIR (out=DIR in Python)")
    return directory


class RunStore:
    """Appends history rows and champions to ``DIR/run.h5`` in place (SWMR)."""

    def __init__(self, path: Path, flush_seconds: float = 2.0, save_population: int = 0):
        self.path = Path(path)
        self.flush_seconds = float(flush_seconds)
        self.save_population = int(save_population)   # recorded as a root attribute
        self._rows: list = []
        self._champions: list = []
        self._populations: list = []         # add_population arguments, until flushed
        self._last_flush = time.monotonic()
        self._started = time.monotonic()     # this session's start, for wall_seconds
        self._wall_before = 0.0              # wall time of the run's earlier sessions
        self._env_steps = 0                  # the sum of the history's env_steps column
        self._file: h5py.File | None = None

    @classmethod
    def create(cls, directory: Path, cfg, seed: int, env_id: str | None, *,
               overwrite: bool = False, flush_seconds: float = 2.0,
               save_population: int = 0, actions=None) -> "RunStore":
        path = prepare_run_directory(Path(directory), resume=False, overwrite=overwrite) / "run.h5"
        store = cls(path, flush_seconds, save_population)
        identity = {"env_id": env_id or "", "seed": np.uint64(seed),
                    "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "actions": actions.to_json() if actions is not None else ""}
        store._start(identity, cfg.to_json(), np.empty(0, HISTORY_DTYPE),
                     ChampionTable.of([]))
        return store

    @classmethod
    def reopen(cls, path: Path, *, keep_below: int, flush_seconds: float = 2.0,
               cfg=None, save_population: int = 0) -> "RunStore":
        """Continue an existing run.h5 (format 1 or 2, a killed writer's too): it is
        rewritten once without the rows, champions and stored populations of generations
        >= ``keep_below`` (written after the checkpoint being resumed); ``cfg``, if given,
        replaces the stored config (a resume may change ``generations``)."""
        old = RunFile.open(path)            # a clear error for a missing or foreign file
        store = cls(Path(path), flush_seconds, save_population)
        store._wall_before = float(old.attrs.get("wall_seconds", 0.0))
        # a file from before columns were added: zeros
        history = conformed(old.history[old.history["generation"] < keep_below], HISTORY_DTYPE)
        identity = {"env_id": old.attrs.get("env_id", ""), "seed": np.uint64(old.attrs["seed"]),
                    "created": old.attrs.get("created", ""),
                    "actions": old.attrs.get("actions", "")}
        store._start(identity, cfg.to_json() if cfg is not None else old.config_json,
                     history, old.champions.below(keep_below), keep_below=keep_below)
        return store

    def _start(self, identity: dict, config_json: str, history: np.ndarray,
               champions: ChampionTable, keep_below: int | None = None) -> None:
        """Write a complete file next to run.h5, open it for appending in SWMR mode, and
        rename it over run.h5; with ``keep_below`` (a resume), the populations run.h5
        stores below that generation are copied."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        self._env_steps = int(history["env_steps"].sum())
        try:
            with h5py.File(tmp, "w", libver="latest") as f:
                f.attrs["format_version"] = FORMAT_VERSION
                f.attrs["ezspark_version"] = __version__
                f.attrs.update(identity)
                f.attrs.update(END_ATTRS)
                f.attrs["wall_seconds"] = np.float64(self._wall_before)
                f.attrs["env_steps"] = np.int64(self._env_steps)
                f.create_dataset("config", data=config_json, dtype=h5py.string_dtype())
                _table(f, "history", history)
                group = f.create_group("champions")
                for name in ("index", "nodes", "connections"):
                    _table(group, name, getattr(champions, name))
                f.create_group("live").create_dataset(
                    "wall_seconds", data=[self._wall_before], maxshape=(1,), chunks=(1,))
                self._population_tables(f, keep_below)
            # Opened for appending before the rename: once run.h5 appears, a reader (ezspark
            # follow, a notebook) may open it at once and hold HDF5's file lock, which would
            # refuse a writer that came after it.
            self._file = h5py.File(tmp, "r+", libver="latest")
            self._file.swmr_mode = True
            atomic_replace(tmp, self.path)
        except OSError as exc:
            if self._file is not None:
                self._file.close()
                self._file = None
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def _population_tables(self, f: h5py.File, keep_below: int | None) -> None:
        """``/population`` and the ``save_population`` attribute, in runs that store
        populations or stored some before this resume (a default run's file has neither)."""
        if keep_below is None:
            if self.save_population:
                create_population_tables(f, None, 0)
        else:
            with h5py.File(self.path, "r", swmr=True) as old:
                if self.save_population or GROUP in old:
                    create_population_tables(f, old, keep_below)
        if GROUP in f:
            f.attrs["save_population"] = np.int64(self.save_population)

    def add_population(self, generation: int, population, fitness, species, n_inputs: int,
                       n_outputs: int) -> None:
        """Every genome of ``generation`` (a Population), with its fitness and species."""
        self._populations.append((generation, population, fitness, species, n_inputs,
                                  n_outputs))

    def add_row(self, stats) -> None:
        self._rows.append(stats)

    def add_champion(self, champion) -> None:
        self._champions.append(champion)

    def maybe_flush(self) -> None:
        """Flush if ``flush_seconds`` have passed since the last write."""
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self, sync: bool = False) -> None:
        """Append the buffered rows and champions in place and flush them to the operating
        system: a reader, and a resume after the process was killed, sees every row up to
        here.  ``sync`` also fsyncs (before a checkpoint, so that even a power cut never
        leaves run.h5 behind checkpoint.h5).  Champions are appended before the history
        rows (a live reader never sees a row without its champion)."""
        if self._file is None or (not self._rows and not self._champions
                                  and not self._populations):
            return
        f = self._file
        self._flush_populations()
        group = f["champions"]
        new = ChampionTable.of(self._champions, group["nodes"].shape[0],
                               group["connections"].shape[0])
        for name in ("nodes", "connections", "index"):
            _append(group[name], getattr(new, name))
        rows = history_rows(self._rows)
        _append(f["history"], rows)
        self._env_steps += int(rows["env_steps"].sum())
        f["live"]["wall_seconds"][0] = self._wall()
        f.flush()
        if sync:
            os.fsync(f.id.get_vfd_handle())
        self._rows.clear()
        self._champions.clear()
        self._populations.clear()
        self._last_flush = time.monotonic()

    def _flush_populations(self) -> None:
        """Append the buffered populations (before the champions and history rows: a
        reader that sees generation k's row sees its population)."""
        if not self._populations:
            return
        group = self._file[GROUP]
        n0, c0 = group["nodes"].shape[0], group["connections"].shape[0]
        parts = []
        for args in self._populations:        # one append per table and flush, not per one
            parts.append(population_rows(*args, node_start=n0, conn_start=c0))
            n0, c0 = n0 + parts[-1].nodes.shape[0], c0 + parts[-1].connections.shape[0]
        for name in ("nodes", "connections", "index"):
            _append(group[name], np.concatenate([getattr(p, name) for p in parts]))

    def _wall(self) -> float:
        return self._wall_before + time.monotonic() - self._started

    def close(self, result=None) -> None:
        """Write what is buffered and leave SWMR mode; with the run's ``RunResult``, record
        how it ended in the root attributes (a reopen without SWMR, allowed once the
        writer has closed the file cleanly).  The reopen ignores HDF5's file lock: a
        reader holding the file (``h5py.File(path, "r", swmr=True)`` in a notebook) keeps
        its lock, which would refuse the reopen and fail the finished run."""
        if self._file is None:
            return
        self.flush(sync=True)
        self._file.close()
        self._file = None
        end = {"wall_seconds": np.float64(self._wall()), "env_steps": np.int64(self._env_steps)}
        if result is not None:
            last = result.history[-1].generation if result.history else -1
            end.update(status=result.stopped, stopped_at=np.int64(last), reason=result.reason)
        with h5py.File(self.path, "r+", libver="latest", locking=False) as f:
            f.attrs.update(end)
            f.flush()
            os.fsync(f.id.get_vfd_handle())


def _table(group: h5py.Group, name: str, rows: np.ndarray) -> None:
    """A chunked table that can grow without limit, holding ``rows``."""
    dtype = {"history": HISTORY_DTYPE, "index": INDEX_DTYPE, "nodes": NODE_DTYPE,
             "connections": CONNECTION_DTYPE}[name]
    table = group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                 chunks=(_CHUNKS[name],))
    _append(table, rows)


def _append(table: h5py.Dataset, rows: np.ndarray) -> None:
    if rows.shape[0]:
        start = table.shape[0]
        table.resize((start + rows.shape[0],))
        table[start:] = rows
