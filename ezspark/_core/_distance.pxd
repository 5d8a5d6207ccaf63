# Compatibility distance δ (docs/algorithm.md 5.2) and first-fit speciation
# (docs/algorithm.md 5.1, step 7.1).
#
# A gene table is the CSR layout of ezspark.engine.population.Population: genome g owns rows
# off[g] ... off[g+1]-1 of the columns innovation int32, weight float64 and enabled bool, sorted
# by strictly increasing innovation within each genome (a precondition, not checked).  The
# kernels read ``enabled`` through a ``const uint8_t[::1]`` memoryview: Cython accepts numpy
# bool buffers (format '?') for it directly, so callers pass Population.enabled as it is (numpy
# uint8 0/1 is accepted too; any nonzero byte counts as enabled).
#
# δ of genome g1 (n1 genes) and genome g2 (n2 genes), with n_io = I*O:
#
#   one sorted merge over the two innovation runs; for every matching innovation, in increasing
#   order:  s = s + |w̃1 - w̃2|,  s starting at 0.0, w̃ = w if enabled else 0.0
#   matching m; W̄ = s / m, or 0.0 if m = 0
#   M1, M2 = last innovation of g1, g2 (0 for an empty genome); an unmatched gene is excess if
#   its innovation is > the other genome's M, else disjoint; E, D count both genomes' genes
#   N = max(n1, n2) if max(n1, n2) >= 20 + n_io, else 1.0
#   δ = E/N + D/N + 0.4*W̄, added in that order
#
# This is ezspark.engine.operators.distance operation for operation (compiled without FMA
# contraction), so both give the same double, bit for bit; the numpy twin _distance_py.py too.
# δ is symmetric, δ(g, g) = 0 for finite weights, and δ of two empty genomes is 0.

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t, uint8_t


cdef struct GeneTable:
    # Borrowed pointers into the columns of one table, valid for the duration of one kernel call.
    intp_t n_genomes            # P: number of genomes
    const int64_t* off          # [P+1] CSR offsets: off[0] = 0, never decreasing, off[P] = C
    const int32_t* innovation   # [C] innovation numbers, strictly increasing within a genome
    const float64_t* weight     # [C] connection weights
    const uint8_t* enabled      # [C] nonzero for an enabled gene


cdef float64_t genome_distance(const GeneTable* a, intp_t ga, const GeneTable* b, intp_t gb,
                               intp_t n_io) noexcept nogil
    # δ(genome ga of a, genome gb of b).  Precondition: 0 <= ga < a.n_genomes,
    # 0 <= gb < b.n_genomes.  Allocates nothing.

cdef int distance_pairs_ptr(const GeneTable* a, const GeneTable* b, const int64_t* ia,
                            const int64_t* ib, intp_t n_pairs, intp_t n_io,
                            float64_t* out) except -1 nogil
    # out[k] = δ(genome ia[k] of a, genome ib[k] of b) for k = 0 ... n_pairs-1.  Returns 0, or -1
    # with ValueError set when some ia[k] or ib[k] is not a genome index of its table (entries
    # before k have been written).

cdef intp_t speciate_ptr(const GeneTable* p, const GeneTable* r, float64_t threshold,
                         intp_t n_io, int64_t* species, float64_t* dist,
                         int64_t* founders) noexcept nogil
    # First-fit speciation of the genomes of p (docs/algorithm.md 5.1, step 7.1);
    # R = r.n_genomes.
    # For i = 0 ... P-1 in order, try s = 0, 1, ...: the representative of s < R is genome s of
    # r; of s >= R it is genome founders[s - R] of p (a species founded earlier in this call).
    # The first s with δ(genome i, rep s) < threshold gives species[i] = s, dist[i] = δ.  If
    # there is none: species[i] = R + n_new, dist[i] = 0.0, founders[n_new] = i, n_new += 1.
    # Returns n_new; founders[n_new:] is left as it was.  A NaN threshold founds every genome.
