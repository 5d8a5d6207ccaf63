"""``ezspark.train``: a run from its options to its result.

``train`` checks the options, loads or starts the run's state, builds the evaluator
(:mod:`ezspark.training.evaluators`) and hands them to the generation loop
(:mod:`ezspark.training.loop`, docs/algorithm.md 5.1).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

import attrs

from ezspark.config.training import TrainingConfig
from ezspark.evaluation.envs import inspect_env
from ezspark.evaluation.validation import Validator
from ezspark.network.champion import Champion
from ezspark.plugins.manager import get_plugin_manager
from ezspark.store.checkpoint import RunState
from ezspark.store.history import RunResult
from ezspark.store.population import resolve_save_population
from ezspark.store.runfile import prepare_run_directory
from ezspark.training.evaluators import build_evaluator, check_evaluation_options
from ezspark.training.loop import GenerationLoop, RewardBelowMinimum, RunInfo
from ezspark.training.resume import SAFE_TO_CHANGE, load_resume_state
from ezspark.training.seeds import MAX_SEED, make_streams, resolve_seed

# RewardBelowMinimum, RunInfo, SAFE_TO_CHANGE, MAX_SEED and make_streams live with the step
# they belong to; they stay importable from here, where the CLI, tests and benchmarks look
__all__ = ["train", "RunInfo", "RewardBelowMinimum", "resolve_seed", "make_streams",
           "SAFE_TO_CHANGE", "MAX_SEED"]


def train(config: TrainingConfig | str | os.PathLike, *, out: str | os.PathLike | None = None,
          seed: int | None = None, fitness: Callable | None = None,
          generations: int | None = None, workers: int = 1, progress: bool = False,
          overwrite: bool = False, resume: bool = False, allow_changes: bool = False,
          checkpoint_seconds: float = 1.0, plugins=None,
          stop: Callable[[Champion], bool] | None = None, serve: str | None = None,
          scheduler: str | None = None, on_serve: Callable | None = None,
          save_population: int | None = None) -> RunResult:
    """Train a population on the configured gymnasium environment, or on ``fitness``.

    ``config`` is a TrainingConfig or the path of a training JSON.  ``fitness``, if given,
    replaces the environment: it receives the compiled networks of the whole generation
    (``nets.activate(X)`` gives outputs of shape (P, rows, output_size)) and returns P
    fitness values.  ``generations`` overrides the config's ``generations``.

    ``out`` is a directory that receives ``run.h5`` and ``checkpoint.h5`` (an existing run
    there is refused unless ``overwrite``); with None the run keeps no files.  The
    checkpoint is written after a generation when ``checkpoint_seconds`` have passed since
    the last one (0: after every generation), and always when the run ends, is interrupted
    or fails.  ``resume=True`` continues the run in ``out`` from its checkpoint, a finished
    run included when ``generations`` asks for more than it evaluated: the history is then
    the one a run asked for that many generations from the start gives.  The configuration
    must equal the checkpoint's, except ``generations``, and with ``allow_changes`` the
    other keys in ``SAFE_TO_CHANGE`` (e.g. ``fitness_threshold``).

    ``save_population`` EVERY > 0 stores every genome (with its fitness and species) of
    the generations k with k mod EVERY = 0 in run.h5 (``RunFile.population(k)`` reads
    them back); 0 stores none; None: 0, or for a resumed run what it stored with.

    ``workers`` > 1 evaluates on that many processes.  ``progress`` shows a progress bar
    and one line per generation.  ``plugins`` is a pluggy PluginManager (default:
    ezspark's, with installed plugins).  ``stop``, if given, is called with each
    generation's champion (its ``generation`` and ``fitness`` set) and ends the run after
    that generation when it returns True, like ``fitness_threshold`` does.

    ``serve`` ("HOST:PORT", e.g. "0.0.0.0:8786"; port 0 picks a free port) opens the run to
    other machines after ``alone_training_iterations`` generations: a TLS Dask scheduler
    starts in this process with ``workers`` worker processes of its own, credentials are
    written to ``out/serve/`` and ``on_serve(address, join_file)`` is called (default: print
    the ``python -m ezspark join`` command).  ``scheduler`` (an address) evaluates on an
    existing Dask cluster instead.  Both need ``pip install 'ezspark[distributed]'``; see
    docs/distributed.md.

    Blocks until the run ends and returns a RunResult.  Ctrl-C (KeyboardInterrupt) stops
    the run after saving the state of the last finished generation; the result then has
    ``stopped == "interrupted"``.
    """
    cfg, state, info, directory, run = _prepare(
        config, out=out, seed=seed, fitness=fitness, generations=generations, workers=workers,
        progress=progress, overwrite=overwrite, resume=resume, allow_changes=allow_changes,
        serve=serve, scheduler=scheduler, save_population=save_population)
    pm = plugins if plugins is not None else get_plugin_manager()
    with _evaluation(cfg, info, run, directory, fitness=fitness, workers=workers, serve=serve,
                     scheduler=scheduler, on_serve=on_serve) as (evaluator, validator):
        checkpoint = directory / "checkpoint.h5" if directory is not None else None
        loop = GenerationLoop(cfg, run, evaluator, pm.hook, stop=stop, checkpoint=checkpoint,
                              interval=float(checkpoint_seconds), validator=validator)
        return loop.run(state)


@contextlib.contextmanager
def _evaluation(cfg: TrainingConfig, info, run: RunInfo, directory: Path | None, *, fitness,
                workers, serve, scheduler, on_serve):
    """What plays the run's episodes, closed when the run ends: the evaluator of every
    generation, and the validator of stored champions (docs/algorithm.md 6.5; None with a
    fitness function, ``info`` None, or ``validation_games`` 0)."""
    evaluator = build_evaluator(cfg, info, fitness=fitness, workers=workers, serve=serve,
                                scheduler=scheduler, announce=on_serve,
                                directory=directory / "serve" if directory is not None else None)
    validator = (None if info is None or cfg.validation_games == 0 else
                 Validator(info, cfg.validation_games, cfg.max_number_of_steps, run.seed))
    with evaluator, contextlib.closing(validator) if validator else contextlib.nullcontext():
        yield evaluator, validator


def _prepare(config, *, out, seed, fitness, generations, workers, progress, overwrite, resume,
             allow_changes, serve, scheduler, save_population):
    """Everything checked and loaded before the evaluator starts: the config, the
    checkpoint's state when resuming (None otherwise), the environment's facts (None with a
    fitness function), the output directory and what reporters learn about the run."""
    cfg = _config(config, None if resume else generations, fitness)
    check_evaluation_options(fitness=fitness, workers=workers, serve=serve, scheduler=scheduler)
    state, cfg, run_seed = (load_resume_state(out, cfg, seed, allow_changes, generations)
                            if resume else (None, cfg, resolve_seed(seed, cfg)))
    info = None if fitness is not None else inspect_env(cfg.gym_game_name, cfg.input_size,
                                                        cfg.output_size)
    directory = (None if out is None
                 else prepare_run_directory(Path(out), resume=resume, overwrite=overwrite))
    run = _run_info(cfg, run_seed, directory, state, fitness=fitness, progress=progress,
                    overwrite=overwrite, save_population=save_population,
                    actions=info.box if info is not None else None)
    return cfg, state, info, directory, run


def _run_info(cfg: TrainingConfig, seed: int, directory: Path | None,
              state: RunState | None, *, fitness, progress, overwrite,
              save_population, actions=None) -> RunInfo:
    """What reporters learn about the run (the ``run`` argument of every hook)."""
    resumed = state is not None
    return RunInfo(cfg, seed, directory / "run.h5" if directory is not None else None,
                   cfg.gym_game_name if fitness is None else None, cfg.generations,
                   progress=bool(progress), overwrite=bool(overwrite),
                   start_generation=_start_generation(state), resumed=resumed,
                   save_population=resolve_save_population(save_population, directory,
                                                           resumed=resumed),
                   actions=actions)


def _start_generation(state: RunState | None) -> int:
    """The first generation the run reports: 0, the checkpoint's next generation, or for a
    finished run the final one, which is reproduced and reported again."""
    if state is None:
        return 0
    return state.next_generation - 1 if state.finished else state.next_generation


def _config(config: TrainingConfig | str | os.PathLike, generations: int | None,
            fitness: Callable | None) -> TrainingConfig:
    """The run's config: ``config`` or the training JSON it names, ``generations`` applied;
    without a fitness function its environment keys must be set."""
    cfg = config if isinstance(config, TrainingConfig) else TrainingConfig.from_json(config)
    if generations is not None:
        cfg = attrs.evolve(cfg, generations=generations)
    if fitness is None:
        cfg.check_env_keys()
    return cfg
