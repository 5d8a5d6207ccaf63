"""Scaling of distributed evaluation over 1, 2, 4 and 8 workers on loopback (issue #8).

The environment is ``ezspark/SlowCartPole-v1``: CartPole-v1 plus a 2 ms sleep per step,
standing in for an expensive simulator (evaluation time dominated by the environment, as
in the runs distributed training is for).  Because the cost is a wait, not computation,
eight workers can be measured on a 2-core machine; what the benchmark measures is
ezspark's and Dask's overhead and load balancing, not the CPU.

For every repeat and every k (interleaved: k = 1, 2, 4, 8, then again), the script serves
a run's scheduler in this process with **no** coordinator workers, starts k real
``python -m ezspark join`` processes (each with its own invitation and machine id, so that
safeness checks can go to another "machine"), waits until they are connected, and times
one evaluation of a fixed population (batches of ``genomes_per_task``).  Reported:

- throughput in env steps/s and relative to one worker (target: ≥ 0.8 × k);
- overhead per task: (wall with 1 worker − the same batches evaluated in-process) / tasks;
- the cost of safeness 0.5 and 1 at k = 4 (throughput relative to safeness 0).

Every configuration must return the fitness of the in-process evaluation, bit for bit
(checked).  Results: ``benchmarks/results/bench_distributed.json``.

    python benchmarks/bench_distributed.py            # ~6 minutes
    python benchmarks/bench_distributed.py --quick    # ~1 minute, smaller population
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR", HERE / "results"))


def population(cfg, seed):
    from ezspark.engine.evolution import Evolution
    from ezspark.network.programs import compile_csr
    from ezspark.training.trainer import make_streams

    _, pop = Evolution.start(cfg, make_streams(seed)[0])
    return compile_csr(pop.off, pop.src, pop.dst, pop.weight, pop.enabled,
                       cfg.input_size, cfg.output_size)


def start_joins(address, serve_dir, k, tag):
    from ezspark.distributed import invite

    env = {**os.environ}
    procs = []
    for i in range(k):
        path = invite(serve_dir, f"{tag}w{i}")
        env_i = {**env, "EZSPARK_MACHINE_ID": f"bench-machine-{i}"}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "ezspark", "join", address, "--credentials", str(path)],
            env=env_i, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def stop(cluster, procs):
    """Shut the scheduler down; the joined workers then stop by themselves."""
    cluster.client.shutdown()
    cluster.close()
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def measure(cfg, info, programs, seed, k, safeness_values, serve_root, tag):
    """Serve, start k joins, time one evaluation per safeness value."""
    import attrs

    from ezspark.distributed.cluster import ServedCluster
    from ezspark.distributed.coordinator import DaskEvaluator
    from ezspark.distributed.credentials import create_run_credentials

    creds = create_run_credentials(Path(serve_root) / tag)
    cluster = ServedCluster(creds, "127.0.0.1", 0, local_workers=0)
    procs = start_joins(cluster.address, creds.directory, k, tag)
    out = {}
    try:
        cluster.client.wait_for_workers(k, timeout=120)
        for p in safeness_values:
            ev = DaskEvaluator(attrs.evolve(cfg, safeness=p), info, cluster,
                               verification=np.random.Generator(np.random.PCG64(1)),
                               log=lambda text: None, run_tag=f"{tag}-{p}")
            t0 = time.perf_counter()
            res = ev.evaluate(programs, seed, 100)
            wall = time.perf_counter() - t0
            out[p] = {"wall": wall, "steps": int(res.env_steps.sum()),
                      "fitness": res.fitness.copy(), "checks": res.checks,
                      "mismatches": res.mismatches}
            ev.close()
    finally:
        stop(cluster, procs)
    return out


def measure_overhead(root, repeats=3, n=200):
    """Per-task cost of going through Dask: one joined worker, CartPole-v1 (no sleep),
    one genome per task, against the same batch requests evaluated in this process."""
    import ezspark
    from ezspark.evaluation.envs import inspect_env
    from ezspark.evaluation.local import episode_seeds
    from ezspark.distributed import batch as _batch
    from ezspark.distributed.cluster import ServedCluster
    from ezspark.distributed.coordinator import DaskEvaluator
    from ezspark.distributed.credentials import create_run_credentials

    cfg = ezspark.TrainingConfig(
        gym_game_name="CartPole-v1", input_size=4, output_size=2, initial_population=n,
        min_population=n, max_population=n, max_number_of_games=1, max_number_of_steps=20,
        genomes_per_task=1, alone_training_iterations=0, safeness=0.0)
    info = inspect_env("CartPole-v1", 4, 2)
    programs = population(cfg, 1)
    seeds = episode_seeds(7, 100, np.arange(n), 1)
    dask_walls, local_walls = [], []
    creds = create_run_credentials(Path(root) / "overhead")
    cluster = ServedCluster(creds, "127.0.0.1", 0, local_workers=0)
    procs = start_joins(cluster.address, creds.directory, 1, "ovh")
    try:
        cluster.client.wait_for_workers(1, timeout=120)
        ev = DaskEvaluator(cfg, info, cluster, verification=np.random.Generator(
            np.random.PCG64(1)), log=lambda text: None, run_tag="ovh")
        ev.evaluate(programs, 7, 100)                                    # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            ev.evaluate(programs, 7, 100)
            dask_walls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(n):
                req = _batch.BatchRequest(
                    generation=100, first=i, programs=programs.subset(np.arange(i, i + 1)),
                    seeds=seeds[i:i + 1], env_id="CartPole-v1", input_size=4, output_size=2,
                    action_start=0, games=1, max_steps=20, sub_games=1, minimum_reward=0.0,
                    version=ezspark.__version__)
                _batch.parse_reply(_batch.evaluate_batch(req), 1)
            local_walls.append(time.perf_counter() - t0)
    finally:
        stop(cluster, procs)
    per_task = [(d - l) / n for d, l in zip(dask_walls, local_walls)]
    print(f"overhead: {n} one-genome tasks through Dask {np.median(dask_walls):.2f} s, "
          f"in-process {np.median(local_walls):.2f} s: "
          f"{np.median(per_task) * 1000:.2f} ms per task", flush=True)
    return {"tasks": n, "dask_walls": dask_walls, "in_process_walls": local_walls,
            "per_task_seconds": float(np.median(per_task)),
            "per_task_seconds_all": per_task}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", default="1,2,4,8")
    args = ap.parse_args(argv)

    import ezspark
    from ezspark.evaluation.envs import inspect_env
    from ezspark.evaluation.local import EnvEvaluator

    ks = [int(x) for x in args.workers.split(",")]
    pop_size = 160 if args.quick else 400
    cfg = ezspark.TrainingConfig(
        gym_game_name="ezspark/SlowCartPole-v1", input_size=4, output_size=2,
        initial_population=pop_size, min_population=pop_size, max_population=pop_size,
        max_number_of_games=2, max_number_of_steps=100, genomes_per_task=10,
        alone_training_iterations=0, safeness=0.0)
    info = inspect_env(cfg.gym_game_name, 4, 2)
    programs = population(cfg, 0)
    seed = 12345
    tasks = -(-pop_size // cfg.genomes_per_task)

    t0 = time.perf_counter()
    local = EnvEvaluator.from_config(cfg, info).evaluate(programs, seed, 100)
    local_wall = time.perf_counter() - t0
    steps = int(local.env_steps.sum())
    print(f"population {pop_size}, {tasks} tasks of {cfg.genomes_per_task} genomes, "
          f"{steps} env steps per evaluation; in-process: {local_wall:.2f} s "
          f"({steps / local_wall:.0f} steps/s)", flush=True)

    runs = {k: [] for k in ks}
    safeness_runs = []
    with tempfile.TemporaryDirectory(prefix="ezspark-bench-") as root:
        for rep in range(args.repeats):
            for k in ks:
                extra = (0.5, 1.0) if k == 4 else ()
                r = measure(cfg, info, programs, seed, k, (0.0,) + extra, root,
                            f"r{rep}k{k}")
                for p, m in r.items():
                    if not np.array_equal(m["fitness"], local.fitness) or m["steps"] != steps:
                        raise SystemExit(f"k={k} safeness={p}: results differ from the "
                                         "in-process evaluation")
                runs[k].append(r[0.0]["wall"])
                if extra:
                    safeness_runs.append({p: r[p]["wall"] for p in r} |
                                         {f"checks@{p}": r[p]["checks"] for p in r})
                print(f"repeat {rep} k={k}: {r[0.0]['wall']:.2f} s "
                      f"({steps / r[0.0]['wall']:.0f} steps/s)"
                      + "".join(f"; safeness {p}: {r[p]['wall']:.2f} s" for p in extra),
                      flush=True)

        overhead = measure_overhead(root, repeats=args.repeats)

    med = {k: float(np.median(v)) for k, v in runs.items()}
    base = med[ks[0]]
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "population": pop_size, "tasks": tasks, "genomes_per_task": cfg.genomes_per_task,
        "env_steps_per_evaluation": steps, "step_cost_seconds": 0.002,
        "in_process_seconds": local_wall,
        "per_k": {str(k): {"walls": runs[k], "median_wall": med[k],
                           "steps_per_second": steps / med[k],
                           "speedup_vs_1": base / med[k] * ks[0],
                           "efficiency": base / med[k] * ks[0] / k} for k in ks},
        "overhead_per_task_seconds": overhead["per_task_seconds"],
        "overhead_detail": overhead,
    }
    if safeness_runs:
        w0 = float(np.median([s[0.0] for s in safeness_runs]))
        summary["safeness_at_4_workers"] = {
            str(p): {"median_wall": float(np.median([s[p] for s in safeness_runs])),
                     "throughput_vs_safeness_0": w0 / float(np.median([s[p] for s in safeness_runs])),
                     "checks": [s[f"checks@{p}"] for s in safeness_runs]}
            for p in (0.5, 1.0)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench_distributed_quick.json" if args.quick else "bench_distributed.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=1, default=float))
    for k in ks:
        s = summary["per_k"][str(k)]
        print(f"k={k}: {s['steps_per_second']:.0f} steps/s, {s['speedup_vs_1']:.2f}x one worker "
              f"(efficiency {s['efficiency']:.2f})")
    if summary["overhead_per_task_seconds"] is not None:
        print(f"overhead per task: {summary['overhead_per_task_seconds'] * 1000:.1f} ms")
    for p, s in summary.get("safeness_at_4_workers", {}).items():
        print(f"safeness {p} at 4 workers: throughput {s['throughput_vs_safeness_0']:.2f}x "
              "of safeness 0")
    print(json.dumps({k: summary["per_k"][k]["speedup_vs_1"] for k in summary["per_k"]}))


if __name__ == "__main__":
    main()
