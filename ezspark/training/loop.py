"""The generation loop (docs/algorithm.md 5.1, steps E and 1 to 4), with checkpoints.

The loop knows its evaluator only through the contract of
:mod:`ezspark.evaluation.contract`: ``start`` once before the first generation, ``evaluate``
once per generation, ``excluded`` for each checkpoint.  Whoever built the evaluator closes
it (``train`` does, with ``with evaluator:``).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Callable

import attrs
import numpy as np

from ezspark.config.training import TrainingConfig
from ezspark.engine.evolution import Evolution
from ezspark.evaluation.contract import EvalResult, Evaluator, RunContext
from ezspark.evaluation.validation import Validator
from ezspark.network.champion import Champion
from ezspark.network.actions import BoxActions
from ezspark.network.programs import compile_csr
from ezspark.store.checkpoint import RunState, save_checkpoint
from ezspark.store.history import GenerationStats, RunResult
from ezspark.training.seeds import make_streams

__all__ = ["GenerationLoop", "RunInfo", "RewardBelowMinimum"]


class RewardBelowMinimum(UserWarning):
    """An environment gave a step reward below the config's ``minimum_reward``."""


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
    start_generation: int = 0   # the first generation reported: > 0 mostly when resumed
    resumed: bool = False       # the run continues from a checkpoint (its run.h5 exists)
    save_population: int = 0    # store every genome of generations k % this == 0 (0: none)
    actions: BoxActions | None = None   # a continuous action space's bounds (None: Discrete)


def output_bias(run: RunInfo) -> dict:
    """The compile option of continuous-action networks (docs/algorithm.md 3.4); none for
    Discrete actions, whose outputs keep EzSpark's +1."""
    return {} if run.actions is None else {"output_bias": run.actions.output_bias}


class GenerationLoop:
    """One run's generations: evaluate, observe, stop or reproduce, report, checkpoint.

    ``hook`` is a pluggy hook relay (reporters and the run store listen on it).  ``stop``
    may end the run after any generation, like ``fitness_threshold``.  ``checkpoint`` is the
    checkpoint file (None: no checkpoints), written when ``interval`` seconds have passed
    since the last one, and always when the run ends, is interrupted or fails.
    ``validator`` (None: no validation) scores each stored champion on fresh episodes; the
    result's champion is the best scored one (docs/algorithm.md 6.5).
    """

    def __init__(self, cfg: TrainingConfig, run: RunInfo, evaluator: Evaluator, hook, *,
                 stop: Callable[[Champion], bool] | None = None,
                 checkpoint: Path | None = None, interval: float = 1.0,
                 validator: Validator | None = None):
        self.cfg, self.run_info, self.evaluator, self.hook = cfg, run, evaluator, hook
        self.validator = validator
        self.best: Champion | None = None         # the best validated champion so far
        self.stop, self.checkpoint, self.interval = stop, checkpoint, interval
        self.last_save = time.monotonic()
        self.save_cost = 0.0                      # seconds the last checkpoint took
        self.config_json = cfg.to_json()          # once: the config does not change
        self.rng, self.verification = make_streams(run.seed)
        self.evo: Evolution | None = None
        self.population = None
        self.history: list[GenerationStats] = []
        self.warned = False
        self.champion: Champion | None = None
        self.stopped = "generations"
        self.following = None                     # the next population, once reproduced
        self.genome_species = None                # each genome's species, once reproduced
        self.snapshot: RunState | None = None     # the state after the last finished generation
        self.saved: RunState | None = None        # the snapshot last written

    def run(self, state: RunState | None = None) -> RunResult:
        """Evaluates generations until a stop rule ends the run; ``state`` continues a run
        from its checkpoint (a finished run's too: its final generation is reproduced and the
        run goes on).  Ctrl-C ends the run as "interrupted" once a generation has finished
        (and re-raises before that)."""
        run, hook = self.run_info, self.hook
        first = self._start() if state is None else self._restore(state)
        excluded = frozenset(state.excluded) if state is not None else frozenset()
        trust = state.trust if state is not None else ()
        self.evaluator.start(RunContext(run.seed, self.verification, excluded, trust))
        hook.ezspark_run_start(run=run)
        try:
            if state is not None and state.finished:
                self._reproduce_final(first - 1, state.last_fitness)
            for k in range(first, self.cfg.generations):
                if self._generation(k):
                    break
        except KeyboardInterrupt:
            self._save_unsaved()
            if self.champion is None:
                hook.ezspark_run_end(run=run, result=self._result("interrupted"))
                raise
            self.stopped = "interrupted"
        except BaseException as exc:
            try:
                self._save_unsaved()
            finally:
                hook.ezspark_run_end(run=run, result=self._result("failed", _reason(exc)))
            raise
        else:
            self._save(self.snapshot)
        result = self._result(self.stopped)
        hook.ezspark_run_end(run=run, result=result)
        return result

    # -- the two ways in ---------------------------------------------------------------
    def _start(self) -> int:
        """Step E: the initial population; returns the first generation, 0."""
        self.evo, self.population = Evolution.start(self.cfg, self.rng)
        return 0

    def _restore(self, state: RunState) -> int:
        """Continues from a checkpoint, bit for bit; returns its next generation."""
        self.rng.bit_generator.state = state.rng_states["evolution"]
        self.verification.bit_generator.state = state.rng_states["verification"]
        self.evo = Evolution.from_state(self.cfg, self.rng, state.evolution)
        self.population = state.population
        self.best = state.best_champion
        self.history = [GenerationStats(**{n: row[n].item() for n in state.history.dtype.names})
                        for row in state.history]
        self.warned = state.warned
        return state.next_generation

    def _reproduce_final(self, k: int, fitness: np.ndarray) -> None:
        """A finished run continued: its final generation k was evaluated and observed
        (steps 1, 2) but not reproduced.  Reproduces it now from the saved fitness, exactly as
        a run asked for more generations would have, and reports it again with its species."""
        last = self.history.pop()
        j = int(np.argmax(fitness))       # the champion index of step 1
        champion = self._champion(k, j, last.best_fitness)
        species = self._reproduce(k, fitness, j, champion)
        self._end_generation(attrs.evolve(last, species=species), champion, False, fitness)

    # -- one generation ----------------------------------------------------------------
    def _generation(self, k: int) -> bool:
        """Generation k, steps 1 to 4; True when it is the run's last."""
        t0 = time.perf_counter()
        self.hook.ezspark_generation_start(run=self.run_info, generation=k,
                                           population=len(self.population))
        result = self._evaluate(k)
        j, best, _ = self.evo.observe(result.fitness)                          # steps 1, 2
        champion = self._champion(k, j, best)
        final = self._is_final(k, best, champion)                              # step 4
        species = -1 if final else self._reproduce(k, result.fitness, j, champion)
        stats = self._stats(k, t0, best, species, result)
        self._warn_low_rewards(k, result)
        return self._end_generation(stats, champion, final, result.fitness)

    def _champion(self, k: int, j: int, best: float) -> Champion:
        cfg = self.cfg
        self.champion = Champion(self.population[j], cfg.network_inputs, cfg.output_size,
                                 recurrent=cfg.recurrent, bias_input=cfg.bias_input,
                                 generation=k, fitness=best, env_id=self.run_info.env_id,
                                 actions=self.run_info.actions)
        return self.champion

    def _reproduce(self, k: int, fitness: np.ndarray, j: int, champion: Champion) -> int:
        """Steps 5 to 15 of generation k; the next population waits in ``self.following``.
        Returns the number of species."""
        self.following, outcome = self.evo.reproduce(self.population, fitness, k, j)
        champion.species = outcome.champion_species
        self.genome_species = outcome.genome_species
        return outcome.species

    def _end_generation(self, stats: GenerationStats, champion: Champion, final: bool,
                        fitness: np.ndarray) -> bool:
        """Records and reports a finished generation, then moves on or ends the run (step
        3: the champion is stored every ``saving`` generations and at the end)."""
        run, k = self.run_info, stats.generation
        self.history.append(stats)
        self.hook.ezspark_generation_end(run=run, stats=stats)
        if k % self.cfg.saving == 0 or final:                                  # step 3
            self._validate(champion)
            self.hook.ezspark_new_champion(run=run, champion=champion)
        self._report_population(k, final, fitness)
        if final:
            self.stopped = self._stop_reason(k, stats.best_fitness)
            self.snapshot = self._snapshot(k + 1, last_fitness=fitness)
            return True
        self.population, self.following = self.following, None
        self.snapshot = self._snapshot(k + 1)
        if time.monotonic() - self.last_save >= self._spacing():
            self._save(self.snapshot)
        return False

    def _validate(self, champion: Champion) -> None:
        """Scores a stored champion on the validation episodes (docs/algorithm.md 6.5) and
        keeps the best: the higher score, the newer champion on a tie."""
        if self.validator is None:
            return
        self.validator.validate(champion)
        if self.best is None or not champion.validation < self.best.validation:
            self.best = champion

    def _report_population(self, k: int, final: bool, fitness: np.ndarray) -> None:
        """Every ``save_population`` generations: the whole evaluated population with its
        fitness and species (-1 throughout in the final generation, which is not
        speciated)."""
        every = self.run_info.save_population
        if every and k % every == 0:
            species = (np.full(len(self.population), -1, dtype=np.int64) if final
                       else self.genome_species)
            self.hook.ezspark_population(run=self.run_info, generation=k,
                                         population=self.population,
                                         fitness=np.asarray(fitness, dtype=np.float64),
                                         species=species)

    def _evaluate(self, k: int) -> EvalResult:
        """The fitness of every genome of generation k, reported to the hooks as it comes."""
        run, pop, size = self.run_info, self.population, len(self.population)
        programs = compile_csr(pop.off, pop.src, pop.dst, pop.weight, pop.enabled,
                               self.cfg.network_inputs, self.cfg.output_size,
                               **output_bias(run), recurrent=self.cfg.recurrent,
                               bias_input=self.cfg.bias_input)

        def report(done: int) -> None:
            self.hook.ezspark_genomes_evaluated(run=run, generation=k, done=done, total=size)

        return self.evaluator.evaluate(programs, run.seed, k, progress=report)

    def _is_final(self, k: int, best: float, champion: Champion) -> bool:
        """Step 4: the last generation, the fitness threshold reached, or ``stop`` says so
        (asked only when nothing else ends the run)."""
        cfg = self.cfg
        return k == cfg.generations - 1 or (
            cfg.fitness_threshold is not None and best >= cfg.fitness_threshold) or (
            self.stop is not None and bool(self.stop(champion)))

    def _stop_reason(self, k: int, best: float) -> str:
        cfg = self.cfg
        if k == cfg.generations - 1:
            return "generations"
        if cfg.fitness_threshold is not None and best >= cfg.fitness_threshold:
            return "fitness_threshold"
        return "stop"

    def _stats(self, k: int, t0: float, best: float, species: int,
               result: EvalResult) -> GenerationStats:
        """The history row of generation k (docs/algorithm.md 6.4)."""
        size = len(self.population)
        return GenerationStats(
            generation=k, best_fitness=best, mean_fitness=float(np.mean(result.fitness)),
            population=size, species=species, evaluations=size,
            env_steps=int(result.env_steps.sum()), reward_violations=result.reward_violations,
            seconds=time.perf_counter() - t0, checks=result.checks,
            mismatches=result.mismatches, excluded=result.excluded)

    def _warn_low_rewards(self, k: int, result: EvalResult) -> None:
        """Warns once per run (a resumed run included) of rewards below minimum_reward
        (docs/algorithm.md 6.1)."""
        if not result.reward_violations or self.warned:
            return
        self.warned = True
        # stacklevel: this method, _generation, run, train, then train's caller's caller
        warnings.warn(f"{self.run_info.env_id} gave a reward of {result.min_reward} in "
                      f"generation {k}, below minimum_reward = {self.cfg.minimum_reward}; "
                      "such steps are counted in the history (reward_violations).  If its "
                      "rewards can be that low, set minimum_reward to the lowest it can give "
                      "(the key declares it and never shifts a reward: docs/algorithm.md 6.1)",
                      RewardBelowMinimum, stacklevel=6)

    # -- checkpoints and the result ----------------------------------------------------
    def _snapshot(self, next_generation: int,
                  last_fitness: np.ndarray | None = None) -> RunState:
        """The run state after a finished generation (docs/algorithm.md 8); with the fitness
        of the final generation, the state of a finished run.  Its cost does not depend on
        the generations before: the history is not part of it (run.h5 holds it)."""
        return RunState(config_json=self.config_json, seed=self.run_info.seed,
                        next_generation=next_generation, population=self.population,
                        evolution=self.evo.state(),
                        rng_states={"evolution": self.rng.bit_generator.state,
                                    "verification": self.verification.bit_generator.state},
                        warned=self.warned, finished=last_fitness is not None,
                        excluded=tuple(sorted(self.evaluator.excluded)),
                        trust=self.evaluator.trust_records,
                        last_fitness=last_fitness)

    def _spacing(self) -> float:
        """Seconds between checkpoints: ``interval``, but at least 39 times what the last
        one took (flushing the reporters included), so that checkpoints never take more than
        1/40 of the wall time, however slow the disk; 0 (a checkpoint after every generation)
        is kept as asked."""
        return self.interval if self.interval <= 0 else max(self.interval, 39 * self.save_cost)

    def _save(self, snapshot: RunState | None) -> None:
        if self.checkpoint is None or snapshot is None:
            return
        start = time.monotonic()
        self.hook.ezspark_checkpoint(run=self.run_info, generation=snapshot.next_generation - 1)
        save_checkpoint(self.checkpoint, snapshot)
        self.last_save = time.monotonic()
        self.save_cost = self.last_save - start
        self.saved = snapshot

    def _save_unsaved(self) -> None:
        """After an interruption or a failure: the last finished generation, if not saved."""
        if self.snapshot is not self.saved:
            self._save(self.snapshot)

    def _result(self, stopped: str, reason: str = "") -> RunResult:
        run = self.run_info
        path = run.out if run.out is not None and run.out.exists() else None
        champion = self.best if self.best is not None else self.champion
        return RunResult(champion=champion, history=tuple(self.history), path=path,
                         seed=run.seed, stopped=stopped, reason=reason)


def _reason(exc: BaseException) -> str:
    """One line saying why a run failed: the exception's type and the first line of its
    message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
