"""Compatibility distance δ (docs/algorithm.md 5.2) and first-fit speciation (docs/algorithm.md
5.1, step 7.1).

The gene-table layout and the arithmetic are documented in ``_distance.pxd``.  The ``def``
functions check every length and the offsets of both tables with the GIL, then run one
``nogil`` loop: one sorted merge per pair, no allocation and no Python object per pair.
``_distance_py.py`` is the numpy twin with the same signatures.
"""
from libc.math cimport fabs

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t, uint8_t

__all__ = ["distance_pairs", "speciate"]


cdef inline float64_t _delta(const int32_t* inn1, const float64_t* w1, const uint8_t* en1,
                             intp_t n1, const int32_t* inn2, const float64_t* w2,
                             const uint8_t* en2, intp_t n2, intp_t n_io) noexcept nogil:
    """δ of two gene runs (pointers to their first rows; a pointer may be anything when its
    run is empty)."""
    cdef intp_t i = 0, j = 0, matching = 0, excess = 0, disjoint, big, k
    cdef int32_t x, y
    cdef float64_t s = 0.0, v1, v2, wbar = 0.0, norm
    if n1 == 0 or n2 == 0:
        # M = 0 for the empty genome: the other's genes are excess when their innovation > 0
        # (always, for registry innovations), exactly as ezspark.engine.operators.distance counts.
        for k in range(n1):
            excess += inn1[k] > 0
        for k in range(n2):
            excess += inn2[k] > 0
    else:
        # A three-way branch beats branch-free index updates here (measured): the common
        # case, a run of matching genes, is predicted well, and W̄'s sum stays sequential.
        while i < n1 and j < n2:
            x = inn1[i]
            y = inn2[j]
            if x < y:
                i += 1
            elif y < x:
                j += 1
            else:
                v1 = w1[i] if en1[i] else 0.0
                v2 = w2[j] if en2[j] else 0.0
                s = s + fabs(v1 - v2)
                matching += 1
                i += 1
                j += 1
        # When the merge stops one run is used up, and the genes left in the other are exactly
        # those above the used-up run's last innovation M: the excess genes of both genomes.
        excess = (n1 - i) + (n2 - j)
    disjoint = (n1 + n2 - 2 * matching) - excess
    if matching:
        wbar = s / <float64_t>matching
    big = n1 if n1 > n2 else n2
    norm = <float64_t>big if big >= 20 + n_io else 1.0
    return <float64_t>excess / norm + <float64_t>disjoint / norm + 0.4 * wbar


cdef float64_t genome_distance(const GeneTable* a, intp_t ga, const GeneTable* b, intp_t gb,
                               intp_t n_io) noexcept nogil:
    cdef intp_t lo1 = <intp_t>a.off[ga], lo2 = <intp_t>b.off[gb]
    return _delta(a.innovation + lo1, a.weight + lo1, a.enabled + lo1,
                  <intp_t>a.off[ga + 1] - lo1,
                  b.innovation + lo2, b.weight + lo2, b.enabled + lo2,
                  <intp_t>b.off[gb + 1] - lo2, n_io)


cdef int distance_pairs_ptr(const GeneTable* a, const GeneTable* b, const int64_t* ia,
                            const int64_t* ib, intp_t n_pairs, intp_t n_io,
                            float64_t* out) except -1 nogil:
    cdef intp_t k
    cdef int64_t ga, gb
    for k in range(n_pairs):
        ga = ia[k]
        gb = ib[k]
        if ga < 0 or ga >= a.n_genomes:
            with gil:
                raise ValueError(f"ia[{k}] = {ga} is not a genome index of table A (it has "
                                 f"{a.n_genomes} genomes)")
        if gb < 0 or gb >= b.n_genomes:
            with gil:
                raise ValueError(f"ib[{k}] = {gb} is not a genome index of table B (it has "
                                 f"{b.n_genomes} genomes)")
        out[k] = genome_distance(a, <intp_t>ga, b, <intp_t>gb, n_io)
    return 0


cdef intp_t speciate_ptr(const GeneTable* p, const GeneTable* r, float64_t threshold,
                         intp_t n_io, int64_t* species, float64_t* dist,
                         int64_t* founders) noexcept nogil:
    cdef intp_t i, s, n_reps = r.n_genomes, n_new = 0
    cdef float64_t d
    cdef bint placed
    for i in range(p.n_genomes):
        placed = False
        for s in range(n_reps):
            d = genome_distance(p, i, r, s, n_io)
            if d < threshold:
                species[i] = s
                dist[i] = d
                placed = True
                break
        if not placed:
            for s in range(n_new):
                d = genome_distance(p, i, p, <intp_t>founders[s], n_io)
                if d < threshold:
                    species[i] = n_reps + s
                    dist[i] = d
                    placed = True
                    break
        if not placed:
            species[i] = n_reps + n_new
            dist[i] = 0.0
            founders[n_new] = i
            n_new += 1
    return n_new


cdef int _make_table(GeneTable* table, str name, const int64_t[::1] off,
                     const int32_t[::1] innovation, const float64_t[::1] weight,
                     const uint8_t[::1] enabled) except -1:
    """Fill table from the columns of one CSR gene table after checking lengths and offsets."""
    cdef intp_t g, n_genes = innovation.shape[0]
    if off.shape[0] < 1:
        raise ValueError(f"{name}_off needs P + 1 >= 1 entries")
    if weight.shape[0] != n_genes or enabled.shape[0] != n_genes:
        raise ValueError(f"{name}_innovation, {name}_weight and {name}_enabled have "
                         f"{n_genes}, {weight.shape[0]} and {enabled.shape[0]} entries: "
                         f"they need one per gene")
    if off[0] != 0:
        raise ValueError(f"{name}_off[0] = {off[0]}, expected 0")
    table.n_genomes = off.shape[0] - 1
    for g in range(table.n_genomes):
        if off[g + 1] < off[g]:
            raise ValueError(f"{name}_off decreases at {g + 1}: {off[g]} > {off[g + 1]}")
    if off[table.n_genomes] != n_genes:
        raise ValueError(f"{name}_off[-1] = {off[table.n_genomes]} but the table has "
                         f"{n_genes} genes")
    # Zero-length columns have no element 0; their pointers are never dereferenced.
    table.off = &off[0]
    table.innovation = &innovation[0] if n_genes else NULL
    table.weight = &weight[0] if n_genes else NULL
    table.enabled = &enabled[0] if n_genes else NULL
    return 0


def distance_pairs(const int64_t[::1] a_off not None, const int32_t[::1] a_innovation not None,
                   const float64_t[::1] a_weight not None, const uint8_t[::1] a_enabled not None,
                   const int64_t[::1] b_off not None, const int32_t[::1] b_innovation not None,
                   const float64_t[::1] b_weight not None, const uint8_t[::1] b_enabled not None,
                   const int64_t[::1] ia not None, const int64_t[::1] ib not None,
                   intp_t n_io, float64_t[::1] out not None):
    """out[k] = δ(genome ia[k] of table A, genome ib[k] of table B) for every k, in one
    ``nogil`` loop.

    Tables as in ``_distance.pxd`` (the CSR columns of a Population: ``off`` int64[P+1],
    ``innovation`` int32[C], ``weight`` float64[C], ``enabled`` bool[C]).  ``ia``, ``ib``
    int64[K]; ``n_io`` = I*O; writes ``out`` float64[K].  Returns None.  Raises ValueError
    when lengths or offsets disagree or an index is out of range.
    """
    cdef GeneTable a, b
    cdef intp_t n_pairs = ia.shape[0]
    _make_table(&a, "a", a_off, a_innovation, a_weight, a_enabled)
    _make_table(&b, "b", b_off, b_innovation, b_weight, b_enabled)
    if ib.shape[0] != n_pairs or out.shape[0] != n_pairs:
        raise ValueError(f"ia, ib and out have {n_pairs}, {ib.shape[0]} and {out.shape[0]} "
                         f"entries: they need one per pair")
    if n_pairs == 0:
        return
    with nogil:
        distance_pairs_ptr(&a, &b, &ia[0], &ib[0], n_pairs, n_io, &out[0])


def speciate(const int64_t[::1] p_off not None, const int32_t[::1] p_innovation not None,
             const float64_t[::1] p_weight not None, const uint8_t[::1] p_enabled not None,
             const int64_t[::1] r_off not None, const int32_t[::1] r_innovation not None,
             const float64_t[::1] r_weight not None, const uint8_t[::1] r_enabled not None,
             float64_t threshold, intp_t n_io, int64_t[::1] species not None,
             float64_t[::1] dist not None, int64_t[::1] founders not None):
    """First-fit speciation of every genome of table P (docs/algorithm.md 5.1, step 7.1), in
    one ``nogil`` loop; returns n_new, the number of species founded.

    Table R holds the representatives of the R existing species in id order.  Genome i joins
    the first species s (s < R: genome s of R; s >= R: genome ``founders[s - R]`` of P) with
    δ < ``threshold``: ``species[i]`` = s, ``dist[i]`` = δ.  Otherwise it founds species
    R + n_new: ``founders[n_new]`` = i, ``dist[i]`` = 0.0.  ``species``, ``dist`` and
    ``founders`` (int64, float64, int64, each of length P) are written; ``founders[n_new:]``
    is left as it was.  Raises ValueError when lengths or offsets disagree.
    """
    cdef GeneTable p, r
    cdef intp_t n_genomes, n_new
    _make_table(&p, "p", p_off, p_innovation, p_weight, p_enabled)
    _make_table(&r, "r", r_off, r_innovation, r_weight, r_enabled)
    n_genomes = p.n_genomes
    if (species.shape[0] != n_genomes or dist.shape[0] != n_genomes
            or founders.shape[0] != n_genomes):
        raise ValueError(f"species, dist and founders have {species.shape[0]}, "
                         f"{dist.shape[0]} and {founders.shape[0]} entries, expected "
                         f"{n_genomes} (one per genome of P)")
    if n_genomes == 0:
        return 0
    with nogil:
        n_new = speciate_ptr(&p, &r, threshold, n_io, &species[0], &dist[0], &founders[0])
    return n_new
