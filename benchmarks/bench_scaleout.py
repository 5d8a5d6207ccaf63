"""Scale-out of distributed evaluation: 16, 32 and 64 joined workers (issue #18 item 3).

The environment is ``ezspark/SlowCartPole-v1`` (CartPole-v1 plus a 2 ms sleep per step), so
the workers mostly sleep and many of them fit on a small machine; what is measured is
ezspark's and Dask's cost per task, not the CPU.  One served scheduler (in this process, no
coordinator workers) is joined by real ``python -m ezspark join`` processes, each with its
own invitation and machine id; they are added in steps (1, then up to each k), and at each
step one evaluation of a population that gives every worker about ``--tasks-per-worker``
tasks is timed.  Reported per k:

- env steps/s against k × the one-worker rate (target 0.8 at k = 64);
- CPU of this process (scheduler, Dask client, coordinator) per task sent, and per second
  with the k workers connected and no task (heartbeats and the like);
- bytes per task: the pickled request and the reply;
- the cost of verification at the first k (16): fixed ``safeness`` 0.5 and 1 against adaptive
  (``trusted_after`` 10, ``safeness_floor`` 0.05) once workers have a record (records set at
  the floor before the timed evaluation; the first, cold, evaluation is reported too);
- a straggler: with 8 workers, one more worker whose every batch takes 5x as long (a ``join``
  process whose batch function sleeps 4x the batch time), generation time against the
  same k without it.

Every evaluation must return the fitness of the in-process evaluation of CartPole-v1 (the
same episodes, without the sleep), bit for bit (checked).  Results:
``benchmarks/results/bench_scaleout.json``.  Run it with ``nice``; it starts up to 65
Python processes (about 0.1 GB each).

    nice -n 5 python benchmarks/bench_scaleout.py                  # ~15 minutes
    nice -n 5 python benchmarks/bench_scaleout.py --quick          # 2 and 4 workers
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR", HERE / "results"))

#: a volunteer whose every batch takes ``factor`` times as long (it sleeps the rest)
SLOW_JOIN = """
import sys, time
from ezspark.distributed import batch
from ezspark.cli import main
factor = float(sys.argv[1])
honest = batch.play_batch
def slow(req, worker="coordinator"):
    t0 = time.perf_counter()
    reply = honest(req, worker)
    time.sleep((factor - 1) * (time.perf_counter() - t0))
    return reply
batch.play_batch = slow
sys.exit(main(["join", *sys.argv[2:]]))
"""


def population(cfg, seed):
    from ezspark.engine.evolution import Evolution
    from ezspark.network.programs import compile_csr
    from ezspark.training.trainer import make_streams

    _, pop = Evolution.start(cfg, make_streams(seed)[0])
    return compile_csr(pop.off, pop.src, pop.dst, pop.weight, pop.enabled,
                       cfg.input_size, cfg.output_size)


class Crowd:
    """A served scheduler and the ``join`` processes that joined it."""

    def __init__(self, root):
        from ezspark.distributed.cluster import ServedCluster
        from ezspark.distributed.credentials import create_run_credentials

        self.creds = create_run_credentials(Path(root) / "serve")
        self.cluster = ServedCluster(self.creds, "127.0.0.1", 0, local_workers=0)
        self.procs: list = []
        self.slow: list = []

    def grow(self, k: int, timeout: float = 900) -> float:
        """Start joins until k are connected; returns the seconds it took."""
        from ezspark.distributed import invite

        t0 = time.perf_counter()
        while len(self.procs) < k:
            i = len(self.procs)
            path = invite(self.creds.directory, f"w{i}")
            env = {**os.environ, "EZSPARK_MACHINE_ID": f"bench-machine-{i}"}
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "ezspark", "join", self.cluster.address,
                 "--credentials", str(path)], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.cluster.client.wait_for_workers(k + len(self.slow), timeout=timeout)
        return time.perf_counter() - t0

    def add_slow(self, factor: float) -> None:
        from ezspark.distributed import invite

        path = invite(self.creds.directory, "slowpoke")
        env = {**os.environ, "EZSPARK_MACHINE_ID": "bench-slow-machine"}
        self.slow.append(subprocess.Popen(
            [sys.executable, "-c", SLOW_JOIN, str(factor), self.cluster.address,
             "--credentials", str(path)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.cluster.client.wait_for_workers(len(self.procs) + 1, timeout=300)

    def stop_slow(self) -> None:
        for p in self.slow:
            p.kill()
            p.wait()
        self.slow.clear()
        want = len(self.procs)
        end = time.monotonic() + 60
        while len(self.cluster.live_workers()) > want and time.monotonic() < end:
            time.sleep(0.2)

    def close(self) -> None:
        try:
            self.cluster.client.shutdown()
        except Exception:
            pass
        self.cluster.close()
        for p in self.procs + self.slow:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def evaluate(crowd, cfg, info, programs, seed, generation, *, warm_records=None,
             tag="ev", evaluator=None):
    """One timed evaluation; returns (result, wall, cpu of this process, tasks, evaluator)."""
    from ezspark.distributed.coordinator import DaskEvaluator

    ev = evaluator or DaskEvaluator(cfg, info, crowd.cluster,
                                    verification=np.random.Generator(np.random.PCG64(1)),
                                    log=lambda text: None, run_tag=tag)
    if warm_records:
        for address, (ident, _) in crowd.cluster.snapshot().items():
            ev.trust.record(ident.key).validated = warm_records
    before = dict(ev.totals)
    c0, t0 = time.process_time(), time.perf_counter()
    res = ev.evaluate(programs, seed, generation)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    spent = {key: ev.totals[key] - before[key] for key in ev.totals}
    return res, wall, cpu, spent, ev


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default=None, help="k values (default 16,32,64; "
                    "--quick: 2,4)")
    ap.add_argument("--tasks-per-worker", type=int, default=4)
    ap.add_argument("--genomes-per-task", type=int, default=10)
    ap.add_argument("--straggler-k", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="skip verification and straggler")
    args = ap.parse_args(argv)

    import attrs

    import ezspark
    from ezspark.evaluation.envs import inspect_env
    from ezspark.evaluation.local import EnvEvaluator

    ks = [int(x) for x in (args.workers or ("2,4" if args.quick else "16,32,64")).split(",")]
    gpt = args.genomes_per_task

    def config(pop, **keys):
        return ezspark.TrainingConfig(
            gym_game_name="ezspark/SlowCartPole-v1", input_size=4, output_size=2,
            initial_population=pop, min_population=pop, max_population=pop,
            max_number_of_games=2, max_number_of_steps=100, genomes_per_task=gpt,
            alone_training_iterations=0, safeness=0.0, **keys)

    info = inspect_env("ezspark/SlowCartPole-v1", 4, 2)
    fast_info = inspect_env("CartPole-v1", 4, 2)
    seed = 12345
    cache: dict = {}

    def workload(pop):
        """(programs, reference fitness, steps) of a population of ``pop`` genomes."""
        if pop not in cache:
            cfg = config(pop)
            programs = population(cfg, 0)
            ref = EnvEvaluator.from_config(attrs.evolve(cfg, gym_game_name="CartPole-v1"),
                                           fast_info).evaluate(programs, seed, 100)
            cache[pop] = (programs, ref.fitness.copy(), int(ref.env_steps.sum()))
        return cache[pop]

    def exact(res, pop, what):
        _, fitness, steps = workload(pop)
        if not np.array_equal(res.fitness, fitness) or int(res.env_steps.sum()) != steps:
            raise SystemExit(f"{what}: fitness differs from the in-process evaluation")

    summary = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                          f"cores, Python {platform.python_version()}",
               "genomes_per_task": gpt, "step_cost_seconds": 0.002, "per_k": {}}
    loads = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="ezspark-scaleout-") as root:
        crowd = Crowd(root)
        try:
            # bytes per task
            programs, _, _ = workload(gpt)
            from ezspark.distributed.batch import evaluate_batch
            from ezspark.distributed.coordinator import DaskEvaluator
            ev0 = DaskEvaluator(config(gpt), info, crowd.cluster,
                                verification=np.random.Generator(np.random.PCG64(1)),
                                log=lambda text: None)
            from ezspark.evaluation.local import episode_seeds
            req = ev0.request(programs, episode_seeds(seed, 100, np.arange(gpt), 2), 100, 0,
                              gpt)
            summary["request_bytes"] = len(pickle.dumps(req, protocol=5))
            summary["reply_bytes"] = len(evaluate_batch(
                attrs.evolve(req, env_id="CartPole-v1")))

            # one worker
            crowd.grow(1)
            pop1 = args.tasks_per_worker * gpt * 2
            walls = []
            for rep in range(2):
                res, wall, cpu, spent, _ = evaluate(crowd, config(pop1), info,
                                                    workload(pop1)[0], seed, 100)
                exact(res, pop1, "k=1")
                walls.append(wall)
            one = workload(pop1)[2] / min(walls)
            summary["one_worker_steps_per_second"] = one
            print(f"1 worker: {one:.0f} steps/s ({pop1} genomes, best of {walls})", flush=True)

            if not args.quick:
                # a straggler among k8 workers: one more whose batches take 5x as long
                k8 = args.straggler_k
                pop8 = k8 * args.tasks_per_worker * gpt
                crowd.grow(k8)
                programs8 = workload(pop8)[0]
                base_walls, slow_walls, copies = [], [], []
                for rep in range(2):
                    res, wall, *_ = evaluate(crowd, config(pop8), info, programs8, seed, 100)
                    exact(res, pop8, "straggler baseline")
                    base_walls.append(wall)
                crowd.add_slow(5.0)
                for rep in range(2):
                    res, wall, cpu, spent, _ = evaluate(crowd, config(pop8), info, programs8,
                                                        seed, 100)
                    exact(res, pop8, "straggler")
                    slow_walls.append(wall)
                    copies.append((spent["copies"], spent["copy_wins"]))
                crowd.stop_slow()
                summary["straggler"] = {
                    "workers": k8, "population": pop8, "without": base_walls,
                    "with_one_5x_slower_more": slow_walls, "copies_and_wins": copies,
                    "ratio": float(np.median(slow_walls) / np.median(base_walls))}
                print(f"straggler: {k8} workers + 1 5x slower: {np.median(slow_walls):.2f} s "
                      f"vs {np.median(base_walls):.2f} s without it = "
                      f"{summary['straggler']['ratio']:.2f}x; (copies, used) {copies}",
                      flush=True)

            for k in ks:
                started = crowd.grow(k)
                loads.append(os.getloadavg())
                pop = k * args.tasks_per_worker * gpt
                programs, _, steps = workload(pop)
                # untimed: every worker makes its environments, the machine settles
                evaluate(crowd, config(pop), info, programs, seed, 99, tag=f"k{k}warm")
                runs = []
                for rep in range(2):
                    res, wall, cpu, spent, _ = evaluate(crowd, config(pop), info, programs,
                                                        seed, 100, tag=f"k{k}r{rep}")
                    exact(res, pop, f"k={k}")
                    runs.append({"wall": wall, "cpu": cpu, **spent,
                                 "load": os.getloadavg()[0]})
                c0, t0 = time.process_time(), time.perf_counter()
                time.sleep(10)                  # k workers connected, no task
                idle = (time.process_time() - c0) / (time.perf_counter() - t0)
                best = min(runs, key=lambda r: r["wall"])
                rate = steps / best["wall"]
                summary["per_k"][str(k)] = {
                    "joins_started_in_seconds": started, "population": pop,
                    "env_steps": steps, "runs": runs,
                    "steps_per_second": rate, "vs_k_times_one": rate / (k * one),
                    "coordinator_cpu_per_task_ms": 1000 * best["cpu"] / best["tasks"],
                    "coordinator_idle_cpu_per_second": idle,
                    "coordinator_cpu_per_task_beyond_idle_ms":
                        1000 * (best["cpu"] - idle * best["wall"]) / best["tasks"]}
                print(f"k={k}: {rate:.0f} steps/s = {rate / (k * one):.2f} x k x one worker; "
                      f"{best['tasks']} tasks, {1000 * best['cpu'] / best['tasks']:.2f} ms "
                      f"CPU per task here ({idle:.3f} s/s with no task); "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)

                if k == ks[0] and not args.quick:
                    ver = {}
                    for label, keys, warm in (
                            ("fixed 0", {}, None),
                            ("fixed 0.5", {"safeness": 0.5}, None),
                            ("fixed 1", {"safeness": 1.0}, None),
                            ("adaptive 0.5 cold", {"safeness": 0.5, "trusted_after": 10},
                             None),
                            ("adaptive 0.5", {"safeness": 0.5, "trusted_after": 10}, 10**6),
                            ("adaptive 1", {"safeness": 1.0, "trusted_after": 10}, 10**6)):
                        cfg = attrs.evolve(config(pop), **keys)
                        res, wall, cpu, spent, _ = evaluate(crowd, cfg, info, programs, seed,
                                                            100, warm_records=warm,
                                                            tag=label.replace(" ", ""))
                        exact(res, pop, label)
                        ver[label] = {"wall": wall, "checks": res.checks,
                                      "tasks": spent["tasks"], "cpu": cpu}
                        print(f"  {label}: {wall:.2f} s, {res.checks} checks", flush=True)
                    base = ver["fixed 0"]["wall"]
                    for v in ver.values():
                        v["throughput_vs_unchecked"] = base / v["wall"]
                    summary["verification_at_first_k"] = ver

        finally:
            crowd.close()
    summary["load_averages"] = loads + [os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "bench_scaleout_quick.json" if args.quick else "bench_scaleout.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=1, default=float))
    print(json.dumps({k: round(v["vs_k_times_one"], 3) for k, v in summary["per_k"].items()}))


if __name__ == "__main__":
    main()
