# Batched activation of feed-forward network programs (engine-spec 3.4).
#
# A batch of P programs is a set of flat arrays concatenated over genomes, CSR style; the same
# arrays, under the same names, are the fields of ezspark._network.Programs and the payload sent
# to workers.  Program g evaluates into a private value vector v of length I + n_g:
#
#   v[0 : I]    the observation row, unchanged (slot a - 1 holds EzSpark input node a)
#   v[I + k]    computed node k of program g, k = 0 ... n_g - 1, where
#               n_g = node_off[g + 1] - node_off[g] and its global index is i = node_off[g] + k
#
# Computed nodes (hidden and output nodes that reach an output) are stored in a topological
# order, so every source of node k sits in a slot below I + k.  Each node computes
#
#   s = 0.0;  for e in in_off[i] ... in_off[i + 1] - 1, in that order:  s += in_w[e] * v[in_src[e]]
#   v[I + k] = sigmoid(slope * (node_bias[i] + s)),   sigmoid(z) = 1 / (1 + exp(-z))
#
# where exp overflowing gives 0.0 with no error.  The order of the additions is part of the
# contract: EzSpark programs list each node's enabled genes in increasing innovation order, and
# the numpy twin (_activate_py.py) adds in the same order, so both round alike.
# Outputs: o_j = v[out_slot[g * O + j]]; the action is the lowest j with o_j == max(o)
# (numpy.argmax semantics: a NaN counts as the maximum).

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t


cdef struct ProgramView:
    # Borrowed pointers into the program arrays, valid for the duration of one kernel call.
    intp_t n_programs           # P: number of programs (genomes)
    intp_t n_inputs             # I: observation length; value slots 0 ... I-1
    intp_t n_outputs            # O: outputs per program
    intp_t max_values           # max over g of I + n_g: size of one scratch value vector
    float64_t slope             # s in sigmoid(slope * (bias + sum)); 4.9 for EzSpark
    const int64_t* node_off     # [P+1] CSR offsets: program g owns computed nodes node_off[g] ... node_off[g+1]-1
    const float64_t* node_bias  # [Nn] bias of each computed node (EzSpark: 0 hidden, 1 output)
    const int64_t* in_off       # [Nn+1] global CSR offsets: node i sums edges in_off[i] ... in_off[i+1]-1
    const int32_t* in_src       # [E] source of each edge as a local value slot (< I + position of its node)
    const float64_t* in_w       # [E] weight of each edge
    const int32_t* out_slot     # [P*O] local value slot of output j of program g at g*O + j


cdef float64_t sigmoid(float64_t z) noexcept nogil
    # 1 / (1 + exp(-z)); 0.0 where exp(-z) overflows, NaN for NaN.

cdef void run_program(const ProgramView* prog, intp_t g, const float64_t* x,
                      float64_t* values, float64_t* outputs) noexcept nogil
    # Evaluate program g on one observation x[0:I]; values is scratch of prog.max_values doubles;
    # writes the O outputs to outputs[0:O].  Precondition: 0 <= g < P and a valid program.

cdef int64_t argmax_first(const float64_t* o, intp_t n) noexcept nogil
    # Lowest j with o[j] == max(o) (numpy.argmax: the first NaN wins); n >= 1.

cdef int activate_rows_ptr(const ProgramView* prog, const int64_t* row_genome, intp_t n_rows,
                           const float64_t* X, float64_t* out, int64_t* act,
                           float64_t* scratch) except -1 nogil
    # Row r (X[r*I : (r+1)*I]) runs program row_genome[r].  Writes out[r*O : (r+1)*O] unless out
    # is NULL, and act[r] unless act is NULL.  scratch holds prog.max_values + O doubles.
    # Returns 0, or -1 with ValueError set when some row_genome[r] is outside 0 ... P-1
    # (rows before r have been written).
