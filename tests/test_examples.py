"""The README's commands and every example run as written (with fewer generations)."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli

from .markdown_commands import fenced_blocks

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIGS = sorted((ROOT / "examples").glob("*.json"))


def test_examples_exist():
    names = {p.name for p in EXAMPLE_CONFIGS}
    assert {"cartpole.json", "acrobot.json", "lunarlander.json",
            "ezspark-docs-example.json"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: p.name)
def test_example_config_validates_and_runs(path, tmp_path):
    if "lunarlander" in path.name:
        pytest.importorskip("Box2D", reason="LunarLander needs the box2d extra")
    if path.name == "hopper.json":
        pytest.importorskip("mujoco", reason="Hopper-v5 needs the mujoco extra")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "r"),
                                   "--generations", "2", "-q", "--seed", "0"])
    assert res.exit_code == 0, res.output
    run = ezspark.RunFile.open(tmp_path / "r")
    # both generations, unless the first already reached the config's fitness_threshold
    solved = run.config.fitness_threshold is not None and \
        run.history["best_fitness"][0] >= run.config.fitness_threshold
    assert run.history.shape == ((1,) if solved else (2,))


def test_docs_example_is_the_published_file_unchanged():
    shipped = (ROOT / "examples" / "ezspark-docs-example.json").read_bytes()
    published = ROOT.parent / "shared" / "docs" / "ezspark-docs-example.json"
    if published.exists():
        assert shipped == published.read_bytes()
    cfg = ezspark.TrainingConfig.from_json(ROOT / "examples" / "ezspark-docs-example.json")
    assert cfg.gym_game_name == "CartPole-v0" and cfg.generations == 600000


def test_readme_main_command_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    m = re.search(r'pip install -e "\.\[dev\]" && (python -m ezspark run (\S+))', readme)
    assert m, "README must give the install-and-run command"
    config = ROOT / m.group(2)
    out = subprocess.run([sys.executable, "-m", "ezspark", "run", str(config), "--out",
                          str(tmp_path / "r"), "--generations", "2"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("champion: ")


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[dev]" && python -m pytest' in readme
    assert 'pip install -e ".[dev]" && python -m pytest' in (ROOT / ".ci" / "run").read_text()


def test_xor_example_script_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "xor.py")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "solved 1/1" in out.stdout


@pytest.mark.slow
def test_the_double_pole_example_solves_as_the_user_guide_says(tmp_path, monkeypatch, capsys):
    """docs/user-guide.md, "Pole balancing": the example trained with --seed 0, then the
    guide's Python block, which tests the stored champions and finds that of generation 13
    passing the standard test (100,000 steps, then 332 of the 625 generalisation starts)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    # the first 14 of its 200 generations: the same generations 0-13 (a run's history does
    # not depend on its length), and the recipe stops at 13
    res = CliRunner().invoke(cli, ["run", "examples/double-pole-novelocities.json",
                                   "--seed", "0", "-q", "--generations", "14"])
    assert res.exit_code == 0, res.output
    blocks = [b.body for b in fenced_blocks(ROOT / "docs" / "user-guide.md")
              if b.lang == "python" and "runs/double-pole-novelocities" in b.body]
    assert len(blocks) == 1
    exec(compile(blocks[0], "user-guide.md", "exec"), {})
    out = capsys.readouterr().out
    assert "the champion of generation 13 solves it" in out
    assert "generalisation=332, passed=True" in out
