"""``ezspark inspect RUN.h5``: summary of a run."""
from __future__ import annotations

import json
import sys
import time

import click

import ezspark
from ezspark.cli import options
from ezspark.cli.errors import user_errors
from ezspark.cli.population import show_population
from ezspark.plugins.summary import generation_line
from ezspark.store.follow import MAX_ROWS, RunFollower
from ezspark.store.runfile import is_json_file

#: The root attributes of run.h5 that say how the run ended (absent in older files).
END_KEYS = ("status", "stopped_at", "reason", "wall_seconds", "env_steps")


def run_summary(run) -> dict:
    """The ``--json`` object of the contract."""
    table = run.champions
    champions = [{"generation": int(row["generation"]), "fitness": float(row["fitness"]),
                  "validation": _number(row["validation"]),
                  "nodes": int(row["node_count"]), "connections": int(enabled)}
                 for row, enabled in zip(table.index, table.enabled_counts())]
    best = table.best_row()
    history = [{n: row[n].item() for n in run.history.dtype.names} for row in run.history]
    summary = {"format_version": int(run.attrs["format_version"]), "env_id": run.env_id,
               "generations": len(history), "champions": champions,
               "best_champion": champions[best]["generation"] if champions else None,
               "history": history,
               "config": json.loads(run.config_json),
               "seed": int(run.attrs["seed"]),
               "ezspark_version": run.attrs.get("ezspark_version"),
               "created": run.attrs.get("created")}
    summary.update({key: run.attrs.get(key) for key in END_KEYS})
    if summary["env_steps"] is None:            # a file from before the attribute existed
        summary["env_steps"] = sum(h["env_steps"] for h in history)
    return summary


def describe_end(summary: dict) -> str:
    """How the run ended, in words, from the run.h5 attributes of ``summary``."""
    status, g = summary["status"], summary["stopped_at"]
    total = summary["config"]["generations"]
    if status is None:
        return "end not recorded (a file written before ezspark recorded how runs end)"
    if status == "running":
        return "running, or killed (no end recorded)"
    if status == "generations":
        return f"finished: all {total} generations evaluated"
    if status == "fitness_threshold":
        return (f"stopped at generation {g}: fitness_threshold "
                f"{summary['config']['fitness_threshold']:g} reached")
    if status == "stop":
        return f"stopped at generation {g} by the stop function of ezspark.train"
    if status == "failed":
        return f"failed in generation {g + 1}: {summary['reason']}"
    after = f"after generation {g}" if g >= 0 else "before the first generation finished"
    if status == "interrupted":
        return f"interrupted (Ctrl-C or SIGTERM) {after}"
    return f"{status} {after}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    minutes, secs = divmod(round(seconds, 1), 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}h {minutes:02d}m {secs:02.0f}s" if hours else
            f"{minutes}m {secs:04.1f}s" if minutes else f"{secs:.1f} s")


#: seconds between two reads of a followed run.h5
FOLLOW_POLL_SECONDS = 0.5


@click.command("inspect")
@options.run_file
@options.json_output
@click.option("--follow", "-f", is_flag=True,
              help="Print one line per generation, those already written first, then each "
                   "new one as the run writes it, until the run ends (a killed run never "
                   "ends: Ctrl-C stops following).")
@click.option("--population", type=click.IntRange(0), default=None, metavar="G",
              help="List the genomes stored for generation G by a run with "
                   "--save-population: genome, species, fitness, nodes, connections.")
def command(run_file, as_json, follow, population):
    """Summarise a run: how it ended, wall time, env steps, generations done, best fitness
    per saved champion, and its config one key per line.  Given a champion JSON written by
    'ezspark export', summarise that champion.  With --population G, list the genomes
    stored for generation G instead (a run with --save-population)."""

    if population is not None:                  # a stored generation, not the summary
        if follow:
            raise click.UsageError("--population and --follow exclude each other: pass one "
                                   "of them")
        if is_json_file(run_file):
            raise click.UsageError("--population reads a run.h5, not an exported champion "
                                   "JSON: leave out --population")
        show_population(run_file, population, as_json)
        return

    if follow:
        if as_json:
            raise click.UsageError("--follow prints text lines: leave out --json")
        if is_json_file(run_file):
            raise click.UsageError("--follow reads a run.h5, not an exported champion "
                                   "JSON: leave out --follow")
        follow_run(run_file)
        return
    if is_json_file(run_file):                  # an exported champion, not a run
        show_champion_json(run_file, as_json)
        return
    with user_errors():
        run = ezspark.RunFile.open(run_file)
        summary = run_summary(run)
    if as_json:
        click.echo(json.dumps(summary))
        return
    show_run(run.path, summary)


def follow_run(run_file) -> None:
    """``inspect --follow``: the generation lines of the run as they are written, then how
    it ended; Ctrl-C stops following (exit code 130) and leaves the run alone."""
    with user_errors():
        follower = RunFollower(run_file)
        waited = False
        try:
            while follower.end is None:
                new = follower.poll()
                for stats in new:
                    click.echo(generation_line(stats))
                if follower.end is None and len(new) < MAX_ROWS:
                    if not waited:
                        click.echo(f"following {follower.path}: a line per new generation "
                                   "until the run ends; Ctrl-C stops following", err=True)
                        waited = True
                    time.sleep(FOLLOW_POLL_SECONDS)
        except KeyboardInterrupt:
            click.echo(f"Stopped following {follower.path} after generation "
                       f"{follower.last_generation}; the run is not affected.", err=True)
            sys.exit(130)
    end = {key: follower.end.get(key) for key in END_KEYS}   # None: not recorded (format 1)
    click.echo(f"ended:        {describe_end(dict(end, config=follower.end['config']))}")


def _number(value) -> float | None:
    """A float, or None for NaN (JSON has no NaN)."""
    value = float(value)
    return value if value == value else None


def show_run(path, summary: dict) -> None:
    """The text summary of a run.h5."""
    hist, cfg = summary["history"], summary["config"]
    click.echo(f"run:          {path}")
    click.echo(f"environment:  {summary['env_id'] or '(fitness function)'}")
    click.echo(f"seed:         {summary['seed']}   created {summary['created']} with ezspark "
               f"{summary['ezspark_version']}")
    click.echo(f"ended:        {describe_end(summary)}")
    click.echo(f"generations:  {len(hist)} of {cfg['generations']} evaluated")
    click.echo(f"wall time:    {_duration(summary['wall_seconds'])}   env steps: "
               f"{summary['env_steps']:,}   evaluations: "
               f"{sum(h['evaluations'] for h in hist):,}")
    if hist:
        best = max(hist, key=lambda h: h["best_fitness"])
        click.echo(f"best fitness: {best['best_fitness']:.6g} (generation {best['generation']}); "
                   f"last generation: best {hist[-1]['best_fitness']:.6g}, mean "
                   f"{hist[-1]['mean_fitness']:.6g}, population {hist[-1]['population']}")
        checks, mismatches, excluded = (sum(h.get(c, 0) for h in hist)
                                        for c in ("checks", "mismatches", "excluded"))
        if checks or excluded:                  # a distributed run with safeness checks
            click.echo(f"safeness:     {checks:,} batches checked, {mismatches:,} mismatches, "
                       f"{excluded:,} worker{'s' if excluded != 1 else ''} excluded")
    _show_champions(summary["champions"], summary["best_champion"])
    click.echo("config:")
    width = max(map(len, cfg))
    for key, value in cfg.items():
        click.echo(f"  {key:<{width}}  {json.dumps(value)}")


def _show_champions(champs: list[dict], best: int | None) -> None:
    """Up to 12 stored champions (the first and last five of more, and always the one
    handed out), each with its validation score."""
    click.echo(f"champions:    {len(champs)} stored; the one handed out (best validation "
               "score, else the newest) is marked *")
    keep = set(range(5)) | set(range(len(champs) - 5, len(champs))) | {
        k for k, c in enumerate(champs) if c["generation"] == best}
    previous = -1
    for k, c in enumerate(champs):
        if len(champs) > 12 and k not in keep:
            continue
        if k != previous + 1:
            click.echo("    …")
        previous = k
        score = "-" if c["validation"] is None else format(c["validation"], ".6g")
        mark = "*" if c["generation"] == best else " "
        click.echo(f"  {mark} generation {c['generation']:>6}  fitness {c['fitness']:>10.6g}  "
                   f"validation {score:>10}  nodes {c['nodes']:>4}  "
                   f"connections {c['connections']:>4}")


def show_champion_json(path, as_json: bool) -> None:
    """``inspect CHAMPION.json``: the exported champion's generation, fitness, environment,
    sizes and node and connection counts (``--json``: one object of those)."""
    with user_errors():
        champion = ezspark.load_champion(path)
    summary = {"file": str(path), "generation": champion.generation,
               "fitness": _number(champion.fitness),               # NaN: not recorded
               "validation": _number(champion.validation),
               "species": champion.species, "env_id": champion.env_id,
               "n_inputs": champion.n_inputs, "n_outputs": champion.n_outputs,
               "nodes": champion.num_nodes, "hidden_nodes": len(champion.hidden_nodes),
               "connections": champion.num_connections,
               "disabled_connections": int((~champion.genome.enabled).sum()),
               "recurrent": champion.recurrent, "bias_input": champion.bias_input,
               "actions": None if champion.actions is None else str(champion.actions)}
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"champion:     {path} (exported by 'ezspark export')")
    click.echo(f"environment:  {summary['env_id'] or '(fitness function)'}")
    click.echo(f"generation:   {summary['generation']}   fitness "
               f"{'-' if summary['fitness'] is None else format(summary['fitness'], '.6g')}"
               f"   validation "
               f"{'-' if summary['validation'] is None else format(summary['validation'], '.6g')}"
               f"   species {summary['species']}")
    click.echo(f"sizes:        {summary['n_inputs']} inputs"
               + (" (the last one the bias)" if summary["bias_input"] else "")
               + f", {summary['n_outputs']} outputs"
               + (f" ({summary['actions']})" if summary["actions"] else ""))
    click.echo(f"network:      {summary['nodes']} nodes ({summary['hidden_nodes']} hidden), "
               f"{summary['connections']} connections "
               f"(+{summary['disabled_connections']} disabled)"
               + (", recurrent" if summary["recurrent"] else ""))
