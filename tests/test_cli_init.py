"""``ezspark init``: the form (answers piped in, real gymnasium environments), its short and
full (``--all``) forms, the refusal of what training would refuse, and ``--defaults``."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import gymnasium
import pytest
from click.testing import CliRunner

from ezspark.cli import form as _form
from ezspark.config.training import TrainingConfig
from ezspark.cli import cli

from .envs_for_tests import register_all

register_all()
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ezspark-docs-example.json"
MATRIX = "ezspark_tests/BoxMatrix-v0"      # a Box of actions of shape (2, 2): not trainable
KEYS = TrainingConfig.keys()
SHORT = _form.SHORT_KEYS
#: What the form proposes for CartPole-v1 (its sizes, time limit and "solved" return).
# what the form proposes beside the environment's facts: the settings that learn
# (docs/decisions.md "Examples that learn"), not the docs example's
LEARNING = dict(initial_population=150, min_population=150, same_fitness_limit=1_000_000)
CARTPOLE = dict(gym_game_name="CartPole-v1", input_size=4, output_size=2, generations=100,
                max_number_of_steps=500, fitness_threshold=475.0, **LEARNING)


def answers(keys=KEYS, **given) -> str:
    """One line per key of ``keys`` in form order: the given answer, else Enter (the default)."""
    return "".join(f"{given.get(key, '')}\n" for key in keys)


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
    result, files = init(tmp_path, "--all", input=answers())
    assert result.exit_code == 0, result.output
    assert list(files) == ["training.json"]
    assert result.stdout.rstrip().endswith("wrote training.json")
    config = TrainingConfig.from_json(files["training.json"])
    expected = TrainingConfig(**CARTPOLE)
    assert config == expected
    assert json.loads(files["training.json"]) == expected.to_dict()


def test_form_shows_meaning_range_and_default(tmp_path):
    result, _ = init(tmp_path, "--all", input=answers())
    assert "[1/41] gym_game_name" in result.stdout
    assert "[35/41] validation_games (ezspark extension)" in result.stdout
    assert "allowed: number in (0, 1]; default: 0.3" in result.stdout
    assert "percentage_survivors_per_specie [0.3]:" in result.stdout
    for key in KEYS:
        assert f"{key} [" in result.stdout


def test_the_written_file_validates_and_loads(tmp_path):
    result, files = init(tmp_path, "--all", "out.json", input=answers(children=2, seed=7))
    assert result.exit_code == 0, result.output
    path = tmp_path / "out.json"
    path.write_text(files["out.json"])
    check = CliRunner().invoke(cli, ["validate", str(path)])
    assert check.exit_code == 0, check.output
    assert "41 keys; environment CartPole-v1 checked" in check.stdout
    config = TrainingConfig.from_json(path)
    assert (config.children, config.seed) == (2, 7)


def test_sizes_follow_the_environment(tmp_path):
    result, files = init(tmp_path, input=answers(SHORT, gym_game_name="Acrobot-v1"))
    assert result.exit_code == 0, result.output
    data = json.loads(files["training.json"])
    assert (data["gym_game_name"], data["input_size"], data["output_size"]) == (
        "Acrobot-v1", 6, 3)
    assert (data["max_number_of_steps"], data["fitness_threshold"]) == (500, -100.0)
    assert ("from Acrobot-v1: input_size 6, output_size 3, max_number_of_steps 500, "
            "fitness_threshold -100.0") in result.stdout


def test_sizes_are_offered_as_defaults(tmp_path):
    result, files = init(tmp_path, "--all", input=answers(gym_game_name="Acrobot-v1"))
    assert result.exit_code == 0, result.output
    assert "input_size [6]:" in result.stdout and "output_size [3]:" in result.stdout
    assert "max_number_of_steps [500]:" in result.stdout
    assert "invalid" not in result.stdout


@pytest.mark.parametrize("key, wrong, reason", [
    ("output_size", 50, "invalid: Acrobot-v1 has 3 actions, so output_size must be 3"),
    ("input_size", 4, "invalid: observations of Acrobot-v1 have 6 values, so input_size must "
                      "be 6"),
])
def test_a_size_the_environment_contradicts_is_asked_again(tmp_path, key, wrong, reason):
    lines = answers(gym_game_name="Acrobot-v1").splitlines()
    index = KEYS.index(key)
    lines[index:index + 1] = [str(wrong), ""]   # the wrong size, then Enter: the env's size
    result, files = init(tmp_path, "--all", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert reason in result.stdout
    data = json.loads(files["training.json"])
    assert (data["input_size"], data["output_size"]) == (6, 3)


def test_an_environment_it_cannot_train_is_asked_again(tmp_path):
    given = f"{MATRIX}\nNoSuchEnv-v0\nAcrobot-v1\n" + answers(SHORT[1:])
    result, files = init(tmp_path, input=given)
    assert result.exit_code == 0, result.output
    assert (f"invalid: ezspark cannot train {MATRIX} here: Box actions of shape (2, 2)"
            in result.stdout)
    assert "invalid: ezspark cannot train NoSuchEnv-v0 here: not registered" in result.stdout
    assert json.loads(files["training.json"])["gym_game_name"] == "Acrobot-v1"


def test_short_form_asks_five_questions_and_validates(tmp_path):
    given = answers(SHORT, initial_population=50, generations=20, max_number_of_games=3,
                    max_number_of_steps=300)
    result, files = init(tmp_path, "first.json", input=given)
    assert result.exit_code == 0, result.output
    assert "[5/5] max_number_of_steps" in result.stdout
    asked = [key for key in KEYS if f"{key} [" in result.stdout]
    assert asked == sorted(SHORT, key=KEYS.index)
    path = tmp_path / "first.json"
    path.write_text(files["first.json"])
    check = CliRunner().invoke(cli, ["validate", str(path)])
    assert check.exit_code == 0, check.output
    assert "41 keys; environment CartPole-v1 checked" in check.stdout
    data = json.loads(files["first.json"])
    example = json.loads(EXAMPLE.read_text())
    chosen = dict(CARTPOLE, initial_population=50, generations=20, max_number_of_games=3,
                  max_number_of_steps=300, fitness_threshold=None,   # 300 steps never score 475
                  min_population=50)                                 # follows the population
    assert data == TrainingConfig(**chosen).to_dict()   # the rest: their defaults, which are
    for key, value in example.items():                  # the docs example's values
        assert data[key] == chosen.get(key, value), key


@pytest.mark.parametrize("steps, threshold", [(200, None), (500, 475.0), (600, 475.0)])
def test_short_form_leaves_out_a_solved_return_its_episodes_cannot_reach(tmp_path, steps,
                                                                          threshold):
    result, files = init(tmp_path, input=answers(SHORT, max_number_of_steps=steps))
    assert result.exit_code == 0, result.output
    assert json.loads(files["training.json"])["fitness_threshold"] == threshold
    note = ("note: fitness_threshold left out: episodes of 200 steps may never reach "
            "CartPole-v1's solved return 475.0 (its episodes last 500 steps)")
    assert (note in result.stdout) == (threshold is None)


def test_force_keeps_an_environment_it_cannot_train_and_asks_the_sizes(tmp_path):
    given = "NoSuchEnv-v0\n" + answers(["input_size", "output_size", *SHORT[1:]])
    result, files = init(tmp_path, "--force", input=given)
    assert result.exit_code == 0, result.output
    assert ("note: ezspark cannot train NoSuchEnv-v0 here: not registered; kept because of "
            "--force") in result.stdout
    assert "input_size [4]:" in result.stdout and "output_size [2]:" in result.stdout
    assert "two more questions" in result.stdout and "[7/7] max_number_of_steps" in result.stdout
    assert "Warning: gym_game_name 'NoSuchEnv-v0': gymnasium.make failed" in result.stderr
    data = json.loads(files["training.json"])
    assert (data["gym_game_name"], data["input_size"], data["output_size"]) == (
        "NoSuchEnv-v0", 4, 2)


def test_without_force_nothing_that_training_refuses_is_written(tmp_path):
    # The matrix of actions is asked again; the input ends before an answer training accepts.
    result, files = init(tmp_path, input=f"{MATRIX}\n")
    assert result.exit_code == 1 and files == {}
    result, files = init(tmp_path, "--force", input=f"{MATRIX}\n\n4\n" + answers(SHORT[1:]))
    assert result.exit_code == 0, result.output
    assert f"Warning: {MATRIX} has Box actions of shape (2, 2)" in result.stderr
    path = tmp_path / "matrix.json"
    path.write_text(files["training.json"])
    check = CliRunner().invoke(cli, ["validate", str(path)])
    assert check.exit_code == 2 and f"{MATRIX} has Box actions of shape (2, 2)" in check.stderr


def test_continuous_actions_set_output_size_to_their_count(tmp_path):
    result, files = init(tmp_path, input="Pendulum-v1\n" + answers(SHORT[1:]))
    assert result.exit_code == 0, result.output
    data = json.loads(files["training.json"])
    assert (data["input_size"], data["output_size"], data["max_number_of_steps"]) == (3, 1, 200)


def test_a_refused_configuration_is_not_written(tmp_path, monkeypatch):
    # A gymnasium that no longer registers the docs example's CartPole-v0.
    monkeypatch.delitem(gymnasium.registry, "CartPole-v0")
    result, files = init(tmp_path, "--defaults")
    assert result.exit_code == 2 and files == {}
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: gym_game_name 'CartPole-v0': gymnasium.make failed")
    assert lines[-1] == ("Error: training would refuse this configuration, so training.json "
                         "was not written; use --force to write it anyway")
    result, files = init(tmp_path, "--defaults", "--force")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: gym_game_name 'CartPole-v0'")
    assert json.loads(files["training.json"]) == json.loads(EXAMPLE.read_text())


def test_invalid_answer_is_asked_again(tmp_path):
    lines = answers().splitlines()
    index = KEYS.index("crossover_rate")
    lines[index:index + 1] = ["abc", "1.5", "0.2"]
    result, files = init(tmp_path, "--all", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert 'invalid: "abc" is not a number (allowed: number in [0, 1])' in result.stdout
    assert "invalid: 1.5 is out of range (allowed: number in [0, 1])" in result.stdout
    assert result.stdout.count("crossover_rate [0.1]:") == 3
    assert json.loads(files["training.json"])["crossover_rate"] == 0.2


def test_null_only_for_nullable_keys(tmp_path):
    lines = answers(fitness_threshold="null").splitlines()
    index = KEYS.index("children")
    lines[index:index + 1] = ["null", "3"]
    result, files = init(tmp_path, "--all", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "invalid: null is not an integer" in result.stdout
    data = json.loads(files["training.json"])
    assert (data["children"], data["fitness_threshold"]) == (3, None)


def test_cross_key_violation_is_asked_again(tmp_path):
    # initial_population is valid on its own; max_population, asked later, is smaller.
    first = answers(initial_population=500, max_population=200)
    again = "\n".join(["150", ""]) + "\n"  # initial_population, then keep max_population
    result, files = init(tmp_path, "--all", input=first + again)
    assert result.exit_code == 0, result.output
    assert "initial_population: 500 must be at most max_population (200)" in result.stdout
    data = json.loads(files["training.json"])
    assert (data["initial_population"], data["max_population"]) == (150, 200)


def test_cross_key_violation_fixed_on_the_other_side(tmp_path):
    first = answers(max_number_of_games=2, sub_games=4)
    again = "\n".join(["", "8"]) + "\n"  # keep sub_games, raise max_number_of_games
    result, files = init(tmp_path, "--all", input=first + again)
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


@pytest.mark.parametrize("args, given", [((), ""), ((), "\n\n\n"), (("--all",), answers()[:-20])])
def test_end_of_input_aborts_and_writes_nothing(tmp_path, args, given):
    result, files = init(tmp_path, *args, input=given)
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
    config = _form.run_form(lambda label: next(replies), said.append, full=True)
    assert config.children == 4
    assert any("Enter keeps the default" in line for line in said)
    replies = iter(answers(SHORT, generations=7).splitlines())
    config = _form.run_form(lambda label: next(replies), said.append)
    assert config == TrainingConfig(**dict(CARTPOLE, generations=7))


def test_size_problems_against_the_spaces():
    support = _form.env_support("CartPole-v1")
    assert _form.size_problems("input_size", 4, support) == []
    assert _form.size_problems("output_size", 3, support) == [
        "CartPole-v1 has 2 actions, so output_size must be 2"]
    assert _form.size_problems("output_size", 3, None) == []
