"""A user's batched environment: the worked example of docs/plugins.md ("Batched
environments"), run as written (issue 17 item 1).

The example's module is taken from the Markdown and loaded as ``mypackage.drift``; its two
hooks register the gymnasium environment and the numpy batched version; ``compare`` plays
them side by side bit for bit, and the evaluator gives the same fitness through either.
"""
from __future__ import annotations

import sys
import types
import warnings

import gymnasium
import numpy as np
import pytest

from ezspark import hookimpl
from ezspark.batched import SWITCH, compare, factory_for
from ezspark.engine.innovation import InnovationRegistry
from ezspark.evaluation.envs import inspect_env
from ezspark.evaluation.local import EnvEvaluator
from ezspark.network.programs import compile_programs
from ezspark.plugins import manager
from ezspark.plugins.manager import PluginWarning, make_plugin_manager

from .genomes import grown_genome
from .markdown_commands import ROOT, fenced_blocks
from .test_batched_eval import assert_same, play_both

ENV_ID = "mypackage/Drift-v0"


def example_source() -> str:
    blocks = [b.body for b in fenced_blocks(ROOT / "docs" / "plugins.md")
              if b.lang == "python" and b.body.startswith("# mypackage/drift.py")]
    assert len(blocks) == 1
    return blocks[0]


@pytest.fixture
def drift(monkeypatch):
    """The example module, registered by a plugin manager of its own; gymnasium's and
    ezspark's registries are restored afterwards."""
    module = types.ModuleType("mypackage.drift")
    exec(compile(example_source(), "docs/plugins.md", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "mypackage", types.ModuleType("mypackage"))
    monkeypatch.setitem(sys.modules, "mypackage.drift", module)
    manager.get_plugin_manager()
    monkeypatch.setattr(manager, "_BATCHED", dict(manager._BATCHED))
    pm = make_plugin_manager(autoload=False, register_envs=False)
    pm.register(module, name="drift")
    manager._register_envs(pm)
    manager._register_batched(pm)
    yield module
    gymnasium.registry.pop(ENV_ID, None)


def test_the_worked_example_is_gymnasiums_episodes_bit_for_bit(drift):
    assert factory_for(ENV_ID) is drift.BatchedDrift
    steps = compare(ENV_ID, episodes=60, rows=6, seed=5)
    assert steps > 60 * 10

    def right(obs, rng):        # reaches x >= 1 (terminated) from most starts
        return np.where(rng.random(len(obs)) < 0.8, 2, rng.integers(0, 3, len(obs)))

    assert compare(ENV_ID, episodes=30, rows=4, seed=6, policy=right) < 30 * 100


def test_the_worked_example_trains_the_same_either_way(drift, monkeypatch):
    rng = np.random.default_rng(1)
    reg = InnovationRegistry(2, 3)
    progs = compile_programs([grown_genome(rng, reg, 6) for _ in range(30)], 2, 3)
    info = inspect_env(ENV_ID, 2, 3)
    lock, lock_calls, batched, batched_calls = play_both(info, progs, max_steps=1000,
                                                         max_rows=7, sub_games=2)
    assert_same(lock, batched)
    assert lock_calls == batched_calls
    monkeypatch.setenv(SWITCH, "1")
    ev = EnvEvaluator(info, games=1, max_steps=50, sub_games=1, minimum_reward=-1.0)
    ev.evaluate(progs, 0, 0)
    assert ev._batched_env is None
    ev.close()


def test_a_second_batched_version_of_an_id_is_skipped_naming_both(drift):
    class Other:
        @hookimpl
        def ezspark_register_batched_envs(self, register):
            register(ENV_ID, "somewhere.else:Batched")

    pm = make_plugin_manager(autoload=False, register_envs=False)
    pm.register(Other(), name="other")
    with pytest.warns(PluginWarning, match=r"plugin 'other' registers a batched version of "
                                           r"'mypackage/Drift-v0', which plugin 'drift' "
                                           r"already registered"):
        manager._register_batched(pm)
    assert factory_for(ENV_ID) is drift.BatchedDrift
    with warnings.catch_warnings():                 # the same registration again: no clash
        warnings.simplefilter("error")
        pm = make_plugin_manager(autoload=False, register_envs=False)
        pm.register(drift, name="drift")
        manager._register_batched(pm)
