"""Shared set-up for the ezspark-vs-peers benchmarks in this folder.

* puts the anchor benchmark folder (neat-python scripts and ``bench_util``) and its
  ``multineat/`` subfolder on ``sys.path``; default ``/work/shared/bench``, override with
  ``$EZSPARK_PEER_BENCH``.  Nothing from there is copied: it is imported.
* results go to ``benchmarks/results/`` next to this file (``$BENCH_RESULTS_DIR`` overrides);
* records ezspark's version, kernel set and compile flags with every result.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEER = os.environ.get("EZSPARK_PEER_BENCH", "/work/shared/bench")
if not os.path.isfile(os.path.join(PEER, "bench_util.py")):
    raise SystemExit(f"the anchor benchmark folder is not at {PEER} (set EZSPARK_PEER_BENCH)")
for p in (os.path.join(PEER, "multineat"), PEER):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("BENCH_RESULTS_DIR", os.path.join(HERE, "results"))

import bench_util as bu  # noqa: E402


def _git(*args):
    try:
        return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        return None


def ezspark_info() -> dict:
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
        "git_dirty_ezspark": bool(_git("status", "--porcelain", "--", "ezspark", "setup.py")),
        "git_dirty_files": [ln.split(maxsplit=1)[-1] for ln in
                            (_git("status", "--porcelain", "--", "ezspark", "setup.py") or "").splitlines()],
        "sha1_of_sources": _source_hashes(),
    }


def _source_hashes() -> dict:
    """Short SHA-1 of the sources that decide what a benchmark measures (the working tree
    may hold uncommitted edits of other engineers)."""
    import hashlib

    out = {}
    base = os.path.join(REPO, "ezspark")
    for rel in ("engine/evolution.py", "network/programs.py", "evaluation/local.py", "engine/population.py",
                "_core/_activate.pyx", "_core/_distance.pyx", "_core/_reproduce.pyx"):
        try:
            with open(os.path.join(base, rel), "rb") as f:
                out[rel] = hashlib.sha1(f.read()).hexdigest()[:10]
        except OSError:
            pass
    return out


def machine_info() -> dict:
    import datetime

    info = bu.machine_info()
    info["multineat"] = bu.package_version("multineat")
    info["date_utc"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    info["ezspark"] = ezspark_info()
    return info


def ratio(a, b, nd=3):
    """Per-repeat ratios a[i] / b[i], summarised."""
    return bu.summarize([x / y for x, y in zip(a, b) if y], nd)


def ms(s, nd=None):
    return bu.med_spread(s, nd)


def profile_breakdown(prof, parts: dict) -> tuple[float, dict, list]:
    """Summarise a ``cProfile.Profile``: the profiled total (sum of tottime), the cumulative
    time of each ``label: (file suffix, function name)`` in ``parts`` (the largest match),
    and the 12 lines of highest tottime (with ``sys.prefix`` shortened to ``<py>``)."""
    import io
    import pstats

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
