"""Stable speciation (issue #15 item 3): the species count of runs with ``target_species``.

For each task the example config (XOR: ``examples/xor.py``'s config and fitness) is run with
``target_species`` T (default 10) on each seed until its budget is spent (env steps, or
genome evaluations for XOR; validation episodes count too, as in bench_learning.py), and the
species count of every generation is recorded (the history's ``species``: after the cull,
docs/algorithm.md 6.4).  Reported per task: the share of generations from 10 on whose count
lies within 0.5·T to 1.5·T, the range of counts from generation 10 on, and the same for the
same config without the key (EzSpark's fixed threshold), measured in the same run.

Usage: python benchmarks/bench_species.py [--tasks xor,acrobot,lunarlander] [--seeds 0-2]
           [--target 10] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _harness as H  # noqa: E402
from bench_learning import BudgetStop  # noqa: E402

import ezspark  # noqa: E402

ROOT = os.path.dirname(HERE)
BUDGETS = {"xor": 30_000, "acrobot": 1_000_000, "lunarlander": 1_500_000}
QUICK = {"xor": 3_000, "acrobot": 20_000, "lunarlander": 20_000}


def task_config(task: str, target: int | None):
    """The task's example config with ``target_species`` set (None: left out), its fitness
    function (XOR) and its budget unit."""
    if task == "xor":
        sys.path.insert(0, os.path.join(ROOT, "examples"))
        import xor                          # examples/xor.py: its config and fitness
        keys, fitness, unit = xor.xor_config().to_dict(), xor.xor_fitness, "evaluations"
    else:
        with open(os.path.join(ROOT, "examples", f"{task}.json")) as f:
            keys, fitness, unit = json.load(f), None, "env_steps"
    keys.update(generations=1_000_000, target_species=target)
    keys.pop("fitness_threshold", None)
    return ezspark.TrainingConfig.from_dict(keys), fitness, unit


def one(task: str, seed: int, target: int | None, budget: int) -> list[int]:
    """The species count of every reproduced generation of one run."""
    cfg, fitness, unit = task_config(task, target)
    stop = BudgetStop(budget, unit=unit)
    result = ezspark.train(cfg, seed=seed, fitness=fitness, plugins=stop.manager(), stop=stop)
    return [h.species for h in result.history if h.species >= 0]


def band(counts: list[int], target: int) -> dict:
    late = counts[10:]
    inside = [0.5 * target <= s <= 1.5 * target for s in late]
    return {"generations": len(counts), "share_in_band": sum(inside) / len(late) if late else None,
            "min": min(late, default=None), "max": max(late, default=None)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="xor,acrobot,lunarlander")
    ap.add_argument("--seeds", default="0-2")
    ap.add_argument("--target", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="tiny budgets, seed 0")
    args = ap.parse_args()
    lo, _, hi = args.seeds.partition("-")
    seeds = [0] if args.quick else list(range(int(lo), int(hi or lo) + 1))
    machine, runs, summary = H.machine_info(), [], {}
    for task in args.tasks.split(","):
        budget = (QUICK if args.quick else BUDGETS)[task]
        for target in (args.target, None):
            rows = []
            for seed in seeds:
                counts = one(task, seed, target, budget)
                row = {"task": task, "target": target, "seed": seed, "species": counts,
                       **band(counts, args.target)}
                H.log(f"{task} target {target} seed {seed}: {row['generations']} generations, "
                      f"in band {row['share_in_band']}, species {row['min']}-{row['max']}")
                rows.append(row)
            runs += rows
            shares = [r["share_in_band"] for r in rows if r["share_in_band"] is not None]
            summary[f"{task}/{'target' if target else 'fixed'}"] = {
                "mean_share_in_band": sum(shares) / len(shares) if shares else None,
                "min": min((r["min"] for r in rows if r["min"] is not None), default=None),
                "max": max((r["max"] for r in rows if r["max"] is not None), default=None)}
    full = {"machine": machine, "target": args.target, "budgets": BUDGETS, "seeds": seeds,
            "summary": summary, "runs": runs}
    H.emit("bench_species_quick" if args.quick else "bench_species", full, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
