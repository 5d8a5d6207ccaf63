"""Choose the learning examples' settings on tuning seeds the learning benchmark never uses.

For each candidate (overrides of an example config) and each tuning seed (default 100-102;
bench_learning.py evaluates on 0-9), this trains ezspark until an env-step budget is spent
(training and validation episodes both count), then scores the champion the run hands out
(``RunResult.champion``: the best validation score) on 100 unseen episodes.  Env steps and
returns are deterministic per (seed, settings): the machine's load changes wall time only.
Each call appends one round to ``results/tune_learning.json``.

Usage: python benchmarks/tune_learning.py --example lunarlander --budget 3000000
           [--seeds 100-102] [--only NAME,...] [--extra '{"name": {...}}'] [-j 1]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _harness as H  # noqa: E402

_NORAMP = {"same_fitness_limit": 1000000}
CANDIDATES = {
    "example": {},
    "noramp_pop150": {**_NORAMP, "initial_population": 150, "min_population": 150},
    "noramp_pop150_t10": {**_NORAMP, "initial_population": 150, "min_population": 150,
                          "target_species": 10},
    "noramp_pop150_t10_g5": {**_NORAMP, "initial_population": 150, "min_population": 150,
                             "target_species": 10, "max_number_of_games": 5},
    "noramp_pop100_t10": {**_NORAMP, "initial_population": 100, "min_population": 100,
                          "target_species": 10},
}


def one(args) -> dict:
    """One training run of ``overrides`` on ``seed``, stopped once ``budget`` env steps
    are spent, and its handed-out champion scored on 100 unseen episodes."""
    example, name, overrides, seed, budget = args
    import ezspark
    from ezspark.evaluation.play import episode_returns
    from bench_learning import BudgetStop, UNSEEN_SEED

    with open(os.path.join(ROOT, "examples", f"{example}.json")) as f:
        keys = json.load(f)
    keys.update(overrides, generations=1_000_000, saving=1)
    keys.pop("fitness_threshold", None)
    cfg = ezspark.TrainingConfig.from_dict(keys)
    budget_stop = BudgetStop(budget)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = ezspark.train(cfg, out=out, seed=seed, plugins=budget_stop.manager(),
                               stop=budget_stop)
    champ = result.champion
    unseen = episode_returns(champ, episodes=100, seed=UNSEEN_SEED)
    return {"name": name, "seed": seed, "generations": len(result.history),
            "env_steps": budget_stop.steps, "champion_generation": champ.generation,
            "validation": champ.validation, "unseen_mean": statistics.fmean(unseen),
            "species_last": [s.species for s in result.history[-20:]],
            "wall_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--example", default="lunarlander")
    ap.add_argument("--budget", type=int, default=3_000_000)
    ap.add_argument("--seeds", default="100-102")
    ap.add_argument("--only", default="")
    ap.add_argument("--extra", default="", help='JSON {"name": {overrides}} added')
    ap.add_argument("-j", "--jobs", type=int, default=1)
    args = ap.parse_args()
    candidates = dict(CANDIDATES)
    if args.extra:
        candidates.update(json.loads(args.extra))
    names = args.only.split(",") if args.only else list(candidates)
    work = [(args.example, n, candidates[n], s, args.budget)
            for n in names for s in H.seeds_of(args.seeds)]
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(one, work):
            print(json.dumps(row), flush=True)
            rows.append(row)
    summary = {n: {"median_unseen": statistics.median(r["unseen_mean"] for r in rows
                                                      if r["name"] == n),
                   "overrides": candidates[n]} for n in names}
    print(json.dumps(summary, indent=1))
    path = os.path.join(HERE, "results", "tune_learning.json")
    rounds = json.load(open(path)) if os.path.exists(path) else []
    rounds.append({"example": args.example, "budget": args.budget, "seeds": args.seeds,
                   "date": time.strftime("%Y-%m-%d"), "runs": rows, "summary": summary})
    with open(path, "w") as f:
        json.dump(rounds, f, indent=1)


if __name__ == "__main__":
    main()
