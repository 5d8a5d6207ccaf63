"""``ezspark play RUN.h5``: run a stored champion in its environment."""
from __future__ import annotations

import json

import click
from gymnasium.wrappers import RecordVideo

import ezspark
from ezspark.evaluation.envs import EnvError, inspect_env, make_env
from ezspark.evaluation.play import play_episodes

from ezspark.cli import options
from ezspark.cli.errors import user_errors


@click.command("play")
@options.run_file
@options.generation
@click.option("--episodes", "-n", type=click.IntRange(1), default=1, show_default=True,
              help="Number of episodes.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1 - 10**6), default=0, show_default=True,
              help="Episode e starts with reset(seed=SEED + e).")
@click.option("--max-steps", type=click.IntRange(1), default=None,
              help="Cap each episode at this many steps (default: the environment's limit).")
@click.option("--env", "env_id", default=None, help="Play in this environment instead of the run's.")
@click.option("--render", is_flag=True, help="Show the episodes in a window (render_mode human).")
@click.option("--video", type=click.Path(file_okay=False), default=None,
              help="Record the episodes as MP4 files into this directory (needs moviepy).")
@options.json_output
def command(run_file, generation, episodes, seed, max_steps, env_id, render, video, as_json):
    """Play a stored champion; print each episode's return and the mean."""
    with user_errors():
        champion = ezspark.load_champion(run_file, generation)
        env_id = env_id or champion.env_id
        if not env_id:
            raise EnvError("this run was trained with a fitness function, not an environment: "
                           "pass --env ENV_ID")
        inspect_env(env_id, champion.n_inputs, champion.n_outputs)   # before any window or file
        env = None
        if render or video:
            env = make_env(env_id, render_mode="human" if render and not video else "rgb_array")
            if video:
                try:
                    env = RecordVideo(env, video, episode_trigger=lambda e: True,
                                      name_prefix=f"gen{champion.generation}")
                except Exception as exc:  # gymnasium raises DependencyNotInstalled
                    env.close()
                    raise EnvError(f"--video: {exc}") from exc
        try:
            returns = play_episodes(champion, env_id, episodes=episodes, seed=seed,
                                    max_steps=max_steps, env=env)
        finally:
            if env is not None:
                env.close()
    mean = sum(returns) / len(returns)
    if as_json:
        click.echo(json.dumps({"returns": returns, "mean": mean}))
        return
    for e, r in enumerate(returns):
        click.echo(f"episode {e} (seed {seed + e}): return {r:.6g}")
    click.echo(f"mean return over {len(returns)} episodes: {mean:.6g} "
               f"(champion of generation {champion.generation}, {env_id})")
