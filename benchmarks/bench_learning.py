"""Learning benchmark (issue #15 item 5): what ezspark, neat-python 2.0.0 and MultiNEAT 0.12
learn on XOR, CartPole-v1, Acrobot-v1 and LunarLander-v3 for the same budget, 10 seeds each.

Definitions
-----------
Budget.  Env steps: every ``env.step`` of the training episodes of every genome, and for
ezspark also its validation episodes (``champion.validation_steps``).  CartPole-v1
1,000,000 (episodes of at most 500 steps), Acrobot-v1 1,000,000 (500), LunarLander-v3
3,000,000 (1000).  XOR has no environment: 30,000 genome evaluations (150 genomes x 200
generations).  A run stops at the end of the first generation whose cumulative spending
reaches the budget; the steps actually used are reported (``steps``).  For ezspark the budget
is a ``stop`` callback (``BudgetStop``), which ezspark asks *before* it reports the
generation's steps, so its runs go one generation further; validation never changes
training, so the benchmark cuts the run at the first generation that reached the budget
and takes what that run would have handed out: the best validated champion of the
generations up to there (``budget_generation``, ``ChampionTable.best_row``).  Every system is thus
measured up to the end of the first generation that reaches the budget.

Training.  Per genome per generation the fitness is the mean return over G episodes, G =
``max_number_of_games`` of the task's ezspark config (read at run time; 5 for CartPole, 3 for
Acrobot, 1 for LunarLander in the examples).  Actions: the lowest index of the largest output.
Episodes end at the env's own time limit (``gym.make`` default wrappers).  ezspark seeds its
episodes itself (docs/algorithm.md 6.2); the peers use
``peers.learning_common.train_seed(run seed, generation, genome position, game)``, fresh per
(generation, genome, game), always below UNSEEN_SEED.  XOR fitness: 4 - squared error over
the four cases, for all three.

Systems.  ezspark: ``ezspark.train`` with the task's example config (``examples/*.json``,
``examples/xor.py``'s ``xor_config`` for XOR; ``--ezspark-config TASK=PATH`` replaces it, for
XOR its keys update ``xor_config``), ``saving`` 1, ``generations`` 1,000,000 and no
``fitness_threshold``.  neat-python: ``peers/learning_neat_python.py`` (its XOR example's
values, population 150, feed-forward).  MultiNEAT: ``peers/learning_multineat.py`` (its XOR
test's parameters, population 150, fitness shifted to be >= 0 on Acrobot and LunarLander,
see there).

Unseen episodes.  Episode e starts with ``reset(seed=UNSEEN_SEED + e)``, e = 0 ... 99,
UNSEEN_SEED = 2,000,000,000; the same episodes for every system, never used by the peers'
training (seeds below UNSEEN_SEED) nor by ezspark's validation (seeds >= 2**31).  A
champion's *unseen mean* is its mean return over them (ezspark champions are played by
``ezspark.evaluation.play.episode_returns``, the peers' by a plain ``gym.make`` loop).
Screening episodes: ``UNSEEN_SEED + 100 + e``, e = 0 ... 9 (disjoint from the 100).

Solved.  Unseen mean >= gymnasium's ``reward_threshold`` (CartPole-v1 475, Acrobot-v1 -100,
LunarLander-v3 200, read from ``gym.spec``).  XOR: all four outputs on the right side of 0.5
(targets 0, 1, 1, 0); XOR has no episodes, so there a champion's *score* is 4 - its squared
error on the four cases (higher is better, 4 is perfect) and ``correct`` counts the right
outputs; the score takes the place of the unseen mean everywhere below.

Default champion: what the system hands out.  ezspark ``RunResult.champion`` (the best
validated stored champion once validation exists; before, the last generation's);
neat-python the genome ``Population.run`` returns (best-ever training fitness); MultiNEAT
the best-ever generation champion by training fitness (tracked by the benchmark).

Best champion (hindsight): the per-generation champions (ezspark: every stored champion,
``saving`` 1), identical networks counted once, are screened on the 10 screening episodes;
the top 3 of the screen are scored on the 100 unseen episodes; the best champion is the one
with the highest unseen mean among all per-generation champions scored on the 100 episodes
(the top 3, the default champion, and the ones tested for the first solve), so it is never
worse than the default champion.  XOR: the champion with the highest score (all scored).

Steps to first solve: the budget units spent by the end of the first generation whose
champion solves.  Only champions whose training fitness reaches the solve threshold are tested
on the 100 unseen episodes (XOR: every champion), in generation order, stopping at the first
that solves; None if none does.

Also per generation: best training fitness, population size and number of species (the
species of the evaluated population; ezspark's final generation is not speciated).  Species
stability over generations >= 10: min / median / max species count, and when the task's
ezspark config has ``target_species`` T (the one the ezspark runs recorded, else the one the
peers' runs read), the share of those generations with a count within [0.5 T, 1.5 T], for
every system; runs of at most 10 generations get min / median / max over all generations.

Results accumulate in ``results/bench_learning.json`` under "TASK/SYSTEM/SEED" (a rerun of
the same key replaces it; ``--quick`` writes ``bench_learning_quick.json``); the summary table
is computed from the whole file.

Usage: python benchmarks/bench_learning.py [--tasks xor,cartpole,acrobot,lunarlander]
           [--systems ezspark,neat-python,multineat] [--seeds 0-9] [-j N]
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

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
sys.path.insert(0, HERE)
import _harness as H  # noqa: E402
from peers import learning_common as C  # noqa: E402
from peers.learning_common import UNSEEN_SEED  # noqa: E402,F401  (importable from here)

import ezspark  # noqa: E402
from ezspark.plugins.manager import make_plugin_manager  # noqa: E402

NAME = "bench_learning"
SYSTEMS = ("ezspark", "neat-python", "multineat")
PEER_MODULES = {"neat-python": "learning_neat_python", "multineat": "learning_multineat"}

TASKS = {
    "xor": {"env_id": None, "budget": 30_000, "unit": "evaluations", "config": "xor.py"},
    "cartpole": {"env_id": "CartPole-v1", "budget": 1_000_000, "unit": "env_steps",
                 "config": "cartpole.json"},
    "acrobot": {"env_id": "Acrobot-v1", "budget": 1_000_000, "unit": "env_steps",
                "config": "acrobot.json"},
    "lunarlander": {"env_id": "LunarLander-v3", "budget": 3_000_000, "unit": "env_steps",
                    "config": "lunarlander.json"},
}
QUICK_BUDGET = {"xor": 600, "cartpole": 5_000, "acrobot": 5_000, "lunarlander": 10_000}

UNSEEN_EPISODES = 100
SCREEN_SEED = UNSEEN_SEED + 100
SCREEN_EPISODES = 10
TOP = 3
PEER_POPULATION = 150
EZSPARK_GENERATIONS = 1_000_000
QUICK_SCORING = {"unseen": 10, "screen": 3, "top": 2}


# ---- ezspark's budget ------------------------------------------------------------------------

class BudgetStop:
    """ezspark's budget: a ``stop`` callback for ``ezspark.train`` and a plugin that counts.

    ``steps`` = training env steps (``stats.env_steps`` of every ``ezspark_generation_end``)
    + validation env steps (``champion.validation_steps`` of every ``ezspark_new_champion``,
    0 while ezspark has no validation); with ``unit="evaluations"`` (fitness-function runs
    such as XOR) genome evaluations (``stats.evaluations``) instead.  ``stop(champion)`` is
    True once ``steps >= budget``.  ezspark asks ``stop`` before it reports the generation,
    so a run ends one generation after the one that reaches the budget.  ``cum`` maps each
    generation to the units spent by its end.  ``manager()`` is a fresh plugin manager
    (ezspark's default plugins) with this object registered; pass both to ``train``::

        stop = BudgetStop(1_000_000)
        ezspark.train(cfg, plugins=stop.manager(), stop=stop)
    """

    def __init__(self, budget: int, unit: str = "env_steps"):
        if unit not in ("env_steps", "evaluations"):
            raise ValueError(f"unit must be env_steps or evaluations, not {unit!r}")
        self.budget = int(budget)
        self.unit = unit
        self.steps = 0
        self.training_steps = 0
        self.validation_steps = 0
        self.cum: dict[int, int] = {}

    @ezspark.hookimpl
    def ezspark_generation_end(self, run, stats):
        n = int(stats.evaluations if self.unit == "evaluations" else stats.env_steps)
        self.training_steps += n
        self.steps += n
        self.cum[int(stats.generation)] = self.steps

    @ezspark.hookimpl
    def ezspark_new_champion(self, run, champion):
        n = int(getattr(champion, "validation_steps", 0) or 0)
        if self.unit == "env_steps" and n:
            self.validation_steps += n
            self.steps += n
            self.cum[int(champion.generation)] = self.steps

    def __call__(self, champion) -> bool:
        return self.steps >= self.budget

    def manager(self):
        pm = make_plugin_manager()
        pm.register(self, name=f"bench-learning-budget-{id(self)}")
        return pm


# ---- configs -----------------------------------------------------------------------------------

def _xor_module():
    sys.path.insert(0, EXAMPLES)
    import xor
    return xor


def ezspark_keys(task: str, path: str | None = None) -> dict:
    """The task's ezspark training keys as read now: the example (or ``path``)."""
    if task == "xor":
        keys = _xor_module().xor_config().to_dict()
        if path:
            with open(path) as f:
                keys.update(json.load(f))
        return keys
    with open(path or os.path.join(EXAMPLES, TASKS[task]["config"])) as f:
        return json.load(f)


def threshold(task: str):
    if task == "xor":
        return None
    import gymnasium as gym
    return float(gym.spec(TASKS[task]["env_id"]).reward_threshold)


# ---- training: one Trace per system ----------------------------------------------------------

class EzPolicy:
    """An ezspark Champion as the benchmark scores it."""

    def __init__(self, champion):
        self.champion = champion

    def outputs(self, rows):
        return self.champion.activate(np.asarray(rows, dtype=np.float64))[:, 0].tolist()


def budget_generation(stop: "BudgetStop", budget: int) -> int:
    """The first generation by whose end the budget was spent (the last one run when the
    run ended before)."""
    reached = [g for g, spent in sorted(stop.cum.items()) if spent >= budget]
    return reached[0] if reached else max(stop.cum)


def train_ezspark(task: str, seed: int, budget: int, keys: dict):
    keys = dict(keys, generations=EZSPARK_GENERATIONS, saving=1)
    keys["fitness_threshold"] = None
    cfg = ezspark.TrainingConfig.from_dict(keys)
    stop = BudgetStop(budget, TASKS[task]["unit"])
    extra = {"fitness": _xor_module().xor_fitness} if task == "xor" else {}
    with tempfile.TemporaryDirectory() as out:
        result = ezspark.train(cfg, out=out, seed=seed, plugins=stop.manager(), stop=stop,
                               **extra)
        rf = ezspark.RunFile.open(os.path.join(out, "run.h5"))
        last = budget_generation(stop, budget)
        table = rf.champions.below(last + 1)       # the champions of generations <= last
        stored = [table.champion_at(k, rf.env_id) for k in range(len(table.index))]
        handed_out = table.champion_at(table.best_row(), rf.env_id)
    # ezspark asks ``stop`` before it reports a generation's steps, so the run went one
    # generation past the budget.  Validation never changes training, so the run that
    # stopped at the first generation reaching the budget is this one cut there: its
    # history, its stored champions and, as its handed-out champion, the best validated of
    # those (exactly what RunResult.champion would have been: ChampionTable.best_row).
    trace = C.Trace(steps=stop.cum[last])
    history = [s for s in result.history if s.generation <= last]
    for s in history:
        trace.rows.append({"generation": s.generation, "best": s.best_fitness,
                           "population": s.population,
                           "species": s.species if s.species >= 0 else None,
                           "cum_steps": stop.cum.get(s.generation)})
    for ch in stored:
        trace.champions.append(C.Champ(ch.generation, ch.fitness, H.genes_key(ch.genome),
                                       EzPolicy(ch)))
    champ = handed_out
    trace.default = C.Champ(champ.generation, champ.fitness, H.genes_key(champ.genome),
                            EzPolicy(champ))
    validation = getattr(champ, "validation", None)
    trace.notes = {"stopped": result.stopped, "generations_run": len(result.history),
                   "training_steps": sum(s.env_steps for s in history),
                   "default_validation": (None if validation is None or validation != validation
                                          else float(validation)),
                   "validation_games": getattr(cfg, "validation_games", None),
                   "target_species": getattr(cfg, "target_species", None),
                   "initial_population": cfg.initial_population,
                   "min_population": getattr(cfg, "min_population", None)}
    return trace


def train_peer(system: str, task: str, seed: int, budget: int, keys: dict):
    mod = H.import_peer(PEER_MODULES[system])
    if mod is None:
        raise RuntimeError(f"{system} is not installed")
    env_id = TASKS[task]["env_id"]
    if env_id is None:
        n_in, n_out, games = 2, 1, 1
    else:
        n_in, n_out, games = int(keys["input_size"]), int(keys["output_size"]), \
            int(keys["max_number_of_games"])
    return mod.run(env_id, n_in, n_out, seed=seed, budget=budget, games=games,
                   pop=PEER_POPULATION)


# ---- scoring -----------------------------------------------------------------------------------

class Scorer:
    """Unseen and screening returns of one run's champions, remembered per network."""

    def __init__(self, system: str, env_id: str, scoring: dict):
        self.system, self.env_id = system, env_id
        self.n_unseen, self.n_screen = scoring["unseen"], scoring["screen"]
        self.full: dict[str, dict] = {}
        self.screened: dict[str, float] = {}
        self.steps_played = 0

    def _returns(self, champ, n: int, seed0: int) -> list[float]:
        if self.system == "ezspark":
            from ezspark.evaluation.play import episode_returns
            return [float(r) for r in episode_returns(champ.policy.champion, episodes=n,
                                                      seed=seed0)]
        return C.returns(champ.policy.act, self.env_id, range(seed0, seed0 + n))

    def unseen(self, champ) -> dict:
        if champ.key not in self.full:
            r = self._returns(champ, self.n_unseen, UNSEEN_SEED)
            self.full[champ.key] = {"mean": statistics.fmean(r), "min": min(r), "max": max(r),
                                    "stdev": statistics.pstdev(r),
                                    "returns": [round(x, 2) for x in r]}
        return self.full[champ.key]

    def screen(self, champ) -> float:
        if champ.key not in self.screened:
            self.screened[champ.key] = statistics.fmean(
                self._returns(champ, self.n_screen, SCREEN_SEED))
        return self.screened[champ.key]


def assess_gym(task: str, system: str, trace, scoring: dict) -> dict:
    solve = threshold(task)
    sc = Scorer(system, TASKS[task]["env_id"], scoring)
    cum = {r["generation"]: r["cum_steps"] for r in trace.rows}
    default = trace.default
    d = sc.unseen(default)
    out = {"default": {"generation": default.generation, "fitness": default.fitness,
                       "unseen_mean": d["mean"], "unseen_min": d["min"], "unseen_max": d["max"],
                       "unseen_stdev": d["stdev"], "solved": d["mean"] >= solve,
                       "unseen_returns": d["returns"]}}
    # steps to first solve: champions with training fitness >= threshold, in order
    first, tested = None, 0
    for ch in trace.champions:
        if ch.fitness >= solve:
            tested += 1 if ch.key not in sc.full else 0
            m = sc.unseen(ch)["mean"]
            if m >= solve:
                first = {"generation": ch.generation, "steps": cum.get(ch.generation),
                         "unseen_mean": m, "fitness": ch.fitness}
                break
    out["first_solve"] = first
    out["solve_tests"] = tested
    # best champion: screen the distinct ones, score the top TOP, best of all scored
    unique = {}
    for ch in trace.champions:
        unique.setdefault(ch.key, ch)
    ranked = sorted(unique.values(), key=lambda c: (-sc.screen(c), c.generation))
    for ch in ranked[:scoring["top"]]:
        sc.unseen(ch)
    scored = [c for c in unique.values() if c.key in sc.full]
    if default.key not in unique:
        scored.append(default)
    best = max(scored, key=lambda c: (sc.full[c.key]["mean"], -c.generation))
    b = sc.full[best.key]
    out["best"] = {"generation": best.generation, "fitness": best.fitness,
                   "unseen_mean": b["mean"], "unseen_min": b["min"], "unseen_max": b["max"],
                   "screen_mean": sc.screened.get(best.key), "solved": b["mean"] >= solve,
                   "top_of_screen": [{"generation": c.generation, "screen_mean": sc.screened[c.key],
                                      "unseen_mean": sc.full[c.key]["mean"]}
                                     for c in ranked[:scoring["top"]]]}
    out["distinct_champions"] = len(unique)
    out["fully_scored"] = len(sc.full)
    out["threshold"] = solve
    return out


def assess_xor(trace) -> dict:
    cum = {r["generation"]: r["cum_steps"] for r in trace.rows}
    cache: dict[str, dict] = {}

    def score(ch):
        if ch.key not in cache:
            cache[ch.key] = C.xor_score(ch.policy.outputs(C.XOR_X))
        return cache[ch.key]

    def row(ch):
        s = score(ch)
        return {"generation": ch.generation, "fitness": ch.fitness, "score": s["score"],
                "sse": s["sse"], "correct": s["correct"], "solved": s["solved"],
                "outputs": s["outputs"]}

    first = next(({"generation": c.generation, "steps": cum.get(c.generation),
                   "score": score(c)["score"]} for c in trace.champions if score(c)["solved"]),
                 None)
    best = max(trace.champions + [trace.default],
               key=lambda c: (score(c)["score"], -c.generation))
    return {"default": row(trace.default), "best": row(best), "first_solve": first,
            "solve_tests": len(cache), "distinct_champions": len({c.key for c in trace.champions})}


# ---- one run -------------------------------------------------------------------------------------

def species_stability(species, target) -> dict:
    """Species counts per generation (index = generation; None: not speciated): min /
    median / max over generations >= 10 and, with a target T, the share of those within
    [0.5 T, 1.5 T]; ``all``: min / median / max over every generation (runs shorter than
    11 generations have nothing else)."""
    vals = [v for g, v in enumerate(species) if g >= 10 and v is not None]
    every = [v for v in species if v is not None]
    out = {"target_species": target, "generations": len(vals)}
    if vals:
        out.update(min=min(vals), median=statistics.median(vals), max=max(vals))
        if target:
            out["share_in_band"] = sum(0.5 * target <= v <= 1.5 * target for v in vals) / len(vals)
    if every:
        out["all"] = {"min": min(every), "median": statistics.median(every), "max": max(every)}
    return out


def run_one(job: dict) -> dict:
    task, system, seed, budget = job["task"], job["system"], job["seed"], job["budget"]
    keys = ezspark_keys(task, job.get("config"))
    t0 = time.perf_counter()
    if system == "ezspark":
        trace = train_ezspark(task, seed, budget, keys)
    else:
        trace = train_peer(system, task, seed, budget, keys)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    scored = assess_xor(trace) if task == "xor" else assess_gym(task, system, trace, job["scoring"])
    score_s = time.perf_counter() - t1
    rows = trace.rows
    reached = next((r["generation"] for r in rows if r["cum_steps"] is not None
                    and r["cum_steps"] >= budget), None)
    record = {
        "task": task, "system": system, "seed": seed, "env_id": TASKS[task]["env_id"],
        "budget": budget, "unit": TASKS[task]["unit"], "steps": trace.steps,
        "generations": len(rows),
        "generations_after_budget": (rows[-1]["generation"] - reached) if reached is not None else None,
        "games_per_genome": None if task == "xor" else int(keys["max_number_of_games"]),
        **scored,
        "solved": scored["default"]["solved"],
        "species_stability": species_stability([r["species"] for r in rows],
                                                keys.get("target_species")),
        "per_gen": {k: [r[k] for r in rows]
                    for k in ("best", "population", "species", "cum_steps")},
        "train_s": round(train_s, 2), "score_s": round(score_s, 2),
        "wall_s": round(train_s + score_s, 2),
        "notes": trace.notes,
        "scoring": job["scoring"] if task != "xor" else None,
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "loadavg_at_end": H.loadavg(),
    }
    if system == "ezspark":
        record["ezspark_config"] = {k: v for k, v in keys.items()}
        record["ezspark_config_source"] = job.get("config") or TASKS[task]["config"]
    return record


# ---- the results file and the summary --------------------------------------------------------

def record_key(rec: dict) -> str:
    return f"{rec['task']}/{rec['system']}/{rec['seed']}"


def _median(vals):
    return statistics.median(vals) if vals else None


def summarize(runs: dict) -> dict:
    out: dict = {}
    for rec in runs.values():
        out.setdefault(rec["task"], {}).setdefault(rec["system"], []).append(rec)
    summary = {}
    for task in [t for t in TASKS if t in out]:
        summary[task] = {}
        # the band of every system comes from the task's ezspark config (as recorded by its
        # runs, or by the peers' runs, which read it too)
        targets = [r["species_stability"].get("target_species") for recs in
                   sorted(out[task].values(), key=lambda rs: rs[0]["system"] != "ezspark")
                   for r in recs]
        target = next((t for t in targets if t), None)
        for system in [s for s in SYSTEMS if s in out[task]]:
            recs = sorted(out[task][system], key=lambda r: r["seed"])
            key = "score" if task == "xor" else "unseen_mean"
            dv = [r["default"][key] for r in recs]
            bv = [r["best"][key] for r in recs]
            first = [r["first_solve"]["steps"] if r["first_solve"] else float("inf")
                     for r in recs]
            med_first = _median(first)
            spec = [species_stability(r["per_gen"]["species"], target) for r in recs]
            shares = [s["share_in_band"] for s in spec if "share_in_band" in s]
            summary[task][system] = {
                "runs": len(recs), "seeds": [r["seed"] for r in recs],
                "default_mean": statistics.fmean(dv), "default_median": _median(dv),
                "best_mean": statistics.fmean(bv), "best_median": _median(bv),
                "solved_default": sum(r["default"]["solved"] for r in recs),
                "solved_best": sum(r["best"]["solved"] for r in recs),
                "first_solve_found": sum(r["first_solve"] is not None for r in recs),
                "median_steps_to_first_solve": None if med_first in (None, float("inf"))
                else med_first,
                "median_steps": _median([r["steps"] for r in recs]),
                "median_wall_s": _median([r["wall_s"] for r in recs]),
                "target_species": target,
                "species_share_in_band_median": _median(shares) if shares else None,
                "species_median_of_medians": _median([s["median"] for s in spec if "median" in s]),
                "species_min": min((s["min"] for s in spec if "min" in s), default=None),
                "species_max": max((s["max"] for s in spec if "max" in s), default=None),
                "species_all_generations": {
                    "min": min((s["all"]["min"] for s in spec if "all" in s), default=None),
                    "median_of_medians": _median([s["all"]["median"] for s in spec if "all" in s]),
                    "max": max((s["all"]["max"] for s in spec if "all" in s), default=None)},
            }
    return summary


def _f(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float) and v == float("inf"):
        return "inf"
    if isinstance(v, (int,)) or (isinstance(v, float) and abs(v) >= 1000):
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def print_table(summary: dict) -> None:
    head = ("task", "system", "n", "default mean", "default med", "best mean", "best med",
            "solved def", "solved best", "med steps 1st solve", "med wall s", "species")
    lines = [head]
    for task, systems in summary.items():
        nd = 3 if task == "xor" else 1
        for system, s in systems.items():
            n = s["runs"]
            if s["species_share_in_band_median"] is not None:
                species = f"in band {100 * s['species_share_in_band_median']:.0f}%"
            elif s["species_median_of_medians"] is not None:
                species = (f"{_f(s['species_min'], 0)}/{_f(s['species_median_of_medians'], 0)}"
                           f"/{_f(s['species_max'], 0)}")
            else:
                a = s["species_all_generations"]
                species = (f"all gens {_f(a['min'], 0)}/{_f(a['median_of_medians'], 0)}"
                           f"/{_f(a['max'], 0)}")
            lines.append((task, system, str(n), _f(s["default_mean"], nd),
                          _f(s["default_median"], nd), _f(s["best_mean"], nd),
                          _f(s["best_median"], nd), f"{s['solved_default']}/{n}",
                          f"{s['solved_best']}/{n}",
                          f"{_f(s['median_steps_to_first_solve'])} ({s['first_solve_found']}/{n})",
                          _f(s["median_wall_s"]), species))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    print("\nSummary (whole results file; XOR: score = 4 - squared error; med steps 1st "
          "solve: unsolved runs count as infinite; species over generations >= 10: share "
          "within 0.5-1.5x target_species, else min/median of run medians/max; runs of at "
          "most 10 generations: the same over all generations)")
    for r in lines:
        print("  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in
                        enumerate(zip(r, widths))), flush=True)


def run_line(rec: dict) -> str:
    key = "score" if rec["task"] == "xor" else "unseen_mean"
    first = rec["first_solve"]
    return (f"{rec['task']} {rec['system']} seed {rec['seed']}: steps {rec['steps']:,} "
            f"({rec['generations']} gens) | default {rec['default'][key]:.3f} "
            f"(gen {rec['default']['generation']}) | best {rec['best'][key]:.3f} "
            f"(gen {rec['best']['generation']}) | solved {'yes' if rec['solved'] else 'no'} | "
            f"first solve {'-' if first is None else format(first['steps'], ',')} | "
            f"{rec['wall_s']:.1f} s")


# ---- command line ------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="runs in parallel processes")
    ap.add_argument("--ezspark-config", action="append", default=[], metavar="TASK=PATH",
                    help="ezspark training JSON of TASK instead of the example (repeatable)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: budgets " + ", ".join(f"{t} {b:,}" for t, b in
                                                            QUICK_BUDGET.items())
                    + f", seed 0, {QUICK_SCORING['unseen']} unseen episodes; writes "
                    "results/bench_learning_quick.json")
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
    seeds = [0] if args.quick else H.seeds_of(args.seeds)
    name = NAME + "_quick" if args.quick else NAME
    scoring = QUICK_SCORING if args.quick else {"unseen": UNSEEN_EPISODES,
                                                "screen": SCREEN_EPISODES, "top": TOP}
    jobs = [{"task": t, "system": s, "seed": seed,
             "budget": QUICK_BUDGET[t] if args.quick else TASKS[t]["budget"],
             "config": configs.get(t), "scoring": scoring}
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
                definitions={"budgets": {t: [v["budget"], v["unit"]] for t, v in TASKS.items()},
                             "unseen_seed": UNSEEN_SEED, "unseen_episodes": UNSEEN_EPISODES,
                             "screen_seed": SCREEN_SEED, "screen_episodes": SCREEN_EPISODES,
                             "top": TOP, "peer_population": PEER_POPULATION,
                             "text": __doc__})
    data.pop("loadavg_at_end", None)
    line = {"bench": name, "runs_this_invocation": len(jobs) - len(failed), "failed": failed,
            "wall_s": round(time.perf_counter() - t0, 1),
            "summary": {t: {s: {"default_median": v["default_median"],
                                "best_median": v["best_median"],
                                "solved": f"{v['solved_default']}/{v['runs']}",
                                "median_steps_to_first_solve": v["median_steps_to_first_solve"]}
                            for s, v in sys_.items()} for t, sys_ in summary.items()}}
    H.emit(name, data, line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
