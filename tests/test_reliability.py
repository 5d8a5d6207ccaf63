"""Bad environments, bad files and random configs: one clear line, exit 2, nothing lost."""
import json
import re

import h5py
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ezspark
from ezspark.cli import cli

from .envs_for_tests import register_all

register_all()


def cfg_file(tmp_path, env_id, **kw):
    keys = dict(gym_game_name=env_id, input_size=2, output_size=2, generations=5,
                initial_population=4, minimum_reward=-10)
    keys.update(kw)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(keys))
    return path


@pytest.mark.parametrize("env_id, fragment", [
    ("ezspark_tests/Raising-v0", "raised in step(): RuntimeError: simulator exploded"),
    ("ezspark_tests/NaNReward-v0", "returned a non-finite reward"),
    ("ezspark_tests/NaNObs-v0", "non-finite observation"),
])
def test_misbehaving_env_stops_with_env_genome_and_generation(tmp_path, env_id, fragment):
    res = CliRunner().invoke(cli, ["run", str(cfg_file(tmp_path, env_id)), "--out",
                                   str(tmp_path / "o"), "-q", "--seed", "0"])
    assert res.exit_code == 2, res.output
    errors = [l for l in res.output.splitlines() if l.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0] and env_id in errors[0]
    assert re.search(r"generation 0, genome \d+, game \d+", errors[0])
    assert "Traceback" not in res.output


def test_env_failing_later_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """Generation 2 fails: checkpoint and run.h5 hold generations 0 and 1."""
    from ezspark.evaluation import local as _evaluation

    real = _evaluation.EnvEvaluator.evaluate

    def flaky(self, programs, seed, generation, *a, **kw):
        if generation == 2:
            raise _evaluation.EvaluationError("CartPole-v1 raised in step(): boom "
                                              "(generation 2, genome 0, game 0)")
        return real(self, programs, seed, generation, *a, **kw)

    monkeypatch.setattr(_evaluation.EnvEvaluator, "evaluate", flaky)
    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 generations=6, max_number_of_steps=30)
    with pytest.raises(ezspark.EvaluationError, match="generation 2"):
        ezspark.train(cfg, out=tmp_path, seed=0, checkpoint_seconds=100)
    with h5py.File(tmp_path / "checkpoint.h5", "r") as f:
        assert int(f.attrs["next_generation"]) == 2
    assert list(ezspark.RunFile.open(tmp_path).history["generation"]) == [0, 1]
    monkeypatch.setattr(_evaluation.EnvEvaluator, "evaluate", real)
    resumed = ezspark.train(cfg, out=tmp_path, resume=True)
    fresh = ezspark.train(cfg, out=tmp_path / "fresh", seed=0)
    assert [h.best_fitness for h in resumed.history] == [h.best_fitness for h in fresh.history]


def test_truncated_run_file_is_a_clear_error(tmp_path):
    ezspark.train(ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4,
                                         output_size=2, generations=2, max_number_of_steps=20),
                  out=tmp_path, seed=0)
    data = (tmp_path / "run.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    for command in (["inspect"], ["play"], ["plot"], ["export", "-o", str(tmp_path / "x.json")]):
        res = CliRunner().invoke(cli, [command[0], str(tmp_path / "cut.h5"), *command[1:]])
        assert res.exit_code == 2, (command, res.output)
        assert "Traceback" not in res.output and "cut.h5" in res.output


def test_output_directory_that_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("x")
    res = CliRunner().invoke(cli, ["run", str(cfg_file(tmp_path, "CartPole-v1", input_size=4)),
                                   "--out", str(tmp_path / "taken"), "-q"])
    assert res.exit_code == 2 and "taken" in res.output and "Traceback" not in res.output


KEYS = list(ezspark.TrainingConfig.keys())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
configs = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), json_values, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=configs)
def test_validate_never_tracebacks_and_names_every_rejected_key(tmp_path, data):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(data))          # json.dumps writes NaN/Infinity literals
    res = CliRunner().invoke(cli, ["validate", str(path), "--no-env"])
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        try:
            ezspark.TrainingConfig.from_dict(data)
        except ezspark.ConfigError as err:
            for problem in err.problems:
                if problem.key is not None:
                    assert problem.shown_key in res.output
        except Exception as exc:                 # pragma: no cover - would be a bug
            pytest.fail(f"from_dict raised {type(exc).__name__}: {exc}")
