"""Evaluation throughput on CartPole-v1: ezspark's evaluator vs the raw environment limit.

Measured in one process, round-robin per repeat (the order alternates), unit = individual
env steps per second, resets included:

  bare_gym_make          ``peers.bare_env``'s loop over ``gym.make("CartPole-v1").step``
                         (policy ``int(obs[2] > 0)``, default wrappers) -- the per-core limit
                         of a Python loop
  bare_unwrapped         ``peers.bare_env``'s loop over the unwrapped CartPoleEnv (500-step cap
                         by hand)
  bare_gym_make_x2       diagnostic: two bare_gym_make loops in two processes at once
                         (aggregate steps/s = the 2-core limit of a Python loop)
  ezspark_1worker        ``EnvEvaluator.evaluate`` (network activation, env loop, resets,
                         episode seeding, everything) on a fixed population
  ezspark_2workers       ``ProcessEvaluator(2).evaluate`` on the same population (the pool
                         is started once, as in training; shipping programs included)

Fixed population: generation ``--gen`` (default 3) of an ezspark run on CartPole-v1 with the
docs example values, pop 150, 5 games of <= 500 steps, seed 0 (deterministic); every
evaluation plays the same 5 x 150 episodes (checked: 1 and 2 workers give identical fitness
and step counts).  Ratios are per repeat: ezspark_1worker / bare_gym_make (target >= 1),
ezspark_2workers / ezspark_1worker (target >= 1.7).  ``--profile`` adds a cProfile of one
1-worker evaluation (share of time in env.step, the activation call, the loop).

Usage: python benchmarks/bench_env.py [--repeats 7] [--min-time 1.0] [--gen 3] [--quick] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402
from peers import bare_env  # noqa: E402

import attrs  # noqa: E402
from ezspark.config.training import TrainingConfig  # noqa: E402
from ezspark.evaluation.envs import inspect_env  # noqa: E402
from ezspark.evaluation.local import EnvEvaluator  # noqa: E402
from ezspark.engine.evolution import Evolution  # noqa: E402
from ezspark.network.programs import compile_programs  # noqa: E402
from ezspark.evaluation.processes import ProcessEvaluator  # noqa: E402
from ezspark.training.trainer import make_streams  # noqa: E402

ENV_ID = "CartPole-v1"


def cartpole_cfg(pop=150):
    return attrs.evolve(TrainingConfig.docs_example(), gym_game_name=ENV_ID,
                        max_number_of_steps=500, max_number_of_games=5,
                        initial_population=pop, min_population=pop, max_population=pop)


def fixed_population(cfg, gen, seed=0):
    """Programs of generation ``gen`` of a seeded ezspark run (evaluated as train() does)."""
    info = inspect_env(ENV_ID, 4, 2)
    ev = EnvEvaluator.from_config(cfg, info)
    rng, _ = make_streams(seed)
    evo, pop = Evolution.start(cfg, rng)
    for k in range(gen):
        res = ev.evaluate(compile_programs(pop, 4, 2), seed, k)
        j, _, _ = evo.observe(res.fitness)
        pop, _ = evo.reproduce(pop, res.fitness, k, j)
    ev.close()
    return compile_programs(pop, 4, 2), pop


def _bare_loop_seconds(t):
    fn, units = bare_env.make_single_gym()
    H.timed_rate(fn, units, min_time=0.05)
    r, calls, el = H.timed_rate(fn, units, min_time=t)
    return r


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per configuration per repeat")
    ap.add_argument("--gen", type=int, default=3, help="generation of the seed-0 run used as the fixed population")
    ap.add_argument("--pop", type=int, default=150)
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 repeats, 0.2 s each, generation 1")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.min_time, args.gen = 2, 0.2, 1
    return args


def steps_per_evaluation(ev1, ev2, programs, gen):
    """Env steps of one evaluation, after checking that 1 and 2 workers do the same work
    (same fitness and step counts)."""
    r1 = ev1.evaluate(programs, 0, gen)
    r2 = ev2.evaluate(programs, 0, gen)
    if not (np.array_equal(r1.fitness, r2.fitness) and np.array_equal(r1.env_steps, r2.env_steps)):
        raise SystemExit("1-worker and 2-worker evaluations differ")
    return int(r1.env_steps.sum())


def measure(args, ev1, ev2, programs, steps_per_eval):
    """Steps/s of every configuration, round-robin per repeat (the order alternates)."""
    def ez(e):
        def run():
            r = e.evaluate(programs, 0, args.gen)
            assert int(r.env_steps.sum()) == steps_per_eval
        return run

    bare_gym = bare_env.make_single_gym()
    bare_unw = bare_env.make_single_unwrapped()
    mp = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    list(mp.map(_bare_loop_seconds, [0.05, 0.05]))  # start both processes
    configs = {
        "bare_gym_make": lambda: H.timed_rate(*bare_gym, args.min_time)[0],
        "bare_unwrapped": lambda: H.timed_rate(*bare_unw, args.min_time)[0],
        "ezspark_1worker": lambda: H.timed_rate(ez(ev1), steps_per_eval, args.min_time)[0],
        "ezspark_2workers": lambda: H.timed_rate(ez(ev2), steps_per_eval, args.min_time)[0],
        "bare_gym_make_x2": lambda: sum(mp.map(_bare_loop_seconds, [args.min_time, args.min_time])),
    }
    for fn, units in (bare_gym, bare_unw):  # warm-up
        H.timed_rate(fn, units, 0.05)
    rates = {k: [] for k in configs}
    names = list(configs)
    for rep in range(args.repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            rates[name].append(configs[name]())
        H.log(f"repeat {rep + 1}/{args.repeats}: " + ", ".join(f"{n}={rates[n][-1]:,.0f}" for n in names)
              + f"  load {H.loadavg()}")
    mp.shutdown()
    return rates


def ratios_and_targets(rates):
    ratios = {
        "ezspark_1worker_over_bare_gym_make": H.ratio(rates["ezspark_1worker"], rates["bare_gym_make"]),
        "ezspark_1worker_over_bare_unwrapped": H.ratio(rates["ezspark_1worker"], rates["bare_unwrapped"]),
        "ezspark_2workers_over_1worker": H.ratio(rates["ezspark_2workers"], rates["ezspark_1worker"]),
        "ezspark_2workers_over_bare_gym_make_x2": H.ratio(rates["ezspark_2workers"], rates["bare_gym_make_x2"]),
        "bare_gym_make_x2_over_bare_gym_make": H.ratio(rates["bare_gym_make_x2"], rates["bare_gym_make"]),
    }
    one, two = ratios["ezspark_1worker_over_bare_gym_make"]["median"], ratios["ezspark_2workers_over_1worker"]["median"]
    targets = {"eval_1worker_ge_bare_gym_make": one, "eval_1worker_met": one >= 1.0,
               "workers2_over_1_ge_1.7": two, "workers2_met": two >= 1.7}
    return ratios, targets


def main():
    args = parse_args()
    info = H.machine_info()
    cfg = cartpole_cfg(args.pop)
    t0 = time.perf_counter()
    programs, _ = fixed_population(cfg, args.gen)
    H.log(f"fixed population: generation {args.gen}, {len(programs)} genomes, "
          f"{programs.in_w.shape[0] / len(programs):.1f} links/network ({time.perf_counter() - t0:.1f}s)")
    env_info = inspect_env(ENV_ID, 4, 2)
    ev1 = EnvEvaluator.from_config(cfg, env_info)
    ev2 = ProcessEvaluator.from_config(cfg, env_info, 2)
    steps_per_eval = steps_per_evaluation(ev1, ev2, programs, args.gen)
    episode_len = steps_per_eval / (len(programs) * cfg.max_number_of_games)
    H.log(f"one evaluation = {steps_per_eval} env steps, {episode_len:.1f} steps/episode; "
          "1 and 2 workers identical")
    rates = measure(args, ev1, ev2, programs, steps_per_eval)
    res = {k: H.summarize(v, 0) for k, v in rates.items()}
    ratios, targets = ratios_and_targets(rates)
    prof = profile_eval(ev1, programs, args.gen) if args.profile else None
    ev1.close()
    ev2.close()

    full = {"bench": "bench_env", "machine": info, "params": vars(args),
            "unit": "individual env steps per second (resets included)",
            "population": {"generation": args.gen, "genomes": len(programs),
                           "links_per_network": round(programs.in_w.shape[0] / len(programs), 2),
                           "nodes_per_network": round(programs.node_bias.shape[0] / len(programs), 2),
                           "env_steps_per_evaluation": steps_per_eval,
                           "mean_episode_length": round(episode_len, 2),
                           "identical_1_vs_2_workers": True},
            "steps_per_sec": res, "ratios_same_repeat": ratios, "targets": targets,
            "profile_1worker": prof, "raw": rates}
    line = {"bench": "bench_env", "unit": "env steps/s [median,min,max]",
            "steps_per_sec": {k: H.ms(v, 0) for k, v in res.items()},
            "ratios": {k: H.ms(v, 3) for k, v in ratios.items()}, "targets": targets,
            "ezspark": info["ezspark"]["version"], "repeats": args.repeats}
    if prof:
        line["profile_share"] = prof["share"]
    H.emit("bench_env" + ("_quick" if args.quick else ""), full, line)


def profile_eval(ev, programs, gen):
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    r = ev.evaluate(programs, 0, gen)
    prof.disable()
    wall = time.perf_counter() - t
    total, parts, top = H.profile_breakdown(prof, {
        "env_step (CartPoleEnv.step)": ("cartpole.py", "step"),
        "env_reset (CartPoleEnv.reset)": ("cartpole.py", "reset"),
        "activation (Programs.act_rows)": ("network/programs.py", "act_rows"),
        "episode seeds (sha256)": ("evaluation/envs.py", "episode_seed"),
        "evaluate total": ("evaluation/local.py", "evaluate"),
    })
    # the stepping kernel is compiled: cProfile does not see it, its time is in the rest
    parts["loop glue and stepping kernel (the rest of evaluate)"] = parts["evaluate total"] - sum(
        v for k, v in parts.items() if k != "evaluate total")
    return {"steps": int(r.env_steps.sum()), "profiled_wall_s": round(wall, 3),
            "profiled_total_s": round(total, 3), "cum_s": {k: round(v, 3) for k, v in parts.items()},
            "share": {k: round(v / total, 3) for k, v in parts.items()}, "top_tottime": top,
            "note": "cProfile inflates per-call costs; shares are indicative"}


if __name__ == "__main__":
    main()
