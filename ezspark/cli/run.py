"""``ezspark run CONFIG.json``: train."""
from __future__ import annotations

from pathlib import Path

import click

from . import options, user_errors


@click.command("run")
@options.config_file
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output directory for run.h5 (default: runs/<config file stem>).")
@options.seed
@click.option("--generations", type=click.IntRange(1), default=None,
              help="Evaluate this many generations (overrides the config's generations).")
@click.option("--workers", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Processes on this machine that evaluate genomes.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run.h5 in the output directory.")
@options.quiet
def command(config_file, out, seed, generations, workers, overwrite, quiet):
    """Train on the environment of CONFIG.json, writing DIR/run.h5.

    Shows a progress bar over each generation's genomes and one summary line per
    generation.  Ctrl-C stops after the last finished generation is saved.
    """
    import ezspark

    with user_errors():
        cfg = ezspark.TrainingConfig.from_json(config_file)
        directory = Path(out) if out else Path("runs") / Path(config_file).stem
        try:
            result = ezspark.train(cfg, out=directory, seed=seed, generations=generations,
                                   workers=workers, progress=not quiet, overwrite=overwrite)
        except KeyboardInterrupt:
            click.echo("Interrupted before the first generation finished; nothing to keep.",
                       err=True)
            raise SystemExit(130) from None
    last = result.history[-1]
    if result.stopped == "interrupted":
        click.echo(f"Interrupted after generation {last.generation}; the run so far is saved.",
                   err=True)
    elif result.stopped == "fitness_threshold" and not quiet:
        click.echo(f"fitness_threshold {cfg.fitness_threshold} reached at generation "
                   f"{last.generation}")
    if result.path is None:
        click.echo("champion: not stored (the run.h5 store plugin, ezspark.plugins.hdf5_store, "
                   "is blocked)")
    else:
        champ = ezspark.RunFile.open(result.path).generations[-1]
        click.echo(f"champion: {result.path} (generation {champ}, fitness "
                   f"{result.champion.fitness:.6g})")
    if result.stopped == "interrupted":
        raise SystemExit(130)
