"""Tests written for mutants of the local evaluator (``ezspark/evaluation/local.py``) that
survived mutation testing (docs/testing.md, "Mutation testing").  Each names the rule it
pins: the three ways in (``evaluate``, ``play``, ``play_jobs``) with and without genome
ids, pulled programs, the number of environment instances, and the action objects an
environment is handed."""
from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.envs import episode_seed, inspect_env
from ezspark.evaluation.local import EnvEvaluator, episode_seeds
from ezspark.engine.innovation import InnovationRegistry
from ezspark.network.programs import compile_programs

from .envs_for_tests import SeedLogEnv, register_all
from .genomes import grown_genome, initial_genome

register_all()


class CountingEnv(SeedLogEnv):
    """SeedLogEnv that counts the instances made of it."""

    made = 0

    def __init__(self):
        super().__init__()
        CountingEnv.made += 1


class OwnDiscrete(spaces.Discrete):
    """A Discrete subclass: its ``contains`` and ``sample`` could differ from gymnasium's."""


class ActionLogEnv(SeedLogEnv):
    """SeedLogEnv that logs every action object it is handed; ``own``: an OwnDiscrete space
    with start 3 instead of gymnasium's Discrete(2)."""

    log: list = []

    def __init__(self, own=False):
        super().__init__()
        if own:
            self.action_space = OwnDiscrete(2, start=3)

    def step(self, action):
        ActionLogEnv.log.append(action)
        return super().step(action)


for _env_id, _entry, _kw in [("ezspark_tests/Counting-v0", CountingEnv, {}),
                             ("ezspark_tests/ActionLog-v0", ActionLogEnv, {}),
                             ("ezspark_tests/ActionLog-own-v0", ActionLogEnv, {"own": True})]:
    if _env_id not in gymnasium.registry:
        gymnasium.register(_env_id, entry_point=_entry, kwargs=_kw, max_episode_steps=50)


def _programs(n, seed=0):
    rng = np.random.default_rng(seed)
    reg = InnovationRegistry(2, 2)
    return compile_programs([grown_genome(rng, reg, 6) for _ in range(n)], 2, 2)


def _evaluator(env_id="ezspark_tests/SeedLog-v0", games=3, sub_games=1, **kw):
    return EnvEvaluator(inspect_env(env_id, 2, 2), games=games, max_steps=50,
                        sub_games=sub_games, minimum_reward=-10.0, **kw)


# -- episode seeds --------------------------------------------------------------------------------

def test_episode_seeds_are_int64_even_when_empty():
    assert episode_seeds(1, 2, [4, 5], 2).tolist() == \
        [[episode_seed(1, 2, i, g) for g in range(2)] for i in (4, 5)]
    for ids, games in [([], 3), ([4, 5], 0)]:
        seeds = episode_seeds(1, 2, ids, games)
        assert seeds.dtype == np.int64 and seeds.shape == (len(ids), games)


# -- the three ways in ----------------------------------------------------------------------------

@pytest.mark.parametrize("way", ["evaluate", "play", "play_jobs"])
def test_an_error_names_the_genome_id_given(way):
    ev = _evaluator("ezspark_tests/Raising-v0", games=1)
    progs, ids = _programs(1), [7]
    seeds = episode_seeds(0, 4, ids, 1)
    run = {"evaluate": lambda: ev.evaluate(progs, 0, 4, genome_ids=ids),
           "play": lambda: ev.play(progs, seeds, generation=4, genome_ids=ids),
           "play_jobs": lambda: ev.play_jobs(progs, lambda p, g: int(seeds[p, g]),
                                             generation=4, genome_ids=ids)}[way]
    with pytest.raises(EvaluationError, match=r"\(generation 4, genome 7, game 0\)"):
        run()


def test_play_and_play_jobs_without_genome_ids_play_the_seeds_given():
    progs, ev = _programs(4), _evaluator(sub_games=2)
    expected = ev.evaluate(progs, 5, 1)
    seeds = episode_seeds(5, 1, range(4), 3)
    by_play = ev.play(progs, seeds)
    by_jobs = ev.play_jobs(progs, lambda p, g: int(seeds[p, g]))
    for result in (by_play, by_jobs):
        assert np.array_equal(result.fitness, expected.fitness)
        assert np.array_equal(result.env_steps, expected.env_steps)


def test_play_reads_whole_number_seeds_of_any_dtype_as_integers():
    progs, ev = _programs(3), _evaluator()
    seeds = episode_seeds(2, 0, range(3), 3)
    result = ev.play(progs, seeds.astype(np.float64))
    assert np.array_equal(result.fitness, ev.play(progs, seeds).fitness)


# -- pulled programs ------------------------------------------------------------------------------

def test_programs_never_pulled_keep_nan_and_no_steps():
    progs, ev = _programs(4), _evaluator()
    expected = ev.evaluate(progs, 3, 0)
    handed = iter([2, 0])
    result = ev.play_jobs(progs, lambda p, g: episode_seed(3, 0, p, g),
                          pull=lambda: next(handed, -1))
    assert np.isnan(result.fitness[[1, 3]]).all() and result.env_steps[[1, 3]].tolist() == [0, 0]
    assert np.array_equal(result.fitness[[0, 2]], expected.fitness[[0, 2]])
    assert np.array_equal(result.env_steps[[0, 2]], expected.env_steps[[0, 2]])


@pytest.mark.parametrize("pull", [None, lambda: -1])
def test_no_programs_give_empty_float_fitness_and_int_steps(pull):
    result = _evaluator().play_jobs(_programs(0), lambda p, g: 0, pull=pull)
    assert result.fitness.shape == (0,) and result.fitness.dtype == np.float64
    assert result.env_steps.shape == (0,) and result.env_steps.dtype == np.int64


def test_with_no_games_pulled_programs_keep_nan_and_taken_ones_score_zero():
    # games == 0 (the configuration refuses it, the class does not): pull is never called,
    # so no program is pulled; without pull every program is taken and plays no game
    ev, calls = _evaluator(games=0), []
    pulled = ev.play_jobs(_programs(2), lambda p, g: 0, pull=lambda: calls.append(1) or -1)
    taken = ev.play_jobs(_programs(2), lambda p, g: 0)
    assert np.isnan(pulled.fitness).all() and calls == []
    assert taken.fitness.tolist() == [0.0, 0.0] and taken.env_steps.tolist() == [0, 0]


# -- environment instances ------------------------------------------------------------------------

def _instances_made(ev, progs, **kw):
    before = CountingEnv.made
    ev.play_jobs(progs, lambda p, g: episode_seed(0, 0, p, g), **kw)
    return CountingEnv.made - before


@pytest.mark.parametrize("max_rows,expected", [(None, 3), (2, 2), (1, 1), (0, 1), (-4, 1)])
def test_max_rows_caps_the_environment_instances_made(max_rows, expected):
    ev = _evaluator("ezspark_tests/Counting-v0")
    assert _instances_made(ev, _programs(3), max_rows=max_rows) == expected
    assert _instances_made(ev, _programs(3), max_rows=max_rows) == 0     # the pool is reused


def test_the_default_keeps_at_most_32_gymnasium_rows():
    # docs/decisions.md, "Rows in flight"
    from ezspark.evaluation.local import LOCKSTEP_ROWS

    assert LOCKSTEP_ROWS == 32
    progs = compile_programs([initial_genome(2, 2)] * 33, 2, 2)
    ev = _evaluator("ezspark_tests/Counting-v0", games=1)
    assert _instances_made(ev, progs) == 32
    assert _instances_made(ev, progs, max_rows=100) == 0     # a worker's share: capped too
    assert _instances_made(_evaluator("ezspark_tests/Counting-v0", games=1, max_rows=40),
                           progs) == 33                      # an explicit cap is the cap


def test_the_default_keeps_up_to_2048_rows_of_a_batched_environment():
    from ezspark.evaluation.local import BATCHED_ROWS

    assert BATCHED_ROWS == 2048
    progs = compile_programs([initial_genome(4, 2)] * 2049, 4, 2)
    ev = EnvEvaluator(inspect_env("CartPole-v1", 4, 2), games=1, max_steps=2, sub_games=1,
                      minimum_reward=-10.0)
    ev.evaluate(progs, 0, 0)
    assert ev._batched_env.rows == 2048
    ev.evaluate(progs.subset(np.arange(40)), 0, 0)
    assert ev._batched_env.rows == 2048                      # kept, not made anew


# -- action objects -------------------------------------------------------------------------------

@pytest.mark.parametrize("env_id,kind,actions", [
    ("ezspark_tests/ActionLog-v0", np.int64, {0, 1}),        # Discrete: its own scalars
    ("ezspark_tests/ActionLog-own-v0", int, {3, 4}),         # a subclass: Python ints
])
def test_only_gymnasiums_own_discrete_gets_its_dtype_scalars_as_actions(env_id, kind, actions):
    ActionLogEnv.log.clear()
    _evaluator(env_id).evaluate(_programs(6), 0, 0)
    assert {type(a) for a in ActionLogEnv.log} == {kind}
    assert set(ActionLogEnv.log) == actions
