"""``--workers``: ProcessEvaluator shares a generation between processes through a shared
genome counter; fitness and steps are bit-identical to the serial evaluation."""
import numpy as np
import pytest

from ezspark.evaluation.envs import episode_seed, inspect_env
from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.local import EnvEvaluator
from ezspark.network.programs import compile_programs
from ezspark.evaluation.processes import ProcessEvaluator

from .envs_for_tests import register_all
from .test_evaluation import genomes

register_all()


def serial(env_id, n_in, n_out, progs, seed, gen, **kw):
    ev = EnvEvaluator(inspect_env(env_id, n_in, n_out), **kw)
    try:
        return ev.evaluate(progs, seed, gen)
    finally:
        ev.close()


@pytest.fixture(scope="module")
def cartpole_programs():
    return compile_programs(genomes(23, 4, 2, seed=7), 4, 2)


@pytest.mark.parametrize("workers,chunks,sub_games", [(2, 4, 1), (2, 1, 1), (3, 8, 2), (1, 2, 5)])
def test_identical_to_serial(cartpole_programs, workers, chunks, sub_games):
    kw = dict(games=5, max_steps=300, sub_games=sub_games, minimum_reward=0.0)
    base = serial("CartPole-v1", 4, 2, cartpole_programs, 3, 2, **kw)
    pe = ProcessEvaluator(inspect_env("CartPole-v1", 4, 2), workers, chunks_per_worker=chunks, **kw)
    try:
        for _ in range(2):        # the pool and counter are reused generation after generation
            seen = []
            res = pe.evaluate(cartpole_programs, 3, 2, progress=seen.append)
            assert np.array_equal(res.fitness, base.fitness)
            assert np.array_equal(res.env_steps, base.env_steps)
            assert res.reward_violations == base.reward_violations == 0
            assert seen == sorted(seen) and seen[-1] == len(cartpole_programs)
        other = pe.evaluate(cartpole_programs.subset([3, 1]), 3, 5)
        ref = serial("CartPole-v1", 4, 2, cartpole_programs.subset([3, 1]), 3, 5, **kw)
        assert np.array_equal(other.fitness, ref.fitness)
    finally:
        pe.close()


def test_violations_and_smallest_reward_are_merged():
    progs = compile_programs(genomes(9, 2, 2, seed=1), 2, 2)
    kw = dict(games=3, max_steps=50, sub_games=1, minimum_reward=0.0)
    base = serial("ezspark_tests/Negative-v0", 2, 2, progs, 0, 0, **kw)
    pe = ProcessEvaluator(inspect_env("ezspark_tests/Negative-v0", 2, 2), 2, **kw)
    try:
        res = pe.evaluate(progs, 0, 0)
    finally:
        pe.close()
    assert np.array_equal(res.fitness, base.fitness)
    assert res.reward_violations == base.reward_violations == int(base.env_steps.sum())
    assert res.min_reward == base.min_reward == -1.0


def test_env_errors_keep_their_message_and_the_pool_stays_usable(cartpole_programs):
    progs = compile_programs(genomes(6, 2, 2), 2, 2)
    kw = dict(games=2, max_steps=50, sub_games=1, minimum_reward=0.0)
    pe = ProcessEvaluator(inspect_env("ezspark_tests/Raising-v0", 2, 2), 2, **kw)
    try:
        with pytest.raises(EvaluationError, match=r"raised in step\(\): RuntimeError: simulator "
                                                  r"exploded \(generation 4, genome \d, game 0\)"):
            pe.evaluate(progs, 0, 4)
    finally:
        pe.close()
    pe = ProcessEvaluator(inspect_env("ezspark_tests/NaNReward-v0", 2, 2), 2, **kw)
    try:
        with pytest.raises(EvaluationError, match="non-finite reward"):
            pe.evaluate(progs, 0, 1)
    finally:
        pe.close()


def test_empty_generation():
    pe = ProcessEvaluator(inspect_env("CartPole-v1", 4, 2), 2, games=2, max_steps=10,
                          sub_games=1, minimum_reward=0.0)
    try:
        res = pe.evaluate(compile_programs([], 4, 2), 0, 0)
    finally:
        pe.close()
    assert res.fitness.shape == (0,) and res.env_steps.shape == (0,)


class TestPull:
    """EnvEvaluator.play_jobs with a pull() source: what each worker process runs."""

    def test_pulled_genomes_equal_the_serial_ones(self, cartpole_programs):
        ev = EnvEvaluator(inspect_env("CartPole-v1", 4, 2), games=3, max_steps=200, sub_games=2,
                          minimum_reward=0.0)
        base = ev.evaluate(cartpole_programs, 1, 3)
        order = iter([5, 0, 17, 9])
        res = ev.play_jobs(cartpole_programs, lambda p, g: episode_seed(1, 3, p, g),
                           generation=3, pull=lambda: next(order, -1), max_rows=3)
        mine = np.flatnonzero(~np.isnan(res.fitness))
        assert mine.tolist() == [0, 5, 9, 17]
        assert np.array_equal(res.fitness[mine], base.fitness[mine])
        assert np.array_equal(res.env_steps[mine], base.env_steps[mine])
        assert (res.env_steps[np.isnan(res.fitness)] == 0).all()

    def test_bad_index_from_pull(self, cartpole_programs):
        ev = EnvEvaluator(inspect_env("CartPole-v1", 4, 2), games=1, max_steps=20, sub_games=1,
                          minimum_reward=0.0)
        with pytest.raises(ValueError, match="pull"):
            ev.play_jobs(cartpole_programs, lambda p, g: 0, pull=lambda: 99)


def test_play_from_seeds_equals_serial_play(cartpole_programs):
    kw = dict(games=2, max_steps=300, sub_games=1, minimum_reward=0.0)
    seeds = np.arange(len(cartpole_programs) * 2).reshape(-1, 2) * 7 + 1
    ev = EnvEvaluator(inspect_env("CartPole-v1", 4, 2), **kw)
    base = ev.play(cartpole_programs, seeds)
    pe = ProcessEvaluator(inspect_env("CartPole-v1", 4, 2), 2, **kw)
    try:
        res = pe.play(cartpole_programs, seeds, generation=3, genome_ids=np.arange(23) + 100)
        with pytest.raises(ValueError, match="seeds has shape"):
            pe.play(cartpole_programs, seeds[:, :1])
    finally:
        pe.close()
    assert np.array_equal(res.fitness, base.fitness)
    assert np.array_equal(res.env_steps, base.env_steps)
