"""Timing, summaries and result files for the benchmarks in this folder.

The machine these run on is shared and noisy, so every figure is a median over repeats with
[min, max], and comparisons are ratios measured inside one run (``ratio``).  Every result
records the machine, load average, date, package versions and what ezspark was built from
(``machine_info``).  ``emit`` writes the full detail to ``results/<name>.json`` beside this
file (``$BENCH_RESULTS_DIR`` overrides) and prints a one-line JSON summary as the last line of
stdout.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import hashlib
import io
import json
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import sysconfig
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def results_dir():
    d = os.environ.get("BENCH_RESULTS_DIR") or os.path.join(HERE, "results")
    os.makedirs(d, exist_ok=True)
    return d


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- statistics ---------------------------------------------------------------------------------

def _quantile(sorted_vals, q):
    pos = q * (len(sorted_vals) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] * (1 - (pos - lo)) + sorted_vals[hi] * (pos - lo)


def summarize(values, digits=6):
    """Median, [min, max], mean, quartiles (and the inter-quartile range as a % of the median)
    of repeated measurements."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"n": 0}
    med = statistics.median(vals)
    q1, q3 = _quantile(vals, 0.25), _quantile(vals, 0.75)
    out = {"n": len(vals), "median": med, "min": vals[0], "max": vals[-1],
           "mean": statistics.fmean(vals), "q1": q1, "q3": q3,
           "iqr_pct_of_median": 100.0 * (q3 - q1) / med if med else None}
    if len(vals) > 1:
        out["stdev"] = statistics.stdev(vals)
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in out.items()}


def ms(s, nd=None):
    """Compact [median, min, max] of a ``summarize`` dict (``nd`` = 0: integers)."""
    vals = [s.get("median"), s.get("min"), s.get("max")]
    if nd is not None:
        vals = [round(v, nd) if nd > 0 else int(round(v)) for v in vals]
    return vals


def ratio(a, b, nd=3):
    """Per-repeat ratios a[i] / b[i], summarised: both sides measured in the same repeat,
    so a slow phase of the machine hits both."""
    return summarize([x / y for x, y in zip(a, b) if y], nd)


def timed_rate(fn, units_per_call, min_time=0.5):
    """Call ``fn()`` until ``min_time`` seconds have passed; ``fn`` does ``units_per_call``
    units of work per call (keep a call short against ``min_time``).
    Returns (units per second, calls, elapsed seconds)."""
    calls = 0
    t0 = time.perf_counter()
    while True:
        fn()
        calls += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return units_per_call * calls / el, calls, el


# ---- what ran, where ------------------------------------------------------------------------------

def package_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git(*args):
    try:
        return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        return None


def _source_hashes() -> dict:
    """Short SHA-1 of the sources that decide what a benchmark measures: the working tree may
    hold uncommitted edits, which the commit id alone would not show."""
    out = {}
    base = os.path.join(REPO, "ezspark")
    for rel in ("engine/evolution.py", "network/programs.py", "evaluation/local.py", "engine/population.py",
                "_core/_activate.pyx", "_core/_distance.pyx", "_core/_reproduce.pyx", "_core/_step.pyx"):
        try:
            with open(os.path.join(base, rel), "rb") as f:
                out[rel] = hashlib.sha1(f.read()).hexdigest()[:10]
        except OSError:
            pass
    return out


def ezspark_info() -> dict:
    """Version, kernel set (compiled or pure Python) and compile flags of the ezspark that
    runs, and the git state of the checkout it comes from."""
    import ezspark
    from ezspark import _core

    so = sorted(f for f in os.listdir(os.path.dirname(_core.__file__)) if f.endswith(".so"))
    flags = None
    try:
        with open(os.path.join(REPO, "setup.py")) as f:
            m = re.search(r'compile_args\s*=\s*(.*)', f.read())
            flags = m.group(1).strip() if m else None
    except OSError:
        pass
    dirty = (_git("status", "--porcelain", "--", "ezspark", "setup.py") or "").splitlines()
    return {
        "version": getattr(ezspark, "__version__", None),
        "kernels": "compiled" if _core.COMPILED else "pure-python",
        "kernel_import_error": str(_core.IMPORT_ERROR) if _core.IMPORT_ERROR else None,
        "kernel_modules": list(getattr(_core, "_MODULES", ())),
        "extension_files": so,
        "extra_compile_args (setup.py)": flags,
        "python CFLAGS": sysconfig.get_config_var("CFLAGS"),
        "EZSPARK_CYTHON_DEBUG": os.environ.get("EZSPARK_CYTHON_DEBUG"),
        "git_head": _git("rev-parse", "--short", "HEAD"),
        "git_dirty_ezspark": bool(dirty),
        "git_dirty_files": [ln.split(maxsplit=1)[-1] for ln in dirty],
        "sha1_of_sources": _source_hashes(),
    }


def machine_info() -> dict:
    return {
        "nproc": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "neat-python": package_version("neat-python"),
        "gymnasium": package_version("gymnasium"),
        "numpy": package_version("numpy"),
        "multineat": package_version("multineat"),
        "loadavg_at_start": loadavg(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "ezspark": ezspark_info(),
    }


# ---- output -------------------------------------------------------------------------------------

def emit(name, full, line=None):
    """Write ``results/<name>.json`` (full detail) and print ``line`` (default: ``full``) as
    one compact JSON line, the last line of stdout."""
    full = dict(full)
    full.setdefault("bench", name)
    full.setdefault("loadavg_at_end", loadavg())
    path = os.path.join(results_dir(), name + ".json")
    with open(path, "w") as f:
        json.dump(full, f, indent=1)
        f.write("\n")
    log(f"# full result written to {os.path.relpath(path)}")
    line = dict(full if line is None else line)
    line.setdefault("bench", name)
    m = full.get("machine", {})
    line.setdefault("env", {k: m.get(k) for k in ("nproc", "python", "neat-python", "gymnasium", "numpy")})
    line.setdefault("loadavg", [m.get("loadavg_at_start"), full.get("loadavg_at_end")])
    sys.stdout.flush()
    print(json.dumps(line, separators=(",", ":")), flush=True)


def seeds_of(text: str) -> list[int]:
    """Seeds from ``"0-19"``, ``"3,5,8"`` or a mix (``"0-4,10"``)."""
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def genes_key(genome) -> str:
    """Equal for ezspark genomes with the same genes (the network and its weights)."""
    h = hashlib.sha1()
    for name in ("innovation", "src", "dst", "weight", "enabled"):
        h.update(getattr(genome, name).tobytes())
        h.update(b"|")
    return h.hexdigest()


def choices_of(ap, text: str, known, what: str) -> list[str]:
    """The comma-separated names of ``text``, each one of ``known`` (else ``ap.error``)."""
    names = [x for x in text.split(",") if x]
    for x in names:
        if x not in known:
            ap.error(f"unknown {what} {x!r} (choose from {', '.join(known)})")
    return names


class RunStore:
    """A benchmark's file of runs, ``results/<name>.json``: ``{"runs": {key: record},
    "invocations": [...], ...}``, results accumulating over invocations.  Every
    read-modify-write holds the file's lock, so two invocations at once (tuning rounds side by
    side) never lose each other's records, and replaces the file whole."""

    def __init__(self, name: str):
        self.name = name
        self.path = os.path.join(results_dir(), name + ".json")

    @contextlib.contextmanager
    def locked(self):
        with open(self.path + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def load(self) -> dict:
        if os.path.exists(self.path):
            with open(self.path) as f:
                return json.load(f)
        return {"bench": self.name, "runs": {}, "invocations": []}

    def write(self, data: dict) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        os.replace(tmp, self.path)

    def save(self, key: str, record: dict) -> None:
        with self.locked():
            data = self.load()
            data.setdefault("runs", {})[key] = record
            self.write(data)

    def note_invocation(self, machine: dict) -> None:
        """Records this invocation's command line, date, load and ezspark commit."""
        with self.locked():
            data = self.load()
            data.setdefault("invocations", []).append({
                "argv": sys.argv[1:], "date_utc": machine["date_utc"],
                "loadavg_at_start": machine["loadavg_at_start"],
                "git_head": machine["ezspark"]["git_head"]})
            self.write(data)


def _run_safely(run_one, job: dict):
    try:
        return job, run_one(job), None
    except Exception:
        return job, None, traceback.format_exc()


def run_jobs(store: RunStore, jobs: list, run_one, workers: int, key, line) -> list[str]:
    """``run_one(job)`` for every job (in ``workers`` processes); each record is saved under
    ``key(record)`` as soon as it is made and ``line(record)`` printed.  A job that raises
    is logged with its traceback and named in the list returned (``task/system/seed``)."""
    failed = []

    def finished(job, rec, err):
        if err is not None:
            failed.append(f"{job['task']}/{job['system']}/{job['seed']}")
            log(f"FAILED {job['task']} {job['system']} seed {job['seed']}:\n{err}")
            return
        store.save(key(rec), rec)
        print(line(rec), flush=True)

    call = functools.partial(_run_safely, run_one)
    if workers <= 1:
        for job in jobs:
            finished(*call(job))
    else:
        with ProcessPoolExecutor(workers) as pool:
            for fut in as_completed([pool.submit(call, job) for job in jobs]):
                finished(*fut.result())
    return failed


def profile_breakdown(prof, parts: dict) -> tuple[float, dict, list]:
    """Summarise a ``cProfile.Profile``: the profiled total (sum of tottime), the cumulative
    time of each ``label: (file suffix, function name)`` in ``parts`` (the largest match),
    and the 12 lines of highest tottime (``sys.prefix`` shortened to ``<py>``, so that result
    files hold no machine paths)."""
    st = pstats.Stats(prof, stream=io.StringIO())
    total = sum(v[2] for v in st.stats.values())
    cum = {label: max((ct for (fn, _line, name), (_cc, _nc, _tt, ct, _callers)
                       in st.stats.items()
                       if fn.replace(os.sep, "/").endswith(suffix) and name == func),
                      default=0.0)
           for label, (suffix, func) in parts.items()}
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    top = [ln.replace(sys.prefix, "<py>") for ln in out.getvalue().splitlines()
           if ln.strip()][-13:]
    return total, cum, top


def import_peer(module):
    """``peers.<module>``, or None (with a note on stderr) when its package is not installed
    (e.g. MultiNEAT on a Python without a wheel for it): that peer's rows are then skipped."""
    import importlib
    try:
        return importlib.import_module(f"peers.{module}")
    except ImportError as exc:
        log(f"peers.{module} not available ({exc}); its rows are skipped")
        return None
