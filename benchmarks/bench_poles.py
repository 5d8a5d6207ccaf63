"""Pole-balancing benchmark (issue #16 item 4): network evaluations that ezspark and
neat-python 2.0.0 need to solve the double pole with and without velocities, 20 seeds each,
next to the published numbers (docs/benchmarks.md, "Pole balancing").

Tasks (ezspark.poles, docs/poles.md)
------------------------------------
``velocities``: ``ezspark/DoublePole-v0`` (x, x', theta1, theta1', theta2, theta2'), fitness =
steps balanced in one episode of at most 1,000 steps from the standard start (pole 1 at
0.07 rad), feed-forward networks.  Every genome of a generation that balanced all 1,000
steps is put through ``ezspark.poles.solved(policy, reset, velocities=True)``: 100,000 steps
from the standard start (no generalisation test, as NEAT, ESP and CoSyNE count the Markov
task solved), in population order; the first that passes solves the run.  This is the
literature's rule (every network evaluated for up to 100,000 steps, solved when one
balances them all) with the long episode replaced by the test.  ``--tested champion``
tests only each generation's champion instead (recorded under the label
"tested-champion"): with a fitness capped at 1,000 all balancing genomes tie, and a
champion that balances 1,000 steps but not 100,000 can stay the tested genome for good.

``novelocities``: ``ezspark/DoublePoleNoVelDamping-v0`` (x, theta1, theta2), fitness = the
damping fitness of Gruau et al. (1996) over one episode of at most 1,000 steps, recurrent
networks that start with a self-loop on the output and NEAT's bias input (ezspark's
``initial_self_loops`` and ``bias_input``; neat-python's recurrent genomes start so).
Each generation one genome is put through ``solved(policy, reset, velocities=False)``:
100,000 steps from the standard start and the generalisation test (at least 200 of the 625
starts balanced for 1,000 steps).  The genome is the one NEAT's own benchmark code tests
(``pole2_epoch``; ``peers/species_turns.py``): the best genome of the best species that was
not tested since its best fitness last rose, or of the best species when every species was;
so a leader that stopped improving hands the test to the other species' leaders in turn.
``--tested champion`` tests each generation's best genome instead (label
"tested-champion"; the benchmark's rule until 2026-12-07).  The benchmark first runs part (a)
alone (``generalisation=False``) and the full test only when (a) passes: the same verdict,
without playing 625,000 generalisation steps for genomes that fall early.

Both tests are deterministic (the environments ignore their reset seed: fixed start, no
noise), so one episode per genome is the whole fitness, and a network tested once is not
tested again.

What is counted
---------------
``evaluations``: network evaluations (episodes), every genome of every generation up to and
including the generation in which a tested genome passes: the whole solving generation,
never part of it.  The solved tests themselves are not counted (as in the literature: NEAT's
code, ``pole2_test``, counts pop_size x (generation - 1) + the winner's number, and neither
NEAT nor ESP/CoSyNE count the 100,000-step or generalisation episodes).  NEAT's own count
stops at the winner's position in its generation, so ours is at most one population larger.
A run stops at the end of the first generation by whose end ``CAP`` (100,000) evaluations
were spent; if no tested genome passed by then the run is a failure (a solution found in that
last generation still counts, with its count).  ``seconds``: wall time of the whole run,
solved tests included (``test_seconds`` of it).

Systems
-------
ezspark: ``ezspark.train(config, seed=seed, stop=stop)`` with ``ezspark_keys(task)`` (the
docs values plus ``COMMON_KEYS`` and ``TASK_KEYS``, chosen on the tuning seeds:
docs/benchmarks.md, "Pole balancing", "Configuration used and why"); ``stop(champion)`` runs
the test on the generation champion with ``--tested champion`` (``champion.act`` as the
policy, ``champion.reset`` as reset), or the ``ezspark_population`` hook tests every genome
that balanced 1,000 steps (with velocities) or the genome NEAT's rule picks from ezspark's
species (without; the run keeps a run.h5 in a temporary folder for the hook); a plugin counts
each generation's population (``ezspark_generation_start``) and the count is checked against the
run's history.  neat-python: ``peers/poles_neat_python.py`` (its own XOR-example values with
``PEER_KEYS``, chosen on the tuning seeds; ``FeedForwardNetwork`` with velocities,
``RecurrentNetwork`` without), same environments, fitness, test, tested genomes and cap.

``--tune LABEL`` with ``--set KEY=JSON`` (ezspark keys) or ``--peer-set KEY=VALUE``
(neat-python config keys) runs a candidate configuration on the tuning seeds (default
100-104, disjoint from the benchmark's 0-19) into ``results/bench_poles_tuning.json``.

Results accumulate in ``results/bench_poles.json`` under "TASK/SYSTEM/SEED" (a rerun of the
same key replaces it; ``--quick`` writes ``bench_poles_quick.json``: cap 450 evaluations,
shortened tests); the summary is computed from the whole file.

Usage: python benchmarks/bench_poles.py [--tasks velocities,novelocities]
           [--systems ezspark,neat-python] [--seeds 0-19] [-j N] [--cap N] [--quick]
           [--tested all|champion] [--tune LABEL [--set KEY=JSON ...]
           [--peer-set KEY=VALUE ...]] [--summary-only]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _harness as H  # noqa: E402

import ezspark  # noqa: E402
from ezspark import poles  # noqa: E402
from ezspark.network.champion import Champion  # noqa: E402
from ezspark.plugins.manager import get_plugin_manager, make_plugin_manager  # noqa: E402
from peers.species_turns import SpeciesTurns  # noqa: E402

NAME = "bench_poles"
SYSTEMS = ("ezspark", "neat-python")
#: "rule": which genomes of a generation are tested: "all" (every genome that balanced the
#: whole 1,000-step episode, in population order), "species" (one: NEAT's own rule,
#: peers/species_turns.py) or "champion" (one: the generation's best).
TASKS = {
    "velocities": {"env_id": "ezspark/DoublePole-v0", "inputs": 6, "velocities": True,
                   "recurrent": False, "rule": "all"},
    "novelocities": {"env_id": "ezspark/DoublePoleNoVelDamping-v0", "inputs": 3,
                     "velocities": False, "recurrent": True, "rule": "species"},
}
CAP = 100_000
QUICK_CAP = 1_500
#: The quick mode's shortened solved test (the full one: 100,000 and 1,000 steps).
QUICK_TEST = {"balance_steps": 2_000, "generalisation_steps": 50}
PEER_POPULATION = 150
#: neat-python's config keys besides ``cartpole-feedforward.cfg``'s, chosen on the same tuning
#: seeds by the same rule as ezspark's (most tuning seeds solved, then the fewest evaluations;
#: rounds ``p-*``): 50 genomes, and with velocities rarer structural mutations, without
#: velocities a weight mutation power of 1.0.
PEER_KEYS = {
    "velocities": {"pop_size": "50", "conn_add_prob": "0.2", "conn_delete_prob": "0.2",
                   "node_add_prob": "0.1", "node_delete_prob": "0.1"},
    "novelocities": {"pop_size": "50", "weight_mutate_power": "1.0"},
}
DEFAULT_SEEDS = "0-19"
TUNING_SEEDS = "100-104"

#: ezspark's keys besides the docs values (TrainingConfig.docs_example()); chosen on the
#: tuning seeds 100-104 (docs/benchmarks.md, "Pole balancing: configuration used and why").
COMMON_KEYS = {
    "output_size": 1,
    "initial_population": 150,       # the tuning rounds' base (velocities: 50 below)
    "min_population": 150,
    "same_fitness_limit": 1_000_000,
    "max_number_of_games": 1,        # the start is fixed and the physics deterministic
    "max_number_of_steps": 1000,
    "validation_games": 0,           # the envs ignore the seed: validation would replay training
    "generations": 10_000_000,       # the cap ends every run
    "fitness_threshold": None,
    "saving": 1,
}
TASK_KEYS = {
    "velocities": {"gym_game_name": "ezspark/DoublePole-v0", "input_size": 6,
                   "initial_population": 50, "min_population": 50, "target_species": 10},
    "novelocities": {"gym_game_name": "ezspark/DoublePoleNoVelDamping-v0", "input_size": 3,
                     "recurrent": True, "connection_mutation_rate": 0.3,
                     # generation 0 already remembers (a self-loop on the output) and has
                     # NEAT's bias unit: neat-python's start for recurrent genomes; 14 of the
                     # 20 tuning seeds solved within 12,000 evaluations against 11 without
                     "initial_self_loops": True, "bias_input": True,
                     # fewer new connections in big species: smaller networks, solved more
                     # often on the tuning seeds (docs/benchmarks.md, "Pole balancing")
                     "add_connection_big_specie_rate": 0.1,
                     # a damping step's reward is the change of the fitness: it can be negative
                     "minimum_reward": -1e9},
}


def ezspark_keys(task: str, overrides: dict | None = None) -> dict:
    keys = ezspark.TrainingConfig.docs_example().to_dict()
    keys.update(COMMON_KEYS)
    keys.update(TASK_KEYS[task])
    keys.update(overrides or {})
    return keys


# ---- the solved test ---------------------------------------------------------------------------

def make_test(task: str, quick: bool = False):
    """``test(policy, reset, training_return) -> (passed, detail or None)`` for the task."""
    lengths = QUICK_TEST if quick else {}
    full_steps = lengths.get("balance_steps", poles.BALANCE_STEPS)

    if TASKS[task]["velocities"]:
        def test(policy, reset, training_return):
            if training_return < poles.EPISODE_STEPS:      # fell within the 1,000 steps
                return False, None
            r = poles.solved(policy, reset, velocities=True, **lengths)
            return r.passed, {"balanced": r.balanced_steps, "generalisation": None,
                              "passed": r.passed}
        return test

    def test(policy, reset, training_return):
        first = poles.solved(policy, reset, velocities=False, generalisation=False, **lengths)
        if first.balanced_steps < min(full_steps, poles.EPISODE_STEPS):
            return False, None                             # fell within 1,000 steps: no record
        if not first.passed:
            return False, {"balanced": first.balanced_steps, "generalisation": None,
                           "passed": False}
        r = poles.solved(policy, reset, velocities=False, **lengths)
        return r.passed, {"balanced": r.balanced_steps, "generalisation": r.generalisation,
                          "passed": r.passed}
    return test


# ---- ezspark -------------------------------------------------------------------------------------

class EzStop:
    """``stop`` for ``ezspark.train`` and the plugin that counts evaluations (each
    generation's population, ``ezspark_generation_start``) and tests genomes.

    ``rule`` "champion": ``stop(champion)`` tests the generation champion.  "all" and
    "species": the ``ezspark_population`` hook (the run stores every population) tests each
    genome of the generation that balanced the whole episode, in population order, until one
    passes ("all"), or the one genome NEAT's rule picks from the species
    (``peers.species_turns``); the run then ends at the next ``stop`` and is counted through
    the solving generation.  A network tested before is not tested again (the test is
    deterministic).  ``stop`` is True once a genome passed or the cap is spent."""

    def __init__(self, test, cap: int, rule: str = "champion"):
        self.test, self.cap, self.rule = test, int(cap), rule
        self.turns = SpeciesTurns()
        self.sizes: dict[int, int] = {}
        self.tests: list[dict] = []
        self.known: set[str] = set()
        self.tested = 0
        self.test_seconds = 0.0
        self.solved_generation = None
        self.champion = None

    def spent(self, k: int) -> int:
        """Evaluations by the end of generation k."""
        return sum(v for g, v in self.sizes.items() if g <= k)

    def _try(self, champion, k: int) -> bool:
        key = H.genes_key(champion.genome)
        if key in self.known:
            return False
        t0 = time.perf_counter()
        reset = getattr(champion, "reset", None)
        passed, detail = self.test(champion.act, reset, float(champion.fitness))
        self.test_seconds += time.perf_counter() - t0
        self.tested += 1
        if detail is not None:
            self.tests.append({"generation": k, **detail})
        if not passed:
            self.known.add(key)
            return False
        self.solved_generation = k
        self.champion = {"generation": k, "fitness": float(champion.fitness),
                         "nodes": int(champion.num_nodes), "inputs": int(champion.n_inputs),
                         "connections": int(champion.num_connections)}
        return True

    @ezspark.hookimpl
    def ezspark_generation_start(self, run, generation, population):
        self.sizes[int(generation)] = int(population)

    @ezspark.hookimpl
    def ezspark_population(self, run, generation, population, fitness, species):
        if self.rule == "champion" or self.solved_generation is not None:
            return
        cfg = run.config
        if self.rule == "species":
            chosen = [self.turns.pick(fitness, species.tolist())]
        else:
            chosen = np.flatnonzero(np.asarray(fitness) >= poles.EPISODE_STEPS)
        for i in chosen:
            genome = population[int(i)]
            champion = Champion(genome, cfg.network_inputs, cfg.output_size,
                                recurrent=bool(cfg.recurrent), bias_input=bool(cfg.bias_input),
                                generation=int(generation), fitness=float(fitness[i]),
                                actions=run.actions)
            if self._try(champion, int(generation)):
                return

    def __call__(self, champion) -> bool:
        k = int(champion.generation)
        if self.solved_generation is not None:
            return True
        if self.rule == "champion" and self._try(champion, k):
            return True
        return self.spent(k) >= self.cap

    def manager(self):
        pm = make_plugin_manager()
        pm.register(self, name=f"bench-poles-stop-{id(self)}")
        return pm


def run_ezspark(task: str, seed: int, cap: int, keys: dict, quick: bool, rule: str) -> dict:
    t0 = time.perf_counter()
    cfg = ezspark.TrainingConfig.from_dict(keys)
    stop = EzStop(make_test(task, quick), cap, rule)
    with tempfile.TemporaryDirectory() as out:
        # the populations reach the test through run.h5's hook (save_population)
        store = {"out": out, "save_population": 1} if rule != "champion" else {}
        result = ezspark.train(cfg, seed=seed, plugins=stop.manager(), stop=stop, **store)
    seconds = time.perf_counter() - t0
    history = list(result.history)
    for s in history:
        if int(s.evaluations) != stop.sizes[int(s.generation)]:
            raise AssertionError(f"generation {s.generation}: history counts {s.evaluations} "
                                 f"evaluations, the population was {stop.sizes[s.generation]}")
    solved = stop.solved_generation is not None
    last = stop.solved_generation if solved else history[-1].generation
    counted = [s for s in history if s.generation <= last]
    return {"solved": solved, "evaluations": sum(int(s.evaluations) for s in counted),
            "generations": len(counted), "generations_run": len(history),
            "seconds": seconds, "test_seconds": stop.test_seconds, "tests_run": stop.tested,
            "tests": stop.tests, "champion": stop.champion, "stopped": result.stopped,
            "history": [{"generation": s.generation, "best": s.best_fitness,
                         "population": s.population,
                         "species": s.species if s.species >= 0 else None,
                         "env_steps": s.env_steps} for s in counted]}


# ---- neat-python ---------------------------------------------------------------------------------

def run_neat_python(task: str, seed: int, cap: int, overrides: dict, quick: bool,
                    rule: str) -> dict:
    mod = H.import_peer("poles_neat_python")
    if mod is None:
        raise RuntimeError("neat-python is not installed")
    t = TASKS[task]
    return mod.run(t["env_id"], t["inputs"], t["recurrent"], seed=seed, cap=cap,
                   test=make_test(task, quick), pop=PEER_POPULATION, overrides=overrides,
                   rule=rule, every=float(poles.EPISODE_STEPS))


# ---- one run -------------------------------------------------------------------------------------

def run_one(job: dict) -> dict:
    get_plugin_manager()                 # registers the ezspark/ pole ids in this process
    task, system, seed = job["task"], job["system"], job["seed"]
    rule = job.get("rule") or TASKS[task]["rule"]
    if system == "ezspark":
        keys = ezspark_keys(task, job.get("set"))
        out = run_ezspark(task, seed, job["cap"], keys, job["quick"], rule)
    else:
        keys = None
        peer = dict(PEER_KEYS[task], **(job.get("peer_set") or {}))
        out = run_neat_python(task, seed, job["cap"], peer, job["quick"], rule)
    hist = out.pop("history")
    record = {"task": task, "system": system, "seed": seed, "env_id": TASKS[task]["env_id"],
              "cap": job["cap"], "tested": rule, **out,
              "seconds": round(out["seconds"], 2), "test_seconds": round(out["test_seconds"], 2),
              "per_gen": {k: [r.get(k) for r in hist] for k in ("best", "population", "species")},
              "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
              "loadavg_at_end": H.loadavg()}
    if keys is not None:
        record["ezspark_config"] = keys
    else:
        record["peer_overrides"] = peer
        record["peer_population"] = int(peer.get("pop_size", PEER_POPULATION))
    if job.get("label"):
        record["label"] = job["label"]
    return record


# ---- the results file and the summary --------------------------------------------------------

def record_key(rec: dict) -> str:
    key = f"{rec['task']}/{rec['system']}/{rec['seed']}"
    return f"{rec['label']}/{key}" if rec.get("label") else key


def summarize(runs: dict) -> dict:
    """Per (label,) task and system: runs, solved, failures, mean / median / min / max
    evaluations of the solved runs, the median over all runs with failures as infinite,
    generations, wall time, generalisation scores and champion sizes of the solutions."""
    groups: dict = {}
    for rec in runs.values():
        groups.setdefault((rec.get("label") or "", rec["task"], rec["system"]), []).append(rec)
    summary: dict = {}
    for (label, task, system), recs in sorted(groups.items()):
        recs = sorted(recs, key=lambda r: r["seed"])
        ok = [r for r in recs if r["solved"]]
        ev = [r["evaluations"] for r in ok]
        every = sorted(r["evaluations"] if r["solved"] else math.inf for r in recs)
        med_all = statistics.median(every) if every else None
        gen = [r["champion"]["generation"] for r in ok]
        gz = [r["tests"][-1]["generalisation"] for r in ok
              if r["tests"] and r["tests"][-1].get("generalisation") is not None]
        s = {"runs": len(recs), "seeds": [r["seed"] for r in recs], "solved": len(ok),
             "failures": len(recs) - len(ok),
             "mean_evaluations": statistics.fmean(ev) if ev else None,
             "median_evaluations": statistics.median(ev) if ev else None,
             "median_evaluations_failures_as_inf": None if med_all in (None, math.inf) else med_all,
             "min_evaluations": min(ev) if ev else None, "max_evaluations": max(ev) if ev else None,
             "stdev_evaluations": statistics.stdev(ev) if len(ev) > 1 else None,
             "per_seed_evaluations": {r["seed"]: (r["evaluations"] if r["solved"] else None)
                                      for r in recs},
             "median_generation_solved": statistics.median(gen) if gen else None,
             "mean_generalisation": statistics.fmean(gz) if gz else None,
             "generalisation": gz,
             "median_nodes": statistics.median([r["champion"]["nodes"] for r in ok]) if ok else None,
             # hidden nodes: ezspark counts inputs (the bias input too) and the output among
             # its nodes, neat-python the output only
             "median_hidden": (statistics.median([r["champion"]["nodes"] - 1 - (
                 r["champion"].get("inputs", TASKS[task]["inputs"]) if system == "ezspark"
                 else 0) for r in ok]) if ok else None),
             "median_connections": (statistics.median([r["champion"]["connections"] for r in ok])
                                    if ok else None),
             "median_seconds": statistics.median([r["seconds"] for r in recs]),
             "mean_seconds": statistics.fmean([r["seconds"] for r in recs]),
             "total_seconds": sum(r["seconds"] for r in recs),
             "total_test_seconds": sum(r["test_seconds"] for r in recs)}
        summary.setdefault(label or "benchmark", {}).setdefault(task, {})[system] = s
    return summary


def _f(v, nd=0):
    if v is None:
        return "-"
    return f"{v:,.{nd}f}"


def print_table(summary: dict) -> None:
    head = ("label", "task", "system", "solved", "mean evals", "median evals",
            "median (fail=inf)", "min", "max", "gen.", "median s", "total s")
    lines = [head]
    for label, tasks in summary.items():
        for task, systems in tasks.items():
            for system, s in systems.items():
                lines.append((label, task, system, f"{s['solved']}/{s['runs']}",
                              _f(s["mean_evaluations"]), _f(s["median_evaluations"]),
                              _f(s["median_evaluations_failures_as_inf"]),
                              _f(s["min_evaluations"]), _f(s["max_evaluations"]),
                              _f(s["mean_generalisation"]), _f(s["median_seconds"], 1),
                              _f(s["total_seconds"], 0)))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    print("\nSummary (whole results file; evaluations of solved runs; gen. = mean "
          "generalisation score of the solutions)")
    for r in lines:
        print("  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in
                        enumerate(zip(r, widths))), flush=True)


def run_line(rec: dict) -> str:
    ch = rec["champion"]
    last = rec["tests"][-1] if rec["tests"] else None
    what = (f"solved at generation {ch['generation']} ({ch['nodes']} nodes, "
            f"{ch['connections']} connections"
            + (f", generalisation {last['generalisation']}" if last and last.get("generalisation")
               is not None else "") + ")") if rec["solved"] else "NOT solved"
    return (f"{(rec.get('label') + ' ') if rec.get('label') else ''}{rec['task']} "
            f"{rec['system']} seed {rec['seed']}: {what}, {rec['evaluations']:,} evaluations, "
            f"{rec['generations']} generations, {rec['tests_run']} tests, {rec['seconds']:.1f} s "
            f"(tests {rec['test_seconds']:.1f} s)")


# ---- command line ------------------------------------------------------------------------------

def _pairs(items, parse, ap, what):
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            ap.error(f"{what} wants KEY=VALUE, got {item!r}")
        try:
            out[key] = parse(value)
        except ValueError as exc:
            ap.error(f"{what} {item!r}: {exc}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--seeds", default=None,
                    help=f"default {DEFAULT_SEEDS} ({TUNING_SEEDS} with --tune)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="runs in parallel processes")
    ap.add_argument("--cap", type=int, default=CAP, help="evaluations per run (default 100,000)")
    ap.add_argument("--tune", metavar="LABEL", default=None,
                    help="a tuning round: results under LABEL in results/bench_poles_tuning.json")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="an ezspark training key for this invocation (repeatable)")
    ap.add_argument("--peer-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a neat-python config key for this invocation (repeatable)")
    ap.add_argument("--tested", choices=("all", "champion", "species"), default=None,
                    help="which genomes are tested each generation: every one that balanced "
                    "1,000 steps (all; the default with velocities), the best genome of the "
                    "best species not tested since it last improved (species, NEAT's own "
                    "rule; the default without) or the generation's best (champion); a rule "
                    "other than the task's is recorded under the label tested-RULE")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: seed 0, cap {QUICK_CAP} evaluations, solved test "
                    f"shortened to {QUICK_TEST['balance_steps']:,} and "
                    f"{QUICK_TEST['generalisation_steps']} steps; writes "
                    "results/bench_poles_quick.json")
    ap.add_argument("--summary-only", action="store_true",
                    help="run nothing: print the table of the results file and rewrite its summary")
    args = ap.parse_args()
    tasks = H.choices_of(ap, args.tasks, TASKS, "task")
    systems = H.choices_of(ap, args.systems, SYSTEMS, "system")
    sets = _pairs(args.set, json.loads, ap, "--set")
    peer_sets = _pairs(args.peer_set, str, ap, "--peer-set")
    if (sets or peer_sets) and not args.tune:
        ap.error("--set and --peer-set change the configuration: give the round a "
                 "--tune LABEL")
    seeds = [0] if args.quick else H.seeds_of(args.seeds or (TUNING_SEEDS if args.tune
                                                           else DEFAULT_SEEDS))
    name = NAME + "_quick" if args.quick else (NAME + "_tuning" if args.tune else NAME)
    cap = QUICK_CAP if args.quick else args.cap
    # a rule other than the task's own is recorded under its own label
    label = args.tune or (f"tested-{args.tested}" if args.tested else None)
    jobs = [{"task": t, "system": s, "seed": seed, "cap": cap, "quick": args.quick,
             "set": sets, "peer_set": peer_sets, "label": label, "rule": args.tested}
            for t in tasks for seed in seeds for s in systems]
    if args.summary_only:
        jobs = []

    machine = H.machine_info()
    store = H.RunStore(name)
    if jobs:
        store.note_invocation(machine)
    H.log(f"# {len(jobs)} runs: tasks {tasks}, systems {systems}, seeds {seeds}, cap {cap:,}, "
          f"-j {args.jobs}" + (f", round {args.tune}: {sets} {peer_sets}" if args.tune else ""))

    t0 = time.perf_counter()
    failed = H.run_jobs(store, jobs, run_one, args.jobs, record_key, run_line)

    with store.locked():
        data = store.load()
        summary = summarize(data.get("runs", {}))
        if jobs or "machine" not in data:
            data["machine"] = machine
        data.update(bench=name, summary=summary, definitions=definitions())
        data.pop("loadavg_at_end", None)
        line = summary_line(name, summary, len(jobs) - len(failed), failed,
                            time.perf_counter() - t0)
        print_table(summary)
        H.emit(name, data, line)        # the summary line is the last line of stdout
    return 1 if failed else 0


def definitions() -> dict:
    return {"cap": CAP, "quick_cap": QUICK_CAP, "quick_test": QUICK_TEST, "tasks": TASKS,
            "peer_population": PEER_POPULATION, "peer_keys": PEER_KEYS,
            "ezspark_keys": {t: ezspark_keys(t) for t in TASKS}, "text": __doc__}


def summary_line(name, summary, runs, failed, seconds) -> dict:
    return {"bench": name, "runs_this_invocation": runs, "failed": failed,
            "wall_s": round(seconds, 1),
            "summary": {label: {t: {s: {"solved": f"{v['solved']}/{v['runs']}",
                                        "mean_evaluations": v["mean_evaluations"],
                                        "median_evaluations": v["median_evaluations"]}
                                    for s, v in sys_.items()} for t, sys_ in tasks_.items()}
                        for label, tasks_ in summary.items()}}


if __name__ == "__main__":
    sys.exit(main())
