"""benchmarks/ runs from a clone: no path outside the repository, every bench_*.py has a
--quick smoke mode listed in benchmarks/README.md, and the ``bench`` extra installs every
third-party package the benchmarks import.  Static checks only: the benchmark packages
(neat-python, MultiNEAT) need not be installed to run this."""
from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
RESULTS = BENCH / "results"        # records of past runs: their logs may name old paths

# an absolute path of this or any machine, the old shared harness, a parent-directory hop
FORBIDDEN = [
    (re.compile(r"""["'`]/(?:work|home|root|tmp|opt|usr|mnt|srv|farm)/"""), "absolute path"),
    (re.compile(r"shared/bench|/shared\b|\.\./shared"), "the shared folder"),
    (re.compile(r"EZSPARK_PEER_BENCH"), "the old peer-folder variable"),
    (re.compile(r"\.\./|os\.pardir"), "a parent-directory path"),
]


def bench_files(suffixes=(".py", ".md", ".cfg", ".sh", ".txt", ".toml")):
    return sorted(p for p in BENCH.rglob("*")
                  if p.is_file() and p.suffix in suffixes and RESULTS not in p.parents
                  and "__pycache__" not in p.parts)


def test_benchmarks_folder_is_there():
    assert (BENCH / "_harness.py").is_file()
    assert (BENCH / "peers" / "cartpole-feedforward.cfg").is_file()
    assert (BENCH / "peers" / "neat_activate_workload.json").is_file()
    assert list(BENCH.glob("bench_*.py"))


@pytest.mark.parametrize("path", bench_files(), ids=lambda p: str(p.relative_to(BENCH)))
def test_no_path_outside_the_repository(path):
    text = path.read_text()
    for pattern, what in FORBIDDEN:
        m = pattern.search(text)
        assert m is None, f"{path.relative_to(REPO)} names {what}: {m.group(0)!r}"


def test_docs_cite_nothing_outside_the_repository():
    text = (REPO / "docs" / "benchmarks.md").read_text()
    for pattern, what in FORBIDDEN:
        m = pattern.search(text)
        assert m is None, f"docs/benchmarks.md names {what}: {m.group(0)!r}"
    assert "engine-spec" not in text.lower()


def _sys_path_targets(path: Path):
    """The directories a module puts on sys.path, resolved by evaluating its module-level
    path assignments (HERE = ..., EXAMPLES = ...) and the sys.path.insert/append arguments
    with ``__file__`` set to the module's own path."""
    tree = ast.parse(path.read_text())
    ns = {"os": os, "Path": Path, "str": str, "__file__": str(path)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                value = eval(compile(ast.Expression(node.value), str(path), "eval"), ns)
            except Exception:
                continue            # not a path expression
            for t in node.targets:
                ns[t.id] = value
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("insert", "append")
                and ast.unparse(node.func.value) == "sys.path"):
            arg = node.args[-1]
            try:
                yield Path(eval(compile(ast.Expression(arg), str(path), "eval"), ns)).resolve()
            except Exception as exc:   # pragma: no cover - a failure message, not a path
                raise AssertionError(f"{path.relative_to(REPO)}: cannot resolve sys.path entry "
                                     f"{ast.unparse(arg)!r} ({exc})")


@pytest.mark.parametrize("path", bench_files((".py",)), ids=lambda p: str(p.relative_to(BENCH)))
def test_sys_path_stays_inside_the_repository(path):
    for target in _sys_path_targets(path):
        assert target == REPO or REPO in target.parents, \
            f"{path.relative_to(REPO)} puts {target} on sys.path, outside the repository"


def test_every_bench_script_has_a_documented_quick_mode():
    readme = (BENCH / "README.md").read_text()
    scripts = sorted(BENCH.glob("bench_*.py"))
    for script in scripts:
        src = script.read_text()
        assert re.search(r"""add_argument\(\s*["']--quick["']""", src), f"{script.name} has no --quick"
        assert f"python benchmarks/{script.name} --quick" in readme, \
            f"benchmarks/README.md does not show `python benchmarks/{script.name} --quick`"
        assert f"`{script.name}" in readme, f"benchmarks/README.md's table does not list {script.name}"


def _third_party_imports():
    local = {p.stem for p in BENCH.glob("*.py")} | {"peers", "ezspark", "xor"}
    stdlib = set(sys.stdlib_module_names)
    found = {}
    for path in bench_files((".py",)):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in local and top != "__future__":
                    found.setdefault(top, path.relative_to(REPO))
    return found


def test_bench_extra_installs_every_imported_package():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["bench"]
    dists = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in reqs}
    import_names = {{"neat-python": "neat"}.get(d, d.replace("-", "_")) for d in dists}
    missing = {mod: str(where) for mod, where in _third_party_imports().items() if mod not in import_names}
    assert not missing, f"imported by benchmarks/ but not installed by .[bench]: {missing}"
    for pin in ("neat-python==2.0.0", "multineat==0.12", "gymnasium==1.4.0"):
        assert pin in project["optional-dependencies"]["bench"]
