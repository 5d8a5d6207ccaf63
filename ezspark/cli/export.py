"""``ezspark export RUN.h5 [--generation G] -o FILE.json``: a champion as plain JSON."""
from __future__ import annotations

import click

from ezspark.cli import options
from ezspark.cli.errors import UserError, user_errors
from ezspark.store.export import champion_to_json, write_atomic
from ezspark.store.runfile import RunFile


def stored_genome(run, generation: int | str, genome: int):
    """Genome ``genome`` of the population stored for ``generation``; exit 2 without a
    generation number or when the index is out of range."""
    if not isinstance(generation, int):
        raise UserError("--genome needs --generation G: the generation whose stored "
                        f"population holds it (stored: {_listed(run.populations)})")
    population = run.population(generation)
    if genome >= len(population):
        raise UserError(f"--genome {genome} is out of range: generation {generation} stores "
                        f"{len(population)} genomes (0 to {len(population) - 1})")
    return population[genome]


def _listed(generations: list[int]) -> str:
    if not generations:
        return "none: run with --save-population EVERY"
    return ", ".join(map(str, generations[:8])) + (", …" if len(generations) > 8 else "")


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
@click.option("--genome", "-i", type=click.IntRange(0), default=None, metavar="I",
              help="Export genome I of the population stored for --generation G (a run "
                   "with --save-population) instead of the champion.")
@click.option("-o", "--output", required=True, metavar="FILE.json",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write; - writes to standard output.")
def command(run_file, generation, genome, output):
    """Write a stored champion (the best validated one, or --generation) as plain JSON:
    its nodes, connections (with weights) and activation function.  With --genome I, genome I of the
    population stored for --generation G instead (a run with --save-population)."""

    with user_errors():
        run = RunFile.open(run_file)
        champion = (run.champion(generation) if genome is None
                    else stored_genome(run, generation, genome))
    text = champion_to_json(champion)
    if output == "-":
        click.echo(text, nl=False)
        return
    write_output(output, text.encode("utf-8"))
    click.echo(output)
