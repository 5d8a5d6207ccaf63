"""run.h5 format 2 (issue 14): appended in place in SWMR mode, readable while a run writes
it and after SIGKILL; format-1 files still read by every command and converted on resume."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import ezspark
from ezspark.cli import cli
from ezspark.network.champion import Champion
from ezspark.store.champions import ChampionTable
from .naive import random_genome
from .helpers import assert_same_history_and_champions

ROOT = Path(__file__).resolve().parent.parent
FORMAT1 = Path(__file__).resolve().parent / "data" / "format1_run"


def cli_env():
    return dict(os.environ, EZSPARK_DISABLE_PLUGIN_AUTOLOAD="1")


def long_cartpole(tmp_path, **kw):
    keys = ezspark.TrainingConfig.docs_example().to_dict()
    keys.update(gym_game_name="CartPole-v1", generations=100000, max_number_of_steps=20,
                initial_population=10, max_number_of_games=1, max_population=20, saving=1)
    keys.update(kw)
    path = tmp_path / "long.json"
    path.write_text(json.dumps(keys))
    return path


def start_run(cfg, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "ezspark", "run", str(cfg), "--out",
                             str(out), "-q", "--seed", "4", *extra], cwd=ROOT, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def swmr_rows(path) -> int:
    """The history rows a reader sees (0 before the file exists)."""
    try:
        with h5py.File(path, "r", swmr=True) as f:
            return f["history"].shape[0]
    except (OSError, KeyError):
        return 0


class TestFormat1:
    @pytest.fixture
    def old(self, tmp_path):
        shutil.copytree(FORMAT1, tmp_path / "old")
        with h5py.File(tmp_path / "old" / "run.h5", "r") as f:
            assert int(f.attrs["format_version"]) == 1 and "gen_000002" in f["champions"]
        return tmp_path / "old"

    def test_every_command_reads_it(self, old, tmp_path):
        run = ezspark.RunFile.open(old)
        assert run.generations == [0, 1, 2] and run.history.shape == (3,)
        assert run.champion().num_connections > 0
        assert ezspark.load_champion(old, 1).genome == run.champion(1).genome
        data = json.loads(CliRunner().invoke(cli, ["inspect", str(old), "--json"]).output)
        assert data["format_version"] == 1 and data["status"] == "stop"
        assert [c["generation"] for c in data["champions"]] == [0, 1, 2]
        assert data["champions"][-1]["connections"] == run.champion().num_connections
        res = CliRunner().invoke(cli, ["export", str(old), "-g", "1", "-o",
                                       str(tmp_path / "c.json")])
        assert res.exit_code == 0, res.output
        assert ezspark.load_champion(tmp_path / "c.json").genome == run.champion(1).genome
        res = CliRunner().invoke(cli, ["play", str(old), "-n", "1"])
        assert res.exit_code == 0, res.output
        pytest.importorskip("matplotlib")
        res = CliRunner().invoke(cli, ["plot", str(old), "-o", str(tmp_path / "p.png")])
        assert res.exit_code == 0, res.output

    def test_resume_converts_it_to_format_2_and_continues_the_same_run(self, old, tmp_path):
        cfg = tmp_path / "cfg.json"
        cfg.write_text(ezspark.RunFile.open(old).config_json)
        res = CliRunner().invoke(cli, ["run", str(cfg), "--out", str(old), "--resume", "-q"])
        assert res.exit_code == 0, res.output
        with h5py.File(old / "run.h5", "r") as f:
            assert int(f.attrs["format_version"]) == 2
            assert f["champions"]["index"]["generation"].tolist() == list(range(6))
        with h5py.File(old / "checkpoint.h5", "r") as f:
            assert "history" not in f                     # run.h5 alone holds it now
        fresh = ezspark.train(ezspark.TrainingConfig.from_json(cfg), seed=11,
                              out=tmp_path / "fresh")
        assert_same_history_and_champions(fresh.path, old / "run.h5")


def test_a_reader_sees_the_rows_grow_while_the_run_writes(tmp_path):
    out = tmp_path / "r"
    proc = start_run(long_cartpole(tmp_path), out)
    try:
        deadline = time.time() + 60
        while swmr_rows(out / "run.h5") == 0 and time.time() < deadline:
            time.sleep(0.1)
        with h5py.File(out / "run.h5", "r", swmr=True) as f:   # one reader, kept open
            history = f["history"]
            seen = [history.shape[0]]
            while len(set(seen)) < 3 and time.time() < deadline:
                time.sleep(0.5)
                history.refresh()
                seen.append(history.shape[0])
            rows = history[()]
        assert len(set(seen)) >= 3 and seen == sorted(seen), seen
        assert rows["generation"].tolist() == list(range(rows.shape[0]))
        run = ezspark.RunFile.open(out)                  # ezspark's reader, too
        assert run.attrs["status"] == "running" and run.attrs["wall_seconds"] > 0
        assert run.history.shape[0] >= rows.shape[0] and run.champion().generation >= 0
    finally:
        proc.kill()
        proc.wait()


def finished(checkpoint) -> bool:
    """The checkpoint is a finished run's: a kill after it leaves nothing to resume (a
    resume says so and exits 2)."""
    if not checkpoint.exists():
        return False
    with h5py.File(checkpoint, "r") as f:
        return bool(f.attrs.get("finished", False))


@pytest.mark.slow
def test_sigkill_at_random_instants_keeps_every_flushed_row_and_resume_is_exact(tmp_path):
    """Kill a run at random instants, several times, resuming it in between: every row a
    reader saw before the kill is still there, plain h5py opens the file each time, and the
    finished run equals one never killed."""
    cfg = long_cartpole(tmp_path, generations=1500)
    ref = tmp_path / "ref"
    assert start_run(cfg, ref).wait() == 0
    out, rng, extra = tmp_path / "killed", np.random.default_rng(3), []
    for attempt in range(8):
        proc = start_run(cfg, out, *extra)
        time.sleep(1.0 + rng.random() * 3.0)
        seen = swmr_rows(out / "run.h5")
        proc.send_signal(signal.SIGKILL)
        if proc.wait() == 0:
            break                                        # it finished first
        if not (out / "run.h5").exists():
            extra = []                                   # killed before it began
            continue
        code = ("import sys, h5py\n"
                "with h5py.File(sys.argv[1], 'r', swmr=True) as f:\n"
                "    g = f['history']['generation']\n"
                "    assert list(g) == list(range(len(g))), list(g)\n"
                "    assert f['champions/index'].shape[0] >= len(g)\n"
                "    print(len(g))\n"
                "assert 'ezspark' not in sys.modules\n")
        check = subprocess.run([sys.executable, "-c", code, str(out / "run.h5")],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert int(check.stdout) >= seen
        if finished(out / "checkpoint.h5"):
            break                                        # killed after its last checkpoint
        extra = ["--resume"] if (out / "checkpoint.h5").exists() else ["--overwrite"]
    else:
        last = start_run(cfg, out, *extra)
        assert last.wait() == 0, f"ezspark run {' '.join(extra)}: {last.stderr.read()}"
    assert_same_history_and_champions(ref / "run.h5", out / "run.h5")


def test_champion_rows_built_for_many_champions_at_once_equal_one_at_a_time():
    """ChampionTable.of (one flush, many champions) gives each champion its inputs, outputs
    and sorted hidden nodes, and its genes, and reads back the same champion."""
    rng = np.random.default_rng(5)
    champions = []
    for k in range(60):
        n_in, n_out = (2, 1) if k % 3 else (4, 2)
        genome = random_genome(rng, n_in, n_out, n_genes=int(rng.integers(0, 12)))
        champions.append(Champion(genome, n_in, n_out, generation=k, fitness=k / 2,
                                  species=k % 4))
    table = ChampionTable.of(champions, node_start=7, conn_start=9)
    together = ChampionTable.of(champions)
    for row, c in zip(table.index, champions):
        nodes = table.nodes[row["node_offset"] - 7:row["node_offset"] - 7 + row["node_count"]]
        io = c.n_inputs + c.n_outputs
        assert nodes["id"].tolist() == list(range(1, io + 1)) + c.hidden_nodes.tolist()
        assert nodes["kind"].tolist() == [0] * c.n_inputs + [1] * c.n_outputs + \
            [2] * len(c.hidden_nodes)
        back = together.champion(c.generation, None)
        assert back.genome == c.genome and (back.n_inputs, back.n_outputs) == \
            (c.n_inputs, c.n_outputs) and back.species == c.species
    assert table.index["conn_offset"][0] == 9 and len(ChampionTable.of([]).index) == 0
