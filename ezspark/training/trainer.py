"""The generation loop behind ``ezspark.train`` (engine-spec 5.1, steps E and 1 to 4)."""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Callable

import attrs
import numpy as np

from ezspark.network.champion import Champion
from ezspark.config.training import ConfigError, Problem, TrainingConfig
from ezspark.evaluation.envs import inspect_env
from ezspark.evaluation.contract import EvalResult
from ezspark.evaluation.local import EnvEvaluator, evaluate_fitness_function
from ezspark.engine.evolution import Evolution
from ezspark.network.programs import compile_csr
from ezspark.store.history import GenerationStats, RunResult

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
    start_generation: int = 0   # > 0 when the run resumes from a checkpoint


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


#: Config keys that may change when a run is resumed with ``allow_changes``: they change
#: when the run stops or what it records, never a result it has already computed.
SAFE_TO_CHANGE = frozenset({"generations", "fitness_threshold", "saving",
                            "alone_training_iterations", "safeness", "genomes_per_task"})


def train(config: TrainingConfig | str | os.PathLike, *, out: str | os.PathLike | None = None,
          seed: int | None = None, fitness: Callable | None = None,
          generations: int | None = None, workers: int = 1, progress: bool = False,
          overwrite: bool = False, resume: bool = False, allow_changes: bool = False,
          checkpoint_seconds: float = 1.0, plugins=None,
          stop: Callable[[Champion], bool] | None = None, serve: str | None = None,
          scheduler: str | None = None, on_serve: Callable | None = None) -> RunResult:
    """Train a population on the configured gymnasium environment, or on ``fitness``.

    ``config`` is a TrainingConfig or the path of a training JSON.  ``fitness``, if given,
    replaces the environment: it receives the compiled networks of the whole generation
    (``nets.activate(X)`` gives outputs of shape (P, rows, output_size)) and returns P
    fitness values.  ``generations`` overrides the config's ``generations``.

    ``out`` is a directory that receives ``run.h5`` and ``checkpoint.h5`` (an existing run
    there is refused unless ``overwrite``); with None the run keeps no files.  The
    checkpoint is written after a generation when ``checkpoint_seconds`` have passed since
    the last one (0: after every generation), and always when the run ends, is interrupted
    or fails.  ``resume=True`` continues the run in ``out`` from its checkpoint; the
    configuration must equal the checkpoint's, except that with ``allow_changes`` the keys
    in ``SAFE_TO_CHANGE`` (e.g. ``generations``) may differ.

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
    from ezspark.plugins.manager import get_plugin_manager

    cfg = config if isinstance(config, TrainingConfig) else TrainingConfig.from_json(config)
    if generations is not None:
        cfg = attrs.evolve(cfg, generations=generations)
    if fitness is None:
        cfg.check_env_keys()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError([Problem("workers", workers, f"{workers!r} is not an integer >= 1")])
    state = None
    if resume:
        if out is None:
            raise ConfigError("resume needs the output directory of the run (out)")
        from ezspark.store.checkpoint import load_checkpoint
        state = load_checkpoint(Path(out) / "checkpoint.h5")
        cfg = _resumable_config(cfg, state, allow_changes)
        if seed is not None and seed != state.seed:
            raise ConfigError([Problem("seed", seed, f"{seed} differs from the seed of the run "
                                       f"being resumed ({state.seed})")])
        run_seed = state.seed
    else:
        run_seed = resolve_seed(seed, cfg)
    pm = plugins if plugins is not None else get_plugin_manager()
    info = None
    if fitness is None:
        info = inspect_env(cfg.gym_game_name, cfg.input_size, cfg.output_size)
    if not resume and out is not None and not overwrite and (Path(out) / "run.h5").exists():
        from ezspark.store.runfile import StoreError
        raise StoreError(f"{Path(out) / 'run.h5'} already exists: resume it, choose another "
                         "output directory, or overwrite it")
    if out is not None:
        _make_directory(Path(out))
    run = RunInfo(cfg, run_seed, Path(out) / "run.h5" if out is not None else None,
                  None if fitness else cfg.gym_game_name, cfg.generations,
                  progress=bool(progress), overwrite=bool(overwrite),
                  start_generation=state.next_generation if state else 0)
    evaluator = None
    if serve is not None and scheduler is not None:
        raise ConfigError("serve and scheduler exclude each other: serve starts a Dask "
                          "scheduler, scheduler uses an existing one")
    distributed = serve is not None or scheduler is not None
    if distributed and info is None:
        raise ConfigError("distributed runs evaluate environments; they cannot use a "
                          "fitness function")
    if distributed:
        from ezspark.distributed import ServedEvaluator, parse_host_port
        served = ServedEvaluator(        # says how to install Dask if it is missing
            cfg, info, None, serve=parse_host_port(serve) if serve is not None else None,
            scheduler=scheduler, workers=workers,
            directory=Path(out) / "serve" if out is not None else None, announce=on_serve)
    try:
        if info is not None:
            if workers > 1:
                from ezspark.evaluation.processes import ProcessEvaluator
                evaluator = ProcessEvaluator.from_config(cfg, info, workers)
            else:
                evaluator = EnvEvaluator.from_config(cfg, info)
            if distributed:
                served.local, evaluator = evaluator, served
        loop = _Loop(cfg, run, fitness, evaluator, pm.hook, stop,
                     Path(out) / "checkpoint.h5" if out is not None else None,
                     float(checkpoint_seconds))
        return loop.run(state)
    finally:
        if evaluator is not None:
            evaluator.close()


def _make_directory(directory: Path) -> None:
    from ezspark.store.runfile import StoreError

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create output directory {directory}: "
                         f"{exc.strerror or exc}") from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreError(f"output directory {directory} is not writable")


def _resumable_config(cfg: TrainingConfig, state, allow_changes: bool) -> TrainingConfig:
    """The config to continue with; refuses changes that would alter computed results."""
    saved = TrainingConfig.from_json(state.config_json)
    if state.finished:
        raise ConfigError(f"the run finished at generation {state.next_generation - 1}; "
                          "there is nothing to resume")
    new, old = cfg.to_dict(), saved.to_dict()
    if new.get("seed") is None:
        new["seed"] = old.get("seed")
    changed = [k for k in old if new.get(k) != old[k]]
    if not changed:
        return saved
    unsafe = [k for k in changed if k not in SAFE_TO_CHANGE]
    if allow_changes and not unsafe:
        if cfg.generations <= state.next_generation - 1:
            raise ConfigError([Problem("generations", cfg.generations,
                                       f"{cfg.generations} generations are already done "
                                       f"(the checkpoint is at generation {state.next_generation})")])
        return cfg
    problems = [Problem(k, new.get(k), f"{old[k]!r} in the checkpoint, {new.get(k)!r} now")
                for k in changed]
    hint = ("these keys cannot change on resume: they would change results already computed"
            if allow_changes else
            "resume with the checkpoint's config, or allow changes to "
            + ", ".join(sorted(SAFE_TO_CHANGE)) + " explicitly")
    raise ConfigError(problems + [Problem(None, None, f"cannot resume: {hint}")])


class _Loop:
    """One run's generation loop, with checkpoints."""

    def __init__(self, cfg, run, fitness, evaluator, hook, stop, checkpoint, interval):
        self.cfg, self.run_info, self.fitness = cfg, run, fitness
        self.evaluator, self.hook, self.stop = evaluator, hook, stop
        self.checkpoint, self.interval = checkpoint, interval
        self.last_save = time.monotonic()

    def _snapshot(self, k_next, evo, population, history, warned, finished=False):
        from ezspark.store.checkpoint import RunState
        from ezspark.store.runfile import HISTORY_DTYPE

        rows = np.array([attrs.astuple(h) for h in history], dtype=HISTORY_DTYPE)
        return RunState(config_json=self.cfg.to_json(), seed=self.run_info.seed,
                        next_generation=k_next, population=population,
                        evolution=evo.state(),
                        rng_states={"evolution": evo.rng.bit_generator.state,
                                    "verification": self.verification.bit_generator.state},
                        history=rows, warned=warned, finished=finished,
                        excluded=tuple(sorted(getattr(self.evaluator, "excluded", ()))))

    def _save(self, snapshot):
        if self.checkpoint is None or snapshot is None:
            return
        from ezspark.store.checkpoint import save_checkpoint

        self.hook.ezspark_checkpoint(run=self.run_info, generation=snapshot.next_generation - 1)
        save_checkpoint(self.checkpoint, snapshot)
        self.last_save = time.monotonic()

    def run(self, state) -> RunResult:
        cfg, run, hook = self.cfg, self.run_info, self.hook
        n_in, n_out = cfg.input_size, cfg.output_size
        rng, self.verification = make_streams(run.seed)
        bind = getattr(self.evaluator, "bind", None)
        if bind is not None:
            bind(verification=self.verification, excluded=state.excluded if state else (),
                 seed=run.seed)
        if state is None:
            evo, population = Evolution.start(cfg, rng)
            history: list[GenerationStats] = []
            k0, warned = 0, False
        else:
            rng.bit_generator.state = state.rng_states["evolution"]
            self.verification.bit_generator.state = state.rng_states["verification"]
            evo = Evolution.from_state(cfg, rng, state.evolution)
            population = state.population
            history = [GenerationStats(**{n: row[n].item() for n in state.history.dtype.names})
                       for row in state.history]
            k0, warned = state.next_generation, state.warned
        champion, stopped, snapshot, saved_snapshot = None, "generations", None, None
        hook.ezspark_run_start(run=run)
        try:
            for k in range(k0, cfg.generations):
                t0 = time.perf_counter()
                size = len(population)
                hook.ezspark_generation_start(run=run, generation=k, population=size)
                programs = compile_csr(population.off, population.src, population.dst,
                                       population.weight, population.enabled, n_in, n_out)
                if self.fitness is not None:
                    result: EvalResult = evaluate_fitness_function(self.fitness, programs, size)
                    hook.ezspark_genomes_evaluated(run=run, generation=k, done=size, total=size)
                else:
                    def report(done, k=k, size=size):
                        hook.ezspark_genomes_evaluated(run=run, generation=k, done=done,
                                                       total=size)
                    result = self.evaluator.evaluate(programs, run.seed, k, progress=report)
                j, best, _new_best = evo.observe(result.fitness)                   # steps 1, 2
                champion = Champion(population[j], n_in, n_out, generation=k, fitness=best,
                                    env_id=run.env_id)
                final = k == cfg.generations - 1 or (
                    cfg.fitness_threshold is not None and best >= cfg.fitness_threshold) or (
                    self.stop is not None and bool(self.stop(champion)))            # step 4
                species = -1
                if not final:
                    population_next, outcome = evo.reproduce(population, result.fitness, k, j)
                    species = outcome.species
                    champion.species = outcome.champion_species
                stats = GenerationStats(
                    generation=k, best_fitness=best,
                    mean_fitness=float(np.mean(result.fitness)), population=size,
                    species=species, evaluations=size, env_steps=int(result.env_steps.sum()),
                    reward_violations=result.reward_violations,
                    seconds=time.perf_counter() - t0,
                    checks=getattr(result, "checks", 0),
                    mismatches=getattr(result, "mismatches", 0),
                    excluded=getattr(result, "excluded", 0))
                history.append(stats)
                if result.reward_violations and not warned:
                    warned = True
                    warnings.warn(f"{run.env_id} gave a reward of {result.min_reward} in "
                                  f"generation {k}, below minimum_reward = "
                                  f"{cfg.minimum_reward}; such steps are counted in the "
                                  "history (reward_violations)", RewardBelowMinimum, stacklevel=4)
                saved = k % cfg.saving == 0 or final                                # step 3
                hook.ezspark_generation_end(run=run, stats=stats)
                if saved:
                    hook.ezspark_new_champion(run=run, champion=champion)
                if final:
                    if k < cfg.generations - 1:
                        stopped = ("fitness_threshold" if cfg.fitness_threshold is not None
                                   and best >= cfg.fitness_threshold else "stop")
                    snapshot = self._snapshot(k + 1, evo, population, history, warned,
                                              finished=True)
                    break
                population = population_next
                snapshot = self._snapshot(k + 1, evo, population, history, warned)
                if time.monotonic() - self.last_save >= self.interval:
                    self._save(snapshot)
                    saved_snapshot = snapshot
        except KeyboardInterrupt:
            stopped = "interrupted"
            if snapshot is not saved_snapshot:
                self._save(snapshot)
            if champion is None:
                hook.ezspark_run_end(run=run, result=_result(run, None, history, stopped))
                raise
        except BaseException:
            try:
                if snapshot is not saved_snapshot:
                    self._save(snapshot)
            finally:
                hook.ezspark_run_end(run=run, result=_result(run, champion, history, "failed"))
            raise
        else:
            self._save(snapshot)
        result = _result(run, champion, history, stopped)
        hook.ezspark_run_end(run=run, result=result)
        return result


def _result(run: RunInfo, champion, history, stopped: str) -> RunResult:
    path = run.out if run.out is not None and run.out.exists() else None
    return RunResult(champion=champion, history=tuple(history), path=path, seed=run.seed,
                     stopped=stopped)
