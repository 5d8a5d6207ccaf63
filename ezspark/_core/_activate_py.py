"""Numpy twin of ``_activate.pyx``: the same functions, signatures, checks and arithmetic.

The program layout is documented in ``_activate.pxd``.  The twin is vectorised across rows:
it walks node positions k = 0, 1, ... (the k-th computed node of each row's program) and, for
each position, adds the j-th input of every active row at once, j = 0, 1, ...  Each row still
adds its node's inputs one by one in stored order, starting from 0.0, exactly as the compiled
loop does, so sums round identically.  ``exp`` is ezspark's own, written here with the same
floating-point operations in the same order as ``ez_exp`` in ``_activate.pyx`` (``_exp`` on
arrays, ``exp`` on one float), so the twin's results equal the compiled kernels' bit for bit
(NaN payloads aside).  ``SingleProgram`` is the single-row path in plain Python floats.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_array as _array

__all__ = ["activate_rows", "activate_all", "activate_state", "SingleProgram", "exp",
           "sigmoid"]

# ---- ezspark's exp (the constants and steps of ez_exp in _activate.pyx) ---------------------
_INV_LN2 = 1.4426950408889634
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")     # trailing zero bits: k * _LN2_HI is exact
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_SHIFT = 6755399441055744.0                          # 1.5 * 2^52: t = x / ln2 + _SHIFT rounds
_EXP_HI = 709.79                                     # above: +inf
_EXP_LO = -745.2                                     # below: +0.0
# Taylor coefficients c_n = 1/n!, n = 0 ... 13, combined by Estrin's scheme (_poly)
_C = (1.0, 1.0, 0.5, 0.16666666666666666, 0.041666666666666664, 0.008333333333333333,
      0.001388888888888889, 0.0001984126984126984, 2.48015873015873e-05,
      2.7557319223985893e-06, 2.755731922398589e-07, 2.505210838544172e-08,
      2.08767569878681e-09, 1.6059043836821613e-10)
(_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13) = _C[2:]
_TWO_M64 = 2.0 ** -64


def _poly(r):
    """exp(r) for |r| <= 0.35 (a float or an array): EZ_EXP_POLY of _activate.pyx, operation
    for operation."""
    r2 = r * r
    r4 = r2 * r2
    u0 = (_C5 * r + _C4) * r2 + (_C3 * r + _C2)
    u1 = (_C9 * r + _C8) * r2 + (_C7 * r + _C6)
    u2 = (_C13 * r + _C12) * r2 + (_C11 * r + _C10)
    h = (u2 * r4 + u1) * r4 + u0
    return 1.0 + (r + r2 * h)


def _exp(x: np.ndarray) -> np.ndarray:
    """ezspark's exp of a float64 array, elementwise (the steps of ``ez_exp``)."""
    with np.errstate(all="ignore"):
        t = x * _INV_LN2 + _SHIFT
        kf = t - _SHIFT
        r = (x - kf * _LN2_HI) - kf * _LN2_LO
        p = _poly(r)
        neg = x < 0.0
        # t holds 1.5 * 2^52 + k exactly: its low bits are k (+ 2^51, shifted out below)
        bits = (t.view(np.uint64) + np.where(neg, np.uint64(1023 + 64), np.uint64(1023 - 1))) \
            << np.uint64(52)
        y = (p * bits.view(np.float64)) * np.where(neg, _TWO_M64, 2.0)
        y = np.where(x > _EXP_HI, np.inf, y)
        return np.where(x < _EXP_LO, 0.0, y)


def exp(x: float) -> float:
    """ezspark's exp of one float: the same operations as ``_exp`` and ``ez_exp``."""
    x = float(x)
    if x > _EXP_HI:
        return math.inf
    if x < _EXP_LO:
        return 0.0
    if x != x:
        return x
    t = x * _INV_LN2 + _SHIFT
    kf = t - _SHIFT
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    p = _poly(r)
    if x < 0.0:
        return (p * math.ldexp(1.0, int(kf) + 64)) * _TWO_M64
    return (p * math.ldexp(1.0, int(kf) - 1)) * 2.0


def sigmoid(z: float) -> float:
    """``1 / (1 + exp(-z))`` with ezspark's exp: the value every computed node applies."""
    return 1.0 / (1.0 + exp(-float(z)))


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
            values[:m, n_inputs + k] = 1.0 / (1.0 + _exp(-z))
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
    Raises ValueError when lengths disagree or a ``row_genome`` entry is out of range (then
    nothing is written).
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


def _evaluate_state(node_off, node_bias, in_off, in_src, in_w, in_delay, out_slot, n_inputs,
                    n_outputs, slope, row_genome, X, state):
    """``_evaluate`` with state: a delayed input reads the row's state (its source's value of
    the previous step); the new node values are written to ``state`` at the end."""
    n_rows = X.shape[0]
    first = node_off[row_genome]
    n_nodes = node_off[row_genome + 1] - first
    order = np.argsort(-n_nodes, kind="stable")
    first, n_nodes = first[order], n_nodes[order]
    widest = int(n_nodes[0])
    n_active = np.searchsorted(-n_nodes, -np.arange(widest), side="left")
    prev = state[order]
    values = np.zeros((n_rows, n_inputs + widest))
    values[:, :n_inputs] = X[order]
    with np.errstate(all="ignore"):
        for k in range(widest):
            m = int(n_active[k])
            node = first[:m] + k
            start = in_off[node]
            degree = in_off[node + 1] - start
            s = np.zeros(m)
            for j in range(int(degree.max(initial=0))):
                rows = np.flatnonzero(degree > j)
                e = start[rows] + j
                src = in_src[e].astype(np.int64)
                delayed = in_delay[e] != 0
                v = np.where(delayed, prev[rows, np.where(delayed, src - n_inputs, 0)],
                             values[rows, np.where(delayed, 0, src)])
                s[rows] = s[rows] + in_w[e] * v
            z = slope * (node_bias[node] + s)
            values[:m, n_inputs + k] = 1.0 / (1.0 + _exp(-z))
    for k in range(widest):
        m = int(n_active[k])
        state[order[:m], k] = values[:m, n_inputs + k]
    slots = out_slot.reshape(-1, n_outputs)[row_genome[order]]
    outputs = np.empty((n_rows, n_outputs))
    outputs[order] = values[np.arange(n_rows)[:, None], slots]
    return outputs


def _check_state_args(node_off, in_src, in_delay, n_inputs, n_outputs, row_genome, X, state,
                      out, act) -> None:
    """The shapes of ``activate_state``, as the compiled ``_check_state_args`` checks them."""
    _array(in_delay, "bu", 1, 1, "in_delay")
    _array(row_genome, "i", 8, 1, "row_genome")
    _array(X, "f", 8, 2, "X")
    _array(state, "f", 8, 2, "state", writeable=True)
    n_rows, n_programs = X.shape[0], node_off.shape[0] - 1
    widest = int(np.diff(node_off).max(initial=0))
    if in_delay.shape[0] != in_src.shape[0]:
        raise ValueError(f"in_delay has {in_delay.shape[0]} entries but in_src has "
                         f"{in_src.shape[0]}")
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} columns but the programs take {n_inputs} inputs")
    if row_genome.shape[0] != n_rows:
        raise ValueError(f"row_genome has {row_genome.shape[0]} entries but X has {n_rows} rows")
    if state.shape[0] != n_rows or state.shape[1] < widest:
        raise ValueError(f"state has shape ({state.shape[0]}, {state.shape[1]}), expected "
                         f"({n_rows}, >= {widest}): one row per row of X, a column per "
                         f"computed node of the widest program")
    if out is not None:
        _array(out, "f", 8, 2, "out", writeable=True)
        if out.shape != (n_rows, n_outputs):
            raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), "
                             f"expected ({n_rows}, {n_outputs})")
    if act is not None:
        _array(act, "i", 8, 1, "act", writeable=True)
        if act.shape[0] != n_rows:
            raise ValueError(f"act has {act.shape[0]} entries, expected {n_rows}")
    bad = np.flatnonzero((row_genome < 0) | (row_genome >= n_programs))
    if bad.size:
        r = int(bad[0])
        raise ValueError(f"row_genome[{r}] = {int(row_genome[r])} is not a program index "
                         f"(there are {n_programs} programs)")


def activate_state(node_off, node_bias, in_off, in_src, in_w, in_delay, out_slot, n_inputs,
                   n_outputs, slope, row_genome, X, state, out, act):
    """One step of recurrent programs: program ``row_genome[r]`` on row ``X[r]`` with the
    state ``state[r]``, for every row r (see ``_activate.pyx``).

    ``in_delay`` uint8[E] marks the delayed inputs, which read ``state[r, in_src - I]``;
    ``state`` float64[R, S] (S at least the widest program's node count) gets the new node
    values.  Writes ``out`` and ``act`` as ``activate_rows``.  Raises ValueError (nothing
    written) on bad shapes.
    """
    n_inputs, n_outputs, slope = int(n_inputs), int(n_outputs), float(slope)
    _check_program(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs)
    _check_state_args(node_off, in_src, in_delay, n_inputs, n_outputs, row_genome, X, state,
                      out, act)
    if X.shape[0] == 0:
        return
    outputs = _evaluate_state(node_off, node_bias, in_off, in_src, in_w, in_delay, out_slot,
                              n_inputs, n_outputs, slope, row_genome, X, state)
    if out is not None:
        out[...] = outputs
    if act is not None:
        act[...] = np.argmax(outputs, axis=1)


class SingleProgram:
    """One program of a batch, kept for single-row calls (the twin of the compiled class).

    ``SingleProgram(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs,
    slope, g)`` keeps program g of the batch.  ``activate(x)`` returns its outputs float64[O]
    on one observation x (a list or tuple of I numbers, or an array of I values of any real
    dtype and shape); ``act(x)`` returns the action (lowest index of the largest output) as an
    int.  Plain Python floats, node by node: the arithmetic of ``_activate.pxd``.
    """

    __slots__ = ("n_inputs", "n_outputs", "_args", "_slope", "_nodes", "_slots")

    def __init__(self, node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs,
                 n_outputs, slope, g=0):
        n_inputs, n_outputs, slope, g = int(n_inputs), int(n_outputs), float(slope), int(g)
        n_programs = _check_program(node_off, node_bias, in_off, in_src, in_w, out_slot,
                                    n_inputs, n_outputs)
        if g < 0 or g >= n_programs:
            raise ValueError(f"program {g} is not a program index (there are "
                             f"{n_programs} programs)")
        self._args = (node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs,
                      n_outputs, slope, g)
        self.n_inputs, self.n_outputs, self._slope = n_inputs, n_outputs, slope
        first, last = int(node_off[g]), int(node_off[g + 1])
        self._nodes = [
            (float(node_bias[i]),
             [(float(in_w[e]), int(in_src[e])) for e in range(int(in_off[i]), int(in_off[i + 1]))])
            for i in range(first, last)]
        self._slots = [int(s) for s in out_slot[g * n_outputs:(g + 1) * n_outputs]]

    def __reduce__(self):
        return (SingleProgram, self._args)

    def __repr__(self) -> str:
        return (f"SingleProgram({self.n_inputs} inputs, {self.n_outputs} outputs, "
                f"{len(self._nodes)} nodes, {sum(len(e) for _, e in self._nodes)} connections)")

    def _values(self, x) -> list:
        if type(x) is list or type(x) is tuple:
            if len(x) != self.n_inputs:
                raise ValueError(f"observation has {len(x)} values but the network has "
                                 f"{self.n_inputs} inputs")
            values = [float(v) for v in x]
        else:
            a = np.asarray(x)
            if a.dtype.kind not in "fiub":
                raise ValueError(f"observation must hold real numbers, got dtype {a.dtype}")
            if a.size != self.n_inputs:
                raise ValueError(f"observation has {a.size} values but the network has "
                                 f"{self.n_inputs} inputs")
            values = a.astype(np.float64).reshape(-1).tolist()
        slope = self._slope
        for bias, edges in self._nodes:
            s = 0.0
            for w, src in edges:
                s = s + w * values[src]
            values.append(sigmoid(slope * (bias + s)))
        return [values[j] for j in self._slots]

    def activate(self, x, out=None) -> np.ndarray:
        """Outputs float64[O] of this program on one observation ``x`` (I values).

        ``out`` (a writeable C-contiguous float64 array of O entries) is written and returned
        instead of a new array.
        """
        outputs = self._values(x)
        if out is None:
            return np.array(outputs, dtype=np.float64)
        if not (isinstance(out, np.ndarray) and out.dtype == np.float64 and out.flags.c_contiguous
                and out.flags.writeable and out.size == self.n_outputs):
            raise ValueError(f"out must be a writeable C-contiguous float64 array of "
                             f"{self.n_outputs} entries")
        out.reshape(-1)[:] = outputs
        return out

    def act(self, x) -> int:
        """Action of this program on one observation ``x``: the lowest index of the largest
        output, an int."""
        return int(np.argmax(self._values(x)))
