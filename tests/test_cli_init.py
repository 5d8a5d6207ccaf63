"""``ezspark init``: the form (answers piped in) and ``--defaults``."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ezspark.cli import form as _form
from ezspark.config.training import TrainingConfig
from ezspark.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ezspark-docs-example.json"
KEYS = TrainingConfig.keys()


def answers(**given) -> str:
    """One line per key in form order: the given answer, else Enter (the default)."""
    return "".join(f"{given.get(key, '')}\n" for key in KEYS)


def init(tmp_path, *args, input=None):
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    previous = os.getcwd()
    os.chdir(work)                      # the command writes relative to the working directory
    try:
        result = CliRunner().invoke(cli, ["init", *args], input=input)
        files = {path.name: path.read_text() for path in work.iterdir()}
    finally:
        os.chdir(previous)
    return result, files


def test_all_defaults(tmp_path):
    result, files = init(tmp_path, input=answers())
    assert result.exit_code == 0, result.output
    assert list(files) == ["training.json"]
    assert result.stdout.rstrip().endswith("wrote training.json")
    config = TrainingConfig.from_json(files["training.json"])
    expected = TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2)
    assert config == expected
    assert json.loads(files["training.json"]) == expected.to_dict()


def test_form_shows_meaning_range_and_default(tmp_path):
    result, _ = init(tmp_path, input=answers())
    assert "[1/33] gym_game_name" in result.stdout
    assert "[33/33] genomes_per_task (ezspark extension)" in result.stdout
    assert "allowed: number in (0, 1]; default: 0.3" in result.stdout
    assert "percentage_survivors_per_specie [0.3]:" in result.stdout
    for key in KEYS:
        assert f"{key} [" in result.stdout


def test_the_written_file_validates_and_loads(tmp_path):
    result, files = init(tmp_path, "out.json", input=answers(children=2, seed=7))
    assert result.exit_code == 0, result.output
    path = tmp_path / "out.json"
    path.write_text(files["out.json"])
    check = CliRunner().invoke(cli, ["validate", str(path)])
    assert check.exit_code == 0, check.output
    assert "33 keys; environment CartPole-v1 checked" in check.stdout
    config = TrainingConfig.from_json(path)
    assert (config.children, config.seed) == (2, 7)


def test_sizes_follow_the_environment(tmp_path):
    result, files = init(tmp_path, input=answers(gym_game_name="Acrobot-v1"))
    assert result.exit_code == 0, result.output
    data = json.loads(files["training.json"])
    assert (data["gym_game_name"], data["input_size"], data["output_size"]) == (
        "Acrobot-v1", 6, 3)


def test_unknown_environment_proposes_4_and_2(tmp_path):
    result, files = init(tmp_path, input=answers(gym_game_name="NoSuchEnv-v0"))
    assert result.exit_code == 0, result.output
    data = json.loads(files["training.json"])
    assert (data["input_size"], data["output_size"]) == (4, 2)
    assert "could not read the spaces of 'NoSuchEnv-v0'" in result.stdout


def test_invalid_answer_is_asked_again(tmp_path):
    lines = answers().splitlines()
    index = KEYS.index("crossover_rate")
    lines[index:index + 1] = ["abc", "1.5", "0.2"]
    result, files = init(tmp_path, input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert 'invalid: "abc" is not a number (allowed: number in [0, 1])' in result.stdout
    assert "invalid: 1.5 is out of range (allowed: number in [0, 1])" in result.stdout
    assert result.stdout.count("crossover_rate [0.1]:") == 3
    assert json.loads(files["training.json"])["crossover_rate"] == 0.2


def test_null_only_for_nullable_keys(tmp_path):
    lines = answers(fitness_threshold="null").splitlines()
    index = KEYS.index("children")
    lines[index:index + 1] = ["null", "3"]
    result, files = init(tmp_path, input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "invalid: null is not an integer" in result.stdout
    data = json.loads(files["training.json"])
    assert (data["children"], data["fitness_threshold"]) == (3, None)


def test_cross_key_violation_is_asked_again(tmp_path):
    # initial_population is valid on its own; max_population, asked later, is smaller.
    first = answers(initial_population=500, max_population=200)
    again = "\n".join(["150", ""]) + "\n"  # initial_population, then keep max_population
    result, files = init(tmp_path, input=first + again)
    assert result.exit_code == 0, result.output
    assert "initial_population: 500 must be at most max_population (200)" in result.stdout
    data = json.loads(files["training.json"])
    assert (data["initial_population"], data["max_population"]) == (150, 200)


def test_cross_key_violation_fixed_on_the_other_side(tmp_path):
    first = answers(max_number_of_games=2, sub_games=4)
    again = "\n".join(["", "8"]) + "\n"  # keep sub_games, raise max_number_of_games
    result, files = init(tmp_path, input=first + again)
    assert result.exit_code == 0, result.output
    data = json.loads(files["training.json"])
    assert (data["sub_games"], data["max_number_of_games"]) == (4, 8)


def test_defaults_writes_the_docs_example(tmp_path):
    result, files = init(tmp_path, "--defaults", "example.json")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote example.json\n"
    assert json.loads(files["example.json"]) == json.loads(EXAMPLE.read_text())
    assert list(json.loads(files["example.json"])) == list(json.loads(EXAMPLE.read_text()))


def test_existing_file_is_refused_without_force(tmp_path):
    (tmp_path / "training.json").write_text("keep me")
    result = CliRunner().invoke(cli, ["init", "--defaults", str(tmp_path / "training.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "--force" in result.stderr
    assert (tmp_path / "training.json").read_text() == "keep me"
    result = CliRunner().invoke(cli, ["init", "--defaults", "--force",
                                      str(tmp_path / "training.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "training.json").read_text())["children"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["training.json"]  # no temporary left


def test_existing_file_is_refused_before_the_form(tmp_path):
    (tmp_path / "training.json").write_text("keep me")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "training.json")],
                                input=answers())
    assert result.exit_code == 2
    assert "gym_game_name" not in result.stdout


def test_missing_directory(tmp_path):
    result = CliRunner().invoke(cli, ["init", "--defaults", str(tmp_path / "no" / "x.json")])
    assert result.exit_code == 2
    assert "no such directory" in result.stderr


@pytest.mark.parametrize("given", ["", "\n\n\n", answers()[:-20]])
def test_end_of_input_aborts_and_writes_nothing(tmp_path, given):
    result, files = init(tmp_path, input=given)
    assert result.exit_code == 1
    assert result.stderr.strip() == "aborted"
    assert files == {}


# --- the form's logic, without click --------------------------------------------------------

@pytest.mark.parametrize("key, text, value", [
    ("children", "", 7),
    ("children", " 3 ", 3),
    ("species_threshold", "2.5", 2.5),
    ("keep_parents", "False", False),
    ("seed", "NULL", None),
    ("gym_game_name", "my_pkg:MyEnv-v0", "my_pkg:MyEnv-v0"),
    ("gym_game_name", '"CartPole-v1"', "CartPole-v1"),
    ("gym_game_name", "null", None),
    ("children", "three", "three"),  # returned as given, for key_problems to report
])
def test_parse_answer(key, text, value):
    assert _form.parse_answer(key, text, 7) == value


def test_key_problems_on_its_own_ignore_other_keys():
    assert _form.key_problems("initial_population", 30000) == []
    assert _form.key_problems("children", 0) == ["0 is out of range (allowed: integer >= 1)"]
    values = _form.form_defaults()
    assert _form.key_problems("initial_population", 30000, values) == [
        "30000 must be at most max_population (20000)"]


def test_docs_example_dict_matches_the_file():
    text = json.dumps(_form.docs_example_dict(), indent=2)
    assert json.loads(text) == json.loads(EXAMPLE.read_text())
    assert '"species_threshold": 3,' in text and '"minimum_reward": 0\n' in text


def test_run_form_with_callables():
    replies = iter(answers(children=4).splitlines())
    said = []
    config = _form.run_form(lambda label: next(replies), said.append)
    assert config.children == 4
    assert any("Enter keeps the default" in line for line in said)
