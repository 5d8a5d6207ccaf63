"""Continuous control (issue #16 item 5): what ezspark and neat-python 2.0.0 learn on
Pendulum-v1, MountainCarContinuous-v0 and LunarLanderContinuous-v3 for the same env-step
budget, 5 seeds each.

Definitions
-----------
Budget.  Env steps: every ``env.step`` of the training episodes of every genome, and for
ezspark also its validation episodes (``champion.validation_steps``).  Pendulum-v1 500,000
(episodes of 200 steps), MountainCarContinuous-v0 500,000 (999), LunarLanderContinuous-v3
3,000,000 (1000).  A run stops at the end of the first generation whose cumulative spending
reaches the budget; the steps actually used are reported (``steps``).  ezspark is cut there
as in ``bench_learning.py`` (its ``BudgetStop`` and ``budget_generation``): ezspark asks its
``stop`` callback before it reports a generation's steps, so the run goes one generation
further; validation never changes training, so the run is cut at the first generation that
reached the budget and its champion is the one that cut run hands out (the best validated
stored champion of the generations up to there, ``ChampionTable.best_row``).

Training.  Per genome per generation the fitness is the mean return over G episodes, G =
``max_number_of_games`` of the task's ezspark example (read at run time); episodes end at
the env's own time limit (``gym.make`` default wrappers) or, for ezspark, at the example's
``max_number_of_steps`` if that is shorter.  ezspark seeds its episodes itself
(docs/algorithm.md 6.2); neat-python uses ``peers.learning_common.train_seed(run seed,
generation, genome position, game)``, always below UNSEEN_SEED.

Actions.  A ``Box(low, high, (n,))`` action space, n outputs: action component j = low_j +
o_j (high_j - low_j), o_j in [0, 1] the network's output j, clipped and cast to the space's
dtype.  ezspark: o_j = sigma(s_j) without a bias (docs/algorithm.md 3.4); neat-python: its
``sigmoid`` output node (bias + weighted sum, slope 5), the same linear map
(``peers/continuous_neat_python.py``).

Systems.  ezspark: ``ezspark.train`` with the task's example (``examples/pendulum.json``,
``examples/mountaincar-continuous.json``, ``examples/lunarlander-continuous.json``;
``--ezspark-config TASK=PATH`` replaces it), ``saving`` 1, ``generations`` 1,000,000 and no
``fitness_threshold``.  neat-python: ``peers/continuous_neat_python.py`` (its XOR example's
values, population 150, feed-forward).

Champion.  What the system hands out: ezspark ``RunResult.champion`` (the best validated
stored champion), neat-python the genome ``Population.run`` returns (best-ever training
fitness).  Its *unseen mean* is its mean return over 100 unseen episodes: episode e starts
with ``reset(seed=UNSEEN_SEED + e)``, e = 0 ... 99, UNSEEN_SEED = 2,000,000,000, the same
episodes for both systems and never a training episode of either (neat-python's seeds are
below UNSEEN_SEED, ezspark's below 2**31 and its validation's at or above 2**31), played to
the env's own time limit (ezspark champions by ``ezspark.evaluation.play.episode_returns``,
neat-python's by a plain ``gym.make`` loop).  Solved: unseen mean >= gymnasium's
``reward_threshold`` (MountainCarContinuous-v0 90, LunarLanderContinuous-v3 200; Pendulum-v1
has none).  ``reached``: unseen episodes with a positive return, which on
MountainCarContinuous-v0 are exactly those that reach the flag (+100; the action costs of
999 steps add up to at most 99.9).

Results accumulate in ``results/bench_continuous.json`` under "TASK/SYSTEM/SEED" (a rerun of
the same key replaces it); the summary is computed from the whole file.  ``--quick``: seed
0, populations of 10 for both systems, budgets of 20,000 steps, 10 unseen episodes, written
to ``results/bench_continuous_quick.json``.

Usage: python benchmarks/bench_continuous.py [--tasks pendulum,mountaincar,lunarlander]
           [--systems ezspark,neat-python] [--seeds 0-4] [-j N]
           [--ezspark-config TASK=PATH ...] [--quick] [--summary-only]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
sys.path.insert(0, HERE)
import _harness as H  # noqa: E402
from bench_learning import BudgetStop, EzPolicy, budget_generation  # noqa: E402
from peers import learning_common as C  # noqa: E402
from peers.learning_common import UNSEEN_SEED  # noqa: E402

import ezspark  # noqa: E402

NAME = "bench_continuous"
SYSTEMS = ("ezspark", "neat-python")
TASKS = {
    "pendulum": {"env_id": "Pendulum-v1", "budget": 500_000, "config": "pendulum.json"},
    "mountaincar": {"env_id": "MountainCarContinuous-v0", "budget": 500_000,
                    "config": "mountaincar-continuous.json"},
    "lunarlander": {"env_id": "LunarLanderContinuous-v3", "budget": 3_000_000,
                    "config": "lunarlander-continuous.json"},
}
QUICK = {"budget": 20_000, "population": 10, "unseen": 10}
UNSEEN_EPISODES = 100
PEER_POPULATION = 150
EZSPARK_GENERATIONS = 1_000_000


def ezspark_keys(task: str, path: str | None = None, overrides: dict | None = None) -> dict:
    """The task's ezspark training keys as read now (the example, or ``path``), updated by
    ``overrides``."""
    with open(path or os.path.join(EXAMPLES, TASKS[task]["config"])) as f:
        keys = json.load(f)
    keys.update(overrides or {})
    return keys


def threshold(task: str):
    import gymnasium as gym
    t = gym.spec(TASKS[task]["env_id"]).reward_threshold
    return None if t is None else float(t)


# ---- training --------------------------------------------------------------------------------

def train_ezspark(task: str, seed: int, budget: int, keys: dict) -> C.Trace:
    """One ezspark run cut at the first generation that reaches ``budget`` (see the module
    docstring), as a Trace whose default champion is the one that run hands out."""
    keys = dict(keys, generations=EZSPARK_GENERATIONS, saving=1)
    keys["fitness_threshold"] = None
    cfg = ezspark.TrainingConfig.from_dict(keys)
    stop = BudgetStop(budget)
    with tempfile.TemporaryDirectory() as out:
        result = ezspark.train(cfg, out=out, seed=seed, plugins=stop.manager(), stop=stop)
        rf = ezspark.RunFile.open(os.path.join(out, "run.h5"))
        last = budget_generation(stop, budget)
        table = rf.champions.below(last + 1)
        # the run's action bounds: without them a champion reads its outputs as discrete
        champ = table.champion_at(table.best_row(), rf.env_id)
        newest = table.champion_at(len(table.index) - 1, rf.env_id)
    trace = C.Trace(steps=stop.cum[last])
    history = [s for s in result.history if s.generation <= last]
    for s in history:
        trace.rows.append({"generation": s.generation, "best": s.best_fitness,
                           "mean": s.mean_fitness, "population": s.population,
                           "species": s.species if s.species >= 0 else None,
                           "cum_steps": stop.cum.get(s.generation)})
    trace.default = C.Champ(champ.generation, champ.fitness, H.genes_key(champ.genome),
                            EzPolicy(champ))
    validation = getattr(champ, "validation", None)
    trace.notes = {"stopped": result.stopped, "generations_run": len(result.history),
                   "training_steps": sum(s.env_steps for s in history),
                   "validation_steps": stop.cum[last] - sum(s.env_steps for s in history),
                   "reward_violations": sum(int(s.reward_violations) for s in history),
                   "default_validation": (None if validation is None or validation != validation
                                          else float(validation)),
                   "newest_generation": newest.generation,
                   "default_connections": int(champ.genome.enabled.sum()),
                   "default_hidden_nodes": int(len(set(champ.genome.src.tolist())
                                                   | set(champ.genome.dst.tolist()))
                                               - cfg.input_size - cfg.output_size),
                   "validation_games": cfg.validation_games,
                   "initial_population": cfg.initial_population,
                   "min_population": cfg.min_population}
    return trace


def train_peer(task: str, seed: int, budget: int, keys: dict, pop: int) -> C.Trace:
    mod = H.import_peer("continuous_neat_python")
    if mod is None:
        raise RuntimeError("neat-python is not installed")
    return mod.run(TASKS[task]["env_id"], int(keys["input_size"]), int(keys["output_size"]),
                   seed=seed, budget=budget, games=int(keys["max_number_of_games"]), pop=pop)


# ---- scoring ---------------------------------------------------------------------------------

def unseen_returns(system: str, env_id: str, champ: C.Champ, n: int) -> list[float]:
    if system == "ezspark":
        from ezspark.evaluation.play import episode_returns
        return [float(r) for r in episode_returns(champ.policy.champion, env_id,
                                                  episodes=n, seed=UNSEEN_SEED)]
    return C.returns(champ.policy.act, env_id, range(UNSEEN_SEED, UNSEEN_SEED + n))


# ---- one run ---------------------------------------------------------------------------------

def run_one(job: dict) -> dict:
    """Train ``job["system"]`` on ``job["task"]`` with ``job["seed"]`` until the budget, and
    score its default champion on the unseen episodes."""
    task, system, seed, budget = job["task"], job["system"], job["seed"], job["budget"]
    keys = ezspark_keys(task, job.get("config"), job.get("overrides"))
    env_id = TASKS[task]["env_id"]
    t0 = time.perf_counter()
    if system == "ezspark":
        trace = train_ezspark(task, seed, budget, keys)
    else:
        trace = train_peer(task, seed, budget, keys, job.get("peer_population", PEER_POPULATION))
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    r = unseen_returns(system, env_id, trace.default, job["unseen"])
    score_s = time.perf_counter() - t1
    solve = threshold(task)
    mean = statistics.fmean(r)
    record = {
        "task": task, "system": system, "seed": seed, "env_id": env_id, "budget": budget,
        "steps": trace.steps, "generations": len(trace.rows),
        "games_per_genome": int(keys["max_number_of_games"]),
        "default": {"generation": trace.default.generation, "fitness": trace.default.fitness,
                    "unseen_mean": mean, "unseen_median": statistics.median(r),
                    "unseen_min": min(r), "unseen_max": max(r),
                    "unseen_stdev": statistics.pstdev(r),
                    "reached": sum(x > 0 for x in r), "episodes": len(r),
                    "solved": None if solve is None else mean >= solve,
                    "unseen_returns": [round(x, 2) for x in r]},
        "threshold": solve,
        "per_gen": {k: [row.get(k) for row in trace.rows]
                    for k in ("best", "mean", "population", "species", "cum_steps")},
        "train_s": round(train_s, 2), "score_s": round(score_s, 2),
        "wall_s": round(train_s + score_s, 2),
        "notes": trace.notes,
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "loadavg_at_end": H.loadavg(),
    }
    if system == "ezspark":
        record["ezspark_config"] = keys
        record["ezspark_config_source"] = job.get("config") or TASKS[task]["config"]
    else:
        record["peer_population"] = job.get("peer_population", PEER_POPULATION)
    return record


# ---- the results file and the summary --------------------------------------------------------

def record_key(rec: dict) -> str:
    return f"{rec['task']}/{rec['system']}/{rec['seed']}"


def summarize(runs: dict) -> dict:
    grouped: dict = {}
    for rec in runs.values():
        grouped.setdefault(rec["task"], {}).setdefault(rec["system"], []).append(rec)
    summary = {}
    for task in [t for t in TASKS if t in grouped]:
        summary[task] = {}
        for system in [s for s in SYSTEMS if s in grouped[task]]:
            recs = sorted(grouped[task][system], key=lambda r: r["seed"])
            means = [r["default"]["unseen_mean"] for r in recs]
            solved = [r["default"]["solved"] for r in recs]
            summary[task][system] = {
                "runs": len(recs), "seeds": [r["seed"] for r in recs],
                "mean": statistics.fmean(means), "median": statistics.median(means),
                "per_seed": means,
                "solved": None if solved[0] is None else sum(bool(s) for s in solved),
                "reached_per_seed": [r["default"]["reached"] for r in recs],
                "episodes": recs[0]["default"]["episodes"],
                "median_steps": statistics.median(r["steps"] for r in recs),
                "median_generations": statistics.median(r["generations"] for r in recs),
                "median_train_s": statistics.median(r["train_s"] for r in recs),
            }
    return summary


def print_table(summary: dict) -> None:
    head = ("task", "system", "n", "mean", "median", "solved", "per seed", "reached/100",
            "med steps", "med gens", "med train s")
    lines = [head]
    for task, systems in summary.items():
        for system, s in systems.items():
            n = s["runs"]
            lines.append((task, system, str(n), f"{s['mean']:.1f}", f"{s['median']:.1f}",
                          "-" if s["solved"] is None else f"{s['solved']}/{n}",
                          " ".join(f"{v:.1f}" for v in s["per_seed"]),
                          " ".join(str(v) for v in s["reached_per_seed"]),
                          f"{s['median_steps']:,.0f}", f"{s['median_generations']:.0f}",
                          f"{s['median_train_s']:.0f}"))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    print("\nSummary (whole results file): the default champion's mean return over the "
          "unseen episodes, per seed and over seeds; reached: unseen episodes with a "
          "positive return")
    for r in lines:
        print("  ".join(c.rjust(w) if i >= 2 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))), flush=True)


def run_line(rec: dict) -> str:
    d = rec["default"]
    return (f"{rec['task']} {rec['system']} seed {rec['seed']}: steps {rec['steps']:,} "
            f"({rec['generations']} gens) | default gen {d['generation']}, fitness "
            f"{d['fitness']:.1f}, unseen {d['unseen_mean']:.1f} (reached {d['reached']}/"
            f"{d['episodes']}) | {rec['wall_s']:.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="runs in parallel processes")
    ap.add_argument("--ezspark-config", action="append", default=[], metavar="TASK=PATH",
                    help="ezspark training JSON of TASK instead of the example (repeatable)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: seed 0, populations of {QUICK['population']}, budgets "
                    f"of {QUICK['budget']:,} steps, {QUICK['unseen']} unseen episodes; writes "
                    "results/bench_continuous_quick.json")
    ap.add_argument("--summary-only", action="store_true",
                    help="run nothing: print the table of the results file and rewrite its summary")
    args = ap.parse_args()
    tasks = H.choices_of(ap, args.tasks, TASKS, "task")
    systems = H.choices_of(ap, args.systems, SYSTEMS, "system")
    configs = {}
    for item in args.ezspark_config:
        task, _, path = item.partition("=")
        if task not in TASKS or not path:
            ap.error(f"--ezspark-config wants TASK=PATH, got {item!r}")
        configs[task] = os.path.abspath(path)
    name = NAME + "_quick" if args.quick else NAME
    seeds = [0] if args.quick else H.seeds_of(args.seeds)
    quick_keys = {"initial_population": QUICK["population"],
                  "min_population": QUICK["population"]}
    jobs = [{"task": t, "system": s, "seed": seed,
             "budget": QUICK["budget"] if args.quick else TASKS[t]["budget"],
             "config": configs.get(t), "overrides": quick_keys if args.quick else None,
             "peer_population": QUICK["population"] if args.quick else PEER_POPULATION,
             "unseen": QUICK["unseen"] if args.quick else UNSEEN_EPISODES}
            for t in tasks for seed in seeds for s in systems]
    if args.summary_only:
        jobs = []

    machine = H.machine_info()
    store = H.RunStore(name)
    if jobs:
        store.note_invocation(machine)
    H.log(f"# {len(jobs)} runs: tasks {tasks}, systems {systems}, seeds {seeds}, -j {args.jobs}")

    t0 = time.perf_counter()
    failed = H.run_jobs(store, jobs, run_one, args.jobs, record_key, run_line)

    data = store.load()
    summary = summarize(data.get("runs", {}))
    print_table(summary)
    if jobs or "machine" not in data:
        data["machine"] = machine
    data.update(bench=name, summary=summary,
                definitions={"budgets": {t: v["budget"] for t, v in TASKS.items()},
                             "quick": QUICK, "unseen_seed": UNSEEN_SEED,
                             "unseen_episodes": UNSEEN_EPISODES,
                             "peer_population": PEER_POPULATION, "text": __doc__})
    data.pop("loadavg_at_end", None)
    line = {"bench": name, "runs_this_invocation": len(jobs) - len(failed), "failed": failed,
            "wall_s": round(time.perf_counter() - t0, 1),
            "summary": {t: {s: {"mean": round(v["mean"], 1), "median": round(v["median"], 1),
                                "solved": v["solved"], "runs": v["runs"]}
                            for s, v in sys_.items()} for t, sys_ in summary.items()}}
    H.emit(name, data, line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
