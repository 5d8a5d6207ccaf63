"""``ezspark inspect RUN.h5 --population G``: the genomes stored for generation G (runs with
``--save-population``), one line each."""
from __future__ import annotations

import json

import click

import ezspark
from ezspark.cli.errors import user_errors

__all__ = ["population_summary", "show_population"]


def population_summary(run, generation: int) -> dict:
    """The ``--json`` object: the generation and one entry per genome, in population order
    (``nodes``, and ``connections`` counting the enabled ones, as for champions)."""
    genomes = [{"genome": i, "species": c.species,
                "fitness": c.fitness if c.fitness == c.fitness else None,
                "nodes": c.num_nodes, "connections": c.num_connections}
               for i, c in enumerate(run.population(generation))]
    return {"generation": generation, "genomes": genomes}


def show_population(run_file, generation: int, as_json: bool) -> None:
    """Print the genomes stored for ``generation``; a generation not stored exits 2 naming
    the stored ones (or ``--save-population``)."""
    with user_errors():
        run = ezspark.RunFile.open(run_file)
        summary = population_summary(run, generation)
    if as_json:
        click.echo(json.dumps(summary))
        return
    genomes = summary["genomes"]
    click.echo(f"run:          {run.path}")
    click.echo(f"generation:   {generation}: {len(genomes)} genomes stored, "
               f"{len({g['species'] for g in genomes})} species "
               "(export one with: export RUN.h5 -g G --genome I -o FILE.json)")
    click.echo(f"  {'genome':>6}  {'species':>7}  {'fitness':>10}  {'nodes':>5}  "
               f"{'connections':>11}")
    for g in genomes:
        fitness = "-" if g["fitness"] is None else format(g["fitness"], ".6g")
        click.echo(f"  {g['genome']:>6}  {g['species']:>7}  {fitness:>10}  {g['nodes']:>5}  "
                   f"{g['connections']:>11}")
