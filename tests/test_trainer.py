"""ezspark.train end to end: determinism, stopping rules, storage of champions."""
import json
import os
import subprocess
import sys

import attrs
import h5py
import numpy as np
import pytest

import ezspark
from ezspark import ConfigError, EnvError, TrainingConfig

from .conftest import compiled_kernels

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_fitness(nets):
    out = nets.activate(X)
    return 4.0 - ((out[:, :, 0] - Y) ** 2).sum(axis=1)


def xor_cfg(**kw):
    keys = dict(input_size=2, output_size=1, species_threshold=2.0, generations=30)
    keys.update(kw)
    return TrainingConfig(**keys)


def cartpole_cfg(**kw):
    keys = TrainingConfig.docs_example().to_dict()
    keys.update(gym_game_name="CartPole-v1", max_number_of_steps=100, generations=4,
                initial_population=20, max_number_of_games=2)
    keys.update(kw)
    return TrainingConfig.from_dict(keys)


def history_table(result):
    return [attrs.astuple(attrs.evolve(h, seconds=0.0)) for h in result.history]  # no wall time


class TestDeterminism:
    def test_same_seed_same_history_and_champion(self):
        a = ezspark.train(xor_cfg(), fitness=xor_fitness, seed=3)
        b = ezspark.train(xor_cfg(), fitness=xor_fitness, seed=3)
        assert history_table(a) == history_table(b)
        assert a.champion.genome == b.champion.genome

    def test_different_seed_different_run(self):
        a = ezspark.train(xor_cfg(), fitness=xor_fitness, seed=3)
        b = ezspark.train(xor_cfg(), fitness=xor_fitness, seed=4)
        assert history_table(a) != history_table(b)

    def test_env_run_is_deterministic(self):
        a = ezspark.train(cartpole_cfg(), seed=1)
        b = ezspark.train(cartpole_cfg(), seed=1)
        assert history_table(a) == history_table(b) and a.champion.genome == b.champion.genome

    def test_sub_games_leave_the_run_unchanged(self):
        a = ezspark.train(cartpole_cfg(max_number_of_games=3, sub_games=1), seed=2)
        b = ezspark.train(cartpole_cfg(max_number_of_games=3, sub_games=3), seed=2)
        assert history_table(a) == history_table(b)

    def test_seed_from_config_and_recorded_when_absent(self):
        a = ezspark.train(xor_cfg(seed=11, generations=3), fitness=xor_fitness)
        assert a.seed == 11
        b = ezspark.train(xor_cfg(generations=2), fitness=xor_fitness)
        c = ezspark.train(xor_cfg(generations=2), fitness=xor_fitness, seed=b.seed)
        assert history_table(b) == history_table(c)

    def test_pure_python_twins_give_the_same_run(self, tmp_path):
        """A whole run with EZSPARK_NO_EXTENSIONS=1 equals the compiled run."""
        script = (
            "import json, sys, attrs, ezspark\n"
            "from tests.test_trainer import xor_cfg, xor_fitness, history_table\n"
            "r = ezspark.train(xor_cfg(generations=25), fitness=xor_fitness, seed=5)\n"
            "print(json.dumps({'compiled': ezspark._core.COMPILED,\n"
            "                  'history': history_table(r),\n"
            "                  'weights': r.champion.genome.weight.tolist()}))\n")
        runs = {}
        for flag in ("0", "1"):
            env = dict(os.environ, EZSPARK_NO_EXTENSIONS=flag)
            out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                                 capture_output=True, text=True,
                                 cwd=os.path.dirname(os.path.dirname(__file__)))
            runs[flag] = json.loads(out.stdout.strip().splitlines()[-1])
        assert runs["1"]["compiled"] is False
        # the subprocess without the switch uses the compiled kernels whenever they are
        # built, also when this process runs on the twins (the .ci twins run)
        assert runs["0"]["compiled"] is (compiled_kernels() is not None)
        assert runs["0"]["history"] == runs["1"]["history"]
        assert runs["0"]["weights"] == runs["1"]["weights"]


class TestStopping:
    def test_exactly_generations_are_evaluated(self):
        r = ezspark.train(xor_cfg(generations=7), fitness=xor_fitness, seed=0)
        assert [h.generation for h in r.history] == list(range(7))
        assert r.stopped == "generations" and r.champion.generation == 6

    def test_generations_argument_overrides_the_config(self):
        r = ezspark.train(xor_cfg(generations=50), fitness=xor_fitness, seed=0, generations=3)
        assert r.generations == 3

    def test_fitness_threshold_stops_at_first_generation_reaching_it(self):
        r = ezspark.train(xor_cfg(generations=500, fitness_threshold=3.5), fitness=xor_fitness,
                          seed=0)
        best = [h.best_fitness for h in r.history]
        assert best[-1] >= 3.5 and all(b < 3.5 for b in best[:-1])
        assert r.stopped == "fitness_threshold"
        assert r.history[-1].species == -1           # the final generation is not speciated

    def test_history_rows_describe_each_generation(self):
        r = ezspark.train(cartpole_cfg(), seed=0)
        first = r.history[0]
        assert first.population == first.evaluations == 20
        assert first.env_steps > 0 and first.best_fitness >= first.mean_fitness
        assert r.history[1].population == 5          # one species: 3 + 1 + 1


class TestStorage:
    def test_champions_are_stored_every_saving_generations_and_at_the_end(self, tmp_path):
        r = ezspark.train(xor_cfg(generations=8, saving=3), fitness=xor_fitness, seed=0,
                          out=tmp_path / "run")
        with h5py.File(r.path, "r", swmr=True) as f:
            index = f["champions/index"][()]
            assert index["generation"].tolist() == [0, 3, 6, 7]
            assert f["history"].shape == (8,)
            last = index[-1]
            genes = f["champions/connections"][last["conn_offset"]:last["conn_offset"]
                                               + last["conn_count"]]
            assert np.array_equal(genes["weight"], r.champion.genome.weight)
            assert last["fitness"] == r.champion.fitness

    def test_existing_run_is_not_overwritten(self, tmp_path):
        ezspark.train(xor_cfg(generations=2), fitness=xor_fitness, seed=0, out=tmp_path)
        before = (tmp_path / "run.h5").read_bytes()
        with pytest.raises(ValueError, match="already exists"):
            ezspark.train(xor_cfg(generations=2), fitness=xor_fitness, seed=0, out=tmp_path)
        assert (tmp_path / "run.h5").read_bytes() == before


class TestErrors:
    def test_env_mismatch_is_refused_before_any_evaluation(self, tmp_path):
        with pytest.raises(EnvError, match="input_size is 6 but observations of CartPole-v1 have 4"):
            ezspark.train(cartpole_cfg(input_size=6), seed=0, out=tmp_path / "x")
        assert not (tmp_path / "x").exists()

    def test_missing_env_without_fitness_function(self):
        with pytest.raises(ConfigError, match="gym_game_name"):
            ezspark.train(xor_cfg(), seed=0)

    def test_bad_seed(self):
        with pytest.raises(ConfigError, match="seed"):
            ezspark.train(xor_cfg(), fitness=xor_fitness, seed=-1)

    def test_config_path_is_accepted(self, tmp_path):
        path = tmp_path / "c.json"
        path.write_text(xor_cfg(generations=2).to_json())
        r = ezspark.train(str(path), fitness=xor_fitness, seed=0)
        assert r.generations == 2

    def test_reward_below_minimum_warns_once(self):
        with pytest.warns(ezspark.RewardBelowMinimum, match="Acrobot-v1 gave a reward of -1.0") as rec:
            ezspark.train(TrainingConfig(gym_game_name="Acrobot-v1", input_size=6, output_size=3,
                                         generations=2, initial_population=3,
                                         max_number_of_games=1, max_number_of_steps=5), seed=0)
        assert len([w for w in rec if w.category is ezspark.RewardBelowMinimum]) == 1


class TestStopCallback:
    def test_stop_ends_the_run_after_the_generation_it_approves(self):
        seen = []

        def stop(champion):
            seen.append((champion.generation, champion.fitness))
            return champion.generation == 4

        r = ezspark.train(xor_cfg(generations=50), fitness=xor_fitness, seed=0, stop=stop)
        assert r.generations == 5 and r.stopped == "stop"
        assert [g for g, _ in seen] == [0, 1, 2, 3, 4]
        assert [f for _, f in seen] == [h.best_fitness for h in r.history]
