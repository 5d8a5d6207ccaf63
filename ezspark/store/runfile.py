"""The run store: ``run.h5`` (format_version 1), the only HDF5 writer of ezspark.

Layout (docs/architecture.md, readable with plain h5py)::

    /                    attrs: format_version, ezspark_version, env_id, seed, created,
                                status, stopped_at, reason, wall_seconds, env_steps
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

How the run ended is in the root attributes: ``status`` is "running" while a run writes the
file (so a run killed without a chance to record its end still says "running"), then why it
stopped, as ``RunResult.stopped`` says it ("generations", "fitness_threshold", "stop",
"interrupted", "failed"); ``stopped_at`` is its last finished generation (-1: none);
``reason`` the one-line cause of a failure; ``wall_seconds`` the wall time of every session
of the run (a resumed run adds to it) and ``env_steps`` its total environment steps, both
brought up to date at every write.  Files written before these attributes existed lack them.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import time
from pathlib import Path

import h5py
import numpy as np

from ezspark.store.history import HISTORY_FIELDS, GenerationStats
from ezspark._version import __version__
from ezspark.config.training import TrainingConfig
from ezspark.network.champion import Champion
from ezspark.engine.genome import Genome

__all__ = ["RunStore", "RunFile", "load_champion", "is_json_file", "StoreError", "FORMAT_VERSION", "HISTORY_DTYPE", "champion_arrays",
           "atomic_replace"]

FORMAT_VERSION = 1
NODE_INPUT, NODE_OUTPUT, NODE_HIDDEN = 0, 1, 2
HISTORY_DTYPE = np.dtype([
    ("generation", np.int64), ("best_fitness", np.float64), ("mean_fitness", np.float64),
    ("population", np.int64), ("species", np.int64), ("evaluations", np.int64),
    ("env_steps", np.int64), ("reward_violations", np.int64), ("seconds", np.float64),
    ("checks", np.int64), ("mismatches", np.int64), ("excluded", np.int64),
])
assert HISTORY_DTYPE.names == HISTORY_FIELDS
#: The root attributes that say how a run ended, and their values before it ends.
END_ATTRS = {"status": "running", "stopped_at": -1, "reason": "", "wall_seconds": 0.0,
             "env_steps": 0}


class StoreError(ValueError):
    """A run file or directory cannot be used (a user mistake: exit code 2 in the CLI)."""


def _version() -> str:

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


def rewrite_copy(path: Path, edit) -> None:
    """Apply ``edit(h5py.File)`` to a copy of ``path`` and put the copy in its place
    atomically; on any failure the copy is removed and ``path`` is left as it was."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.copyfile(path, tmp)
    try:
        with h5py.File(tmp, "a") as f:
            edit(f)
        atomic_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        self._started = time.monotonic()     # this session's start, for wall_seconds
        self._wall_before = 0.0              # wall time of the run's earlier sessions
        self._end: dict | None = None        # how the run ended, once it has

    @classmethod
    def create(cls, directory: Path, cfg, seed: int, env_id: str | None, *,
               overwrite: bool = False, flush_seconds: float = 2.0) -> "RunStore":
        directory = Path(directory)
        path = directory / "run.h5"
        if path.exists() and not overwrite:
            raise StoreError(f"{path} already exists: continue it with --resume, choose "
                             "another output directory with --out DIR, or replace it with "
                             "--overwrite")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create output directory {directory}: {exc.strerror} "
                             "(choose another with --out DIR)") from exc
        store = cls(path, flush_seconds)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["format_version"] = FORMAT_VERSION
                f.attrs["ezspark_version"] = _version()
                f.attrs["env_id"] = env_id or ""
                f.attrs["seed"] = np.uint64(seed)
                f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
                f.attrs.update(END_ATTRS)
                f.create_dataset("config", data=cfg.to_json(), dtype=h5py.string_dtype())
                f.create_dataset("history", shape=(0,), maxshape=(None,), dtype=HISTORY_DTYPE,
                                 chunks=(256,))
                f.create_group("champions")
            atomic_replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return store

    @classmethod
    def reopen(cls, path: Path, *, keep_below: int, flush_seconds: float = 2.0,
               cfg=None) -> "RunStore":
        """Continue an existing run.h5: rows and champions of generations >= ``keep_below``
        (written after the checkpoint being resumed) are removed first, atomically; ``cfg``,
        if given, replaces the stored config (a resume may change ``generations``)."""
        path = Path(path)
        RunFile.open(path)                      # a clear error for a missing or foreign file
        store = cls(path, flush_seconds)

        def truncate(f: h5py.File) -> None:
            table = f["history"]
            rows = table[()]
            keep = rows["generation"] < keep_below
            if table.dtype != HISTORY_DTYPE:     # a file from before columns were added
                upgraded = np.zeros(int(keep.sum()), dtype=HISTORY_DTYPE)
                for name in rows.dtype.names:
                    if name in HISTORY_DTYPE.names:
                        upgraded[name] = rows[name][keep]
                del f["history"]
                f.create_dataset("history", data=upgraded, maxshape=(None,), chunks=(256,))
            elif not keep.all():
                table.resize((int(keep.sum()),))
                table[...] = rows[keep]
            for name in list(f["champions"]):
                if int(f["champions"][name].attrs["generation"]) >= keep_below:
                    del f["champions"][name]
            if cfg is not None:
                del f["config"]
                f.create_dataset("config", data=cfg.to_json(), dtype=h5py.string_dtype())
            store._wall_before = float(f.attrs.get("wall_seconds", 0.0))
            f.attrs.update(END_ATTRS)
            store._write_totals(f)

        rewrite_copy(path, truncate)
        return store

    def add_row(self, stats: GenerationStats) -> None:
        self._rows.append(stats)

    def add_champion(self, champion) -> None:
        self._champions.append(champion)

    def maybe_flush(self) -> None:
        """Flush if ``flush_seconds`` have passed since the last write."""
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows and champions (copy, append, fsync, rename)."""
        if not self._rows and not self._champions and self._end is None:
            return
        rewrite_copy(self.path, self._write)
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
        self._write_totals(f)
        if self._end is not None:
            f.attrs.update(self._end)

    def _write_totals(self, f: h5py.File) -> None:
        """wall_seconds and env_steps up to now (a killed run keeps those of its last
        write)."""
        f.attrs["wall_seconds"] = np.float64(self._wall_before + time.monotonic()
                                             - self._started)
        f.attrs["env_steps"] = np.int64(f["history"]["env_steps"].sum())

    def close(self, result=None) -> None:
        """Write what is buffered; with the run's ``RunResult``, also how it ended."""
        if result is not None:
            last = result.history[-1].generation if result.history else -1
            self._end = {"status": result.stopped, "stopped_at": np.int64(last),
                         "reason": result.reason}
        self.flush()


class RunFile:
    """A ``run.h5`` read into memory (the file is closed again at once)."""

    def __init__(self, path, attrs_: dict, config_json: str, history: np.ndarray,
                 champions: dict):
        self.path = Path(path)
        self.attrs = attrs_
        self.config_json = config_json
        self.history = history                  # structured array, HISTORY_DTYPE
        self._champions = champions             # generation -> (datasets, attrs)

    @classmethod
    def open(cls, path) -> "RunFile":
        path = Path(path)
        if not path.exists():
            raise StoreError(f"no such file: {path}")
        if path.is_dir():
            candidate = path / "run.h5"
            if not candidate.exists():
                raise StoreError(f"{path} is a directory without a run.h5 (python -m "
                                 "ezspark run CONFIG --out DIR writes one)")
            path = candidate
        if not h5py.is_hdf5(path):
            raise StoreError(f"{path} is not an HDF5 file (not a run.h5 written by ezspark)")
        try:
            with h5py.File(path, "r") as f:
                if "format_version" not in f.attrs or "config" not in f or "history" not in f:
                    raise StoreError(f"{path} is an HDF5 file but not an ezspark run "
                                     "(no format_version, /config or /history)")
                version = int(f.attrs["format_version"])
                if version > FORMAT_VERSION:
                    raise StoreError(f"{path} has format_version {version}, newer than this "
                                     f"ezspark reads ({FORMAT_VERSION}): upgrade ezspark "
                                     "(pip install --upgrade ezspark)")
                attrs_ = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
                config_json = f["config"][()]
                if isinstance(config_json, bytes):
                    config_json = config_json.decode("utf-8")
                history = f["history"][()]
                champions = {}
                for name, g in f.get("champions", {}).items():
                    data = {k: g[k][()] for k in g}
                    champions[int(g.attrs["generation"])] = (
                        data, {k: v.item() for k, v in g.attrs.items()})
        except StoreError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise StoreError(f"{path} cannot be read as an ezspark run: {exc}") from exc
        return cls(path, attrs_, config_json, history, champions)

    @property
    def config(self):
        return TrainingConfig.from_json(self.config_json)

    @property
    def env_id(self) -> str | None:
        return self.attrs.get("env_id") or None

    @property
    def generations(self) -> list[int]:
        """Generations with a stored champion, in increasing order."""
        return sorted(self._champions)

    def history_rows(self) -> list[GenerationStats]:
        names = [n for n in HISTORY_FIELDS if n in (self.history.dtype.names or ())]
        return [GenerationStats(**{n: row[n].item() for n in names}) for row in self.history]

    def champion(self, generation: int | None = None):
        """The champion of ``generation`` (default: the newest stored one)."""
        if not self._champions:
            raise StoreError(f"{self.path} holds no champion yet")
        if generation is None:
            generation = max(self._champions)
        if generation not in self._champions:
            stored = self.generations
            shown = ", ".join(map(str, stored[:8])) + (", …" if len(stored) > 8 else "")
            raise StoreError(f"generation {generation} has no stored champion in {self.path} "
                             f"(stored: {shown}); choose a stored one (--generation/-g G on "
                             "the command line)")
        data, meta = self._champions[generation]
        kinds = data["node_kind"]
        n_in = int((kinds == NODE_INPUT).sum())
        n_out = int((kinds == NODE_OUTPUT).sum())
        genome = Genome(data["conn_innovation"], data["conn_in"], data["conn_out"],
                        data["conn_weight"], data["conn_enabled"])
        return Champion(genome, n_in, n_out, generation=int(meta["generation"]),
                        fitness=float(meta["fitness"]), species=int(meta["species"]),
                        env_id=self.env_id)


def is_json_file(path) -> bool:
    """Whether ``path`` is a file whose content starts like JSON (``{`` or ``[``, after
    white space or a byte order mark): told by content, whatever the suffix."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False                    # RunFile.open names the problem
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")


def load_champion(path, generation: int | None = None):
    """The champion stored in ``path`` for ``generation``: a run.h5 (or the directory holding
    it; default: the newest stored champion), or a champion JSON written by ``ezspark export``
    (told by content).  It has ``act()`` and ``activate()``."""
    if is_json_file(path):
        # cycle: store.export imports atomic_replace and StoreError from this module
        from ezspark.store.export import read_champion_json
        return read_champion_json(path, generation)
    return RunFile.open(path).champion(generation)
