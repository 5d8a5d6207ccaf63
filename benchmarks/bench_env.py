"""Evaluation throughput: ezspark's evaluator against the environment's own limits and
against neat-python, in env steps per second (resets included).  Each part is measured in
one process, its configurations round-robin per repeat (the order alternates); ratios are
taken per repeat, so a slow phase of the machine hits both sides.

Parts (``--parts``, default all):

  limit      CartPole-v1, ``--pop`` genomes (default 1,000), generation ``--gen`` (3) of a
             seeded run (docs example values, 5 games of <= 500 steps), one core:
               batched            ``EnvEvaluator.evaluate`` on ezspark's batched CartPole (the
                                  default path; 512 rows live)
               lockstep           the same with batched environments off (gymnasium's
                                  CartPoleEnv, one instance per game: the evaluator before
                                  issue 17)
               vector_env_random  gymnasium's ``CartPoleVectorEnv``, 1,000 envs, random actions
                                  drawn with one numpy call per step: the native vector limit
             targets: batched >= 0.5 x vector_env_random (genome-steps per core against the
             limit); ``--profile`` adds a cProfile of one batched evaluation
  acrobot    Acrobot-v1, 150 genomes of generation 1 of a seeded run, 5 games of <= 500 steps,
             one core: batched against lockstep (target >= 10x)
  rows       env steps/s of one evaluation for live-row caps (``max_rows``) 8 … 2,048:
             LunarLander-v3 (150 genomes of generation 1, 4 games of <= 1,000 steps: 600
             jobs) and CartPole-v1 (150 genomes, generation 3, 750 jobs) on the lockstep
             loop, CartPole-v1 batched (1,000 genomes, 5,000 jobs); ratios to 512 rows
  lunar      LunarLander-v3 on every core (N = ``available_cores()``): ezspark's
             ``ProcessEvaluator(N)`` (what ``ezspark run`` uses by default) against
             neat-python's ``ParallelEvaluator(N)``; 150 genomes each (ezspark: generation 1 of
             a seeded run; neat-python: its initial population, config
             ``peers/cartpole-feedforward.cfg`` with 8 inputs, 4 outputs), 3 games per genome,
             env steps counted on a serial pass of the same work; ezspark on 1 worker for
             reference
  workers    CartPole-v1 batched, ``--pop`` genomes, on every core with the pool running:
             ``ProcessEvaluator(N)`` (each worker takes its whole share of rows at once, the
             default for batched environments) and with 4 chunks per worker, against one
             process
  cartpole150  the first measurement (2026-11-25): CartPole-v1, 150 genomes, ezspark on 1
             and 2 workers against bare gymnasium loops (``peers.bare_env``) on 1 and 2 cores

Every ezspark configuration of a part plays the same episodes with the same fitness (checked
before timing: batched = lockstep, 1 worker = N workers).

Usage: python benchmarks/bench_env.py [--parts limit,acrobot,rows,lunar,workers,cartpole150]
       [--repeats 5] [--min-time 1.0] [--gen 3] [--pop 1000] [--quick] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

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
from ezspark.evaluation.processes import ProcessEvaluator, available_cores  # noqa: E402
from ezspark.training.trainer import make_streams  # noqa: E402

ENV_ID = "CartPole-v1"
SIZES = {"CartPole-v1": (4, 2), "Acrobot-v1": (6, 3), "LunarLander-v3": (8, 4)}
VECTOR_ENVS = 1000
PARTS = ("limit", "acrobot", "rows", "lunar", "workers", "cartpole150")


def env_cfg(env_id, pop, games=5, steps=500):
    return attrs.evolve(TrainingConfig.docs_example(), gym_game_name=env_id,
                        input_size=SIZES[env_id][0], output_size=SIZES[env_id][1],
                        max_number_of_steps=steps, max_number_of_games=games,
                        initial_population=pop, min_population=pop, max_population=pop)


def cartpole_cfg(pop=150):
    return env_cfg(ENV_ID, pop)


def fixed_population(cfg, gen, seed=0):
    """Programs of generation ``gen`` of a seeded ezspark run (evaluated as train() does)."""
    n_in, n_out = cfg.input_size, cfg.output_size
    info = inspect_env(cfg.gym_game_name, n_in, n_out)
    ev = EnvEvaluator.from_config(cfg, info)
    rng, _ = make_streams(seed)
    evo, pop = Evolution.start(cfg, rng)
    for k in range(gen):
        res = ev.evaluate(compile_programs(pop, n_in, n_out), seed, k)
        j, _, _ = evo.observe(res.fitness)
        pop, _ = evo.reproduce(pop, res.fitness, k, j)
    ev.close()
    return compile_programs(pop, n_in, n_out), pop


def info_of(cfg):
    return inspect_env(cfg.gym_game_name, cfg.input_size, cfg.output_size)


def round_robin(args, configs, label):
    """{name: [rate per repeat]}: every configuration ``(fn, units)`` timed once per repeat,
    the order reversed every other repeat."""
    for fn, units in configs.values():            # warm-up
        H.timed_rate(fn, units, 0.05)
    rates = {k: [] for k in configs}
    names = list(configs)
    for rep in range(args.repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            fn, units = configs[name]
            rates[name].append(H.timed_rate(fn, units, args.min_time)[0])
        H.log(f"{label} repeat {rep + 1}/{args.repeats}: "
              + ", ".join(f"{n}={rates[n][-1]:,.0f}" for n in names) + f"  load {H.loadavg()}")
    return rates


def same_work(evs, programs, gen, reference):
    """Env steps of one evaluation, after checking that every evaluator plays the same games
    with the same fitness as ``reference``."""
    results = {name: ev.evaluate(programs, 0, gen) for name, ev in evs.items()}
    first = results[reference]
    for name, r in results.items():
        if not (np.array_equal(r.fitness, first.fitness)
                and np.array_equal(r.env_steps, first.env_steps)):
            raise SystemExit(f"{name} and {reference} evaluations differ")
    return int(first.env_steps.sum())


def evaluating(ev, programs, gen, steps):
    def run():
        r = ev.evaluate(programs, 0, gen)
        assert int(r.env_steps.sum()) == steps
    return run


def summary(rates, ratios, **extra):
    return {"steps_per_sec": {k: H.summarize(v, 0) for k, v in rates.items()},
            "ratios_same_repeat": ratios, "raw": rates, **extra}


def line_of(part):
    out = {"steps_per_sec": {k: H.ms(v, 0) for k, v in part["steps_per_sec"].items()},
           "ratios": {k: H.ms(v, 3) for k, v in part["ratios_same_repeat"].items()}}
    for key in ("targets", "profile_share", "seconds_per_evaluation"):
        if part.get(key) is not None:
            out[key] = part[key]
    return out


# ---- limit: batched CartPole against the native vector environment ---------------------------

def vector_env():
    import gymnasium

    envs = gymnasium.make_vec(ENV_ID, num_envs=VECTOR_ENVS, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    rng = np.random.default_rng(0)

    def run():
        envs.step(rng.integers(0, 2, VECTOR_ENVS))
    return envs, run


def part_limit(args):
    cfg = cartpole_cfg(args.pop)
    programs, _ = fixed_population(cfg, args.gen)
    evs = {"batched": EnvEvaluator.from_config(cfg, info_of(cfg)),
           "lockstep": EnvEvaluator.from_config(cfg, info_of(cfg), batched=False)}
    steps = same_work(evs, programs, args.gen, "lockstep")
    assert evs["batched"]._batched_env is not None and evs["lockstep"]._batched_env is None
    H.log(f"limit: {len(programs)} genomes, one evaluation = {steps} env steps "
          f"({steps / (len(programs) * cfg.max_number_of_games):.1f} per episode); batched = lockstep")
    envs, vec = vector_env()
    configs = {name: (evaluating(ev, programs, args.gen, steps), steps) for name, ev in evs.items()}
    configs["vector_env_random"] = (vec, VECTOR_ENVS)
    rates = round_robin(args, configs, "limit")
    envs.close()
    ratios = {"batched_over_vector_env_random": H.ratio(rates["batched"], rates["vector_env_random"]),
              "lockstep_over_vector_env_random": H.ratio(rates["lockstep"], rates["vector_env_random"]),
              "batched_over_lockstep": H.ratio(rates["batched"], rates["lockstep"])}
    v = ratios["batched_over_vector_env_random"]["median"]
    prof = profile_batched(evs["batched"], programs, args.gen) if args.profile else None
    for ev in evs.values():
        ev.close()
    return summary(rates, ratios, targets={"batched_over_vector_env_random_ge_0.5": v, "met": v >= 0.5},
                   population={"genomes": len(programs), "generation": args.gen,
                               "env_steps_per_evaluation": steps, "identical_batched_lockstep": True},
                   profile_batched=prof, profile_share=prof["share"] if prof else None)


def profile_batched(ev, programs, gen):
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    r = ev.evaluate(programs, 0, gen)
    prof.disable()
    wall = time.perf_counter() - t
    total, parts, top = H.profile_breakdown(prof, {
        "activation and tally kernels (BatchedLoop._step, less env step)": ("evaluation/batched.py", "_step"),
        "env steps (CartPole.step: the kernel call)": ("batched/classic.py", "step"),
        "resets (CartPole.reset: seeded_uniform kernel, float32 casts)": ("batched/classic.py", "reset"),
        "reset bookkeeping (BatchedLoop._flush, less resets)": ("evaluation/batched.py", "_flush"),
        "game ends (Lockstep._finish, less _flush)": ("evaluation/batched.py", "_finish"),
        "compaction (BatchedLoop._compact)": ("evaluation/batched.py", "_compact"),
        "episode seeds (sha256)": ("evaluation/envs.py", "episode_seed"),
        "evaluate total": ("evaluation/local.py", "evaluate"),
    })
    # nested parts: report each without what the parts inside it took
    parts["activation and tally kernels (BatchedLoop._step, less env step)"] -= parts["env steps (CartPole.step: the kernel call)"]
    parts["reset bookkeeping (BatchedLoop._flush, less resets)"] -= parts["resets (CartPole.reset: seeded_uniform kernel, float32 casts)"]
    parts["game ends (Lockstep._finish, less _flush)"] -= (
        parts["reset bookkeeping (BatchedLoop._flush, less resets)"]
        + parts["resets (CartPole.reset: seeded_uniform kernel, float32 casts)"])
    parts["the rest (loop glue, evaluate's setup)"] = parts["evaluate total"] - sum(
        v for k, v in parts.items() if k != "evaluate total")
    return {"steps": int(r.env_steps.sum()), "profiled_wall_s": round(wall, 3),
            "profiled_total_s": round(total, 3), "cum_s": {k: round(v, 3) for k, v in parts.items()},
            "share": {k: round(v / parts["evaluate total"], 3) for k, v in parts.items()},
            "top_tottime": top,
            "note": "cProfile inflates per-call costs; shares are indicative; the compiled "
                    "kernels' time is in their callers"}


# ---- acrobot: batched against lockstep ---------------------------------------------------------

def part_acrobot(args):
    cfg = env_cfg("Acrobot-v1", args.small_pop)
    gen = min(args.gen, 1)
    programs, _ = fixed_population(cfg, gen)
    evs = {"batched": EnvEvaluator.from_config(cfg, info_of(cfg)),
           "lockstep": EnvEvaluator.from_config(cfg, info_of(cfg), batched=False)}
    steps = same_work(evs, programs, gen, "lockstep")
    H.log(f"acrobot: {len(programs)} genomes, one evaluation = {steps} env steps; batched = lockstep")
    configs = {name: (evaluating(ev, programs, gen, steps), steps) for name, ev in evs.items()}
    rates = round_robin(args, configs, "acrobot")
    for ev in evs.values():
        ev.close()
    ratios = {"batched_over_lockstep": H.ratio(rates["batched"], rates["lockstep"])}
    v = ratios["batched_over_lockstep"]["median"]
    return summary(rates, ratios, targets={"batched_over_lockstep_ge_10": v, "met": v >= 10.0},
                   population={"genomes": len(programs), "generation": gen,
                               "env_steps_per_evaluation": steps, "identical_batched_lockstep": True})


# ---- rows: evaluation time against the cap on live rows ---------------------------------------

ROW_CAPS = (8, 16, 32, 64, 128, 512, 2048)


def part_rows(args):
    cases = {"LunarLander-v3 lockstep": (env_cfg("LunarLander-v3", args.small_pop, games=4, steps=1000), 1, False),
             "CartPole-v1 lockstep": (cartpole_cfg(args.small_pop), args.gen, False),
             "CartPole-v1 batched": (cartpole_cfg(args.pop), args.gen, True)}
    caps = ROW_CAPS if not args.quick else (8, 512)
    out = {}
    for label, (cfg, gen, batched) in cases.items():
        programs, _ = fixed_population(cfg, gen)
        evs = {f"rows_{m}": EnvEvaluator.from_config(cfg, info_of(cfg), max_rows=m, batched=batched)
               for m in caps}
        steps = same_work(evs, programs, gen, f"rows_{caps[-1]}")
        configs = {name: (evaluating(ev, programs, gen, steps), steps) for name, ev in evs.items()}
        rates = round_robin(args, configs, label)
        for ev in evs.values():
            ev.close()
        ratios = {f"{k}_over_rows_512": H.ratio(v, rates["rows_512"]) for k, v in rates.items()}
        out[label] = summary(rates, ratios, population={"genomes": len(programs), "generation": gen,
                                                        "env_steps_per_evaluation": steps})
    return out


# ---- lunar: every core, ezspark against neat-python's ParallelEvaluator -------------------------

LUNAR_GAMES = 3


def _np_eval_genome(genome, config, seeds=()):
    from peers.learning_common import episode, get_env
    from peers.learning_neat_python import Policy

    act, env = Policy(genome, config).act, get_env("LunarLander-v3")
    return sum(episode(act, env, s)[0] for s in seeds) / len(seeds)


def _np_steps(genome, config, seeds):
    from peers.learning_common import episode, get_env
    from peers.learning_neat_python import Policy

    act, env = Policy(genome, config).act, get_env("LunarLander-v3")
    return sum(episode(act, env, s)[1] for s in seeds)


def part_lunar(args):
    import neat
    from peers.learning_neat_python import load_config

    cores = available_cores()
    cfg = env_cfg("LunarLander-v3", args.small_pop, games=LUNAR_GAMES, steps=1000)
    programs, _ = fixed_population(cfg, 1)
    evs = {f"ezspark_{cores}workers": ProcessEvaluator.from_config(cfg, info_of(cfg), cores),
           "ezspark_1worker": EnvEvaluator.from_config(cfg, info_of(cfg))}
    steps = same_work(evs, programs, 1, "ezspark_1worker")
    configs = {name: (evaluating(ev, programs, 1, steps), steps) for name, ev in evs.items()}

    np_cfg = load_config(*SIZES["LunarLander-v3"], pop=args.small_pop)
    population = neat.Population(np_cfg)
    genomes = list(population.population.items())
    seeds = tuple(10_000 + g for g in range(LUNAR_GAMES))
    np_steps = sum(_np_steps(g, np_cfg, seeds) for _, g in genomes)
    parallel = neat.ParallelEvaluator(cores, functools.partial(_np_eval_genome, seeds=seeds))

    def np_run():
        parallel.evaluate(genomes, np_cfg)
    configs[f"neat_python_parallel_{cores}"] = (np_run, np_steps)
    H.log(f"lunar: {cores} cores; ezspark {len(programs)} genomes = {steps} env steps, "
          f"neat-python {len(genomes)} genomes = {np_steps} env steps per evaluation")
    rates = round_robin(args, configs, "lunar")
    parallel.close() if hasattr(parallel, "close") else None
    for ev in evs.values():
        ev.close()
    ez, npn = f"ezspark_{cores}workers", f"neat_python_parallel_{cores}"
    ratios = {f"{ez}_over_{npn}": H.ratio(rates[ez], rates[npn]),
              f"{ez}_over_ezspark_1worker": H.ratio(rates[ez], rates["ezspark_1worker"])}
    return summary(rates, ratios, cores=cores,
                   population={"ezspark_genomes": len(programs), "ezspark_steps": steps,
                               "neat_python_genomes": len(genomes), "neat_python_steps": np_steps,
                               "games": LUNAR_GAMES, "identical_1_vs_all_workers": True})


# ---- workers: batched CartPole on every core, pool running -----------------------------------

def part_workers(args):
    cores = available_cores()
    cfg = cartpole_cfg(args.pop)
    programs, _ = fixed_population(cfg, args.gen)
    kw = dict(games=cfg.max_number_of_games, max_steps=cfg.max_number_of_steps,
              sub_games=cfg.sub_games, minimum_reward=cfg.minimum_reward)
    evs = {"ezspark_1worker": EnvEvaluator.from_config(cfg, info_of(cfg)),
           f"ezspark_{cores}workers": ProcessEvaluator(info_of(cfg), cores, **kw),
           f"ezspark_{cores}workers_4chunks": ProcessEvaluator(info_of(cfg), cores,
                                                               chunks_per_worker=4, **kw)}
    steps = same_work(evs, programs, args.gen, "ezspark_1worker")
    configs = {name: (evaluating(ev, programs, args.gen, steps), steps) for name, ev in evs.items()}
    rates = round_robin(args, configs, "workers")
    for ev in evs.values():
        ev.close()
    ratios = {f"{k}_over_ezspark_1worker": H.ratio(v, rates["ezspark_1worker"])
              for k, v in rates.items() if k != "ezspark_1worker"}
    return summary(rates, ratios, cores=cores,
                   population={"genomes": len(programs), "generation": args.gen,
                               "env_steps_per_evaluation": steps,
                               "identical_1_vs_all_workers": True})


# ---- cartpole150: the first measurement (1 and 2 workers against bare loops) --------------------

def _bare_loop_seconds(t):
    fn, units = bare_env.make_single_gym()
    H.timed_rate(fn, units, min_time=0.05)
    r, calls, el = H.timed_rate(fn, units, min_time=t)
    return r


def part_cartpole150(args):
    cfg = cartpole_cfg(150)
    programs, _ = fixed_population(cfg, args.gen)
    evs = {"ezspark_1worker": EnvEvaluator.from_config(cfg, info_of(cfg)),
           "ezspark_2workers": ProcessEvaluator.from_config(cfg, info_of(cfg), 2)}
    steps = same_work(evs, programs, args.gen, "ezspark_1worker")
    mp = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    list(mp.map(_bare_loop_seconds, [0.05, 0.05]))  # start both processes
    configs = {"bare_gym_make": bare_env.make_single_gym(),
               "bare_unwrapped": bare_env.make_single_unwrapped()}
    configs.update({name: (evaluating(ev, programs, args.gen, steps), steps) for name, ev in evs.items()})
    configs["bare_gym_make_x2"] = (lambda: None, 0)
    rates = {k: [] for k in configs}
    names = list(configs)
    for rep in range(args.repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            if name == "bare_gym_make_x2":
                rates[name].append(sum(mp.map(_bare_loop_seconds, [args.min_time, args.min_time])))
            else:
                rates[name].append(H.timed_rate(*configs[name], args.min_time)[0])
        H.log(f"cartpole150 repeat {rep + 1}/{args.repeats}: "
              + ", ".join(f"{n}={rates[n][-1]:,.0f}" for n in names) + f"  load {H.loadavg()}")
    mp.shutdown()
    for ev in evs.values():
        ev.close()
    ratios = {
        "ezspark_1worker_over_bare_gym_make": H.ratio(rates["ezspark_1worker"], rates["bare_gym_make"]),
        "ezspark_2workers_over_1worker": H.ratio(rates["ezspark_2workers"], rates["ezspark_1worker"]),
        "ezspark_2workers_over_bare_gym_make_x2": H.ratio(rates["ezspark_2workers"], rates["bare_gym_make_x2"]),
    }
    return summary(rates, ratios, population={"genomes": len(programs), "generation": args.gen,
                                              "env_steps_per_evaluation": steps,
                                              "identical_1_vs_2_workers": True})


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per configuration per repeat")
    ap.add_argument("--gen", type=int, default=3, help="generation of the seed-0 run used as the fixed population")
    ap.add_argument("--pop", type=int, default=1000, help="genomes of the CartPole limit part")
    ap.add_argument("--small-pop", type=int, default=150, help="genomes of the other parts")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 repeats, 0.2 s each, generation 1, 150 and 30 genomes")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.min_time, args.gen, args.pop, args.small_pop = 2, 0.2, 1, 150, 30
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    return args


def main():
    args = parse_args()
    info = H.machine_info()
    t0 = time.perf_counter()
    parts = {}
    for name in args.parts:
        parts[name] = globals()[f"part_{name}"](args)
    full = {"bench": "bench_env", "machine": info, "params": vars(args),
            "unit": "individual env steps per second (resets included)", "parts": parts,
            "load_after": H.loadavg(), "total_wall_s": round(time.perf_counter() - t0, 1)}
    line = {"bench": "bench_env", "unit": "env steps/s [median,min,max]",
            "ezspark": info["ezspark"]["version"], "repeats": args.repeats,
            "load_after": H.loadavg()}
    for name, part in parts.items():
        line[name] = ({k: line_of(v) for k, v in part.items()} if name == "rows" else line_of(part))
    suffix = "" if list(args.parts) == list(PARTS) else "_" + "_".join(args.parts)
    H.emit("bench_env" + suffix + ("_quick" if args.quick else ""), full, line)


if __name__ == "__main__":
    main()
