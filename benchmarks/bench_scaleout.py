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
import psutil

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR", HERE / "results"))

#: every join runs through this: the environment's sleep per step (``--step-ms``), and a
#: volunteer whose every batch takes ``factor`` times as long (it sleeps the rest)
JOIN = """
import sys, time
from ezspark import envs
from ezspark.distributed import batch
from ezspark.cli import main
step, factor = float(sys.argv[1]), float(sys.argv[2])
envs.SlowCartPole.__init__.__defaults__ = (step, None)
honest = batch.play_batch
def slow(req, worker="coordinator"):
    t0 = time.perf_counter()
    reply = honest(req, worker)
    time.sleep((factor - 1) * (time.perf_counter() - t0))
    return reply
if factor != 1:
    batch.play_batch = slow
sys.exit(main(["join", *sys.argv[3:]]))
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

    def __init__(self, root, step_seconds: float):
        from ezspark.distributed.cluster import ServedCluster
        from ezspark.distributed.credentials import create_run_credentials

        self.creds = create_run_credentials(Path(root) / "serve")
        self.cluster = ServedCluster(self.creds, "127.0.0.1", 0, local_workers=0)
        self.step = step_seconds
        self.procs: list = []
        self.slow: list = []

    def start(self, name: str, machine: str, factor: float = 1.0):
        from ezspark.distributed import invite

        path = invite(self.creds.directory, name)
        env = {**os.environ, "EZSPARK_MACHINE_ID": machine}
        return subprocess.Popen(
            [sys.executable, "-c", JOIN, str(self.step), str(factor), self.cluster.address,
             "--credentials", str(path)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def worker_cpu(self) -> float:
        """CPU seconds the join processes have used so far (user + system)."""
        total = 0.0
        for p in self.procs:
            try:
                t = psutil.Process(p.pid).cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def grow(self, k: int, timeout: float = 900) -> float:
        """Start joins until k are connected; returns the seconds it took."""
        t0 = time.perf_counter()
        while len(self.procs) < k:
            i = len(self.procs)
            self.procs.append(self.start(f"w{i}", f"bench-machine-{i}"))
        self.cluster.client.wait_for_workers(k + len(self.slow), timeout=timeout)
        return time.perf_counter() - t0

    def add_slow(self, factor: float) -> None:
        self.slow.append(self.start("slowpoke", "bench-slow-machine", factor))
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


class Bench:
    """The workload (SlowCartPole-v1 populations and their in-process reference) and the
    measurements, each writing its part of ``summary``."""

    def __init__(self, crowd, args):
        import ezspark
        from ezspark.evaluation.envs import inspect_env

        self.crowd, self.args, self.gpt = crowd, args, args.genomes_per_task
        self.info = inspect_env("ezspark/SlowCartPole-v1", 4, 2)
        self.fast_info = inspect_env("CartPole-v1", 4, 2)
        self.ezspark = ezspark
        self.seed = 12345
        self.cache: dict = {}

    def config(self, pop, **keys):
        return self.ezspark.TrainingConfig(
            gym_game_name="ezspark/SlowCartPole-v1", input_size=4, output_size=2,
            initial_population=pop, min_population=pop, max_population=pop,
            max_number_of_games=2, max_number_of_steps=100, genomes_per_task=self.gpt,
            alone_training_iterations=0, safeness=0.0, **keys)

    def workload(self, pop):
        """(programs, reference fitness, steps) of a population of ``pop`` genomes."""
        import attrs
        from ezspark.evaluation.local import EnvEvaluator

        if pop not in self.cache:
            cfg = self.config(pop)
            programs = population(cfg, 0)
            ref = EnvEvaluator.from_config(attrs.evolve(cfg, gym_game_name="CartPole-v1"),
                                           self.fast_info).evaluate(programs, self.seed, 100)
            self.cache[pop] = (programs, ref.fitness.copy(), int(ref.env_steps.sum()))
        return self.cache[pop]

    def run(self, pop, what, generation=100, cfg=None, **kw):
        """One timed evaluation of the population of ``pop`` genomes, checked exact."""
        programs, fitness, steps = self.workload(pop)
        w0 = self.crowd.worker_cpu()
        res, wall, cpu, spent, ev = evaluate(self.crowd, cfg or self.config(pop), self.info,
                                             programs, self.seed, generation, **kw)
        same = np.array_equal(res.fitness, fitness) and int(res.env_steps.sum()) == steps
        if generation == 100 and not same:      # the reference plays generation 100's episodes
            raise SystemExit(f"{what}: fitness differs from the in-process evaluation")
        return res, {"wall": wall, "cpu": cpu, "worker_cpu": self.crowd.worker_cpu() - w0,
                     **spent, "load": os.getloadavg()[0]}

    def bytes_per_task(self, summary):
        import attrs
        from ezspark.distributed.batch import evaluate_batch
        from ezspark.distributed.coordinator import DaskEvaluator
        from ezspark.evaluation.local import episode_seeds

        programs, _, _ = self.workload(self.gpt)
        ev0 = DaskEvaluator(self.config(self.gpt), self.info, self.crowd.cluster,
                            verification=np.random.Generator(np.random.PCG64(1)),
                            log=lambda text: None)
        req = ev0.request(programs, episode_seeds(self.seed, 100, np.arange(self.gpt), 2),
                          100, 0, self.gpt)
        summary["request_bytes"] = len(pickle.dumps(req, protocol=5))
        summary["reply_bytes"] = len(evaluate_batch(attrs.evolve(req, env_id="CartPole-v1")))

    def one_worker(self, summary):
        self.crowd.grow(1)
        pop1 = self.args.tasks_per_worker * self.gpt * 2
        walls = [self.run(pop1, "k=1")[1]["wall"] for _ in range(self.args.repeats)]
        one = self.workload(pop1)[2] / min(walls)
        summary["one_worker_steps_per_second"] = one
        print(f"1 worker: {one:.0f} steps/s ({pop1} genomes, best of {walls})", flush=True)
        return one

    def straggler(self, summary):
        """One more worker whose every batch takes 5x as long, among ``--straggler-k``."""
        k8 = self.args.straggler_k
        pop8 = k8 * self.args.tasks_per_worker * self.gpt
        self.crowd.grow(k8)
        base = [self.run(pop8, "straggler baseline")[1]["wall"]
                for _ in range(self.args.repeats)]
        self.crowd.add_slow(5.0)
        slow = [self.run(pop8, "straggler")[1] for _ in range(self.args.repeats)]
        self.crowd.stop_slow()
        walls = [r["wall"] for r in slow]
        copies = [(r["copies"], r["copy_wins"]) for r in slow]
        ratio = float(np.median(walls) / np.median(base))
        summary["straggler"] = {"workers": k8, "population": pop8, "without": base,
                                "with_one_5x_slower_more": walls, "copies_and_wins": copies,
                                "ratio": ratio}
        print(f"straggler: {k8} workers + 1 5x slower: {np.median(walls):.2f} s vs "
              f"{np.median(base):.2f} s without it = {ratio:.2f}x; (copies, used) {copies}",
              flush=True)

    def scaling(self, k, one, summary):
        started = self.crowd.grow(k)
        pop = k * self.args.tasks_per_worker * self.gpt
        steps = self.workload(pop)[2]
        self.run(pop, f"k={k} warm-up", generation=99, tag=f"k{k}warm")   # untimed
        runs = [self.run(pop, f"k={k}", tag=f"k{k}r{rep}")[1]
                for rep in range(self.args.repeats)]
        c0, w0, t0 = time.process_time(), self.crowd.worker_cpu(), time.perf_counter()
        time.sleep(10)                  # k workers connected, no task
        span = time.perf_counter() - t0
        idle, worker_idle = (time.process_time() - c0) / span, (
            self.crowd.worker_cpu() - w0) / span
        best = min(runs, key=lambda r: r["wall"])
        rate = steps / best["wall"]
        summary["per_k"][str(k)] = {
            "joins_started_in_seconds": started, "population": pop, "env_steps": steps,
            "runs": runs, "steps_per_second": rate, "vs_k_times_one": rate / (k * one),
            "coordinator_cpu_per_task_ms": 1000 * best["cpu"] / best["tasks"],
            "coordinator_idle_cpu_per_second": idle,
            "coordinator_cpu_per_task_beyond_idle_ms":
                1000 * (best["cpu"] - idle * best["wall"]) / best["tasks"],
            "workers_cores_used": best["worker_cpu"] / best["wall"],
            "workers_idle_cores": worker_idle}
        print(f"k={k}: {rate:.0f} steps/s = {rate / (k * one):.2f} x k x one worker; "
              f"{best['tasks']} tasks, {1000 * best['cpu'] / best['tasks']:.2f} ms CPU per "
              f"task here ({idle:.3f} s/s with no task); workers used "
              f"{best['worker_cpu'] / best['wall']:.2f} cores ({worker_idle:.2f} idle); "
              f"load {os.getloadavg()[0]:.1f}", flush=True)

    RULES = (("fixed 0", {}, None),
             ("fixed 0.5", {"safeness": 0.5}, None),
             ("fixed 1", {"safeness": 1.0}, None),
             ("adaptive 0.5 cold", {"safeness": 0.5, "trusted_after": 10}, None),
             ("adaptive 0.5", {"safeness": 0.5, "trusted_after": 10}, 10**6),
             ("adaptive 1", {"safeness": 1.0, "trusted_after": 10}, 10**6))

    def verification(self, k, summary):
        """Each rule ``--repeats`` times, in turn (so slow phases of the machine hit every
        rule alike); the median wall is compared with the unchecked one."""
        import attrs

        self.crowd.grow(k)
        pop = k * self.args.verify_tasks_per_worker * self.gpt
        self.run(pop, "verification warm-up", generation=99, tag="vwarm")   # untimed
        ver = {label: {"runs": []} for label, _, _ in self.RULES}
        for rep in range(self.args.repeats):
            for label, keys, warm in self.RULES:
                cfg = attrs.evolve(self.config(pop), **keys)
                res, r = self.run(pop, label, cfg=cfg, warm_records=warm,
                                  tag=f"{label.replace(' ', '')}r{rep}")
                ver[label]["runs"].append({**r, "checks": res.checks})
                print(f"  {label}: {r['wall']:.2f} s, {res.checks} checks, {r['tasks']} "
                      f"tasks", flush=True)
        for v in ver.values():
            v["wall"] = float(np.median([r["wall"] for r in v["runs"]]))
            v["checks"] = float(np.median([r["checks"] for r in v["runs"]]))
            v["tasks"] = float(np.median([r["tasks"] for r in v["runs"]]))
        base = ver["fixed 0"]["wall"]
        for v in ver.values():
            v["throughput_vs_unchecked"] = base / v["wall"]
        summary["verification"] = {"workers": k, "population": pop,
                                   "tasks_per_worker": self.args.verify_tasks_per_worker,
                                   "rules": ver}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default=None, help="k values (default 16,32,64; "
                    "--quick: 2,4)")
    ap.add_argument("--tasks-per-worker", type=int, default=4)
    ap.add_argument("--genomes-per-task", type=int, default=10)
    ap.add_argument("--step-ms", type=float, default=2.0,
                    help="sleep per environment step in the workers (default 2)")
    ap.add_argument("--straggler-k", type=int, default=8)
    ap.add_argument("--verify-workers", type=int, default=16,
                    help="workers in the verification measurement (default 16)")
    ap.add_argument("--verify-tasks-per-worker", type=int, default=16,
                    help="tasks per worker in the verification measurement (default 16)")
    ap.add_argument("--repeats", type=int, default=2,
                    help="timed evaluations per measurement (default 2; the fastest is kept "
                         "for throughput, the median for verification and the straggler)")
    ap.add_argument("--only", default="scaling,verification,straggler",
                    help="comma-separated parts to run (default all three)")
    ap.add_argument("--output", default=None,
                    help="results file in benchmarks/results (default bench_scaleout.json, "
                         "with --quick bench_scaleout_quick.json)")
    ap.add_argument("--quick", action="store_true", help="scaling only, at 2 and 4 workers")
    args = ap.parse_args(argv)
    parts = {"scaling"} if args.quick else set(args.only.split(","))
    ks = [int(x) for x in (args.workers or ("2,4" if args.quick else "16,32,64")).split(",")]

    summary = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                          f"cores, Python {platform.python_version()}",
               "genomes_per_task": args.genomes_per_task,
               "step_cost_seconds": args.step_ms / 1000,
               "tasks_per_worker": args.tasks_per_worker, "per_k": {}}
    loads = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="ezspark-scaleout-") as root:
        crowd = Crowd(root, args.step_ms / 1000)
        try:
            bench = Bench(crowd, args)
            bench.bytes_per_task(summary)
            one = bench.one_worker(summary)
            if "straggler" in parts:
                bench.straggler(summary)
            if "verification" in parts:
                bench.verification(args.verify_workers, summary)
            if "scaling" in parts:
                for k in ks:
                    bench.scaling(k, one, summary)
                    loads.append(os.getloadavg())
        finally:
            crowd.close()
    summary["load_averages"] = loads + [os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.output or ("bench_scaleout_quick.json" if args.quick else "bench_scaleout.json")
    (RESULTS / name).write_text(json.dumps(summary, indent=1, default=float))
    print(json.dumps({k: round(v["vs_k_times_one"], 3) for k, v in summary["per_k"].items()}))


if __name__ == "__main__":
    main()
