"""The package tree shows the pipeline, and imports follow it (docs/architecture.md).

Each sub-package is a layer; a module may import its own layer and the layers before it,
never a later one.  The one exception is ``ezspark._version`` (the version string), which
every layer may import.  An import of an ezspark module inside a function is allowed only
to break a real import cycle or to defer a heavy optional dependency, and then carries a
comment on the same line or the line above saying which (``# deferred: ...`` or
``# cycle: ...``).
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ezspark"

#: The pipeline, bottom to top.  Top-level modules that are not sub-packages sit where
#: their role puts them.
LAYERS = (
    ("_version",),
    ("_core",),
    ("config",),
    # the plugin machinery sits low: making an environment asks plugins to register theirs
    ("hookspecs", "plugins.manager", "envs", "poles", "network.actions", "batched"),
    ("engine",),
    ("network",),
    ("evaluation",),
    ("distributed",),
    ("store",),
    ("training",),
    ("plugins",),                      # the built-in plugins use the public facade
    ("__init__",),                     # the public facade
    ("cli", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MARKERS = ("# deferred:", "# cycle:")


def _modules():
    files = sorted(p for p in PACKAGE.rglob("*.py"))
    assert len(files) > 40
    return files


def _layer(parts) -> str:
    """The layer of a module path inside ezspark: its longest prefix named in LAYERS."""
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in RANK:
            return name
    return parts[0]


def _module_parts(path: Path) -> tuple:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts


def _layer_of_file(path: Path) -> str:
    return _layer(_module_parts(path))


def _layer_of_module(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "ezspark":
        return None
    return _layer(tuple(parts[1:])) if len(parts) > 1 else "__init__"


def _absolute(node: ast.ImportFrom, path: Path | None) -> str | None:
    if not node.level:
        return node.module
    package = ("ezspark",) + _module_parts(path)[:-1] if path.name != "__init__.py" \
        else ("ezspark",) + _module_parts(path)
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ((node.module,) if node.module else ()))


def _ezspark_imports(tree, path: Path | None = None):
    """(node, imported module) for every import of an ezspark module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(node, path)
            if module == "ezspark":
                for alias in node.names:       # from ezspark import x: x may be a module
                    yield node, f"ezspark.{alias.name}"
            elif module and module.startswith("ezspark."):
                yield node, module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ezspark"):
                    yield node, alias.name


def test_every_top_level_entry_has_a_layer():
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert names - {name.split(".")[0] for name in RANK} == set(), \
        "add the new module or sub-package to LAYERS"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_upward(path):
    mine = _layer_of_file(path)
    for node, module in _ezspark_imports(ast.parse(path.read_text()), path):
        theirs = _layer_of_module(module)
        if theirs == "_version" or theirs not in RANK:
            continue
        assert RANK[theirs] <= RANK[mine], (
            f"{path.relative_to(ROOT)}:{node.lineno} ({mine}) imports {module} ({theirs}), "
            "a later stage of the pipeline")


def _function_imports(tree):
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    yield node


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_inside_functions_say_why(path):
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    for node in _function_imports(tree):
        ezspark_module = any(True for _ in _ezspark_imports(node, path))
        if not ezspark_module:
            continue
        here = lines[node.lineno - 1] + " " + lines[node.lineno - 2]
        assert any(m in here for m in MARKERS), (
            f"{path.relative_to(ROOT)}:{node.lineno}: an import of an ezspark module inside a "
            "function needs '# deferred: <optional dependency>' or '# cycle: <which>'")


MAX_FUNCTION_LINES = 60


def _code_lines(fn) -> int:
    """Lines of a function from its ``def`` to its end, its docstring left out."""
    lines = fn.end_lineno - fn.lineno + 1
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        lines -= body[0].end_lineno - body[0].lineno + 1
    return lines


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_are_short_enough_to_read_at_once(path):
    tree = ast.parse(path.read_text())
    long = [f"{fn.name} ({_code_lines(fn)} lines)" for fn in ast.walk(tree)
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _code_lines(fn) > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(ROOT)}: split {', '.join(long)}"


def test_the_length_check_counts_code_not_docstrings():
    fn = ast.parse('def f():\n    """doc\n    more"""\n    return 1\n').body[0]
    assert _code_lines(fn) == 2


def test_layer_rules_catch_an_upward_import(tmp_path):
    """The check itself works: an engine module importing the trainer is reported."""
    tree = ast.parse("from ezspark.training.trainer import train\n")
    (node, module), = _ezspark_imports(tree)
    assert RANK[_layer_of_module(module)] > RANK["engine"]


def test_vulture_finds_no_dead_code():
    """Every name vulture is 80% sure is unused has been removed (or renamed ``_x``)."""
    pytest.importorskip("vulture")
    out = subprocess.run([sys.executable, "-m", "vulture", "--min-confidence", "80",
                          str(PACKAGE)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr
