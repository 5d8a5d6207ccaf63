"""Numpy twin of ``_activate.pyx``: the same functions, signatures, checks and arithmetic.

The program layout is documented in ``_activate.pxd``.  The twin is vectorised across rows:
it walks node positions k = 0, 1, ... (the k-th computed node of each row's program) and, for
each position, adds the j-th input of every active row at once, j = 0, 1, ...  Each row still
adds its node's inputs one by one in stored order, starting from 0.0, exactly as the compiled
loop does, so sums round identically; only ``exp`` may differ by an ulp (numpy vs libm).
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array as _array

__all__ = ["activate_rows", "activate_all"]


def _check_program(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs):
    """Check lengths as the compiled ``_make_view`` does; return P."""
    _array(node_off, "i", 8, 1, "node_off")
    _array(node_bias, "f", 8, 1, "node_bias")
    _array(in_off, "i", 8, 1, "in_off")
    _array(in_src, "i", 4, 1, "in_src")
    _array(in_w, "f", 8, 1, "in_w")
    _array(out_slot, "i", 4, 1, "out_slot")
    if node_off.shape[0] < 1:
        raise ValueError("node_off needs P + 1 >= 1 entries")
    if n_inputs < 0 or n_outputs < 1:
        raise ValueError(f"need n_inputs >= 0 and n_outputs >= 1, got {n_inputs} and {n_outputs}")
    if in_off.shape[0] != node_bias.shape[0] + 1:
        raise ValueError(f"in_off has {in_off.shape[0]} entries, node_bias {node_bias.shape[0]}: "
                         f"in_off needs one more")
    if in_w.shape[0] != in_src.shape[0]:
        raise ValueError(f"in_src has {in_src.shape[0]} entries but in_w has {in_w.shape[0]}")
    n_programs = node_off.shape[0] - 1
    if out_slot.shape[0] != n_programs * n_outputs:
        raise ValueError(f"out_slot has {out_slot.shape[0]} entries, expected "
                         f"{n_programs} programs x {n_outputs} outputs")
    return n_programs


def _evaluate(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs, slope,
              row_genome, X):
    """Outputs float64[R, O] of program row_genome[r] on X[r]; inputs already checked."""
    n_rows = X.shape[0]
    first = node_off[row_genome]
    n_nodes = node_off[row_genome + 1] - first
    # Sort rows by decreasing program length: the rows that still have a k-th node are then a
    # prefix, n_active[k] long.
    order = np.argsort(-n_nodes, kind="stable")
    first = first[order]
    n_nodes = n_nodes[order]
    widest = int(n_nodes[0])
    n_active = np.searchsorted(-n_nodes, -np.arange(widest), side="left")
    values = np.empty((n_rows, n_inputs + widest))
    values[:, :n_inputs] = X[order]
    # Overflow in exp gives inf and a 0.0 output, as in C; NaN arithmetic stays silent as in C.
    with np.errstate(all="ignore"):
        for k in range(widest):
            m = int(n_active[k])
            node = first[:m] + k
            start = in_off[node]
            degree = in_off[node + 1] - start
            s = np.zeros(m)
            for j in range(int(degree.max())):
                rows = np.flatnonzero(degree > j)
                e = start[rows] + j
                s[rows] = s[rows] + in_w[e] * values[rows, in_src[e]]
            z = slope * (node_bias[node] + s)
            values[:m, n_inputs + k] = 1.0 / (1.0 + np.exp(-z))
    slots = out_slot.reshape(-1, n_outputs)[row_genome[order]]
    outputs = np.empty((n_rows, n_outputs))
    outputs[order] = values[np.arange(n_rows)[:, None], slots]
    return outputs


def activate_rows(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs,
                  slope, row_genome, X, out, act):
    """Run program ``row_genome[r]`` on row ``X[r]`` for every row r.

    Program arrays as in ``_activate.pxd``.  ``row_genome`` int64[R] (values 0 ... P-1),
    ``X`` float64[R, I].  Writes ``out`` float64[R, O] (the outputs) unless it is None and
    ``act`` int64[R] (lowest index of the largest output) unless it is None.  Returns None.
    Raises ValueError when lengths disagree or a ``row_genome`` entry is out of range.
    """
    n_inputs, n_outputs, slope = int(n_inputs), int(n_outputs), float(slope)
    n_programs = _check_program(node_off, node_bias, in_off, in_src, in_w, out_slot,
                                n_inputs, n_outputs)
    _array(row_genome, "i", 8, 1, "row_genome")
    _array(X, "f", 8, 2, "X")
    n_rows = X.shape[0]
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} columns but the programs take {n_inputs} inputs")
    if row_genome.shape[0] != n_rows:
        raise ValueError(f"row_genome has {row_genome.shape[0]} entries but X has {n_rows} rows")
    if out is not None:
        _array(out, "f", 8, 2, "out", writeable=True)
        if out.shape != (n_rows, n_outputs):
            raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), "
                             f"expected ({n_rows}, {n_outputs})")
    if act is not None:
        _array(act, "i", 8, 1, "act", writeable=True)
        if act.shape[0] != n_rows:
            raise ValueError(f"act has {act.shape[0]} entries, expected {n_rows}")
    if n_rows == 0:
        return
    bad = np.flatnonzero((row_genome < 0) | (row_genome >= n_programs))
    if bad.size:
        r = int(bad[0])
        raise ValueError(f"row_genome[{r}] = {int(row_genome[r])} is not a program index "
                         f"(there are {n_programs} programs)")
    outputs = _evaluate(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs,
                        n_outputs, slope, row_genome, X)
    if out is not None:
        out[...] = outputs
    if act is not None:
        act[...] = np.argmax(outputs, axis=1)


def activate_all(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs,
                 slope, X, out):
    """Run every program on every row of ``X`` float64[R, I].

    Program arrays as in ``_activate.pxd``.  Writes ``out`` float64[P, R, O], where
    ``out[g, r]`` holds the outputs of program g on row r.  Returns None.  Raises ValueError
    when lengths disagree.
    """
    n_inputs, n_outputs, slope = int(n_inputs), int(n_outputs), float(slope)
    n_programs = _check_program(node_off, node_bias, in_off, in_src, in_w, out_slot,
                                n_inputs, n_outputs)
    _array(X, "f", 8, 2, "X")
    _array(out, "f", 8, 3, "out", writeable=True)
    n_rows = X.shape[0]
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} columns but the programs take {n_inputs} inputs")
    if out.shape != (n_programs, n_rows, n_outputs):
        raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}, {out.shape[2]}), "
                         f"expected ({n_programs}, {n_rows}, {n_outputs})")
    if n_rows == 0 or n_programs == 0:
        return
    row_genome = np.repeat(np.arange(n_programs, dtype=np.int64), n_rows)
    outputs = _evaluate(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs,
                        n_outputs, slope, row_genome, np.tile(X, (n_programs, 1)))
    out[...] = outputs.reshape(n_programs, n_rows, n_outputs)
