"""The three runs whose results are pinned bit for bit (tests/test_golden.py).

Each run is described by a function that trains it into a directory and returns the path
of its run.h5.  ``record(path)`` turns a run.h5 into the JSON-able record that is
compared: every history column except the wall time, and every saved champion (its
fitness and a SHA-256 digest of its genome arrays).  Floats are written with
``float.hex`` so the comparison is exact.

To update the pinned files on purpose (a change that alters results says so in its
commit and in CHANGELOG.md):

    python -m tests.golden.runs --write
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

import ezspark

HERE = Path(__file__).parent
EXAMPLES = HERE.parent.parent / "examples"
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])
#: format-1 dataset names (the digest's order) and their format-2 columns
_FLAT = {"conn_innovation": ("connections", "innovation"), "conn_in": ("connections", "in"),
         "conn_out": ("connections", "out"), "conn_weight": ("connections", "weight"),
         "conn_enabled": ("connections", "enabled"), "node_id": ("nodes", "id"),
         "node_kind": ("nodes", "kind")}
GENE_COLUMNS = ("conn_innovation", "conn_in", "conn_out", "conn_weight", "conn_enabled",
                "node_id", "node_kind")


def xor_fitness(nets):
    out = nets.activate(XOR_X)
    return 4.0 - ((out[:, :, 0] - XOR_Y) ** 2).sum(axis=1)


def _cfg(path, **overrides):
    keys = ezspark.TrainingConfig.from_json(path).to_dict()
    keys.update(overrides)
    return ezspark.TrainingConfig.from_dict(keys)


def cartpole(out: Path) -> Path:
    """CartPole-v1: 20 generations of 60 genomes, 3 games of at most 200 steps."""
    cfg = _cfg(EXAMPLES / "cartpole.json", initial_population=60, generations=20,
               max_number_of_games=3, max_number_of_steps=200, species_threshold=1.5,
               fitness_threshold=None)
    return ezspark.train(cfg, out=out, seed=11).path


def xor(out: Path) -> Path:
    """XOR through the fitness API: the docs example's evolution values, 80 generations."""
    keys = ezspark.TrainingConfig.docs_example().to_dict()
    keys.update(gym_game_name=None, input_size=2, output_size=1, species_threshold=2.0,
                generations=80, initial_population=50)
    cfg = ezspark.TrainingConfig.from_dict(keys)
    return ezspark.train(cfg, out=out, seed=3, fitness=xor_fitness).path


def acrobot_workers(out: Path) -> Path:
    """Acrobot-v1 evaluated on two worker processes: 6 generations of 40 genomes."""
    cfg = _cfg(EXAMPLES / "acrobot.json", initial_population=40, generations=6,
               max_number_of_games=2, max_number_of_steps=150, fitness_threshold=None)
    return ezspark.train(cfg, out=out, seed=5, workers=2).path


RUNS = {"cartpole": cartpole, "xor": xor, "acrobot_workers": acrobot_workers}


def _exact(value):
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    return int(value)


def record(run_h5: Path) -> dict:
    """History rows (without ``seconds``) and saved champions of a run file, exactly (run.h5
    format 2: champion k is index row k and its slice of /champions/connections; the record
    keeps the format-1 group names, so that the pinned files stay as they were)."""
    with h5py.File(run_h5, "r", swmr=True) as f:
        history = f["history"][()]
        rows = [{name: _exact(row[name]) for name in history.dtype.names if name != "seconds"}
                for row in history]
        index = f["champions"]["index"][()]
        tables = {name: f["champions"][name][()] for name in ("nodes", "connections")}
    champions = []
    for row in index:
        parts = {"nodes": tables["nodes"][row["node_offset"]:row["node_offset"]
                                          + row["node_count"]],
                 "connections": tables["connections"][row["conn_offset"]:row["conn_offset"]
                                                      + row["conn_count"]]}
        digest = hashlib.sha256()
        for column in GENE_COLUMNS:
            table, field = _FLAT[column]
            digest.update(np.ascontiguousarray(parts[table][field]).tobytes())
        champions.append({"group": f"gen_{int(row['generation']):06d}",
                          "fitness": _exact(row["fitness"]), "species": int(row["species"]),
                          "genes": digest.hexdigest()})
    return {"history": rows, "champions": champions}


def pinned_path(name: str) -> Path:
    return HERE / f"{name}.json"


def main() -> int:
    parser = argparse.ArgumentParser(description="Compare or rewrite the golden histories")
    parser.add_argument("--write", action="store_true", help="rewrite the pinned files")
    args = parser.parse_args()
    different = 0
    for name, run in RUNS.items():
        with tempfile.TemporaryDirectory() as tmp:
            got = record(run(Path(tmp)))
        path = pinned_path(name)
        if args.write:
            path.write_text(json.dumps(got, indent=1) + "\n")
            print(f"wrote {path}")
        elif json.loads(path.read_text()) != got:
            different += 1
            print(f"{name}: differs from {path}")
        else:
            print(f"{name}: identical")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
