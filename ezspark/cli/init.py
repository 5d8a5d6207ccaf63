"""``ezspark init``: write a training JSON, by the form or as the documented example.

The form (`ezspark.cli.form`) asks the environment first and proposes what it tells (sizes,
steps, the "solved" return); by default it asks only the questions of a first run, ``--all``
asks every key.  It writes every key (the extension keys too, ``null`` when unset).
``--defaults`` writes the example of the EzSpark docs exactly: its 29 keys, its values and its
order (``CartPole-v0``; ``3`` and ``0`` rather than ``3.0`` and ``0.0``), no extension keys.

Nothing that training would refuse is written: the text is checked as ``ezspark validate``
checks a file, environment included, unless ``--force``.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings

import click

from ezspark.cli import form as _form
from ezspark.cli import validate as _validate
from ezspark.cli.errors import USER_ERRORS, UserError
from ezspark.config.training import TrainingConfig


@click.command("init")
@click.argument("out", metavar="[OUT.json]", default="training.json",
                type=click.Path(dir_okay=False))
@click.option("--all", "full", is_flag=True,
              help=f"Ask every key ({len(TrainingConfig.keys())} questions), not only the "
                   f"{len(_form.SHORT_KEYS)} of a first run.")
@click.option("--defaults", is_flag=True,
              help="Write the example of the EzSpark docs (its 29 keys) without asking.")
@click.option("--force", "-f", is_flag=True,
              help="Write anyway: overwrite OUT.json if it exists, keep an environment that "
                   "cannot be trained here, write a configuration that training would refuse "
                   "(its problems are shown as warnings).")
def command(out: str, full: bool, defaults: bool, force: bool) -> None:
    """Write a training JSON to OUT.json (default: training.json).

    Asks the environment first, then proposes what it tells: input_size and output_size from
    its spaces, max_number_of_steps from its time limit, fitness_threshold from its "solved"
    return.  Then asks only what a first run needs (population, generations, games, steps);
    every other key keeps its documented value (docs/configuration.md), except that the
    population never falls below its first size (min_population) and same_fitness_limit is
    1000000: settings that learn better than the docs values (docs/decisions.md).  --all
    asks every key.

    Each answer is checked at once and asked again, with the reason, when it is wrong.  Enter
    keeps the default shown.  Answers may be piped in, one per line; end of input aborts
    without writing anything.  A configuration that training would refuse is never written
    (exit 2, its problems listed) unless --force.
    """
    _check_target(out, force)
    if defaults:
        text = json.dumps(_form.docs_example_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        try:
            config = _form.run_form(_ask, click.echo, full=full, strict=not force)
        except click.Abort:
            click.echo("\naborted", err=True)
            raise click.exceptions.Exit(1) from None
        click.echo()
        text = config.to_json()
        _check_target(out, force)  # it may have appeared while the form was open
    _refuse_what_training_refuses(text, out, force)
    _write_atomically(out, text)
    click.echo(f"wrote {out}")


def _refuse_what_training_refuses(text: str, out: str, force: bool) -> None:
    """Check ``text`` as ``ezspark validate`` checks a file; refuse it unless ``force``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gymnasium's deprecation of CartPole-v0
            _validate.check(text)
    except USER_ERRORS as err:
        problems = str(err).splitlines()
    else:
        return
    if not force:
        raise UserError("\n".join([*problems, f"training would refuse this configuration, so "
                                   f"{out} was not written; use --force to write it anyway"]))
    for problem in problems:
        click.echo(f"Warning: {problem}", err=True)


def _ask(label: str) -> str:
    # click.prompt reads piped stdin as well as a terminal; end of input raises click.Abort.
    return click.prompt(label, default="", show_default=False)


def _check_target(out: str, force: bool) -> None:
    if os.path.isdir(out):
        raise UserError(f"{out} is a directory")
    if os.path.lexists(out) and not force:
        raise UserError(f"{out} exists; use --force to overwrite it")
    parent = os.path.dirname(out) or "."
    if not os.path.isdir(parent):
        raise UserError(f"no such directory: {parent}")


def _write_atomically(out: str, text: str) -> None:
    """Write to a temporary file beside ``out``, fsync, then move it over ``out``."""
    parent = os.path.dirname(os.path.abspath(out))
    umask = os.umask(0)
    os.umask(umask)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(out)}.",
                                   suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, out)
    except OSError as err:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise click.ClickException(f"cannot write {out}: {err.strerror or err}") from None
