"""Continuous actions (docs/algorithm.md 2.3 and 3.4): bounded Box action spaces of shape
(n,) train with output_size n; outputs without the +1 bias map linearly onto [low, high]."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import ezspark
from ezspark.config.training import TrainingConfig
from ezspark.engine.genome import Genome
from ezspark.evaluation.envs import EnvError
from ezspark.evaluation.play import episode_returns, play_episodes
from ezspark.network.actions import BoxActions, box_actions
from ezspark.network.champion import Champion
from ezspark.store.export import champion_from_dict, champion_to_dict

from .envs_for_tests import register_all

register_all()
BOX = "ezspark_tests/Box-v0"      # actions in [-1, 1] x [0, 3]; reward: their sum, 5 steps


def box_config(**keys) -> TrainingConfig:
    base = dict(gym_game_name=BOX, input_size=2, output_size=2, initial_population=30,
                min_population=30, generations=8, max_number_of_games=1,
                max_number_of_steps=5, minimum_reward=-10, validation_games=2)
    return TrainingConfig(**{**base, **keys})


def champion_with_weight(weight: float, actions=None) -> Champion:
    """Inputs 1, 2 to outputs 3, 4, every connection of the given weight."""
    genome = Genome(np.arange(1, 5), np.array([1, 1, 2, 2]), np.array([3, 4, 3, 4]),
                    np.full(4, float(weight)), np.ones(4, dtype=bool))
    return Champion(genome, 2, 2, actions=actions)


def test_outputs_map_linearly_onto_each_range_in_the_space_dtype():
    box = BoxActions([-1.0, 0.0], [1.0, 3.0])
    actions = box.of([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0], [0.25, 1.0]])
    assert actions.dtype == np.float32
    assert actions.tolist() == [[-1.0, 0.0], [0.0, 1.5], [1.0, 3.0], [-0.5, 3.0]]
    assert BoxActions([0.1], [0.3]).of([1.0]).tolist() == [np.float32(0.3)]  # clipped


def test_a_silent_network_asks_for_the_middle_without_the_output_bias():
    """Weights 0: σ(0) = 0.5 is the middle of every range; a discrete champion of the same
    genome keeps EzSpark's σ(0 + 1)."""
    box = BoxActions([-2.0, 0.0], [2.0, 3.0])
    champion = champion_with_weight(0.0, box)
    assert champion.activate([5.0, -3.0]).tolist() == [0.5, 0.5]
    assert champion.act([5.0, -3.0]).tolist() == [0.0, 1.5]
    assert champion.act(np.zeros((3, 2))).tolist() == [[0.0, 1.5]] * 3
    discrete = champion_with_weight(0.0)
    assert discrete.activate([5.0, -3.0])[0] == pytest.approx(1 / (1 + np.exp(-4.9)))


def test_box_actions_need_a_finite_range_of_one_length():
    for low, high in (([], []), ([0.0], [1.0, 2.0]), ([0.0], [np.inf]), ([1.0], [0.0])):
        with pytest.raises(ValueError):
            BoxActions(low, high)
    import gymnasium
    space = gymnasium.spaces.Box(-1.0, 1.0, (2, 2))
    with pytest.raises(ValueError, match=r"Box actions of shape \(2, 2\)"):
        box_actions(space)


def test_training_learns_the_top_of_every_range_and_stores_the_bounds(tmp_path):
    result = ezspark.train(box_config(), out=tmp_path, seed=0)
    best = [h.best_fitness for h in result.history]
    assert best[-1] > best[0] and best[-1] > 15.0     # 20 is the top of both ranges, 5 steps
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert json.loads(f.attrs["actions"]) == {"kind": "box", "low": [-1.0, 0.0],
                                                  "high": [1.0, 3.0], "dtype": "float32"}
    loaded = ezspark.load_champion(tmp_path / "run.h5")
    assert loaded.actions == result.champion.actions == BoxActions([-1.0, 0.0], [1.0, 3.0])
    action = loaded.act([1.0, 1.0])
    assert action.dtype == np.float32 and action.shape == (2,)
    assert np.array_equal(action, result.champion.act([1.0, 1.0]))
    assert -1.0 <= action[0] <= 1.0 and 0.0 <= action[1] <= 3.0


def test_play_and_batched_play_agree_and_match_training(tmp_path):
    result = ezspark.train(box_config(generations=3), out=tmp_path, seed=1)
    champion = ezspark.load_champion(tmp_path / "run.h5", "last")
    one_by_one = play_episodes(champion, episodes=3, seed=4)
    assert one_by_one == episode_returns(champion, episodes=3, seed=4)
    assert one_by_one == pytest.approx([result.history[-1].best_fitness] * 3)


def test_workers_give_the_same_run_as_one_process(tmp_path):
    one = ezspark.train(box_config(generations=4), seed=3)
    two = ezspark.train(box_config(generations=4), seed=3, workers=2)
    assert [h.best_fitness for h in one.history] == [h.best_fitness for h in two.history]


def test_export_keeps_the_action_space_and_the_outputs():
    champion = champion_with_weight(0.7, BoxActions([-1.0, 0.0], [1.0, 3.0]))
    doc = json.loads(json.dumps(champion_to_dict(champion)))
    assert doc["action_space"] == {"kind": "box", "low": [-1.0, 0.0], "high": [1.0, 3.0],
                                   "dtype": "float32"}
    assert doc["activation"]["output_bias"] == 0.0 and doc["action"].startswith("action[j]")
    back = champion_from_dict(doc)
    assert back.actions == champion.actions
    assert np.array_equal(back.act([0.3, -0.2]), champion.act([0.3, -0.2]))
    doc["activation"]["output_bias"] = 1.0
    with pytest.raises(ValueError, match="output_bias is 1.0, but ezspark networks of Box "
                                         "actions use 0.0"):
        champion_from_dict(doc)
    doc["action_space"] = {"low": [0.0]}
    with pytest.raises(ValueError, match="action_space needs numeric lists low and high"):
        champion_from_dict(doc)


def test_a_champion_played_on_the_other_kind_of_actions_is_refused():
    discrete = champion_with_weight(0.5)
    with pytest.raises(EnvError, match="trained for discrete actions, but "
                                       "ezspark_tests/Box-v0 has continuous actions"):
        play_episodes(discrete, BOX)
    box = champion_with_weight(0.5, BoxActions([-1.0, -1.0], [1.0, 1.0]))
    with pytest.raises(EnvError, match="trained for continuous actions, but "
                                       "ezspark_tests/SeedLog-v0 has discrete actions"):
        episode_returns(box, "ezspark_tests/SeedLog-v0")


def test_pendulum_trains_end_to_end():
    cfg = TrainingConfig(gym_game_name="Pendulum-v1", input_size=3, output_size=1,
                         initial_population=20, min_population=20, generations=2,
                         max_number_of_games=1, max_number_of_steps=50, minimum_reward=-17,
                         validation_games=1)
    result = ezspark.train(cfg, seed=0)
    action = result.champion.act(np.zeros(3))
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0
    assert all(np.isfinite(h.best_fitness) and h.best_fitness < 0 for h in result.history)


def test_inspect_names_the_continuous_actions_and_recurrence(tmp_path):
    from click.testing import CliRunner

    from ezspark.cli import cli
    ezspark.train(box_config(generations=2, recurrent=True), out=tmp_path / "r", seed=0)
    exported = CliRunner().invoke(cli, ["export", str(tmp_path / "r"), "-o",
                                        str(tmp_path / "c.json")])
    assert exported.exit_code == 0, exported.output
    shown = CliRunner().invoke(cli, ["inspect", str(tmp_path / "c.json"), "--json"])
    data = json.loads(shown.stdout)
    assert (data["recurrent"], data["actions"]) == (True, "2 continuous actions in [-1, 1], "
                                                          "[0, 3]")
    text = CliRunner().invoke(cli, ["inspect", str(tmp_path / "c.json")]).stdout
    assert "2 inputs, 2 outputs (2 continuous actions in [-1, 1], [0, 3])" in text
    assert any(line.startswith("network:") and line.endswith(", recurrent")
               for line in text.splitlines()), text


def test_every_way_back_to_a_stored_champion_keeps_its_action_space(tmp_path):
    """A resumed run's champion, a stored population and any stored champion of a
    continuous run act on the range, as the run's own champion does."""
    cfg = box_config(generations=4)
    ezspark.train(cfg, out=tmp_path, seed=2, generations=2, save_population=1)
    resumed = ezspark.train(cfg, out=tmp_path, resume=True)
    run = ezspark.RunFile.open(tmp_path / "run.h5")
    box = BoxActions([-1.0, 0.0], [1.0, 3.0])
    assert resumed.champion.actions == box
    assert all(run.champion(g).actions == box for g in run.generations)
    assert all(c.actions == box for c in run.population(1))
    assert all(run.champions.champion_at(k, BOX).actions == box
               for k in range(len(run.champions.index)))
    earlier = run.champions.below(2)        # what a resume keeps of the stored champions
    assert len(earlier.index) == 2 and earlier.recurrent == run.champions.recurrent
    assert all(earlier.champion_at(k, BOX).actions == box for k in range(2))
