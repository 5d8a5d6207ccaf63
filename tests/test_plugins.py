"""The plugin surface: every hook, the manager, broken plugins, built-in reporters."""
import ast
import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import gymnasium
import pytest
from click.testing import CliRunner

import ezspark
from ezspark import hookimpl, hookspecs
from ezspark.plugins.manager import (DEFAULT_PLUGINS, PluginWarning, make_plugin_manager, plugin_envs,
                                     plugin_info)

from .envs_for_tests import SeedLogEnv

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(n for n in dir(hookspecs.EzsparkSpec) if n.startswith("ezspark_"))


def cartpole_cfg(**kw):
    keys = dict(gym_game_name="CartPole-v1", input_size=4, output_size=2, generations=3,
                max_number_of_steps=30, initial_population=10, max_number_of_games=2)
    keys.update(kw)
    return ezspark.TrainingConfig(**keys)


class Recorder:
    """A plugin that records every reporter hook call in order."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def ezspark_run_start(self, run):
        self.calls.append(("run_start", run))

    @hookimpl
    def ezspark_generation_start(self, run, generation, population):
        self.calls.append(("generation_start", generation, population))

    @hookimpl
    def ezspark_genomes_evaluated(self, run, generation, done, total):
        self.calls.append(("genomes_evaluated", generation, done, total))

    @hookimpl
    def ezspark_generation_end(self, run, stats):
        self.calls.append(("generation_end", stats))

    @hookimpl
    def ezspark_new_champion(self, run, champion):
        self.calls.append(("new_champion", champion.generation, champion.fitness))

    @hookimpl
    def ezspark_checkpoint(self, run, generation):
        self.calls.append(("checkpoint", generation))

    @hookimpl
    def ezspark_run_end(self, run, result):
        self.calls.append(("run_end", result))

    def named(self, name):
        return [c for c in self.calls if c[0] == name]


@pytest.fixture
def recorded(tmp_path):
    pm = make_plugin_manager(autoload=False)
    rec = Recorder()
    pm.register(rec, name="recorder")
    result = ezspark.train(cartpole_cfg(saving=2), out=tmp_path, seed=0, plugins=pm,
                           checkpoint_seconds=0)
    return rec, result


def test_every_hook_has_a_test():
    tests = {name for name, _ in inspect.getmembers(sys.modules[__name__], inspect.isfunction)}
    assert HOOKS, "no hookspecs found"
    missing = [h for h in HOOKS if f"test_hook_{h}" not in tests]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"


def test_docs_show_every_hook_signature():
    text = (ROOT / "docs" / "plugins.md").read_text()
    for name in HOOKS:
        params = [p for p in inspect.signature(getattr(hookspecs.EzsparkSpec, name)).parameters
                  if p != "self"]
        signature = f"`{name}({', '.join(params)})`"
        assert signature in text, f"docs/plugins.md lacks {signature}"
    documented = set(re.findall(r"`(ezspark_\w+)\(", text))
    assert documented <= set(HOOKS), f"documented hooks that do not exist: {documented - set(HOOKS)}"


def test_every_hookspec_has_a_docstring():
    for name in HOOKS:
        doc = getattr(hookspecs.EzsparkSpec, name).__doc__ or ""
        assert len(doc.split()) >= 8, name


def test_builtin_plugins_import_only_public_names():
    modules = [ROOT / (name.replace(".", "/") + ".py") for name in DEFAULT_PLUGINS]
    assert len(modules) >= 3
    others = {p.name for p in (ROOT / "ezspark" / "plugins").glob("*.py")} - {p.name for p in modules}
    assert others == {"__init__.py", "manager.py"}, "a module in ezspark/plugins/ is no built-in plugin"
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ezspark"):
                assert node.module == "ezspark", f"{path.name} imports from {node.module}"
                for alias in node.names:
                    assert not alias.name.startswith("_"), f"{path.name} imports {alias.name}"
                    assert alias.name in ezspark.__all__, f"{path.name} imports {alias.name}"
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("ezspark.") for a in node.names), path.name


def test_hook_ezspark_run_start(recorded):
    rec, result = recorded
    (call,) = rec.named("run_start")
    run = call[1]
    assert rec.calls[0] is call
    assert run.seed == 0 and run.env_id == "CartPole-v1" and run.generations == 3
    assert run.out == result.path and run.config.saving == 2


def test_hook_ezspark_generation_start(recorded):
    rec, result = recorded
    starts = rec.named("generation_start")
    assert [(g, p) for _, g, p in starts] == [(h.generation, h.population) for h in result.history]


def test_hook_ezspark_genomes_evaluated(recorded):
    rec, result = recorded
    for h in result.history:
        done = [c[2] for c in rec.named("genomes_evaluated") if c[1] == h.generation]
        assert done == sorted(done) and done[-1] == h.population


def test_hook_ezspark_generation_end(recorded):
    rec, result = recorded
    assert [c[1] for c in rec.named("generation_end")] == list(result.history)
    order = [c[0] for c in rec.calls]
    for k in range(3):                       # start < evaluated < end, per generation
        i = order.index("generation_start", *([0] if k == 0 else [order.index("generation_end") + 1]))
        assert order[i + 1] == "genomes_evaluated"


def test_hook_ezspark_new_champion(recorded):
    rec, result = recorded
    champs = rec.named("new_champion")
    assert [c[1] for c in champs] == [0, 2]               # saving 2, and the final one
    ends = [i for i, c in enumerate(rec.calls) if c[0] == "generation_end"]
    news = [i for i, c in enumerate(rec.calls) if c[0] == "new_champion"]
    assert news[0] == ends[0] + 1 and news[1] == ends[2] + 1


def test_hook_ezspark_population(tmp_path):
    class Populations:
        def __init__(self):
            self.calls = []

        @hookimpl
        def ezspark_population(self, run, generation, population, fitness, species):
            self.calls.append((run.save_population, generation, len(population),
                               fitness.copy(), species.copy()))

    pm = make_plugin_manager(autoload=False)
    rec = Populations()
    pm.register(rec, name="populations")
    result = ezspark.train(cartpole_cfg(generations=5), out=tmp_path, seed=0, plugins=pm,
                           save_population=2)
    assert [c[:3] for c in rec.calls] == [(2, g, result.history[g].population)
                                          for g in (0, 2, 4)]
    for _, g, _, fitness, species in rec.calls:
        assert fitness.max() == result.history[g].best_fitness
        assert (species == -1).all() == (g == 4)          # the final one is not speciated
    assert not ezspark.train(cartpole_cfg(generations=2), seed=0, plugins=pm).path
    assert len(rec.calls) == 3                            # save_population 0: never called


def test_hook_ezspark_run_end(recorded):
    rec, result = recorded
    assert rec.calls[-1][0] == "run_end" and rec.calls[-1][1].stopped == "generations"
    assert rec.calls[-1][1].history == result.history


def test_hook_ezspark_checkpoint(recorded, tmp_path):
    rec, result = recorded
    assert [c[1] for c in rec.named("checkpoint")] == [0, 1, 2]
    names = [c[0] for c in rec.calls]
    for k, i in enumerate(i for i, c in enumerate(rec.calls) if c[0] == "checkpoint"):
        before = names[:i]
        assert before.count("generation_end") == k + 1     # after that generation's reports
    assert (result.path.parent / "checkpoint.h5").exists()


def test_hook_ezspark_register_envs():
    class EnvPlugin:
        @hookimpl
        def ezspark_register_envs(self, register):
            register("ezspark_tests_plugin/SeedLog-v7", SeedLogEnv, max_episode_steps=20)

    pm = make_plugin_manager(autoload=False, register_envs=False)
    pm.register(EnvPlugin(), name="envplugin")
    from ezspark.plugins.manager import _register_envs
    _register_envs(pm)
    try:
        assert "ezspark_tests_plugin/SeedLog-v7" in gymnasium.registry
        assert plugin_envs(pm)["ezspark_tests_plugin/SeedLog-v7"][0] == "envplugin"
        r = ezspark.train(ezspark.TrainingConfig(
            gym_game_name="ezspark_tests_plugin/SeedLog-v7", input_size=2, output_size=2,
            generations=2, initial_population=4, minimum_reward=-5), seed=0, plugins=pm)
        assert r.generations == 2
    finally:
        gymnasium.registry.pop("ezspark_tests_plugin/SeedLog-v7", None)


def test_hook_ezspark_register_batched_envs(monkeypatch):
    """A plugin registers an environment and a batched version next to it (here a copy of
    CartPole-v1 and ezspark's own batched CartPole, named by a string): the evaluator plays
    on it, with the same history as with batched environments switched off."""
    from ezspark.batched import compare, factory_for
    from ezspark.batched.classic import CartPole
    from ezspark.plugins import manager

    env_id = "ezspark_tests_plugin/Cart-v3"

    class BatchedPlugin:
        @hookimpl
        def ezspark_register_envs(self, register):
            register(env_id, "gymnasium.envs.classic_control.cartpole:CartPoleEnv",
                     max_episode_steps=500)

        @hookimpl
        def ezspark_register_batched_envs(self, register):
            register(env_id, "ezspark.batched.classic:CartPole")

    manager.get_plugin_manager()
    monkeypatch.setattr(manager, "_BATCHED", dict(manager._BATCHED))
    pm = make_plugin_manager(autoload=False, register_envs=False)
    pm.register(BatchedPlugin(), name="batchedplugin")
    manager._register_envs(pm)
    manager._register_batched(pm)
    try:
        assert factory_for(env_id) is CartPole
        assert compare(env_id, episodes=6) > 6
        cfg = ezspark.TrainingConfig(gym_game_name=env_id, input_size=4, output_size=2,
                                     generations=3, initial_population=12)
        histories = []
        for switch in ("0", "1"):
            monkeypatch.setenv("EZSPARK_NO_BATCHED_ENVS", switch)
            histories.append(ezspark.train(cfg, seed=1, plugins=pm).history)
        assert [attrs.evolve(h, seconds=0.0) for h in histories[0]] == \
            [attrs.evolve(h, seconds=0.0) for h in histories[1]]
    finally:
        gymnasium.registry.pop(env_id, None)


def test_hook_ezspark_register_commands(monkeypatch):
    import click

    from ezspark.plugins import manager as _pluginmanager
    from ezspark.cli import cli, main

    class CommandPlugin:
        @hookimpl
        def ezspark_register_commands(self, cli):
            @click.command("hello-plugin")
            def hello():
                click.echo("hello from a plugin")
            cli.add_command(hello)

    pm = make_plugin_manager(autoload=False)
    pm.register(CommandPlugin(), name="cmd")
    monkeypatch.setattr(_pluginmanager, "_manager", pm)
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["hello-plugin"])
        assert exit_.value.code == 0
        assert "hello-plugin" in cli.commands
    finally:
        cli.commands.pop("hello-plugin", None)


# --- installed (entry-point) plugins, good and broken ------------------------------------
def make_dist(root: Path, dist: str, module: str, source: str, version="1.2.3"):
    """A minimal installed distribution on ``root``: a module and an entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ezspark]\n{dist} = {module}\n")


GOOD = """
    from ezspark import hookimpl
    from tests.envs_for_tests import SeedLogEnv
    seen = []
    @hookimpl
    def ezspark_register_envs(register):
        register("goodplug/SeedLog-v0", SeedLogEnv, max_episode_steps=20)
    @hookimpl
    def ezspark_generation_end(run, stats):
        seen.append(stats.generation)
"""


@pytest.fixture
def installed(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("EZSPARK_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    yield tmp_path
    for env_id in [e for e in gymnasium.registry if e.startswith(("goodplug/", "dupplug/"))]:
        gymnasium.registry.pop(env_id)


def test_entry_point_plugin_registers_envs_and_reports(installed):
    make_dist(installed, "goodplug", "goodplug_mod", GOOD)
    pm = make_plugin_manager()
    info = {r["name"]: r for r in plugin_info(pm)}
    assert info["goodplug"]["version"] == "1.2.3" and info["goodplug"]["status"] == "loaded"
    assert plugin_envs(pm)["goodplug/SeedLog-v0"][0] == "goodplug"
    ezspark.train(ezspark.TrainingConfig(gym_game_name="goodplug/SeedLog-v0", input_size=2,
                                         output_size=2, generations=2, minimum_reward=-5), seed=0,
                  plugins=pm)
    assert sys.modules["goodplug_mod"].seen == [0, 1]


@pytest.mark.parametrize("source, fragment", [
    ("import no_such_module_anywhere\n", "failed to load: ModuleNotFoundError"),
    ("from ezspark import hookimpl\n@hookimpl\ndef ezspark_generaton_end(run, stats):\n    pass\n",
     "ezspark_generaton_end"),
])
def test_plugin_that_cannot_load_is_switched_off_with_its_name(installed, source, fragment):
    make_dist(installed, "badplug", "badplug_mod", source)
    with pytest.warns(PluginWarning, match=r"plugin 'badplug' \(from badplug 1.2.3") as rec:
        pm = make_plugin_manager()
    assert fragment in str(rec[0].message)
    status = {r["name"]: r["status"] for r in plugin_info(pm)}
    assert status["badplug"].startswith("switched off")
    r = ezspark.train(cartpole_cfg(generations=2), seed=0, plugins=pm)   # ezspark still runs
    assert r.generations == 2


def test_plugin_whose_hook_raises_is_switched_off_and_the_run_goes_on(installed, tmp_path):
    make_dist(installed, "raiseplug", "raiseplug_mod", """
        from ezspark import hookimpl
        calls = []
        @hookimpl
        def ezspark_generation_end(run, stats):
            calls.append(stats.generation)
            raise RuntimeError("reporter bug")
    """)
    pm = make_plugin_manager()
    with pytest.warns(PluginWarning, match=r"plugin 'raiseplug'.*switched off.*"
                                           r"ezspark_generation_end raised RuntimeError: reporter bug"):
        r = ezspark.train(cartpole_cfg(), seed=0, plugins=pm, out=tmp_path / "o")
    assert r.generations == 3 and r.path is not None
    assert sys.modules["raiseplug_mod"].calls == [0]          # called once, then off
    assert pm.get_plugin("raiseplug") is None


def test_registering_an_id_twice_is_refused_naming_the_plugin(installed):
    make_dist(installed, "dupplug", "dupplug_mod", """
        from ezspark import hookimpl
        from tests.envs_for_tests import SeedLogEnv
        @hookimpl
        def ezspark_register_envs(register):
            register("dupplug/SeedLog-v0", SeedLogEnv)
            register("CartPole-v1", SeedLogEnv)
    """)
    with pytest.warns(PluginWarning, match="plugin 'dupplug' registers environment "
                                           "'CartPole-v1', which gymnasium already registered"):
        pm = make_plugin_manager()
    assert "dupplug/SeedLog-v0" in plugin_envs(pm)
    assert gymnasium.spec("CartPole-v1").entry_point.endswith("CartPoleEnv")


def test_cli_prints_plugin_warnings_as_one_line(tmp_path):
    make_dist(tmp_path, "clibad", "clibad_mod", "raise ImportError('broken on purpose')\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != "EZSPARK_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = f"{tmp_path}:{ROOT}"
    out = subprocess.run([sys.executable, "-m", "ezspark", "plugins"], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0
    assert "Warning: plugin 'clibad' (from clibad 1.2.3" in out.stderr
    assert "Traceback" not in out.stderr
    assert re.search(r"clibad .*switched off", out.stdout)


# --- built-in reporters can be silenced or replaced -------------------------------------
def test_blocking_builtin_reporters(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EZSPARK_BLOCK_PLUGINS", "ezspark.plugins.summary,ezspark.plugins.hdf5_store")
    pm = make_plugin_manager(autoload=False)
    r = ezspark.train(cartpole_cfg(), seed=0, plugins=pm, out=tmp_path / "o", progress=True)
    assert "gen " not in capsys.readouterr().out
    assert r.path is None and not (tmp_path / "o" / "run.h5").exists()


def test_summary_lines_only_with_progress(capsys):
    pm = make_plugin_manager(autoload=False)
    ezspark.train(cartpole_cfg(), seed=0, plugins=pm)
    assert capsys.readouterr().out == ""
    ezspark.train(cartpole_cfg(), seed=0, plugins=pm, progress=True)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("gen ")]
    assert len(lines) == 3


def test_cli_envs_and_plugins_commands():
    from ezspark.cli import cli
    res = CliRunner().invoke(cli, ["envs"])
    assert res.exit_code == 0 and re.search(r"^CartPole-v1\s+gymnasium", res.output, re.M)
    res = CliRunner().invoke(cli, ["plugins", "--json"])
    names = {r["name"] for r in json.loads(res.output)}
    assert {"ezspark.plugins.progress", "ezspark.plugins.summary",
            "ezspark.plugins.hdf5_store"} <= names
