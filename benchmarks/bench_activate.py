"""Network activation: ezspark vs neat-python 2.0.0 vs MultiNEAT 0.12 on the same networks.

Workload: ``peers/neat_activate_workload.json``, 10 networks grown by neat-python's own
operators (``peers.neat_python.grow_genome``; 5 "small" = 12 nodes / 40 links evaluated,
5 "big" = 52 / 300; 4 inputs -> 2 outputs) with neat-python's outputs on 32 inputs.

* neat-python: regrown exactly with ``grow_genome`` (checked against the stored outputs),
  ``FeedForwardNetwork.create``.
* ezspark: ``ezspark.network.programs.compile_program_arrays`` from the workload's genes with
  neat-python's node ids, per-node biases and ``slope=5.0`` -- it computes
  ``1/(1+exp(-5*(bias + sum w*y)))``, neat-python's function (response is 1.0 everywhere;
  neat-python clamps 5z to [-60, 60], which changes a value by < 1e-26).
* MultiNEAT: the same networks copied link by link into a ``NeuralNetwork``
  (``peers.multi_neat.net_from_neat``), exact feed-forward = ``Input; D x Activate(); Output``.

All 32 stored outputs of the 10 networks are checked to 1e-6 for every package first.  Then,
per repeat (packages alternate which goes first), the same 1000 inputs
(``peers.neat_python.workload_inputs``):

  single-row calls (one observation per call), network by network:
    np_list / np_numpy     neat-python ``net.activate(list)`` / ``(np.float32[4])``
    ez_net_list            ezspark ``net = programs.network(0)`` (the single-row fast path,
                           what ``Champion.activate`` uses), ``net.activate(list)``
    ez_net_array           same with a float64[4] array
    ez_net_array32         same with a float32[4] array (gym's observation dtype)
    ez_net_act             ``net.act(list)``: the action (argmax) as an int, no output array
    ez_list / ez_array     ezspark ``programs.activate([row])`` (one program) with a Python
                           list row / a float64[1, 4] array (the batched API; a float array of
                           one row and one program takes the fast path inside)
    ez_array32             same with the float32[1, 4] array
    mn_list                MultiNEAT ``Input(list); D x Activate(); Output()``
  population-batched calls (separate, labelled rows):
    ez_batched             ``programs.activate(X)``: the 5 networks of a size x 1000 rows in
                           ONE call (5000 activations per call)
    ez_batched_rows        ``programs.activate_rows(row_genome, X)``: 5000 (network, row)
                           pairs in one call (the layout evaluation uses)
    ez_batched_base        ``ez_batched`` with the baseline (SSE2) block code forced, as on a
                           CPU without AVX2 (same bits)
    neat-python and MultiNEAT have no batched call: their batched figure is their best
    single-row rate (np_list, mn_list) measured in the same repeat.
  network creation: neat-python ``FeedForwardNetwork.create`` per genome vs ezspark
    ``compile_program_arrays`` per genome and for the 5 genomes of a size in one call.

Rates: activations/s, aggregate over the 5 networks of a size; median [min, max] over
repeats, and per-repeat ratios ezspark / neat-python and ezspark / MultiNEAT.
``--profile`` adds a breakdown of one ezspark single-row call (the fast path, and the batched
API's argument checks, output allocation, kernel entry with 0 rows, the kernel with 1 row) and
ns per activation of the batched kernel by block size.  ``--write-workload`` regenerates the
workload file from neat-python and exits.

Usage: python benchmarks/bench_activate.py [--repeats 7] [--min-time 0.25] [--quick] [--profile]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402
from peers import neat_python as npy  # noqa: E402

from neat.nn import FeedForwardNetwork  # noqa: E402

from ezspark import _core  # noqa: E402
from ezspark.network.programs import compile_program_arrays  # noqa: E402

try:
    from ezspark._core import _activate as _compiled_activate  # noqa: E402
except ImportError:  # not built: no SIMD level to choose
    _compiled_activate = None

SIZES = npy.SIZES
TOL = 1e-6
WORKLOAD = os.path.join(H.HERE, "peers", "neat_activate_workload.json")
SIMD_BASELINE = _compiled_activate is not None and _core.COMPILED


def ez_compile(genomes, input_keys, output_keys):
    """Programs of workload genomes (dicts with 'nodes' and 'connections')."""
    conns = [c for g in genomes for c in g["connections"]]
    conn_off = np.cumsum([0] + [len(g["connections"]) for g in genomes])
    node_off = np.cumsum([0] + [len(g["nodes"]) for g in genomes])
    return compile_program_arrays(
        conn_off, np.array([c[0] for c in conns], dtype=np.int64),
        np.array([c[1] for c in conns], dtype=np.int64),
        np.array([c[2] for c in conns], dtype=np.float64),
        enabled=np.array([bool(c[3]) for c in conns]),
        input_ids=input_keys, output_ids=output_keys,
        node_off=node_off, node_id=np.array([int(k) for g in genomes for k in g["nodes"]]),
        node_bias=np.array([n["bias"] for g in genomes for n in g["nodes"].values()]),
        slope=5.0)


class Inputs:
    """The 1000 timed inputs in each form a variant takes."""

    def __init__(self):
        self.arr32, self.lists = npy.workload_inputs()
        self.ez_lists = [[x] for x in self.lists]                              # one row, as lists
        self.ez_arr64 = [np.array([x], dtype=np.float64) for x in self.lists]  # float64[1, 4]
        self.ez_arr32 = [a.reshape(1, 4) for a in self.arr32]                  # float32[1, 4]
        self.net_arr64 = [np.array(x, dtype=np.float64) for x in self.lists]   # float64[4]
        self.X = np.array(self.lists, dtype=np.float64)                        # float64[1000, 4]


def check_ezspark(progs, singles, ref_inputs, ref):
    """ezspark's outputs against the stored ones; its batched, single-program, single-row
    (list and array) and baseline-SIMD outputs must be bit-identical."""
    ez_out = progs.activate(ref_inputs)
    ez_single = np.array([p.activate(ref_inputs)[0] for p in singles])
    ez_net = np.array([[p.network(0).activate(x) for x in ref_inputs] for p in singles])
    ez_net_list = np.array([[p.network(0).activate(list(x)) for x in ref_inputs] for p in singles])
    chk = {"ezspark_batched_max_abs_diff": float(np.abs(ez_out - ref).max()),
           "ezspark_single_max_abs_diff": float(np.abs(ez_single - ref).max()),
           "ezspark_network_max_abs_diff": float(np.abs(ez_net - ref).max())}
    if not (np.array_equal(ez_net, ez_out) and np.array_equal(ez_net_list, ez_out)
            and np.array_equal(ez_single, ez_out)):
        raise SystemExit("ezspark's single-row and batched outputs differ")
    if SIMD_BASELINE:
        _compiled_activate._set_simd(1)
        base = progs.activate(ref_inputs)
        _compiled_activate._set_simd(0)
        if not np.array_equal(base, ez_out):
            raise SystemExit("baseline and AVX2 block code differ")
        chk["ezspark_baseline_simd_bit_identical"] = True
    chk["ezspark_batched_single_network_bit_identical"] = True
    return chk


def multineat_nets(mn, np_nets, ref_inputs, ref):
    """MultiNEAT copies of the neat-python networks with their depths D, and the largest
    output difference from the stored outputs."""
    nets, md = [], 0.0
    for net, r_net in zip(np_nets, ref):
        mnn = mn.net_from_neat(net)
        depth = mn.ff_depth(mnn)
        for x, r in zip(ref_inputs, r_net):
            mnn.Input(x)
            for _ in range(depth):
                mnn.Activate()
            o = mnn.Output()
            md = max(md, abs(o[0] - r[0]), abs(o[1] - r[1]))
        nets.append((mnn, depth))
    return nets, md


def build_size(size, workload, config, inp, mn):
    """Every package's networks of one size, checked against the workload's outputs."""
    h, c = SIZES[size]
    wg = workload["genomes"][size]
    G = len(wg)
    genomes = [npy.grow_genome(config, s, h, c)[0] for s in range(G)]
    np_nets = [FeedForwardNetwork.create(g, config) for g in genomes]
    ref = np.array([w["outputs"] for w in wg])                  # [G, 32, O]
    ref_inputs = np.array(workload["inputs"], dtype=np.float64)
    np_out = np.array([[net.activate(x) for x in workload["inputs"]] for net in np_nets])
    progs = ez_compile(wg, workload["input_keys"], workload["output_keys"])
    singles = [progs.subset([i]) for i in range(G)]
    chk = {"neat-python_regrown_max_abs_diff": float(np.abs(np_out - ref).max()),
           **check_ezspark(progs, singles, ref_inputs, ref), "outputs_checked": int(ref.size)}
    mn_nets = []
    if mn is not None:
        mn_nets, chk["multineat_max_abs_diff"] = multineat_nets(mn, np_nets, workload["inputs"], ref)
    bad = {k: v for k, v in chk.items() if k.endswith("diff") and not v <= TOL}
    if bad:
        raise SystemExit(f"{size}: outputs differ from the workload by more than {TOL}: {bad}")
    shapes = [{"seed": s, "neat_nodes_evaluated": len(np_nets[s].node_evals),
               "neat_links_evaluated": sum(len(e[-1]) for e in np_nets[s].node_evals),
               "ezspark_nodes": int(singles[s].n_nodes[0]),
               "ezspark_links": int(singles[s].in_w.shape[0]),
               "multineat_depth_D": mn_nets[s][1] if mn_nets else None} for s in range(G)]
    nets = {"np": np_nets, "genomes": genomes, "wg": wg, "progs": progs, "singles": singles,
            "mn": mn_nets, "row_genome": np.repeat(np.arange(G, dtype=np.int64), inp.X.shape[0]),
            "X_rows": np.tile(inp.X, (G, 1))}
    H.log(f"{size}: outputs checked ({chk})")
    return nets, chk, shapes


# ---- runners: each returns a function that makes 1000 calls ------------------------------------

def _loop(act, inputs):
    def run():
        for x in inputs:
            act(x)
    return run


def _mn_loop(mnd, inputs):
    net, depth = mnd
    inp, out, act = net.Input, net.Output, net.Activate
    rs = range(depth)

    def run():
        for x in inputs:
            inp(x)
            for _ in rs:
                act()
            out()
    return run


def single_row_variants(inp, with_multineat):
    """name -> f(networks of a size, index) -> runner of 1000 single-row calls."""
    v = {"np_list": lambda d, i: _loop(d["np"][i].activate, inp.lists),
         "np_numpy": lambda d, i: _loop(d["np"][i].activate, inp.arr32),
         "ez_list": lambda d, i: _loop(d["singles"][i].activate, inp.ez_lists),
         "ez_array": lambda d, i: _loop(d["singles"][i].activate, inp.ez_arr64),
         "ez_array32": lambda d, i: _loop(d["singles"][i].activate, inp.ez_arr32),
         "ez_net_list": lambda d, i: _loop(d["singles"][i].network(0).activate, inp.lists),
         "ez_net_array": lambda d, i: _loop(d["singles"][i].network(0).activate, inp.net_arr64),
         "ez_net_array32": lambda d, i: _loop(d["singles"][i].network(0).activate, inp.arr32),
         "ez_net_act": lambda d, i: _loop(d["singles"][i].network(0).act, inp.lists)}
    if with_multineat:
        v["mn_list"] = lambda d, i: _mn_loop(d["mn"][i], inp.lists)
    return v


def _pkg(variant):
    return variant.split("_")[0]


def time_single_rows(d, variants, order, min_time):
    """One repeat of the single-row calls: network by network, packages interleaved per
    network; the rate of each variant aggregated over the networks."""
    names = sorted(variants, key=lambda v: order.index(_pkg(v)))
    tot = {v: [0.0, 0.0] for v in names}
    for i in range(len(d["singles"])):
        for v in names:
            r, _calls, el = H.timed_rate(variants[v](d, i), 1000, min_time)
            tot[v][0] += r * el
            tot[v][1] += el
    return {v: units / secs for v, (units, secs) in tot.items()}


def time_batched(d, X, min_time):
    """One repeat of the population-batched calls."""
    progs, Xr, rg = d["progs"], d["X_rows"], d["row_genome"]
    G = len(d["singles"])
    outb = np.empty((G, X.shape[0], 2))
    outr = np.empty((Xr.shape[0], 2))
    batched = [("ez_batched", lambda: progs.activate(X, out=outb)),
               ("ez_batched_rows", lambda: progs.activate_rows(rg, Xr, out=outr))]
    if SIMD_BASELINE:
        batched.append(("ez_batched_base", lambda: progs.activate(X, out=outb)))
    rates = {}
    for v, fn in batched:
        if v == "ez_batched_base":
            _compiled_activate._set_simd(1)
        try:
            rates[v] = H.timed_rate(fn, G * X.shape[0], min_time)[0]
        finally:
            if SIMD_BASELINE:
                _compiled_activate._set_simd(0)
    return rates


def time_creation(d, config, workload, order, min_time):
    """One repeat of genome -> network creation."""
    wg, genomes = d["wg"], d["genomes"]
    keys = workload["input_keys"], workload["output_keys"]
    makers = {"np_create": lambda: [FeedForwardNetwork.create(g, config) for g in genomes],
              "ez_compile_each": lambda: [ez_compile([w], *keys) for w in wg],
              "ez_compile_batch": lambda: ez_compile(wg, *keys)}
    return {v: H.timed_rate(makers[v], len(wg), min_time)[0]
            for v in sorted(makers, key=lambda v: order.index(_pkg(v)))}


def size_ratios(rates, create, size):
    """Per-repeat ratios of one size."""
    def R(a, b):
        return H.ratio(rates[f"{size}_{a}"], rates[f"{size}_{b}"])

    best_np = [max(a, b) for a, b in zip(rates[f"{size}_np_list"], rates[f"{size}_np_numpy"])]
    # the variants whose output is an array, like neat-python's list
    ez_single = ["ez_list", "ez_array", "ez_array32", "ez_net_list", "ez_net_array", "ez_net_array32"]
    best_ez = [max(vals) for vals in zip(*(rates[f"{size}_{v}"] for v in ez_single))]
    best_batched_api = [max(vals) for vals in zip(*(rates[f"{size}_{v}"] for v in ez_single[:3]))]
    rs = {
        "single_best_ez_over_best_np": H.ratio(best_ez, best_np),
        "single_ez_net_list_over_np_list": R("ez_net_list", "np_list"),
        "single_ez_net_array32_over_np_numpy": R("ez_net_array32", "np_numpy"),
        "single_ez_net_act_over_np_list": R("ez_net_act", "np_list"),
        "single_best_batched_api_over_best_np": H.ratio(best_batched_api, best_np),
        "single_ez_list_over_np_list": R("ez_list", "np_list"),
        "single_ez_array32_over_np_numpy": R("ez_array32", "np_numpy"),
        "single_ez_array_over_np_list": R("ez_array", "np_list"),
        "batched_ez_over_np_list": R("ez_batched", "np_list"),
        "batched_rows_ez_over_np_list": R("ez_batched_rows", "np_list"),
        "create_ez_each_over_np": H.ratio(create[f"{size}_ez_compile_each"], create[f"{size}_np_create"]),
        "create_ez_batch_over_np": H.ratio(create[f"{size}_ez_compile_batch"], create[f"{size}_np_create"]),
    }
    if f"{size}_ez_batched_base" in rates:
        rs["batched_base_simd_ez_over_np_list"] = R("ez_batched_base", "np_list")
    if f"{size}_mn_list" in rates:
        rs["single_best_ez_over_mn_list"] = H.ratio(best_ez, rates[f"{size}_mn_list"])
        rs["batched_ez_over_mn_list"] = R("ez_batched", "mn_list")
        rs["mn_list_over_np_list"] = R("mn_list", "np_list")
    return rs


def targets_of(ratios, rates):
    t = {"batched_activation_vs_neat_ge_100x": {s: ratios[s]["batched_ez_over_np_list"]["median"] for s in SIZES},
         "single_row_activation_vs_neat_ge_10x": {s: ratios[s]["single_best_ez_over_best_np"]["median"]
                                                  for s in SIZES}}
    t["batched_met"] = all(v >= 100 for v in t["batched_activation_vs_neat_ge_100x"].values())
    t["single_row_met"] = all(v >= 10 for v in t["single_row_activation_vs_neat_ge_10x"].values())
    if all(f"{s}_mn_list" in rates for s in SIZES):
        t["beats_multineat_single_and_batched"] = all(
            ratios[s]["single_best_ez_over_mn_list"]["median"] > 1 and ratios[s]["batched_ez_over_mn_list"]["median"] > 1
            for s in SIZES)
    return t


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.25,
                    help="seconds per network per variant per repeat (single-row calls)")
    ap.add_argument("--batch-min-time", type=float, default=0.5,
                    help="seconds per batched variant per size per repeat")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 repeats, short timings")
    ap.add_argument("--profile", action="store_true", help="break one ezspark single-row call down")
    ap.add_argument("--no-multineat", action="store_true")
    ap.add_argument("--write-workload", action="store_true",
                    help=f"regenerate {os.path.relpath(WORKLOAD)} from neat-python and exit")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.min_time, args.batch_min_time = 2, 0.02, 0.05
    return args


def main():
    args = parse_args()
    if args.write_workload:
        with open(WORKLOAD, "w") as f:
            json.dump(npy.make_workload(), f)
        return
    info = H.machine_info()
    with open(WORKLOAD) as f:
        workload = json.load(f)
    config = npy.load_config()
    inp = Inputs()
    mn = None if args.no_multineat else H.import_peer("multi_neat")
    nets, checks, shapes = {}, {}, {}
    for size in SIZES:
        nets[size], checks[size], shapes[size] = build_size(size, workload, config, inp, mn)

    variants = single_row_variants(inp, mn is not None)
    rates, create = {}, {}
    t_start = time.perf_counter()
    for rep in range(args.repeats):
        order = ["np", "ez", "mn"] if rep % 2 == 0 else ["mn", "ez", "np"]
        for size, d in nets.items():
            measured = {**time_single_rows(d, variants, order, args.min_time),
                        **time_batched(d, inp.X, args.batch_min_time)}
            for v, r in measured.items():
                rates.setdefault(f"{size}_{v}", []).append(r)
            for v, r in time_creation(d, config, workload, order, min(0.2, args.batch_min_time)).items():
                create.setdefault(f"{size}_{v}", []).append(r)
        H.log(f"repeat {rep + 1}/{args.repeats} ({time.perf_counter() - t_start:.0f}s): " + ", ".join(
            f"{k}={v[-1]:,.0f}" for k, v in rates.items()))

    res = {k: H.summarize(v, 1) for k, v in rates.items()}
    ratios = {size: size_ratios(rates, create, size) for size in SIZES}
    profile = single_row_breakdown(nets, inp.ez_arr64[0], inp.ez_lists[0], args.quick) if args.profile else None
    targets = targets_of(ratios, rates)
    full = {"bench": "bench_activate", "machine": info, "params": vars(args),
            "unit": "activations per second (one network on one observation = 1), single thread",
            "checks": checks, "shapes": shapes, "rates": res,
            "create_per_sec": {k: H.summarize(v, 1) for k, v in create.items()},
            "ratios_same_repeat": ratios, "targets": targets, "single_row_breakdown_us": profile,
            "raw": {"rates": rates, "create": create},
            "total_wall_s": round(time.perf_counter() - t_start, 1)}
    line = {"bench": "bench_activate", "unit": "activations/s [median,min,max]",
            "rates": {k: H.ms(v, 0) for k, v in res.items()},
            "ratios": {s: {k: H.ms(v, 2) for k, v in r.items()} for s, r in ratios.items()},
            "targets": targets, "max_abs_diff": {s: max(v for k, v in c.items() if k.endswith("diff"))
                                                 for s, c in checks.items()},
            "ezspark": info["ezspark"]["version"], "kernels": info["ezspark"]["kernels"],
            "repeats": args.repeats}
    H.emit("bench_activate" + ("_quick" if args.quick else ""), full, line)


def single_row_breakdown(nets, x64, xlist, quick):
    """Where one ezspark single-row call spends its time (us per call, medians of 5), and ns
    per activation of the batched kernel by rows per call."""
    p = nets["small"]["singles"][0]
    pb = nets["big"]["singles"][0]
    net, netb = p.network(0), pb.network(0)
    x4 = np.array(xlist[0], dtype=np.float64)
    out = np.empty((1, 1, 2))
    X0 = np.zeros((0, 4))
    out0 = np.empty((1, 0, 2))
    n = 2000 if quick else 20000

    def us(fn, n=n):
        vals = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(n):
                fn()
            vals.append(1e6 * (time.perf_counter() - t) / n)
        return round(sorted(vals)[2], 3)

    args_s, args_b = p._args, pb._args
    k = _core.activate_all
    res = {
        "small: network(0).activate(list)": us(lambda: net.activate(xlist[0])),
        "small: network(0).activate(float64[4])": us(lambda: net.activate(x4)),
        "small: network(0).act(list)": us(lambda: net.act(xlist[0])),
        "big: network(0).activate(list)": us(lambda: netb.activate(xlist[0])),
        "big: network(0).act(list)": us(lambda: netb.act(xlist[0])),
        "small: Programs.activate(float64[1,4]) (fast path inside)": us(lambda: p.activate(x64)),
        "small: Programs.activate(list row) (batched path)": us(lambda: p.activate(xlist)),
        "  of which input check/conversion (Programs._rows)": us(lambda: p._rows(x64)),
        "  of which output allocation (np.empty)": us(lambda: np.empty((1, 1, 2))),
        "  of which kernel entry, 0 rows (argument unpacking, 9 typed memoryviews)": us(lambda: k(*args_s, X0, out0)),
        "  of which kernel, 1 row, preallocated out": us(lambda: k(*args_s, x64, out)),
        "big: kernel, 1 row, preallocated out": us(lambda: k(*args_b, x64, out)),
        "reference: empty Python function call": us(lambda: None),
    }
    rng = np.random.default_rng(0)
    for size in ("small", "big"):
        progs = nets[size]["progs"]
        G = len(progs)
        for R in (1, 2, 4, 8, 16, 1000):
            X = rng.uniform(-1, 1, (R, 4))
            o = np.empty((G, R, 2))
            reps = max(20, (200 if quick else 2000) // R)
            t = us(lambda: progs.activate(X, out=o), reps)
            res[f"{size}: batched ns per activation, {R} rows x {G} programs per call"] = \
                round(1e3 * t / (G * R), 1)
    return res


if __name__ == "__main__":
    main()
