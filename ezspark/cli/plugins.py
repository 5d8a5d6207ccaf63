"""``ezspark envs`` and ``ezspark plugins``: what is registered, by whom, and what ezspark can
train."""
from __future__ import annotations

import json

import click
import gymnasium

from ezspark.envs import BUILTIN_ENVS, EnvSupport, env_support, register_builtin_envs
from ezspark.plugins.manager import plugin_envs, plugin_info

from ezspark.cli import options

_COLUMNS = ("id", "plugin", "observation", "actions", "trainable")


@click.command("envs")
@click.option("--all", "show_all", is_flag=True,
              help="Also list the environments ezspark cannot train here, with the reason.")
@options.json_output
def envs_command(show_all, as_json):
    """List the registered environments that ezspark can train here.

    One row per environment: its id, the plugin that registered it, the size of one
    observation, the number of actions (values of a continuous action, marked "continuous"),
    and whether ezspark can train it with what is installed ("yes", or "no: " and why:
    unbounded Box actions, a missing dependency, ...).  --all also lists the
    ones it cannot train.  A header line, then one row per line (styled on a terminal only).
    --json prints a list of objects with the same fields.
    """
    rows = _env_rows()
    shown = rows if show_all else [row for row in rows if row["trainable"]]
    if as_json:
        click.echo(json.dumps(shown))
        return
    cells = [_cells(row) for row in shown]
    widths = [max(len(text) for text in column) for column in zip(_COLUMNS, *cells)]
    for index, line in enumerate((_COLUMNS, *cells)):
        text = "  ".join(f"{cell:<{w}}" for cell, w in zip(line, widths)).rstrip()
        # click.echo drops the styles when the output is not a terminal
        click.echo(click.style(text, bold=index == 0, dim=line[-1].startswith("no:")))
    hidden = len(rows) - len(shown)
    if hidden:
        click.echo(f"({hidden} more that ezspark cannot train here: 'ezspark envs --all' lists "
                   "them with the reason)", err=True)


def _env_rows() -> list[dict]:
    """One dict per registered environment, in id order (the --json objects)."""
    register_builtin_envs()
    by_plugin = plugin_envs()
    rows = []
    for env_id, spec in sorted(gymnasium.registry.items()):
        source = by_plugin.get(env_id, ("ezspark" if env_id in BUILTIN_ENVS else "gymnasium",
                                        None))[0]
        entry = spec.entry_point if isinstance(spec.entry_point, str) else \
            getattr(spec.entry_point, "__qualname__", repr(spec.entry_point))
        support = env_support(env_id)
        rows.append({"id": env_id, "plugin": source, "entry_point": entry,
                     "observation_size": support.observation_size,
                     "observation_shape": _shape(support), "actions": support.actions,
                     "continuous": support.continuous,
                     "trainable": support.trainable, "reason": support.reason})
    return rows


def _shape(support: EnvSupport) -> list[int] | None:
    shape = support.observation_shape
    return None if shape is None else list(shape)


def _cells(row: dict) -> tuple[str, ...]:
    size, shape = row["observation_size"], row["observation_shape"]
    observation = "-" if size is None else str(size)
    if shape is not None and len(shape) > 1:  # an image or a grid: show its shape too
        observation += f" ({'x'.join(map(str, shape))})"
    actions = "-" if row["actions"] is None else str(row["actions"])
    if row["continuous"] and row["actions"] is not None:
        actions += " continuous"
    trainable = "yes" if row["trainable"] else f"no: {row['reason']}"
    return row["id"], row["plugin"], observation, actions, trainable


@click.command("plugins")
@options.json_output
def plugins_command(as_json):
    """List loaded plugins with their distribution, version and hooks."""
    rows = plugin_info()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        origin = f"{r['distribution']} {r['version']}".strip()
        hooks = ", ".join(h.removeprefix("ezspark_") for h in r["hooks"])
        click.echo(f"{r['name']:<28}  {origin:<20}  {r['status']}" + (f"  [{hooks}]" if hooks else ""))
