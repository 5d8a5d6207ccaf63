"""Choose bench_cartpole.py's ezspark settings on seeds the benchmark never uses.

For each candidate (overrides of the docs example values; the task keys, population 150 and
the solve test stay those of bench_cartpole.py) this runs ezspark serially on the tuning
seeds (default 100-119) and reports env steps to solve (training + validation): the work
that wall time follows.  Steps are deterministic per (seed, settings), so the runs go on
two processes at once and the machine's load does not matter.  Each call appends one round
to ``results/tune_cartpole.json`` (``tune_cartpole_quick.json`` with ``--quick``).

Usage: python benchmarks/tune_cartpole.py [--seeds 100-119] [--max-gens 40] [--only NAME,...] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

CANDIDATES = {
    "docs": {},
    "thr2": {"species_threshold": 2.0},
    "thr1": {"species_threshold": 1.0},
    "thr5": {"species_threshold": 5.0},
    "newconn0.3": {"new_connection_assignment_rate": 0.3},
    "newconn0.5": {"new_connection_assignment_rate": 0.5},
    "mut0.5": {"connection_mutation_rate": 0.5},
    "nonode": {"add_node_specie_rate": 0.0},
    "surv0.2": {"percentage_survivors_per_specie": 0.2},
    "surv0.5": {"percentage_survivors_per_specie": 0.5},
    "nocross": {"crossover_rate": 0.0},
    "newconn0.7": {"new_connection_assignment_rate": 0.7},
    "newconn0.9": {"new_connection_assignment_rate": 0.9},
    "nc0.5_thr2": {"new_connection_assignment_rate": 0.5, "species_threshold": 2.0},
    "nc0.5_surv0.2": {"new_connection_assignment_rate": 0.5, "percentage_survivors_per_specie": 0.2},
    "nc0.5_thr2_surv0.2": {"new_connection_assignment_rate": 0.5, "species_threshold": 2.0,
                           "percentage_survivors_per_specie": 0.2},
}


def one(args):
    name, overrides, seed, max_gens = args
    import bench_cartpole as bc
    r = bc.ez_run(seed, 1, max_gens=max_gens, config=overrides)
    return {"name": name, "seed": seed, "solved": r["solved"], "generations": r["generations"],
            "train_steps": r["train_steps"], "validation_steps": r["validation_steps"],
            "validations": r["validations"], "wall_s": r["wall_s"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="100-119")
    ap.add_argument("--max-gens", type=int, default=40)
    ap.add_argument("--only", default="")
    ap.add_argument("--extra", default="", help='JSON {"name": {overrides}} added to the candidates')
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smoke test: seeds 100-101, candidates docs and newconn0.7")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.only = "100-101", "docs,newconn0.7"
    out_path = os.path.join(H.results_dir(), "tune_cartpole" + ("_quick" if args.quick else "") + ".json")
    lo, hi = (int(x) for x in args.seeds.split("-"))
    cands = dict(CANDIDATES)
    if args.extra:
        cands.update(json.loads(args.extra))
    if args.only:
        cands = {k: cands[k] for k in args.only.split(",")}
    jobs = [(n, o, s, args.max_gens) for n, o in cands.items() for s in range(lo, hi + 1)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.procs) as ex:
        rows = list(ex.map(one, jobs))
    summary = {}
    for name, overrides in cands.items():
        rs = [r for r in rows if r["name"] == name]
        tot = [r["train_steps"] + r["validation_steps"] for r in rs]
        summary[name] = {"overrides": overrides, "solved": sum(r["solved"] for r in rs),
                         "runs": len(rs), "median_total_steps": statistics.median(tot),
                         "mean_total_steps": round(statistics.mean(tot)),
                         "max_total_steps": max(tot),
                         "median_generations": statistics.median(r["generations"] for r in rs),
                         "validations": sum(r["validations"] for r in rs),
                         "per_seed_total_steps": tot}
        print(f"{name:14s} solved {summary[name]['solved']}/{len(rs)}  median {summary[name]['median_total_steps']:>10,.0f}"
              f"  mean {summary[name]['mean_total_steps']:>10,}  max {max(tot):>10,}  gens {summary[name]['median_generations']}"
              f"  validations {summary[name]['validations']}", flush=True)
    out = {"seeds": args.seeds, "max_gens": args.max_gens, "summary": summary, "runs": rows,
           "wall_s": round(time.perf_counter() - t0, 1)}
    try:
        with open(out_path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    old.setdefault("rounds", []).append(out)
    with open(out_path, "w") as f:
        json.dump(old, f, indent=1)


if __name__ == "__main__":
    main()
