"""Stored populations in ``run.h5``: every genome of every ``save_population``-th generation,
in the flat-table style of the champions (docs/architecture.md "run.h5")::

    /population/index        GENOME_INDEX_DTYPE: generation, genome, species, fitness,
                             node_offset, node_count, conn_offset, conn_count
    /population/nodes        NODE_DTYPE, the nodes of every stored genome, one after another
    /population/connections  CONNECTION_DTYPE, likewise their connection genes

The rows of a generation are its genomes in population order (genome i of generation G is
row ``genome == i`` among the rows ``generation == G``), generations in increasing order.
Readers open the file themselves and read only the slices they need: a run that stores
thousands of generations is never loaded whole.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ezspark.config.training import ConfigError
from ezspark.network.actions import BoxActions
from ezspark.network.champion import Champion
from ezspark.store.champions import ChampionTable, node_rows
from ezspark.store.layout import CONNECTION_DTYPE, GENOME_INDEX_DTYPE, NODE_DTYPE, StoreError

__all__ = ["GROUP", "population_rows", "create_population_tables", "stored_generations",
           "read_population", "resolve_save_population", "config_flag"]

GROUP = "population"
_DTYPES = {"index": GENOME_INDEX_DTYPE, "nodes": NODE_DTYPE, "connections": CONNECTION_DTYPE}
#: rows per chunk: a flush rewrites at most the last, partly filled chunk of each table
_CHUNKS = {"index": 1024, "nodes": 16384, "connections": 16384}
#: rows copied at once when a resume rewrites run.h5 (bounded memory, whatever the size)
_COPY_BLOCK = 1 << 20


def population_rows(generation: int, population, fitness: np.ndarray, species: np.ndarray,
                    n_inputs: int, n_outputs: int, node_start: int,
                    conn_start: int) -> ChampionTable:
    """The rows of one generation (``population`` a Population) as an index, node and
    connection table, offsets counted from ``node_start`` and ``conn_start``."""
    size = len(population)
    index = np.zeros(size, dtype=GENOME_INDEX_DTYPE)
    index["generation"] = generation
    index["genome"] = np.arange(size)
    index["species"] = species
    index["fitness"] = fitness
    index["conn_count"] = np.diff(population.off)
    conns = np.empty(int(population.off[-1]), dtype=CONNECTION_DTYPE)
    for name, column in zip(CONNECTION_DTYPE.names, ("innovation", "src", "dst", "weight",
                                                     "enabled")):
        conns[name] = getattr(population, column)
    nodes, index["node_count"] = node_rows(np.full(size, n_inputs, np.int64),
                                           np.full(size, n_outputs, np.int64), conns,
                                           index["conn_count"])
    index["node_offset"] = node_start + np.cumsum(index["node_count"]) - index["node_count"]
    index["conn_offset"] = conn_start + np.cumsum(index["conn_count"]) - index["conn_count"]
    return ChampionTable(index, nodes, conns)


def create_population_tables(f: h5py.File, old: h5py.File | None, keep_below: int) -> None:
    """Create ``/population`` in ``f`` (a file not yet in SWMR mode), holding the rows of
    the generations below ``keep_below`` that ``old`` stores (a resume), copied in blocks."""
    group = f.create_group(GROUP)
    for name, dtype in _DTYPES.items():
        group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                             chunks=(_CHUNKS[name],))
    if old is None or GROUP not in old:
        return
    src = old[GROUP]
    generations = src["index"]["generation"]
    rows = int(np.searchsorted(generations, keep_below, side="left"))
    index = src["index"][:rows]
    ends = {"index": rows, "nodes": _end(index, "node"), "connections": _end(index, "conn")}
    for name, end in ends.items():
        for start in range(0, end, _COPY_BLOCK):
            append(group[name], src[name][start:min(end, start + _COPY_BLOCK)])


def _end(index: np.ndarray, prefix: str) -> int:
    if not index.shape[0]:
        return 0
    return int(index[f"{prefix}_offset"][-1] + index[f"{prefix}_count"][-1])


def append(table: h5py.Dataset, rows: np.ndarray) -> None:
    """Append ``rows`` to a resizable table in place."""
    if rows.shape[0]:
        start = table.shape[0]
        table.resize((start + rows.shape[0],))
        table[start:] = rows


def _whole_rows(group: h5py.Group) -> np.ndarray:
    """The index rows whose nodes and connections are in the file (a live writer appends
    the index last; a killed one may have left a generation half written)."""
    index = group["index"][()]
    whole = ((index["node_offset"] + index["node_count"] <= group["nodes"].shape[0])
             & (index["conn_offset"] + index["conn_count"] <= group["connections"].shape[0]))
    return index[whole]


def stored_generations(f: h5py.File) -> list[int]:
    """The generations whose population ``f`` stores (none without ``/population``)."""
    if GROUP not in f:
        return []
    return np.unique(_whole_rows(f[GROUP])["generation"]).tolist()


def read_population(f: h5py.File, path: Path, generation: int,
                    env_id: str | None) -> list[Champion]:
    """Every genome of ``generation`` as a Champion (its ``generation``, ``fitness`` and
    ``species`` set), in population order; a generation not stored is a StoreError naming
    the stored ones and ``--save-population``."""
    index = _whole_rows(f[GROUP]) if GROUP in f else np.empty(0, GENOME_INDEX_DTYPE)
    rows = index[index["generation"] == generation]
    if not rows.shape[0]:
        stored = np.unique(index["generation"]).tolist()
        shown = ", ".join(map(str, stored[:8])) + (", …" if len(stored) > 8 else "")
        where = (f"stored: {shown}" if stored else "this run stores no population: run it "
                 "with --save-population EVERY (save_population=EVERY in Python)")
        raise StoreError(f"generation {generation} has no stored population in {path} "
                         f"({where})")
    group = f[GROUP]
    n0, c0 = int(rows["node_offset"][0]), int(rows["conn_offset"][0])
    nodes = group["nodes"][n0:_end(rows, "node")]
    conns = group["connections"][c0:_end(rows, "conn")]
    rows = rows.copy()
    rows["node_offset"] -= n0
    rows["conn_offset"] -= c0
    table = ChampionTable(rows, nodes, conns, recurrent=stored_key(f, "recurrent"),
                          actions=stored_actions(f), bias_input=stored_key(f, "bias_input"))
    return [table.champion_at(k, env_id) for k in range(rows.shape[0])]


def stored_actions(f: h5py.File) -> BoxActions | None:
    """The continuous action space a run.h5 stores (attribute ``actions``; None: Discrete)."""
    text = f.attrs.get("actions") or ""
    return BoxActions.from_json(text) if text else None


def stored_key(f: h5py.File, key: str) -> bool:
    """A boolean extension key (``recurrent``, ``bias_input``) of the config a run.h5
    stores (``config_flag``)."""
    return config_flag(f["config"][()] if "config" in f else "", key)


def config_flag(config_json: str | bytes | None, key: str) -> bool:
    """A boolean extension key of a stored config JSON: false when absent (a file from
    before the key, or no config)."""
    text = config_json.decode() if isinstance(config_json, bytes) else str(config_json or "")
    return json.loads(text or "{}").get(key) is True


def resolve_save_population(every: int | None, directory: Path | None, *,
                            resumed: bool) -> int:
    """The ``save_population`` of a run: ``every`` checked, or when None 0 for a new run
    and the stored value for a resumed one (it goes on as it was started)."""
    if every is None:
        path = directory / "run.h5" if directory is not None else None
        if not resumed or path is None or not path.exists():
            return 0
        try:
            with h5py.File(path, "r", swmr=True, locking=False) as f:
                return int(f.attrs.get("save_population", 0))
        except OSError:
            return 0                # the run store names the problem of an unreadable file
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 0:
        raise ConfigError(f"save_population must be an integer >= 0 (0: store no "
                          f"population), not {every!r}")
    if every and directory is None:
        raise ConfigError("save_population stores populations in run.h5 and needs the run's "
                          "output directory (--out DIR; out=DIR in Python)")
    return int(every)
