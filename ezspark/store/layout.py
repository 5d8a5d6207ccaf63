"""The layout of ``run.h5`` shared by its writer and its readers: format versions, table
dtypes, and the atomic file replacement both files use.

Format 2 (docs/architecture.md "run.h5")::

    /                     attrs: format_version (2), ezspark_version, env_id, seed, created,
                                 status, stopped_at, reason, wall_seconds, env_steps,
                                 actions (JSON of a Box action space's bounds; "" or
                                 absent: Discrete actions)
    /config               string dataset: the training JSON, normalised
    /history              HISTORY_DTYPE, one row per generation, appended
    /champions/index      INDEX_DTYPE, one row per stored champion, appended (files from
                          before validation scores lack that column: read as NaN)
    /champions/nodes      NODE_DTYPE, the nodes of every stored champion, one after another
    /champions/connections  CONNECTION_DTYPE, likewise their connection genes
    /live/wall_seconds    float64[1]: the run's wall time, rewritten in place at every flush
    /population/index     GENOME_INDEX_DTYPE, one row per genome of every stored generation
    /population/nodes, /population/connections   as the champions' (runs with
                          save_population > 0, root attribute save_population; see
                          ezspark.store.population)

Champion k is ``nodes[node_offset:node_offset + node_count]`` and
``connections[conn_offset:conn_offset + conn_count]`` of index row k.  Every table is
chunked and resizable, created before the writer enters SWMR mode (no object can be created
then); the root attributes are written when the file is created and again once the run
has ended, after SWMR mode is left.

Format 1 (still read, converted when resumed) kept one group per champion,
``/champions/gen_000042/`` with node_id, node_kind, conn_innovation, conn_in, conn_out,
conn_weight, conn_enabled and attrs generation, fitness, species.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ezspark.store.history import HISTORY_FIELDS, GenerationStats

__all__ = ["FORMAT_VERSION", "HISTORY_DTYPE", "INDEX_DTYPE", "NODE_DTYPE",
           "CONNECTION_DTYPE", "GENOME_INDEX_DTYPE", "END_ATTRS", "StoreError", "atomic_replace", "conformed", "history_rows", "stats_from_rows",
           "NODE_INPUT", "NODE_OUTPUT", "NODE_HIDDEN"]

FORMAT_VERSION = 2
NODE_INPUT, NODE_OUTPUT, NODE_HIDDEN = 0, 1, 2
HISTORY_DTYPE = np.dtype([
    ("generation", np.int64), ("best_fitness", np.float64), ("mean_fitness", np.float64),
    ("population", np.int64), ("species", np.int64), ("evaluations", np.int64),
    ("env_steps", np.int64), ("reward_violations", np.int64), ("seconds", np.float64),
    ("checks", np.int64), ("mismatches", np.int64), ("excluded", np.int64),
])
assert HISTORY_DTYPE.names == HISTORY_FIELDS
INDEX_DTYPE = np.dtype([
    ("generation", np.int64), ("fitness", np.float64), ("species", np.int64),
    ("node_offset", np.int64), ("node_count", np.int64),
    ("conn_offset", np.int64), ("conn_count", np.int64), ("validation", np.float64),
])
#: a genome of a stored population: its generation, its index in that generation's
#: population, its species (-1: none, the final generation is not speciated) and fitness
GENOME_INDEX_DTYPE = np.dtype([
    ("generation", np.int64), ("genome", np.int64), ("species", np.int64),
    ("fitness", np.float64), ("node_offset", np.int64), ("node_count", np.int64),
    ("conn_offset", np.int64), ("conn_count", np.int64),
])
NODE_DTYPE = np.dtype([("id", np.int32), ("kind", np.uint8)])
CONNECTION_DTYPE = np.dtype([("innovation", np.int32), ("in", np.int32), ("out", np.int32),
                             ("weight", np.float64), ("enabled", np.bool_)])
#: The root attributes that say how a run ended, and their values before it ends.
END_ATTRS = {"status": "running", "stopped_at": -1, "reason": "", "wall_seconds": 0.0,
             "env_steps": 0}


class StoreError(ValueError):
    """A run file or directory cannot be used (a user mistake: exit code 2 in the CLI)."""


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


def conformed(rows: np.ndarray, dtype: np.dtype, missing: dict | None = None) -> np.ndarray:
    """``rows`` of a table as ``dtype``: a file written before a column was added lacks it,
    which then holds ``missing[name]`` (default 0); columns ``dtype`` lacks are dropped."""
    if rows.dtype == dtype:
        return rows
    out = np.zeros(rows.shape[0], dtype=dtype)
    for name in dtype.names:
        if name in (rows.dtype.names or ()):
            out[name] = rows[name]
        elif missing and name in missing:
            out[name] = missing[name]
    return out


def history_rows(stats: list) -> np.ndarray:
    """GenerationStats as HISTORY_DTYPE rows."""
    return np.array([tuple(getattr(s, n) for n in HISTORY_FIELDS) for s in stats],
                    dtype=HISTORY_DTYPE)


def stats_from_rows(rows: np.ndarray) -> list[GenerationStats]:
    """History rows (of either format: a column the file lacks keeps its default) as
    GenerationStats."""
    names = [n for n in HISTORY_FIELDS if n in (rows.dtype.names or ())]
    return [GenerationStats(**{n: row[n].item() for n in names}) for row in rows]
