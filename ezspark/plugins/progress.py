"""Built-in reporter: a progress bar over the genomes of each generation, on stderr.

Drawn only when the run asks for progress (``ezspark run`` without ``--quiet``,
``ezspark.train(..., progress=True)``) and stderr is a terminal; redrawn at most 10 times
a second.  Block the plugin name ``ezspark.plugins.progress`` to silence it.
"""
from __future__ import annotations

import shutil
import sys
import time

from ezspark import hookimpl

INTERVAL = 0.1          # seconds between redraws
_last: dict[int, float] = {}


def _active(run) -> bool:
    return bool(run.progress) and sys.stderr.isatty()


def _draw(generation: int, done: int, total: int) -> None:
    width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 40))
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\rgen {generation} [{'#' * filled}{'.' * (width - filled)}] "
                     f"{done}/{total} genomes")
    sys.stderr.flush()


def _clear(run) -> None:
    if _last.pop(id(run), None) is not None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


@hookimpl
def ezspark_generation_start(run, generation, population):
    if _active(run):
        _draw(generation, 0, population)
        _last[id(run)] = time.monotonic()


@hookimpl
def ezspark_genomes_evaluated(run, generation, done, total):
    last = _last.get(id(run))
    if last is not None and (done == total or time.monotonic() - last >= INTERVAL):
        _draw(generation, done, total)
        _last[id(run)] = time.monotonic()


@hookimpl
def ezspark_generation_end(run, stats):
    _clear(run)


@hookimpl
def ezspark_run_end(run, result):
    _clear(run)
