"""The ``ezspark`` command line: a thin layer over the Python API.

Every command turns its options into API calls; no algorithm lives here.  User mistakes
(bad config, missing or foreign files, unknown environments) end with one ``Error:`` line
per problem and exit code 2; failures outside the user's input exit 1; bugs keep their
traceback.
"""
from __future__ import annotations

import contextlib
import sys

import click

from ezspark.config.training import ConfigError
from ezspark.evaluation.envs import EnvError
from ezspark.evaluation.contract import EvaluationError
from ezspark.store.runfile import StoreError
from ezspark.distributed import CredentialsError, DistributedError, JoinError

__all__ = ["cli", "main", "user_errors", "UserError"]

#: Exceptions that mean "the user's input is wrong": exit code 2.
USER_ERRORS = (ConfigError, EnvError, StoreError, EvaluationError, CredentialsError,
               DistributedError, JoinError)


class UserError(click.ClickException):
    """One or more lines of explanation, exit code 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)

    def show(self, file=None):
        file = file or sys.stderr
        for line in str(self.message).splitlines() or [""]:
            click.echo(f"Error: {line}", file=file)


@contextlib.contextmanager
def user_errors(prefix: str = ""):
    """Turn ezspark's user-mistake exceptions into a clean exit with code 2."""
    try:
        yield
    except USER_ERRORS as exc:
        text = str(exc)
        if prefix:
            text = "\n".join(f"{prefix}{line}" for line in text.splitlines())
        raise UserError(text) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ezspark", prog_name="ezspark")
def cli():
    """Evolve neural networks for gymnasium environments with NEAT, from EzSpark training
    JSON files."""


def _add_commands():
    from ezspark.cli import export, init, inspect, join, play, plot, plugins, run, validate

    for module in (run, validate, init, inspect, play, plot, export):
        cli.add_command(module.command)
    cli.add_command(join.join_command)
    cli.add_command(join.invite_command)
    cli.add_command(plugins.envs_command)
    cli.add_command(plugins.plugins_command)


_add_commands()


def _show_plugin_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {message}", err=True)


def main(argv=None):
    """Entry point of ``ezspark`` and ``python -m ezspark``."""
    import warnings

    from ezspark.plugins.manager import PluginWarning, get_plugin_manager
    from ezspark.training.trainer import RewardBelowMinimum

    default_show = warnings.showwarning

    def show(message, category, *args, **kwargs):
        if issubclass(category, (PluginWarning, RewardBelowMinimum)):
            _show_plugin_warning(message, category, *args, **kwargs)
        else:
            default_show(message, category, *args, **kwargs)

    warnings.showwarning = show
    pm = get_plugin_manager()
    pm.hook.ezspark_register_commands(cli=cli)
    return cli.main(args=argv, prog_name="ezspark")
