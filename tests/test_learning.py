"""It learns: the issue's acceptance numbers on CartPole-v1 and XOR (docs/algorithm.md
section 11)."""
from pathlib import Path

import numpy as np
import pytest

import ezspark
from ezspark.evaluation.play import play_episodes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_cartpole_example_solves_in_at_least_8_of_10_seeds():
    cfg = ezspark.TrainingConfig.from_json(EXAMPLES / "cartpole.json")
    assert cfg.gym_game_name == "CartPole-v1" and cfg.max_number_of_steps == 500
    assert cfg.generations == 30
    solved = 0
    for seed in range(10):
        result = ezspark.train(cfg, seed=seed)
        returns = play_episodes(result.champion, "CartPole-v1", episodes=100, seed=10**9 + seed)
        solved += np.mean(returns) >= 475
    assert solved >= 8


def test_xor_example_solves_in_at_least_9_of_10_seeds():
    import importlib.util
    spec = importlib.util.spec_from_file_location("xor_example", EXAMPLES / "xor.py")
    xor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(xor)
    cfg = xor.xor_config()
    assert cfg.species_threshold == 2.0 and cfg.generations == 500
    solved = 0
    for seed in range(10):
        result = ezspark.train(cfg, fitness=xor.xor_fitness, seed=seed)
        out = result.champion.activate(xor.X)[:, 0]
        fitness = 4.0 - ((out - xor.Y) ** 2).sum()
        solved += fitness >= 3.9 and result.history[-1].best_fitness >= 3.9
    assert solved >= 9
