"""Numpy twin of ``_distance.pyx``: the same functions, signatures, checks and arithmetic.

The gene-table layout and the arithmetic are documented in ``_distance.pxd``.  The twin is
vectorised across pairs: matching genes are found with one ``searchsorted`` over (pair,
innovation) keys, and W̄'s sums walk the match rank j = 0, 1, ..., adding the j-th matching
gene of every pair that has one at once.  Each pair still adds its |w̃1 - w̃2| one by one in
innovation order, starting from 0.0, exactly as the compiled merge does, so every δ is the
same double.  ``speciate`` computes a block of genomes against all existing representatives
per call, then tries the species founded in this call genome by genome, in order.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array

__all__ = ["distance_pairs", "speciate"]

_BLOCK_PAIRS = 1 << 15   # pairs per vectorised batch in speciate


def _array(a, kinds: str, itemsize: int, name: str, *, writeable: bool = False):
    """Check ``a`` the way a typed contiguous 1-D memoryview does, and return it."""
    return check_array(a, kinds, itemsize, 1, name, writeable=writeable)


def _table(name, off, innovation, weight, enabled):
    """Check one CSR gene table as the compiled ``_make_table`` does; return its columns with
    ``enabled`` as bool."""
    _array(off, "i", 8, f"{name}_off")
    _array(innovation, "i", 4, f"{name}_innovation")
    _array(weight, "f", 8, f"{name}_weight")
    _array(enabled, "bu", 1, f"{name}_enabled")      # bool, or uint8 (nonzero = enabled)
    n_genes = innovation.shape[0]
    if off.shape[0] < 1:
        raise ValueError(f"{name}_off needs P + 1 >= 1 entries")
    if weight.shape[0] != n_genes or enabled.shape[0] != n_genes:
        raise ValueError(f"{name}_innovation, {name}_weight and {name}_enabled have "
                         f"{n_genes}, {weight.shape[0]} and {enabled.shape[0]} entries: "
                         f"they need one per gene")
    if off[0] != 0:
        raise ValueError(f"{name}_off[0] = {int(off[0])}, expected 0")
    down = np.flatnonzero(off[1:] < off[:-1])
    if down.size:
        g = int(down[0])
        raise ValueError(f"{name}_off decreases at {g + 1}: {int(off[g])} > {int(off[g + 1])}")
    if off[-1] != n_genes:
        raise ValueError(f"{name}_off[-1] = {int(off[-1])} but the table has {n_genes} genes")
    return off, innovation, weight, enabled.astype(bool, copy=False)


def _gather(off, idx):
    """Rows of genomes ``idx`` concatenated: (rows, pair of each row, count per genome)."""
    start = off[idx]
    counts = off[idx + 1] - start
    total = int(counts.sum())
    pair = np.repeat(np.arange(idx.shape[0], dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    rows = start[pair] + (np.arange(total, dtype=np.int64) - first[pair])
    return rows, pair, counts


def _last_innovation(off, innovation, idx, counts):
    """Last innovation of each genome in ``idx``, 0 for an empty one (int64)."""
    last = np.zeros(idx.shape[0], dtype=np.int64)
    full = counts > 0
    last[full] = innovation[off[idx[full] + 1] - 1]
    return last


def _deltas(a, b, ia, ib, n_io):
    """δ(genome ia[k] of a, genome ib[k] of b) for every k; tables checked, indices valid."""
    n_pairs = ia.shape[0]
    a_off, a_inn, a_w, a_en = a
    b_off, b_inn, b_w, b_en = b
    rows1, pair1, n1 = _gather(a_off, ia)
    rows2, pair2, n2 = _gather(b_off, ib)
    # (pair, innovation) keys, increasing along each concatenation: genomes are sorted.
    key1 = (pair1 << 32) + (a_inn[rows1].astype(np.int64) + (1 << 31))
    key2 = (pair2 << 32) + (b_inn[rows2].astype(np.int64) + (1 << 31))
    pos = np.searchsorted(key2, key1)
    hit = pos < key2.shape[0]
    hit[hit] = key2[pos[hit]] == key1[hit]
    m1, m2 = rows1[hit], rows2[pos[hit]]        # matching genes, in (pair, innovation) order
    mpair = pair1[hit]
    matching = np.bincount(mpair, minlength=n_pairs)
    v1 = np.where(a_en[m1], a_w[m1], 0.0)
    v2 = np.where(b_en[m2], b_w[m2], 0.0)
    gap = np.abs(v1 - v2)
    s = np.zeros(n_pairs)
    first = np.cumsum(matching) - matching
    for j in range(int(matching.max()) if n_pairs else 0):
        live = np.flatnonzero(matching > j)
        s[live] = s[live] + gap[first[live] + j]
    wbar = np.zeros(n_pairs)
    some = matching > 0
    wbar[some] = s[some] / matching[some]
    # Excess: unmatched genes above the other genome's last innovation (0 when it is empty).
    last1 = _last_innovation(a_off, a_inn, ia, n1)
    last2 = _last_innovation(b_off, b_inn, ib, n2)
    miss1 = ~hit
    hit2 = np.zeros(key2.shape[0], dtype=bool)
    hit2[pos[hit]] = True
    miss2 = ~hit2
    ex1 = a_inn[rows1[miss1]] > last2[pair1[miss1]]
    ex2 = b_inn[rows2[miss2]] > last1[pair2[miss2]]
    excess = (np.bincount(pair1[miss1][ex1], minlength=n_pairs)
              + np.bincount(pair2[miss2][ex2], minlength=n_pairs))
    disjoint = (n1 + n2 - 2 * matching) - excess
    big = np.maximum(n1, n2)
    norm = np.where(big >= 20 + n_io, big.astype(np.float64), 1.0)
    return excess / norm + disjoint / norm + 0.4 * wbar


def distance_pairs(a_off, a_innovation, a_weight, a_enabled, b_off, b_innovation, b_weight,
                   b_enabled, ia, ib, n_io, out):
    """out[k] = δ(genome ia[k] of table A, genome ib[k] of table B) for every k.

    Tables as in ``_distance.pxd`` (the CSR columns of a Population: ``off`` int64[P+1],
    ``innovation`` int32[C], ``weight`` float64[C], ``enabled`` bool[C]).  ``ia``, ``ib``
    int64[K]; ``n_io`` = I*O; writes ``out`` float64[K].  Returns None.  Raises ValueError
    when lengths or offsets disagree or an index is out of range.
    """
    n_io = int(n_io)
    a = _table("a", a_off, a_innovation, a_weight, a_enabled)
    b = _table("b", b_off, b_innovation, b_weight, b_enabled)
    _array(ia, "i", 8, "ia")
    _array(ib, "i", 8, "ib")
    _array(out, "f", 8, "out", writeable=True)
    n_pairs = ia.shape[0]
    if ib.shape[0] != n_pairs or out.shape[0] != n_pairs:
        raise ValueError(f"ia, ib and out have {n_pairs}, {ib.shape[0]} and {out.shape[0]} "
                         f"entries: they need one per pair")
    if n_pairs == 0:
        return
    n_a, n_b = a_off.shape[0] - 1, b_off.shape[0] - 1
    bad_a = (ia < 0) | (ia >= n_a)
    bad_b = (ib < 0) | (ib >= n_b)
    bad = np.flatnonzero(bad_a | bad_b)
    if bad.size:
        # As the compiled loop: pairs before the first bad one are written, then it raises
        # (ia is checked before ib within a pair).
        k = int(bad[0])
        if k:
            out[:k] = _deltas(a, b, ia[:k], ib[:k], n_io)
        if bad_a[k]:
            raise ValueError(f"ia[{k}] = {int(ia[k])} is not a genome index of table A "
                             f"(it has {n_a} genomes)")
        raise ValueError(f"ib[{k}] = {int(ib[k])} is not a genome index of table B "
                         f"(it has {n_b} genomes)")
    out[...] = _deltas(a, b, ia, ib, n_io)


def speciate(p_off, p_innovation, p_weight, p_enabled, r_off, r_innovation, r_weight,
             r_enabled, threshold, n_io, species, dist, founders):
    """First-fit speciation of every genome of table P (docs/algorithm.md 5.1, step 7.1);
    returns n_new, the number of species founded.

    Table R holds the representatives of the R existing species in id order.  Genome i joins
    the first species s (s < R: genome s of R; s >= R: genome ``founders[s - R]`` of P) with
    δ < ``threshold``: ``species[i]`` = s, ``dist[i]`` = δ.  Otherwise it founds species
    R + n_new: ``founders[n_new]`` = i, ``dist[i]`` = 0.0.  ``species``, ``dist`` and
    ``founders`` (int64, float64, int64, each of length P) are written; ``founders[n_new:]``
    is left as it was.  Raises ValueError when lengths or offsets disagree.
    """
    threshold, n_io = float(threshold), int(n_io)
    p = _table("p", p_off, p_innovation, p_weight, p_enabled)
    r = _table("r", r_off, r_innovation, r_weight, r_enabled)
    _array(species, "i", 8, "species", writeable=True)
    _array(dist, "f", 8, "dist", writeable=True)
    _array(founders, "i", 8, "founders", writeable=True)
    n_genomes, n_reps = p_off.shape[0] - 1, r_off.shape[0] - 1
    if (species.shape[0] != n_genomes or dist.shape[0] != n_genomes
            or founders.shape[0] != n_genomes):
        raise ValueError(f"species, dist and founders have {species.shape[0]}, "
                         f"{dist.shape[0]} and {founders.shape[0]} entries, expected "
                         f"{n_genomes} (one per genome of P)")
    n_new = 0
    block = max(1, _BLOCK_PAIRS // max(n_reps, 1))
    for start in range(0, n_genomes, block):
        stop = min(n_genomes, start + block)
        if n_reps:
            genomes = np.arange(start, stop, dtype=np.int64)
            to_reps = _deltas(p, r, np.repeat(genomes, n_reps),
                              np.tile(np.arange(n_reps, dtype=np.int64), stop - start),
                              n_io).reshape(stop - start, n_reps)
        for i in range(start, stop):
            if n_reps:
                d = to_reps[i - start]
                hits = np.flatnonzero(d < threshold)
                if hits.size:
                    species[i], dist[i] = hits[0], d[hits[0]]
                    continue
            if n_new:
                d = _deltas(p, p, np.full(n_new, i, dtype=np.int64), founders[:n_new].copy(),
                            n_io)
                hits = np.flatnonzero(d < threshold)
                if hits.size:
                    species[i], dist[i] = n_reps + hits[0], d[hits[0]]
                    continue
            species[i], dist[i], founders[n_new] = n_reps + n_new, 0.0, i
            n_new += 1
    return n_new
