"""The ezspark plugin of ezspark-gridmaze (entry point ``gridmaze`` in group ``ezspark``).

- ``ezspark_register_envs``: registers ``ezspark_gridmaze/GridMaze-v0`` (100 steps per
  episode at most).
- A CSV history reporter, for every run (whatever its environment, fitness functions
  included): ``ezspark_run_start`` opens ``history.csv`` in the run's directory (the
  directory of ``run.out``); a run that keeps no files (``run.out`` is None) writes to the
  path in the environment variable ``EZSPARK_GRIDMAZE_CSV`` if it is set, and nowhere
  otherwise.  The file gets a header of the GenerationStats field names, then one row per
  ``ezspark_generation_end``, flushed at once, and is closed by ``ezspark_run_end``.
  A resumed run (``run.start_generation`` > 0) keeps the rows of the generations before
  the one it continues from and appends after them.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import attrs

from ezspark import GenerationStats, hookimpl

ENV_ID = "ezspark_gridmaze/GridMaze-v0"
CSV_NAME = "history.csv"
CSV_ENV_VAR = "EZSPARK_GRIDMAZE_CSV"

#: The CSV columns: the fields of one row of history, in order.
FIELDS = tuple(field.name for field in attrs.fields(GenerationStats))

# id(run) -> (open file, csv writer).  Keyed by the run object's id so that
# several runs in one process (one after another, or interleaved) never share a file.
_open_runs: dict[int, tuple] = {}


@hookimpl
def ezspark_register_envs(register):
    register(ENV_ID, "ezspark_gridmaze.env:GridMazeEnv", max_episode_steps=100)


def csv_path(run) -> Path | None:
    """Where the history of ``run`` goes, or None."""
    if run.out is not None:
        return Path(run.out).parent / CSV_NAME
    path = os.environ.get(CSV_ENV_VAR)
    return Path(path) if path else None


@hookimpl
def ezspark_run_start(run):
    _close(id(run))                      # a stale entry whose run object id was reused
    path = csv_path(run)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = _rows_before(path, getattr(run, "start_generation", 0) or 0)
    stream = open(path, "w", newline="", encoding="utf-8")
    writer = csv.writer(stream)
    writer.writerow(FIELDS)
    writer.writerows(kept)
    stream.flush()
    _open_runs[id(run)] = (stream, writer)


@hookimpl
def ezspark_generation_end(run, stats):
    entry = _open_runs.get(id(run))
    if entry is None:
        return
    stream, writer = entry
    writer.writerow([getattr(stats, name) for name in FIELDS])   # floats as str(): exact
    stream.flush()


@hookimpl
def ezspark_run_end(run, result):
    _close(id(run))


def _rows_before(path: Path, generation: int) -> list[list[str]]:
    """The rows of an existing ``path`` for generations before ``generation``: what a
    resumed run (``run.start_generation`` > 0) keeps.  A fresh run keeps nothing."""
    if generation <= 0 or not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    if not rows or tuple(rows[0]) != FIELDS:
        return []
    column = FIELDS.index("generation")
    return [row for row in rows[1:] if len(row) == len(FIELDS) and int(row[column]) < generation]


def _close(key: int) -> None:
    entry = _open_runs.pop(key, None)
    if entry is not None:
        entry[0].close()
