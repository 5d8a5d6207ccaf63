import hashlib

import gymnasium
import numpy as np
import pytest

from ezspark.evaluation.envs import EnvError, FastEnv, episode_seed, flat_size, inspect_env

from .envs_for_tests import register_all

register_all()


class TestEpisodeSeed:
    def test_matches_the_spec_formula(self):
        text = b"ezspark-episode:7:3:12:4"
        expected = int.from_bytes(hashlib.sha256(text).digest()[:4], "little") % 2**31
        assert episode_seed(7, 3, 12, 4) == expected
        assert 0 <= episode_seed(2**63 - 1, 10**6, 10**5, 99) < 2**31

    def test_every_argument_changes_the_seed(self):
        base = episode_seed(1, 2, 3, 4)
        assert len({base, episode_seed(0, 2, 3, 4), episode_seed(1, 0, 3, 4),
                    episode_seed(1, 2, 0, 4), episode_seed(1, 2, 3, 0)}) == 5


class TestInspectEnv:
    def test_cartpole_passes(self):
        info = inspect_env("CartPole-v1", 4, 2)
        assert (info.input_size, info.output_size, info.action_start) == (4, 2, 0)

    def test_wrong_input_size_names_both_numbers(self):
        with pytest.raises(EnvError, match="input_size is 6 but observations of CartPole-v1 have 4 values"):
            inspect_env("CartPole-v1", 6, 2)

    def test_wrong_action_count_names_both_numbers(self):
        with pytest.raises(EnvError, match="output_size is 3 but CartPole-v1 has 2 actions"):
            inspect_env("CartPole-v1", 4, 3)

    def test_continuous_actions_are_refused(self):
        with pytest.raises(EnvError, match="only discrete actions"):
            inspect_env("Pendulum-v1", 3, 1)

    def test_dict_observations_are_refused(self):
        with pytest.raises(EnvError, match="Dict"):
            inspect_env("ezspark_tests/Dict-v0", 2, 2)

    def test_unknown_id_names_it_and_suggests(self):
        with pytest.raises(EnvError) as err:
            inspect_env("CartPole-v9", 4, 2)
        assert "'CartPole-v9'" in str(err.value) and "CartPole-v1" in str(err.value)

    def test_flat_size_of_supported_spaces(self):
        from gymnasium import spaces
        assert flat_size(spaces.Discrete(5)) == 1
        assert flat_size(spaces.Box(0, 1, (3, 4))) == 12
        assert flat_size(spaces.MultiBinary(6)) == 6
        assert flat_size(spaces.MultiDiscrete([2, 3])) == 2
        assert flat_size(spaces.Tuple((spaces.Discrete(2),))) is None


class TestFastEnv:
    def test_unwrapped_stepping_reproduces_the_wrapped_env(self):
        fast, slow = FastEnv("CartPole-v1"), gymnasium.make("CartPole-v1")
        assert fast.time_limit == 500 and fast.step.__self__ is fast.env.unwrapped
        rng = np.random.default_rng(0)
        for seed in (1, 2):
            o1, _ = fast.reset(seed=seed)
            o2, _ = slow.reset(seed=seed)
            assert np.array_equal(o1, o2)
            for _ in range(40):
                a = int(rng.integers(2))
                r1, r2 = fast.step(a), slow.step(a)
                assert np.array_equal(r1[0], r2[0]) and r1[1:4] == r2[1:4]
                if r1[2]:
                    break
