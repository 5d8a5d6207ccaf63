"""Live reading of run.h5 (issue 14 item 4): ``inspect --follow`` prints each generation as
a run in another process writes it and stops with the run's end; ``plot`` reads a run that
is being written."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FORMAT1 = Path(__file__).resolve().parent / "data" / "format1_run"


def kill_all(*procs):
    """Stop what a failed test left running."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

def cli_env():
    # gymnasium's CartPole, not the batched one: the runs must last while they are followed
    return dict(os.environ, EZSPARK_DISABLE_PLUGIN_AUTOLOAD="1", EZSPARK_NO_BATCHED_ENVS="1")


def cartpole(tmp_path, generations):
    """A small CartPole config: a few milliseconds a generation."""
    keys = ezspark.TrainingConfig.docs_example().to_dict()
    keys.update(gym_game_name="CartPole-v1", generations=generations, max_number_of_steps=100,
                initial_population=30, max_number_of_games=2, max_population=60, saving=1)
    path = tmp_path / "cartpole.json"
    path.write_text(json.dumps(keys))
    return path


def ezspark_process(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "ezspark", *map(str, args)], cwd=ROOT,
                            env=cli_env(), text=True, **kw)


def wait_for_rows(path, rows, proc, timeout=60):
    """Wait until a reader sees ``rows`` history rows in ``path``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the run ended too early"
        try:
            with h5py.File(path, "r", swmr=True, locking=False) as f:
                if f["history"].shape[0] >= rows:
                    return
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} never had {rows} rows")


def generation_numbers(lines):
    return [int(line.split()[1]) for line in lines if line.startswith("gen ")]


def test_follow_prints_each_generation_as_the_run_writes_it_and_stops_at_its_end(tmp_path):
    """A run writes run.h5 (flushed before each checkpoint, every second); a follower started
    once it has rows prints them, then the new ones while the run goes on, in order, each
    once, and ends with the run's end line.  ``plot`` of the running run works meanwhile, and
    neither reader keeps the run from recording its end."""
    out = tmp_path / "r"
    run = ezspark_process("run", cartpole(tmp_path, 200), "--out", out, "-q", "--seed", "4",
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    follow = None
    try:
        wait_for_rows(out / "run.h5", 3, run)
        follow = ezspark_process("inspect", out, "--follow", stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        lines, while_running = [], 0
        for line in follow.stdout:
            lines.append(line.rstrip("\n"))
            while_running += run.poll() is None
            if len(lines) == 5:         # the run is still writing: plot what is there
                plotted = subprocess.run([sys.executable, "-m", "ezspark", "plot", str(out),
                                          "-o", str(tmp_path / "live.png")], cwd=ROOT,
                                         env=cli_env(), capture_output=True, text=True)
                assert plotted.returncode == 0, plotted.stderr
                assert run.poll() is None, "the run ended before plot read it"
        assert follow.wait(timeout=60) == 0, follow.stderr.read()
        assert run.wait(timeout=60) == 0, run.stderr.read()
    finally:
        kill_all(run, follow)
    assert generation_numbers(lines) == list(range(200))          # in order, each once
    assert lines[-1] == "ended:        finished: all 200 generations evaluated"
    assert len(lines) == 201
    assert while_running > 50, while_running          # printed as written, not at the end
    assert "Ctrl-C stops following" in follow.stderr.read()
    assert (tmp_path / "live.png").stat().st_size > 1000
    history = ezspark.RunFile.open(out).history
    assert lines[0].split()[3] == f"{history['best_fitness'][0]:.4g}"


def test_follow_of_a_finished_run_prints_every_generation_and_exits(tmp_path):
    result = ezspark.train(ezspark.TrainingConfig.from_json(cartpole(tmp_path, 12)), seed=3,
                           out=tmp_path / "done")
    res = CliRunner().invoke(cli, ["inspect", str(tmp_path / "done"), "--follow"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert generation_numbers(lines) == list(range(12)) and len(lines) == 13
    assert lines[-1] == "ended:        finished: all 12 generations evaluated"
    assert result.history[5].generation == 5
    assert f"pop {result.history[5].population:>6}" in lines[5]


def test_follow_of_a_format1_file_prints_it_and_exits():
    res = CliRunner().invoke(cli, ["inspect", str(FORMAT1), "-f"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert generation_numbers(lines) == [0, 1, 2]
    assert lines[-1] == "ended:        stopped at generation 2 by the stop function of ezspark.train"


@pytest.mark.parametrize("args, fragment", [(["--json"], "leave out --json"),
                                            ([], "not an exported champion JSON")])
def test_follow_refuses_json(tmp_path, args, fragment):
    champion = tmp_path / "c.json"
    res = CliRunner().invoke(cli, ["export", str(FORMAT1), "-o", str(champion)])
    assert res.exit_code == 0, res.output
    target = FORMAT1 if args else champion
    res = CliRunner().invoke(cli, ["inspect", str(target), "--follow", *args])
    assert res.exit_code == 2 and fragment in res.output, res.output


def test_ctrl_c_stops_following_a_killed_run_with_one_line(tmp_path):
    """A run killed mid-way never records its end: the follower prints what is there and
    waits; Ctrl-C ends it with exit code 130 and one line, and leaves the file alone."""
    out = tmp_path / "k"
    run = ezspark_process("run", cartpole(tmp_path, 100000), "--out", out, "-q",
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_rows(out / "run.h5", 3, run)
    finally:
        run.kill()
        run.wait()
    rows = ezspark.RunFile.open(out).history.shape[0]
    follow = ezspark_process("inspect", out, "--follow", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    lines = [follow.stdout.readline() for _ in range(rows)]
    time.sleep(1.5)                                     # three polls: nothing new
    assert follow.poll() is None
    follow.send_signal(signal.SIGINT)
    stdout, stderr = follow.communicate(timeout=30)
    assert follow.returncode == 130
    assert generation_numbers(lines) == list(range(rows)) and stdout == ""
    assert stderr.splitlines()[-1] == (f"Stopped following {out / 'run.h5'} after generation "
                                       f"{rows - 1}; the run is not affected.")
    assert len(stderr.splitlines()) == 2 and "Traceback" not in stderr


def test_a_plain_h5py_reader_holding_the_file_does_not_fail_the_end_of_the_run(tmp_path):
    """The documented recipe, h5py.File(path, "r", swmr=True), kept open (with HDF5's file
    lock) while the run ends: the run still records its end and exits 0."""
    out = tmp_path / "h"
    run = ezspark_process("run", cartpole(tmp_path, 200), "--out", out, "-q", "--seed", "5",
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_rows(out / "run.h5", 1, run)
        with h5py.File(out / "run.h5", "r", swmr=True) as held:
            assert run.poll() is None, "the run ended before the reader opened the file"
            assert run.wait(timeout=60) == 0, run.stderr.read()
            held["history"].refresh()
            assert held["history"].shape[0] == 200
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert ezspark.RunFile.open(out).attrs["status"] == "generations"


def killed_with_rows_after_its_checkpoint(run, out, timeout=60):
    """Kill ``run`` once run.h5 holds rows after the checkpoint's generation (a timed
    flush between two checkpoints); the checkpoint's next generation."""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            try:
                with h5py.File(out / "checkpoint.h5", "r") as f:
                    resume_at = int(f.attrs["next_generation"])
                with h5py.File(out / "run.h5", "r", swmr=True, locking=False) as f:
                    if f["history"].shape[0] > resume_at:
                        return resume_at
            except (OSError, KeyError):
                pass
            time.sleep(0.02)
        raise AssertionError("run.h5 never got ahead of checkpoint.h5")
    finally:
        run.kill()
        run.wait()


@pytest.mark.slow      # about 10 s: the kill waits for a timed flush between two checkpoints
def test_follow_goes_on_across_a_kill_and_resume_printing_each_generation_once(tmp_path):
    """The follower waits on a killed run; the resume trims run.h5 back to its checkpoint,
    renames the new file over it and computes the trimmed generations again: the follower
    reads the new file and prints each generation once, then the end."""
    cfg, out = cartpole(tmp_path, 100000), tmp_path / "kr"
    run = ezspark_process("run", cfg, "--out", out, "-q", "--seed", "6",
                          "--checkpoint-every", "2.5", stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    resume_at = killed_with_rows_after_its_checkpoint(run, out)
    rows = ezspark.RunFile.open(out).history.shape[0]
    assert rows > resume_at
    total = rows + 40
    follow = ezspark_process("inspect", out, "--follow", stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    run = None
    try:
        lines = [follow.stdout.readline().rstrip("\n") for _ in range(rows)]
        run = ezspark_process("run", cfg, "--out", out, "-q", "--resume", "--generations",
                              total, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        lines += follow.stdout.read().splitlines()
        assert follow.wait(timeout=60) == 0
        assert run.wait(timeout=60) == 0, run.stderr.read()
    finally:
        kill_all(run, follow)
    assert generation_numbers(lines) == list(range(total))
    assert lines[-1] == f"ended:        finished: all {total} generations evaluated"


READER = """
import sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    print("open", flush=True)
    sys.stdin.readline()
    f["history"].refresh()
    print(f["history"].shape[0], flush=True)
"""


def test_a_reader_that_opens_run_h5_the_instant_it_appears_does_not_fail_the_run(
        tmp_path, monkeypatch):
    """run.h5 appears by a rename; a reader in another process (ezspark follow, a notebook)
    may open it at once and hold HDF5's file lock.  The writer opened it before the rename,
    so the run goes on (before, its own open came after the rename, and such a reader
    failed the run)."""
    from ezspark.store import runfile

    readers = []
    rename = runfile.atomic_replace

    def rename_then_read(tmp, final):
        rename(tmp, final)
        if final.name == "run.h5":
            reader = subprocess.Popen([sys.executable, "-c", READER, str(final)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            readers.append(reader)
            assert reader.stdout.readline() == "open\n", reader.stderr.read()

    monkeypatch.setattr(runfile, "atomic_replace", rename_then_read)
    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 generations=3, initial_population=10,
                                 max_number_of_games=1, max_number_of_steps=30)
    try:
        result = ezspark.train(cfg, seed=1, out=tmp_path / "r")
        assert len(readers) == 1 and len(result.history) == 3
        out, err = readers[0].communicate("go\n", timeout=60)
        assert out.strip() == "3", err
    finally:
        for reader in readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
    assert ezspark.RunFile.open(tmp_path / "r").attrs["status"] == "generations"
