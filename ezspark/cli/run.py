"""``ezspark run CONFIG.json``: train, or resume a run."""
from __future__ import annotations

import math
import shlex
from pathlib import Path

import click

import ezspark
from ezspark.cli import options
from ezspark.cli.errors import user_errors
from ezspark.cli.signals import interrupts_stop_the_run
from ezspark.evaluation.processes import available_cores


def _resume_command(config_file, directory, generations) -> str:
    """The command that continues the run, with its --generations if it had one."""
    more = f" --generations {generations}" if generations is not None else ""
    return (f"python -m ezspark run {shlex.quote(str(config_file))} --out "
            f"{shlex.quote(str(directory))} --resume{more}")


@click.command("run")
@options.config_file
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output directory for run.h5 and checkpoint.h5 (default: runs/<config file stem>).")
@options.seed
@click.option("--generations", type=click.IntRange(1), default=None,
              help="Evaluate this many generations (overrides the config's generations); "
                   "with --resume, a finished run is extended to this many.")
@click.option("--workers", "-j", type=click.IntRange(1), default=None,
              show_default="every core this process may use",
              help="Processes on this machine that evaluate genomes (results are the same "
                   "for any number).")
@click.option("--resume", is_flag=True,
              help="Continue the run in the output directory from its checkpoint (a finished "
                   "run too, given more --generations).")
@click.option("--allow-config-change", is_flag=True,
              help="With --resume: accept a config that differs from the checkpoint's in keys "
                   "that cannot change computed results (fitness_threshold, saving, …; "
                   "generations may always change).")
@click.option("--checkpoint-every", type=click.FloatRange(0), default=1.0, show_default=True,
              metavar="SECONDS", help="Write checkpoint.h5 after a generation once this many "
                                      "seconds have passed since the last one (0: every generation).")
@click.option("--overwrite", is_flag=True, help="Replace an existing run in the output directory.")
@click.option("--save-population", type=click.IntRange(0), default=None, metavar="EVERY",
              help="Store every genome (fitness, species) of the generations k with k mod "
                   "EVERY = 0 in run.h5 (inspect --population G, export -g G --genome I); "
                   "0: none (the default; with --resume: as the run was started).")
@click.option("--serve", metavar="[HOST:PORT]", is_flag=False, flag_value="0.0.0.0:8786",
              default=None,
              help="After alone_training_iterations generations, serve the run to other "
                   "machines (a TLS Dask scheduler on HOST:PORT, default 0.0.0.0:8786; port 0 "
                   "picks a free one) and print the command that joins it.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="After alone_training_iterations generations, evaluate on the existing "
                   "Dask cluster at ADDRESS (its TLS settings come from the Dask config).")
@options.quiet
def command(config_file, out, seed, generations, workers, resume, allow_config_change,
            checkpoint_every, overwrite, save_population, serve, scheduler, quiet):
    """Train on the environment of CONFIG.json, writing DIR/run.h5 and DIR/checkpoint.h5.

    Shows a progress bar over each generation's genomes and one summary line per
    generation.  Ctrl-C (or SIGTERM) stops after saving the state of the last finished
    generation and prints the command that resumes the run.

    With --serve, others join the run with the printed command (python -m ezspark join
    ADDRESS --credentials DIR/serve/join.pem); --workers processes of this machine keep
    evaluating.  Needs: pip install 'ezspark[distributed]'.
    """

    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other: --resume "
                               "continues the run in the output directory, --overwrite "
                               "replaces it; pass one of them")
    if serve is not None and scheduler is not None:
        raise click.UsageError("--serve and --scheduler exclude each other: --serve starts "
                               "a Dask scheduler, --scheduler uses an existing one; pass one "
                               "of them")
    directory = Path(out) if out else Path("runs") / Path(config_file).stem
    if workers is None:
        workers = available_cores()
    with interrupts_stop_the_run(), user_errors():
        cfg = ezspark.TrainingConfig.from_json(Path(config_file))
        try:
            result = ezspark.train(cfg, out=directory, seed=seed, generations=generations,
                                   workers=workers, progress=not quiet, overwrite=overwrite,
                                   resume=resume, allow_changes=allow_config_change,
                                   checkpoint_seconds=checkpoint_every,
                                   serve=serve, scheduler=scheduler,
                                   save_population=save_population,
                                   on_serve=_announce if serve is not None else None)
        except KeyboardInterrupt:
            click.echo("Interrupted before the first generation finished; nothing to keep.",
                       err=True)
            raise SystemExit(130) from None
    last = result.history[-1]
    if result.stopped == "interrupted":
        click.echo(f"Interrupted after generation {last.generation}; the run is saved. "
                   f"Resume it with:\n  {_resume_command(config_file, directory, generations)}",
                   err=True)
    elif not quiet and cfg.fitness_threshold is not None \
            and last.best_fitness >= cfg.fitness_threshold:     # also in the last generation
        click.echo(f"solved: fitness_threshold {cfg.fitness_threshold:g} reached at "
                   f"generation {last.generation}")
    if result.path is None:
        click.echo("champion: not stored (the run.h5 store plugin, ezspark.plugins.hdf5_store, "
                   "is blocked)")
    else:
        click.echo(f"champion: {result.path} ({_described(result.champion)})")
    if result.stopped == "interrupted":
        raise SystemExit(130)


def _described(champion) -> str:
    """The handed-out champion in a few words: its generation, its validation score when it
    has one (the best of the stored champions: docs/algorithm.md 6.5) and its training
    fitness."""
    score = ("" if not math.isfinite(champion.validation)
             else f", validation {champion.validation:.6g}")
    return f"generation {champion.generation}{score}, fitness {champion.fitness:.6g}"


def _announce(address, join_file):
    click.echo(f"Serving the run at {address}\nOthers join it with:\n"
               f"  python -m ezspark join {address} --credentials {shlex.quote(str(join_file))}\n"
               "(give them that file; 'python -m ezspark invite' makes one per person)")
