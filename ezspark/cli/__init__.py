"""The ``ezspark`` command line: a thin layer over the Python API.

Every command turns its options into API calls; no algorithm lives here.  User mistakes
(bad config, missing or foreign files, unknown environments) end with one ``Error:`` line
per problem and exit code 2; failures outside the user's input exit 1; bugs keep their
traceback.
"""
from __future__ import annotations

import warnings

import click

from ezspark.cli import export, init, inspect, join, play, plot, plugins, run, validate
from ezspark.cli.errors import UserError, user_errors
from ezspark.plugins.manager import PluginWarning, get_plugin_manager
from ezspark.training.trainer import RewardBelowMinimum

__all__ = ["cli", "main", "user_errors", "UserError"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ezspark", prog_name="ezspark")
def cli():
    """Evolve neural networks for gymnasium environments with NEAT, from EzSpark training
    JSON files."""


def _add_commands():
    for module in (run, validate, init, inspect, play, plot, export):
        cli.add_command(module.command)
    cli.add_command(join.join_command)
    cli.add_command(join.invite_command)
    cli.add_command(plugins.envs_command)
    cli.add_command(plugins.plugins_command)


_add_commands()


def main(argv=None):
    """Entry point of ``ezspark`` and ``python -m ezspark``."""
    default_show = warnings.showwarning

    def show(message, category, *args, **kwargs):
        if issubclass(category, (PluginWarning, RewardBelowMinimum)):
            click.echo(f"Warning: {message}", err=True)     # one line, no source location
        else:
            default_show(message, category, *args, **kwargs)

    warnings.showwarning = show
    pm = get_plugin_manager()
    pm.hook.ezspark_register_commands(cli=cli)
    return cli.main(args=argv, prog_name="ezspark")
