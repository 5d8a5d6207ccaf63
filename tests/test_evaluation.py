"""Evaluation on real gymnasium environments (docs/algorithm.md section 6, properties 12.2
to 12.4)."""
import gymnasium
import numpy as np
import pytest

from ezspark.evaluation.envs import EnvError, episode_seed, inspect_env
from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.function import evaluate_fitness_function
from ezspark.evaluation.local import EnvEvaluator
from ezspark.engine.innovation import InnovationRegistry
from ezspark.network.programs import compile_programs

from .envs_for_tests import SeedLogEnv, register_all
from .genomes import grown_genome

register_all()


class ShapeShiftEnv(SeedLogEnv):
    """Step 2 of every episode returns a bad observation: ``kind`` "short" (1 value instead of
    2), "nan" (a NaN), "list" (a valid list, converted by the slow path)."""

    def __init__(self, kind="short"):
        super().__init__()
        self.kind = kind

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        if self._t == 2:
            obs = {"short": np.zeros(1, dtype=np.float32),
                   "nan": np.array([0.0, np.nan], dtype=np.float32),
                   "list": [float(v) for v in obs]}[self.kind]
        return obs, reward, term, trunc, info


for _kind in ("short", "nan", "list"):
    if f"ezspark_tests/Shape-{_kind}-v0" not in gymnasium.registry:
        gymnasium.register(f"ezspark_tests/Shape-{_kind}-v0", entry_point=ShapeShiftEnv,
                           kwargs={"kind": _kind}, max_episode_steps=50)


def genomes(n, n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    reg = InnovationRegistry(n_in, n_out)
    return [grown_genome(rng, reg, 8) for _ in range(n)]


def evaluator(env_id, n_in, n_out, games=5, steps=200, sub_games=1, minimum_reward=0.0, **kw):
    return EnvEvaluator(inspect_env(env_id, n_in, n_out), games=games, max_steps=steps,
                        sub_games=sub_games, minimum_reward=minimum_reward, **kw)


def reference_fitness(genome, env_id, n_in, n_out, seed, k, i, games, steps):
    """docs/algorithm.md 6.1 played one game at a time on a plain gymnasium.make env."""
    prog = compile_programs([genome], n_in, n_out)
    env = gymnasium.make(env_id)
    total = 0.0
    for g in range(games):
        obs, _ = env.reset(seed=episode_seed(seed, k, i, g))
        ret = 0.0
        for _ in range(steps):
            a = int(prog.act_rows(np.zeros(1, dtype=np.intp),
                                  np.asarray(obs, dtype=float).reshape(1, -1))[0])
            obs, r, term, trunc, _ = env.step(a)
            ret += float(r)
            if term or trunc:
                break
        total += ret
    return total / games


class TestFitness:
    def test_cartpole_fitness_equals_a_plain_loop(self):
        pop = genomes(6, 4, 2, seed=1)
        ev = evaluator("CartPole-v1", 4, 2, games=3, steps=500)
        res = ev.evaluate(compile_programs(pop, 4, 2), seed=5, generation=2)
        for i, g in enumerate(pop):
            assert res.fitness[i] == reference_fitness(g, "CartPole-v1", 4, 2, 5, 2, i, 3, 500)
        assert res.env_steps.sum() == round(res.fitness.sum() * 3)   # 1 reward per step

    @pytest.mark.parametrize("env_id,n_in,n_out", [("Acrobot-v1", 6, 3), ("MountainCar-v0", 2, 3),
                                                   ("ezspark_tests/Shape-list-v0", 2, 2)])
    def test_other_envs_fitness_equals_a_plain_loop(self, env_id, n_in, n_out):
        # the evaluator passes actions as the action space's own scalars (numpy int64) and
        # steps the unwrapped env: the returns are those of int actions on gymnasium.make
        pop = genomes(4, n_in, n_out, seed=5)
        ev = evaluator(env_id, n_in, n_out, games=2, steps=60)
        res = ev.evaluate(compile_programs(pop, n_in, n_out), seed=2, generation=1)
        for i, g in enumerate(pop):
            assert res.fitness[i] == reference_fitness(g, env_id, n_in, n_out, 2, 1, i, 2, 60)

    def test_actions_are_the_spaces_own_scalars(self):
        ev = evaluator("CartPole-v1", 4, 2)
        table = ev._action_table(ev._envs(1))
        assert [type(a) for a in table] == [np.int64, np.int64] and list(table) == [0, 1]
        ev = evaluator("ezspark_tests/SeedLog-v0", 2, 2)
        assert list(ev._action_table(ev._envs(1))) == [0, 1]

    @pytest.mark.parametrize("rows", [1, 3, 512])
    def test_number_of_live_rows_never_changes_fitness(self, rows):
        pop = genomes(7, 4, 2, seed=2)
        progs = compile_programs(pop, 4, 2)
        base = evaluator("CartPole-v1", 4, 2, games=2).evaluate(progs, 1, 0)
        other = evaluator("CartPole-v1", 4, 2, games=2, max_rows=rows).evaluate(progs, 1, 0)
        assert np.array_equal(base.fitness, other.fitness)

    def test_sub_games_changes_speed_never_fitness(self):
        pop = genomes(5, 2, 2, seed=3)
        progs = compile_programs(pop, 2, 2)
        results = [evaluator("ezspark_tests/SeedLog-v0", 2, 2, games=5, sub_games=s)
                   .evaluate(progs, 9, 4).fitness for s in range(1, 6)]
        for r in results[1:]:
            assert np.array_equal(r, results[0])

    def test_games_are_split_over_copies_mod_sub_games(self):
        pop = genomes(1, 2, 2)
        SeedLogEnv.log.clear()
        evaluator("ezspark_tests/SeedLog-v0", 2, 2, games=5, sub_games=2).evaluate(
            compile_programs(pop, 2, 2), 3, 0)
        seeds = [episode_seed(3, 0, 0, g) for g in range(5)]
        by_instance = {}
        for inst, s in SeedLogEnv.log:
            by_instance.setdefault(inst, []).append(seeds.index(s))
        assert sorted(by_instance.values()) == [[0, 2, 4], [1, 3]]

    def test_fitness_is_the_mean_return_per_game(self):
        pop = genomes(1, 2, 2)
        res = evaluator("ezspark_tests/Negative-v0", 2, 2, games=4, minimum_reward=-5).evaluate(
            compile_programs(pop, 2, 2), 0, 0)
        lengths = [3 + episode_seed(0, 0, 0, g) % 5 for g in range(4)]
        assert res.fitness[0] == -sum(lengths) / 4
        assert res.env_steps[0] == sum(lengths) and res.reward_violations == 0

    def test_minimum_reward_counts_violations_and_never_changes_fitness(self):
        progs = compile_programs(genomes(3, 2, 2), 2, 2)
        low = evaluator("ezspark_tests/Negative-v0", 2, 2, minimum_reward=-1.0).evaluate(progs, 0, 0)
        high = evaluator("ezspark_tests/Negative-v0", 2, 2, minimum_reward=0.0).evaluate(progs, 0, 0)
        assert np.array_equal(low.fitness, high.fitness)
        assert low.reward_violations == 0
        assert high.reward_violations == int(high.env_steps.sum()) and high.min_reward == -1.0

    def test_step_cap_ends_each_game(self):
        progs = compile_programs(genomes(2, 4, 2), 4, 2)
        res = evaluator("CartPole-v1", 4, 2, games=3, steps=7).evaluate(progs, 0, 0)
        assert (res.env_steps <= 21).all() and res.fitness.max() <= 7

    def test_re_evaluation_gives_identical_fitness(self):
        progs = compile_programs(genomes(4, 4, 2, seed=4), 4, 2)
        ev = evaluator("CartPole-v1", 4, 2)
        a = ev.evaluate(progs, 11, 3)
        b = ev.evaluate(progs, 11, 3)
        c = evaluator("CartPole-v1", 4, 2).evaluate(progs.subset([2]), 11, 3, genome_ids=[2])
        assert np.array_equal(a.fitness, b.fitness) and c.fitness[0] == a.fitness[2]


class TestBadEnvironments:
    def test_nan_reward_names_generation_genome_and_game(self):
        progs = compile_programs(genomes(2, 2, 2), 2, 2)
        with pytest.raises(EvaluationError, match=r"non-finite reward \(the return of the game is nan; generation 4, genome 0, game 0\)"):
            evaluator("ezspark_tests/NaNReward-v0", 2, 2).evaluate(progs, 0, 4)

    def test_nan_observation_is_an_error(self):
        progs = compile_programs(genomes(2, 2, 2), 2, 2)
        with pytest.raises(EvaluationError, match="non-finite observation"):
            evaluator("ezspark_tests/NaNObs-v0", 2, 2).evaluate(progs, 0, 0)

    def test_nan_observation_after_a_step_names_genome_and_game(self):
        progs = compile_programs(genomes(2, 2, 2), 2, 2)
        with pytest.raises(EvaluationError, match=r"ezspark_tests/Shape-nan-v0 returned a "
                           r"non-finite observation \(generation 3, genome 0, game 0\)"):
            evaluator("ezspark_tests/Shape-nan-v0", 2, 2).evaluate(progs, 0, 3)

    def test_wrong_observation_size_after_a_step_is_explained(self):
        progs = compile_programs(genomes(2, 2, 2), 2, 2)
        with pytest.raises(EnvError, match=r"returned an observation with 1 values, but "
                           r"input_size is 2 \(generation 3, genome 0, game 0\)"):
            evaluator("ezspark_tests/Shape-short-v0", 2, 2).evaluate(progs, 0, 3)

    def test_env_raising_in_step_is_reported_with_context(self):
        progs = compile_programs(genomes(2, 2, 2), 2, 2)
        with pytest.raises(EvaluationError, match="simulator exploded.*generation 1, genome 0"):
            evaluator("ezspark_tests/Raising-v0", 2, 2).evaluate(progs, 0, 1)


class TestFitnessFunction:
    def test_values_are_returned_per_genome(self):
        progs = compile_programs(genomes(3, 2, 1), 2, 1)
        res = evaluate_fitness_function(lambda nets: np.arange(len(nets)), progs, 3)
        assert list(res.fitness) == [0.0, 1.0, 2.0]

    @pytest.mark.parametrize("bad, match", [
        (lambda n: [1.0, 2.0], "returned 2 values for 3 genomes"),
        (lambda n: [1.0, float("nan"), 2.0], "nan for genome 1"),
        (lambda n: ["a", "b", "c"], "must return 3 numbers"),
    ])
    def test_bad_return_values_are_explained(self, bad, match):
        progs = compile_programs(genomes(3, 2, 1), 2, 1)
        with pytest.raises(EvaluationError, match=match):
            evaluate_fitness_function(bad, progs, 3)
