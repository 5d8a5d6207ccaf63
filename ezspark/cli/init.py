"""``ezspark init``: write a training JSON, by the form or as the documented example.

The form writes every key (the extension keys too, ``null`` when unset).  ``--defaults``
writes the example of the EzSpark docs exactly: its 29 keys, its values and its order
(``CartPole-v0``; ``3`` and ``0`` rather than ``3.0`` and ``0.0``), no extension keys.
"""
from __future__ import annotations

import json
import os
import tempfile

import click

from ezspark.cli import form as _form
from ezspark.cli.errors import UserError


@click.command("init")
@click.argument("out", metavar="[OUT.json]", default="training.json",
                type=click.Path(dir_okay=False))
@click.option("--defaults", is_flag=True,
              help="Write the example of the EzSpark docs (its 29 keys) without asking.")
@click.option("--force", "-f", is_flag=True, help="Overwrite OUT.json if it exists.")
def command(out: str, defaults: bool, force: bool) -> None:
    """Write a training JSON to OUT.json (default: training.json).

    Asks for each key in turn, showing its meaning, allowed values and default (Enter keeps
    the default), checks every answer, and writes the JSON.  Answers may be piped in, one per
    line; end of input aborts without writing anything.
    """
    _check_target(out, force)
    if defaults:
        text = json.dumps(_form.docs_example_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        try:
            config = _form.run_form(_ask, click.echo)
        except click.Abort:
            click.echo("\naborted", err=True)
            raise click.exceptions.Exit(1) from None
        click.echo()
        text = config.to_json()
        _check_target(out, force)  # it may have appeared while the form was open
    _write_atomically(out, text)
    click.echo(f"wrote {out}")


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
