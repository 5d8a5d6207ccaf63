"""``ezspark run``, ``inspect`` and ``play`` through click's runner and real subprocesses."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli
from ezspark.cli.signals import interrupts_stop_the_run

from .helpers import write_small_cartpole

ROOT = Path(__file__).resolve().parent.parent


def small_cartpole(tmp_path, **kw):
    keys = dict(generations=3, max_number_of_steps=60, initial_population=12)
    return write_small_cartpole(tmp_path, "small.json", **{**keys, **kw})


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


class TestRun:
    def test_run_prints_one_line_per_generation_and_names_the_champion(self, tmp_path):
        cfg = small_cartpole(tmp_path)
        res = invoke("run", cfg, "--out", tmp_path / "out", "--seed", "1")
        assert res.exit_code == 0, res.output
        lines = res.output.strip().splitlines()
        gen_lines = [l for l in lines if l.startswith("gen ")]
        assert len(gen_lines) == 3 and "steps/s" in gen_lines[0] and "species" in gen_lines[0]
        champ = ezspark.load_champion(tmp_path / "out")          # the best validated one
        assert lines[-1] == (f"champion: {tmp_path / 'out' / 'run.h5'} (generation "
                             f"{champ.generation}, validation {champ.validation:.6g}, fitness "
                             f"{champ.fitness:.6g})")

    def test_quiet_prints_only_the_champion_line(self, tmp_path):
        res = invoke("run", small_cartpole(tmp_path), "--out", tmp_path / "o", "--quiet")
        assert res.exit_code == 0
        assert res.output.strip().splitlines() == [res.output.strip()]
        assert res.output.startswith("champion: ")

    def test_the_cartpole_example_stops_when_solved_and_says_so(self, tmp_path):
        res = invoke("run", ROOT / "examples" / "cartpole.json", "--out", tmp_path / "o",
                     "--seed", "0")
        assert res.exit_code == 0, res.output
        lines = res.output.strip().splitlines()
        g = ezspark.RunFile.open(tmp_path / "o").history.shape[0] - 1
        assert g < 29 and lines[-2] == f"solved: fitness_threshold 500 reached at generation {g}"
        champ = ezspark.load_champion(tmp_path / "o")
        assert lines[-1].startswith(f"champion: {tmp_path / 'o' / 'run.h5'} (generation "
                                    f"{champ.generation}, validation ")

    def test_a_threshold_reached_in_the_last_generation_is_solved_too(self, tmp_path):
        cfg = small_cartpole(tmp_path, generations=1, fitness_threshold=1)
        res = invoke("run", cfg, "--out", tmp_path / "o")
        assert res.output.strip().splitlines()[-2] == \
            "solved: fitness_threshold 1 reached at generation 0"
        res = invoke("run", cfg, "--out", tmp_path / "q", "-q")
        assert "solved" not in res.output

    def test_default_out_is_runs_slash_config_stem(self, tmp_path, monkeypatch):
        cfg = small_cartpole(tmp_path)
        monkeypatch.chdir(tmp_path)
        res = invoke("run", cfg, "-q", "--generations", "1")
        assert res.exit_code == 0 and (tmp_path / "runs" / "small" / "run.h5").exists()

    def test_seed_generations_and_workers_options(self, tmp_path):
        cfg = small_cartpole(tmp_path, generations=10)
        a = invoke("run", cfg, "--out", tmp_path / "a", "--seed", "5", "--generations", "3", "-q")
        b = invoke("run", cfg, "--out", tmp_path / "b", "--seed", "5", "--generations", "3",
                   "--workers", "2", "-q")
        assert a.exit_code == b.exit_code == 0
        ha = ezspark.RunFile.open(tmp_path / "a").history
        hb = ezspark.RunFile.open(tmp_path / "b").history
        assert len(ha) == 3
        for name in ("best_fitness", "mean_fitness", "population", "species", "env_steps"):
            assert np.array_equal(ha[name], hb[name])
        assert ezspark.RunFile.open(tmp_path / "a").attrs["seed"] == 5

    def test_existing_run_needs_overwrite(self, tmp_path):
        cfg = small_cartpole(tmp_path)
        assert invoke("run", cfg, "--out", tmp_path / "o", "-q").exit_code == 0
        res = invoke("run", cfg, "--out", tmp_path / "o", "-q")
        assert res.exit_code == 2 and "already exists" in res.output
        assert all(flag in res.output for flag in ("--resume", "--out DIR", "--overwrite"))
        assert invoke("run", cfg, "--out", tmp_path / "o", "-q", "--overwrite").exit_code == 0

    def test_errors_name_the_flag_that_helps(self, tmp_path):
        cfg, out = small_cartpole(tmp_path, saving=2), tmp_path / "o"
        res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out), "--resume",
                                       "--overwrite"])
        assert res.exit_code == 2 and "--resume continues the run" in res.output
        res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out), "--resume"])
        assert res.exit_code == 2 and "start a new run without --resume" in res.output
        (tmp_path / "file").write_text("")
        res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / "file" / "o")])
        assert res.exit_code == 2 and "choose another with --out DIR" in res.output
        assert invoke("run", cfg, "--out", out, "-q", "--seed", "1").exit_code == 0
        res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out), "--resume",
                                       "--generations", "5", "--seed", "2"])
        assert res.exit_code == 2 and "leave --seed out" in res.output
        res = CliRunner().invoke(cli, ["play", str(out), "-g", "1"])
        assert res.exit_code == 2 and "(stored: 0, 2); choose a stored one, or best or last (--generation/-g" \
            in res.output

    @pytest.mark.parametrize("content, message", [
        (None, "no such file"),
        ("{not json", "line 1"),
        ('{"gym_game_name": "CartPole-v1", "input_size": 4, "output_size": 2, "children": 2.5}',
         "children: 2.5 is not an integer"),
        ('{"gym_game_name": "NoSuchEnv-v0", "input_size": 4, "output_size": 2}', "NoSuchEnv-v0"),
        ('{"gym_game_name": "CartPole-v1", "input_size": 6, "output_size": 2}',
         "input_size is 6 but observations of CartPole-v1 have 4 values"),
    ])
    def test_user_mistakes_exit_2_with_a_clear_line(self, tmp_path, content, message):
        path = tmp_path / "c.json"
        if content is not None:
            path.write_text(content)
        res = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "o"), "-q"])
        assert res.exit_code == 2, res.output
        assert message in res.output and "Traceback" not in res.output
        assert not (tmp_path / "o" / "run.h5").exists()


class TestInspectAndPlay:
    @pytest.fixture(scope="class")
    @classmethod
    def run_dir(cls, tmp_path_factory):
        tmp = tmp_path_factory.mktemp("run")
        res = invoke("run", small_cartpole(tmp, saving=2, generations=5), "--out", tmp / "r",
                     "--seed", "3", "-q")
        assert res.exit_code == 0
        return tmp / "r"

    def test_inspect_json_has_the_contract_shape(self, run_dir):
        res = invoke("inspect", run_dir / "run.h5", "--json")
        data = json.loads(res.output)
        assert {"format_version", "env_id", "generations", "champions", "history",
                "config"} <= set(data)
        assert data["format_version"] == 2 and data["env_id"] == "CartPole-v1"
        assert data["generations"] == 5 and len(data["history"]) == 5
        assert [c["generation"] for c in data["champions"]] == [0, 2, 4]
        assert set(data["champions"][0]) == {"generation", "fitness", "validation", "nodes",
                                              "connections"}
        assert data["config"]["saving"] == 2

    def test_inspect_text(self, run_dir):
        res = invoke("inspect", run_dir)
        assert res.exit_code == 0 and "CartPole-v1" in res.output and "3 stored" in res.output

    def test_play_api_and_cli_give_the_same_returns(self, run_dir):
        from ezspark.evaluation.play import play_episodes
        champ = ezspark.load_champion(run_dir / "run.h5")
        assert champ.generation == 4
        api = play_episodes(champ, episodes=4, seed=7)
        res = invoke("play", run_dir / "run.h5", "--episodes", "4", "--seed", "7", "--json")
        data = json.loads(res.output)
        assert data["returns"] == api and data["mean"] == pytest.approx(np.mean(api))

    def test_play_a_chosen_generation_and_text_output(self, run_dir):
        res = invoke("play", run_dir / "run.h5", "-g", "2", "-n", "2")
        assert res.exit_code == 0 and "generation 2" in res.output
        assert res.output.count("episode ") == 2

    def test_play_a_generation_that_was_not_saved(self, run_dir):
        res = CliRunner().invoke(cli, ["play", str(run_dir / "run.h5"), "-g", "3"])
        assert res.exit_code == 2 and "generation 3 has no stored champion" in res.output

    @pytest.mark.parametrize("command", ["inspect", "play"])
    def test_foreign_and_missing_files_exit_2(self, tmp_path, command):
        bad = tmp_path / "bad.h5"
        bad.write_text("hello")
        res = CliRunner().invoke(cli, [command, str(bad)])
        assert res.exit_code == 2 and "not an HDF5 file" in res.output
        other = tmp_path / "other.h5"
        with h5py.File(other, "w") as f:
            f["x"] = 1
        res = CliRunner().invoke(cli, [command, str(other)])
        assert res.exit_code == 2 and "not an ezspark run" in res.output
        res = CliRunner().invoke(cli, [command, str(tmp_path / "missing.h5")])
        assert res.exit_code == 2 and "no such file" in res.output

    def test_newer_format_version_is_refused(self, run_dir, tmp_path):
        import shutil
        copy = tmp_path / "new.h5"
        shutil.copy(run_dir / "run.h5", copy)
        with h5py.File(copy, "a") as f:
            f.attrs["format_version"] = 99
        res = CliRunner().invoke(cli, ["inspect", str(copy)])
        assert res.exit_code == 2 and "format_version 99" in res.output


class TestLoadChampion:
    def test_load_champion_acts_like_the_trained_one(self, tmp_path):
        r = ezspark.train(small_cartpole(tmp_path), out=tmp_path / "r", seed=0)
        champ = ezspark.load_champion(r.path)
        assert champ.genome == r.champion.genome
        assert champ.generation == r.champion.generation and champ.validation == r.champion.validation
        obs = np.random.default_rng(0).normal(size=(20, 4))
        assert np.array_equal(champ.activate(obs), r.champion.activate(obs))
        assert champ.act(obs[0]) in (0, 1) and champ.activate(obs[0]).shape == (2,)
        with pytest.raises(ValueError, match="3 values but the network has 4 inputs"):
            champ.activate([1.0, 2.0, 3.0])


PLAIN_H5PY_CHECK = r'''
import sys, h5py, numpy as np
assert "ezspark" not in sys.modules
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    for key in ("format_version", "ezspark_version", "env_id", "seed", "created"):
        assert key in f.attrs, key
    assert int(f.attrs["format_version"]) == 2
    assert f.attrs["env_id"] in ("CartPole-v1", b"CartPole-v1")
    cfg = f["config"][()]
    cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
    assert '"gym_game_name": "CartPole-v1"' in cfg
    h = f["history"]
    assert h.dtype.names == ("generation", "best_fitness", "mean_fitness", "population",
                             "species", "evaluations", "env_steps", "reward_violations",
                             "seconds", "checks", "mismatches", "excluded"), h.dtype.names
    assert list(h["generation"]) == list(range(h.shape[0]))
    status = f.attrs["status"]
    assert (status.decode() if isinstance(status, bytes) else status) == "generations"
    assert int(f.attrs["stopped_at"]) == h.shape[0] - 1 and len(f.attrs["reason"]) == 0
    assert float(f.attrs["wall_seconds"]) > 0
    assert float(f["live"]["wall_seconds"][0]) > 0
    assert int(f.attrs["env_steps"]) == int(h["env_steps"].sum()) > 0
    index, nodes, conns = (f["champions"][k] for k in ("index", "nodes", "connections"))
    assert index.dtype.names == ("generation", "fitness", "species", "node_offset",
                                 "node_count", "conn_offset", "conn_count", "validation"), \
        index.dtype.names
    assert nodes.dtype == np.dtype([("id", np.int32), ("kind", np.uint8)]), nodes.dtype
    assert conns.dtype == np.dtype([("innovation", np.int32), ("in", np.int32),
                                    ("out", np.int32), ("weight", np.float64),
                                    ("enabled", np.bool_)]), conns.dtype
    for t in (h, index, nodes, conns):
        assert t.maxshape == (None,) and t.chunks is not None    # appendable in place
    names = list(index["generation"])
    assert names == sorted(set(names)) and names
    for row in index[()]:                            # champion k: two slices
        n = nodes[row["node_offset"]:row["node_offset"] + row["node_count"]]
        c = conns[row["conn_offset"]:row["conn_offset"] + row["conn_count"]]
        assert n.shape[0] == row["node_count"] and c.shape[0] == row["conn_count"]
        assert (n["kind"] == 0).sum() == 4 and (n["kind"] == 1).sum() == 2
        assert set(c["in"]) | set(c["out"]) <= set(n["id"])
        assert np.isfinite(row["fitness"]) and row["species"] >= -1   # -1: the final one
print("plain h5py ok", len(names))
'''


def test_run_h5_reads_with_plain_h5py_in_a_process_without_ezspark(tmp_path):
    res = invoke("run", small_cartpole(tmp_path), "--out", tmp_path / "r", "-q")
    assert res.exit_code == 0
    script = tmp_path / "check.py"
    script.write_text(PLAIN_H5PY_CHECK)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "r" / "run.h5")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "plain h5py ok 3" in out.stdout


@pytest.mark.slow
def test_killed_writer_never_leaves_an_unreadable_run_h5(tmp_path):
    """SIGKILL at random instants while run.h5 is appended in place (SWMR): it always opens."""
    cfg = small_cartpole(tmp_path, generations=100000, max_number_of_steps=20, saving=1)
    env = dict(os.environ, EZSPARK_DISABLE_PLUGIN_AUTOLOAD="1")
    rng = np.random.default_rng(0)
    for attempt in range(3):
        out = tmp_path / f"k{attempt}"
        proc = subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg), "--out",
                                 str(out), "-q", "--seed", "1"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        rows = 0
        while rows == 0 and time.time() < deadline:      # wait for the first flush
            time.sleep(0.1)
            if (out / "run.h5").exists():
                with h5py.File(out / "run.h5", "r", swmr=True) as f:
                    rows = f["history"].shape[0]
        assert rows > 0
        time.sleep(rng.random() * 3.0)                     # then kill at a random instant
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with h5py.File(out / "run.h5", "r", swmr=True) as f:
            assert f["history"].shape[0] >= rows
            assert f["champions"]["index"].shape[0] >= f["history"].shape[0]


def _default_sigint():
    """A child of a non-interactive shell's background job inherits SIGINT ignored, and
    Python then installs no KeyboardInterrupt handler: restore the default, as a terminal has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_after_saving(tmp_path):
    cfg = small_cartpole(tmp_path, generations=100000, max_number_of_steps=20)
    env = dict(os.environ, EZSPARK_DISABLE_PLUGIN_AUTOLOAD="1")
    # -q: an unread stdout pipe must not fill up and block the run
    proc = subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg), "--out",
                             str(tmp_path / "r"), "--seed", "2", "-q"], env=env, cwd=ROOT,
                            preexec_fn=_default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / "r" / "run.h5").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Interrupted after generation" in stderr
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("champion: ")
    run = ezspark.RunFile.open(tmp_path / "r")
    assert run.history.shape[0] >= 2 and run.generations[-1] == run.history.shape[0] - 1
    assert run.attrs["status"] == "interrupted"
    assert run.attrs["stopped_at"] == run.history.shape[0] - 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_python_swallowed_still_stops_the_run(signum):
    """A KeyboardInterrupt that lands where Python only prints it (a weakref callback, a
    __del__) is raised again when the next generation starts: the run stops, saved."""
    from .helpers import xor_fitness

    def fitness(nets, calls=[]):
        calls.append(1)
        if len(calls) == 2:                      # during generation 1
            try:
                os.kill(os.getpid(), signum)
                time.sleep(1.0)                  # the handler runs here
            except KeyboardInterrupt:
                pass                             # lost, as in a weakref callback
        return xor_fitness(nets)

    cfg = ezspark.TrainingConfig(input_size=2, output_size=1, generations=50)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with interrupts_stop_the_run():
        result = ezspark.train(cfg, fitness=fitness, seed=0)
    assert result.stopped == "interrupted"
    assert [h.generation for h in result.history] == [0, 1]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


class TestPlayOutputs:
    @pytest.fixture(scope="class")
    @classmethod
    def run_dir(cls, tmp_path_factory):
        tmp = tmp_path_factory.mktemp("play")
        assert invoke("run", small_cartpole(tmp), "--out", tmp / "r", "-q").exit_code == 0
        return tmp / "r"

    def test_video_writes_one_file_per_episode_with_the_same_returns(self, run_dir, tmp_path,
                                                                      monkeypatch):
        pytest.importorskip("moviepy")
        monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
        plain = json.loads(invoke("play", run_dir, "-n", "2", "--json").output)
        res = invoke("play", run_dir, "-n", "2", "--json", "--video", tmp_path / "v")
        videos = sorted((tmp_path / "v").glob("*.mp4"))
        assert json.loads(res.output) == {**plain, "videos": [str(v) for v in videos]}
        assert len(videos) == 2 and all(v.stat().st_size > 1000 for v in videos)

    def test_render_with_a_dummy_display(self, run_dir, monkeypatch):
        pytest.importorskip("pygame")
        monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
        plain = json.loads(invoke("play", run_dir, "-n", "1", "--json").output)
        res = invoke("play", run_dir, "-n", "1", "--json", "--render")
        assert json.loads(res.output) == plain

    def test_wrong_env_is_refused_before_recording(self, run_dir, tmp_path):
        res = CliRunner().invoke(cli, ["play", str(run_dir), "--env", "Acrobot-v1",
                                       "--video", str(tmp_path / "v")])
        assert res.exit_code == 2 and "Acrobot-v1" in res.output
        assert not (tmp_path / "v").exists()
