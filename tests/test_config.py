"""TrainingConfig validation and its JSON form (docs/algorithm.md section 2, property 12.17)."""
from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ezspark.config.training import INT_LIMIT, ConfigError, Problem, TrainingConfig, show
from ezspark.config.serialize import (config_from_dict, config_from_json, config_to_dict,
                                config_to_json)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ezspark-docs-example.json"
ENV = {"gym_game_name": "CartPole-v1", "input_size": 4, "output_size": 2}
KEYS = TrainingConfig.keys()
FIELDS = attrs.fields_dict(TrainingConfig)
EXT_KEYS = ("seed", "fitness_threshold", "min_population", "genomes_per_task",
            "target_species", "validation_games", "recurrent", "weight_change_scale",
            "bias_input", "initial_self_loops", "trusted_after",
            "safeness_floor")
RATES = tuple(k for k in KEYS if FIELDS[k].metadata["range"] == "[0, 1]")
NUMERIC_KEYS = tuple(k for k in KEYS
                     if FIELDS[k].metadata["kind"] not in ("string", "bool_int", "bool"))
REAL_KEYS = tuple(k for k in KEYS if FIELDS[k].metadata["kind"].startswith("real"))

# Spec table 2.2, column "default".
SPEC_DEFAULTS = {
    "alone_training_iterations": 60, "initial_population": 100, "species_threshold": 3,
    "generations": 600000, "percentage_survivors_per_specie": 0.3,
    "connection_mutation_rate": 0.8, "new_connection_assignment_rate": 0.1,
    "add_connection_big_specie_rate": 0.3, "add_connection_small_specie_rate": 0.03,
    "add_node_specie_rate": 0.05, "activate_connection_rate": 0.25,
    "remove_connection_rate": 0.01, "children": 1, "crossover_rate": 0.1, "saving": 1,
    "keep_parents": 1, "limiting_species": 15, "limiting_threshold": 5, "max_population": 20000,
    "same_fitness_limit": 10, "age_significance": 0.3, "max_number_of_games": 5,
    "max_number_of_steps": 200, "safeness": 0.5, "sub_games": 1, "minimum_reward": 0,
    "seed": None, "fitness_threshold": None, "min_population": None, "genomes_per_task": 100,
    "target_species": None, "validation_games": 20, "recurrent": False,
    "bias_input": False, "initial_self_loops": False, "trusted_after": None,
    "safeness_floor": 0.05,
}

# One value outside the allowed range of each key, on its own (not through a cross-key rule).
OUT_OF_RANGE = {
    "gym_game_name": "", "alone_training_iterations": -1, "input_size": 0, "output_size": 0,
    "initial_population": 0, "species_threshold": -0.5, "generations": 0,
    "percentage_survivors_per_specie": 1.5, "connection_mutation_rate": 1.01,
    "new_connection_assignment_rate": -0.1, "add_connection_big_specie_rate": 2,
    "add_connection_small_specie_rate": -1e-9, "add_node_specie_rate": 1.5,
    "activate_connection_rate": -0.25, "remove_connection_rate": 100, "children": 0,
    "crossover_rate": 1.1, "saving": 0, "keep_parents": 2, "limiting_species": 0,
    "limiting_threshold": -1, "max_population": 0, "same_fitness_limit": 0,
    "age_significance": 1.3, "max_number_of_games": 0, "max_number_of_steps": -5,
    "safeness": -0.5, "sub_games": 0, "minimum_reward": 10**400, "seed": 2**63,
    "fitness_threshold": -(10**400), "min_population": 0, "genomes_per_task": 0,
    "target_species": 0, "validation_games": -1, "recurrent": 1, "weight_change_scale": 0.0,
    "bias_input": "yes", "initial_self_loops": 0, "trusted_after": 0,
    "safeness_floor": 1.5,
}


def problems_of(mapping) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(mapping)
    return info.value.problems


def lines_of(mapping) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(mapping)
    return str(info.value).splitlines()


def problem_keys(mapping) -> list[str | None]:
    return [problem.key for problem in problems_of(mapping)]


class TestDocsExample:
    def test_example_file_loads_as_defaults_plus_environment_keys(self):
        config = TrainingConfig.from_json(EXAMPLE)
        expected = TrainingConfig(gym_game_name="CartPole-v0", input_size=4, output_size=2)
        assert config == expected == TrainingConfig.docs_example()

    def test_example_file_holds_exactly_the_29_ezspark_keys_in_key_order(self):
        example = json.loads(EXAMPLE.read_text())
        assert len(example) == 29
        assert tuple(example) + EXT_KEYS == KEYS

    def test_every_example_value_is_kept_unchanged(self):
        example = json.loads(EXAMPLE.read_text())
        config = TrainingConfig.from_json(str(EXAMPLE)).to_dict()
        assert {key: config[key] for key in example} == example

    def test_defaults_are_the_spec_defaults(self):
        config = TrainingConfig(**ENV).to_dict()
        assert {key: config[key] for key in SPEC_DEFAULTS} == SPEC_DEFAULTS

    def test_real_defaults_are_floats_and_int_defaults_ints(self):
        config = TrainingConfig.docs_example()
        assert type(config.species_threshold) is float
        assert type(config.minimum_reward) is float
        assert type(config.children) is int


class TestRoundTrip:
    def test_json_round_trip_gives_an_equal_config(self):
        config = attrs.evolve(TrainingConfig.docs_example(), seed=123, fitness_threshold=3.9,
                              min_population=50, species_threshold=2.5)
        assert config_from_json(config_to_json(config)) == config
        assert TrainingConfig.from_json(config.to_json()) == config

    def test_to_dict_is_a_plain_dict_in_key_order_with_extension_keys(self):
        data = TrainingConfig.docs_example().to_dict()
        assert type(data) is dict
        assert tuple(data) == KEYS
        assert data["seed"] is None and data["genomes_per_task"] == 100

    def test_to_json_is_indented_by_two_and_ends_with_a_newline(self):
        text = config_to_json(TrainingConfig.docs_example())
        assert text.endswith("}\n")
        assert text.splitlines()[1] == '  "gym_game_name": "CartPole-v0",'

    @given(st.data())
    def test_any_valid_config_round_trips(self, data):
        config = data.draw(valid_configs())
        assert config_from_json(config_to_json(config)) == config
        assert config_from_dict(config_to_dict(config)) == config


class TestRanges:
    def test_out_of_range_table_covers_every_key(self):
        assert OUT_OF_RANGE and set(OUT_OF_RANGE) == set(KEYS)

    @pytest.mark.parametrize("key", list(OUT_OF_RANGE))
    def test_out_of_range_value_is_reported_with_key_value_and_allowed_range(self, key):
        bad = OUT_OF_RANGE[key]
        problems = problems_of({**ENV, key: bad})
        assert [(p.key, p.value) for p in problems] == [(key, bad)]
        line = str(problems[0])
        assert line.startswith(f"{key}: {show(problems[0].value)} ")
        assert f"(allowed: {FIELDS[key].metadata['allowed']}" in line

    def test_probability_keys_are_the_rates_age_significance_and_safeness(self):
        assert set(RATES) == {k for k in KEYS if k.endswith("_rate")} | {
            "age_significance", "safeness", "safeness_floor"}
        assert len(RATES) == 11

    @pytest.mark.parametrize("key", [*RATES, "limiting_threshold", "alone_training_iterations",
                                     "species_threshold", "minimum_reward", "seed"])
    def test_zero_is_accepted(self, key):
        assert getattr(config_from_dict({**ENV, key: 0}), key) == 0

    @pytest.mark.parametrize("value", [0, 0.0, -0.0])
    def test_zero_survivor_percentage_is_rejected(self, value):
        assert problem_keys({**ENV, "percentage_survivors_per_specie": value}) == [
            "percentage_survivors_per_specie"]

    def test_survivor_percentage_of_one_is_accepted(self):
        config = config_from_dict({**ENV, "percentage_survivors_per_specie": 1})
        assert config.percentage_survivors_per_specie == 1.0

    def test_species_threshold_is_real(self):
        assert config_from_dict({**ENV, "species_threshold": 2.5}).species_threshold == 2.5

    def test_seed_accepts_its_bounds(self):
        assert config_from_dict({**ENV, "seed": 2**63 - 1}).seed == 2**63 - 1
        assert config_from_dict({**ENV, "seed": 0}).seed == 0

    @pytest.mark.parametrize("key", NUMERIC_KEYS)
    @pytest.mark.parametrize("sign", [1, -1])
    def test_huge_integers_are_out_of_range(self, key, sign):
        line, = [line for line in lines_of({**ENV, key: sign * 10**400}) if "digits" in line]
        assert line.startswith(f"{key}: ") and line.endswith(")") and "out of range" in line

    def test_integers_beyond_int64_name_the_limit(self):
        assert lines_of({**ENV, "generations": INT_LIMIT + 1}) == [
            f"generations: {INT_LIMIT + 1} is out of range (allowed: integer >= 1, at most "
            "2**63 - 1)"]

    def test_empty_or_blank_environment_id_is_rejected(self):
        assert problem_keys({**ENV, "gym_game_name": "  "}) == ["gym_game_name"]


class TestTypes:
    def test_fractional_children_is_rejected_with_value_and_range(self):
        assert lines_of({**ENV, "children": 2.5}) == [
            "children: 2.5 is not an integer (allowed: integer >= 1)"]

    def test_integral_float_is_read_as_int(self):
        config = config_from_dict({**ENV, "children": 3.0})
        assert config.children == 3 and type(config.children) is int

    def test_integral_float_in_json_text_is_read_as_int(self):
        config = config_from_json(json.dumps({**ENV, "children": 3.0, "input_size": 8.0}))
        assert (config.children, config.input_size) == (3, 8)
        assert type(config.input_size) is int

    @pytest.mark.parametrize("key", NUMERIC_KEYS)
    @pytest.mark.parametrize("value", [True, False])
    def test_booleans_are_rejected_for_numeric_keys(self, key, value):
        problem, = problems_of({**ENV, key: value})
        assert problem.key == key and problem.value is value
        assert str(problem).startswith(f"{key}: {json.dumps(value)} is not a")

    @pytest.mark.parametrize("value, expected", [(True, 1), (False, 0), (1, 1), (0, 0), (1.0, 1)])
    def test_keep_parents_accepts_booleans_and_zero_or_one(self, value, expected):
        config = config_from_dict({**ENV, "keep_parents": value})
        assert config.keep_parents == expected and type(config.keep_parents) is int

    @pytest.mark.parametrize("key", NUMERIC_KEYS)
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_nan_and_infinity_are_rejected(self, key, value):
        assert lines_of({**ENV, key: value}) == [
            f"{key}: {show(value)} is not a finite number "
            f"(allowed: {FIELDS[key].metadata['allowed']})"]

    def test_ints_become_floats_for_real_keys(self):
        config = config_from_dict({**ENV, "safeness": 1, "fitness_threshold": 4})
        assert type(config.safeness) is float and type(config.fitness_threshold) is float

    def test_numpy_scalars_are_accepted(self):
        config = config_from_dict({**ENV, "children": np.int64(2), "safeness": np.float32(0.5),
                                   "max_number_of_games": np.float64(6.0)})
        assert (config.children, config.safeness, config.max_number_of_games) == (2, 0.5, 6)
        assert type(config.children) is int and type(config.safeness) is float

    @pytest.mark.parametrize("value", [[1], {"a": 1}, "3", []])
    def test_strings_arrays_and_objects_are_type_errors(self, value):
        problem, = problems_of({**ENV, "saving": value})
        assert problem.key == "saving" and "is not an integer" in problem.message

    def test_environment_id_must_be_a_string(self):
        assert lines_of({**ENV, "gym_game_name": 5}) == [
            "gym_game_name: 5 is not a string (allowed: non-empty string or null)"]


class TestKeys:
    @pytest.mark.parametrize("typo, key", [
        ("limiting_specie", "limiting_species"),
        ("new_connection_assignement_rate", "new_connection_assignment_rate"),
        ("max_number_of_game", "max_number_of_games"),
    ])
    def test_unknown_key_suggests_the_closest_key(self, typo, key):
        assert lines_of({**ENV, typo: 1}) == [f"{typo}: unknown key; did you mean '{key}'?"]

    def test_unknown_key_without_close_match_has_no_suggestion(self):
        line, = lines_of({**ENV, "zzzz": 1})
        assert line.startswith("zzzz: unknown key") and "did you mean" not in line

    def test_unknown_keys_are_reported_with_value_problems(self):
        keys = problem_keys({**ENV, "limiting_specie": 3, "children": 0, "safeness": 2})
        assert sorted(keys) == ["children", "limiting_specie", "safeness"]

    def test_duplicate_key_is_an_error_naming_the_key(self):
        text = '{"gym_game_name": "x", "input_size": 4, "output_size": 2, "saving": 2, "saving": 3}'
        with pytest.raises(ConfigError) as info:
            config_from_json(text)
        assert str(info.value) == "saving: duplicate key (a key may appear only once)"

    def test_null_means_the_default(self):
        config = config_from_dict({**ENV, "children": None, "seed": None, "safeness": None})
        assert config == TrainingConfig(**ENV)

    def test_null_environment_id_is_accepted(self):
        assert config_from_dict({**ENV, "gym_game_name": None}).gym_game_name is None

    @pytest.mark.parametrize("key", ["input_size", "output_size"])
    def test_null_is_an_error_for_required_keys(self, key):
        line, = lines_of({**ENV, key: None})
        assert line.startswith(f"{key}: null given, but this key is required")

    def test_missing_sizes_are_named_instead_of_a_type_error(self):
        with pytest.raises(ConfigError) as info:
            TrainingConfig()
        assert str(info.value).splitlines() == [
            "input_size: missing required key (allowed: integer >= 1)",
            "output_size: missing required key (allowed: integer >= 1)"]

    def test_missing_environment_id_is_fine_until_an_environment_is_needed(self):
        config = config_from_dict({"input_size": 2, "output_size": 1})
        with pytest.raises(ConfigError, match="gym_game_name is required"):
            config.check_env_keys()
        TrainingConfig.docs_example().check_env_keys()

    def test_keys_are_docs_keys_then_extensions(self):
        assert KEYS[0] == "gym_game_name" and KEYS[28] == "minimum_reward"
        assert KEYS[29:] == EXT_KEYS


class TestCrossKeyRules:
    @pytest.mark.parametrize("key, bound, value, bound_value, relation", [
        ("initial_population", "max_population", 101, 100, "at most"),
        ("min_population", "max_population", 101, 100, "at most"),
        ("limiting_threshold", "limiting_species", 15, 15, "less than"),
        ("sub_games", "max_number_of_games", 6, 5, "at most"),
    ])
    def test_violation_names_both_keys_and_values(self, key, bound, value, bound_value, relation):
        assert lines_of({**ENV, key: value, bound: bound_value}) == [
            f"{key}: {value} must be {relation} {bound} ({bound_value})"]

    @pytest.mark.parametrize("key, bound, value, bound_value", [
        ("initial_population", "max_population", 100, 100),
        ("min_population", "max_population", 100, 100),
        ("limiting_threshold", "limiting_species", 14, 15),
        ("sub_games", "max_number_of_games", 5, 5),
    ])
    def test_boundary_value_is_accepted(self, key, bound, value, bound_value):
        config = config_from_dict({**ENV, key: value, bound: bound_value})
        assert (getattr(config, key), getattr(config, bound)) == (value, bound_value)

    def test_limiting_threshold_example_message(self):
        assert lines_of({**ENV, "limiting_threshold": 20}) == [
            "limiting_threshold: 20 must be less than limiting_species (15)"]

    def test_rule_is_skipped_when_one_side_is_already_invalid(self):
        assert problem_keys({**ENV, "max_population": 0}) == ["max_population"]

    def test_initial_self_loops_need_recurrent_networks(self):
        """docs/algorithm.md 2.2: a self-loop is a cycle, so only recurrent networks start
        with them; the rule is checked only when both keys are valid booleans."""
        assert lines_of({**ENV, "initial_self_loops": True}) == [
            "initial_self_loops: true needs recurrent true (a self-loop is a cycle, and "
            "feed-forward networks have none)"]
        config = config_from_dict({**ENV, "initial_self_loops": True, "recurrent": True})
        assert config.initial_self_loops and config.recurrent
        assert problem_keys({**ENV, "initial_self_loops": True, "recurrent": 1}) == [
            "recurrent"]


class TestConfigError:
    def test_every_problem_is_reported_at_once_one_line_each(self):
        with pytest.raises(ConfigError) as info:
            config_from_dict({"input_size": 2.5, "children": 0, "safeness": math.nan,
                              "limiting_specie": 1, "sub_games": 9, "keep_parents": "yes"})
        err = info.value
        keys = ["input_size", "output_size", "children", "keep_parents", "safeness",
                "sub_games", "limiting_specie"]
        assert [p.key for p in err.problems] == keys
        assert [line.split(":")[0] for line in str(err).splitlines()] == keys

    def test_is_a_value_error_holding_problems(self):
        with pytest.raises(ValueError) as info:
            config_from_dict({**ENV, "children": 0})
        assert info.value.problems == [
            Problem("children", 0, "0 is out of range (allowed: integer >= 1)")]

    def test_survives_pickling(self):
        err = ConfigError([Problem("children", 0, "bad")])
        assert pickle.loads(pickle.dumps(err)).problems == err.problems

    def test_text_shorthand_makes_a_problem_without_key(self):
        err = ConfigError("no such file: x.json")
        assert err.problems == [Problem(None, None, "no such file: x.json")]
        assert str(err) == "no such file: x.json"

    def test_evolve_revalidates(self):
        config = TrainingConfig.docs_example()
        assert attrs.evolve(config, children=2).children == 2
        with pytest.raises(ConfigError, match="children: 0 is out of range"):
            attrs.evolve(config, children=0)
        with pytest.raises(ConfigError, match="must be less than limiting_species"):
            attrs.evolve(config, limiting_species=5)


class TestJsonSource:
    def test_reads_a_path_given_as_str_or_pathlike(self, tmp_path):
        path = tmp_path / "c.json"
        path.write_text(json.dumps(ENV))
        assert config_from_json(path) == config_from_json(str(path)) == TrainingConfig(**ENV)

    def test_missing_file_is_a_config_error(self, tmp_path):
        path = tmp_path / "nope.json"
        with pytest.raises(ConfigError) as info:
            config_from_json(path)
        assert str(info.value) == f"no such file: {path} (python -m ezspark init {path} writes one)"

    def test_invalid_json_reports_line_and_column(self):
        with pytest.raises(ConfigError) as info:
            config_from_json('{\n  "children": 1,\n}')
        assert str(info.value).startswith("invalid JSON at line 3, column 1: ")

    def test_invalid_json_in_a_file_names_the_file(self, tmp_path):
        path = tmp_path / "bad.json"
        path.write_text("{oops")
        with pytest.raises(ConfigError, match=r"bad\.json: invalid JSON at line 1, column 2"):
            config_from_json(path)

    @pytest.mark.parametrize("text, kind", [("[1, 2]", "an array"), ("42", "a number"),
                                            ('"x"', "a string"), ("null", "null")])
    def test_json_that_is_not_an_object_is_rejected(self, text, kind):
        with pytest.raises(ConfigError, match=f"must be one object, not {kind}"):
            config_from_json(text)

    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
    def test_nan_and_infinity_literals_name_the_key(self, literal):
        with pytest.raises(ConfigError) as info:
            config_from_json('{"input_size": 4, "output_size": 2, "safeness": %s}' % literal)
        assert str(info.value).startswith(f"safeness: {literal} is not a finite number")

    @pytest.mark.parametrize("number", ["1e400", "-1e999", "9" * 5000])
    def test_numbers_too_large_for_python_are_out_of_range(self, number):
        with pytest.raises(ConfigError) as info:
            config_from_json('{"input_size": %s, "output_size": 2}' % number)
        assert str(info.value).startswith("input_size: a number with more than 40 digits is out")

    def test_deeply_nested_json_is_a_config_error(self):
        with pytest.raises(ConfigError, match="nested too deeply"):
            config_from_json('{"saving": ' + "[" * 100000 + "]" * 100000 + "}")

    def test_nested_values_are_type_errors(self):
        with pytest.raises(ConfigError) as info:
            config_from_json('{"input_size": [4], "output_size": {"n": 2}}')
        assert [p.key for p in info.value.problems] == ["input_size", "output_size"]


class TestMetadata:
    @pytest.mark.parametrize("key", KEYS)
    def test_every_key_is_described(self, key):
        md = FIELDS[key].metadata
        assert md["kind"] in {"int", "real", "bool_int", "bool", "string", "int_or_null",
                              "real_or_null"}
        assert md["range"] and md["allowed"]
        assert len(md["help"]) > 20 and md["help"].endswith(".")
        assert md["ext"] is (key in EXT_KEYS)
        assert md["required"] is (key in ("input_size", "output_size"))

    def test_keys_are_41(self):
        assert len(KEYS) == 41 and len(set(KEYS)) == 41


# --- property tests ----------------------------------------------------------------------------

@st.composite
def valid_configs(draw) -> TrainingConfig:
    """Any valid configuration, drawn from the field metadata and the cross-key rules."""
    values = {}
    for key, field in FIELDS.items():
        md = field.metadata
        kind, low, high = md["kind"], md["min"], md["max"]
        if kind == "string":
            base = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1)
            base = base.filter(str.strip)
        elif kind == "bool_int":
            base = st.sampled_from([0, 1, True, False])
        elif kind == "bool":
            base = st.booleans()
        elif kind.startswith("int"):
            base = st.integers(low, min(high, low + 10**6))
        else:
            base = st.floats(low, high, allow_nan=False, allow_infinity=False,
                             exclude_min=md["min_exclusive"])
        values[key] = draw(st.none() | base if field.default is None else base)
    values["initial_population"] = draw(st.integers(1, values["max_population"]))
    values["min_population"] = draw(st.none() | st.integers(1, values["max_population"]))
    values["limiting_threshold"] = draw(st.integers(0, values["limiting_species"] - 1))
    values["sub_games"] = draw(st.integers(1, values["max_number_of_games"]))
    values["initial_self_loops"] = values["initial_self_loops"] and values["recurrent"]
    return TrainingConfig(**values)


json_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
                | st.sampled_from([0, 1, 0.5, 3.0, 2.5, -1, 10**400, -(10**400), 2**63, ""]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                           max_leaves=6)
config_mappings = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), json_values,
                                  max_size=12)


class TestFuzz:
    @given(config_mappings)
    @settings(max_examples=300)
    def test_from_dict_raises_only_config_errors(self, mapping):
        try:
            config = config_from_dict(mapping)
        except ConfigError as err:
            assert err.problems and all(str(p).strip() for p in err.problems)
        else:
            assert config_from_json(config.to_json()) == config

    @given(config_mappings.map(lambda m: {**ENV, **m}))
    @settings(max_examples=200)
    def test_from_json_text_raises_only_config_errors(self, mapping):
        text = json.dumps(mapping, default=str)
        try:
            config = config_from_json(text)
        except ConfigError as err:
            assert err.problems
        else:
            assert config_to_dict(config).keys() == set(KEYS)
