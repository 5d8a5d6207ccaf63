"""CartPole-v1 evaluation on ezspark's batched environment vs the lockstep loop vs gymnasium's
native vector environment (issue 17, first measurement).

Measured in one process, round-robin per repeat (the order alternates), unit = individual
env steps per second, resets included:

  lockstep              ``EnvEvaluator.evaluate`` with batched environments off (one
                        ``CartPoleEnv.step`` call per game per step; 512 rows live)
  batched               the same evaluation on ezspark's batched CartPole (one kernel call
                        per step for every live row; 512 rows live, the default)
  batched_all_rows      the same with every (genome, game) row live at once (max_rows = P x G)
  vector_env_random     gymnasium's ``CartPoleVectorEnv`` with 1,000 envs, random actions
                        drawn with one numpy call per step (no networks: the environment's
                        own limit)

Fixed population: generation ``--gen`` (default 3) of a seeded ezspark run on CartPole-v1 with
the docs example values, ``--pop`` genomes (default 1,000), 5 games of <= 500 steps, seed 0;
every evaluation plays the same episodes, and lockstep and batched give identical fitness
(checked before timing).  ``--profile`` adds a cProfile of one batched evaluation.

Usage: python benchmarks/bench_batched.py [--repeats 5] [--min-time 1.0] [--gen 3] [--pop 1000] [--quick] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402
from bench_env import ENV_ID, cartpole_cfg, fixed_population  # noqa: E402

import gymnasium  # noqa: E402
from ezspark.evaluation.envs import inspect_env  # noqa: E402
from ezspark.evaluation.local import EnvEvaluator  # noqa: E402

VECTOR_ENVS = 1000


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per configuration per repeat")
    ap.add_argument("--gen", type=int, default=3, help="generation of the seed-0 run used as the fixed population")
    ap.add_argument("--pop", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 repeats, 0.2 s each, 150 genomes, generation 1")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.min_time, args.gen, args.pop = 2, 0.2, 1, 150
    return args


def evaluators(cfg, programs):
    info = inspect_env(ENV_ID, 4, 2)
    rows = len(programs) * cfg.max_number_of_games
    return {"lockstep": EnvEvaluator.from_config(cfg, info, batched=False),
            "batched": EnvEvaluator.from_config(cfg, info),
            "batched_all_rows": EnvEvaluator.from_config(cfg, info, max_rows=rows)}


def same_work(evs, programs, gen):
    """Env steps of one evaluation, after checking that every evaluator plays the same games
    with the same fitness."""
    results = {name: ev.evaluate(programs, 0, gen) for name, ev in evs.items()}
    first = results["lockstep"]
    for name, r in results.items():
        if not (np.array_equal(r.fitness, first.fitness) and np.array_equal(r.env_steps, first.env_steps)):
            raise SystemExit(f"{name} and lockstep evaluations differ")
    assert evs["batched"]._batched_env is not None and evs["lockstep"]._batched_env is None
    return int(first.env_steps.sum())


def vector_env():
    envs = gymnasium.make_vec(ENV_ID, num_envs=VECTOR_ENVS, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    rng = np.random.default_rng(0)

    def run():
        envs.step(rng.integers(0, 2, VECTOR_ENVS))
    return envs, run


def measure(args, evs, programs, steps_per_eval):
    def ez(ev):
        def run():
            r = ev.evaluate(programs, 0, args.gen)
            assert int(r.env_steps.sum()) == steps_per_eval
        return run

    envs, vec = vector_env()
    configs = {name: (ez(ev), steps_per_eval) for name, ev in evs.items()}
    configs["vector_env_random"] = (vec, VECTOR_ENVS)
    for fn, units in configs.values():            # warm-up
        H.timed_rate(fn, units, 0.05)
    rates = {k: [] for k in configs}
    names = list(configs)
    for rep in range(args.repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            fn, units = configs[name]
            rates[name].append(H.timed_rate(fn, units, args.min_time)[0])
        H.log(f"repeat {rep + 1}/{args.repeats}: " + ", ".join(f"{n}={rates[n][-1]:,.0f}" for n in names)
              + f"  load {H.loadavg()}")
    envs.close()
    return rates


def profile_batched(ev, programs, gen):
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    r = ev.evaluate(programs, 0, gen)
    prof.disable()
    wall = time.perf_counter() - t
    total, parts, top = H.profile_breakdown(prof, {
        "resets (BatchedEnv.reset: gymnasium's seeding, per episode)": ("batched/classic.py", "reset"),
        "env steps (CartPole.step: the kernel call)": ("batched/classic.py", "step"),
        "activation (Programs.act_rows)": ("network/programs.py", "act_rows"),
        "episode seeds (sha256)": ("evaluation/envs.py", "episode_seed"),
        "game ends (Lockstep._finish, resets excluded)": ("evaluation/lockstep.py", "_finish"),
        "evaluate total": ("evaluation/local.py", "evaluate"),
    })
    parts["the rest (loop glue, tally kernel)"] = parts["evaluate total"] - sum(
        v for k, v in parts.items() if k != "evaluate total")
    return {"steps": int(r.env_steps.sum()), "profiled_wall_s": round(wall, 3),
            "profiled_total_s": round(total, 3), "cum_s": {k: round(v, 3) for k, v in parts.items()},
            "share": {k: round(v / total, 3) for k, v in parts.items()}, "top_tottime": top,
            "note": "cProfile inflates per-call costs; shares are indicative"}


def main():
    args = parse_args()
    info = H.machine_info()
    cfg = cartpole_cfg(args.pop)
    t0 = time.perf_counter()
    programs, _ = fixed_population(cfg, args.gen)
    H.log(f"fixed population: generation {args.gen}, {len(programs)} genomes ({time.perf_counter() - t0:.1f}s)")
    evs = evaluators(cfg, programs)
    steps_per_eval = same_work(evs, programs, args.gen)
    episode_len = steps_per_eval / (len(programs) * cfg.max_number_of_games)
    H.log(f"one evaluation = {steps_per_eval} env steps, {episode_len:.1f} steps/episode; lockstep and batched identical")
    rates = measure(args, evs, programs, steps_per_eval)
    res = {k: H.summarize(v, 0) for k, v in rates.items()}
    ratios = {f"{k}_over_vector_env_random": H.ratio(rates[k], rates["vector_env_random"])
              for k in evs}
    ratios["batched_over_lockstep"] = H.ratio(rates["batched"], rates["lockstep"])
    ratios["batched_all_rows_over_lockstep"] = H.ratio(rates["batched_all_rows"], rates["lockstep"])
    prof = profile_batched(evs["batched"], programs, args.gen) if args.profile else None
    for ev in evs.values():
        ev.close()
    full = {"bench": "bench_batched", "machine": info, "params": vars(args),
            "unit": "individual env steps per second (resets included)",
            "population": {"generation": args.gen, "genomes": len(programs),
                           "env_steps_per_evaluation": steps_per_eval,
                           "mean_episode_length": round(episode_len, 2),
                           "identical_lockstep_vs_batched": True},
            "steps_per_sec": res, "ratios_same_repeat": ratios, "profile_batched": prof, "raw": rates}
    line = {"bench": "bench_batched", "unit": "env steps/s [median,min,max]",
            "steps_per_sec": {k: H.ms(v, 0) for k, v in res.items()},
            "ratios": {k: H.ms(v, 3) for k, v in ratios.items()},
            "ezspark": info["ezspark"]["version"], "repeats": args.repeats}
    if prof:
        line["profile_share"] = prof["share"]
    H.emit("bench_batched" + ("_quick" if args.quick else ""), full, line)


if __name__ == "__main__":
    main()
