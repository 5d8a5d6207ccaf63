"""``ezspark envs`` and ``ezspark plugins``: what is registered, and by whom."""
from __future__ import annotations

import json

import click
import gymnasium

from ezspark.envs import BUILTIN_ENVS, register_builtin_envs
from ezspark.plugins.manager import plugin_envs, plugin_info

from ezspark.cli import options


@click.command("envs")
@options.json_output
def envs_command(as_json):
    """List registered environments, with the plugin that registered each."""
    register_builtin_envs()
    by_plugin = plugin_envs()
    rows = []
    for env_id, spec in sorted(gymnasium.registry.items()):
        source = by_plugin.get(env_id, ("ezspark" if env_id in BUILTIN_ENVS else "gymnasium",
                                        None))[0]
        entry = spec.entry_point if isinstance(spec.entry_point, str) else \
            getattr(spec.entry_point, "__qualname__", repr(spec.entry_point))
        rows.append({"id": env_id, "plugin": source, "entry_point": entry})
    if as_json:
        click.echo(json.dumps(rows))
        return
    width = max((len(r["id"]) for r in rows), default=10)
    for r in rows:
        click.echo(f"{r['id']:<{width}}  {r['plugin']:<14}  {r['entry_point']}")


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
