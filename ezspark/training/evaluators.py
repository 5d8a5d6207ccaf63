"""Choosing and building the run's evaluator from ``train()``'s options.

The generation loop knows evaluators only through the contract
(:class:`~ezspark.evaluation.contract.Evaluator`); this module is the one place that knows
the kinds there are: a fitness function, this process, ``workers`` processes, and a Dask
cluster (``serve`` or ``scheduler``) after an alone phase on one of the local two.  A new
kind of evaluator is a new branch here and nothing else.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ezspark.config.training import ConfigError, Problem, TrainingConfig
from ezspark.distributed import ServedEvaluator, parse_host_port
from ezspark.evaluation.contract import Evaluator
from ezspark.evaluation.envs import EnvInfo
from ezspark.evaluation.function import FunctionEvaluator
from ezspark.evaluation.local import EnvEvaluator
from ezspark.evaluation.processes import ProcessEvaluator

__all__ = ["check_evaluation_options", "build_evaluator"]


def check_evaluation_options(*, fitness: Callable | None, workers, serve: str | None,
                             scheduler: str | None) -> None:
    """Refuses option combinations no evaluator can honour (before the run makes files)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError([Problem("workers", workers, f"{workers!r} is not an integer >= 1")])
    if serve is not None and scheduler is not None:
        raise ConfigError("serve and scheduler exclude each other: serve starts a Dask "
                          "scheduler, scheduler uses an existing one")
    if (serve is not None or scheduler is not None) and fitness is not None:
        raise ConfigError("distributed runs evaluate environments; they cannot use a "
                          "fitness function")


def build_evaluator(cfg: TrainingConfig, info: EnvInfo | None, *,
                    fitness: Callable | None = None, workers: int = 1,
                    serve: str | None = None, scheduler: str | None = None,
                    directory: Path | None = None,
                    announce: Callable[[str, Path], None] | None = None) -> Evaluator:
    """The evaluator of a run: ``fitness`` (no environment, ``info`` None), else the
    environment ``info`` on this process or on ``workers`` processes, served to other
    machines from generation ``alone_training_iterations`` on with ``serve`` ("HOST:PORT")
    or ``scheduler`` (an address).  ``directory`` receives the served run's credentials
    and ``announce(address, join_file)`` tells the user how to join it."""
    if fitness is not None:
        return FunctionEvaluator(fitness)
    if workers > 1:
        local: Evaluator = ProcessEvaluator.from_config(cfg, info, workers)
    else:
        local = EnvEvaluator.from_config(cfg, info)
    if serve is None and scheduler is None:
        return local
    try:
        return ServedEvaluator(           # says how to install Dask if it is missing
            cfg, info, local, serve=parse_host_port(serve) if serve is not None else None,
            scheduler=scheduler, workers=workers, directory=directory, announce=announce)
    except BaseException:
        local.close()
        raise
