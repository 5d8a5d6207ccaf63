"""What ``python -m ezspark run`` leaves on a real terminal: a pseudo-terminal (pexpect)
whose output is replayed on a 120x40 screen (pyte).  The progress bar is drawn, then gives
way to the summary lines; nothing of it is left on the screen."""
import json
import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

ROOT = Path(__file__).resolve().parent.parent
COLUMNS, LINES = 160, 40     # wide enough for the last line with pytest's long tmp paths
SUMMARY = re.compile(r"^gen +\d+  best ")
BAR_PIECES = ("genomes", "━", "gen 0 ", "gen 1 ")


def _config(tmp_path, **overrides) -> Path:
    keys = json.loads((ROOT / "examples" / "cartpole.json").read_text())
    keys.update(initial_population=60, max_number_of_games=2, max_number_of_steps=200,
                fitness_threshold=None, **overrides)
    path = tmp_path / "small-cartpole.json"
    path.write_text(json.dumps(keys))
    return path


def _env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM")}
    return {**env, "TERM": "xterm"}


def _spawn(tmp_path, *args, command=None):
    argv = [sys.executable, "-m", "ezspark", "run", *map(str, args)]
    program, rest = ("/bin/sh", ["-c", command]) if command else (argv[0], argv[1:])
    return pexpect.spawn(program, rest, cwd=tmp_path, env=_env(), dimensions=(LINES, COLUMNS),
                         timeout=120)


def _finish(child) -> bytes:
    data = child.read()
    child.close()
    return data


def _screen(data: bytes) -> list[str]:
    screen = pyte.Screen(COLUMNS, LINES)
    pyte.ByteStream(screen).feed(data)
    return [line.rstrip() for line in screen.display if line.strip()]


def _assert_clean(lines: list[str]) -> None:
    for line in lines:
        assert not any(piece in line for piece in BAR_PIECES), lines
        if "best" in line:
            assert SUMMARY.match(line), lines


def test_summary_lines_replace_the_bar(tmp_path):
    config = _config(tmp_path, generations=4)
    data = _finish(_spawn(tmp_path, config, "--out", tmp_path / "r", "--seed", "0"))
    assert b"genomes" in data and b"0/60" in data        # the bar was drawn
    lines = _screen(data)
    _assert_clean(lines)
    assert [int(line.split()[1]) for line in lines if SUMMARY.match(line)] == [0, 1, 2, 3]
    assert lines[-1].startswith("champion: ")
    # the cursor the bar hid is shown again
    assert data.rfind(b"\x1b[?25h") > data.rfind(b"\x1b[?25l")


def test_ctrl_c_erases_the_bar(tmp_path):
    config = _config(tmp_path, generations=10_000)
    child = _spawn(tmp_path, config, "--out", tmp_path / "r", "--seed", "0")
    seen = child.expect(rb"gen +2  best ")
    child.sendintr()
    data = child.before + child.after + _finish(child)
    assert seen == 0 and child.exitstatus == 130
    lines = _screen(data)
    _assert_clean([line.removeprefix("^C") for line in lines])
    assert any(line.removeprefix("^C").startswith("Interrupted after generation")
               for line in lines), lines
    assert data.rfind(b"\x1b[?25h") > data.rfind(b"\x1b[?25l")


@pytest.mark.parametrize("how", ["quiet", "stderr to a file"])
def test_no_bar_without_a_terminal_or_when_quiet(tmp_path, how):
    config = _config(tmp_path, generations=2)
    if how == "quiet":
        child = _spawn(tmp_path, config, "--out", tmp_path / "r", "-q")
    else:
        child = _spawn(tmp_path, command=f"{sys.executable} -m ezspark run {config} "
                                         f"--out {tmp_path / 'r'} 2>{tmp_path / 'err.txt'}")
    data = _finish(child)
    assert child.exitstatus == 0, data
    assert b"genomes" not in data and b"\x1b[?25l" not in data
    if how != "quiet":
        assert "genomes" not in (tmp_path / "err.txt").read_text()
        assert sum(bool(SUMMARY.match(line)) for line in _screen(data)) == 2
    assert _screen(data)[-1].startswith("champion: ")
