"""GA bookkeeping (everything but evaluation): ezspark vs neat-python 2.0.0 vs MultiNEAT 0.12.

Same cheap fitness for all (``peers.neat_python.one_pass``'s): number of enabled
connections + N(0, 0.5) noise from a separate ``random.Random(seed + 1_000_003)``, so
genomes grow as in a real run; population 1,000 (40 generations) and 10,000 (15
generations).  One driver runs the passes one after the other, alternating the package
order pass by pass; each pass runs in its own subprocess so that its peak memory
is its own (VmHWM of /proc/self/status, the peak RSS of that process).

  ezspark      the stable API ``ezspark.engine.evolution.Evolution`` (whatever implementation is
               installed when this runs): ``Evolution.start(cfg, rng)``, then per generation
               compilation as the trainer does it (``compile_csr`` on the Population's CSR
               columns; ``compile_programs`` for a list of Genomes), fitness (not timed), ``evo.observe(fitness)``,
               ``evo.reproduce(pop, fitness, k, j)`` (speciation included).  Config: the docs
               example values with initial = min = max population = pop.
               Bookkeeping/generation = compile_programs + observe + reproduce.
               Speciation is timed generically: ``ezspark.engine.evolution.distance`` (and any
               callable of that module whose name contains "speciat" or "distance") is
               wrapped with a counter + timer; the wrapper's own cost is calibrated and
               subtracted.  Distance computations = calls of that function = members tested
               against species representatives (docs/algorithm.md 5.1 step 7 stops at the
               first match).  If a
               batched kernel replaces the per-pair call, the count is not observable and is
               reported as null (time of the wrapped kernel call is still reported).
               Offspring cost = (reproduce - speciation) / population.
  neat-python  ``peers.neat_python.one_pass`` (peers/cartpole-feedforward.cfg): reproduce
               and speciate timed separately, ``DefaultGenome.distance`` calls counted;
               us/distance = speciate time / distance calls;
               us/offspring = reproduce time / population.
  MultiNEAT    ``peers.multi_neat.mn_pass`` (``Population.Epoch()``, its structural mix for
               growth); pop 1,000 only -- its first Epoch at 10,000 is predicted at ~680 s:
               ``Species::GetIndividual`` copies and sorts every genome of the parent's
               species for each offspring, quadratic while one species holds the population;
               no per-distance figure (Epoch is one opaque C++ call): us/offspring = Epoch
               time / population.

``--budget POP:SECONDS`` stops a pass (any package) after the generation at which its
cumulative bookkeeping time passes SECONDS (reported as generations done); use it when an
implementation's per-generation cost explodes.

Usage: python benchmarks/bench_bookkeeping.py [--pops 1000,10000] [--gens 1000:40,10000:15]
           [--passes 1000:3,10000:1] [--mn-passes 2] [--packages ezspark,neat-python,multineat]
           [--budget 1000:600,10000:900] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

PACKAGES = ("ezspark", "neat-python", "multineat")


def rss_mb():
    """Peak resident set size of this process in MB: VmHWM from /proc (ru_maxrss would
    carry the parent's peak across fork + exec on Linux); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def parse_map(s, cast=int):
    out = {}
    for part in (s or "").split(","):
        if part:
            k, v = part.split(":")
            out[int(k)] = cast(v)
    return out


# ---- workers (one pass each, in a subprocess) -----------------------------------------------

class _Probe:
    """Counter + timer around a function; ``overhead`` is the calibrated cost per call."""

    def __init__(self):
        self.calls = 0
        self.seconds = 0.0

    def wrap(self, fn):
        pc = time.perf_counter

        def wrapper(*a, **k):
            t = pc()
            try:
                return fn(*a, **k)
            finally:
                self.seconds += pc() - t
                self.calls += 1
        return wrapper


def _calibrate_probe():
    def noop(*a):
        return 0.0
    p = _Probe()
    w = p.wrap(noop)
    n = 200000
    t = time.perf_counter()
    for _ in range(n):
        noop(1, 2, 3, 4)
    base = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(n):
        w(1, 2, 3, 4)
    wrapped = time.perf_counter() - t
    # the part of the wrapper that lands inside the timed interval is ~ the inner call's
    # own overhead; the outer part (two perf_counter calls, bookkeeping) is what we subtract
    return max((wrapped - base) / n, 0.0), p.seconds / n


def _compile_generation(population, cfg):
    """What the trainer does: a CSR Population compiles from its columns; a list of Genomes
    (the implementation before the kernels) through compile_programs."""
    from ezspark.network.programs import compile_csr, compile_programs
    if hasattr(population, "off"):
        return compile_csr(population.off, population.src, population.dst, population.weight,
                           population.enabled, cfg.input_size, cfg.output_size)
    return compile_programs(population, cfg.input_size, cfg.output_size)


def _enabled_counts(population):
    """Enabled connections and genes per genome."""
    import numpy as np
    if hasattr(population, "off"):
        off = np.asarray(population.off)
        csum = np.concatenate(([0], np.cumsum(np.asarray(population.enabled, dtype=np.int64))))
        return (csum[off[1:]] - csum[off[:-1]]).tolist(), np.diff(off).tolist()
    return [int(g.enabled.sum()) for g in population], [len(g) for g in population]


class _SpeciationProbes:
    """Timers on whatever implements speciation: any function of ``ezspark.engine.evolution``
    named like "distance" or "speciat" (the per-pair Python code before the kernels) and the
    kernels ``_core.speciate``, ``distance_pairs``, ``reproduce``, ``crossover`` (looked up as
    ``_core.<name>`` at call time, so wrapping the module attribute catches every call).
    Distance computations are counted from the speciate kernel's outputs."""

    def __init__(self, evm):
        from ezspark import _core
        self.outer_overhead, self.inner_overhead = _calibrate_probe()
        self.counted = 0
        self.probes = {}
        for name in dir(evm):
            obj = getattr(evm, name)
            low = name.lower()
            if callable(obj) and not isinstance(obj, type) and ("distance" in low or "speciat" in low):
                self.probes[name] = _Probe()
                setattr(evm, name, self.probes[name].wrap(obj))
        self.kernels = {}
        for name in ("speciate", "distance_pairs", "reproduce", "crossover"):
            if callable(getattr(_core, name, None)):
                self.kernels[name] = _Probe()
                fn = getattr(_core, name)
                if name == "speciate":
                    fn = self._count_speciate(fn)
                setattr(_core, name, self.kernels[name].wrap(fn))
        self.speciation = dict(self.probes)
        self.speciation.update({f"_core.{n}": self.kernels[n] for n in ("speciate", "distance_pairs")
                                if n in self.kernels})

    def _count_speciate(self, fn):
        # _core.speciate(p_off, ..., r_off, ..., threshold, n_io, species, dist, founders)
        # -> n_new.  First fit: genome i joining species s < R (or an earlier founder's
        # species) was tested against s + 1 representatives; the j-th founder against R + j.
        import numpy as np

        def wrapper(*a, **k):
            n_new = fn(*a, **k)
            try:
                R = len(a[4]) - 1
                species, founders = np.asarray(a[10]), np.asarray(a[12])[:n_new]
                is_founder = np.zeros(species.shape[0], dtype=bool)
                is_founder[founders] = True
                self.counted += int((species[~is_founder] + 1).sum()) + n_new * R + n_new * (n_new - 1) // 2
            except Exception:
                self.counted = -10**18   # signature changed: count unknown
            return n_new
        return wrapper

    def reset(self):
        for p in list(self.probes.values()) + list(self.kernels.values()):
            p.calls, p.seconds = 0, 0.0
        self.counted = 0

    def figures(self, reproduce_wall):
        """Speciation seconds, reproduce seconds less the probes' own cost, kernel seconds,
        calls and distance computations of the generation since ``reset``."""
        inner = self.inner_overhead
        calls = {n: p.calls for n, p in self.probes.items()}
        calls.update({f"_core.{n}": p.calls for n, p in self.kernels.items()})
        if "distance" in self.probes and self.probes["distance"].calls:
            dist_calls = self.probes["distance"].calls
        else:
            dist_calls = self.counted if self.counted > 0 else None
        n_calls = sum(p.calls for p in list(self.probes.values()) + list(self.kernels.values()))
        return {"speciate_s": sum(max(p.seconds - p.calls * inner, 0.0) for p in self.speciation.values()),
                "reproduce_s": max(reproduce_wall - n_calls * self.outer_overhead, 0.0),
                "kernel_s": {f"_core.{n}": max(p.seconds - p.calls * inner, 0.0) for n, p in self.kernels.items()},
                "probe_calls": calls, "distance_calls": dist_calls}


def _ezspark_generation(evo, population, k, cfg, noise, probes):
    """One generation: compile, cheap fitness (not timed), observe, reproduce (speciation
    included).  Returns (next population, row)."""
    import numpy as np
    pc = time.perf_counter
    t0 = pc()
    programs = _compile_generation(population, cfg)
    t1 = pc()
    conns, genes = _enabled_counts(population)
    fit = np.array([c + noise.gauss(0.0, 0.5) for c in conns])
    t2 = pc()
    probes.reset()
    j, _, _ = evo.observe(fit)
    t3 = pc()
    nxt, outcome = evo.reproduce(population, fit, k, j)
    t4 = pc()
    f = probes.figures(t4 - t3)
    row = {"gen": k, "pop": len(population), "offspring": len(nxt),
           "compile_s": t1 - t0, "eval_s": t2 - t1, "observe_s": t3 - t2,
           "reproduce_s": f["reproduce_s"], "speciate_s": f["speciate_s"],
           "reproduce_excl_speciation_s": max(f["reproduce_s"] - f["speciate_s"], 0.0),
           "non_eval": (t1 - t0) + (t3 - t2) + f["reproduce_s"],
           "probe_calls": f["probe_calls"], "kernel_s": f["kernel_s"], "distance_calls": f["distance_calls"],
           "species": outcome.species, "culled": len(outcome.culled),
           "mean_enabled_conns": statistics.fmean(conns), "mean_genes": statistics.fmean(genes),
           "mean_nodes": float(programs.n_nodes.mean()) + cfg.input_size, "rss_mb": rss_mb()}
    return nxt, row


def worker_ezspark(pop, gens, seed, budget):
    """One ezspark pass through the stable API ``ezspark.engine.evolution.Evolution``."""
    import attrs

    import ezspark
    import ezspark.engine.evolution as evm
    from ezspark.config.training import TrainingConfig
    from ezspark.training.trainer import make_streams

    probes = _SpeciationProbes(evm)
    cfg = attrs.evolve(TrainingConfig.docs_example(), gym_game_name="CartPole-v1",
                       initial_population=pop, min_population=pop, max_population=pop,
                       generations=gens + 1)
    base_rss = rss_mb()
    rng, _ = make_streams(seed)
    t = time.perf_counter()
    evo, population = evm.Evolution.start(cfg, rng)
    init_s = time.perf_counter() - t
    noise = random.Random(seed + 1_000_003)
    rows = []
    spent = 0.0
    for k in range(gens):
        population, row = _ezspark_generation(evo, population, k, cfg, noise, probes)
        rows.append(row)
        spent += row["non_eval"]
        H.log(f"  ezspark pop {pop} gen {k}: {row['non_eval']:.3f}s (speciation {row['speciate_s']:.3f}s, "
              f"{row['distance_calls']} distances), species {row['species']}, conns {row['mean_enabled_conns']:.1f}")
        if budget and spent > budget:
            H.log(f"  ezspark pop {pop}: budget {budget}s reached after {k + 1} generations")
            break
    return {"package": "ezspark", "version": getattr(ezspark, "__version__", None), "init_s": init_s,
            "rows": rows, "probe_overhead_us": {"outer": probes.outer_overhead * 1e6,
                                                "inner": probes.inner_overhead * 1e6},
            "probed_functions": sorted(probes.probes) + [f"_core.{n}" for n in probes.kernels],
            "speciation_probes": sorted(probes.speciation), "base_rss_mb": base_rss, "peak_rss_mb": rss_mb()}


def worker_neat(pop, gens, seed, budget):
    from peers import neat_python
    base = rss_mb()
    if budget:
        H.log("  neat-python: --budget not applied (one_pass runs all generations)")
    init_s, rows = neat_python.one_pass(pop, gens, seed)
    for r in rows:
        r["pop"] = pop
        r["offspring"] = pop
        r["reproduce_excl_speciation_s"] = r["reproduce"]
        r["speciate_s"] = r["speciate"]
        r["reproduce_s"] = r["reproduce"]
    return {"package": "neat-python", "version": H.package_version("neat-python"), "init_s": init_s,
            "rows": rows, "base_rss_mb": base, "peak_rss_mb": rss_mb()}


def worker_multineat(pop, gens, seed, budget):
    from peers import multi_neat
    base = rss_mb()
    init_s, rows = multi_neat.mn_pass(pop, gens, seed, budget)
    for r in rows:
        r["non_eval"] = r["epoch_s"]
        r["offspring"] = r["pop"]
        r["mean_enabled_conns"] = r["mean_links"]
        r["distance_calls"] = None
    return {"package": "multineat", "version": H.package_version("multineat"), "init_s": init_s,
            "rows": rows, "base_rss_mb": base, "peak_rss_mb": rss_mb()}


def run_worker(args):
    fn = {"ezspark": worker_ezspark, "neat-python": worker_neat, "multineat": worker_multineat}[args.worker]
    res = fn(args.pop, args.worker_gens, args.seed, args.worker_budget)
    res["loadavg_end"] = H.loadavg()
    sys.stdout.flush()
    print(json.dumps(res))


# ---- driver ----------------------------------------------------------------------------------

def one_pass(pkg, pop, gens, seed, budget):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", pkg, "--pop", str(pop),
           "--worker-gens", str(gens), "--seed", str(seed)]
    if budget:
        cmd += ["--worker-budget", str(budget)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{pkg} pass failed (rc {proc.returncode})")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t
    return res


def summarize_pkg(passes):
    """Figures of one package at one population size over its passes."""
    n = min(len(p["rows"]) for p in passes)

    def per_pass(fn):
        return [fn(p["rows"][:n]) for p in passes]

    tot = lambda rows, k: sum((r.get(k) or 0.0) for r in rows)  # noqa: E731
    out = {
        "passes": len(passes), "generations": n,
        "generations_per_pass": [len(p["rows"]) for p in passes],
        "s_per_gen_median_over_gens": H.summarize(per_pass(lambda rows: statistics.median(r["non_eval"] for r in rows)), 5),
        "s_per_gen_mean_over_gens": H.summarize(per_pass(lambda rows: tot(rows, "non_eval") / len(rows)), 5),
        "total_non_eval_s": H.summarize(per_pass(lambda rows: tot(rows, "non_eval")), 4),
        "us_per_offspring_bookkeeping": H.summarize(per_pass(
            lambda rows: 1e6 * tot(rows, "non_eval") / sum(r["pop"] for r in rows)), 2),
        "peak_rss_mb": H.summarize([p["peak_rss_mb"] for p in passes], 1),
        "rss_increase_mb": H.summarize([p["peak_rss_mb"] - p["base_rss_mb"] for p in passes], 1),
    }
    r0 = passes[0]["rows"][:n]
    if "reproduce_excl_speciation_s" in r0[0]:
        out["us_per_offspring_reproduce_excl_speciation"] = H.summarize(per_pass(
            lambda rows: 1e6 * tot(rows, "reproduce_excl_speciation_s") / sum(r["pop"] for r in rows)), 3)
        out["speciate_s_total"] = H.summarize(per_pass(lambda rows: tot(rows, "speciate_s")), 4)
    if all(r.get("distance_calls") for r in r0[1:]):
        out["distance_calls_total"] = sum(r["distance_calls"] or 0 for r in r0)
        out["us_per_distance"] = H.summarize(per_pass(
            lambda rows: 1e6 * tot(rows, "speciate_s") / max(sum(r["distance_calls"] or 0 for r in rows), 1)), 3)
    per_gen = lambda k: [round(statistics.median((p["rows"][i].get(k) or 0.0) for p in passes), 5)  # noqa: E731
                         for i in range(n)]
    out["per_gen"] = {"non_eval_s": per_gen("non_eval"),
                      "species": [r.get("species") for r in r0],
                      "mean_enabled_conns": [round(r["mean_enabled_conns"], 2) for r in r0],
                      "mean_nodes": [round(r.get("mean_nodes") or r.get("mean_neurons") or 0.0, 2) for r in r0],
                      "distance_calls": [r.get("distance_calls") for r in r0]}
    if "speciate_s" in r0[0]:
        out["per_gen"]["speciate_s"] = per_gen("speciate_s")
        out["per_gen"]["reproduce_excl_speciation_s"] = per_gen("reproduce_excl_speciation_s")
    return out


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pops", default="1000,10000")
    ap.add_argument("--gens", default="1000:40,10000:15")
    ap.add_argument("--passes", default="1000:3,10000:1", help="passes per package per population size")
    ap.add_argument("--mn-passes", type=int, default=2, help="MultiNEAT passes (pop <= 1000 only)")
    ap.add_argument("--packages", default=",".join(PACKAGES))
    ap.add_argument("--budget", default="", help="POP:SECONDS,... cap on a pass's cumulative bookkeeping time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smoke test: pop 200, 5 generations, 1 pass each")
    ap.add_argument("--profile-pop", type=int, default=None,
                    help="instead of the comparison: cProfile one ezspark pass at this population "
                         "(generations from --gens) -> results/bench_bookkeeping_profile.json")
    ap.add_argument("--worker", choices=PACKAGES, help=argparse.SUPPRESS)
    ap.add_argument("--pop", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker-gens", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker-budget", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.pops, args.gens, args.passes, args.mn_passes = "200", "200:5", "200:1", 1
    return args


def run_passes(pkgs, pop, gens, npass, mn_passes, seed, budget, t_start):
    """All passes at one population size, one subprocess each, the package order alternating
    pass by pass (MultiNEAT only at pop <= 1,000)."""
    runs = {p: [] for p in pkgs}
    for k in range(max(npass, mn_passes if pop <= 1000 else 0)):
        for pkg in (pkgs if k % 2 == 0 else pkgs[::-1]):
            if pkg == "multineat" and (pop > 1000 or k >= mn_passes):
                continue
            if pkg != "multineat" and k >= npass:
                continue
            H.log(f"pop {pop} pass {k + 1} {pkg} ({time.perf_counter() - t_start:.0f}s, load {H.loadavg()})")
            r = one_pass(pkg, pop, gens, seed, budget)
            runs[pkg].append(r)
            rows = r["rows"]
            H.log(f"pop {pop} pass {k + 1} {pkg}: {len(rows)} gens, total {sum(x['non_eval'] for x in rows):.1f}s, "
                  f"median {statistics.median(x['non_eval'] for x in rows):.3f}s/gen, species end "
                  f"{rows[-1].get('species')}, conns end {rows[-1]['mean_enabled_conns']:.1f}, "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB")
    return runs


def peer_ratios(runs, summ):
    """Medians of peer / ezspark: per-offspring, per-distance and per-generation figures, the
    total over the generations both ran, peak RSS."""
    def pair(key, a, b):
        if a and b and key in a and key in b:
            return round(b[key]["median"] / a[key]["median"], 3)
        return None

    def total_ratio(peer):
        g = min(summ["ezspark"]["generations"], summ[peer]["generations"])
        eq = {p: statistics.median(sum(r["non_eval"] for r in x["rows"][:g]) for x in runs[p])
              for p in ("ezspark", peer)}
        return f"total_first_{g}_gens", round(eq[peer] / eq["ezspark"], 3)

    ratios = {}
    ez = summ.get("ezspark")
    for peer, label, keys in (
            ("neat-python", "neat_over_ezspark",
             ("s_per_gen_median_over_gens", "us_per_offspring_reproduce_excl_speciation",
              "us_per_offspring_bookkeeping", "us_per_distance")),
            ("multineat", "multineat_over_ezspark", ("s_per_gen_median_over_gens", "us_per_offspring_bookkeeping"))):
        other = summ.get(peer)
        if ez and other:
            r = {("s_per_gen_median" if k == "s_per_gen_median_over_gens" else k): pair(k, ez, other) for k in keys}
            r.update([total_ratio(peer)])
            r["peak_rss"] = pair("peak_rss_mb", ez, other)
            ratios[label] = r
    return ratios


def summary_line(summ):
    return {p: {"gens": s["generations"], "s_per_gen": H.ms(s["s_per_gen_median_over_gens"], 4),
                "us_per_offspring_repro": H.ms(s["us_per_offspring_reproduce_excl_speciation"], 1)
                if "us_per_offspring_reproduce_excl_speciation" in s else None,
                "us_per_offspring_all": H.ms(s["us_per_offspring_bookkeeping"], 1),
                "us_per_distance": H.ms(s["us_per_distance"], 3) if "us_per_distance" in s else None,
                "species_end": s["per_gen"]["species"][-1], "conns_end": s["per_gen"]["mean_enabled_conns"][-1],
                "peak_rss_mb": H.ms(s["peak_rss_mb"], 0)} for p, s in summ.items()}


def main():
    args = parse_args()
    if args.worker:
        return run_worker(args)
    if args.profile_pop:
        return profile_ezspark(args.profile_pop, parse_map(args.gens).get(args.profile_pop, 10), args.seed)
    gens_map, passes_map = parse_map(args.gens), parse_map(args.passes)
    budget_map = parse_map(args.budget, float)
    pkgs = [p for p in args.packages.split(",") if p]
    if "multineat" in pkgs and H.import_peer("multi_neat") is None:
        pkgs.remove("multineat")

    info = H.machine_info()
    full = {"bench": "bench_bookkeeping", "machine": info, "params": vars(args), "by_pop": {}}
    line = {"bench": "bench_bookkeeping", "unit": "s/gen bookkeeping, us/offspring, us/distance [median,min,max]",
            "by_pop": {}}
    t_start = time.perf_counter()
    targets = {}
    for pop in [int(x) for x in args.pops.split(",") if x]:
        gens, budget = gens_map.get(pop, 10), budget_map.get(pop)
        runs = run_passes(pkgs, pop, gens, passes_map.get(pop, 1), args.mn_passes, args.seed, budget, t_start)
        summ = {p: summarize_pkg(rs) for p, rs in runs.items() if rs}
        # identical work in every pass: the same species counts and genome sizes
        same = {p: len({json.dumps([(x.get("species"), round(x["mean_enabled_conns"], 6))
                                    for x in r["rows"][:summ[p]["generations"]]]) for r in rs}) == 1
                for p, rs in runs.items() if rs}
        ratios = peer_ratios(runs, summ)
        full["by_pop"][str(pop)] = {"generations_requested": gens, "budget_s": budget, "summary": summ,
                                    "same_work_across_passes": same, "ratios_median": ratios, "raw": runs}
        line["by_pop"][str(pop)] = {**summary_line(summ), "ratios": ratios}
        r = ratios.get("neat_over_ezspark")
        if r:
            targets[str(pop)] = {"distance_ge_100x": r["us_per_distance"],
                                 "per_offspring_ge_50x": r["us_per_offspring_reproduce_excl_speciation"],
                                 "bookkeeping_per_gen_ge_50x": r["s_per_gen_median"]}
    full["total_wall_s"] = round(time.perf_counter() - t_start, 1)
    full["targets"] = line["targets"] = targets
    line["ezspark"] = info["ezspark"]
    H.emit("bench_bookkeeping" + ("_quick" if args.quick else ""), full, line)


def profile_ezspark(pop, gens, seed):
    """cProfile of one ezspark pass: which functions the bookkeeping time goes to."""
    import cProfile
    import io
    import pstats

    info = H.machine_info()
    prof = cProfile.Profile()
    prof.enable()
    res = worker_ezspark(pop, gens, seed, None)
    prof.disable()
    st = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (fn, ln, name), (cc, nc, tt, ct, callers) in st.stats.items():
        short = fn.replace(H.REPO + os.sep, "").replace(sys.prefix, "<py>")
        rows.append({"function": f"{short}:{ln}({name})", "calls": nc, "tottime_s": round(tt, 4),
                     "cumtime_s": round(ct, 4)})
    total = sum(r["tottime_s"] for r in rows)
    rows.sort(key=lambda r: -r["tottime_s"])
    non_eval = sum(r["non_eval"] for r in res["rows"])

    def cum_exact(file_part, func):
        return round(max((r["cumtime_s"] for r in rows
                          if file_part in r["function"] and r["function"].endswith(f"({func})")), default=0.0), 4)

    ks = [r.get("kernel_s") or {} for r in res["rows"]]
    parts = {"Evolution.reproduce": cum_exact("engine/evolution.py", "reproduce"),
             "  _core.speciate (wrapped)": round(sum(k.get("_core.speciate", 0.0) for k in ks), 4),
             "  _core.reproduce (wrapped)": round(sum(k.get("_core.reproduce", 0.0) for k in ks), 4),
             "compile (compile_csr / compile_programs)": max(cum_exact("network/programs.py", "compile_csr"),
                                                             cum_exact("network/programs.py", "compile_programs")),
             "Evolution.observe": cum_exact("engine/evolution.py", "observe")}
    full = {"bench": "bench_bookkeeping_profile", "machine": info, "pop": pop, "generations": len(res["rows"]),
            "profiled_total_s": round(total, 3), "bookkeeping_s_unprofiled_timers": round(non_eval, 3),
            "cum_s": parts, "top_tottime": rows[:25],
            "kernel_s_per_gen": [r.get("kernel_s") for r in res["rows"]],
            "note": "cProfile adds a per-call cost to Python functions, so Python-heavy parts are inflated"}
    line = {"bench": "bench_bookkeeping_profile", "pop": pop, "profiled_total_s": full["profiled_total_s"],
            "cum_s": parts, "top5_tottime": [(r["function"], r["tottime_s"]) for r in rows[:5]]}
    H.emit("bench_bookkeeping_profile", full, line)


if __name__ == "__main__":
    main()
