"""``episode_returns``: the returns of ``play_episodes`` (same episodes, same sums),
computed through the batched evaluator, serially or on worker processes."""
import attrs
import numpy as np
import pytest

import ezspark
from ezspark.network.champion import Champion
from ezspark.evaluation.envs import EnvError
from ezspark.evaluation.play import episode_returns, play_episodes

from .test_evaluation import genomes


@pytest.fixture(scope="module")
def trained():
    """A CartPole-v1 champion that balances for long (a few generations of training)."""
    cfg = attrs.evolve(ezspark.TrainingConfig.docs_example(), gym_game_name="CartPole-v1",
                       max_number_of_steps=500, max_number_of_games=2, generations=4,
                       initial_population=60, min_population=60, max_population=60)
    return ezspark.train(cfg, seed=1).champion


def random_champions(env_id, n_in, n_out, n=3):
    return [Champion(g, n_in, n_out, env_id=env_id) for g in genomes(n, n_in, n_out, seed=11)]


def test_trained_champion_returns_equal_play_episodes(trained):
    assert trained.env_id == "CartPole-v1"
    ref = play_episodes(trained, episodes=12, seed=10**9 + 3)
    assert max(ref) > 100                      # long episodes, not only early failures
    assert episode_returns(trained, episodes=12, seed=10**9 + 3) == ref
    assert episode_returns(trained, episodes=12, seed=10**9 + 3, workers=2) == ref


@pytest.mark.parametrize("env_id,n_in,n_out", [("CartPole-v1", 4, 2), ("Acrobot-v1", 6, 3),
                                               ("MountainCar-v0", 2, 3)])
def test_returns_equal_play_episodes(env_id, n_in, n_out):
    for champ in random_champions(env_id, n_in, n_out):
        ref = play_episodes(champ, episodes=5, seed=42)
        assert episode_returns(champ, episodes=5, seed=42) == ref
        capped = play_episodes(champ, episodes=3, seed=7, max_steps=9)
        assert episode_returns(champ, episodes=3, seed=7, max_steps=9) == capped


def test_edge_cases(trained):
    assert episode_returns(trained, episodes=0) == []
    champ = Champion(trained.genome, 4, 2)
    with pytest.raises(EnvError, match="without an environment"):
        episode_returns(champ, episodes=2)
    assert episode_returns(champ, "CartPole-v1", episodes=2, seed=5) == \
        play_episodes(champ, "CartPole-v1", episodes=2, seed=5)
    assert isinstance(episode_returns(trained, episodes=1)[0], float)
    assert np.all(np.isfinite(episode_returns(trained, episodes=3, workers=3)))
