"""The README works when pasted, block after block, on a fresh machine.

A scratch directory stands in for the fresh checkout (a copy of ``examples/``, nothing
else); the README's shell commands and Python blocks run there in the README's order, as
real subprocesses, so the Python quickstart runs after the command-line one, as a reader
would run it.  The install commands are not run: the tests run in the environment they make.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from .markdown_commands import ROOT, check_parses, fenced_blocks, shell_commands, why_not_run

README = ROOT / "README.md"
SETUP_DONE = ("python3 -m venv", ". .venv/bin/activate", "pip install")
TEST_SUITE = "python -m pytest"      # this very suite: running it here would recurse


def _section(title: str):
    """The README's fenced blocks under the ``## title`` heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end)
    return [b for b in fenced_blocks(README) if first <= b.line <= last]


def _program(words) -> list[str]:
    """The argv that runs ``words`` as the README's reader would, in this environment."""
    if words[0] == "ezspark":
        script = Path(sys.executable).with_name("ezspark")     # the console script, if any
        head = [str(script)] if script.exists() else [sys.executable, "-m", "ezspark"]
        return head + list(words[1:])
    assert words[0] == "python", words
    return [sys.executable, *words[1:]]


def test_setup_is_a_venv_then_two_single_commands():
    blocks = _section("Set-up")
    assert [b.lang for b in blocks] == ["sh", "sh", "sh"]
    venv, train, tests = (b.body.strip() for b in blocks)
    assert venv == "python3 -m venv .venv && . .venv/bin/activate"
    assert "\n" not in train and "\n" not in tests
    assert re.fullmatch(r'pip install -e "\.\[dev\]" && python -m ezspark run \S+\.json', train)
    assert tests == 'pip install -e ".[dev]" && python -m pytest'
    ci_commands = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_commands, ".ci/run must run the README's test command"


def test_every_ezspark_command_of_the_readme_parses():
    commands = [c for b in fenced_blocks(README) for c in shell_commands(b) if c.ezspark_args]
    assert {c.ezspark_args[0] for c in commands} >= {"run", "inspect", "play", "plot",
                                                      "export", "join", "invite"}
    for command in commands:
        check_parses(command.ezspark_args)


@pytest.mark.slow
def test_readme_pasted_block_after_block(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    ran = []
    for block in fenced_blocks(README):
        if block.lang == "python":
            _run([sys.executable, "-c", block.body], tmp_path, f"README.md:{block.line}")
            ran.append("python")
        for command in shell_commands(block):
            text = " ".join(command.words)
            args = command.ezspark_args
            if text.startswith(SETUP_DONE) or text.startswith(TEST_SUITE):
                continue
            assert args is not None, f"{command}: a README command the test does not know"
            if why_not_run(args):
                check_parses(args)
                continue
            _run(_program(command.words), tmp_path, str(command))
            ran.append(args[0])
    assert ran.count("python") == 2 and {"run", "inspect", "play", "plot", "export"} <= set(ran)
    for run in ("runs/cartpole", "runs/cartpole-python"):
        with h5py.File(tmp_path / run / "run.h5", "r", swmr=True) as f:
            assert f["champions"]["index"].shape[0] >= 1
    assert (tmp_path / "cartpole.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "champion.json").read_text())["format"] == "ezspark-network"
    assert json.loads((tmp_path / "my.json").read_text())["gym_game_name"]


def _run(argv, cwd, where):
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"{where} failed ({out.returncode}):\n{out.stdout}{out.stderr}"
