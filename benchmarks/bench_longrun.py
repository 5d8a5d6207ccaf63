"""Long runs at a constant cost per generation (issue 14): XOR through the fitness API with
the docs example values (``examples/ezspark-docs-example.json``, as ``examples/xor.py`` sets
them: input_size 2, output_size 1, species_threshold 2.0, no environment) and ``saving`` 1,
no fitness_threshold, N generations (default 100,000; ``--quick`` 5,000) into a real
output directory (run.h5 and checkpoint.h5, default checkpoint interval of 1 s).

Reported, per tenth of the run: milliseconds per generation (wall time between the starts
of the tenth's first and the next tenth's first generation), the time inside generations
(``GenerationStats.seconds``: evaluation and evolution), the rest (store, checkpoint,
hooks: "outside"), the RSS and the sizes of run.h5 and checkpoint.h5 when the tenth ends;
for the whole run: the share of wall time outside evaluation and evolution, the share
spent in the store and the checkpoints alone (the loop's per-generation snapshot, checkpoint
writes with the run.h5 flush before each, the store's calls; timed by wrapping them), peak RSS
(``ru_maxrss``), the history rows' own size and the final file sizes.  Targets (issue 14):
last tenth within 1.2x of the first; outside share <= 10%; peak memory growing by no more
than the history rows.

    python benchmarks/bench_longrun.py [--generations N] [--quick] [--keep DIR]

``--docs-example --minutes M``: the documented example itself (the file ``ezspark init
--defaults`` writes, checked equal to ``examples/ezspark-docs-example.json``: CartPole-v0,
``saving`` 1) trained for M minutes of wall time into a real output directory (run.h5 and
checkpoint.h5), stopped cleanly by a ``stop`` callback once the time is up.  Recorded per
generation: population, species, evaluation seconds (``GenerationLoop._evaluate``, timed by
wrapping it), evolution seconds (``GenerationStats.seconds`` minus evaluation), store and
checkpoint seconds (as above), and the wall time from its start to the next generation's
start.  Reported per tenth of the run: generations, mean population, species, the overhead
outside evaluation per generation and per genome (the population grows, so per genome is
the measure of "not growing with history") and the store's share of the wall time; and per
band of population size (1-9, 10-99, ... genomes) and half of the run, the ms per genome
outside evaluation, in evolution and in the store: like sizes early and late.  Written
to ``results/bench_longrun_docs.json`` (``--quick``: 0.2 minutes, ``bench_longrun_docs_quick``)
with a PNG of the curves beside it when matplotlib is installed (the ``plot`` extra).

    python benchmarks/bench_longrun.py --docs-example [--minutes M] [--quick] [--keep DIR]
    python benchmarks/bench_longrun.py --reanalyse results/bench_longrun_docs.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import ezspark
from ezspark.plugins.manager import get_plugin_manager
from ezspark.store.runfile import HISTORY_DTYPE, RunStore
from ezspark.training.loop import GenerationLoop

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402  (the harness lives beside this file)

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_fitness(nets):
    """4 - sum of squared errors over the four cases, every genome at once."""
    out = nets.activate(X)
    return 4.0 - ((out[:, :, 0] - Y) ** 2).sum(axis=1)


def config(generations: int):
    keys = ezspark.TrainingConfig.docs_example().to_dict()
    keys.update(gym_game_name=None, input_size=2, output_size=1, species_threshold=2.0,
                fitness_threshold=None, generations=generations, saving=1)
    return ezspark.TrainingConfig.from_dict(keys)


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Probe:
    """A reporter plugin: the start time of every tenth, the time inside generations, and
    RSS and file sizes at each tenth's end."""

    def __init__(self, generations: int, out: str):
        self.step = max(1, generations // 10)
        self.out = out
        self.starts, self.inside, self.marks = [], [0.0], []

    @ezspark.hookimpl
    def ezspark_generation_start(self, run, generation, population):
        if generation % self.step == 0:
            now = time.perf_counter()
            if self.starts:
                self.marks.append(self._mark())
                self.inside.append(0.0)
            self.starts.append(now)

    @ezspark.hookimpl
    def ezspark_generation_end(self, run, stats):
        self.inside[-1] += stats.seconds

    def _mark(self) -> dict:
        sizes = {name: os.path.getsize(os.path.join(self.out, name))
                 for name in ("run.h5", "checkpoint.h5")
                 if os.path.exists(os.path.join(self.out, name))}
        return {"rss_kb": rss_kb(), "bytes": sizes}


class StoreClock:
    """Wall time spent in the run store and the checkpoints: the loop's per-generation
    snapshot and its checkpoint writes (which flush run.h5 first), and the store's own
    calls; nested calls count once."""

    PARTS = ((GenerationLoop, "_snapshot"), (GenerationLoop, "_save"), (RunStore, "add_row"),
             (RunStore, "add_champion"), (RunStore, "maybe_flush"), (RunStore, "close"))

    def __init__(self, parts=None):
        self.parts = self.PARTS if parts is None else parts
        self.seconds, self.depth, self.saved = 0.0, 0, []

    def install(self) -> None:
        for cls, name in self.parts:
            original = getattr(cls, name)
            self.saved.append((cls, name, original))
            setattr(cls, name, self._timed(original))

    def remove(self) -> None:
        for cls, name, original in self.saved:
            setattr(cls, name, original)

    def _timed(self, fn):
        def timed(*args, **kw):
            self.depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.seconds += time.perf_counter() - t0
        return timed


def tenths(probe: Probe, end: float) -> list[dict]:
    rows = []
    bounds = probe.starts + [end]
    for k in range(len(probe.starts)):
        wall = bounds[k + 1] - bounds[k]
        mark = probe.marks[k] if k < len(probe.marks) else probe._mark()
        rows.append({"tenth": k + 1, "ms_per_generation": 1000 * wall / probe.step,
                     "inside_ms_per_generation": 1000 * probe.inside[k] / probe.step,
                     "outside_share": (wall - probe.inside[k]) / wall if wall else None,
                     **mark})
    return rows


# ---- --docs-example: the documented example for a given wall time ------------------------

def docs_example_config(out: str) -> str:
    """The file ``ezspark init --defaults`` writes, in ``out``; it must be the example file."""
    path = os.path.join(out, "training.json")
    subprocess.run([sys.executable, "-m", "ezspark", "init", "--defaults", "--force", path],
                   check=True, stdout=subprocess.DEVNULL)
    with open(path) as f, open(os.path.join(H.REPO, "examples",
                                            "ezspark-docs-example.json")) as g:
        written, example = json.load(f), json.load(g)
    if written != example:
        raise SystemExit(f"ezspark init --defaults differs from the example file: {written}")
    return path


class GenerationProbe:
    """A reporter plugin: one row per generation (population, species, evaluation, evolution,
    store and checkpoint seconds, wall time from its start to the next start)."""

    def __init__(self, evaluation: StoreClock, store: StoreClock):
        self.evaluation, self.store = evaluation, store
        self.rows, self.open = [], None
        self.loads, self.next_load = [], 0.0   # the shared machine's load, once a minute

    def _close(self, now: float) -> None:
        row, self.open = self.open, None
        start, eval0, store0 = row.pop("_marks")
        row.update(wall_s=now - start, evaluation_s=self.evaluation.seconds - eval0,
                   store_s=self.store.seconds - store0)
        row["evolution_s"] = max(0.0, row.pop("inside_s", 0.0) - row["evaluation_s"])
        self.rows.append(row)

    @ezspark.hookimpl
    def ezspark_generation_start(self, run, generation, population):
        now = time.perf_counter()
        if self.open is not None:
            self._close(now)
        if now >= self.next_load:
            self.loads.append([generation, *os.getloadavg()])
            self.next_load = now + 60.0
        self.open = {"generation": generation, "population": population,
                     "_marks": (now, self.evaluation.seconds, self.store.seconds)}

    @ezspark.hookimpl
    def ezspark_generation_end(self, run, stats):
        self.open.update(species=stats.species, inside_s=stats.seconds)

    def finish(self, now: float) -> list[dict]:
        if self.open is not None:
            self._close(now)
        return self.rows


def docs_tenths(rows: list[dict]) -> list[dict]:
    """Per tenth of the wall time: generations, mean population, last species count, the
    overhead outside evaluation per generation and per genome, the store's share."""
    total = sum(r["wall_s"] for r in rows)
    out, elapsed, k = [], 0.0, 0
    buckets = [[] for _ in range(10)]
    for r in rows:
        buckets[min(9, int(10 * elapsed / total))].append(r)
        elapsed += r["wall_s"]
    for k, b in enumerate(buckets):
        if not b:
            continue
        wall = sum(r["wall_s"] for r in b)
        outside = wall - sum(r["evaluation_s"] for r in b)
        genomes = sum(r["population"] for r in b)
        species = [r["species"] for r in b if r["species"] >= 0]
        out.append({"tenth": k + 1, "generations": len(b), "first_generation": b[0]["generation"],
                    "mean_population": genomes / len(b),
                    "species_last": species[-1] if species else None,
                    "mean_species": sum(species) / len(species) if species else None,
                    "evaluation_ms_per_genome": 1000 * (wall - outside) / genomes,
                    "evolution_ms_per_generation": 1000 * sum(r["evolution_s"] for r in b) / len(b),
                    "outside_ms_per_generation": 1000 * outside / len(b),
                    "outside_ms_per_genome": 1000 * outside / genomes,
                    "store_ms_per_generation": 1000 * sum(r["store_s"] for r in b) / len(b),
                    "store_share": sum(r["store_s"] for r in b) / wall,
                    "outside_share": outside / wall})
    return out


def docs_bands(rows: list[dict]) -> list[dict]:
    """The overhead per genome at like population sizes early and late: per band of
    population (1-9, 10-99, ... genomes) and half of the run's wall time, the generations,
    mean population, and the ms per genome outside evaluation, in evolution and in the store.
    Equal figures in both halves mean the overhead does not grow with the history."""
    total, elapsed, groups = sum(r["wall_s"] for r in rows), 0.0, {}
    for r in rows[:-1]:                       # the final generation is not reproduced
        half = "first" if elapsed < total / 2 else "second"
        groups.setdefault((len(str(r["population"])), half), []).append(r)
        elapsed += r["wall_s"]
    out = []
    for (digits, half), g in sorted(groups.items()):
        genomes = sum(r["population"] for r in g)
        out.append({"population": f"{10 ** (digits - 1)}-{10 ** digits - 1}", "half": half,
                    "generations": len(g), "mean_population": genomes / len(g),
                    "outside_ms_per_genome":
                        1000 * sum(r["wall_s"] - r["evaluation_s"] for r in g) / genomes,
                    "evolution_ms_per_genome": 1000 * sum(r["evolution_s"] for r in g) / genomes,
                    "store_ms_per_genome": 1000 * sum(r["store_s"] for r in g) / genomes})
    return out


def docs_plot(rows: list[dict], path: str) -> str | None:
    """Population and species per generation, and the overhead per genome; None without
    matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    g, elapsed = [], 0.0                      # minutes since the start, per generation
    for r in rows:
        g.append(elapsed / 60)
        elapsed += r["wall_s"]
    fig, (a, b, c) = plt.subplots(3, 1, sharex=True, figsize=(8, 8))
    a.plot(g, [r["population"] for r in rows])
    a.set_ylabel("population")
    b.plot(g[:-1], [r["species"] for r in rows[:-1]], color="tab:orange")
    b.set_ylabel("species")
    c.semilogy(g, [1000 * (r["wall_s"] - r["evaluation_s"]) / r["population"] for r in rows],
               ".", markersize=2, color="tab:green")
    c.set_ylabel("outside evaluation,\nms per genome")
    c.set_xlabel(f"minutes ({len(rows)} generations)")
    a.set_title("ezspark init --defaults (CartPole-v0), saving 1, run.h5 + checkpoint")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def docs_log(tenth_rows: list[dict]) -> None:
    for r in tenth_rows:
        H.log(f"tenth {r['tenth']:>2}: {r['generations']:>4} gens from {r['first_generation']}, "
              f"pop {r['mean_population']:.0f}, species {r['species_last']}, outside "
              f"{r['outside_ms_per_generation']:.1f} ms/gen = {r['outside_ms_per_genome']:.4f} "
              f"ms/genome, store {100 * r['store_share']:.1f}%")


def docs_reanalyse(path: str) -> int:
    """Recompute the tenths, bands and figure of a saved ``--docs-example`` result from its
    per-generation rows (e.g. after changing the report), and rewrite it."""
    with open(path) as f:
        full = json.load(f)
    rows = full["per_generation"]
    full.update(tenths=docs_tenths(rows), bands=docs_bands(rows))
    full["figure"] = docs_plot(rows, os.path.splitext(path)[0] + ".png") and \
        os.path.basename(os.path.splitext(path)[0] + ".png")
    with open(path, "w") as f:
        json.dump(full, f, indent=1)
        f.write("\n")
    docs_log(full["tenths"])
    return 0


def docs_main(args) -> int:
    minutes = 0.2 if args.quick else args.minutes
    machine = H.machine_info()
    out = args.keep or tempfile.mkdtemp(prefix="ezspark-longrun-docs-")
    os.makedirs(out, exist_ok=True)
    path = docs_example_config(out)
    with open(path) as f:
        example = json.load(f)
    if args.target_species is not None:     # the example with stable speciation on
        example["target_species"] = args.target_species
        path = os.path.join(out, f"training-target{args.target_species}.json")
        with open(path, "w") as f:
            json.dump(example, f, indent=2)
    evaluation, store = StoreClock(((GenerationLoop, "_evaluate"),)), StoreClock()
    probe = GenerationProbe(evaluation, store)
    pm = get_plugin_manager()
    pm.register(probe, name="bench-longrun-docs-probe")
    H.log(f"# the docs example ({path}) for {minutes} minutes into {out}")
    evaluation.install()
    store.install()
    t0 = time.perf_counter()
    deadline = t0 + 60 * minutes
    try:
        result = ezspark.train(path, seed=0, out=out, overwrite=True,
                               stop=lambda champion: time.perf_counter() >= deadline)
    finally:
        end = time.perf_counter()
        store.remove()
        evaluation.remove()
        pm.unregister(probe)
    rows = probe.finish(end)
    tenth_rows = docs_tenths(rows)
    docs_log(tenth_rows)
    name = "bench_longrun_docs_quick" if args.quick else "bench_longrun_docs"
    if args.target_species is not None:
        name += f"_target{args.target_species}"
    figure = docs_plot(rows, os.path.join(H.results_dir(), name + ".png"))
    full = {"machine": machine, "minutes": minutes, "config": example,
            "stopped": result.stopped, "generations": len(rows), "wall_seconds": end - t0,
            "load_average_per_minute": probe.loads, "tenths": tenth_rows,
            "bands": docs_bands(rows),
            "last_over_first_outside_ms_per_genome":
                tenth_rows[-1]["outside_ms_per_genome"] / tenth_rows[0]["outside_ms_per_genome"],
            "store_share": store.seconds / (end - t0),
            "evaluation_share": evaluation.seconds / (end - t0),
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "run_h5_bytes": os.path.getsize(os.path.join(out, "run.h5")),
            "checkpoint_bytes": os.path.getsize(os.path.join(out, "checkpoint.h5")),
            "figure": figure and os.path.basename(figure), "per_generation": rows}
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    line = {k: full[k] for k in ("minutes", "stopped", "generations", "wall_seconds",
                                 "last_over_first_outside_ms_per_genome", "store_share",
                                 "evaluation_share", "peak_rss_kb", "run_h5_bytes")}
    line["population_first_last"] = [rows[0]["population"], rows[-1]["population"]]
    H.emit(name, full, line)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="5,000 generations "
                        "(--docs-example: 0.2 minutes)")
    parser.add_argument("--keep", help="write the run here and keep it (default: a "
                        "temporary directory, removed)")
    parser.add_argument("--docs-example", action="store_true",
                        help="train the documented example (ezspark init --defaults) instead")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="--docs-example: wall time of the run (default 30)")
    parser.add_argument("--target-species", type=int, default=None, metavar="T",
                        help="--docs-example: add the extension key target_species T")
    parser.add_argument("--reanalyse", metavar="JSON",
                        help="recompute the report of a saved --docs-example result")
    args = parser.parse_args()
    if args.reanalyse:
        return docs_reanalyse(args.reanalyse)
    if args.docs_example:
        return docs_main(args)
    n = 5_000 if args.quick else args.generations
    machine = H.machine_info()
    out = args.keep or tempfile.mkdtemp(prefix="ezspark-longrun-")
    probe = Probe(n, out)
    pm = get_plugin_manager()
    pm.register(probe, name="bench-longrun-probe")
    H.log(f"# {n} generations of XOR (docs values, saving 1) into {out}")
    clock = StoreClock()
    clock.install()
    t0 = time.perf_counter()
    result = ezspark.train(config(n), fitness=xor_fitness, seed=0, out=out, overwrite=True)
    end = time.perf_counter()
    clock.remove()
    pm.unregister(probe)
    rows = tenths(probe, end)
    wall = end - t0
    inside = sum(h.seconds for h in result.history)
    first, last = rows[0]["ms_per_generation"], rows[-1]["ms_per_generation"]
    history_bytes = len(result.history) * HISTORY_DTYPE.itemsize
    # RunResult.history as Python objects (an upper bound: small ints are shared)
    history_objects = sum(sys.getsizeof(h) + sum(sys.getsizeof(getattr(h, name))
                                                 for name in HISTORY_DTYPE.names)
                          for h in result.history)
    full = {
        "machine": machine, "generations": len(result.history), "wall_seconds": wall,
        "tenths": rows, "last_over_first": last / first,
        "outside_share": (wall - inside) / wall,
        "store_checkpoint_share": clock.seconds / wall,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_growth_kb": rows[-1]["rss_kb"] - rows[0]["rss_kb"],
        "history_rows_kb": history_bytes // 1024,
        "history_objects_kb": history_objects // 1024,
        "final_population": result.history[-1].population,
        "final_species": result.history[-2].species if len(result.history) > 1 else None,
        "run_h5_bytes": os.path.getsize(os.path.join(out, "run.h5")),
        "checkpoint_bytes": os.path.getsize(os.path.join(out, "checkpoint.h5")),
    }
    for r in rows:
        H.log(f"tenth {r['tenth']:>2}: {r['ms_per_generation']:.3f} ms/gen "
              f"(inside {r['inside_ms_per_generation']:.3f}, outside {100 * r['outside_share']:.1f}%), "
              f"RSS {r['rss_kb'] / 1024:.1f} MB, files {r['bytes']}")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    line = {k: full[k] for k in (
        "generations", "wall_seconds", "last_over_first", "outside_share",
        "store_checkpoint_share", "peak_rss_kb", "rss_growth_kb", "history_rows_kb",
        "history_objects_kb", "run_h5_bytes", "checkpoint_bytes")}
    line["ms_per_generation_first_last"] = [round(first, 4), round(last, 4)]
    H.emit("bench_longrun_quick" if args.quick else "bench_longrun", full, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
