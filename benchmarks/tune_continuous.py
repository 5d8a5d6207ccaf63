"""Choose the continuous-control examples' settings on tuning seeds the benchmark never uses.

For each candidate (overrides of the task's starting point ``BASE``) and each tuning seed
(default 100-102; ``bench_continuous.py`` evaluates on 0-4), this trains ezspark with
``bench_continuous.run_one`` until the task's env-step budget is spent (training and
validation episodes both count, the run cut as the benchmark cuts it) and scores the
champion the run hands out (the best validated one) on the benchmark's 100 unseen episodes.
Env steps and returns are deterministic per (seed, settings): the machine's load changes
wall time only.  Each call appends one round to ``results/tune_continuous.json``, rewritten
after every run (``complete`` false until the round ends).

``BASE``: the LunarLander-v3 example's settings (``examples/lunarlander.json``: 150 genomes,
``min_population`` 150, ``same_fitness_limit`` 1,000,000, 1 game a genome, validation 20
episodes) with the task's sizes, episode length and ``minimum_reward``.

Usage: python benchmarks/tune_continuous.py --task pendulum [--seeds 100-102]
           [--only NAME,...] [--extra '{"name": {...}}'] [--budget N] [-j 1]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _harness as H  # noqa: E402
import bench_continuous as B  # noqa: E402


def _base(env_id: str, n_in: int, n_out: int, steps: int, minimum_reward: float) -> dict:
    with open(os.path.join(ROOT, "examples", "lunarlander.json")) as f:
        keys = json.load(f)
    keys.update(gym_game_name=env_id, input_size=n_in, output_size=n_out,
                max_number_of_steps=steps, minimum_reward=minimum_reward)
    return keys


# Pendulum-v1: reward -(angle² + 0.1·speed² + 0.001·torque²) >= -(π² + 6.4 + 0.004)
# = -16.27360;
# MountainCarContinuous-v0: -0.1·action² per step (>= -0.1), +100 at the flag;
# LunarLanderContinuous-v3: -100 on a crash, every other step far above it.
BASE = {
    "pendulum": _base("Pendulum-v1", 3, 1, 200, -16.2737),
    "mountaincar": _base("MountainCarContinuous-v0", 2, 1, 999, -0.1),
    "lunarlander": _base("LunarLanderContinuous-v3", 8, 2, 1000, -100),
}


def _pop(n: int) -> dict:
    return {"initial_population": n, "min_population": n}


CANDIDATES = {
    "pendulum": {
        "base": {},
        "pop50": _pop(50),
        "pop50_val5": {**_pop(50), "validation_games": 5},
        "pop100": _pop(100),
        "pop50_g3": {**_pop(50), "max_number_of_games": 3},
    },
    "mountaincar": {
        "base": {},
        "pop50": _pop(50),
        "pop50_steps300": {**_pop(50), "max_number_of_steps": 300},
        "pop20_steps300_val5": {**_pop(20), "max_number_of_steps": 300, "validation_games": 5},
        "pop50_steps300_val5": {**_pop(50), "max_number_of_steps": 300, "validation_games": 5},
    },
    "lunarlander": {
        "base": {},
        "g3": {"max_number_of_games": 3},
        "pop100": _pop(100),
    },
}


def one(args) -> dict:
    task, name, overrides, seed, budget = args
    keys = {**BASE[task], **overrides}
    job = {"task": task, "system": "ezspark", "seed": seed, "budget": budget,
           "overrides": keys, "unseen": B.UNSEEN_EPISODES}
    rec = B.run_one(job)
    d = rec["default"]
    return {"name": name, "seed": seed, "steps": rec["steps"],
            "generations": rec["generations"], "champion_generation": d["generation"],
            "fitness": d["fitness"], "validation": rec["notes"]["default_validation"],
            "validation_steps": rec["notes"]["validation_steps"],
            "reward_violations": rec["notes"]["reward_violations"],
            "unseen_mean": d["unseen_mean"], "reached": d["reached"],
            "species_last": rec["per_gen"]["species"][-10:],
            "best_per_gen": [round(b, 1) for b in rec["per_gen"]["best"]],
            "wall_s": rec["wall_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", required=True, choices=list(B.TASKS))
    ap.add_argument("--budget", type=int, default=None, help="default: the benchmark's")
    ap.add_argument("--seeds", default="100-102")
    ap.add_argument("--only", default="")
    ap.add_argument("--extra", default="", help='JSON {"name": {overrides}} added')
    ap.add_argument("-j", "--jobs", type=int, default=1)
    args = ap.parse_args()
    budget = args.budget or B.TASKS[args.task]["budget"]
    candidates = dict(CANDIDATES[args.task])
    if args.extra:
        candidates.update(json.loads(args.extra))
    names = args.only.split(",") if args.only else list(candidates)
    work = [(args.task, n, candidates[n], s, budget) for n in names for s in H.seeds_of(args.seeds)]
    rows = []
    path = os.path.join(HERE, "results", "tune_continuous.json")
    rounds = json.load(open(path)) if os.path.exists(path) else []
    this = {"task": args.task, "budget": budget, "seeds": args.seeds, "base": BASE[args.task],
            "date": time.strftime("%Y-%m-%d"), "runs": rows, "complete": False}
    rounds.append(this)
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(one, work):
            print(json.dumps({k: v for k, v in row.items() if k != "best_per_gen"}), flush=True)
            rows.append(row)
            with open(path, "w") as f:        # every row at once: a round cut short keeps them
                json.dump(rounds, f, indent=1)
    summary = {n: {"unseen": [r["unseen_mean"] for r in rows if r["name"] == n],
                   "median_unseen": statistics.median(r["unseen_mean"] for r in rows
                                                      if r["name"] == n),
                   "overrides": candidates[n]} for n in names}
    print(json.dumps(summary, indent=1))
    this.update(summary=summary, complete=True)
    with open(path, "w") as f:
        json.dump(rounds, f, indent=1)


if __name__ == "__main__":
    main()
