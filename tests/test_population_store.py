"""Stored populations (issue 14 item 5): ``run --save-population EVERY`` keeps every genome
of every EVERY-th generation in run.h5, readable with plain h5py, listed by ``inspect
--population``, exported by ``export --genome``, and trimmed like the history on resume."""
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli

from .helpers import (X, Y, assert_same_history_and_champions, assert_user_error,
                      write_small_cartpole, xor_fitness)

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("index", "nodes", "connections")


def write_cfg(tmp_path, **kw):
    keys = dict(generations=7, max_number_of_steps=60, max_population=40,
                species_threshold=1.5, add_node_specie_rate=0.2)
    return write_small_cartpole(tmp_path, **{**keys, **kw})


def xor_cfg(**kw):
    keys = dict(generations=7, input_size=2, output_size=1, initial_population=30,
                max_population=40, species_threshold=1.5, add_node_specie_rate=0.2)
    keys.update(kw)
    return attrs.evolve(ezspark.TrainingConfig.docs_example(), gym_game_name=None, **keys)


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def tables(path):
    with h5py.File(path, "r", swmr=True) as f:
        return {name: f["population"][name][()] for name in TABLES}, dict(f.attrs)


@pytest.fixture(scope="module")
def env_run(tmp_path_factory):
    """A CartPole run of 7 generations with --save-population 2 (and a default one)."""
    tmp = tmp_path_factory.mktemp("pop")
    cfg = write_cfg(tmp)
    res = run_cli("run", cfg, "--out", tmp / "pop", "--seed", "7", "-q", "--save-population", 2)
    assert res.exit_code == 0, res.output
    res = run_cli("run", cfg, "--out", tmp / "plain", "--seed", "7", "-q")
    assert res.exit_code == 0, res.output
    return tmp


def test_every_second_generation_is_stored_whole_with_the_history_fitness(env_run):
    run = ezspark.RunFile.open(env_run / "pop")
    assert run.populations == [0, 2, 4, 6]
    assert run.attrs["save_population"] == 2
    for g in run.populations:
        genomes = run.population(g)
        row = run.history[run.history["generation"] == g][0]
        fitness = np.array([c.fitness for c in genomes])
        assert len(genomes) == row["population"]
        assert fitness.max() == row["best_fitness"] and fitness.mean() == row["mean_fitness"]
        assert all(c.generation == g for c in genomes)
        species = {c.species for c in genomes}
        if g == 6:                          # the final generation is not speciated
            assert species == {-1}
        else:
            assert -1 not in species and len(species - {-1}) >= 1
    # the champion of a stored generation is one of its genomes, species included
    champion = run.champion(4)
    stored = run.population(4)
    assert any(c.genome == champion.genome and c.species == champion.species
               and c.fitness == champion.fitness for c in stored)


def test_a_default_run_stores_no_population_and_the_same_history(env_run):
    assert_same_history_and_champions(env_run / "pop" / "run.h5", env_run / "plain" / "run.h5")
    with h5py.File(env_run / "plain" / "run.h5", "r") as f:
        assert "population" not in f and "save_population" not in f.attrs
    run = ezspark.RunFile.open(env_run / "plain")
    assert run.populations == []
    with pytest.raises(ezspark.StoreError, match="--save-population"):
        run.population(0)


def _docs_recipe() -> str:
    """The plain-h5py recipe of docs/architecture.md that rebuilds a stored genome."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    (recipe,) = [b for b in blocks if 'f["population/index"]' in b]
    assert recipe in (ROOT / "docs" / "user-guide.md").read_text()   # the same recipe there
    return recipe


def test_the_documented_h5py_recipe_rebuilds_every_genome_without_ezspark(env_run):
    path = env_run / "pop" / "run.h5"
    run = ezspark.RunFile.open(path)
    recipe = _docs_recipe()
    first = recipe.splitlines()[2]
    assert first.startswith("path, generation, i = ")
    for g in run.populations:
        genomes = run.population(g)
        for i in sorted({0, len(genomes) // 2, len(genomes) - 1}):
            code = (recipe.replace(first, f"path, generation, i = {str(path)!r}, {g}, {i}")
                    + "import json, sys\n"
                    + "assert 'ezspark' not in sys.modules\n"
                    + "print(json.dumps({'species': int(row['species']), "
                      "'fitness': float(row['fitness']), 'ids': nodes['id'].tolist(), "
                      "'kinds': nodes['kind'].tolist(), **{k: genes[k].tolist() for k in "
                      "('innovation', 'in', 'out', 'weight', 'enabled')}}))\n")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            got = json.loads(out.stdout.strip().splitlines()[-1])
            c = genomes[i]
            n_io = c.n_inputs + c.n_outputs
            assert (got["species"], got["fitness"]) == (c.species, c.fitness)
            assert got["ids"] == list(range(1, n_io + 1)) + c.hidden_nodes.tolist()
            assert got["kinds"] == [0] * c.n_inputs + [1] * c.n_outputs + \
                [2] * len(c.hidden_nodes)
            g_ = c.genome
            assert got["innovation"] == g_.innovation.tolist()
            assert (got["in"], got["out"]) == (g_.src.tolist(), g_.dst.tolist())
            assert got["weight"] == g_.weight.tolist()
            assert got["enabled"] == g_.enabled.tolist()


def test_inspect_lists_a_stored_generation(env_run):
    res = run_cli("inspect", env_run / "pop", "--population", 2, "--json")
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    genomes = ezspark.RunFile.open(env_run / "pop").population(2)
    assert listed["generation"] == 2
    assert [(g["genome"], g["species"], g["fitness"], g["nodes"], g["connections"])
            for g in listed["genomes"]] == [
        (i, c.species, c.fitness, c.num_nodes, c.num_connections) for i, c in enumerate(genomes)]
    text = run_cli("inspect", env_run / "pop", "--population", 2)
    assert text.exit_code == 0, text.output
    assert f"{len(genomes)} genomes stored" in text.output
    assert len([ln for ln in text.output.splitlines() if re.match(r"\s+\d+\s", ln)]) == len(genomes)


def test_inspect_and_export_name_the_remedy_for_a_generation_not_stored(env_run, tmp_path):
    assert_user_error(run_cli("inspect", env_run / "pop", "--population", 3),
                      "generation 3", "stored: 0, 2, 4, 6")
    assert_user_error(run_cli("inspect", env_run / "plain", "--population", 0),
                      "--save-population")
    assert_user_error(run_cli("export", env_run / "pop", "-g", 3, "--genome", 0, "-o",
                              tmp_path / "g.json"), "generation 3", "stored: 0, 2, 4, 6")
    out = tmp_path / "g.json"
    assert_user_error(run_cli("export", env_run / "plain", "-g", 0, "--genome", 0, "-o", out),
                      "--save-population")
    assert_user_error(run_cli("export", env_run / "pop", "-g", 2, "--genome", 10_000, "-o", out),
                      "--genome 10000", "out of range")
    assert_user_error(run_cli("export", env_run / "pop", "--genome", 0, "-o", out),
                      "--genome needs --generation", "0, 2, 4, 6")
    assert not out.exists()


def test_an_exported_genome_acts_as_the_stored_one(env_run, tmp_path):
    run = ezspark.RunFile.open(env_run / "pop")
    genomes = run.population(4)
    i = len(genomes) - 1
    out = tmp_path / "g.json"
    res = run_cli("export", env_run / "pop", "-g", 4, "--genome", i, "-o", out)
    assert res.exit_code == 0, res.output
    loaded = ezspark.load_champion(out)
    assert loaded.genome == genomes[i].genome
    assert (loaded.generation, loaded.fitness, loaded.species) == (4, genomes[i].fitness,
                                                                   genomes[i].species)
    obs = np.random.default_rng(0).uniform(-2, 2, (50, 4))
    assert np.array_equal(loaded.activate(obs), genomes[i].activate(obs))
    played = run_cli("play", out, "-n", 1, "--json")
    assert played.exit_code == 0, played.output
    assert len(json.loads(played.output)["returns"]) == 1


def test_exported_genomes_of_a_fitness_run_score_their_recorded_fitness(tmp_path):
    ezspark.train(xor_cfg(), out=tmp_path / "xor", seed=3, fitness=xor_fitness,
                  save_population=3)
    run = ezspark.RunFile.open(tmp_path / "xor")
    assert run.populations == [0, 3, 6]
    for i, stored in enumerate(run.population(3)):
        out = tmp_path / f"g{i}.json"
        res = run_cli("export", tmp_path / "xor", "-g", 3, "--genome", i, "-o", out)
        assert res.exit_code == 0, res.output
        outputs = ezspark.load_champion(out).activate(X)[:, 0]
        assert 4 - ((outputs - Y) ** 2).sum() == pytest.approx(stored.fitness, rel=1e-12)


def test_stored_genomes_of_a_bias_run_score_their_recorded_fitness(tmp_path):
    """With bias_input, a stored genome has input_size + 1 inputs, the last the bias: read
    back, each computes the fitness the run recorded for it (XOR's two inputs)."""
    ezspark.train(xor_cfg(bias_input=True), out=tmp_path / "xor", seed=3,
                  fitness=xor_fitness, save_population=3)
    stored = ezspark.RunFile.open(tmp_path / "xor").population(3)
    assert stored and all(c.bias_input and c.n_inputs == 3 for c in stored)
    for c in stored:
        outputs = c.activate(X)[:, 0]
        assert 4 - ((outputs - Y) ** 2).sum() == pytest.approx(c.fitness, rel=1e-12)


def test_save_population_needs_an_output_directory_and_a_count():
    with pytest.raises(ezspark.ConfigError, match="out=DIR"):
        ezspark.train(xor_cfg(generations=1), fitness=xor_fitness, save_population=2)
    with pytest.raises(ezspark.ConfigError, match="integer >= 0"):
        ezspark.train(xor_cfg(generations=1), fitness=xor_fitness, save_population=-1)


def test_a_resume_trims_the_populations_to_the_checkpoint_and_may_change_every(tmp_path):
    cfg = xor_cfg(generations=9)
    ref = ezspark.train(cfg, out=tmp_path / "ref", seed=5, fitness=xor_fitness,
                        save_population=2)
    out = tmp_path / "run"
    ezspark.train(cfg, out=out, seed=5, fitness=xor_fitness, save_population=2, generations=5)
    finished_at_4 = (out / "checkpoint.h5").read_bytes()
    ezspark.train(cfg, out=out, fitness=xor_fitness, resume=True)   # EVERY as stored: 2
    assert ezspark.RunFile.open(out).populations == [0, 2, 4, 6, 8]
    # run.h5 is now ahead of this checkpoint (finished after generation 4): the resume
    # drops the populations of generations 4 and later, then stores them again
    (out / "checkpoint.h5").write_bytes(finished_at_4)
    ezspark.train(cfg, out=out, fitness=xor_fitness, resume=True)
    (got, got_attrs), (want, _) = tables(out / "run.h5"), tables(ref.path)
    for name in TABLES:
        assert np.array_equal(got[name], want[name]), name
    assert got_attrs["save_population"] == 2
    # a resume may change EVERY: stored generations stay, new ones follow the new value
    (out / "checkpoint.h5").write_bytes(finished_at_4)
    ezspark.train(cfg, out=out, fitness=xor_fitness, resume=True, save_population=3)
    run = ezspark.RunFile.open(out)
    assert run.populations == [0, 2, 6] and run.attrs["save_population"] == 3
    assert [c.genome for c in run.population(2)] == [
        c.genome for c in ezspark.RunFile.open(ref.path).population(2)]


def _stored_generations(path: Path) -> list[int]:
    try:
        return ezspark.RunFile.open(path).populations
    except ezspark.StoreError:
        return []


def test_sigkill_then_resume_keeps_the_population_tables_consistent(tmp_path):
    cfg = write_cfg(tmp_path, generations=40, max_number_of_steps=40)
    ref = tmp_path / "ref"
    res = run_cli("run", cfg, "--out", ref, "--seed", "7", "-q", "--save-population", 3)
    assert res.exit_code == 0, res.output
    out = tmp_path / "killed"
    env = dict(__import__("os").environ, EZSPARK_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg), "--out",
                             str(out), "-q", "--seed", "7", "--checkpoint-every", "0",
                             "--save-population", "3"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while (len(_stored_generations(out)) < 3 and proc.poll() is None
           and time.time() < deadline):
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    res = run_cli("run", cfg, "--out", out, "--resume", "-q")     # EVERY as stored
    assert res.exit_code == 0, res.output
    assert_same_history_and_champions(ref / "run.h5", out / "run.h5")
    (got, _), (want, _) = tables(out / "run.h5"), tables(ref / "run.h5")
    for name in TABLES:
        assert np.array_equal(got[name], want[name]), name
