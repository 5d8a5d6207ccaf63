# Reproduction kernels: mutated offspring (docs/algorithm.md 5.4) and crossover children (5.5).
#
# Genomes are CSR gene tables (ezspark.engine.population): genome g is rows
# off[g] ... off[g+1]-1 of the columns innovation, src, dst (int32), weight (float64), enabled
# (bool, read as uint8), sorted by innovation.  Children are written to caller-allocated CSR
# outputs in the same form.
#
# Innovation registry (ezspark._core._registry.RegistryTables, the base of the engine's
# InnovationRegistry; the same arrays, updated in place):
#
#   pair_keys     int64[Cp]     (src << 32) | dst, or EMPTY = -1 for a free slot
#   pair_values   int32[Cp]     innovation number of the pair in that slot
#   split_keys    int64[Cs]     innovation of the split gene, or EMPTY
#   split_values  int32[Cs, 2]  (node id, first innovation); the second innovation is first + 1
#   counters      int64[4]      next_node, next_innovation, pairs stored, splits stored
#
#   Cp and Cs are powers of two (>= 2).  Linear probing: a key sits in the first matching or free
#   slot of s, s+1, ... (mod C) with the Fibonacci hash
#       s = (uint64(key) * 0x9E3779B97F4A7C15 mod 2**64) >> (64 - log2(C)).
#   Nothing is deleted.  An insertion is refused (ValueError, return -1) unless the table stays
#   at most half full: 2 * (count + 1) <= C.  A first split checks room for 2 pairs and 1 split
#   before changing anything.  RegistryTables probes identically, so the kernel and its twin
#   leave identical arrays.
#
# Draw layout (docs/algorithm.md 1.3; ezspark._core._operators): per parent gene of a child 4
# uniforms (enable test, weight test, replace test, U(-5, 5) source) and 1 normal; per child 6
# uniforms (structural test 1, structural test 2, structural pick, U(-2, 2) source, add-node
# test, add-node pick).  "Pick one of n" is min(floor(u * n), n - 1).

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t, uint8_t

ctypedef unsigned long long uint64_t


cdef struct Registry:
    # Borrowed pointers into the registry arrays, valid for one kernel call.
    int64_t* pair_keys          # [pair_cap] keys (src << 32) | dst, -1 = free
    int32_t* pair_values        # [pair_cap] innovation numbers
    intp_t pair_cap             # Cp, a power of two >= 2
    int pair_shift              # 64 - log2(Cp)
    int64_t* split_keys         # [split_cap] innovation of the split gene, -1 = free
    int32_t* split_values       # [2 * split_cap] node id, first innovation (row-major pairs)
    intp_t split_cap            # Cs, a power of two >= 2
    int split_shift             # 64 - log2(Cs)
    int64_t* counters           # [4] next_node, next_innovation, pairs stored, splits stored


cdef struct GeneTable:
    # Borrowed pointers to read-only CSR gene columns (the parents).
    const int64_t* off          # [P+1] offsets
    const int32_t* innovation   # [G] innovation numbers, sorted within each genome
    const int32_t* src          # [G] source node ids
    const int32_t* dst          # [G] target node ids
    const float64_t* weight     # [G] weights
    const uint8_t* enabled      # [G] 0 / 1


cdef struct OutGenes:
    # Borrowed pointers to the output gene columns (capacity checked by the caller).
    int32_t* innovation
    int32_t* src
    int32_t* dst
    float64_t* weight
    uint8_t* enabled


cdef struct Rates:
    float64_t activate_rate     # 5.4 a: per disabled gene
    float64_t weight_rate       # 5.4 b: per gene
    float64_t rho               # 5.4 b: replace instead of perturb
    float64_t p_rem             # 5.4 c: remove-connection rate (add in simplification mode)
    float64_t add_node_rate     # 5.4 d
    intp_t n_inputs             # I: input nodes 1 ... I
    intp_t n_outputs            # O: output nodes I+1 ... I+O
    bint recurrent              # the extension key: add-connection may close cycles, outputs
                                # are sources too and self-loops are pairs (algorithm.md 3.3)


cdef struct Scratch:
    # Work space for one child at a time; sized from the largest parent (n_max genes).
    intp_t max_local            # I + O + 2 * n_max: most nodes a parent graph can have
    intp_t words                # uint64 words per bitset row: ceil(max_local / 64)
    int32_t* hidden_len         # [P] number of hidden nodes of parent p; -1 until its cache
                                #     below is filled (lazily, once per parent per call)
    int32_t* hidden             # [2 * G] from 2 * off[p]: parent p's distinct hidden ids, sorted
    int32_t* local_src          # [G] local index of each parent gene's source (filled with hidden)
    int32_t* local_dst          # [G] local index of each parent gene's target
                                #     local index: node v <= I + O -> v - 1; hidden -> I + O + rank
    int32_t* deg                # [max_local + 1] out-degrees, then CSR offsets of adj
    int32_t* indeg              # [max_local] in-degrees (Kahn's algorithm)
    int32_t* adj                # [n_max] targets (local index) of each local node's genes
    int32_t* queue              # [max_local] Kahn's queue (topological order)
    int32_t* per_source         # [max_local] add-connection candidates per source (local index)
    int32_t* cand               # [n_max + 3] add-node candidates (gene positions in the child)
    uint64_t* anc               # [max_local * words] ancestor bitset of each local node
    uint64_t* eout              # [max_local * words] enabled-target bitset of each local node


cdef intp_t probe(const int64_t* keys, intp_t cap, int shift, int64_t key) noexcept nogil
    # Slot of key, or of the free slot where it would go (the table has a free slot).

cdef int pair_innovation(Registry* reg, int32_t src, int32_t dst,
                         int32_t* innovation) except -1 nogil
    # Innovation of (src, dst), created (next_innovation) if new.  -1 + ValueError when full.

cdef int32_t split_node(const Registry* reg, int32_t innovation) noexcept nogil
    # Node id of the first split of gene innovation, or -1 if it was never split.

cdef int split_gene(Registry* reg, int32_t innovation, int32_t src, int32_t dst,
                    int32_t* node, int32_t* first) except -1 nogil
    # (node, first) of splitting gene innovation = (src, dst); a first split creates the node,
    # two innovations and both pairs.  -1 + ValueError when a table would pass half full.

cdef int mutate_child(const GeneTable* parents, intp_t p, const float64_t* gene_u,
                      const float64_t* gene_z, const float64_t* child_u, bint simplify,
                      float64_t p_add, const Rates* rates, Registry* reg, Scratch* scratch,
                      OutGenes* out, intp_t start, intp_t* length) except -1 nogil
    # docs/algorithm.md 5.4 a-d on parent p with its draws; writes the child at out[start ...]
    # and its gene count to length (at most n_p + 3).  Returns 0, or -1 with ValueError set
    # (cycle in the parent's gene graph, full registry table, exhausted int32 numbers).
