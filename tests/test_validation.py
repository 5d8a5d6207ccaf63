"""Validated champions (docs/algorithm.md 6.5): every stored champion plays the run's
validation episodes; the best score picks the champion a run hands out; evolution never
sees it."""
import json
import math

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli
from ezspark.evaluation.play import episode_returns
from ezspark.evaluation.validation import validation_seeds
from tests.helpers import assert_same_history_and_champions, write_small_cartpole

SMALL = dict(generations=6, max_number_of_steps=120, initial_population=20)


def run(tmp_path, name, seed=3, **keys):
    cfg = write_small_cartpole(tmp_path, f"{name}.json", **{**SMALL, **keys})
    return ezspark.train(cfg, out=tmp_path / name, seed=seed)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_validation_seeds_are_fixed_per_run_and_never_training_seeds():
    seeds = validation_seeds(0, 5)
    assert seeds.tolist() == list(range(int(seeds[0]), int(seeds[0]) + 5))
    assert np.array_equal(validation_seeds(0, 5), seeds)
    assert not np.array_equal(validation_seeds(1, 5), seeds)
    for s in range(50):              # training's seeds are below 2**31 (algorithm 6.2)
        v = validation_seeds(s, 100)
        assert v.min() >= 2**31 and v.max() < 2**32


def test_validation_never_changes_the_run(tmp_path):
    """Histories and stored champions are those of a run without validation (the golden
    histories hold); only the scores differ."""
    off, on = run(tmp_path, "off", validation_games=0), run(tmp_path, "on", validation_games=7)
    assert_same_history_and_champions(off.path, on.path)
    assert np.isnan(ezspark.RunFile.open(off.path).champions.index["validation"]).all()


def test_each_stored_champion_scores_the_mean_of_its_validation_episodes(tmp_path):
    result = run(tmp_path, "r", validation_games=6, saving=2)
    stored = ezspark.RunFile.open(result.path)
    assert stored.generations == [0, 2, 4, 5]
    seeds = validation_seeds(result.seed, 6)
    for g in stored.generations:
        champ = stored.champion(g)
        returns = episode_returns(champ, episodes=6, seed=int(seeds[0]), max_steps=120)
        assert champ.validation == pytest.approx(sum(returns) / 6, abs=1e-12), g


def test_the_run_hands_out_the_best_validated_champion_newest_on_ties(tmp_path):
    result = run(tmp_path, "r", validation_games=4, generations=10)
    index = ezspark.RunFile.open(result.path).champions.index
    best = index["validation"].max()
    expected = int(index["generation"][index["validation"] == best][-1])
    assert result.champion.generation == expected and result.champion.validation == best
    assert ezspark.load_champion(result.path).generation == expected
    assert ezspark.load_champion(result.path, "best").generation == expected
    assert ezspark.load_champion(result.path, "last").generation == 9
    assert ezspark.load_champion(result.path, 3).generation == 3


def test_without_validation_the_newest_champion_is_handed_out(tmp_path):
    result = run(tmp_path, "r", validation_games=0)
    assert result.champion.generation == 5 and math.isnan(result.champion.validation)
    assert ezspark.load_champion(result.path).generation == 5


def test_a_scored_genome_is_not_played_again(tmp_path):
    """The elite stays champion for generations on CartPole: its score is remembered."""
    steps = []

    class Log:
        @ezspark.hookimpl
        def ezspark_new_champion(self, run, champion):
            steps.append((champion.genome, champion.validation, champion.validation_steps))

    from ezspark.plugins.manager import make_plugin_manager
    pm = make_plugin_manager(autoload=False)
    pm.register(Log())
    cfg = write_small_cartpole(tmp_path, **{**SMALL, "generations": 12})
    ezspark.train(cfg, seed=0, plugins=pm)
    assert steps[0][2] > 0
    for k, (genome, score, cost) in enumerate(steps):
        seen = [s for g, s, _ in steps[:k] if g == genome]
        assert (cost == 0) == bool(seen), k
        assert not seen or seen[0] == score


def test_a_resumed_run_hands_out_the_best_champion_of_every_session(tmp_path):
    cfg = write_small_cartpole(tmp_path, **{**SMALL, "generations": 12, "validation_games": 4})
    whole = ezspark.train(cfg, out=tmp_path / "whole", seed=5)
    ezspark.train(cfg, out=tmp_path / "parts", seed=5, generations=4)
    ezspark.train(cfg, out=tmp_path / "parts", generations=8, resume=True)
    parts = ezspark.train(cfg, out=tmp_path / "parts", generations=12, resume=True)
    assert_same_history_and_champions(whole.path, parts.path)
    assert (parts.champion.generation, parts.champion.validation) == (
        whole.champion.generation, whole.champion.validation)
    a, b = (ezspark.RunFile.open(p).champions.index["validation"]
            for p in (whole.path, parts.path))
    assert np.array_equal(a, b)


def test_files_without_scores_hand_out_the_newest_champion(tmp_path):
    """A run.h5 written before validation existed (no validation column) reads as NaN."""
    result = run(tmp_path, "r", validation_games=3)
    with h5py.File(result.path, "r+") as f:
        index = f["champions"]["index"][()]
        names = [n for n in index.dtype.names if n != "validation"]
        del f["champions"]["index"]
        f["champions"].create_dataset("index", data=index[names].astype(
            np.dtype([(n, index.dtype[n]) for n in names])), maxshape=(None,))
    old = ezspark.RunFile.open(result.path)
    assert np.isnan(old.champions.index["validation"]).all()
    assert ezspark.load_champion(result.path).generation == 5


def test_the_command_line_plays_exports_and_shows_the_best_champion(tmp_path):
    result = run(tmp_path, "r", validation_games=4, generations=10)
    best = result.champion
    played = invoke("play", result.path, "-n", "2")
    assert f"(champion of generation {best.generation}," in played.output
    last = invoke("play", result.path, "-n", "1", "-g", "last")
    assert "(champion of generation 9," in last.output
    out = tmp_path / "c.json"
    assert invoke("export", result.path, "-o", out).exit_code == 0
    doc = json.loads(out.read_text())
    assert (doc["generation"], doc["validation"]) == (best.generation, best.validation)
    assert ezspark.load_champion(out).validation == best.validation
    shown = json.loads(invoke("inspect", result.path, "--json").output)
    assert shown["best_champion"] == best.generation
    assert [c["validation"] for c in shown["champions"]] == ezspark.RunFile.open(
        result.path).champions.index["validation"].tolist()
    text = invoke("inspect", result.path).output
    marked = [line for line in text.splitlines() if line.startswith("  * generation")]
    assert len(marked) == 1 and f"generation {best.generation:>6}" in marked[0]
    bad = invoke("play", result.path, "-g", "first")
    assert bad.exit_code == 2 and "give best, last or a generation number" in bad.output
