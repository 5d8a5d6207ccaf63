"""``ezspark export``: the JSON document, its round trip, and errors."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.store.export import champion_from_dict, champion_to_dict
from ezspark.cli import cli

from .helpers import assert_user_error

KEYS = ["format", "format_version", "env_id", "generation", "fitness", "species", "validation",
        "n_inputs", "n_outputs", "recurrent", "bias_input", "activation", "action",
        "action_space", "nodes", "connections"]


def invoke(*args):
    return CliRunner().invoke(cli, ["export", *map(str, args)])


def export(run, tmp_path, *args) -> dict:
    out = tmp_path / "champion.json"
    result = invoke(run, "-o", out, *args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    return json.loads(out.read_text())


def reference_outputs(doc: dict, x: np.ndarray) -> np.ndarray:
    """The outputs computed from the JSON document alone, as its ``activation`` says."""
    act = doc["activation"]

    def sigma(v):
        return 1.0 / (1.0 + math.exp(-act["slope"] * v)) if -act["slope"] * v < 700 else 0.0

    n_in, n_out = doc["n_inputs"], doc["n_outputs"]
    kinds = {n["id"]: n["kind"] for n in doc["nodes"]}
    incoming = {}
    for c in sorted(doc["connections"], key=lambda c: c["innovation"]):
        if c["enabled"]:
            incoming.setdefault(c["out"], []).append((c["in"], c["weight"]))

    def value(node, row, memo):
        if node not in memo:
            if kinds[node] == "input":   # the last input is 0.5 with bias_input
                memo[node] = 0.5 if doc["bias_input"] and node == n_in else row[node - 1]
            else:
                s = 0.0
                for src, w in incoming.get(node, []):
                    s += w * value(src, row, memo)
                bias = act["output_bias"] if kinds[node] == "output" else act["hidden_bias"]
                memo[node] = sigma(s + bias)
        return memo[node]

    return np.array([[value(n_in + 1 + j, row, {}) for j in range(n_out)] for row in x])


class TestExportCommand:
    """``ezspark export`` on real runs."""

    @pytest.mark.parametrize("which", ["xor_run", "cartpole_run", "bias_run"])
    def test_export_round_trips_to_the_same_network(self, which, request, tmp_path):
        run = request.getfixturevalue(which)
        doc = export(run, tmp_path)
        stored = ezspark.load_champion(run)
        assert list(doc) == KEYS
        assert doc["format"] == "ezspark-network" and doc["format_version"] == 1
        assert doc["generation"] == stored.generation and doc["fitness"] == stored.fitness
        assert (doc["n_inputs"], doc["n_outputs"]) == (stored.n_inputs, stored.n_outputs)
        assert doc["env_id"] == (None if which == "xor_run" else "CartPole-v1")
        assert doc["bias_input"] is stored.bias_input is (which == "bias_run")
        if which == "bias_run":                          # the bias feeds the network
            assert stored.n_inputs in stored.genome.src[stored.genome.enabled]
        assert doc["activation"] | {"formula": None} == {
            "function": "sigmoid", "slope": 4.9, "hidden_bias": 0.0, "output_bias": 1.0,
            "formula": None}
        assert doc["action"] == "argmax of outputs (lowest index on ties) + action space start"
        n = stored.n_inputs + stored.n_outputs
        assert [node["kind"] for node in doc["nodes"]] == (
            ["input"] * stored.n_inputs + ["output"] * stored.n_outputs
            + ["hidden"] * len(stored.hidden_nodes))
        assert [node["id"] for node in doc["nodes"]][n:] == stored.hidden_nodes.tolist()

        back = champion_from_dict(doc)
        assert back.genome == stored.genome                     # weights bit for bit
        assert (back.generation, back.fitness, back.species, back.env_id) == (
            stored.generation, stored.fitness, stored.species, stored.env_id)
        x = np.random.default_rng(1).normal(scale=2.0, size=(200, stored.observation_size))
        assert np.array_equal(back.activate(x), stored.activate(x))
        assert np.array_equal(back.act(x), stored.act(x))
        # The document alone is enough to compute the network.
        np.testing.assert_allclose(reference_outputs(doc, x), stored.activate(x), rtol=1e-12)

    def test_xor_export_has_hidden_nodes(self, xor_run, tmp_path):
        run = ezspark.RunFile.open(xor_run)
        generation = next(g for g in run.generations if len(run.champion(g).hidden_nodes))
        doc = export(xor_run, tmp_path, "--generation", generation)
        assert doc["generation"] == generation
        assert any(node["kind"] == "hidden" for node in doc["nodes"])
        back = champion_from_dict(doc)
        x = np.random.default_rng(2).uniform(-3, 3, size=(100, 2))
        assert np.array_equal(back.activate(x), run.champion(generation).activate(x))
        np.testing.assert_allclose(reference_outputs(doc, x), back.activate(x), rtol=1e-12)

    def test_export_to_stdout(self, cartpole_run, tmp_path):
        result = invoke(cartpole_run, "-g", 1, "-o", "-")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["generation"] == 1
        assert doc == export(cartpole_run, tmp_path, "-g", 1)

    def test_export_replaces_a_file_atomically(self, cartpole_run, tmp_path):
        (tmp_path / "champion.json").write_text("old")
        export(cartpole_run, tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == ["champion.json"]   # no temporary left

    def test_generation_not_stored(self, cartpole_run, tmp_path):
        assert_user_error(invoke(cartpole_run, "--generation", 42, "-o", tmp_path / "c.json"),
                          "generation 42")
        assert not (tmp_path / "c.json").exists()

    def test_not_an_hdf5_file(self, tmp_path):
        path = tmp_path / "run.h5"
        path.write_bytes(b"\x00" * 64)
        assert_user_error(invoke(path, "-o", tmp_path / "c.json"), "not an HDF5 file")

    def test_missing_file(self, tmp_path):
        assert_user_error(invoke(tmp_path / "missing.h5", "-o", "-"), "missing.h5")

    def test_output_is_required(self, cartpole_run):
        assert_user_error(invoke(cartpole_run), "'-o'")

    def test_unwritable_output(self, cartpole_run, tmp_path):
        assert_user_error(invoke(cartpole_run, "-o", tmp_path / "no" / "c.json"), "cannot write")


# -- champion_from_dict validation ---------------------------------------------------------

@pytest.fixture
def doc(cartpole_run):
    return champion_to_dict(ezspark.load_champion(cartpole_run))


class TestChampionFromDict:
    """The document round trip and its validation."""

    def test_dict_is_plain_json(self, doc):
        assert json.loads(json.dumps(doc)) == doc

    @pytest.mark.parametrize("change, message", [
        (lambda d: d.update(format="other"), "format must be 'ezspark-network'"),
        (lambda d: d.update(format_version=2), "format_version 2 is not supported"),
        (lambda d: d.pop("connections"), "missing key connections"),
        (lambda d: d.update(n_inputs=0), "n_inputs must be a positive integer"),
        (lambda d: d["activation"].update(slope=1.0), "activation.slope"),
        (lambda d: d["connections"][0].update(weight="1.5"),
         "connections[0].weight must be a number"),
        (lambda d: d["connections"][1].update(enabled=1),
         "connections[1].enabled must be true or false"),
        (lambda d: d["connections"][0].pop("innovation"), "missing key connections[0].innovation"),
        (lambda d: d["connections"][0].update({"in": 5}),
         "connections start at an input or hidden"),
        (lambda d: d["connections"][0].update(out=2), "end at an output or hidden node"),
        (lambda d: d["connections"][1].update(innovation=1), "same innovation number"),
        (lambda d: d["connections"][1].update(out=5), "same pair of nodes"),
        (lambda d: d["nodes"].pop(), "node list does not match"),
        (lambda d: d["nodes"][0].update(kind="hidden"), "node 1 is a hidden node"),
        (lambda d: d.update(bias_input="yes"), "bias_input must be true or false"),
        (lambda d: d.update(n_inputs=1, bias_input=True), "must be at least 2, not 1"),
    ])
    def test_bad_documents_are_rejected(self, doc, change, message):
        bad = copy.deepcopy(doc)
        change(bad)
        with pytest.raises(ValueError) as info:
            champion_from_dict(bad)
        assert message in str(info.value)

    def test_cycle_is_rejected(self, doc):
        # Hidden 7 and 8 feed each other: 1 -> 7 -> 8 -> 7.
        doc = copy.deepcopy(doc)
        doc["connections"] += [
            {"innovation": 100, "in": 1, "out": 7, "weight": 1.0, "enabled": True},
            {"innovation": 101, "in": 7, "out": 8, "weight": 1.0, "enabled": True},
            {"innovation": 102, "in": 8, "out": 7, "weight": 1.0, "enabled": False}]
        del doc["nodes"]                                          # nodes are optional
        with pytest.raises(ValueError, match="cycle"):
            champion_from_dict(doc)

    def test_minimal_document_and_unsorted_connections(self):
        doc = {"format": "ezspark-network", "format_version": 1, "n_inputs": 1, "n_outputs": 1,
               "connections": [
                   {"innovation": 3, "in": 3, "out": 2, "weight": -0.5, "enabled": True},
                   {"innovation": 2, "in": 1, "out": 3, "weight": 1, "enabled": True},
                   {"innovation": 1, "in": 1, "out": 2, "weight": 0.25, "enabled": False}]}
        champion = champion_from_dict(doc)
        assert champion.genome.innovation.tolist() == [1, 2, 3]
        assert champion.genome.src.tolist() == [1, 1, 3]
        assert champion.env_id is None and champion.generation == -1
        assert math.isnan(champion.fitness)
        s = 1 / (1 + math.exp(-4.9 * 2.0))                        # hidden 3 for input 2
        out = 1 / (1 + math.exp(-4.9 * (-0.5 * s + 1)))
        assert champion.activate([2.0])[0] == pytest.approx(out)
        # A NaN fitness is written as null, and null reads back as NaN.
        assert champion_to_dict(champion)["fitness"] is None


# -- an exported champion as input ---------------------------------------------------------

class TestChampionJsonAsInput:
    """``load_champion``, ``play`` and ``inspect`` take an exported champion like its run."""

    @pytest.fixture(params=["xor_run", "cartpole_run"])
    def exported(self, request, tmp_path):
        run = request.getfixturevalue(request.param)
        path = tmp_path / "champion.json"
        assert invoke(run, "-o", path).exit_code == 0
        return run, path

    def test_load_champion_acts_like_the_run_champion(self, exported):
        run, path = exported
        stored, loaded = ezspark.load_champion(run), ezspark.load_champion(path)
        assert (loaded.generation, loaded.env_id, loaded.n_inputs, loaded.n_outputs) == \
            (stored.generation, stored.env_id, stored.n_inputs, stored.n_outputs)
        x = np.random.default_rng(7).normal(scale=3.0, size=(1000, stored.n_inputs))
        assert np.array_equal(loaded.activate(x), stored.activate(x))          # a batch
        assert all(np.array_equal(loaded.activate(row), stored.activate(row)) for row in x)
        assert [loaded.act(row) for row in x] == [stored.act(row) for row in x]
        assert len(set(stored.act(x).tolist())) > 1 or stored.n_outputs == 1  # not constant

    def test_told_by_content_not_suffix(self, exported, tmp_path):
        run, path = exported
        odd = tmp_path / "champion.h5"
        odd.write_bytes(b"\xef\xbb\xbf\n  " + path.read_bytes())     # BOM and white space
        assert np.array_equal(ezspark.load_champion(odd).genome.weight,
                              ezspark.load_champion(run).genome.weight)

    def test_play_gives_the_returns_of_the_run(self, cartpole_run, tmp_path):
        path = tmp_path / "c.json"
        assert invoke(cartpole_run, "-o", path).exit_code == 0
        runner = CliRunner()
        plays = [runner.invoke(cli, ["play", str(p), "--episodes", "2", "--seed", "5", "--json"])
                 for p in (path, cartpole_run)]
        assert [p.exit_code for p in plays] == [0, 0], [p.output for p in plays]
        from_json, from_run = (json.loads(p.output) for p in plays)
        assert from_json == from_run and len(from_json["returns"]) == 2

    def test_inspect_summarises_the_champion(self, exported):
        run, path = exported
        champion = ezspark.load_champion(run)
        result = CliRunner().invoke(cli, ["inspect", str(path), "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
        assert summary["generation"] == champion.generation
        assert summary["env_id"] == champion.env_id
        assert (summary["n_inputs"], summary["n_outputs"]) == (champion.n_inputs,
                                                               champion.n_outputs)
        assert (summary["nodes"], summary["connections"]) == (champion.num_nodes,
                                                              champion.num_connections)
        text = CliRunner().invoke(cli, ["inspect", str(path)])
        assert text.exit_code == 0 and f"generation:   {champion.generation}" in text.output
        assert summary["bias_input"] is False and "bias" not in text.output

    def test_a_bias_champion_plays_and_inspects_as_its_run(self, bias_run, tmp_path):
        path = tmp_path / "bias.json"
        assert invoke(bias_run, "-o", path).exit_code == 0
        text = CliRunner().invoke(cli, ["inspect", str(path)])
        assert "5 inputs (the last one the bias), 2 outputs" in text.output
        assert json.loads(CliRunner().invoke(cli, ["inspect", str(path), "--json"])
                          .output)["bias_input"] is True
        plays = [CliRunner().invoke(cli, ["play", str(p), "-n", "2", "--json"])
                 for p in (path, bias_run)]
        assert all(p.exit_code == 0 for p in plays), [p.output for p in plays]
        assert json.loads(plays[0].output) == json.loads(plays[1].output)

    @pytest.mark.parametrize("command", ["play", "inspect"])
    @pytest.mark.parametrize("content, message", [
        ('{"name": "not a champion"}', "JSON but not an ezspark champion"),
        ('[1, 2]', "JSON but not an ezspark champion"),
        ('{"format": "ezspark-network", "format_version": 1}', "missing key n_inputs"),
        ('{"format": ', "is not valid JSON"),
    ])
    def test_other_json_is_a_user_error(self, tmp_path, command, content, message):
        path = tmp_path / "other.json"
        path.write_text(content)
        assert_user_error(CliRunner().invoke(cli, [command, str(path)]), message, "other.json")

    def test_a_generation_the_file_does_not_hold(self, cartpole_run, tmp_path):
        path = tmp_path / "c.json"
        assert invoke(cartpole_run, "-o", path).exit_code == 0
        generation = ezspark.load_champion(path).generation
        assert ezspark.load_champion(path, generation).generation == generation
        assert_user_error(CliRunner().invoke(cli, ["play", str(path), "-g",
                                                   str(generation + 1)]),
                          f"generation {generation} only")
