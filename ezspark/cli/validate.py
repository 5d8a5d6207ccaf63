"""``ezspark validate``: check a training JSON, and its environment, as training would."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ezspark.config.training import TrainingConfig
from ezspark.evaluation.envs import inspect_env
from ezspark.cli import options
from ezspark.cli.errors import user_errors


@click.command("validate")
@options.config_file
@click.option("--env/--no-env", "check_env", default=True,
              help="Make the environment and check its spaces against input_size and "
                   "output_size, as training does (default: on).")
def command(config_file: str, check_env: bool) -> None:
    """Check CONFIG.json: every key, every rule between keys, and the environment.

    Exit 0 if it is valid; exit 2 with one line per problem, each naming the key, the value
    and the allowed values.
    """
    path = Path(config_file)  # a Path: from_json reads a str starting with "{" as JSON text
    with user_errors():
        env_note = check(path, check_env)
    n_keys = len(json.loads(path.read_text(encoding="utf-8-sig")))
    click.echo(f"{config_file}: valid ({n_keys} keys; {env_note})")


def check(source: str | Path, check_env: bool = True) -> str:
    """Check a training JSON (a path, or JSON text) as training would; raise the first kind of
    problem found (`ConfigError` lists every bad key), else return a note on the environment."""
    config = TrainingConfig.from_json(source)
    return _check_environment(config, check_env)


def _check_environment(config: TrainingConfig, check_env: bool) -> str:
    if config.gym_game_name is None:
        return "gym_game_name is null, so no environment checked"
    if not check_env:
        return f"environment {config.gym_game_name} not checked: --no-env"
    inspect_env(config.gym_game_name, config.input_size, config.output_size)
    return f"environment {config.gym_game_name} checked"
