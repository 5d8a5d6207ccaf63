"""Tests written for mutants of the distance kernel's numpy twin (``_core/_distance_py.py``)
that survived mutation testing (docs/testing.md, "Mutation testing").  Each runs on both
kernels (``kernels`` fixture): the compiled one is the oracle of the contract in
``_distance.pxd`` (δ of docs/algorithm.md 5.2, first-fit speciation of 5.1 step 7.1)."""
from __future__ import annotations

import numpy as np
import pytest

SPECIATE_OUTPUTS = ("species", "dist", "founders")


def table(innovations, weights=None):
    """(off, innovation, weight, enabled) of genomes given as lists of innovation numbers;
    every gene enabled, weights 0.0 unless given (one list per genome)."""
    counts = [len(g) for g in innovations]
    off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    inn = np.array([i for g in innovations for i in g], dtype=np.int32)
    if weights is None:
        w = np.zeros(inn.shape[0])
    else:
        w = np.array([x for g in weights for x in g], dtype=np.float64)
    return off, inn, w, np.ones(inn.shape[0], dtype=bool)


def distances(kernels, a, b, ia, ib, n_io=2):
    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    out = np.full(ia.shape[0], np.nan)
    kernels.distance_pairs(*a, *b, ia, ib, n_io, out)
    return out


def test_a_single_matching_gene_counts_in_the_weight_term(kernels):
    """W̄ is the mean over the M matching genes also when M = 1 (N = 1: I·O = 100)."""
    a = table([[1], [1, 2]], [[1.0], [1.0, 0.0]])
    b = table([[1], [1, 3]], [[3.5], [-1.0, 0.0]])
    out = distances(kernels, a, b, [0, 1, 0], [0, 1, 1], n_io=100)
    assert list(out) == [0.4 * 2.5, 1 + 1 + 0.4 * 2.0, 1 + 0.4 * 2.0]


def test_genomes_of_a_table_without_any_gene(kernels):
    """A table whose genomes are all empty: δ(∅, g) counts every gene of g, δ(∅, ∅) = 0."""
    empty = table([[], []])
    b = table([[1, 2, 5]], [[1.0, 2.0, 3.0]])
    assert list(distances(kernels, empty, b, [0, 1], [0, 0])) == [3.0, 3.0]
    assert list(distances(kernels, b, empty, [0], [1])) == [3.0]
    assert list(distances(kernels, empty, empty, [0, 1], [1, 0])) == [0.0, 0.0]


def test_speciate_a_population_without_any_gene(kernels):
    species, dist, founders = np.full(3, -7), np.full(3, np.nan), np.full(3, -7)
    n_new = kernels.speciate(*table([[], [], []]), *table([]), 0.5, 2, species, dist, founders)
    assert n_new == 1
    assert list(species) == [0, 0, 0] and list(dist) == [0.0, 0.0, 0.0]
    assert list(founders) == [0, -7, -7]


def test_a_one_gene_genome_splits_the_others_genes_at_its_innovation(kernels):
    """g1 = {10}, g2 = {1, ..., 30}, N = 30 (>= 20 + 2): g2's genes 11..30 are excess (above
    M1 = 10), 1..9 disjoint; E/N + D/N is summed in that order, so the split shows in δ."""
    g1, g2 = [10], list(range(1, 31))
    assert 20 / 30 + 9 / 30 != 29 / 30 + 0 / 30          # M1 = 0 would give E = 29, D = 0
    out = distances(kernels, table([g1, g2]), table([g1, g2]), [0, 1], [1, 0])
    assert list(out) == [20 / 30 + 9 / 30] * 2


def test_innovations_stay_apart_past_two_million_pairs(kernels):
    """Genes 3 and 4 do not match, in the 2**21 + 1-th pair as in the first: each pair is
    its own, whatever K (a float64 (pair, innovation) key would round 3 onto 4 there)."""
    a = table([[3], [4]], [[1.0], [1.0]])
    n_pairs = 2 ** 21 + 1
    ia = np.zeros(n_pairs, dtype=np.int64)
    ib = np.ones(n_pairs, dtype=np.int64)
    ia[1] = 1                                            # one matching pair: δ(g, g) = 0
    out = distances(kernels, a, a, ia, ib)
    assert out[0] == out[-1] == 2.0                      # E + D = 2, N = 1, no matching gene
    assert out[1] == 0.0
    assert np.all(out[2:] == 2.0)


@pytest.mark.parametrize("name", SPECIATE_OUTPUTS)
def test_speciate_refuses_a_read_only_output_even_without_genomes(kernels, name):
    """As a memoryview of a writable buffer, speciate refuses a read-only ``species``,
    ``dist`` or ``founders`` before placing any genome, also when P has none."""
    outputs = dict(species=np.empty(0, np.int64), dist=np.empty(0),
                   founders=np.empty(0, np.int64))
    outputs[name].flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.speciate(*table([]), *table([[1, 2]]), 3.0, 2, outputs["species"],
                         outputs["dist"], outputs["founders"])
