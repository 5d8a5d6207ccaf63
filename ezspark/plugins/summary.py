"""Built-in reporter: one line per generation on stdout (generation, best and mean
fitness, population, species, environment steps per second).

Printed only when the run asks for progress (``ezspark run`` without ``--quiet``,
``ezspark.train(..., progress=True)``).  Block the plugin name ``ezspark.plugins.summary``
to silence it.
"""
from __future__ import annotations

import sys

from ezspark import hookimpl


def _echo(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@hookimpl
def ezspark_run_start(run):
    if run.progress:
        what = run.env_id or "a fitness function"
        _echo(f"ezspark: training on {what}, seed {run.seed}, up to {run.generations} "
              "generations" + (f", writing {run.out}" if run.out else ""))


def generation_line(stats) -> str:
    """The line of one generation (also ``ezspark inspect RUN --follow``'s)."""
    species = "-" if stats.species < 0 else str(stats.species)
    rate = stats.env_steps / stats.seconds if stats.seconds > 0 else 0.0
    return (f"gen {stats.generation:>6}  best {stats.best_fitness:>10.4g}  "
            f"mean {stats.mean_fitness:>10.4g}  pop {stats.population:>6}  "
            f"species {species:>4}  {rate:>10,.0f} steps/s")


@hookimpl
def ezspark_generation_end(run, stats):
    if run.progress:
        _echo(generation_line(stats))
