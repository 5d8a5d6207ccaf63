"""Every ezspark command that README.md and docs/*.md show works as shown.

The commands of each page's shell blocks run, in the page's order, through the real
command line, in a scratch directory laid out like a checkout after the README's set-up:
``examples/`` (its ``cartpole.json`` cut to a few short generations, so that every ``run``
is quick) and ``runs/cartpole``, a small real CartPole run trained once for the module.
README.md starts without ``runs/``: its set-up command is the one that makes the run.
Commands that cannot run in a test (``NOT_RUN_COMMANDS`` and ``NOT_RUN_FLAGS`` in
``markdown_commands.py`` say why) are parsed by the real click parser without running, so
an unknown subcommand, flag or value fails either way.  So does a flag named by inline code
(``play RUN.h5 [--render]``, the command tables) that the command does not have.
"""
from __future__ import annotations

import json
import shutil

import click
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli

from .markdown_commands import (ROOT, check_parses, command_table, document_commands,
                                documents, inline_synopses, known_flags, why_not_run)

# Pages whose shell blocks show ezspark commands; a page that loses them all fails
# test_the_pages_show_commands (the extraction must not pass by finding nothing).
PAGES_WITH_COMMANDS = ("README.md", "docs/cli-plot-export.md", "docs/distributed.md",
                       "docs/user-guide.md")


def _tiny_cartpole() -> dict:
    keys = json.loads((ROOT / "examples" / "cartpole.json").read_text(encoding="utf-8"))
    keys.update(generations=3, max_number_of_games=1, max_number_of_steps=50)
    return keys


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A directory like a checkout after the README's set-up, with a small real run."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "examples", root / "examples")
    (root / "examples" / "cartpole.json").write_text(json.dumps(_tiny_cartpole()))
    ezspark.train(root / "examples" / "cartpole.json", out=root / "runs" / "cartpole", seed=0)
    return root


@pytest.mark.parametrize("page", PAGES_WITH_COMMANDS)
def test_the_pages_show_commands(page):
    assert any(c.ezspark_args for c in document_commands(ROOT / page))


@pytest.mark.parametrize("page", documents(), ids=lambda p: p.name)
def test_every_command_shown_runs(page, checkout, tmp_path, monkeypatch):
    fresh = page.name == "README.md"
    shutil.copytree(checkout, tmp_path, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("runs") if fresh else None)
    monkeypatch.chdir(tmp_path)
    failures = []
    for command in document_commands(page):
        args = command.ezspark_args
        if args is None:
            continue                         # pip, dask, pytest: not ezspark's commands
        if why_not_run(args):
            try:
                check_parses(args)
            except click.ClickException as exc:
                failures.append(f"{command}: {exc.format_message()}")
            continue
        result = CliRunner().invoke(cli, list(args))
        if result.exit_code != 0:
            failures.append(f"{command}: exit {result.exit_code}\n{result.output}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("page", documents(), ids=lambda p: p.name)
def test_every_flag_named_inline_exists(page):
    wrong = [f"{page.name}:{line}: {command.name} has no {flag}"
             for line, command, flags in inline_synopses(page)
             for flag in flags if flag not in known_flags(command)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("page", ["docs/user-guide.md", "docs/architecture.md"])
def test_the_command_tables_name_every_command_and_option(page):
    table = command_table(ROOT / page)
    context = click.Context(cli)
    missing = []
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        named = set(table.get(name, []))
        missing += [f"{name} {'/'.join(p.opts + p.secondary_opts)}" for p in command.params
                    if isinstance(p, click.Option) and not p.hidden
                    and not named & {*p.opts, *p.secondary_opts}]
        if name not in table:
            missing.append(f"{name} (no row)")
    assert not missing, f"{page}'s command table lacks: " + ", ".join(missing)


def test_a_flag_that_does_not_exist_fails_the_check():
    check_parses(["plot", "runs/cartpole", "-g", "0", "--dpi", "150"])
    with pytest.raises(click.NoSuchOption):
        check_parses(["plot", "runs/cartpole", "--colour", "red"])
    with pytest.raises(click.BadParameter):
        check_parses(["plot", "runs/cartpole", "--dpi", "5"])
    with pytest.raises(click.UsageError):
        check_parses(["draw", "runs/cartpole"])
    plot = cli.get_command(click.Context(cli), "plot")
    assert "--dpi" in known_flags(plot) and "--colour" not in known_flags(plot)
