"""Shared helpers of the tests: XOR data, fitness, the user-error assertion, and the
comparison of two runs' files."""
import json

import numpy as np

import ezspark

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([0, 1, 1, 0])


def xor_fitness(nets):
    return 4 - ((nets.activate(X)[:, :, 0] - Y) ** 2).sum(axis=1)


def assert_user_error(result, *fragments):
    """Exit 2, exactly one ``Error:`` line naming every fragment, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0]


HISTORY_FIELDS = ("generation", "best_fitness", "mean_fitness", "population", "species",
                  "evaluations", "env_steps", "reward_violations")


def assert_same_history_and_champions(a, b):
    """Two run.h5 files hold the same history (wall time aside) and the same champions."""
    ra, rb = ezspark.RunFile.open(a), ezspark.RunFile.open(b)
    for name in HISTORY_FIELDS:
        assert np.array_equal(ra.history[name], rb.history[name]), name
    assert ra.generations == rb.generations
    for g in ra.generations:
        ca, cb = ra.champion(g), rb.champion(g)
        assert ca.genome == cb.genome and ca.fitness == cb.fitness and ca.species == cb.species
    return ra, rb


def write_small_cartpole(tmp_path, name="cfg.json", **keys):
    """A CartPole-v1 config of the docs values made small for tests (30 genomes, 2 games),
    written to ``tmp_path/name``; ``keys`` override any key."""
    values = ezspark.TrainingConfig.docs_example().to_dict()
    values.update(gym_game_name="CartPole-v1", initial_population=30, max_number_of_games=2)
    values.update(keys)
    path = tmp_path / name
    path.write_text(json.dumps(values))
    return path
