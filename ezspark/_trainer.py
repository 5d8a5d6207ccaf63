"""The generation loop behind ``ezspark.train`` (engine-spec 5.1, steps E and 1 to 4)."""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Callable

import attrs
import numpy as np

from ._champion import Champion
from ._config import ConfigError, Problem, TrainingConfig
from ._envs import inspect_env
from ._evaluation import EnvEvaluator, EvalResult, evaluate_fitness_function
from ._evolution import Evolution
from ._network import compile_csr
from ._stats import GenerationStats, RunResult

__all__ = ["train", "RunInfo", "RewardBelowMinimum", "resolve_seed", "make_streams"]


class RewardBelowMinimum(UserWarning):
    """An environment gave a step reward below the config's ``minimum_reward``."""

MAX_SEED = 2**63 - 1


@attrs.frozen
class RunInfo:
    """What reporters learn about the run (the ``run`` argument of every hook)."""

    config: TrainingConfig
    seed: int
    out: Path | None            # the run.h5 this run writes, or None
    env_id: str | None
    generations: int            # generations the run will evaluate at most
    progress: bool = False      # console reporters should show progress
    overwrite: bool = False     # an existing run.h5 at ``out`` may be replaced


def resolve_seed(seed: int | None, cfg: TrainingConfig) -> int:
    """The run seed: the argument, else the config's ``seed``, else fresh OS entropy."""
    if seed is None:
        seed = cfg.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (MAX_SEED + 1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ConfigError([Problem("seed", seed, f"{seed!r} is not an integer from 0 to {MAX_SEED}")])
    return int(seed)


def make_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Spec 1.2: the evolution stream and the verification stream of a run seed."""
    evolution, verification = np.random.SeedSequence(seed).spawn(2)
    return (np.random.Generator(np.random.PCG64(evolution)),
            np.random.Generator(np.random.PCG64(verification)))


def train(config: TrainingConfig | str | os.PathLike, *, out: str | os.PathLike | None = None,
          seed: int | None = None, fitness: Callable | None = None,
          generations: int | None = None, workers: int = 1, progress: bool = False,
          overwrite: bool = False, plugins=None,
          stop: Callable[[Champion], bool] | None = None) -> RunResult:
    """Train a population on the configured gymnasium environment, or on ``fitness``.

    ``config`` is a TrainingConfig or the path of a training JSON.  ``fitness``, if given,
    replaces the environment: it receives the compiled networks of the whole generation
    (``nets.activate(X)`` gives outputs of shape (P, rows, output_size)) and returns P
    fitness values.  ``generations`` overrides the config's ``generations``.  ``out`` is a
    directory that receives ``run.h5`` (an existing run there is refused unless
    ``overwrite``); with None the run keeps no files.  ``workers`` > 1 evaluates on that
    many processes.  ``progress`` shows a progress bar and one line per generation.
    ``plugins`` is a pluggy PluginManager (default: ezspark's, with installed plugins).
    ``stop``, if given, is called with each generation's champion (its ``generation`` and
    ``fitness`` set) and ends the run after that generation when it returns True, like
    ``fitness_threshold`` does (for example to validate champions on fresh episodes).

    Blocks until the run ends and returns a RunResult.  Ctrl-C (KeyboardInterrupt) stops
    the run after the last finished generation is saved; the result then has
    ``stopped == "interrupted"``.
    """
    from ._pluginmanager import get_plugin_manager

    cfg = config if isinstance(config, TrainingConfig) else TrainingConfig.from_json(config)
    if generations is not None:
        cfg = attrs.evolve(cfg, generations=generations)
    if fitness is None:
        cfg.check_env_keys()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError([Problem("workers", workers, f"{workers!r} is not an integer >= 1")])
    run_seed = resolve_seed(seed, cfg)
    pm = plugins if plugins is not None else get_plugin_manager()
    info = None
    if fitness is None:
        info = inspect_env(cfg.gym_game_name, cfg.input_size, cfg.output_size)
    run = RunInfo(cfg, run_seed, Path(out) / "run.h5" if out is not None else None,
                  None if fitness else cfg.gym_game_name, cfg.generations,
                  progress=bool(progress), overwrite=bool(overwrite))
    evaluator = None
    try:
        if info is not None:
            if workers > 1:
                from ._parallel import ProcessEvaluator
                evaluator = ProcessEvaluator.from_config(cfg, info, workers)
            else:
                evaluator = EnvEvaluator.from_config(cfg, info)
        return _loop(cfg, run, fitness, evaluator, pm.hook, stop)
    finally:
        if evaluator is not None:
            evaluator.close()


def _loop(cfg, run: RunInfo, fitness, evaluator, hook, stop=None) -> RunResult:
    n_in, n_out = cfg.input_size, cfg.output_size
    rng, _verification = make_streams(run.seed)
    evo, population = Evolution.start(cfg, rng)
    history: list[GenerationStats] = []
    champion = None
    stopped = "generations"
    warned = False
    hook.ezspark_run_start(run=run)
    try:
        for k in range(cfg.generations):
            t0 = time.perf_counter()
            size = len(population)
            hook.ezspark_generation_start(run=run, generation=k, population=size)
            programs = compile_csr(population.off, population.src, population.dst,
                                   population.weight, population.enabled, n_in, n_out)
            if fitness is not None:
                result: EvalResult = evaluate_fitness_function(fitness, programs, size)
                hook.ezspark_genomes_evaluated(run=run, generation=k, done=size, total=size)
            else:
                def report(done, k=k, size=size):
                    hook.ezspark_genomes_evaluated(run=run, generation=k, done=done, total=size)
                result = evaluator.evaluate(programs, run.seed, k, progress=report)
            j, best, _new_best = evo.observe(result.fitness)                      # steps 1, 2
            champion = Champion(population[j].copy(), n_in, n_out, generation=k, fitness=best,
                                env_id=run.env_id)
            final = k == cfg.generations - 1 or (
                cfg.fitness_threshold is not None and best >= cfg.fitness_threshold) or (
                stop is not None and bool(stop(champion)))                          # step 4
            species = -1
            if not final:
                population_next, outcome = evo.reproduce(population, result.fitness, k, j)
                species = outcome.species
                champion.species = outcome.champion_species
            stats = GenerationStats(
                generation=k, best_fitness=best, mean_fitness=float(np.mean(result.fitness)),
                population=size, species=species, evaluations=size,
                env_steps=int(result.env_steps.sum()),
                reward_violations=result.reward_violations,
                seconds=time.perf_counter() - t0)
            history.append(stats)
            if result.reward_violations and not warned:
                warned = True
                warnings.warn(f"{run.env_id} gave a reward of {result.min_reward} in generation "
                              f"{k}, below minimum_reward = {cfg.minimum_reward}; such steps "
                              "are counted in the history (reward_violations)",
                              RewardBelowMinimum, stacklevel=3)
            saved = k % cfg.saving == 0 or final                                   # step 3
            hook.ezspark_generation_end(run=run, stats=stats)
            if saved:
                hook.ezspark_new_champion(run=run, champion=champion)
            if final:
                if k < cfg.generations - 1:
                    stopped = ("fitness_threshold" if cfg.fitness_threshold is not None
                               and best >= cfg.fitness_threshold else "stop")
                break
            population = population_next
    except KeyboardInterrupt:
        stopped = "interrupted"
        if champion is None:
            hook.ezspark_run_end(run=run, result=_result(run, None, history, "interrupted"))
            raise
    except BaseException:
        hook.ezspark_run_end(run=run, result=_result(run, champion, history, "failed"))
        raise
    result = _result(run, champion, history, stopped)
    hook.ezspark_run_end(run=run, result=result)
    return result


def _result(run: RunInfo, champion, history, stopped: str) -> RunResult:
    path = run.out if run.out is not None and run.out.exists() else None
    return RunResult(champion=champion, history=tuple(history), path=path, seed=run.seed,
                     stopped=stopped)
