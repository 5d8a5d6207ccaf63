# Batched activation of feed-forward network programs (docs/algorithm.md 3.4).
#
# A batch of P programs is a set of flat arrays concatenated over genomes, CSR style; the same
# arrays, under the same names, are the fields of ezspark.network.programs.Programs and the
# payload sent to workers.  Program g evaluates into a private value vector v of length I + n_g:
#
#   v[0 : I]    the observation row, unchanged (slot a - 1 holds EzSpark input node a)
#   v[I + k]    computed node k of program g, k = 0 ... n_g - 1, where
#               n_g = node_off[g + 1] - node_off[g] and its global index is i = node_off[g] + k
#
# Computed nodes (hidden and output nodes that reach an output) are stored in a topological
# order, so every source of node k sits in a slot below I + k.  Each node computes
#
#   s = 0.0;  for e in in_off[i] ... in_off[i + 1] - 1, in that order:
#       s = s + in_w[e] * v[in_src[e]]
#   v[I + k] = 1.0 / (1.0 + exp(-(slope * (node_bias[i] + s))))
#
# with ezspark's own exp (exp_det below; the same operations in the compiled kernels and the
# numpy twin, so no platform libm is involved): +inf above 709.79 (so the node gives 0.0, no
# error), +0.0 below -745.2, NaN for NaN, otherwise within about 1 ulp of the true value.
# The order of the additions is part of the contract: EzSpark programs list each node's enabled
# genes in increasing innovation order, and the numpy twin (_activate_py.py) adds in the same
# order, so both round alike: results are bit-identical (NaN payloads aside).
# Outputs: o_j = v[out_slot[g * O + j]]; the action is the lowest j with o_j == max(o)
# (numpy.argmax semantics: a NaN counts as the maximum).
#
# Evaluation order is free: rows may be evaluated in any order and in blocks of lanes (the
# compiled kernels group rows by program and run 8 or 4 of them side by side); every row's
# arithmetic is the one above.

from ezspark._core._typedefs cimport float64_t


cdef float64_t exp_det(float64_t x) noexcept nogil
    # ezspark's exp (see above); Python: ezspark._core._activate.exp.

cdef float64_t sigmoid_det(float64_t z) noexcept nogil
    # 1.0 / (1.0 + exp_det(-z)): the value of a computed node with z = slope * (bias + s).
