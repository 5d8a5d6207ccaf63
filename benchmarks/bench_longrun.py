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
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
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

    def __init__(self):
        self.seconds, self.depth, self.saved = 0.0, 0, []

    def install(self) -> None:
        for cls, name in self.PARTS:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="5,000 generations")
    parser.add_argument("--keep", help="write the run here and keep it (default: a "
                        "temporary directory, removed)")
    args = parser.parse_args()
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
