"""The evaluator on batched environments (``ezspark.evaluation.batched.BatchedLoop``): the
same fitness, bit for bit, as the lockstep loop over gymnasium's environments (issue 17
item 2), for random and trained networks, any number of live rows, ``sub_games``,
recurrent networks, ``--workers`` and whole training runs; the same errors; the switch.
"""
from __future__ import annotations

import attrs
import numpy as np
import pytest

import ezspark
from ezspark.batched import SWITCH, factory_for
from ezspark.batched.classic import CartPole
from ezspark.engine.innovation import InnovationRegistry
from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.envs import EnvError, episode_seed, inspect_env
from ezspark.evaluation.local import EnvEvaluator
from ezspark.evaluation.play import episode_returns
from ezspark.evaluation.processes import ProcessEvaluator
from ezspark.network.programs import compile_programs
from ezspark.plugins import manager

from .genomes import grown_genome
from .helpers import assert_same_history_and_champions

#: env id -> (input size, output size)
SIZES = {"CartPole-v1": (4, 2), "Acrobot-v1": (6, 3), "MountainCar-v0": (2, 3),
         "Pendulum-v1": (3, 1)}


def programs(env_id, n, seed=0, recurrent=False):
    n_in, n_out = SIZES[env_id]
    rng = np.random.default_rng(seed)
    reg = InnovationRegistry(n_in, n_out)
    genomes = [grown_genome(rng, reg, int(rng.integers(0, 12)), recurrent=recurrent)
               for _ in range(n)]
    info = inspect_env(env_id, n_in, n_out)
    bias = {} if info.box is None else {"output_bias": info.box.output_bias}
    return compile_programs(genomes, n_in, n_out, recurrent=recurrent, **bias), info


def play_both(info, progs, *, games=3, max_steps=150, sub_games=1, max_rows=512):
    """(lockstep result, its progress calls, batched result, its progress calls); asserts
    which loop played."""
    out = []
    for batched in (False, True):
        calls = []
        ev = EnvEvaluator(info, games=games, max_steps=max_steps, sub_games=sub_games,
                          minimum_reward=0.0, max_rows=max_rows, batched=batched)
        try:
            out.append(ev.evaluate(progs, 11, 3, calls.append))
            assert (ev._batched_env is not None) == batched
        finally:
            ev.close()
        out.append(calls)
    return out


def assert_same(a, b):
    for name in ("fitness", "env_steps"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.reward_violations, a.min_reward) == (b.reward_violations, b.min_reward)


@pytest.mark.parametrize("env_id", list(SIZES))
@pytest.mark.parametrize("rows, sub_games", [(512, 1), (3, 2), (1, 1)])
def test_batched_fitness_is_the_lockstep_fitness(env_id, rows, sub_games):
    progs, info = programs(env_id, 24 if rows > 3 else 8, seed=rows)
    lock, lock_calls, batched, batched_calls = play_both(
        info, progs, max_rows=rows, sub_games=sub_games, max_steps=150 if rows > 3 else 60)
    assert_same(lock, batched)
    assert lock_calls == batched_calls
    if env_id != "CartPole-v1":               # steps that pay less than minimum_reward 0
        assert batched.reward_violations > 0 and batched.min_reward < 0


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1"])
def test_recurrent_networks_reset_and_move_with_their_rows(env_id):
    progs, info = programs(env_id, 12, seed=5, recurrent=True)
    assert progs.recurrent
    lock, _, batched, _ = play_both(info, progs, max_rows=6, sub_games=2, games=4,
                                    max_steps=80)
    assert_same(lock, batched)


def test_the_time_limit_ends_games_below_max_number_of_steps():
    progs, info = programs("MountainCar-v0", 6)
    lock, _, batched, _ = play_both(info, progs, max_steps=10_000, games=2)
    assert_same(lock, batched)
    assert batched.env_steps.max() == 2 * 200


def test_workers_pull_the_same_fitness():
    progs, info = programs("CartPole-v1", 40, seed=9)
    serial, _, _, _ = play_both(info, progs)
    pool = ProcessEvaluator(info, 2, games=3, max_steps=150, sub_games=1, minimum_reward=0.0)
    try:
        assert_same(serial, pool.evaluate(progs, 11, 3))
    finally:
        pool.close()


def test_a_trained_run_is_the_same_run_batched_or_not(tmp_path, monkeypatch):
    """A short CartPole training with batched environments off and on: the same history,
    champions and validation scores; the champion's returns on fresh episodes agree."""
    cfg = attrs.evolve(ezspark.TrainingConfig.docs_example(), gym_game_name="CartPole-v1",
                       initial_population=40, min_population=40, max_population=40,
                       max_number_of_games=2, generations=6, validation_games=5)
    files = {}
    for switch in ("1", "0"):
        monkeypatch.setenv(SWITCH, switch)
        result = ezspark.train(cfg, out=tmp_path / switch, seed=3)
        files[switch] = result.path
    off, on = assert_same_history_and_champions(files["1"], files["0"])
    np.testing.assert_array_equal(off.champions.index["validation"],
                                  on.champions.index["validation"])
    champion = ezspark.load_champion(files["0"])
    returns = {}
    for switch in ("1", "0"):
        monkeypatch.setenv(SWITCH, switch)
        returns[switch] = episode_returns(champion, episodes=12, seed=77)
    assert returns["1"] == returns["0"] and len(returns["0"]) == 12


def test_a_continuous_run_is_the_same_run_batched_or_not(tmp_path, monkeypatch):
    cfg = ezspark.TrainingConfig(gym_game_name="Pendulum-v1", input_size=3, output_size=1,
                                 initial_population=16, min_population=16, max_population=16,
                                 max_number_of_games=2, generations=3, validation_games=2,
                                 minimum_reward=-20.0)
    files = {}
    for switch in ("1", "0"):
        monkeypatch.setenv(SWITCH, switch)
        files[switch] = ezspark.train(cfg, out=tmp_path / switch, seed=4).path
    assert_same_history_and_champions(files["1"], files["0"])


def test_the_switch_and_the_evaluator_option(monkeypatch):
    progs, info = programs("CartPole-v1", 3)
    assert factory_for("CartPole-v1") is CartPole
    monkeypatch.setenv(SWITCH, "1")
    assert factory_for("CartPole-v1") is None
    assert factory_for("CartPole-v1", switch=False) is CartPole
    ev = EnvEvaluator(info, games=1, max_steps=20, sub_games=1, minimum_reward=0.0)
    ev.evaluate(progs, 0, 0)
    assert ev._batched_env is None and ev._pool
    ev.close()


# -- errors: the same messages as the lockstep loop, where the game is known ---------------

@pytest.fixture
def registered(monkeypatch):
    """Registers a batched class for CartPole-v1 for one test."""
    manager.get_plugin_manager()

    def register(cls):
        monkeypatch.setitem(manager._BATCHED, "CartPole-v1", ("tests", cls))
    return register


def faulty(at_step, fault):
    class Faulty(CartPole):
        t = 0

        def step(self, n, actions, obs, reward, terminated):
            super().step(n, actions, obs, reward, terminated)
            Faulty.t += 1
            if Faulty.t == at_step:
                fault(obs, reward, n)
    return Faulty


def evaluate(info, progs, batched=True):
    ev = EnvEvaluator(info, games=2, max_steps=100, sub_games=1, minimum_reward=0.0,
                      batched=batched)
    try:
        return ev.evaluate(progs, 0, 4, genome_ids=np.arange(10, 10 + len(progs)))
    finally:
        ev.close()


@pytest.mark.parametrize("fault, message", [
    (lambda obs, reward, n: obs.__setitem__((n - 1, 2), np.nan),
     r"non-finite observation \(generation 4, genome 1\d, game [01]\)"),
    (lambda obs, reward, n: reward.__setitem__(0, np.inf),
     r"non-finite reward \(the return of the game is inf; generation 4, genome 10, game 0\)"),
    (lambda obs, reward, n: 1 / 0,
     r"CartPole-v1 \(batched: Faulty\) raised in step\(\): ZeroDivisionError.*generation 4"),
])
def test_a_misbehaving_batched_env_stops_the_run_naming_what_it_can(registered, fault,
                                                                   message):
    progs, info = programs("CartPole-v1", 3)
    registered(faulty(2, fault))
    with pytest.raises(EvaluationError, match=message):
        evaluate(info, progs)


def test_a_reset_that_raises_names_the_game(registered):
    progs, info = programs("CartPole-v1", 3)

    class BadReset(CartPole):
        def reset(self, rows, seeds, obs):
            if episode_seed(0, 4, 11, 1) in seeds:
                raise RuntimeError("no such start")
            super().reset(rows, seeds, obs)

    registered(BadReset)
    with pytest.raises(EvaluationError, match=r"raised in reset\(\): RuntimeError: no such "
                                              r"start \(generation 4, genome 11, game 1\)"):
        evaluate(info, progs)


def test_a_batched_env_with_other_spaces_is_refused(registered):
    from gymnasium import spaces

    class Wrong(CartPole):
        def __init__(self, rows, **kw):
            super().__init__(rows, **kw)
            self.action_space = spaces.Discrete(3)

    progs, info = programs("CartPole-v1", 2)
    registered(Wrong)
    with pytest.raises(EnvError, match=r"batched version of CartPole-v1 \(Wrong\) declares "
                                       r"actions Discrete\(3\)"):
        evaluate(info, progs)
