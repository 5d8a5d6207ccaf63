"""Batched activation of network programs: every (program, observation row) pair in one call.

The program layout and the arithmetic are documented in ``_activate.pxd``.  Shapes are checked
here, with the GIL, before the single ``nogil`` section; the structure of the program arrays
(offsets, slots) is a precondition checked once by ``ezspark.network.programs.Programs``.
``_activate_py.py`` is the numpy twin with the same signatures and the same floating-point
operations in the same order (bit-identical results, NaN payloads aside).

The hot loops are plain C (``ez_activate.h``): rows that run the same program are
evaluated in blocks of 16, 8 or 4 lanes held in GCC vector types, values laid out
``[value slot][lane]``, so each link does independent multiply-adds across the lanes while every
lane keeps its own row's summation order (``activate_rows`` first groups its rows by program
with a counting sort).  ``exp`` is ezspark's own (``ez_exp``): the same operations for one
lane, a vector of lanes and the numpy twin, independent of the platform's libm.  On x86 the
block code exists twice, AVX2 and baseline SSE2, chosen once per process from the CPU's
features (``_set_simd`` overrides it for tests); every variant gives the same bits (no FMA:
``-ffp-contract=off``).  Compilers without GCC vector extensions run every row scalar.

``SingleProgram`` is the single-row fast path: one program copied into C arrays once, then one
observation (list, tuple or array) per call.
"""
cimport numpy as cnp
from cpython.float cimport PyFloat_AsDouble
from cpython.list cimport PyList_GET_SIZE, PyList_GET_ITEM
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t, uint8_t

cnp.import_array()

__all__ = ["activate_rows", "activate_all", "activate_state", "SingleProgram", "exp",
           "sigmoid"]


cdef extern from "ez_activate.h" nogil:
    double ez_exp(double x)
    double ez_sigmoid(double z)
    ctypedef struct ez_prog:
        Py_ssize_t n_programs
        Py_ssize_t n_inputs
        Py_ssize_t n_outputs
        Py_ssize_t max_values
        double slope
        const int64_t* node_off
        const double* node_bias
        const int64_t* in_off
        const int32_t* in_src
        const double* in_w
        const int32_t* out_slot
    int64_t ez_argmax(const double* o, Py_ssize_t n)
    void ez_run_one(const ez_prog* p, Py_ssize_t g, const double* x, double* values,
                    double* outputs)
    void ez_run_group(const ez_prog* p, Py_ssize_t g, const Py_ssize_t* rows, Py_ssize_t n,
                      const double* X, double* out, int64_t* act, char* scratch)
    size_t ez_scratch_bytes(const ez_prog* p)
    int ez_set_simd(int level)


cdef float64_t exp_det(float64_t x) noexcept nogil:
    return ez_exp(x)


cdef float64_t sigmoid_det(float64_t z) noexcept nogil:
    return ez_sigmoid(z)


def exp(double x):
    """ezspark's deterministic exp of one float (the kernels' exp; see the module docstring)."""
    return ez_exp(x)


def _set_simd(int level=0):
    """Choose the block code of the compiled kernels: 0 automatic, 1 baseline vectors (SSE2 on
    x86-64), 2 AVX2 when the CPU has it.  Returns the level now in use (0: a build without
    vector code, every row scalar).  For tests and benchmarks: every level gives the same bits."""
    return ez_set_simd(level)


def sigmoid(double z):
    """``1 / (1 + exp(-z))`` with ezspark's exp: the value every computed node applies."""
    return ez_sigmoid(z)


cdef int _make_view(ez_prog* view,
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


cdef char* _alloc_scratch(const ez_prog* view) except NULL:
    cdef char* scratch = <char*>malloc(ez_scratch_bytes(view))
    if scratch == NULL:
        raise MemoryError("no memory for the activation scratch buffer")
    return scratch


def activate_rows(const int64_t[::1] node_off not None, const float64_t[::1] node_bias not None,
                  const int64_t[::1] in_off not None, const int32_t[::1] in_src not None,
                  const float64_t[::1] in_w not None, const int32_t[::1] out_slot not None,
                  intp_t n_inputs, intp_t n_outputs, float64_t slope,
                  const int64_t[::1] row_genome not None, const float64_t[:, ::1] X not None,
                  float64_t[:, ::1] out, int64_t[::1] act):
    """Run program ``row_genome[r]`` on row ``X[r]`` for every row r, in one ``nogil`` section.

    Program arrays as in ``_activate.pxd``.  ``row_genome`` int64[R] (values 0 ... P-1),
    ``X`` float64[R, I].  Writes ``out`` float64[R, O] (the outputs) unless it is None and
    ``act`` int64[R] (lowest index of the largest output) unless it is None.  Returns None.
    Raises ValueError when lengths disagree or a ``row_genome`` entry is out of range (then
    nothing is written).
    """
    cdef ez_prog view
    cdef intp_t r, n_rows = X.shape[0], P
    cdef float64_t* out_ptr = NULL
    cdef int64_t* act_ptr = NULL
    cdef const int64_t* rg
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
    P = view.n_programs
    rg = &row_genome[0]
    for r in range(n_rows):
        if rg[r] < 0 or rg[r] >= P:
            raise ValueError(f"row_genome[{r}] = {rg[r]} is not a program index (there are "
                             f"{P} programs)")
    # zero inputs: nothing is read from X
    _run_by_program(&view, rg, n_rows, &X[0, 0] if n_inputs else NULL, out_ptr, act_ptr)


cdef int _run_by_program(const ez_prog* view, const int64_t* rg, intp_t n_rows,
                         const float64_t* x_ptr, float64_t* out_ptr, int64_t* act_ptr) except -1:
    """Rows r = 0 ... n_rows-1 (checked), each running program rg[r]: a counting sort of the
    rows by program (stable), then each program's rows in blocks of lanes."""
    cdef intp_t r, g, P = view.n_programs
    cdef char* scratch = _alloc_scratch(view)
    cdef intp_t* order = NULL
    cdef intp_t* start = NULL
    try:
        # program g runs rows order[start[g] ... start[g+1]-1]
        order = <intp_t*>malloc(n_rows * sizeof(intp_t))
        start = <intp_t*>malloc((P + 1) * sizeof(intp_t))
        if order == NULL or start == NULL:
            raise MemoryError("no memory for the activation row order")
        with nogil:
            for g in range(P + 1):
                start[g] = 0
            for r in range(n_rows):
                start[rg[r] + 1] += 1
            for g in range(P):
                start[g + 1] += start[g]
            for r in range(n_rows):
                order[start[rg[r]]] = r
                start[rg[r]] += 1
            # start[g] now holds the end of group g; group g begins where g - 1 ends.
            r = 0
            for g in range(P):
                if start[g] > r:
                    ez_run_group(view, g, order + r, start[g] - r, x_ptr, out_ptr, act_ptr,
                                 scratch)
                    r = start[g]
    finally:
        free(order)
        free(start)
        free(scratch)
    return 0


def activate_all(const int64_t[::1] node_off not None, const float64_t[::1] node_bias not None,
                 const int64_t[::1] in_off not None, const int32_t[::1] in_src not None,
                 const float64_t[::1] in_w not None, const int32_t[::1] out_slot not None,
                 intp_t n_inputs, intp_t n_outputs, float64_t slope,
                 const float64_t[:, ::1] X not None, float64_t[:, :, ::1] out not None):
    """Run every program on every row of ``X`` float64[R, I], in one ``nogil`` section.

    Program arrays as in ``_activate.pxd``.  Writes ``out`` float64[P, R, O], where
    ``out[g, r]`` holds the outputs of program g on row r.  Returns None.  Raises ValueError
    when lengths disagree.
    """
    cdef ez_prog view
    cdef intp_t g, r, n_rows = X.shape[0], n_in = n_inputs
    cdef char* scratch = NULL
    cdef intp_t* rows = NULL
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
        rows = <intp_t*>malloc(n_rows * sizeof(intp_t))
        if rows == NULL:
            raise MemoryError("no memory for the activation row order")
        with nogil:
            for r in range(n_rows):
                rows[r] = r
            for g in range(view.n_programs):
                ez_run_group(&view, g, rows, n_rows, x_ptr, out_ptr + g * n_rows * n_outputs,
                             NULL, scratch)
    finally:
        free(rows)
        free(scratch)


# ---- single-row fast path -------------------------------------------------------------------

cdef class SingleProgram:
    """One program of a batch, copied into C arrays once; then one observation per call.

    ``SingleProgram(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs,
    slope, g)`` takes the kernel arguments of a batch (``_activate.pxd``) and the index g of
    the program to keep.  ``activate(x)`` returns its outputs float64[O] on one observation x
    (a list or tuple of I numbers, or an array of I values of any real dtype and shape);
    ``act(x)`` returns the action (lowest index of the largest output) as an int.  Results
    equal ``activate_rows`` on that row bit for bit.
    """

    cdef ez_prog view
    cdef int64_t* _node_off
    cdef int64_t* _in_off
    cdef double* _bias
    cdef int32_t* _src
    cdef double* _w
    cdef int32_t* _slots
    cdef double* _values
    cdef double* _outputs
    cdef readonly intp_t n_inputs
    cdef readonly intp_t n_outputs
    cdef object _args

    def __cinit__(self):
        self._node_off = self._in_off = NULL
        self._bias = self._w = self._values = self._outputs = NULL
        self._src = self._slots = NULL

    def __init__(self, const int64_t[::1] node_off not None,
                 const float64_t[::1] node_bias not None, const int64_t[::1] in_off not None,
                 const int32_t[::1] in_src not None, const float64_t[::1] in_w not None,
                 const int32_t[::1] out_slot not None, intp_t n_inputs, intp_t n_outputs,
                 float64_t slope, intp_t g=0):
        cdef ez_prog batch
        cdef intp_t i, first, n_nodes, e0, n_edges
        if self._values != NULL:
            raise RuntimeError("SingleProgram is already initialised")
        _make_view(&batch, node_off, node_bias, in_off, in_src, in_w, out_slot,
                   n_inputs, n_outputs, slope)
        if g < 0 or g >= batch.n_programs:
            raise ValueError(f"program {g} is not a program index (there are "
                             f"{batch.n_programs} programs)")
        self._args = (np.asarray(node_off), np.asarray(node_bias), np.asarray(in_off),
                      np.asarray(in_src), np.asarray(in_w), np.asarray(out_slot),
                      n_inputs, n_outputs, slope, g)
        first = <intp_t>node_off[g]
        n_nodes = <intp_t>(node_off[g + 1] - node_off[g])
        e0 = <intp_t>in_off[first]
        n_edges = <intp_t>(in_off[first + n_nodes] - e0)
        self._node_off = <int64_t*>malloc(2 * sizeof(int64_t))
        self._in_off = <int64_t*>malloc((n_nodes + 1) * sizeof(int64_t))
        self._bias = <double*>malloc((n_nodes + 1) * sizeof(double))
        self._src = <int32_t*>malloc((n_edges + 1) * sizeof(int32_t))
        self._w = <double*>malloc((n_edges + 1) * sizeof(double))
        self._slots = <int32_t*>malloc(n_outputs * sizeof(int32_t))
        self._values = <double*>malloc((n_inputs + n_nodes + 1) * sizeof(double))
        self._outputs = <double*>malloc(n_outputs * sizeof(double))
        if (self._node_off == NULL or self._in_off == NULL or self._bias == NULL
                or self._src == NULL or self._w == NULL or self._slots == NULL
                or self._values == NULL or self._outputs == NULL):
            raise MemoryError("no memory for a SingleProgram")
        self._node_off[0] = 0
        self._node_off[1] = n_nodes
        for i in range(n_nodes + 1):
            self._in_off[i] = in_off[first + i] - e0
        for i in range(n_nodes):
            self._bias[i] = node_bias[first + i]
        for i in range(n_edges):
            self._src[i] = in_src[e0 + i]
            self._w[i] = in_w[e0 + i]
        for i in range(n_outputs):
            self._slots[i] = out_slot[g * n_outputs + i]
        self.view.n_programs = 1
        self.view.n_inputs = n_inputs
        self.view.n_outputs = n_outputs
        self.view.max_values = n_inputs + n_nodes
        self.view.slope = slope
        self.view.node_off = self._node_off
        self.view.node_bias = self._bias
        self.view.in_off = self._in_off
        self.view.in_src = self._src
        self.view.in_w = self._w
        self.view.out_slot = self._slots
        self.n_inputs = n_inputs
        self.n_outputs = n_outputs

    def __dealloc__(self):
        free(self._node_off)
        free(self._in_off)
        free(self._bias)
        free(self._src)
        free(self._w)
        free(self._slots)
        free(self._values)
        free(self._outputs)

    def __reduce__(self):
        return (SingleProgram, self._args)

    def __repr__(self):
        return (f"SingleProgram({self.n_inputs} inputs, {self.n_outputs} outputs, "
                f"{self.view.max_values - self.n_inputs} nodes, "
                f"{self._in_off[self.view.max_values - self.n_inputs]} connections)")

    cdef int _load(self, object x) except -1:
        """Copy observation x into the value slots 0 ... I-1."""
        cdef intp_t a, n = self.n_inputs
        cdef double* v = self._values
        cdef cnp.ndarray arr
        cdef int typenum
        cdef const char* data
        cdef object item
        if type(x) is list:
            if PyList_GET_SIZE(x) != n:
                raise ValueError(f"observation has {PyList_GET_SIZE(x)} values but the network "
                                 f"has {n} inputs")
            for a in range(n):
                v[a] = PyFloat_AsDouble(<object>PyList_GET_ITEM(x, a))
            return 0
        if type(x) is tuple:
            if PyTuple_GET_SIZE(x) != n:
                raise ValueError(f"observation has {PyTuple_GET_SIZE(x)} values but the network "
                                 f"has {n} inputs")
            for a in range(n):
                v[a] = PyFloat_AsDouble(<object>PyTuple_GET_ITEM(x, a))
            return 0
        if (cnp.PyArray_Check(x) and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>x)
                and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>x)):
            arr = <cnp.ndarray>x
            typenum = cnp.PyArray_TYPE(arr)
            if typenum == cnp.NPY_FLOAT64 or typenum == cnp.NPY_FLOAT32:
                if cnp.PyArray_SIZE(arr) != n:
                    raise ValueError(f"observation has {cnp.PyArray_SIZE(arr)} values but the "
                                     f"network has {n} inputs")
                data = <const char*>cnp.PyArray_DATA(arr)
                if typenum == cnp.NPY_FLOAT64:
                    memcpy(v, data, n * sizeof(double))
                else:
                    for a in range(n):
                        v[a] = (<const float*>data)[a]
                return 0
        # anything else: through numpy (nested sequences, other dtypes, strided arrays)
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiub":
            raise ValueError(f"observation must hold real numbers, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if cnp.PyArray_SIZE(arr) != n:
            raise ValueError(f"observation has {cnp.PyArray_SIZE(arr)} values but the network "
                             f"has {n} inputs")
        if n:
            memcpy(v, cnp.PyArray_DATA(arr), n * sizeof(double))
        return 0

    cdef void _run(self) noexcept nogil:
        ez_run_one(&self.view, 0, self._values, self._values, self._outputs)

    def activate(self, x, out=None):
        """Outputs float64[O] of this program on one observation ``x`` (I values).

        ``out`` (a writeable C-contiguous float64 array of O entries) is written and returned
        instead of a new array.
        """
        cdef cnp.npy_intp dim = self.n_outputs
        cdef cnp.ndarray result
        self._load(x)
        self._run()
        if out is None:
            result = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_FLOAT64, 0)
        else:
            if not (cnp.PyArray_Check(out) and cnp.PyArray_TYPE(<cnp.ndarray>out) == cnp.NPY_FLOAT64
                    and cnp.PyArray_ISCARRAY(<cnp.ndarray>out)
                    and cnp.PyArray_SIZE(<cnp.ndarray>out) == dim):
                raise ValueError(f"out must be a writeable C-contiguous float64 array of "
                                 f"{dim} entries")
            result = <cnp.ndarray>out
        memcpy(cnp.PyArray_DATA(result), self._outputs, dim * sizeof(double))
        return result

    def act(self, x):
        """Action of this program on one observation ``x``: the lowest index of the largest
        output, an int."""
        self._load(x)
        self._run()
        return ez_argmax(self._outputs, self.n_outputs)


# ---- recurrent programs: one step with per-row state ----------------------------------------

cdef int _check_state_args(const ez_prog* view, intp_t n_edges, const uint8_t[::1] in_delay,
                           const int64_t[::1] row_genome, const float64_t[:, ::1] X,
                           float64_t[:, ::1] state, float64_t[:, ::1] out,
                           int64_t[::1] act) except -1:
    """The shapes of ``activate_state`` (the program arrays are checked by _make_view)."""
    cdef intp_t r, n_rows = X.shape[0]
    if in_delay.shape[0] != n_edges:
        raise ValueError(f"in_delay has {in_delay.shape[0]} entries but in_src has {n_edges}")
    if X.shape[1] != view.n_inputs:
        raise ValueError(f"X has {X.shape[1]} columns but the programs take {view.n_inputs} "
                         f"inputs")
    if row_genome.shape[0] != n_rows:
        raise ValueError(f"row_genome has {row_genome.shape[0]} entries but X has {n_rows} rows")
    if state.shape[0] != n_rows or state.shape[1] < view.max_values - view.n_inputs:
        raise ValueError(f"state has shape ({state.shape[0]}, {state.shape[1]}), expected "
                         f"({n_rows}, >= {view.max_values - view.n_inputs}): one row per row "
                         f"of X, a column per computed node of the widest program")
    if out is not None and (out.shape[0] != n_rows or out.shape[1] != view.n_outputs):
        raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), "
                         f"expected ({n_rows}, {view.n_outputs})")
    if act is not None and act.shape[0] != n_rows:
        raise ValueError(f"act has {act.shape[0]} entries, expected {n_rows}")
    for r in range(n_rows):
        if row_genome[r] < 0 or row_genome[r] >= view.n_programs:
            raise ValueError(f"row_genome[{r}] = {row_genome[r]} is not a program index "
                             f"(there are {view.n_programs} programs)")
    return 0


cdef void _state_row(const ez_prog* p, const uint8_t* delay, intp_t g, const double* x,
                     double* prev, intp_t width, double* values, double* outputs) noexcept nogil:
    """One step of program g on one row: ``_activate.pxd``'s arithmetic, a delayed input
    reading ``prev`` (the row's state); then the new node values become the state."""
    cdef intp_t n_in = p.n_inputs, first = p.node_off[g], n = p.node_off[g + 1] - first
    cdef intp_t a, k, i, e
    cdef int32_t src
    cdef double s, v
    for a in range(n_in):
        values[a] = x[a]
    for k in range(n):
        i = first + k
        s = 0.0
        for e in range(p.in_off[i], p.in_off[i + 1]):
            src = p.in_src[e]
            if delay[e]:
                v = prev[src - n_in]
            else:
                v = values[src]
            s = s + p.in_w[e] * v
        values[n_in + k] = ez_sigmoid(p.slope * (p.node_bias[i] + s))
    for a in range(p.n_outputs):
        outputs[a] = values[p.out_slot[g * p.n_outputs + a]]
    for k in range(n):
        prev[k] = values[n_in + k]


def activate_state(const int64_t[::1] node_off not None, const float64_t[::1] node_bias not None,
                   const int64_t[::1] in_off not None, const int32_t[::1] in_src not None,
                   const float64_t[::1] in_w not None, const uint8_t[::1] in_delay not None,
                   const int32_t[::1] out_slot not None, intp_t n_inputs, intp_t n_outputs,
                   float64_t slope, const int64_t[::1] row_genome not None,
                   const float64_t[:, ::1] X not None, float64_t[:, ::1] state not None,
                   float64_t[:, ::1] out, int64_t[::1] act):
    """One step of recurrent programs: program ``row_genome[r]`` on row ``X[r]`` with the
    state ``state[r]``, for every row r, in one ``nogil`` section (docs/algorithm.md 3.4).

    Program arrays as in ``_activate.pxd``, plus ``in_delay`` uint8[E]: 1 marks a delayed
    input, whose ``in_src`` is the slot I + k of any computed node k of the same program and
    which reads ``state[r, k]``, that node's value at the previous step; an undelayed input
    reads this step's value (a slot below its node's own).  ``state`` float64[R, S], S at
    least the widest program's node count: on return ``state[r, k]`` holds the new value of
    node k of row r's program (columns past its node count are left alone).  Writes ``out``
    float64[R, O] unless None and ``act`` int64[R] unless None, as ``activate_rows``.  Rows
    run one by one, scalar, in row order.  Raises ValueError (nothing written) on bad shapes.
    """
    cdef ez_prog view
    cdef intp_t r, n_rows = X.shape[0], width = state.shape[1] if state.shape[0] else 0
    cdef double* values = NULL
    cdef double* outputs = NULL
    cdef const uint8_t* delay
    _make_view(&view, node_off, node_bias, in_off, in_src, in_w, out_slot,
               n_inputs, n_outputs, slope)
    _check_state_args(&view, in_src.shape[0], in_delay, row_genome, X, state, out, act)
    if n_rows == 0:
        return
    delay = &in_delay[0] if in_delay.shape[0] else NULL
    values = <double*>malloc((view.max_values + 1) * sizeof(double))
    outputs = <double*>malloc(n_outputs * sizeof(double))
    try:
        if values == NULL or outputs == NULL:
            raise MemoryError("no memory for the activation scratch buffer")
        with nogil:
            for r in range(n_rows):
                _state_row(&view, delay, row_genome[r], &X[r, 0] if n_inputs else NULL,
                           &state[r, 0] if width else NULL, width, values, outputs)
                if out is not None:
                    memcpy(&out[r, 0], outputs, n_outputs * sizeof(double))
                if act is not None:
                    act[r] = ez_argmax(outputs, n_outputs)
    finally:
        free(values)
        free(outputs)
