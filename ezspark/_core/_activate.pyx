"""Batched activation of network programs: every (program, observation row) pair in one call.

The program layout and the arithmetic are documented in ``_activate.pxd``.  Shapes are checked
here, with the GIL, before the single ``nogil`` section; the structure of the program arrays
(offsets, slots) is a precondition checked once by ``ezspark._network.Programs``.
``_activate_py.py`` is the numpy twin with the same signatures.
"""
from libc.math cimport exp
from libc.stdlib cimport free, malloc

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t

__all__ = ["activate_rows", "activate_all"]


cdef float64_t sigmoid(float64_t z) noexcept nogil:
    # exp(-z) = inf for z < about -709.78, and 1 / (1 + inf) = 0.0: the spec's value, no error.
    return 1.0 / (1.0 + exp(-z))


cdef void run_program(const ProgramView* prog, intp_t g, const float64_t* x,
                      float64_t* values, float64_t* outputs) noexcept nogil:
    cdef intp_t n_in = prog.n_inputs
    cdef intp_t first = <intp_t>prog.node_off[g]
    cdef intp_t last = <intp_t>prog.node_off[g + 1]
    cdef intp_t a, i, e, e_end
    cdef float64_t s
    cdef const int32_t* slots = prog.out_slot + g * prog.n_outputs
    cdef float64_t* node_values = values + n_in - first   # node_values[i] is v[I + i - first]
    for a in range(n_in):
        values[a] = x[a]
    for i in range(first, last):
        s = 0.0
        e_end = <intp_t>prog.in_off[i + 1]
        for e in range(<intp_t>prog.in_off[i], e_end):
            s = s + prog.in_w[e] * values[prog.in_src[e]]
        node_values[i] = sigmoid(prog.slope * (prog.node_bias[i] + s))
    for a in range(prog.n_outputs):
        outputs[a] = values[slots[a]]


cdef int64_t argmax_first(const float64_t* o, intp_t n) noexcept nogil:
    cdef intp_t j, best_j = 0
    cdef float64_t best = o[0], v
    for j in range(1, n):
        if best != best:        # NaN already chosen: it stays (numpy.argmax semantics)
            break
        v = o[j]
        if v > best or v != v:
            best = v
            best_j = j
    return best_j


cdef int activate_rows_ptr(const ProgramView* prog, const int64_t* row_genome, intp_t n_rows,
                           const float64_t* X, float64_t* out, int64_t* act,
                           float64_t* scratch) except -1 nogil:
    cdef intp_t r, n_in = prog.n_inputs, n_out = prog.n_outputs
    cdef int64_t g
    cdef float64_t* outputs
    for r in range(n_rows):
        g = row_genome[r]
        if g < 0 or g >= prog.n_programs:
            with gil:
                raise ValueError(
                    f"row_genome[{r}] = {g} is not a program index (there are "
                    f"{prog.n_programs} programs)")
        outputs = out + r * n_out if out != NULL else scratch + prog.max_values
        run_program(prog, <intp_t>g, X + r * n_in, scratch, outputs)
        if act != NULL:
            act[r] = argmax_first(outputs, n_out)
    return 0


cdef int _make_view(ProgramView* view,
                    const int64_t[::1] node_off, const float64_t[::1] node_bias,
                    const int64_t[::1] in_off, const int32_t[::1] in_src,
                    const float64_t[::1] in_w, const int32_t[::1] out_slot,
                    intp_t n_inputs, intp_t n_outputs, float64_t slope) except -1:
    """Fill view from the program arrays after checking their lengths agree."""
    cdef intp_t g, n, widest = 0
    if node_off.shape[0] < 1:
        raise ValueError("node_off needs P + 1 >= 1 entries")
    if n_inputs < 0 or n_outputs < 1:
        raise ValueError(f"need n_inputs >= 0 and n_outputs >= 1, got {n_inputs} and {n_outputs}")
    if in_off.shape[0] != node_bias.shape[0] + 1:
        raise ValueError(f"in_off has {in_off.shape[0]} entries, node_bias {node_bias.shape[0]}: "
                         f"in_off needs one more")
    if in_w.shape[0] != in_src.shape[0]:
        raise ValueError(f"in_src has {in_src.shape[0]} entries but in_w has {in_w.shape[0]}")
    view.n_programs = node_off.shape[0] - 1
    if out_slot.shape[0] != view.n_programs * n_outputs:
        raise ValueError(f"out_slot has {out_slot.shape[0]} entries, expected "
                         f"{view.n_programs} programs x {n_outputs} outputs")
    for g in range(view.n_programs):
        n = <intp_t>(node_off[g + 1] - node_off[g])
        if n > widest:
            widest = n
    view.n_inputs = n_inputs
    view.n_outputs = n_outputs
    view.max_values = n_inputs + widest
    view.slope = slope
    # Zero-length arrays have no element 0; their pointers are never dereferenced.
    view.node_off = &node_off[0]
    view.node_bias = &node_bias[0] if node_bias.shape[0] else NULL
    view.in_off = &in_off[0]
    view.in_src = &in_src[0] if in_src.shape[0] else NULL
    view.in_w = &in_w[0] if in_w.shape[0] else NULL
    view.out_slot = &out_slot[0] if out_slot.shape[0] else NULL
    return 0


cdef float64_t* _alloc_scratch(const ProgramView* view) except NULL:
    cdef float64_t* scratch = <float64_t*>malloc((view.max_values + view.n_outputs)
                                                 * sizeof(float64_t))
    if scratch == NULL:
        raise MemoryError("no memory for the activation scratch buffer")
    return scratch


def activate_rows(const int64_t[::1] node_off not None, const float64_t[::1] node_bias not None,
                  const int64_t[::1] in_off not None, const int32_t[::1] in_src not None,
                  const float64_t[::1] in_w not None, const int32_t[::1] out_slot not None,
                  intp_t n_inputs, intp_t n_outputs, float64_t slope,
                  const int64_t[::1] row_genome not None, const float64_t[:, ::1] X not None,
                  float64_t[:, ::1] out, int64_t[::1] act):
    """Run program ``row_genome[r]`` on row ``X[r]`` for every row r, in one ``nogil`` loop.

    Program arrays as in ``_activate.pxd``.  ``row_genome`` int64[R] (values 0 ... P-1),
    ``X`` float64[R, I].  Writes ``out`` float64[R, O] (the outputs) unless it is None and
    ``act`` int64[R] (lowest index of the largest output) unless it is None.  Returns None.
    Raises ValueError when lengths disagree or a ``row_genome`` entry is out of range.
    """
    cdef ProgramView view
    cdef intp_t n_rows = X.shape[0]
    cdef float64_t* out_ptr = NULL
    cdef int64_t* act_ptr = NULL
    cdef const float64_t* x_ptr
    cdef float64_t* scratch
    _make_view(&view, node_off, node_bias, in_off, in_src, in_w, out_slot,
               n_inputs, n_outputs, slope)
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} columns but the programs take {n_inputs} inputs")
    if row_genome.shape[0] != n_rows:
        raise ValueError(f"row_genome has {row_genome.shape[0]} entries but X has {n_rows} rows")
    if out is not None:
        if out.shape[0] != n_rows or out.shape[1] != n_outputs:
            raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), "
                             f"expected ({n_rows}, {n_outputs})")
        if n_rows:
            out_ptr = &out[0, 0]
    if act is not None:
        if act.shape[0] != n_rows:
            raise ValueError(f"act has {act.shape[0]} entries, expected {n_rows}")
        if n_rows:
            act_ptr = &act[0]
    if n_rows == 0:
        return
    x_ptr = &X[0, 0] if n_inputs else NULL     # zero inputs: nothing is read from X
    scratch = _alloc_scratch(&view)
    try:
        with nogil:
            activate_rows_ptr(&view, &row_genome[0], n_rows, x_ptr, out_ptr, act_ptr, scratch)
    finally:
        free(scratch)


def activate_all(const int64_t[::1] node_off not None, const float64_t[::1] node_bias not None,
                 const int64_t[::1] in_off not None, const int32_t[::1] in_src not None,
                 const float64_t[::1] in_w not None, const int32_t[::1] out_slot not None,
                 intp_t n_inputs, intp_t n_outputs, float64_t slope,
                 const float64_t[:, ::1] X not None, float64_t[:, :, ::1] out not None):
    """Run every program on every row of ``X`` float64[R, I], in one ``nogil`` loop.

    Program arrays as in ``_activate.pxd``.  Writes ``out`` float64[P, R, O], where
    ``out[g, r]`` holds the outputs of program g on row r.  Returns None.  Raises ValueError
    when lengths disagree.
    """
    cdef ProgramView view
    cdef intp_t g, r, n_rows = X.shape[0], n_in = n_inputs
    cdef float64_t* scratch
    cdef float64_t* out_ptr
    cdef const float64_t* x_ptr
    _make_view(&view, node_off, node_bias, in_off, in_src, in_w, out_slot,
               n_inputs, n_outputs, slope)
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} columns but the programs take {n_inputs} inputs")
    if (out.shape[0] != view.n_programs or out.shape[1] != n_rows
            or out.shape[2] != n_outputs):
        raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}, {out.shape[2]}), "
                         f"expected ({view.n_programs}, {n_rows}, {n_outputs})")
    if n_rows == 0 or view.n_programs == 0:
        return
    out_ptr = &out[0, 0, 0]
    x_ptr = &X[0, 0] if n_in else NULL     # zero inputs: nothing is read from X
    scratch = _alloc_scratch(&view)
    try:
        with nogil:
            for g in range(view.n_programs):
                for r in range(n_rows):
                    run_program(&view, g, x_ptr + r * n_in, scratch,
                                out_ptr + (g * n_rows + r) * n_outputs)
    finally:
        free(scratch)
