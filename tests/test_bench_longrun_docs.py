"""``benchmarks/bench_longrun.py --docs-example``: the documented example (the file
``ezspark init --defaults`` writes) trained for a wall time through the real store, one row
per generation and a table per tenth.  A 3-second run in a subprocess, results written to a
temporary directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parent.parent


def test_docs_example_mode_stops_on_time_and_records_every_generation(tmp_path):
    env = dict(os.environ, BENCH_RESULTS_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_longrun.py"),
                           "--docs-example", "--minutes", "0.05", "--keep", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "bench_longrun_docs.json").read_text())
    example = json.loads((REPO / "examples" / "ezspark-docs-example.json").read_text())
    assert result["config"] == example
    assert result["stopped"] == "stop" and 3 <= result["wall_seconds"] < 30
    rows = result["per_generation"]
    assert [r["generation"] for r in rows] == list(range(len(rows))) == \
        list(range(result["generations"]))
    assert rows[0]["population"] == example["initial_population"]
    assert all(r["species"] >= 1 for r in rows[:-1]) and rows[-1]["species"] == -1
    assert all(0 <= r["evaluation_s"] <= r["wall_s"] and 0 <= r["store_s"] <= r["wall_s"]
               for r in rows)
    # the run's own history agrees with the rows: the same populations, in run.h5
    with h5py.File(tmp_path / "run" / "run.h5", "r", swmr=True) as f:
        assert list(f["history"]["population"]) == [r["population"] for r in rows]
    tenths = result["tenths"]
    assert sum(t["generations"] for t in tenths) == len(rows)
    assert all(t["outside_ms_per_genome"] > 0 and 0 <= t["store_share"] < 1 for t in tenths)
