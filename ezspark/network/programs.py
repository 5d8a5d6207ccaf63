"""Genomes -> flat network programs, and batched activation through the ``_core`` kernels.

A ``Programs`` value holds the networks of P genomes as flat arrays concatenated CSR style
(layout and arithmetic in ``ezspark/_core/_activate.pxd``); one kernel call activates every
(genome, observation row) pair.  Compilation is vectorised over the whole population:

1. keep the enabled connections, in their given (summation) order;
2. give each (genome, node) pair a global index, outputs always included;
3. prune: keep the nodes from which an output can be reached, iterating to a fixed point;
4. order the kept nodes of each genome by depth (longest path from a node without computed
   sources), so every source precedes its target; ties by node id;
5. group each node's incoming connections (stable, so summation order survives) into the CSR.

Steps 3 and 4 take one vectorised pass per layer of the deepest network.

Recurrent compilation (``recurrent=True``, docs/algorithm.md 3.4) marks, after step 2, every
enabled connection that closes a cycle among the connections of its network accepted before
it (in the given order, a self-loop included) as **delayed**; step 4 orders the nodes by the
undelayed connections only, and ``in_delay`` records the delayed inputs, which read their
source's value of the previous step (the per-row state of ``RowStates``).  A network without
cycles has no delayed input and compiles exactly as without ``recurrent``.
"""
from __future__ import annotations

import functools

from typing import NamedTuple, Sequence

import attrs
import numpy as np

from ezspark import _core
from ezspark.engine.genome import Genome

__all__ = ["Programs", "RowStates", "compile_programs", "compile_csr", "compile_program_arrays",
           "delayed_genes"]

EZSPARK_SLOPE = 4.9          # sigma(x) = 1 / (1 + exp(-4.9 x)), docs/algorithm.md 3.4
EZSPARK_OUTPUT_BIAS = 1.0    # output j computes sigma(s + 1)
EZSPARK_HIDDEN_BIAS = 0.0

_INT32_MAX = np.iinfo(np.int32).max


def _frozen_array(dtype):
    def convert(value) -> np.ndarray:
        a = np.array(value, dtype=dtype, order="C", copy=True)
        a.setflags(write=False)
        return a
    return convert


def _array_field(dtype):
    return attrs.field(converter=_frozen_array(dtype), eq=attrs.cmp_using(eq=np.array_equal),
                       repr=False)


@attrs.frozen
class Programs:
    """Network programs of P genomes, concatenated; arrays are read-only.

    Fields (the names used in memory, on the wire and on disk; ``_activate.pxd`` has the
    arithmetic):

    - ``n_inputs`` I, ``n_outputs`` O, ``slope``: shared by all programs.
    - ``node_off`` int64[P+1]: program g owns computed nodes ``node_off[g] ... node_off[g+1]-1``;
      local value slot of computed node i is ``I + i - node_off[g]`` (slots 0 ... I-1 hold the
      observation).
    - ``node_id`` int32[Nn]: the genome node id of each computed node (not used by kernels).
    - ``node_bias`` float64[Nn]: each computed node outputs
      ``1 / (1 + exp(-slope * (node_bias + s)))``.
    - ``in_off`` int64[Nn+1], ``in_src`` int32[E], ``in_w`` float64[E]: CSR of each computed
      node's inputs in summation order; ``in_src`` is a local value slot below the node's own.
    - ``out_slot`` int32[P*O]: local value slot of output j of program g at ``g*O + j``.
    - ``in_delay`` uint8[E] (default: all 0): 1 marks a delayed input of a recurrent program,
      which reads its source's value of the previous step (``in_src`` is then the slot of any
      computed node of the same program); ``recurrent`` is True when any input is delayed.

    The constructor checks the structure (offsets, slots), so arrays received from elsewhere
    cannot make a kernel read out of bounds.

    Programs with delayed inputs keep state between steps in a ``RowStates``
    (``with_state(rows)``), one row per environment; their stateless calls (``activate``,
    ``activate_rows``, ``act_rows``) compute one step from the zero state.
    """

    n_inputs: int = attrs.field(converter=int)
    n_outputs: int = attrs.field(converter=int)
    slope: float = attrs.field(converter=float)
    node_off: np.ndarray = _array_field(np.int64)
    node_id: np.ndarray = _array_field(np.int32)
    node_bias: np.ndarray = _array_field(np.float64)
    in_off: np.ndarray = _array_field(np.int64)
    in_src: np.ndarray = _array_field(np.int32)
    in_w: np.ndarray = _array_field(np.float64)
    out_slot: np.ndarray = _array_field(np.int32)
    in_delay: np.ndarray = attrs.field(default=None, converter=lambda v: _frozen_delay(v),
                                       eq=attrs.cmp_using(eq=np.array_equal), repr=False)
    _args: tuple = attrs.field(init=False, eq=False, repr=False)
    _singles: dict = attrs.field(init=False, eq=False, repr=False)
    _recurrent: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.in_delay is None:
            object.__setattr__(self, "in_delay", _frozen_delay(np.zeros(self.in_src.shape[0])))
        _check_structure(self)
        object.__setattr__(self, "_args", (
            self.node_off, self.node_bias, self.in_off, self.in_src, self.in_w, self.out_slot,
            self.n_inputs, self.n_outputs, self.slope))
        object.__setattr__(self, "_singles", {})
        object.__setattr__(self, "_recurrent", bool(self.in_delay.any()))

    def __reduce__(self):
        # Rebuild through the constructor: arrays come back read-only and checked.
        return (Programs, tuple(getattr(self, f.name) for f in attrs.fields(Programs) if f.init))

    def __len__(self) -> int:
        return int(self.node_off.shape[0]) - 1

    def __repr__(self) -> str:
        return (f"Programs({len(self)} programs, {self.n_inputs} inputs, {self.n_outputs} "
                f"outputs, {self.node_bias.shape[0]} nodes, {self.in_w.shape[0]} connections, "
                f"slope {self.slope:g})")

    @property
    def n_nodes(self) -> np.ndarray:
        """Computed nodes per program, int64[P]."""
        return np.diff(self.node_off)

    @property
    def recurrent(self) -> bool:
        """Some program has a delayed input: results depend on the state of earlier steps."""
        return self._recurrent

    def with_state(self, rows: int) -> "RowStates":
        """These programs with the state of ``rows`` rows (environments), all zero: what one
        episode per row needs (docs/algorithm.md 3.4)."""
        return RowStates(self, rows)

    def _stateless(self, row_genome, X, out, act, kernels) -> None:
        """One step from the zero state (recurrent programs' stateless calls)."""
        state = np.zeros((X.shape[0], int(self.n_nodes.max(initial=0))))
        (kernels or _core).activate_state(*self._state_args, row_genome, X, state, out, act)

    @property
    def _state_args(self) -> tuple:
        return (self.node_off, self.node_bias, self.in_off, self.in_src, self.in_w,
                self.in_delay, self.out_slot, self.n_inputs, self.n_outputs, self.slope)

    # ---- activation -------------------------------------------------------------------

    def _rows(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            shape = "x".join(map(str, X.shape)) or "scalar"
            raise ValueError(f"X must have shape (rows, {self.n_inputs}) for {self.n_inputs} "
                             f"inputs, got shape {shape}")
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")
        return np.ascontiguousarray(X, dtype=np.float64)

    def _row_genome(self, row_genome, n_rows: int) -> np.ndarray:
        row_genome = np.asarray(row_genome)
        if row_genome.dtype.kind not in "iu":
            raise ValueError(f"row_genome must hold integers, got dtype {row_genome.dtype}")
        if row_genome.shape != (n_rows,):
            raise ValueError(f"row_genome must have one entry per row of X ({n_rows}), "
                             f"got shape {row_genome.shape}")
        return np.ascontiguousarray(row_genome, dtype=np.int64)

    @staticmethod
    def _out(out, shape: tuple, dtype, name: str) -> np.ndarray:
        if out is None:
            return np.empty(shape, dtype=dtype)
        if not isinstance(out, np.ndarray) or out.dtype != dtype or out.shape != shape \
                or not out.flags.c_contiguous or not out.flags.writeable:
            got = (f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray)
                   else type(out).__name__)
            raise ValueError(f"{name} must be a writeable C-contiguous {np.dtype(dtype)} array "
                             f"of shape {shape}, got {got}")
        return out

    def network(self, g: int = 0, *, kernels=None):
        """Program g alone, ready for single-row calls: a ``SingleProgram`` of the kernel set.

        ``net.activate(x)`` returns the outputs float64[O] of one observation x (a list,
        tuple or array of I values), ``net.act(x)`` the action as an int; both equal
        ``activate_rows`` on that row bit for bit, with far less overhead per call.  Built once
        per program and kept (``kernels`` given: built anew from that set).  Recurrent
        programs have none (ValueError): their state lives in ``with_state``.
        """
        if self.recurrent:
            raise ValueError("recurrent programs keep state between steps: use "
                             "with_state(rows) instead of a single-row network")
        if kernels is None:
            net = self._singles.get(g)
            if net is not None:
                return net
        g = int(g)
        n = len(self)
        if not -n <= g < n:
            raise ValueError(f"program {g} is not a program index (there are {n} programs)")
        g %= n
        if kernels is not None:
            return kernels.SingleProgram(*self._args, g)
        net = self._singles.get(g)
        if net is None:
            net = self._singles[g] = _single_program_class()(*self._args, g)
        return net

    def _single_row(self, X, kernels) -> bool:
        """The one-program fast path applies to X: a float array of shape (1, I)."""
        return (type(X) is np.ndarray and self.node_off.shape[0] == 2
                and X.shape == (1, self.n_inputs) and X.dtype.kind == "f" and not self.recurrent
                and (kernels is None or hasattr(kernels, "SingleProgram")))

    def activate(self, X, *, out=None, kernels=None) -> np.ndarray:
        """Outputs of every program on every row of ``X`` (rows, I): float64[P, rows, O].

        One kernel call (one program and one row: the ``network(0)`` fast path, same bits;
        likewise in ``activate_rows`` and ``act_rows``).
        ``out`` (float64[P, rows, O], C-contiguous) is written and returned instead of a new
        array.  ``kernels`` (from ``ezspark._core.load``) overrides the process-wide kernel set.
        """
        single = self._single_row(X, kernels)
        if not single:
            X = self._rows(X)
            single = self._single_row(X, kernels)
        if single:
            out = (np.empty((1, 1, self.n_outputs)) if out is None
                   else self._out(out, (1, 1, self.n_outputs), np.float64, "out"))
            return self.network(0, kernels=kernels).activate(X, out)
        out = self._out(out, (len(self), X.shape[0], self.n_outputs), np.float64, "out")
        if self.recurrent:
            rows = np.repeat(np.arange(len(self), dtype=np.int64), X.shape[0])
            flat = out.reshape(-1, self.n_outputs)
            self._stateless(rows, np.tile(X, (len(self), 1)), flat, None, kernels)
            return out
        (kernels or _core).activate_all(*self._args, X, out)
        return out

    def activate_rows(self, row_genome, X, *, out=None, kernels=None) -> np.ndarray:
        """Outputs of program ``row_genome[r]`` on row ``X[r]``: float64[rows, O].

        One kernel call; ``row_genome`` holds integers in 0 ... P-1.  ``out`` (float64[rows, O])
        is written and returned instead of a new array.
        """
        X = self._rows(X)
        row_genome = self._row_genome(row_genome, X.shape[0])
        out = self._out(out, (X.shape[0], self.n_outputs), np.float64, "out")
        if self._single_row(X, kernels) and row_genome[0] == 0:
            self.network(0, kernels=kernels).activate(X, out)
        elif self.recurrent:
            self._stateless(row_genome, X, out, None, kernels)
        else:
            (kernels or _core).activate_rows(*self._args, row_genome, X, out, None)
        return out

    def act_rows(self, row_genome, X, *, out=None, kernels=None) -> np.ndarray:
        """Action of program ``row_genome[r]`` on row ``X[r]``: int64[rows].

        The action is the lowest index of the largest output (docs/algorithm.md 3.4), computed in
        the same kernel call.  ``out`` (int64[rows]) is written and returned instead of a new
        array.
        """
        X = self._rows(X)
        row_genome = self._row_genome(row_genome, X.shape[0])
        out = self._out(out, (X.shape[0],), np.int64, "out")
        if self._single_row(X, kernels) and row_genome[0] == 0:
            out[0] = self.network(0, kernels=kernels).act(X)
        elif self.recurrent:
            self._stateless(row_genome, X, None, out, kernels)
        else:
            (kernels or _core).activate_rows(*self._args, row_genome, X, None, out)
        return out

    # ---- selection and concatenation --------------------------------------------------

    def subset(self, indices) -> "Programs":
        """The programs at ``indices`` (integers, repeats allowed), in that order."""
        indices = np.asarray(indices)
        if indices.size == 0:
            indices = indices.astype(np.int64).reshape(0)
        if indices.dtype.kind not in "iu" or indices.ndim != 1:
            raise ValueError("indices must be a 1-D array of integers")
        n = len(self)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise ValueError(f"indices must lie in -{n} ... {n - 1} for {n} programs")
        indices = indices.astype(np.int64) % max(n, 1)
        nodes = _gather_ranges(self.node_off, indices)
        node_off = _offsets(np.diff(self.node_off)[indices])
        edges = _gather_ranges(self.in_off, nodes)
        in_off = _offsets(np.diff(self.in_off)[nodes])
        O = self.n_outputs
        out_slot = self.out_slot.reshape(-1, O)[indices].reshape(-1)
        return Programs(self.n_inputs, O, self.slope, node_off, self.node_id[nodes],
                        self.node_bias[nodes], in_off, self.in_src[edges], self.in_w[edges],
                        out_slot, self.in_delay[edges])

    @classmethod
    def concat(cls, parts: Sequence["Programs"]) -> "Programs":
        """One ``Programs`` holding the programs of ``parts`` in order (same I, O, slope)."""
        if not parts:
            raise ValueError("concat needs at least one Programs")
        first = parts[0]
        for p in parts[1:]:
            if (p.n_inputs, p.n_outputs, p.slope) != (first.n_inputs, first.n_outputs,
                                                      first.slope):
                raise ValueError("cannot concatenate programs with different n_inputs, "
                                 "n_outputs or slope")
        node_off = _offsets(np.concatenate([np.diff(p.node_off) for p in parts]))
        in_off = _offsets(np.concatenate([np.diff(p.in_off) for p in parts]))
        return cls(first.n_inputs, first.n_outputs, first.slope, node_off,
                   np.concatenate([p.node_id for p in parts]),
                   np.concatenate([p.node_bias for p in parts]), in_off,
                   np.concatenate([p.in_src for p in parts]),
                   np.concatenate([p.in_w for p in parts]),
                   np.concatenate([p.out_slot for p in parts]),
                   np.concatenate([p.in_delay for p in parts]))


def _frozen_delay(value) -> np.ndarray | None:
    if value is None:
        return None
    return _frozen_array(np.uint8)(np.asarray(value) != 0)


class RowStates:
    """Programs with one state row per environment row: what a recurrent network remembers
    (docs/algorithm.md 3.4).  ``state[r, k]`` is the value that computed node k of the program
    row r runs had at row r's previous step; zero after ``reset``.

    ``act_rows`` and ``activate_rows`` take the arguments of ``Programs``' and advance the
    state of rows 0 … len(X) - 1 by one step (one kernel call); ``reset(rows)`` zeroes rows
    (a new episode), ``swap(a, b)`` exchanges two rows' state (when the rows move).
    Feed-forward programs (no delayed input) keep no state: every call goes to ``Programs``
    and ``reset``/``swap`` do nothing, so an evaluator can hold a ``RowStates`` whatever it
    plays.  ``len()`` is the number of programs.
    """

    __slots__ = ("programs", "state")

    def __init__(self, programs: Programs, rows: int):
        self.programs = programs
        width = int(programs.n_nodes.max(initial=0)) if programs.recurrent else 0
        self.state = np.zeros((int(rows), width))

    def __len__(self) -> int:
        return len(self.programs)

    def reset(self, rows=None) -> None:
        """Zero the state of ``rows`` (an index, a sequence of them, or None: every row)."""
        if self.state.shape[1]:
            self.state[slice(None) if rows is None else rows] = 0.0

    def swap(self, a: int, b: int) -> None:
        """Exchange the state of rows a and b."""
        if self.state.shape[1] and a != b:
            self.state[[a, b]] = self.state[[b, a]]

    def unchecked(self):
        """For feed-forward programs, ``f(row_genome, X, out, act)``: the activation kernel
        of ``activate_rows``/``act_rows`` bound to these programs, with none of their checks
        (for a loop that owns its arrays: int64 row_genome, C-contiguous float64 X, out and
        act C-contiguous or None; per step the checks cost as much as a small batch);
        None for recurrent programs."""
        if self.state.shape[1]:
            return None
        return functools.partial(_core.activate_rows, *self.programs._args)

    def _step(self, row_genome, X, out, act, kernels) -> None:
        n = X.shape[0]
        if n > self.state.shape[0]:
            raise ValueError(f"X has {n} rows but the state only {self.state.shape[0]}")
        (kernels or _core).activate_state(*self.programs._state_args, row_genome, X,
                                          self.state[:n], out, act)

    def activate_rows(self, row_genome, X, *, out=None, kernels=None) -> np.ndarray:
        """``Programs.activate_rows`` with the state of rows 0 … len(X) - 1 (one step)."""
        p = self.programs
        if not self.state.shape[1]:
            return p.activate_rows(row_genome, X, out=out, kernels=kernels)
        X = p._rows(X)
        row_genome = p._row_genome(row_genome, X.shape[0])
        out = p._out(out, (X.shape[0], p.n_outputs), np.float64, "out")
        self._step(row_genome, X, out, None, kernels)
        return out

    def act_rows(self, row_genome, X, *, out=None, kernels=None) -> np.ndarray:
        """``Programs.act_rows`` with the state of rows 0 … len(X) - 1 (one step)."""
        p = self.programs
        if not self.state.shape[1]:
            return p.act_rows(row_genome, X, out=out, kernels=kernels)
        X = p._rows(X)
        row_genome = p._row_genome(row_genome, X.shape[0])
        out = p._out(out, (X.shape[0],), np.int64, "out")
        self._step(row_genome, X, None, out, kernels)
        return out


_SINGLE_PROGRAM = None


def _single_program_class():
    """``SingleProgram`` of the process-wide kernel set (compiled, or the numpy twin)."""
    global _SINGLE_PROGRAM
    if _SINGLE_PROGRAM is None:
        _SINGLE_PROGRAM = _core.load(pure=not _core.COMPILED).SingleProgram
    return _SINGLE_PROGRAM


def _offsets(counts: np.ndarray) -> np.ndarray:
    off = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    return off


def _gather_ranges(off: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(off[w], off[w+1])`` for w in ``which``."""
    counts = off[which + 1] - off[which]
    total = int(counts.sum())
    starts = np.repeat(off[which] - _offsets(counts)[:-1], counts)
    return starts + np.arange(total, dtype=np.int64)


def _check_structure(p: Programs) -> None:
    """ValueError unless the arrays form valid programs (what the kernels assume)."""
    I, O = p.n_inputs, p.n_outputs
    if I < 0 or O < 1:
        raise ValueError(f"need n_inputs >= 0 and n_outputs >= 1, got {I} and {O}")
    if not np.isfinite(p.slope):
        raise ValueError(f"slope must be finite, got {p.slope}")
    for name in ("node_off", "node_id", "node_bias", "in_off", "in_src", "in_w", "out_slot"):
        if getattr(p, name).ndim != 1:
            raise ValueError(f"{name} must be 1-D")
    for name, off, n in (("node_off", p.node_off, p.node_bias.shape[0]),
                         ("in_off", p.in_off, p.in_src.shape[0])):
        if off.shape[0] < 1 or off[0] != 0 or off[-1] != n or (np.diff(off) < 0).any():
            raise ValueError(f"{name} must start at 0, never decrease and end at {n}")
    Nn, P = p.node_bias.shape[0], p.node_off.shape[0] - 1
    if p.node_id.shape[0] != Nn or p.in_off.shape[0] != Nn + 1:
        raise ValueError(f"node_id needs {Nn} entries and in_off {Nn + 1}, got "
                         f"{p.node_id.shape[0]} and {p.in_off.shape[0]}")
    if p.in_w.shape[0] != p.in_src.shape[0]:
        raise ValueError(f"in_src and in_w differ in length ({p.in_src.shape[0]} and "
                         f"{p.in_w.shape[0]})")
    if p.out_slot.shape[0] != P * O:
        raise ValueError(f"out_slot needs {P} x {O} entries, got {p.out_slot.shape[0]}")
    # slot of each computed node, and the slot limit of each program
    genome_of_node = np.repeat(np.arange(P), np.diff(p.node_off))
    node_slot = I + np.arange(Nn) - p.node_off[genome_of_node]
    node_of_edge = np.repeat(np.arange(Nn), np.diff(p.in_off))
    if p.in_delay.shape != p.in_src.shape:
        raise ValueError(f"in_delay needs {p.in_src.shape[0]} entries, got "
                         f"{p.in_delay.shape[0]}")
    delayed = p.in_delay != 0
    slot_end = (I + np.diff(p.node_off))[genome_of_node[node_of_edge]]
    if ((p.in_src < 0) | (~delayed & (p.in_src >= node_slot[node_of_edge]))).any():
        raise ValueError("in_src must name a slot below its node's own (topological order)")
    if (delayed & ((p.in_src < I) | (p.in_src >= slot_end))).any():
        raise ValueError("a delayed in_src must name a computed node of its own program")
    limit = np.repeat(I + np.diff(p.node_off), O)
    if ((p.out_slot < 0) | (p.out_slot >= limit)).any():
        raise ValueError("out_slot must name a value slot of its own program")


# ---- compilation ---------------------------------------------------------------------------

def compile_programs(genomes: Sequence[Genome], n_inputs: int, n_outputs: int, *,
                     hidden_bias: float = EZSPARK_HIDDEN_BIAS,
                     output_bias: float = EZSPARK_OUTPUT_BIAS,
                     slope: float = EZSPARK_SLOPE, recurrent: bool = False,
                     bias_input: bool = False) -> Programs:
    """Programs of EzSpark genomes (docs/algorithm.md 3.4), one per genome, in order.

    Node ids: inputs 1 ... I, outputs I+1 ... I+O, hidden above.  Each node sums its enabled
    genes in increasing innovation order (the genome's gene order).  ``recurrent``: genomes
    may have cycles (the extension key; delayed genes as in the module docstring).
    ``bias_input``: input I is the bias (the extension key), so the programs read rows of
    I - 1 observation values (``compile_csr``).
    """
    counts = np.fromiter((len(g) for g in genomes), dtype=np.int64, count=len(genomes))
    cat = (lambda name: np.concatenate([getattr(g, name) for g in genomes])) if len(genomes) \
        else (lambda name: np.zeros(0))
    return compile_csr(_offsets(counts), cat("src"), cat("dst"), cat("weight"), cat("enabled"),
                       n_inputs, n_outputs, hidden_bias=hidden_bias, output_bias=output_bias,
                       slope=slope, recurrent=recurrent, bias_input=bias_input)


def compile_csr(conn_off, src, dst, weight, enabled, n_inputs: int, n_outputs: int, *,
                hidden_bias: float = EZSPARK_HIDDEN_BIAS,
                output_bias: float = EZSPARK_OUTPUT_BIAS,
                slope: float = EZSPARK_SLOPE, recurrent: bool = False,
                bias_input: bool = False) -> Programs:
    """Programs of a population stored as CSR gene columns (as ``ezspark.engine.population``).

    Genome g is genes ``conn_off[g] ... conn_off[g+1]-1`` of ``src``, ``dst``, ``weight``,
    ``enabled``, sorted by innovation within each genome; ids, ``recurrent`` and
    ``bias_input`` as in ``compile_programs``.

    With ``bias_input`` the last input, node I, is not read from the observation row: it is
    compiled as a node without incoming genes, with ``hidden_bias`` (EzSpark's 0), so its
    value is 1 / (1 + exp(-0)) = 0.5 exactly, at every step (docs/algorithm.md 3.4).
    """
    I, O = int(n_inputs), int(n_outputs)
    if I < 1 + bool(bias_input) or O < 1:
        raise ValueError(f"need n_inputs >= {1 + bool(bias_input)} and n_outputs >= 1, got "
                         f"{I} and {O}")
    src, dst = np.asarray(src), np.asarray(dst)
    if src.size and min(src.min(), dst.min()) < 1:
        raise ValueError("EzSpark node ids start at 1")
    if dst.size and dst.min() <= I:
        raise ValueError(f"a gene targets input node {int(dst.min())} (inputs are 1 ... {I})")
    observed = I - 1 if bias_input else I
    return compile_program_arrays(
        conn_off, src, dst, weight, enabled=enabled,
        input_ids=np.arange(1, observed + 1), output_ids=np.arange(I + 1, I + O + 1),
        hidden_bias=hidden_bias, output_bias=output_bias, slope=slope, recurrent=recurrent)


def compile_program_arrays(conn_off, src, dst, weight, *, input_ids, output_ids,
                           enabled=None, node_off=None, node_id=None, node_bias=None,
                           hidden_bias: float = 0.0, output_bias: float = 0.0,
                           slope: float = 1.0, recurrent: bool = False) -> Programs:
    """Programs of P networks given as connection arrays with arbitrary node ids.

    This is the general path (EzSpark's is ``compile_programs``); it also expresses networks
    of other NEAT libraries, e.g. neat-python's feed-forward nets (``slope=5``, per-node biases,
    inputs -1 ... -I, outputs 0 ... O-1).

    - ``conn_off`` int[P+1]: network g has connections ``conn_off[g] ... conn_off[g+1]-1``.
    - ``src``, ``dst`` int[C] node ids, ``weight`` float[C]; ``enabled`` bool[C] (default: all).
      A node sums its enabled incoming connections in the order given here.
    - ``input_ids`` int[I]: value slot a holds observation column a; shared by all networks.
    - ``output_ids`` int[O]: the outputs, in action order; always computed, even unconnected.
    - Biases: ``hidden_bias`` for every non-output node and ``output_bias`` for outputs,
      unless ``node_off`` int[P+1], ``node_id`` int[N], ``node_bias`` float[N] (a CSR per
      network) give a node its own bias.
    - Each computed node outputs ``1 / (1 + exp(-slope * (bias + sum)))``.

    - ``recurrent``: cycles are allowed; a connection that closes one is delayed (module
      docstring).

    Raises ValueError for an input used as a target, a cycle among enabled connections
    (without ``recurrent``), overlapping input and output ids, or inconsistent lengths.  The
    steps are those of the module docstring, one function each.
    """
    conn_off, src, dst, weight, input_ids, output_ids = _checked_arrays(
        conn_off, src, dst, weight, input_ids, output_ids)
    gene_genome, src, dst, weight = _enabled_connections(conn_off, src, dst, weight, enabled)  # 1
    graph = _node_graph(conn_off.shape[0] - 1, gene_genome, src, dst, input_ids, output_ids)  # 2
    delayed = _delayed(graph) if recurrent else np.zeros(weight.shape[0], dtype=bool)
    kept, i_src, i_dst = _prune(graph)                                                       # 3
    ahead = ~delayed[~graph.from_input]
    depth = _depths(graph, kept, i_src[ahead], i_dst[ahead])                                 # 4
    order, new_index, node_off_out, local = _node_order(graph, kept, depth)
    by_node, in_off, in_src = _incoming(graph, kept, new_index, local)                       # 5
    out_slot = graph.I + local[new_index[np.searchsorted(graph.keys, graph.out_key)]]
    node_rank = graph.keys[order] % graph.K
    bias = _node_biases(graph, node_rank, hidden_bias, output_bias)
    if node_bias is not None:
        bias = _explicit_bias(bias, graph.keys[order], graph.ids, graph.P, node_off, node_id,
                              node_bias)
    return Programs(graph.I, output_ids.shape[0], slope, node_off_out, graph.ids[node_rank],
                    bias, in_off, in_src, weight[by_node], out_slot, delayed[by_node])


class _NodeGraph(NamedTuple):
    """Step 2: every (genome, node) pair as a key genome * K + rank of the node id, and each
    enabled connection as an edge between keys (a source that is an input has no key)."""

    P: int                      # networks
    I: int                      # inputs
    K: int                      # distinct node ids
    ids: np.ndarray             # int64[K] the sorted node ids; rank = position here
    output_rank: np.ndarray     # int64[O] rank of each output id
    input_slot_of: np.ndarray   # int64[K] value slot of an input rank, -1 for other ranks
    src_rank: np.ndarray        # int64[E] rank of each connection's source
    from_input: np.ndarray      # bool[E] the source is an input
    out_key: np.ndarray         # int64[P*O] key of output j of network g at g*O + j
    keys: np.ndarray            # int64[M] sorted keys of every non-input node of every network
    e_src: np.ndarray           # int64[E] position in keys of each source, -1 for an input
    e_dst: np.ndarray           # int64[E] position in keys of each target


def _checked_arrays(conn_off, src, dst, weight, input_ids, output_ids) -> tuple:
    """The arguments as arrays, after the checks of their shapes, kinds and ids."""
    conn_off = np.asarray(conn_off, dtype=np.int64)
    src, dst = np.asarray(src), np.asarray(dst)
    weight = np.asarray(weight, dtype=np.float64)
    input_ids, output_ids = np.asarray(input_ids), np.asarray(output_ids)
    I, O = input_ids.shape[0], output_ids.shape[0]
    C = weight.shape[0]
    if conn_off.ndim != 1 or conn_off.shape[0] < 1 or conn_off[0] != 0 \
            or conn_off[-1] != C or (np.diff(conn_off) < 0).any():
        raise ValueError(f"conn_off must start at 0, never decrease and end at {C} "
                         f"(the number of connections)")
    if src.shape != (C,) or dst.shape != (C,):
        raise ValueError(f"src, dst and weight need one entry per connection ({C}), got "
                         f"{src.shape[0]}, {dst.shape[0]} and {C}")
    for name, a in (("src", src), ("dst", dst), ("input_ids", input_ids),
                    ("output_ids", output_ids)):
        if a.size and a.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integer node ids, got dtype {a.dtype}")
    if O < 1:
        raise ValueError("need at least one output")
    if np.unique(np.concatenate([input_ids, output_ids]).astype(np.int64)).shape[0] != I + O:
        raise ValueError("input and output ids must be distinct")
    return conn_off, src, dst, weight, input_ids, output_ids


def _enabled_connections(conn_off, src, dst, weight, enabled) -> tuple:
    """Step 1: the enabled connections in their given (summation) order, with the network
    of each; node ids as int64."""
    P, C = conn_off.shape[0] - 1, weight.shape[0]
    gene_genome = np.repeat(np.arange(P, dtype=np.int64), np.diff(conn_off))
    if enabled is not None:
        enabled = np.asarray(enabled, dtype=bool)
        if enabled.shape != (C,):
            raise ValueError(f"enabled needs {C} entries, got {enabled.shape[0]}")
        keep = np.flatnonzero(enabled)
        gene_genome = gene_genome[keep]
        src, dst, weight = src[keep], dst[keep], weight[keep]
    return gene_genome, src.astype(np.int64), dst.astype(np.int64), weight


def _node_graph(P: int, gene_genome, src, dst, input_ids, output_ids) -> _NodeGraph:
    """Step 2: node ids -> ranks 0 ... K-1; every (network, node) pair gets a global index,
    outputs always included."""
    I = input_ids.shape[0]
    ends = np.concatenate([input_ids, output_ids]).astype(np.int64)
    ids = np.unique(np.concatenate([ends, src, dst]))
    K = ids.shape[0]
    if ids.size and max(-int(ids[0]), int(ids[-1])) > _INT32_MAX:
        raise ValueError("node ids must fit in int32")
    output_rank = np.searchsorted(ids, output_ids)
    input_slot_of = np.full(K, -1, dtype=np.int64)
    input_slot_of[np.searchsorted(ids, input_ids)] = np.arange(I)
    src_rank, dst_rank = np.searchsorted(ids, src), np.searchsorted(ids, dst)
    if (input_slot_of[dst_rank] >= 0).any():
        bad = int(dst[input_slot_of[dst_rank] >= 0][0])
        raise ValueError(f"a connection targets input node {bad}")
    from_input = input_slot_of[src_rank] >= 0
    out_key = (np.arange(P, dtype=np.int64)[:, None] * K + output_rank[None, :]).reshape(-1)
    dst_key = gene_genome * K + dst_rank
    src_key = gene_genome * K + src_rank
    keys = np.unique(np.concatenate([out_key, dst_key, src_key[~from_input]]))
    e_dst = np.searchsorted(keys, dst_key)
    e_src = np.where(from_input, -1, np.searchsorted(keys, np.where(from_input, 0, src_key)))
    return _NodeGraph(P, I, K, ids, output_rank, input_slot_of, src_rank, from_input, out_key,
                      keys, e_src, e_dst)


def _delayed(g: _NodeGraph) -> np.ndarray:
    """The delayed connections of recurrent networks (module docstring), of every network
    at once: the node keys are global, so cycles never join two networks."""
    delayed = np.zeros(g.e_dst.shape[0], dtype=bool)
    inner = np.flatnonzero(~g.from_input)
    delayed[inner] = _closing(g.e_src[inner].tolist(), g.e_dst[inner].tolist())
    return delayed


def delayed_genes(genome: Genome, n_inputs: int) -> np.ndarray:
    """bool per gene of one EzSpark genome: which genes its recurrent network delays (module
    docstring; inputs are nodes 1 ... ``n_inputs``).  Disabled genes and genes from an input
    are never delayed.  The compiled program delays the same genes."""
    delayed = np.zeros(len(genome), dtype=bool)
    inner = np.flatnonzero(genome.enabled & (genome.src > n_inputs))
    delayed[inner] = _closing(genome.src[inner].tolist(), genome.dst[inner].tolist())
    return delayed


def _closing(src: list[int], dst: list[int]) -> list[bool]:
    """In the given order, an edge closes a cycle when it is a self-loop or its target
    already reaches its source along the edges accepted (not closing) before it."""
    closing = []
    after: dict[int, list[int]] = {}
    for a, b in zip(src, dst):
        closes = a == b or _reaches(after, b, a)
        if not closes:
            after.setdefault(a, []).append(b)
        closing.append(closes)
    return closing


def _reaches(after: dict[int, list[int]], start: int, goal: int) -> bool:
    """A path start -> goal along the edges ``after`` (depth-first)."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in after.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _prune(g: _NodeGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 3: a node is kept when it is an output or feeds a kept node (iterated to a fixed
    point).  Returns the kept flags and the edges between non-input nodes."""
    kept = np.zeros(g.keys.shape[0], dtype=bool)
    kept[np.searchsorted(g.keys, g.out_key)] = True
    internal = np.flatnonzero(~g.from_input)
    i_src, i_dst = g.e_src[internal], g.e_dst[internal]
    while True:
        grow = i_src[kept[i_dst] & ~kept[i_src]]
        if grow.size == 0:
            break
        kept[grow] = True
    return kept, i_src, i_dst


def _depths(g: _NodeGraph, kept, i_src, i_dst) -> np.ndarray:
    """Step 4: depth of each node on the kept graph (longest path from a node without
    computed sources); a path longer than a network's node count means a cycle."""
    M = g.keys.shape[0]
    live = kept[i_dst]
    i_src, i_dst = i_src[live], i_dst[live]
    widest = int(np.bincount(g.keys // g.K, minlength=g.P).max()) if M else 0
    depth = np.zeros(M, dtype=np.int64)
    for _ in range(widest + 1):
        new = depth.copy()
        np.maximum.at(new, i_dst, depth[i_src] + 1)
        if np.array_equal(new, depth):
            return depth
        depth = new
    raise ValueError("the enabled connections of a network form a cycle")


def _node_order(g: _NodeGraph, kept, depth) -> tuple[np.ndarray, ...]:
    """Step 4: the kept nodes by network, then depth, then node id.  Returns them (positions
    in ``keys``), the position in that order of every key (-1: pruned), the programs'
    ``node_off`` and each kept node's position within its program."""
    node_genome = g.keys // g.K
    kept_nodes = np.flatnonzero(kept)
    order = kept_nodes[np.lexsort((g.keys[kept_nodes] % g.K, depth[kept_nodes],
                                   node_genome[kept_nodes]))]
    new_index = np.full(g.keys.shape[0], -1, dtype=np.int64)
    new_index[order] = np.arange(order.shape[0])
    node_off = _offsets(np.bincount(node_genome[order], minlength=g.P))
    local = np.arange(order.shape[0]) - node_off[node_genome[order]]
    return order, new_index, node_off, local


def _incoming(g: _NodeGraph, kept, new_index, local) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 5: the incoming connections of every kept node, grouped by node (stable, so the
    summation order survives).  Returns the connections in CSR order, ``in_off`` and
    ``in_src`` (value slots)."""
    gene_keep = np.flatnonzero(kept[g.e_dst])
    target = new_index[g.e_dst[gene_keep]]
    by_node = gene_keep[np.argsort(target, kind="stable")]
    in_off = _offsets(np.bincount(target, minlength=local.shape[0]))
    s_src = g.e_src[by_node]
    in_src = np.where(s_src < 0, g.input_slot_of[g.src_rank[by_node]],
                      g.I + local[new_index[np.maximum(s_src, 0)]])
    return by_node, in_off, in_src


def _node_biases(g: _NodeGraph, node_rank, hidden_bias: float, output_bias: float) -> np.ndarray:
    """The default bias of every kept node by its role: output or not."""
    is_output_rank = np.zeros(g.K, dtype=bool)
    is_output_rank[g.output_rank] = True
    return np.where(is_output_rank[node_rank], float(output_bias), float(hidden_bias))


def _explicit_bias(bias, kept_keys, ids, P, node_off, node_id, node_bias) -> np.ndarray:
    """Overwrite ``bias`` of kept nodes listed in the per-network CSR (node_off, node_id)."""
    if node_off is None or node_id is None:
        raise ValueError("node_bias needs node_off and node_id")
    node_off = np.asarray(node_off, dtype=np.int64)
    node_id = np.asarray(node_id).astype(np.int64)
    node_bias = np.asarray(node_bias, dtype=np.float64)
    N = node_bias.shape[0]
    if node_off.shape != (P + 1,) or node_off[0] != 0 or node_off[-1] != N \
            or (np.diff(node_off) < 0).any() or node_id.shape != (N,):
        raise ValueError(f"node_off must have {P + 1} entries, start at 0, never decrease and "
                         f"end at {N}, with one node_id per node_bias")
    K = ids.shape[0]
    rank = np.minimum(np.searchsorted(ids, node_id), max(K - 1, 0))
    known = (ids[rank] == node_id) if K else np.zeros(N, dtype=bool)
    genome = np.repeat(np.arange(P, dtype=np.int64), np.diff(node_off))
    listed = (genome * K + rank)[known]
    by_key = np.argsort(kept_keys)          # kept_keys is in program order, not sorted
    sorted_keys = kept_keys[by_key]
    pos = np.minimum(np.searchsorted(sorted_keys, listed), max(sorted_keys.shape[0] - 1, 0))
    hit = sorted_keys[pos] == listed if sorted_keys.size else np.zeros(listed.shape[0], bool)
    bias = bias.copy()
    bias[by_key[pos[hit]]] = node_bias[known][hit]
    return bias
