"""Nothing lost: checkpoints, resume after SIGKILL at random instants, config changes."""
import os
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

from .helpers import assert_same_history_and_champions, write_small_cartpole

ROOT = Path(__file__).resolve().parent.parent


def write_cfg(tmp_path, **kw):
    keys = dict(generations=40, max_number_of_steps=80, max_population=60,
                species_threshold=1.5, add_node_specie_rate=0.2)
    return write_small_cartpole(tmp_path, **{**keys, **kw})


def same_run(a: Path, b: Path):
    ra, rb = assert_same_history_and_champions(a, b)
    assert ra.attrs["seed"] == rb.attrs["seed"]


def plain_h5py_opens(path: Path):
    """Open with h5py in a process that never imports ezspark."""
    code = ("import sys, h5py\n"
            "for p in sys.argv[1:]:\n"
            "    with h5py.File(p, 'r', swmr=True) as f:\n"
            "        list(f.keys()); dict(f.attrs)\n"
            "assert 'ezspark' not in sys.modules\n")
    files = [str(p) for p in (path / "run.h5", path / "checkpoint.h5") if p.exists()]
    out = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def cli_env():
    # gymnasium's CartPole, not the batched one: the killed runs must last long enough to be
    # killed more than once (both give the same results)
    return dict(os.environ, EZSPARK_DISABLE_PLUGIN_AUTOLOAD="1", EZSPARK_NO_BATCHED_ENVS="1")


@pytest.mark.slow
def test_sigkill_at_random_instants_then_resume_gives_the_same_run(tmp_path):
    cfg = write_cfg(tmp_path)
    res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(tmp_path / "ref"), "--seed",
                                   "7", "-q"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "killed"
    rng = np.random.default_rng(1)
    kills, args = 0, ["--seed", "7"]
    for attempt in range(12):
        proc = subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg), "--out",
                                 str(out), "-q", "--checkpoint-every", "0", *args],
                                cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        start = _checkpoint_generation(out)
        deadline = time.time() + 60
        while (_checkpoint_generation(out) <= start and proc.poll() is None
               and time.time() < deadline):
            time.sleep(0.02)                 # wait for progress beyond the last checkpoint
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None and kills < 4:     # then let it finish, however slow the machine
            proc.send_signal(signal.SIGKILL)
            kills += 1
        stdout, stderr = proc.communicate(timeout=120)
        plain_h5py_opens(out)
        if proc.returncode == 0:
            break
        if proc.returncode == 2 and "nothing to resume" in stderr:
            break                 # killed after it had finished and saved: nothing was lost
        assert proc.returncode == -signal.SIGKILL, stderr
        args = ["--resume"]
    else:
        pytest.fail("the run never finished")
    assert kills >= 2, "the test should kill the run more than once"
    same_run(tmp_path / "ref" / "run.h5", out / "run.h5")


def test_ctrl_c_prints_the_resume_command_and_resume_finishes_the_same_run(tmp_path):
    cfg = write_cfg(tmp_path, generations=200, max_number_of_steps=40)
    ref = ezspark.train(cfg, out=tmp_path / "ref", seed=3, generations=60)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg), "--out", str(out),
                             "--seed", "3", "--generations", "60", "-q"], cwd=ROOT,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    while not (out / "run.h5").exists():
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert "--resume" in stderr
    command = stderr.strip().splitlines()[-1].split()
    assert command[:4] == ["python", "-m", "ezspark", "run"]
    res = subprocess.run([sys.executable, *command[1:], "--generations", "60", "-q"], cwd=ROOT,
                         env=cli_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    same_run(ref.path, out / "run.h5")


class TestResumeRules:
    @pytest.fixture
    def interrupted(self, tmp_path):
        """A run stopped after 5 of 12 generations (through the stop callback)."""
        cfg = ezspark.TrainingConfig.from_json(write_cfg(tmp_path, generations=12))
        ezspark.train(cfg, out=tmp_path / "r", seed=5, checkpoint_seconds=0,
                      stop=lambda c: c.generation == 4)
        return cfg, tmp_path / "r"

    def test_a_run_ended_by_stop_continues_when_resumed(self, interrupted):
        cfg, out = interrupted
        resumed = ezspark.train(cfg, out=out, resume=True)
        fresh = ezspark.train(cfg, out=out.parent / "fresh", seed=5)
        assert resumed.stopped == "generations" and len(resumed.history) == 12
        same_run(fresh.path, out / "run.h5")

    def test_changed_config_is_refused_with_the_keys_named(self, tmp_path):
        path = write_cfg(tmp_path, generations=40, max_number_of_steps=30)
        out = tmp_path / "r"
        _crash_after(path, out, generations_done=3)
        res = CliRunner().invoke(cli, ["run", str(write_cfg(tmp_path, generations=50,
                                                            max_number_of_steps=31)),
                                       "--out", str(out), "--resume", "-q"])
        assert res.exit_code == 2
        assert "max_number_of_steps: 30 in the checkpoint, 31 now" in res.output
        assert "generations:" not in res.output          # generations may always change
        assert "--out DIR" in res.output and "--overwrite" in res.output
        res = CliRunner().invoke(cli, ["run", str(write_cfg(tmp_path, generations=50,
                                                            max_number_of_steps=31)),
                                       "--out", str(out), "--resume", "--allow-config-change", "-q"])
        assert res.exit_code == 2 and "cannot change on resume" in res.output

    def test_a_safe_change_without_the_flag_names_the_flag(self, tmp_path):
        path = write_cfg(tmp_path, generations=40, max_number_of_steps=30)
        out = tmp_path / "r"
        _crash_after(path, out, generations_done=2)
        res = CliRunner().invoke(cli, ["run", str(write_cfg(tmp_path, saving=3)), "--out",
                                       str(out), "--resume", "-q"])
        assert res.exit_code == 2
        assert "saving: 1 in the checkpoint, 3 now (accepted with --allow-config-change" \
            in res.output
        assert "allow_changes=True in Python" in res.output

    def test_safe_change_is_accepted_with_the_flag(self, tmp_path):
        path = write_cfg(tmp_path, generations=40, max_number_of_steps=30)
        out = tmp_path / "r"
        _crash_after(path, out, generations_done=3)
        res = CliRunner().invoke(cli, ["run", str(write_cfg(tmp_path, generations=6,
                                                            max_number_of_steps=30)),
                                       "--out", str(out), "--resume", "--allow-config-change", "-q"])
        assert res.exit_code == 0, res.output
        assert ezspark.RunFile.open(out).history.shape == (6,)

    def test_resume_without_a_checkpoint(self, tmp_path):
        res = CliRunner().invoke(cli, ["run", str(write_cfg(tmp_path)), "--out",
                                       str(tmp_path / "none"), "--resume"])
        assert res.exit_code == 2 and "no checkpoint to resume from" in res.output

    def test_checkpoint_from_another_file_type(self, tmp_path):
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "checkpoint.h5").write_text("garbage")
        res = CliRunner().invoke(cli, ["run", str(write_cfg(tmp_path)), "--out",
                                       str(tmp_path / "d"), "--resume"])
        assert res.exit_code == 2 and "not an HDF5 file" in res.output


class TestExtendingAFinishedRun:
    """A finished run resumed with more generations gives the run asked for that many from
    the start: the final generation is reproduced then, as a longer run does at once."""

    def test_six_then_ten_generations_equal_ten_from_the_start(self, tmp_path):
        cfg = write_cfg(tmp_path, generations=6, saving=4)   # gen 5, the final one, is no
        out, ref = tmp_path / "r", tmp_path / "ref"          # saving generation: dropped
        run = ["run", str(cfg), "--seed", "3", "-q"]
        assert CliRunner().invoke(cli, [*run, "--out", str(out)]).exit_code == 0
        assert ezspark.RunFile.open(out).generations == [0, 4, 5]
        res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out), "--resume",
                                       "--generations", "10", "-q"])
        assert res.exit_code == 0, res.output
        assert CliRunner().invoke(cli, [*run, "--out", str(ref), "--generations", "10"]
                                  ).exit_code == 0
        same_run(ref / "run.h5", out / "run.h5")
        assert ezspark.RunFile.open(out).generations == [0, 4, 8, 9]
        assert ezspark.RunFile.open(out).config.generations == 10
        assert ezspark.load_champion(out).genome == ezspark.load_champion(ref).genome

    def test_asking_for_no_more_generations_names_the_flag(self, tmp_path):
        cfg = write_cfg(tmp_path, generations=3)
        out = tmp_path / "r"
        assert CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out), "-q"]).exit_code == 0
        for more in ([], ["--generations", "3"], ["--generations", "2"]):
            res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(out), "--resume",
                                           "-q", *more])
            assert res.exit_code == 2, res.output
            assert "nothing to resume: the run has evaluated 3 generations" in res.output
            assert "--generations N" in res.output and "larger than 3" in res.output

    def test_stopped_by_fitness_threshold_continues_with_a_higher_one(self, tmp_path):
        base = ezspark.TrainingConfig.from_json(write_cfg(tmp_path, generations=8,
                                                          max_number_of_steps=200))
        ref = ezspark.train(base, out=tmp_path / "ref", seed=3)
        best = [h.best_fitness for h in ref.history]
        t = next((k for k in range(1, 8) if best[k] > max(best[:k])), None)
        assert t is not None, "the reference run should improve after generation 0"
        stopped = attrs.evolve(base, fitness_threshold=best[t])
        out = tmp_path / "r"
        first = ezspark.train(stopped, out=out, seed=3)
        assert first.stopped == "fitness_threshold" and len(first.history) == t + 1
        with pytest.raises(ezspark.ConfigError, match="raise fitness_threshold.*"
                           "--allow-config-change"):
            ezspark.train(stopped, out=out, resume=True, generations=8)
        with pytest.raises(ezspark.ConfigError, match="--allow-config-change"):
            ezspark.train(base, out=out, resume=True)            # threshold: a flagged change
        resumed = ezspark.train(base, out=out, resume=True, allow_changes=True)
        assert resumed.stopped == "generations"
        same_run(ref.path, out / "run.h5")

    def test_a_finished_checkpoint_of_an_older_version_is_refused_clearly(self, tmp_path):
        cfg = ezspark.TrainingConfig.from_json(write_cfg(tmp_path, generations=2))
        ezspark.train(cfg, out=tmp_path / "r", seed=1)
        with h5py.File(tmp_path / "r" / "checkpoint.h5", "a") as f:
            del f["last_fitness"]                  # as written before runs could be extended
        with pytest.raises(ezspark.ConfigError, match="start a new run with --generations N"):
            ezspark.train(cfg, out=tmp_path / "r", resume=True, generations=4)


def _checkpoint_generation(out) -> int:
    try:
        with h5py.File(out / "checkpoint.h5", "r") as f:
            return int(f.attrs["next_generation"])
    except (OSError, KeyError):
        return -1


def _crash_after(cfg_path, out, generations_done):
    """Run until a checkpoint after ``generations_done`` generations exists, then kill."""
    proc = subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg_path), "--out",
                             str(out), "-q", "--seed", "2", "--checkpoint-every", "0"],
                            cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        ck = out / "checkpoint.h5"
        if ck.exists():
            try:
                with h5py.File(ck, "r") as f:
                    if int(f.attrs["next_generation"]) >= generations_done:
                        break
            except OSError:
                pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_resume_upgrades_a_run_file_from_before_the_distributed_columns(tmp_path):
    """run.h5 files written before checks/mismatches/excluded existed still read, and a
    resumed run rewrites their history with the new columns (zeros for old rows)."""
    cfg = attrs.evolve(ezspark.TrainingConfig.from_json(
        Path(__file__).resolve().parent.parent / "examples" / "cartpole.json"), generations=5,
        fitness_threshold=None)
    out = tmp_path / "run"

    def interrupt(champion):
        if champion.generation == 2:
            raise KeyboardInterrupt

    ezspark.train(cfg, out=out, seed=5, stop=interrupt, checkpoint_seconds=0)
    with h5py.File(out / "run.h5", "a") as f:
        rows = f["history"][()]
        old = np.dtype([(n, rows.dtype[n]) for n in rows.dtype.names[:9]])
        legacy = np.zeros(rows.shape[0], dtype=old)
        for n in old.names:
            legacy[n] = rows[n]
        del f["history"]
        f.create_dataset("history", data=legacy, maxshape=(None,), chunks=True)
    assert [h.checks for h in ezspark.RunFile.open(out / "run.h5").history_rows()] == [0, 0]
    resumed = ezspark.train(cfg, out=out, seed=5, resume=True)
    fresh = ezspark.train(cfg, seed=5)
    stored = ezspark.RunFile.open(out / "run.h5")
    assert stored.history.dtype.names[-3:] == ("checks", "mismatches", "excluded")
    assert [attrs.evolve(h, seconds=0) for h in stored.history_rows()] == \
        [attrs.evolve(h, seconds=0) for h in fresh.history]
    assert len(resumed.history) == 5


def test_a_checkpoint_from_before_the_trust_records_reads_as_none(tmp_path):
    """checkpoint.h5 written before /trust existed: no verification records, and the run
    resumes (a served run then checks its returning workers as new ones)."""
    from ezspark.store.checkpoint import load_checkpoint

    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 generations=4, initial_population=10,
                                 max_number_of_games=1, max_number_of_steps=40)
    out = tmp_path / "run"
    ezspark.train(cfg, seed=2, out=out, stop=lambda champion: champion.generation == 1)
    assert load_checkpoint(out / "checkpoint.h5").trust == ()
    with h5py.File(out / "checkpoint.h5", "a") as f:
        assert "trust" in f
        del f["trust"]
    assert load_checkpoint(out / "checkpoint.h5").trust == ()
    resumed = ezspark.train(cfg, out=out, resume=True)
    assert resumed.history[-1].generation == 3
