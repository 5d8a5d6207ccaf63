"""Console reporters: a progress bar over the genomes of each generation (stderr) and one
summary line per generation (stdout).

``ezspark.train(..., progress=True)`` and ``ezspark run`` (unless ``--quiet``) register
them for the run under the names ``ezspark.progress`` and ``ezspark.summary``; block
either name on the plugin manager to silence it, or register your own reporter beside it.
"""
from __future__ import annotations

import shutil
import sys
import time

from ezspark import hookimpl


class ProgressBar:
    """Redraws ``gen K [#####.....] done/total genomes`` on stderr (TTY only, 10 Hz)."""

    def __init__(self, stream=None, interval: float = 0.1):
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._shown = False

    @property
    def enabled(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def _draw(self, generation, done, total):
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 40))
        filled = int(width * done / total) if total else width
        self.stream.write(f"\rgen {generation} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{total} genomes")
        self.stream.flush()
        self._shown = True

    def _clear(self):
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    @hookimpl
    def ezspark_generation_start(self, run, generation, population):
        if self.enabled:
            self._draw(generation, 0, population)
            self._last = time.monotonic()

    @hookimpl
    def ezspark_genomes_evaluated(self, run, generation, done, total):
        if self.enabled and (done == total or time.monotonic() - self._last >= self.interval):
            self._draw(generation, done, total)
            self._last = time.monotonic()

    @hookimpl
    def ezspark_generation_end(self, run, stats):
        self._clear()

    @hookimpl
    def ezspark_run_end(self, run, result):
        self._clear()


class SummaryLine:
    """One line per generation on stdout: generation, best and mean fitness, population,
    species, env steps per second."""

    def __init__(self, stream=None):
        self.stream = stream

    def _echo(self, text):
        stream = self.stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    @hookimpl
    def ezspark_run_start(self, run):
        what = run.env_id or "fitness function"
        self._echo(f"ezspark: training on {what}, seed {run.seed}, up to {run.generations} "
                   f"generations" + (f", writing {run.out}" if run.out else ""))

    @hookimpl
    def ezspark_generation_end(self, run, stats):
        species = "-" if stats.species < 0 else str(stats.species)
        rate = stats.env_steps / stats.seconds if stats.seconds > 0 else 0.0
        self._echo(f"gen {stats.generation:>6}  best {stats.best_fitness:>10.4g}  "
                   f"mean {stats.mean_fitness:>10.4g}  pop {stats.population:>6}  "
                   f"species {species:>4}  {rate:>10,.0f} steps/s")
