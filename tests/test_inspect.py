"""``ezspark inspect RUN.h5``: how the run ended (from run.h5's root attributes), wall time,
env steps and the config one key per line, for real runs that ended each way."""
import json
import shutil

import h5py
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli

from .helpers import xor_fitness

XOR = ezspark.TrainingConfig(input_size=2, output_size=1, generations=6, seed=1)


def inspect(path, *args):
    res = CliRunner().invoke(cli, ["inspect", str(path), *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.output) if "--json" in args else res.output


def ended(path) -> str:
    return next(line for line in inspect(path).splitlines() if line.startswith("ended:"))


def fitness_that(action, at_generation=2):
    """XOR fitness that does ``action()`` when generation ``at_generation`` is evaluated."""
    calls = []

    def fitness(nets):
        if len(calls) == at_generation:
            action()
        calls.append(1)
        return xor_fitness(nets)
    return fitness


def cartpole(tmp_path, **keys):
    cfg = ezspark.TrainingConfig.docs_example().to_dict()
    cfg.update(gym_game_name="CartPole-v1", generations=3, max_number_of_steps=40,
               initial_population=12, max_number_of_games=1, **keys)
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finished")
    res = CliRunner().invoke(cli, ["run", str(cartpole(tmp)), "--out", str(tmp / "r"), "-q",
                                   "--seed", "4"])
    assert res.exit_code == 0, res.output
    return tmp / "r" / "run.h5"


def test_a_finished_run_says_so_with_wall_time_env_steps_and_the_config(finished):
    text = inspect(finished)
    data = inspect(finished, "--json")
    steps = sum(h["env_steps"] for h in data["history"])
    assert "ended:        finished: all 3 generations evaluated" in text
    assert f"env steps: {steps:,}" in text and "wall time:" in text
    assert data["status"] == "generations" and data["stopped_at"] == 2
    assert data["reason"] == "" and data["env_steps"] == steps > 0
    assert 0 < data["wall_seconds"] < 600
    config = text[text.index("\nconfig:\n") + len("\nconfig:\n"):].splitlines()
    assert [line.split()[0] for line in config] == list(data["config"])       # one key a line
    assert '  gym_game_name  ' in text and 'generations' in config[6]
    assert {"format_version", "env_id", "generations", "champions", "history", "config",
            "seed", "ezspark_version", "created"} <= set(data)                # the old shape


def test_stopped_by_fitness_threshold(tmp_path):
    res = CliRunner().invoke(cli, ["run", str(cartpole(tmp_path, fitness_threshold=1.0)),
                                   "--out", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    assert ended(tmp_path / "r") == ("ended:        stopped at generation 0: fitness_threshold "
                                     "1 reached")
    assert inspect(tmp_path / "r", "--json")["status"] == "fitness_threshold"


def test_interrupted_then_resumed_adds_up_the_wall_time(tmp_path):
    def interrupt():
        raise KeyboardInterrupt

    result = ezspark.train(XOR, out=tmp_path, fitness=fitness_that(interrupt))
    assert result.stopped == "interrupted"
    assert ended(tmp_path) == "ended:        interrupted (Ctrl-C or SIGTERM) after generation 1"
    first = inspect(tmp_path, "--json")
    assert first["status"] == "interrupted" and first["stopped_at"] == 1
    ezspark.train(XOR, out=tmp_path, fitness=xor_fitness, resume=True)
    second = inspect(tmp_path, "--json")
    assert second["status"] == "generations" and second["stopped_at"] == 5
    assert second["wall_seconds"] > first["wall_seconds"]
    assert second["env_steps"] == 0                    # a fitness function steps no env


def test_failed_records_the_reason_in_one_line(tmp_path):
    def fail():
        raise ValueError("the simulator crashed\nsecond line of detail")

    with pytest.raises(ValueError):
        ezspark.train(XOR, out=tmp_path, fitness=fitness_that(fail))
    assert ended(tmp_path) == ("ended:        failed in generation 2: ValueError: the "
                               "simulator crashed")
    data = inspect(tmp_path, "--json")
    assert data["status"] == "failed" and data["reason"] == "ValueError: the simulator crashed"


def test_a_live_or_killed_run_says_running(tmp_path):
    """A copy of run.h5 taken while the run is live is what a killed run leaves behind."""
    def snapshot():
        shutil.copyfile(tmp_path / "r" / "run.h5", tmp_path / "live.h5")

    ezspark.train(XOR, out=tmp_path / "r", fitness=fitness_that(snapshot))
    assert ended(tmp_path / "live.h5") == "ended:        running, or killed (no end recorded)"
    assert inspect(tmp_path / "live.h5", "--json")["status"] == "running"


def test_a_file_from_before_end_states_still_inspects(tmp_path, finished):
    old = tmp_path / "old.h5"
    shutil.copyfile(finished, old)
    with h5py.File(old, "a") as f:
        for key in ("status", "stopped_at", "reason", "wall_seconds", "env_steps"):
            del f.attrs[key]
    text = inspect(old)
    assert "end not recorded" in text and "wall time:    not recorded" in text
    data = inspect(old, "--json")
    assert data["status"] is None and data["wall_seconds"] is None
    assert data["env_steps"] == sum(h["env_steps"] for h in data["history"]) > 0
