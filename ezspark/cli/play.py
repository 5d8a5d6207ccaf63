"""``ezspark play RUN.h5``: run a stored champion in its environment."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click
from gymnasium.wrappers import RecordVideo

import ezspark
from ezspark.evaluation.envs import EnvError, inspect_env, make_env
from ezspark.evaluation.play import episode_returns, play_episodes

from ezspark.cli import options
from ezspark.cli.errors import UserError, user_errors

#: SDL video drivers that draw into a window of the X11 or Wayland display server.
DISPLAY_DRIVERS = {"x11": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",)}


def display_problem(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why ``--render`` cannot open a window here, or None if it can (as far as we can
    tell without opening one).  Only X11/Wayland systems announce their display in
    environment variables; macOS and Windows always have one, so they are never refused."""
    if platform.startswith(("darwin", "win32", "cygwin")):
        return None
    drivers = [d.strip().lower() for d in environ.get("SDL_VIDEODRIVER", "").split(",")
               if d.strip()]
    if any(d not in DISPLAY_DRIVERS for d in drivers):
        return None                     # dummy, offscreen, kmsdrm…: SDL needs no display
    wanted = [v for d in drivers or DISPLAY_DRIVERS for v in DISPLAY_DRIVERS[d]]
    if any(environ.get(v) for v in wanted):
        return None
    return (f"--render needs a display, and there is none ({' and '.join(wanted)} "
            f"{'is' if len(wanted) == 1 else 'are'} not set): record the episodes as MP4 "
            "files with --video DIR instead")


@contextlib.contextmanager
def _quiet_sdl(window: bool):
    """Keep pygame's banner and SDL's probes of sound and display servers (which print
    errors where there are none) off the terminal while playing: the environments make no
    sound, and recording draws off screen.  The user's own settings win."""
    quiet = {"PYGAME_HIDE_SUPPORT_PROMPT": "1", "SDL_AUDIODRIVER": "dummy"}
    if not window:
        quiet["SDL_VIDEODRIVER"] = "dummy"
    added = [name for name in quiet if name not in os.environ]
    os.environ.update({name: quiet[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _open_env(env_id: str, render: bool, video: str | None, prefix: str):
    """The environment to show (``--render``) or record (``--video``) the episodes in."""
    env = make_env(env_id, render_mode="human" if render and not video else "rgb_array")
    if video:
        try:
            env = RecordVideo(env, video, episode_trigger=lambda e: True, name_prefix=prefix)
        except Exception as exc:  # gymnasium raises DependencyNotInstalled
            env.close()
            raise EnvError(f"--video: {exc}") from exc
    return env


@click.command("play")
@click.argument("run_file", metavar="RUN.h5|CHAMPION.json", type=click.Path(dir_okay=True))
@options.generation
@click.option("--episodes", "-n", type=click.IntRange(1), default=1, show_default=True,
              help="Number of episodes.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1 - 10**6), default=0, show_default=True,
              help="Episode e starts with reset(seed=SEED + e).")
@click.option("--max-steps", type=click.IntRange(1), default=None,
              help="Cap each episode at this many steps (default: the environment's limit).")
@click.option("--env", "env_id", default=None, help="Play in this environment instead of the run's.")
@click.option("--render", is_flag=True,
              help="Show the episodes in a window (render_mode human); needs a display.")
@click.option("--video", type=click.Path(file_okay=False), default=None,
              help="Record the episodes as MP4 files into this directory (needs moviepy: "
                   "pip install 'ezspark[video]'); works without a display.")
@options.json_output
def command(run_file, generation, episodes, seed, max_steps, env_id, render, video, as_json):
    """Play a stored champion (from a run, or a JSON written by 'ezspark export'); print
    each episode's return and the mean, and with --video the files written."""
    with user_errors():
        champion = ezspark.load_champion(run_file, generation)
        env_id = env_id or champion.env_id
        if not env_id:
            raise EnvError("this run was trained with a fitness function, not an environment: "
                           "pass --env ENV_ID")
        # before any window or file
        inspect_env(env_id, champion.observation_size, champion.n_outputs)
        if render and not video and (problem := display_problem()):
            raise UserError(problem)
        prefix = f"gen{champion.generation}"
        with _quiet_sdl(window=not video):
            env = _open_env(env_id, render, video, prefix) if render or video else None
            try:
                if env is None:     # nothing to show: the evaluator's batched path
                    returns = episode_returns(champion, env_id, episodes=episodes, seed=seed,
                                              max_steps=max_steps)
                else:
                    returns = play_episodes(champion, env_id, episodes=episodes, seed=seed,
                                            max_steps=max_steps, env=env)
            finally:
                if env is not None:
                    env.close()                 # RecordVideo writes the last file here
    _report(returns, seed, champion.generation, env_id, as_json,
            _videos(video, prefix, episodes) if video else None)


def _videos(directory: str, prefix: str, episodes: int) -> list[str]:
    """The files RecordVideo wrote for this play, one per episode (gymnasium's naming)."""
    paths = (Path(directory) / f"{prefix}-episode-{e}.mp4" for e in range(episodes))
    return [str(p) for p in paths if p.is_file()]


def _report(returns, seed, generation, env_id, as_json, videos) -> None:
    mean = sum(returns) / len(returns)
    if as_json:
        doc = {"returns": returns, "mean": mean}
        if videos is not None:
            doc["videos"] = videos
        click.echo(json.dumps(doc))
        return
    for e, r in enumerate(returns):
        click.echo(f"episode {e} (seed {seed + e}): return {r:.6g}")
    click.echo(f"mean return over {len(returns)} episodes: {mean:.6g} "
               f"(champion of generation {generation}, {env_id})")
    for path in videos or ():
        click.echo(f"video: {path}")
