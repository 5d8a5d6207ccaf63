"""``ezspark play``: ``--render`` without a display, and the files ``--video`` writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ezspark.cli.play import display_problem

NO_DISPLAY_PLATFORM = sys.platform.startswith(("darwin", "win32", "cygwin"))


def play(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ezspark", "play", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env)


def without_display() -> dict:
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
    return {k: v for k, v in os.environ.items() if k not in hidden}


@pytest.mark.skipif(NO_DISPLAY_PLATFORM, reason="macOS and Windows always have a display")
def test_render_without_a_display_exits_2_with_one_line(cartpole_run):
    p = play(cartpole_run, "--render", env=without_display())
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr                 # no SDL or pygame noise either
    assert lines[0].startswith("Error: --render needs a display") and "--video DIR" in lines[0]


@pytest.mark.parametrize("environ, platform, missing", [
    ({}, "linux", "DISPLAY and WAYLAND_DISPLAY are not set"),
    ({"DISPLAY": ":0"}, "linux", None),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", None),
    ({"SDL_VIDEODRIVER": "dummy"}, "linux", None),
    ({"SDL_VIDEODRIVER": "x11", "WAYLAND_DISPLAY": "wayland-0"}, "linux", "DISPLAY is not set"),
    ({"SDL_VIDEODRIVER": "wayland,x11", "DISPLAY": ":1"}, "linux", None),
    ({"DISPLAY": ""}, "freebsd14", "DISPLAY and WAYLAND_DISPLAY are not set"),
    ({}, "darwin", None),
    ({}, "win32", None),
])
def test_which_environments_have_a_display(environ, platform, missing):
    problem = display_problem(environ, platform)
    if missing is None:
        assert problem is None
    else:
        assert missing in problem and "--video DIR" in problem


def test_video_lists_the_files_it_wrote(cartpole_run, tmp_path):
    pytest.importorskip("moviepy")                   # the "video" extra
    plain = play(cartpole_run, "-n", "2", "--seed", "3")
    recorded = play(cartpole_run, "-n", "2", "--seed", "3", "--video", tmp_path / "v",
                    env=without_display())            # recording needs no display
    assert plain.returncode == 0 and recorded.returncode == 0, recorded.stderr
    lines = recorded.stdout.splitlines()
    listed = [Path(line.removeprefix("video: ")) for line in lines if line.startswith("video: ")]
    assert lines[:len(lines) - len(listed)] == plain.stdout.splitlines()   # same returns
    assert sorted(listed) == sorted((tmp_path / "v").glob("*.mp4")) and len(listed) == 2
    assert all(p.is_file() and p.stat().st_size > 1000 for p in listed)
    assert recorded.stderr == ""                     # no SDL, pygame or moviepy noise

    as_json = play(cartpole_run, "-n", "2", "--seed", "3", "--video", tmp_path / "w", "--json",
                   env=without_display())
    doc = json.loads(as_json.stdout)
    assert [Path(v) for v in doc["videos"]] == sorted((tmp_path / "w").glob("*.mp4"))


def test_play_without_render_takes_the_batched_path_with_play_episodes_returns(
        cartpole_run, monkeypatch):
    """Without --render/--video, ``play`` plays through the evaluator (``episode_returns``:
    batched CartPole) and prints the returns ``play_episodes`` gives (issue 17 item 5)."""
    from click.testing import CliRunner

    import ezspark
    from ezspark.cli import play as play_cli
    from ezspark.evaluation.play import play_episodes
    from ezspark.evaluation.local import EnvEvaluator

    champion = ezspark.load_champion(cartpole_run, "best")
    want = play_episodes(champion, episodes=7, seed=123, max_steps=40)
    loops = []
    real = EnvEvaluator._batched

    def batched(self, rows):
        env = real(self, rows)
        loops.append(type(env).__name__)
        return env

    monkeypatch.setattr(EnvEvaluator, "_batched", batched)
    monkeypatch.setattr(play_cli, "play_episodes", None)      # not called without --render
    out = CliRunner().invoke(play_cli.command, [str(cartpole_run), "--episodes", "7", "--seed",
                                                "123", "--max-steps", "40", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["returns"] == want
    assert loops == ["CartPole"]
