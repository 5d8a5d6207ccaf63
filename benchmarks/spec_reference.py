"""Compare ezspark with the reference numbers of docs/algorithm.md section 11.

    python benchmarks/spec_reference.py --seeds 100 --cartpole-seeds 50
    python benchmarks/spec_reference.py --quick      # smoke test: 3 XOR seeds, 1 CartPole seed

XOR (fitness-function API) with the docs values, with species_threshold 2.0 and with
min_population 100: solve rate within 500 generations, median generations and evaluations,
final population size; CartPole-v1 (docs values, 500 steps, 5 games, 30 generations): how
many seeds have a champion that averages >= 475 over 100 unseen episodes.  Writes ``results/spec_reference.json`` (``spec_reference_quick.json`` with
``--quick``) and prints a JSON summary as its last line.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import ezspark
from ezspark.evaluation.play import play_episodes

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"          # the repository's examples/
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(EXAMPLES))
import _harness as H  # noqa: E402
import xor  # noqa: E402


def xor_setting(name, seeds, **overrides):
    cfg = xor.xor_config(**overrides)
    rows = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        r = ezspark.train(cfg, fitness=xor.xor_fitness, seed=seed)
        rows.append(dict(solved=r.history[-1].best_fitness >= 3.9, generations=r.generations,
                         evaluations=sum(h.evaluations for h in r.history),
                         final_population=r.history[-1].population,
                         best=r.history[-1].best_fitness, seconds=time.perf_counter() - t0))
    ok = [x for x in rows if x["solved"]]
    summary = dict(
        setting=name, seeds=seeds, solved=len(ok),
        median_generations=statistics.median(x["generations"] for x in ok) if ok else None,
        median_evaluations=statistics.median(x["evaluations"] for x in ok) if ok else None,
        median_seconds=statistics.median(x["seconds"] for x in rows),
        max_seconds=max(x["seconds"] for x in rows),
        failures_best=sorted(round(x["best"], 3) for x in rows if not x["solved"])[:10],
        failures_population=sorted({x["final_population"] for x in rows if not x["solved"]}))
    print(json.dumps(summary), flush=True)
    return summary


def cartpole(seeds):
    cfg = ezspark.TrainingConfig.from_json(EXAMPLES / "cartpole.json")
    rows = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        r = ezspark.train(cfg, seed=seed)
        train_s = time.perf_counter() - t0
        mean = float(np.mean(play_episodes(r.champion, "CartPole-v1", episodes=100,
                                           seed=10**9 + seed)))
        rows.append(dict(seed=seed, validated=mean, solved=mean >= 475, train_seconds=train_s,
                         env_steps=sum(h.env_steps for h in r.history)))
    summary = dict(setting="cartpole-v1", seeds=seeds, solved=sum(x["solved"] for x in rows),
                   median_train_seconds=statistics.median(x["train_seconds"] for x in rows),
                   median_env_steps=statistics.median(x["env_steps"] for x in rows),
                   min_validated=min(x["validated"] for x in rows))
    print(json.dumps(summary), flush=True)
    return summary


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--cartpole-seeds", type=int, default=50)
    p.add_argument("--quick", action="store_true", help="smoke test: 3 XOR seeds, 1 CartPole seed")
    a = p.parse_args()
    if a.quick:
        a.seeds, a.cartpole_seeds = 3, 1
    info = H.machine_info()
    out = [xor_setting("xor-docs-values", a.seeds, species_threshold=3.0),
           xor_setting("xor-threshold-2", a.seeds),
           xor_setting("xor-min-population-100", a.seeds, species_threshold=3.0,
                       min_population=100),
           cartpole(a.cartpole_seeds)]
    line = {"ezspark": ezspark.__version__, "results": out}
    H.emit("spec_reference" + ("_quick" if a.quick else ""), {**line, "machine": info, "params": vars(a)}, line)


if __name__ == "__main__":
    main()
