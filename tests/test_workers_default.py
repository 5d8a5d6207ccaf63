"""``ezspark run`` evaluates on every core by default (issue 17 item 6): ``--workers``
defaults to the cores this process may use (affinity, cgroup quota); the Python API keeps
``workers=1``.  That results do not depend on the number of workers is tested in
tests/test_parallel.py."""
from __future__ import annotations

import inspect
import os

import pytest
from click.testing import CliRunner

import ezspark
from ezspark.evaluation import processes
from ezspark.evaluation.processes import _cgroup_quota, available_cores


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota(tmp_path):
    member = tmp_path / "self"
    write(member, "0::/job/42\n")
    assert _cgroup_quota(tmp_path / "cg", member) is None            # no cpu.max at all
    write(tmp_path / "cg" / "cpu.max", "max 100000\n")
    assert _cgroup_quota(tmp_path / "cg", member) is None            # no limit
    write(tmp_path / "cg" / "job" / "42" / "cpu.max", "150000 100000\n")
    assert _cgroup_quota(tmp_path / "cg", member) == 1.5             # its own cgroup first


def test_cgroup_v1_quota(tmp_path):
    member = tmp_path / "self"
    write(member, "5:memory:/x\n4:cpu,cpuacct:/docker/abc\n")
    base = tmp_path / "cg" / "cpu,cpuacct" / "docker" / "abc"
    write(base / "cpu.cfs_quota_us", "-1\n")
    write(base / "cpu.cfs_period_us", "100000\n")
    assert _cgroup_quota(tmp_path / "cg", member) is None
    write(base / "cpu.cfs_quota_us", "300000\n")
    assert _cgroup_quota(tmp_path / "cg", member) == 3.0


def test_available_cores_follows_affinity_and_quota(monkeypatch):
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(processes, "_cgroup_quota", lambda: None)
    assert available_cores() == 3
    monkeypatch.setattr(processes, "_cgroup_quota", lambda: 1.5)
    assert available_cores() == 2
    monkeypatch.setattr(processes, "_cgroup_quota", lambda: 0.25)
    assert available_cores() == 1
    monkeypatch.setattr(os, "process_cpu_count", lambda: 4, raising=False)
    monkeypatch.setattr(processes, "_cgroup_quota", lambda: 16.0)
    assert available_cores() == 4


@pytest.mark.parametrize("args,expected", [([], None), (["--workers", "3"], 3), (["-j", "1"], 1)])
def test_run_uses_every_core_unless_told(tmp_path, monkeypatch, args, expected):
    from ezspark.cli import run

    seen = {}

    def train(cfg, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "available_cores", lambda: 7)
    monkeypatch.setattr(ezspark, "train", train)
    config = tmp_path / "c.json"
    config.write_text(ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4,
                                             output_size=2).to_json())
    out = CliRunner().invoke(run.command, [str(config), "--out", str(tmp_path / "r"), *args])
    assert out.exit_code == 130, out.output
    assert seen["workers"] == (7 if expected is None else expected)


def test_the_python_api_keeps_one_worker():
    assert inspect.signature(ezspark.train).parameters["workers"].default == 1


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="Linux only")
def test_workers_die_with_a_run_killed_by_sigkill():
    """``run`` on every core starts worker processes; SIGKILL of the run cannot shut them
    down, so they are set to die with it (else they wait forever, holding its pipes)."""
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import os, sys, time\n"
        "from ezspark.evaluation.envs import inspect_env\n"
        "from ezspark.evaluation.processes import ProcessEvaluator\n"
        "ev = ProcessEvaluator(inspect_env('CartPole-v1', 4, 2), 2, games=1, max_steps=5,\n"
        "                      sub_games=1, minimum_reward=0.0)\n"
        "print(' '.join(str(p) for p in ev._pool._processes), flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script.replace(
        "print(", "ev._pool.submit(int).result()\nprint(")], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline:
        alive = [p for p in pids if os.path.exists(f"/proc/{p}")
                 and "Z" not in open(f"/proc/{p}/stat").read().split()[2]]
        if not alive:
            break
        time.sleep(0.05)
    assert not alive
    assert proc.stdout.read() == ""                     # the pipe closed: EOF, no hang
