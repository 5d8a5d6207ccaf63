"""``ezspark export RUN.h5 [--generation G] -o FILE.json``: a champion as plain JSON."""
from __future__ import annotations

import click

from ezspark.cli import options
from ezspark.cli.errors import UserError, user_errors
from ezspark.store.export import champion_to_json, write_atomic
from ezspark.store.runfile import RunFile


def write_output(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; a path that cannot be written exits 2."""
    try:
        write_atomic(path, data)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    except OSError as exc:                       # full disk and the like: not the user's fault
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


@click.command("export")
@options.run_file
@options.generation
@click.option("-o", "--output", required=True, metavar="FILE.json",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write; - writes to standard output.")
def command(run_file, generation, output):
    """Write a stored champion (the newest, or --generation) as plain JSON: its nodes,
    connections (with weights) and activation function."""

    with user_errors():
        champion = RunFile.open(run_file).champion(generation)
    text = champion_to_json(champion)
    if output == "-":
        click.echo(text, nl=False)
        return
    write_output(output, text.encode("utf-8"))
    click.echo(output)
