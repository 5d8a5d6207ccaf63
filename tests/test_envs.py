import hashlib
import json
import sys

import gymnasium
import numpy as np
import pytest
from click.testing import CliRunner

from ezspark.cli import cli
from ezspark.envs import env_support, flat_size
from ezspark.evaluation.envs import EnvError, FastEnv, episode_seed, inspect_env

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

    def test_continuous_actions_are_accepted_with_their_bounds(self):
        info = inspect_env("Pendulum-v1", 3, 1)
        assert (info.box.low, info.box.high, info.box.dtype) == ((-2.0,), (2.0,), "float32")
        assert inspect_env("CartPole-v1", 4, 2).box is None
        with pytest.raises(EnvError, match=r"output_size is 2 but Pendulum-v1 has 1 continuous "
                                            r"action in \[-2, 2\] \(Box\(-2.0, 2.0, \(1,\), "
                                            r"float32\)\): set output_size to 1"):
            inspect_env("Pendulum-v1", 3, 2)

    @pytest.mark.parametrize("env_id, reason", [
        ("ezspark_tests/BoxMatrix-v0", "Box actions of shape (2, 2)"),
        ("ezspark_tests/BoxUnbounded-v0", "unbounded Box actions (Box(-inf, inf, (2,), "
                                          "float32); every bound must be finite)")])
    def test_other_box_actions_are_refused_naming_the_space(self, env_id, reason):
        with pytest.raises(EnvError) as err:
            inspect_env(env_id, 2, 2)
        assert str(err.value).startswith(f"{env_id} has {reason}")
        assert "bounded Box actions of shape (n,)" in str(err.value)

    def test_dict_observations_are_refused(self):
        with pytest.raises(EnvError, match="ezspark_tests/Dict-v0 has Dict observations"):
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


class TestEnvSupport:
    """`env_support`: whether, and if not why, ezspark can train an environment here."""

    def test_cartpole_is_trainable_with_its_sizes_and_limits(self):
        support = env_support("CartPole-v1")
        assert support.trainable and support.reason is None
        assert (support.observation_size, support.actions) == (4, 2)
        assert (support.max_episode_steps, support.reward_threshold) == (500, 475.0)

    def test_acrobot_has_three_actions(self):
        support = env_support("Acrobot-v1")
        assert (support.trainable, support.observation_size, support.actions) == (True, 6, 3)

    def test_continuous_actions(self):
        support = env_support("Pendulum-v1")
        assert (support.trainable, support.observation_size, support.actions,
                support.continuous) == (True, 3, 1, True)
        support = env_support("ezspark_tests/BoxMatrix-v0")
        assert not support.trainable and support.actions is None
        assert support.reason.startswith("Box actions of shape (2, 2)")

    def test_unsupported_observations(self):
        assert env_support("ezspark_tests/Dict-v0").reason == "Dict observations"
        assert env_support("Blackjack-v1").reason == "Tuple observations"

    def test_unknown_id_suggests_close_ones(self):
        reason = env_support("CartPole-v9").reason
        assert reason.startswith("not registered (did you mean CartPole-v1")

    def test_missing_module_is_a_reason_not_a_crash(self):
        assert env_support("no_such_module_xyz:Env-v0").reason == (
            "needs the Python module no_such_module_xyz")

    def test_missing_dependency_names_the_pip_install(self, monkeypatch):
        # mujoco comes with the dev extra: hide it, and gymnasium's modules that imported it
        monkeypatch.setitem(sys.modules, "mujoco", None)
        for name in [n for n in sys.modules if n.startswith("gymnasium.envs.mujoco")]:
            monkeypatch.delitem(sys.modules, name)
        assert env_support("Hopper-v5").reason == "needs pip install gymnasium[mujoco]"


def envs(*args):
    result = CliRunner().invoke(cli, ["envs", *args])
    assert result.exit_code == 0, result.output
    return result


class TestEnvsCommand:
    def test_header_then_one_row_per_line(self):
        lines = envs().stdout.splitlines()
        assert lines[0].split() == ["id", "plugin", "observation", "actions", "trainable"]
        rows = {line.split()[0]: line.split() for line in lines[1:]}
        assert rows["CartPole-v1"] == ["CartPole-v1", "gymnasium", "4", "2", "yes"]
        assert rows["Acrobot-v1"] == ["Acrobot-v1", "gymnasium", "6", "3", "yes"]
        assert rows["ezspark/SlowCartPole-v1"][1:] == ["ezspark", "4", "2", "yes"]
        assert "\x1b[" not in envs().stdout          # no terminal styles through a pipe

    def test_untrainable_ones_only_with_all_and_their_reason(self):
        default = envs()
        ids = [line.split()[0] for line in default.stdout.splitlines()[1:]]
        assert "ezspark_tests/BoxMatrix-v0" not in ids and "ezspark_tests/Dict-v0" not in ids
        pendulum = next(line for line in default.stdout.splitlines()
                        if line.startswith("Pendulum-v1 "))
        assert pendulum.split()[1:] == ["gymnasium", "3", "1", "continuous", "yes"]
        assert "'ezspark envs --all' lists them" in default.stderr
        lines = envs("--all").stdout.splitlines()
        matrix = next(line for line in lines if line.startswith("ezspark_tests/BoxMatrix-v0 "))
        assert matrix.split()[1:4] == ["gymnasium", "2", "-"]
        assert "no: Box actions of shape (2, 2)" in matrix
        assert any(line.startswith("ezspark_tests/Dict-v0 ") and line.endswith(
            "no: Dict observations") for line in lines)
        assert len(lines) - 1 == len(gymnasium.registry)

    def test_json_keeps_its_shape_and_gains_the_new_fields(self):
        rows = json.loads(envs("--json").stdout)
        everything = json.loads(envs("--json", "--all").stdout)
        assert all(row["trainable"] for row in rows) and len(everything) > len(rows)
        by_id = {row["id"]: row for row in everything}
        assert by_id["CartPole-v1"] == {
            "id": "CartPole-v1", "plugin": "gymnasium",
            "entry_point": "gymnasium.envs.classic_control.cartpole:CartPoleEnv",
            "observation_size": 4, "observation_shape": [4], "actions": 2,
            "continuous": False, "trainable": True, "reason": None}
        pendulum = by_id["Pendulum-v1"]
        assert (pendulum["trainable"], pendulum["reason"], pendulum["actions"],
                pendulum["continuous"]) == (True, None, 1, True)
