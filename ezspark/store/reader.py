"""Reading ``run.h5`` (formats 1 and 2) and champions: ``RunFile``, ``load_champion``.

Files are opened with ``swmr=True``: that reads a file a run is still writing, one whose
writer was killed (its consistency flags still set, which a plain read refuses) and an
ordinary closed file alike.  The file is read into memory and closed again at once, and
opened without HDF5's file lock: a reader's lock would make the writer's last step, which
reopens the file without SWMR to record how the run ended, fail.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ezspark.config.training import TrainingConfig
from ezspark.network.actions import BoxActions
from ezspark.store.champions import ChampionTable, index_rows
from ezspark.store.export import read_champion_json
from ezspark.store.history import GenerationStats
from ezspark.store.layout import FORMAT_VERSION, StoreError, stats_from_rows
from ezspark.store.population import config_flag, read_population, stored_generations

__all__ = ["RunFile", "load_champion", "is_json_file", "read_run_tables",
           "checked_path", "root_attrs", "config_text"]


def checked_path(path) -> Path:
    """The run.h5 ``path`` names (itself or inside a directory), or a clear StoreError."""
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
    return path


def read_run_tables(f: h5py.File, path: Path) -> tuple[dict, str, np.ndarray, ChampionTable]:
    """Root attributes, config JSON, history and champions of an open run.h5 of either
    format (format 1 champion groups become flat tables)."""
    if "format_version" not in f.attrs or "config" not in f or "history" not in f:
        raise StoreError(f"{path} is an HDF5 file but not an ezspark run "
                         "(no format_version, /config or /history)")
    version = int(f.attrs["format_version"])
    if version > FORMAT_VERSION:
        raise StoreError(f"{path} has format_version {version}, newer than this "
                         f"ezspark reads ({FORMAT_VERSION}): upgrade ezspark "
                         "(pip install --upgrade ezspark)")
    attrs_ = root_attrs(f)
    config_json = config_text(f)
    history = f["history"][()]
    if version == 1:
        return attrs_, config_json, history, ChampionTable.from_groups(f.get("champions", {}))
    if attrs_.get("status") == "running":      # totals of a run still writing (or killed)
        attrs_["wall_seconds"] = float(f["live"]["wall_seconds"][0])
        attrs_["env_steps"] = int(history["env_steps"].sum())
    return attrs_, config_json, history, _flat_champions(f["champions"])


def root_attrs(f: h5py.File) -> dict:
    """The root attributes of an open run.h5 as Python values."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}


def config_text(f: h5py.File) -> str:
    """The training JSON stored in an open run.h5."""
    text = f["config"][()]
    return text.decode("utf-8") if isinstance(text, bytes) else text


def _read_file(path: Path, read):
    """``read(f)`` of the run.h5 at ``path`` opened for reading (see the module docstring);
    what the file cannot give becomes a StoreError naming it."""
    try:
        with h5py.File(path, "r", swmr=True, locking=False) as f:
            return read(f)
    except StoreError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:   # RuntimeError: a cut file
        raise StoreError(f"{path} cannot be read as an ezspark run: {exc}") from exc


def _flat_champions(group: h5py.Group) -> ChampionTable:
    """The format-2 tables; index rows whose nodes or connections a live writer has not
    flushed yet are left out."""
    nodes, conns = group["nodes"][()], group["connections"][()]
    index = index_rows(group["index"][()])
    whole = ((index["node_offset"] + index["node_count"] <= nodes.shape[0])
             & (index["conn_offset"] + index["conn_count"] <= conns.shape[0]))
    return ChampionTable(index[whole], nodes, conns)


class RunFile:
    """A ``run.h5`` read into memory (the file is closed again at once)."""

    def __init__(self, path, attrs_: dict, config_json: str, history: np.ndarray,
                 champions: ChampionTable):
        self.path = Path(path)
        self.attrs = attrs_
        self.config_json = config_json
        self.history = history                  # structured array, HISTORY_DTYPE
        self.champions = champions
        champions.recurrent = self.recurrent
        champions.bias_input = self.bias_input
        champions.actions = self.actions

    @classmethod
    def open(cls, path) -> "RunFile":
        path = checked_path(path)
        return cls(path, *_read_file(path, lambda f: read_run_tables(f, path)))

    @property
    def config(self):
        return TrainingConfig.from_json(self.config_json)

    @property
    def recurrent(self) -> bool:
        """The run's ``recurrent`` key (its stored config): its champions' networks may have
        cycles and state (docs/algorithm.md 3.4)."""
        return config_flag(self.config_json, "recurrent")

    @property
    def bias_input(self) -> bool:
        """The run's ``bias_input`` key (its stored config): the last input node of its
        champions' networks is the bias, always 0.5 (docs/algorithm.md 3.4)."""
        return config_flag(self.config_json, "bias_input")

    @property
    def env_id(self) -> str | None:
        return self.attrs.get("env_id") or None

    @property
    def actions(self) -> BoxActions | None:
        """The bounds of a continuous action space (attribute ``actions``), None for
        Discrete actions and for files written before continuous actions existed."""
        text = self.attrs.get("actions") or ""
        return BoxActions.from_json(text) if text else None

    @property
    def generations(self) -> list[int]:
        """Generations with a stored champion, in increasing order."""
        return self.champions.generations

    def history_rows(self) -> list[GenerationStats]:
        return stats_from_rows(self.history)

    def champion(self, generation: int | str | None = None):
        """A stored champion: ``generation`` None or "best" (the default everywhere), the one
        with the best validation score (docs/algorithm.md 6.5; the newest when no champion
        has one); "last", the newest; a number, that generation's."""
        stored = self.generations
        if not stored:
            raise StoreError(f"{self.path} holds no champion yet")
        if generation is None or generation == "best":
            return self.champions.champion_at(self.champions.best_row(), self.env_id)
        if generation == "last":
            generation = stored[-1]
        if generation not in stored:
            shown = ", ".join(map(str, stored[:8])) + (", …" if len(stored) > 8 else "")
            raise StoreError(f"generation {generation} has no stored champion in {self.path} "
                             f"(stored: {shown}); choose a stored one, or best or last "
                             "(--generation/-g on the command line)")
        return self.champions.champion(generation, self.env_id)

    @property
    def populations(self) -> list[int]:
        """Generations whose whole population is stored (``--save-population``), in
        increasing order; read from the file now (a live run's too)."""
        return _read_file(self.path, stored_generations)

    def population(self, generation: int) -> list:
        """Every genome of a stored generation as Champions, in population order (genome
        i is element i; ``fitness`` and ``species`` set), read from the file now: only
        that generation's rows.  A generation not stored is a StoreError."""
        return _read_file(self.path,
                          lambda f: read_population(f, self.path, generation, self.env_id))


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


def load_champion(path, generation: int | str | None = None):
    """The champion stored in ``path``: a run.h5 (or the directory holding it), or a
    champion JSON written by ``ezspark export`` (told by content).  ``generation``: None or
    "best" (default), the champion with the best validation score (the newest when none
    has one); "last", the newest; a number, that generation's.  It has ``act()`` and
    ``activate()``."""
    if is_json_file(path):
        return read_champion_json(path, generation)
    return RunFile.open(path).champion(generation)
