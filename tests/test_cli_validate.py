"""``ezspark validate``: exit codes and one ``Error:`` line per problem."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezspark.cli import cli

from .envs_for_tests import register_all

register_all()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ezspark-docs-example.json"


@pytest.fixture
def write(tmp_path):
    """write(changes, remove=()) -> path of the docs example with ``changes`` applied."""
    def write(changes=None, remove=(), name="config.json"):
        data = json.loads(EXAMPLE.read_text())
        data.update(changes or {})
        for key in remove:
            del data[key]
        path = tmp_path / name
        path.write_text(json.dumps(data))
        return str(path)
    return write


def validate(*args):
    return CliRunner().invoke(cli, ["validate", *map(str, args)])


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_docs_example_is_valid():
    result = validate(EXAMPLE)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE}: valid (29 keys; environment CartPole-v0 checked)\n"


def test_every_problem_is_reported_at_once(write):
    path = write({"children": 0, "crossover_rate": 2, "saving": "often", "sub_games": 9})
    result = validate(path)
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 4, lines
    assert all(line.startswith("Error: ") for line in lines)
    assert lines[0].startswith("Error: children: 0 ")
    assert "allowed: integer >= 1" in lines[0]
    assert lines[1].startswith("Error: crossover_rate: 2")
    assert "[0, 1]" in lines[1]
    assert lines[2].startswith('Error: saving: "often" is not an integer')
    assert lines[3] == "Error: sub_games: 9 must be at most max_number_of_games (5)"
    assert "Traceback" not in result.output


def test_unknown_key_suggests_the_closest(write):
    result = validate(write({"limiting_specie": 15}, remove=["limiting_species"]))
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: limiting_specie: unknown key; did you mean 'limiting_species'?"]


def test_missing_file(tmp_path):
    result = validate(tmp_path / "nope.json")
    assert result.exit_code == 2
    path = tmp_path / "nope.json"
    assert error_lines(result) == [f"Error: no such file: {path} (python -m ezspark init {path} "
                                   "writes one)"]


def test_directory(tmp_path):
    result = validate(tmp_path)
    assert result.exit_code == 2
    assert error_lines(result) == [f"Error: not a file: {tmp_path}"]


@pytest.mark.parametrize("content, expected", [
    (b'{"input_size": 4,', "invalid JSON at line 1, column 18"),
    (b"", "invalid JSON at line 1, column 1"),
    (b"[1, 2]", "must be one object, not an array"),
    (b'{"gym_game_name": "\xff"}', "not UTF-8 text"),
])
def test_unreadable_content(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = validate(path)
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ")
    assert expected in lines[0]


def test_path_that_looks_like_json_is_a_path():
    result = validate('{"input_size": 4}')
    assert result.exit_code == 2
    assert error_lines(result) == ['Error: no such file: {"input_size": 4} (python -m ezspark '
                                   """init '{"input_size": 4}' writes one)"""]


def test_wrong_input_size_names_both_numbers(write):
    result = validate(write({"gym_game_name": "CartPole-v1", "input_size": 6}))
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: input_size is 6 but observations of CartPole-v1 have 4 values"]


def test_wrong_output_size(write):
    result = validate(write({"gym_game_name": "CartPole-v1", "output_size": 3}))
    assert result.exit_code == 2
    assert "output_size is 3 but CartPole-v1 has 2 actions" in result.stderr


def test_continuous_actions(write):
    result = validate(write({"gym_game_name": "Pendulum-v1", "input_size": 3,
                             "output_size": 1}))
    assert result.exit_code == 0, result.output
    result = validate(write({"gym_game_name": "Pendulum-v1", "input_size": 3,
                             "output_size": 2}))
    assert result.exit_code == 2
    assert "output_size is 2 but Pendulum-v1 has 1 continuous action in [-2, 2]" in result.stderr


def test_box_actions_without_a_range_are_refused_naming_the_space(write):
    result = validate(write({"gym_game_name": "ezspark_tests/BoxUnbounded-v0", "input_size": 2,
                             "output_size": 2}))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ("ezspark_tests/BoxUnbounded-v0 has unbounded Box actions (Box(-inf, inf, (2,), "
            "float32); every bound must be finite)") in result.stderr


def test_unknown_env_id(write):
    result = validate(write({"gym_game_name": "CartPol-v1"}))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    text = result.stderr
    assert text.startswith("Error: gym_game_name 'CartPol-v1'")
    assert "'CartPole-v1'" in text  # a close match


def test_no_env_skips_the_environment(write):
    path = write({"gym_game_name": "CartPol-v1", "input_size": 6})
    result = validate("--no-env", path)
    assert result.exit_code == 0, result.output
    expected = f"{path}: valid (29 keys; environment CartPol-v1 not checked: --no-env)\n"
    assert result.stdout == expected


def test_null_environment_is_not_checked(write):
    path = write({"gym_game_name": None})
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert "gym_game_name is null, so no environment checked" in result.stdout


def test_subprocess_exit_code_and_no_traceback(write):
    path = write({"children": 0, "crossover_rate": -1})
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", "ezspark", "validate", path],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["children", "crossover_rate"]
    assert proc.stdout == ""
