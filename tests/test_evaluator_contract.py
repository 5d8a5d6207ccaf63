"""The evaluator contract (ezspark/evaluation/contract.py): the generation loop works with any
``Evaluator`` and with nothing else, calls ``start`` once and ``close`` once however the run
ends, and keeps what the contract reports (``excluded``, ``checks``, ``mismatches``)."""
import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import attrs
import numpy as np
import pytest

import ezspark
from ezspark import ConfigError, EvaluationError, TrainingConfig
from ezspark.evaluation.contract import EvalResult, Evaluator, RunContext
from ezspark.evaluation.envs import inspect_env
from ezspark.evaluation.function import FunctionEvaluator
from ezspark.evaluation.local import EnvEvaluator
from ezspark.evaluation.processes import ProcessEvaluator
from ezspark.plugins.manager import get_plugin_manager, make_plugin_manager
from ezspark.store.checkpoint import load_checkpoint
from ezspark.training import trainer
from ezspark.training.evaluators import build_evaluator
from ezspark.training.loop import GenerationLoop, RunInfo
from ezspark.training.seeds import make_streams

from .helpers import xor_fitness

PACKAGE = Path(ezspark.__file__).parent


def cartpole_cfg(**kw):
    keys = dict(gym_game_name="CartPole-v1", input_size=4, output_size=2, generations=5,
                initial_population=12, max_number_of_games=2, max_number_of_steps=60)
    keys.update(kw)
    return TrainingConfig(**keys)


def history_table(result):
    return [attrs.astuple(attrs.evolve(h, seconds=0.0)) for h in result.history]


class OneAtATime(Evaluator):
    """A custom evaluator: each genome alone on its own EnvEvaluator call, by genome index
    (a different path to the same fitness), recording every contract call it receives."""

    def __init__(self, cfg, info, *, fail_at=None, excluded=(), checks=0, trust=()):
        self.local = EnvEvaluator.from_config(cfg, info)
        self.fail_at, self._excluded, self.checks = fail_at, frozenset(excluded), checks
        self.trust = tuple(trust)
        self.calls = []

    def start(self, context):
        self.calls.append(("start", context))

    def evaluate(self, programs, seed, generation, progress=None):
        self.calls.append(("evaluate", generation))
        if generation == self.fail_at:
            raise EvaluationError(f"planned failure in generation {generation}")
        parts = [self.local.evaluate(programs.subset([i]), seed, generation, genome_ids=[i])
                 for i in range(len(programs))]
        if progress is not None:
            progress(len(programs))
        return EvalResult(np.concatenate([p.fitness for p in parts]),
                          np.concatenate([p.env_steps for p in parts]),
                          checks=self.checks, mismatches=self.checks // 2,
                          excluded=len(self._excluded))

    @property
    def excluded(self):
        return self._excluded

    @property
    def trust_records(self):
        return self.trust

    def close(self):
        self.calls.append(("close",))
        self.local.close()


@pytest.fixture
def custom(monkeypatch):
    """train() builds a OneAtATime (options in ``made``) in place of its usual evaluator."""
    made = {"options": {}}

    def build(cfg, info, **options):
        made["evaluator"] = OneAtATime(cfg, info, **made["options"])
        return made["evaluator"]

    monkeypatch.setattr(trainer, "build_evaluator", build)
    return made


class TestTheLoopUsesOnlyTheContract:
    def test_a_custom_evaluator_gives_the_history_of_the_env_evaluator(self, custom):
        usual = ezspark.train(cartpole_cfg(), seed=4)
        mine = ezspark.train(cartpole_cfg(), seed=4)
        assert history_table(mine) == history_table(usual)
        assert mine.champion.genome == usual.champion.genome
        kinds = [c[0] for c in custom["evaluator"].calls]
        assert kinds == ["start"] + ["evaluate"] * 5 + ["close"]

    def test_start_gets_the_run_seed_and_its_verification_stream(self, custom):
        ezspark.train(cartpole_cfg(generations=2), seed=9)
        (_, context), = [c for c in custom["evaluator"].calls if c[0] == "start"]
        assert isinstance(context, RunContext)
        assert context.seed == 9 and context.excluded == frozenset() and context.trust == ()
        fresh = make_streams(9)[1]
        assert context.verification.bit_generator.state == fresh.bit_generator.state

    def test_start_once_and_close_once_when_evaluation_fails(self, custom, tmp_path):
        custom["options"] = dict(fail_at=2)
        with pytest.raises(EvaluationError, match="planned failure in generation 2"):
            ezspark.train(cartpole_cfg(), seed=0, out=tmp_path, checkpoint_seconds=100)
        kinds = [c[0] for c in custom["evaluator"].calls]
        assert kinds == ["start", "evaluate", "evaluate", "evaluate", "close"]
        assert load_checkpoint(tmp_path / "checkpoint.h5").next_generation == 2

    def test_close_once_when_the_run_is_interrupted(self, custom):
        def stop(champion):
            if champion.generation == 1:
                raise KeyboardInterrupt
            return False

        result = ezspark.train(cartpole_cfg(), seed=0, stop=stop)
        assert result.stopped == "interrupted"
        assert [c[0] for c in custom["evaluator"].calls].count("close") == 1

    def test_excluded_checks_and_mismatches_reach_history_and_checkpoint(self, custom,
                                                                          tmp_path):
        rows = (("w1@a", 12, 3, 9, 4), ("w3@c", 0, 1, 0, 1))
        custom["options"] = dict(excluded={"w2@b", "w1@a"}, checks=4, trust=rows)
        result = ezspark.train(cartpole_cfg(generations=3), seed=0, out=tmp_path)
        assert [(h.checks, h.mismatches, h.excluded) for h in result.history] == [(4, 2, 2)] * 3
        state = load_checkpoint(tmp_path / "checkpoint.h5")
        assert state.excluded == ("w1@a", "w2@b") and state.trust == rows

    def test_a_resumed_run_starts_its_evaluator_with_the_excluded_workers(self, custom,
                                                                         tmp_path):
        custom["options"] = dict(excluded={"w@m"}, fail_at=2, trust=(("v@n", 30, 0, 5, 25),))
        with pytest.raises(EvaluationError):
            ezspark.train(cartpole_cfg(), seed=3, out=tmp_path, checkpoint_seconds=0)
        custom["options"] = {}
        resumed = ezspark.train(cartpole_cfg(), out=tmp_path, resume=True)
        (_, context), = [c for c in custom["evaluator"].calls if c[0] == "start"]
        assert context.excluded == frozenset({"w@m"}) and context.seed == 3
        assert context.trust == (("v@n", 30, 0, 5, 25),)
        assert [c[1] for c in custom["evaluator"].calls if c[0] == "evaluate"] == [2, 3, 4]
        fresh = ezspark.train(cartpole_cfg(), seed=3)
        assert [h.best_fitness for h in resumed.history] == [h.best_fitness for h in fresh.history]
        assert resumed.champion.genome == fresh.champion.genome


class TestGenerationLoop:
    """The loop alone, without train(): any Evaluator, any hook relay."""

    def test_runs_generations_with_a_fitness_evaluator(self):
        cfg = TrainingConfig(input_size=2, output_size=1, generations=4)
        run = RunInfo(cfg, 5, None, None, cfg.generations)
        evaluator = FunctionEvaluator(xor_fitness)
        loop = GenerationLoop(cfg, run, evaluator, get_plugin_manager().hook)
        result = loop.run()
        via_train = ezspark.train(cfg, fitness=xor_fitness, seed=5)
        assert history_table(result) == history_table(via_train)
        assert result.stopped == "generations" and result.path is None

    def test_the_loop_does_not_close_the_evaluator_it_was_given(self):
        """Whoever builds an evaluator closes it: train() does, with ``with evaluator``."""
        class Counting(FunctionEvaluator):
            closed = 0

            def close(self):
                self.closed += 1

        cfg = TrainingConfig(input_size=2, output_size=1, generations=2)
        evaluator = Counting(xor_fitness)
        GenerationLoop(cfg, RunInfo(cfg, 0, None, None, 2), evaluator,
                       get_plugin_manager().hook).run()
        assert evaluator.closed == 0
        with evaluator:
            pass
        assert evaluator.closed == 1


class TestFactory:
    def test_the_options_choose_the_evaluator(self):
        cfg = cartpole_cfg()
        info = inspect_env("CartPole-v1", 4, 2)
        kinds = [(dict(fitness=xor_fitness), None, FunctionEvaluator),
                 ({}, info, EnvEvaluator), (dict(workers=2), info, ProcessEvaluator)]
        for options, env, kind in kinds:
            with build_evaluator(cfg, env, **options) as evaluator:
                assert type(evaluator) is kind

    def test_function_evaluator_reports_every_genome_at_once(self):
        cfg = TrainingConfig(input_size=2, output_size=1, generations=1)
        seen = []

        class Recorder:
            @ezspark.hookimpl
            def ezspark_genomes_evaluated(self, run, generation, done, total):
                seen.append((generation, done, total))

        pm = make_plugin_manager(autoload=False)
        pm.register(Recorder())
        ezspark.train(cfg, fitness=xor_fitness, seed=0, plugins=pm)
        assert seen == [(0, cfg.initial_population, cfg.initial_population)]

    @pytest.mark.parametrize("options, match", [
        (dict(serve="127.0.0.1:0", scheduler="tcp://x:1"), "exclude each other"),
        (dict(serve="127.0.0.1:0", fitness=xor_fitness), "cannot use a fitness function"),
        (dict(workers=0), "workers"),
    ])
    def test_impossible_options_are_refused_before_any_file_is_made(self, tmp_path, options,
                                                                    match):
        with pytest.raises(ConfigError, match=match):
            ezspark.train(cartpole_cfg(), out=tmp_path / "run", seed=0, **options)
        assert not (tmp_path / "run").exists()


def _ezspark_classes():
    for module in pkgutil.walk_packages([str(PACKAGE)], "ezspark."):
        mod = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ == mod.__name__:
                yield cls


def test_every_evaluator_class_implements_the_contract():
    evaluators = [cls for cls in _ezspark_classes()
                  if cls is not Evaluator and (cls.__name__.endswith("Evaluator")
                                               or callable(getattr(cls, "evaluate", None)))]
    names = {cls.__name__ for cls in evaluators}
    assert {"EnvEvaluator", "ProcessEvaluator", "FunctionEvaluator"} <= names
    assert [c.__qualname__ for c in evaluators if not issubclass(c, Evaluator)] == []


def test_the_generation_loop_imports_no_particular_evaluator():
    """Only training/evaluators.py knows the kinds of evaluator there are."""
    concrete = ("ezspark.evaluation.local", "ezspark.evaluation.processes",
                "ezspark.evaluation.function", "ezspark.distributed")
    for name in ("loop.py", "trainer.py"):
        tree = ast.parse((PACKAGE / "training" / name).read_text())
        imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [m for m in imported if m and m.startswith(concrete)], name
        assert "getattr" not in (PACKAGE / "training" / name).read_text(), name
