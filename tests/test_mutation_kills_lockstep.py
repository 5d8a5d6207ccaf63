"""Tests written for mutants of the lockstep evaluation loop (ezspark/evaluation/lockstep.py)
that survived mutation testing (docs/testing.md, "Mutation testing").  Each names the rule
it pins: programs handed out by pull(), the registered time limit, the odd observations the
slow path accepts or refuses, and errors that name the environment, k, i and g of the game
that failed (docs/algorithm.md 6.1)."""
from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.envs import EnvError, inspect_env
from ezspark.evaluation.local import EnvEvaluator
from ezspark.engine.innovation import InnovationRegistry
from ezspark.network.programs import compile_programs

from .envs_for_tests import SeedLogEnv, register_all
from .genomes import grown_genome

register_all()

TRAP = 131                      # the seed of game 1 of program 3 under _seed_of
IDS = [10, 11, 12, 13, 14]      # genome ids of the five programs (only label errors)


class ProbeEnv(SeedLogEnv):
    """SeedLogEnv that misbehaves in ``where`` ("reset", or "step" for the first step) of
    games reset with seed ``trap`` (None: every game): ``what`` is "raise", "nan" (a NaN
    value), "short" (1 value instead of 2), "scalar" (a 0-d array), "nested" (the right
    values as [[a, b]]), "none" (a list holding None) or "complex" (a list holding a complex
    number)."""

    def __init__(self, where="step", what="raise", trap=None):
        super().__init__()
        self.where, self.what, self.trap = where, what, trap

    def _odd(self, obs):
        if self.what == "raise":
            raise RuntimeError(f"{self.where} exploded")
        return {"nan": np.array([0.0, np.nan], dtype=np.float32),
                "short": np.zeros(1, dtype=np.float32),
                "scalar": np.array(0.5, dtype=np.float32),
                "nested": [[float(v) for v in obs]],
                "none": [None, float(obs[1])],
                "complex": [complex(obs[0], 1.0), float(obs[1])]}[self.what]

    def _hit(self, where):
        return self.where == where and (self.trap is None or self._seed == self.trap)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return (self._odd(obs) if self._hit("reset") else obs), info

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        return (self._odd(obs) if self._hit("step") and self._t == 1 else obs), reward, \
            term, trunc, info


def _register(name, max_episode_steps=50, **kw):
    env_id = f"ezspark_tests/Lockstep-{name}-v0"
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=ProbeEnv, kwargs=kw,
                           max_episode_steps=max_episode_steps)
    return env_id


LIMIT_2 = _register("limit2", max_episode_steps=2, trap=-1)    # never misbehaves


def _programs(n=5, seed=0):
    rng = np.random.default_rng(seed)
    reg = InnovationRegistry(2, 2)
    return compile_programs([grown_genome(rng, reg, 6) for _ in range(n)], 2, 2)


def _evaluator(env_id, games=2, sub_games=2, **kw):
    return EnvEvaluator(inspect_env(env_id, 2, 2), games=games, max_steps=50,
                        sub_games=sub_games, minimum_reward=-10.0, **kw)


def _seed_of(p, g):
    return 100 + 10 * p + g


def _seeds(n=5, games=2):
    return np.array([[_seed_of(p, g) for g in range(games)] for p in range(n)])


# -- programs handed out by pull() ----------------------------------------------------------------

def test_pull_plays_exactly_the_programs_it_hands_out():
    progs = _programs()
    ev = _evaluator("ezspark_tests/SeedLog-v0", games=3, sub_games=1)
    full = ev.play_jobs(progs, _seed_of)
    order = iter([3, 1])
    res = ev.play_jobs(progs, _seed_of, pull=lambda: next(order, -1), max_rows=3)
    assert np.isnan(res.fitness[[0, 2, 4]]).all()
    assert res.fitness[[1, 3]].tolist() == full.fitness[[1, 3]].tolist()
    assert res.env_steps.tolist() == [0, full.env_steps[1], 0, full.env_steps[3], 0]
    assert res.env_steps.dtype == np.int64


def test_pull_may_not_hand_out_the_index_one_past_the_last_program():
    ev = _evaluator("ezspark_tests/SeedLog-v0")
    with pytest.raises(ValueError, match=r"pull\(\) returned 5; expected a program index"):
        ev.play_jobs(_programs(), _seed_of, pull=lambda: 5)


# -- the registered time limit ---------------------------------------------------------------------

def test_a_game_ends_at_the_registered_time_limit_below_max_steps():
    res = _evaluator(LIMIT_2, games=3, sub_games=1).play(_programs(), _seeds(games=3))
    assert res.env_steps.tolist() == [6] * 5          # 3 games of 2 steps, not 3 + seed % 5


# -- observations the slow path converts or refuses ------------------------------------------------

def test_a_nested_list_observation_is_flattened():
    plain = _evaluator("ezspark_tests/SeedLog-v0").play(_programs(), _seeds())
    nested = _evaluator(_register("nested", what="nested")).play(_programs(), _seeds())
    assert nested.fitness.tolist() == plain.fitness.tolist()


def test_a_zero_dimensional_observation_has_one_value():
    with pytest.raises(EnvError, match=r"returned an observation with 1 values, but "
                                       r"input_size is 2 \(generation 5, genome 10, game 0\)"):
        _evaluator(_register("scalar", what="scalar")).play(
            _programs(), _seeds(), generation=5, genome_ids=IDS)


def test_none_in_an_observation_list_is_a_non_finite_observation():
    with pytest.raises(EvaluationError, match=r"returned a non-finite observation "
                                              r"\(generation 5, genome 10, game 0\)"):
        _evaluator(_register("none", what="none")).play(
            _programs(), _seeds(), generation=5, genome_ids=IDS)


def test_a_complex_value_in_an_observation_list_is_refused():
    with pytest.raises(TypeError, match="complex"):     # not cut to its real part
        _evaluator(_register("complex", what="complex")).play(_programs(), _seeds())


# -- errors name the game that failed, not another row's ------------------------------------------

@pytest.mark.parametrize("where,what,error,message", [
    ("reset", "raise", EvaluationError, r"raised in reset\(\): RuntimeError: reset exploded"),
    ("reset", "short", EnvError, r"returned an observation with 1 values, but input_size is 2"),
    ("reset", "nan", EvaluationError, r"returned a non-finite observation"),
    ("step", "raise", EvaluationError, r"raised in step\(\): RuntimeError: step exploded"),
    ("step", "nan", EvaluationError, r"returned a non-finite observation"),
])
def test_an_error_names_the_generation_genome_and_game_that_failed(where, what, error, message):
    env_id = _register(f"{where}-{what}", where=where, what=what, trap=TRAP)
    with pytest.raises(error, match=rf"{env_id} {message} "
                                    r"\(generation 5, genome 13, game 1\)$"):
        _evaluator(env_id).play(_programs(), _seeds(), generation=5, genome_ids=IDS)
