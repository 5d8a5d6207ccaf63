"""The example plugin package ``examples/plugins/ezspark-gridmaze``, installed for real.

pip installs a copy of the package into a temporary ``--target`` directory (never the
system site-packages); ezspark then runs in subprocesses with that directory on
PYTHONPATH and plugin autoloading on, so the plugin is found through its entry point
only.  The environment itself is checked in this process, loaded from the source file
(nothing is put on sys.path and nothing is registered in gymnasium's global registry).
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "examples" / "plugins" / "ezspark-gridmaze"
CONFIG = PKG / "gridmaze.json"
ENV_ID = "ezspark_gridmaze/GridMaze-v0"
FIELDS = ["generation", "best_fitness", "mean_fitness", "population", "species",
          "evaluations", "env_steps", "reward_violations", "seconds", "checks", "mismatches",
          "excluded"]


# -- the installed package, used from subprocesses ------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A --target directory holding ezspark-gridmaze, installed by pip from a copy of the
    example (building in place would leave build/ and *.egg-info in the checkout)."""
    base = tmp_path_factory.mktemp("gridmaze")
    src = base / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", "runs"))
    target = base / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-input", "--disable-pip-version-check", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "ezspark_gridmaze" / "plugin.py").exists()
    assert list(target.glob("ezspark_gridmaze-0.1.0.dist-info"))
    return target


@pytest.fixture(scope="module")
def plugin_env(site):
    """Environment variables for a subprocess that sees the installed plugin."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("EZSPARK_DISABLE_PLUGIN_AUTOLOAD", "EZSPARK_GRIDMAZE_CSV")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def ezspark(plugin_env, *args, cwd, extra_env=None, timeout=120):
    env = dict(plugin_env, **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "ezspark", *map(str, args)], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


@pytest.mark.slow
def test_run_by_entry_point_writes_history_csv(plugin_env, tmp_path):
    out = tmp_path / "run"
    proc = ezspark(plugin_env, "run", CONFIG, "--out", out, "--generations", 3, "--seed", 0,
                   "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "run.h5").exists()
    rows = read_csv(out / "history.csv")
    assert rows[0] == FIELDS
    assert len(rows) == 1 + 3
    with h5py.File(out / "run.h5", "r") as f:
        assert f.attrs["env_id"] == ENV_ID
        history = f["history"][()]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    assert [float(r[1]) for r in rows[1:]] == [float(x) for x in history["best_fitness"]]
    assert [float(r[2]) for r in rows[1:]] == [float(x) for x in history["mean_fitness"]]
    assert [int(r[6]) for r in rows[1:]] == [int(x) for x in history["env_steps"]]


def test_validate_finds_the_plugin_env(plugin_env, tmp_path):
    proc = ezspark(plugin_env, "validate", CONFIG, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_envs_lists_the_maze_with_its_plugin(plugin_env, tmp_path):
    proc = ezspark(plugin_env, "envs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if ENV_ID in line.split()]
    assert len(lines) == 1, proc.stdout
    assert "gridmaze" in lines[0].split()


def test_plugins_lists_gridmaze_with_its_version(plugin_env, tmp_path):
    proc = ezspark(plugin_env, "plugins", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "gridmaze" in line.split()]
    assert len(lines) == 1, proc.stdout
    assert "0.1.0" in lines[0].split()


def test_reporter_covers_every_run(plugin_env, tmp_path):
    """Not only maze runs: a CartPole run gets a history.csv too, and a run without files
    writes to EZSPARK_GRIDMAZE_CSV."""
    out = tmp_path / "cartpole"
    keys = json.loads((ROOT / "examples" / "cartpole.json").read_text())
    config = tmp_path / "cartpole.json"        # both generations, even if one solves it
    config.write_text(json.dumps({**keys, "fitness_threshold": None}))
    proc = ezspark(plugin_env, "run", config, "--out", out,
                   "--generations", 2, "--seed", 0, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = read_csv(out / "history.csv")
    assert rows[0] == FIELDS and len(rows) == 3

    script = tmp_path / "fileless.py"
    script.write_text(
        "import numpy as np, ezspark\n"
        "X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)\n"
        "def xor_fitness(nets):\n"
        "    return 4 - ((nets.activate(X)[:, :, 0] - np.array([0, 1, 1, 0])) ** 2).sum(axis=1)\n"
        "cfg = ezspark.TrainingConfig(input_size=2, output_size=1, generations=2)\n"
        "r = ezspark.train(cfg, fitness=xor_fitness, seed=0)\n"
        "print(repr(r.history[1].best_fitness))\n")
    csv_path = tmp_path / "nested" / "fileless.csv"
    env = dict(plugin_env, EZSPARK_GRIDMAZE_CSV=str(csv_path))
    proc = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = read_csv(csv_path)
    assert rows[0] == FIELDS and [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][1]) == float(proc.stdout.split()[-1])


# -- the environment, in this process ------------------------------------------------

@pytest.fixture(scope="module")
def env_module():
    spec = importlib.util.spec_from_file_location("_gridmaze_env_under_test",
                                                  PKG / "ezspark_gridmaze" / "env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make(env_module, **kwargs):
    """gymnasium.make with the registered spec's settings, without touching the registry."""
    import gymnasium
    from gymnasium.envs.registration import EnvSpec

    render_mode = kwargs.pop("render_mode", None)
    spec = EnvSpec(id="test_gridmaze/GridMaze-v0", entry_point=env_module.GridMazeEnv,
                   max_episode_steps=100, kwargs=kwargs)
    return gymnasium.make(spec, render_mode=render_mode)


@pytest.mark.parametrize("kwargs", [{}, {"random_start": False}, {"random_maze": True},
                                    {"render_mode": "ansi"}], ids=str)
def test_check_env(env_module, kwargs):
    from gymnasium.utils.env_checker import check_env

    env = make(env_module, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        check_env(env_module.GridMazeEnv(**kwargs), skip_render_check=True)
    assert [str(w.message) for w in caught] == []
    env.close()


def trajectory(env, seed, actions):
    obs, info = env.reset(seed=seed)
    steps = [(obs.tolist(), info["position"])]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(int(a))
        steps.append((obs.tolist(), reward, terminated, truncated, info["position"]))
        if terminated or truncated:
            break
    return steps


@pytest.mark.parametrize("kwargs", [{}, {"random_maze": True}], ids=str)
def test_deterministic_for_a_seed_and_actions(env_module, kwargs):
    actions = np.random.default_rng(7).integers(0, 4, size=150)
    starts = set()
    for seed in range(10):
        a = trajectory(make(env_module, **kwargs), seed, actions)
        b = trajectory(make(env_module, **kwargs), seed, actions)
        assert a == b
        env = make(env_module, **kwargs)
        assert trajectory(env, seed, actions) == trajectory(env, seed, actions)  # re-reset
        starts.add(tuple(a[0][0]))
    assert len(starts) > 1                    # the seed does choose the start


def test_maze_path_rewards_and_ansi(env_module):
    env = make(env_module, random_start=False, render_mode="ansi")
    obs, info = env.reset(seed=0)
    assert info["position"] == (0, 0)
    assert obs.dtype == np.float32 and obs.shape == (8,)
    assert obs.tolist() == [0, 0, 1, 1, 1, 1, 0, 1]       # walls up, right and left
    assert env.render().splitlines() == [
        "A#.....", ".#.###.", ".#.#...", ".#.####", ".#.....", ".#####.", "......G"]
    _, reward, terminated, _, info = env.step(1)           # bump into the wall: stay
    assert (reward, terminated, info["position"], info["bumped"]) == (-0.01, False, (0, 0),
                                                                      True)
    total = reward
    for a in [2] * 6 + [1] * 6:                            # the shortest path: 12 moves
        _, reward, terminated, truncated, info = env.step(a)
        total += reward
    assert terminated and not truncated and reward == 1.0 and info["position"] == (6, 6)
    assert total == pytest.approx(1.0 - 0.01 * 12)


def test_never_arriving_is_truncated_at_100_steps(env_module):
    env = make(env_module, random_start=False)
    env.reset(seed=0)
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, _ = env.step(0)  # up, into the border
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    assert (steps, terminated, truncated) == (100, False, True)
    assert total == pytest.approx(-1.0)


def test_config_matches_the_env(env_module):
    cfg = json.loads(CONFIG.read_text())
    env = make(env_module)
    assert cfg["gym_game_name"] == ENV_ID
    assert cfg["input_size"] == env.observation_space.shape[0]
    assert cfg["output_size"] == env.action_space.n
    assert cfg["minimum_reward"] <= -0.01


# -- the reporter's hooks, called directly ---------------------------------------------

@pytest.fixture
def plugin_module():
    spec = importlib.util.spec_from_file_location("_gridmaze_plugin_under_test",
                                                  PKG / "ezspark_gridmaze" / "plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(out, start_generation=0):
    from types import SimpleNamespace

    return SimpleNamespace(config=None, seed=0, out=out, env_id=None, generations=5,
                           start_generation=start_generation)


def stats(k):
    import ezspark

    return ezspark.GenerationStats(generation=k, best_fitness=0.1 * k, mean_fitness=-1.0,
                                   population=10, species=2, evaluations=10, env_steps=5,
                                   reward_violations=0, seconds=0.5)


def test_reporter_hooks_fresh_resumed_and_fileless(plugin_module, tmp_path, monkeypatch):
    hooks = plugin_module
    assert tuple(FIELDS) == hooks.FIELDS
    first = fake_run(tmp_path / "run.h5")
    hooks.ezspark_run_start(run=first)
    for k in range(3):
        hooks.ezspark_generation_end(run=first, stats=stats(k))
        assert len(read_csv(tmp_path / "history.csv")) == k + 2     # flushed at once
    hooks.ezspark_run_end(run=first, result=None)
    assert hooks._open_runs == {}

    resumed = fake_run(tmp_path / "run.h5", start_generation=2)     # generation 2 is redone
    hooks.ezspark_run_start(run=resumed)
    for k in range(2, 5):
        hooks.ezspark_generation_end(run=resumed, stats=stats(k))
    hooks.ezspark_run_end(run=resumed, result=None)
    rows = read_csv(tmp_path / "history.csv")
    assert rows[0] == FIELDS and [r[0] for r in rows[1:]] == ["0", "1", "2", "3", "4"]
    assert float(rows[4][1]) == 0.1 * 3

    monkeypatch.delenv("EZSPARK_GRIDMAZE_CSV", raising=False)
    fileless = fake_run(None)
    hooks.ezspark_run_start(run=fileless)
    hooks.ezspark_generation_end(run=fileless, stats=stats(0))
    hooks.ezspark_run_end(run=fileless, result=None)
    assert hooks._open_runs == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]
