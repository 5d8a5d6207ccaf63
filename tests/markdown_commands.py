"""The commands that documentation pages show, read from their Markdown.

Shared by ``test_readme.py`` and ``test_docs_commands.py``: fenced code blocks in document
order, the ezspark command lines of their shell blocks, the flags named by inline code
such as ``play RUN.h5 [--render]``, and a check of a command line against the real click
parser that neither runs the command nor touches a file.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import attrs
import click

from ezspark.cli import cli

ROOT = Path(__file__).resolve().parent.parent

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```",
                   re.S | re.M)
SHELL_LANGS = {"sh", "bash", "shell", "console"}
# An unlabelled block mixes commands (with or without a "$ " prompt) and their output;
# only the lines that start like an ezspark command are taken from it.
COMMAND_START = re.compile(r"^(\$ )?(ezspark|python -m ezspark)( |$)")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


@attrs.frozen
class Block:
    path: Path
    line: int          # 1-based line of the opening fence
    lang: str
    body: str


@attrs.frozen
class Command:
    path: Path
    line: int
    words: tuple       # the shell words, e.g. ("python", "-m", "ezspark", "run", "x.json")

    @property
    def ezspark_args(self) -> tuple | None:
        """The arguments after ``ezspark`` / ``python -m ezspark``; None for other commands."""
        if self.words[:1] == ("ezspark",):
            return self.words[1:]
        if self.words[:3] == ("python", "-m", "ezspark"):
            return self.words[3:]
        return None

    def __str__(self):
        return f"{self.path.relative_to(ROOT)}:{self.line}: {shlex.join(self.words)}"


def fenced_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [Block(path, text.count("\n", 0, m.start()) + 1, m["lang"], m["body"])
            for m in FENCE.finditer(text)]


def shell_commands(block: Block) -> list[Command]:
    """Every command of a shell block (``a && b`` gives two), comments and prompts removed."""
    if block.lang not in SHELL_LANGS and block.lang:
        return []
    commands = []
    lines = block.body.replace("\\\n", " ").splitlines()
    for offset, line in enumerate(lines, start=block.line + 1):
        if not block.lang and not COMMAND_START.match(line.strip()):
            continue
        words = shlex.split(line.strip().removeprefix("$ "), comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            if words[:cut]:
                commands.append(Command(block.path, offset, tuple(words[:cut])))
            words = words[cut + 1:]
    return commands


def document_commands(path: Path) -> list[Command]:
    return [c for block in fenced_blocks(path) for c in shell_commands(block)]


def subcommand(args) -> tuple[click.Command, list[str]]:
    """The click command that ``args`` names and the arguments left for it."""
    name, *rest = args
    command = cli.get_command(click.Context(cli), name)
    if command is None:
        raise click.UsageError(f"no such command {name!r}")
    return command, rest


def check_parses(args) -> None:
    """Parse ``ezspark ARGS`` with the real parser: click.UsageError (or BadParameter) if
    the subcommand, a flag or a value does not exist.  Nothing runs."""
    command, rest = subcommand(args)
    command.make_context(command.name, list(rest), parent=click.Context(cli, info_name="ezspark"))


# Commands that a test cannot run; only their subcommand, flags and values are checked.
NOT_RUN_COMMANDS = {
    "join": "lends this machine to a run served elsewhere, until that run ends",
    "invite": "signs with the certificate authority that a served run (run --serve) made",
}
NOT_RUN_FLAGS = {
    "--serve": "serves the run to other machines until it ends (tests/test_distributed.py)",
    "--scheduler": "needs an existing Dask cluster (tests/test_distributed.py)",
    "--render": "opens a window",
    "--video": "records with moviepy, an optional package",
}


def why_not_run(args) -> str | None:
    """Why ``ezspark ARGS`` cannot run in a test, or None when it can."""
    if args[0] == "init" and "--defaults" not in args:
        return "the form waits for answers on standard input"
    flags = [NOT_RUN_FLAGS[a] for a in args if a in NOT_RUN_FLAGS]
    return NOT_RUN_COMMANDS.get(args[0]) or (flags[0] if flags else None)


def known_flags(command: click.Command) -> set[str]:
    flags = {"--help", "-h"}
    for param in command.params:
        flags.update(param.opts, param.secondary_opts)
    return flags


def inline_synopses(path: Path) -> list[tuple[int, click.Command, list[str]]]:
    """Inline code that names a command and flags: ``ezspark plot RUN.h5 [--dpi N]``,
    ``run --serve``, a table row ``play RUN.h5 [-g G]``; (line, command, its flags)."""
    found = []
    text = path.read_text(encoding="utf-8")
    names = set(cli.list_commands(click.Context(cli)))
    for m in INLINE_CODE.finditer(text):
        code = m[1].removeprefix("python -m ").removeprefix("ezspark ")
        words, flags = code.split(), FLAG.findall(code)
        if words and words[0] in names and flags:
            command, _ = subcommand(words[:1])
            found.append((text.count("\n", 0, m.start()) + 1, command, flags))
    return found


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def command_table(path: Path) -> dict[str, list[str]]:
    """The flags that a page's command table (rows whose first cell is code such as
    ``ezspark play RUN.h5 [-g G]``, or ``envs [--json]`` / ``plugins [--json]``) names for
    each command."""
    rows: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        for code in INLINE_CODE.findall(first_cell.replace("\\|", "|")):
            words = code.removeprefix("ezspark ").split()
            if words:
                rows.setdefault(words[0], []).extend(FLAG.findall(code))
    return rows
