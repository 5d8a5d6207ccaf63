"""The distance kernels (``_core/_distance.pyx`` and its twin ``_distance_py.py``): δ of
docs/algorithm.md 5.2 bit for bit as ``ezspark.engine.operators.distance``, and first-fit
speciation (docs/algorithm.md 5.1, step 7.1).
"""
from __future__ import annotations

import importlib.machinery
import inspect
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ezspark._core._distance_py as twin
from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import add_node, distance
from ezspark.engine.population import Population
from tests.genomes import grown_genome, initial_genome
from tests.strategies import distance_genomes

try:
    import ezspark._core._distance as compiled
except ImportError:  # not built: the "compiled" cases skip (or fail, see the fixture)
    compiled = None

MODULES = {"compiled": "ezspark._core._distance", "pure-python": "ezspark._core._distance_py"}


@pytest.fixture(params=list(MODULES))
def impl(request):
    """One implementation module; "compiled" skips when it is not built, unless
    EZSPARK_REQUIRE_COMPILED=1 (then it fails)."""
    if request.param == "compiled":
        module = compiled
        if module is None:
            if os.environ.get("EZSPARK_REQUIRE_COMPILED") == "1":
                pytest.fail("EZSPARK_REQUIRE_COMPILED=1 but _distance is not built")
            pytest.skip("the compiled _distance module is not built")
        assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    else:
        module = twin
        assert module.__file__.endswith("_distance_py.py")
    assert module.__name__ == MODULES[request.param]
    assert module.distance_pairs.__module__ == MODULES[request.param]
    assert module.speciate.__module__ == MODULES[request.param]
    return module


def both():
    """The compiled module and the twin, or a skip when the compiled one is not built."""
    if compiled is None:
        if os.environ.get("EZSPARK_REQUIRE_COMPILED") == "1":
            pytest.fail("EZSPARK_REQUIRE_COMPILED=1 but _distance is not built")
        pytest.skip("the compiled _distance module is not built")
    return compiled, twin


# --- helpers ------------------------------------------------------------------------------
def table(genomes):
    """(off, innovation, weight, enabled) of a list of genomes, as a Population stores them."""
    pop = Population.from_genomes(genomes)
    return pop.off, pop.innovation, pop.weight, pop.enabled


def pair_distances(module, a, b, ia, ib, n_io):
    """``module.distance_pairs`` on genome lists a, b; returns out."""
    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    out = np.full(ia.shape[0], np.nan)
    module.distance_pairs(*table(a), *table(b), ia, ib, n_io, out)
    return out


def all_pairs(n_a, n_b):
    return np.repeat(np.arange(n_a), n_b), np.tile(np.arange(n_b), n_a)


def reference(a, b, ia, ib, n_in, n_out):
    return np.array([distance(a[i], b[j], n_in, n_out) for i, j in zip(ia, ib)])


def run_speciate(module, pop, reps, threshold, n_io, fill=-7):
    """``module.speciate``; returns (n_new, species, dist, founders) with founders whole."""
    n = len(pop)
    species = np.full(n, fill, dtype=np.int64)
    dist = np.full(n, np.nan)
    founders = np.full(n, fill, dtype=np.int64)
    n_new = module.speciate(*table(pop), *table(reps), threshold, n_io, species, dist, founders)
    return n_new, species, dist, founders


def naive_speciate(pop, reps, threshold, n_in, n_out):
    """docs/algorithm.md 5.1, step 7.1 as a plain loop over Genome objects and
    ``ezspark.engine.operators.distance``."""
    representatives = list(reps)
    species, dist, founders = [], [], []
    for i, genome in enumerate(pop):
        for s, rep in enumerate(representatives):
            d = distance(genome, rep, n_in, n_out)
            if d < threshold:
                species.append(s)
                dist.append(d)
                break
        else:
            species.append(len(representatives))
            dist.append(0.0)
            founders.append(i)
            representatives.append(genome)
    return species, dist, founders


def grown_family(seed, n_in=3, n_out=2, n_reps=4, n_pop=60):
    """Representatives and a population of their mutated descendants plus strangers, so
    that speciation both joins existing species and founds new ones."""
    rng = np.random.default_rng(seed)
    reg = InnovationRegistry(n_in, n_out)
    reps = [grown_genome(rng, reg, int(rng.integers(4, 14))) for _ in range(n_reps)]
    pop = []
    for _ in range(n_pop):
        if rng.random() < 0.7:
            pop.append(grown_genome(rng, reg, int(rng.integers(0, 3)),
                                    base=reps[rng.integers(n_reps)]))
        else:
            pop.append(grown_genome(rng, reg, int(rng.integers(0, 25))))
    return reps, pop


def worked_example():
    """The two genomes of the worked example of docs/algorithm.md 10: δ = 4.12 with I=4, O=2."""
    reg = InnovationRegistry(4, 2)
    base = initial_genome(4, 2, np.zeros(8))
    g1 = add_node(base.copy(), 2 / 8 + 1e-9, reg)       # splits gene 3
    g2 = add_node(base.copy(), 5 / 7 + 1e-9, reg)       # splits gene 6
    assert list(g1.innovation) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] and not g1.enabled[2]
    assert list(g2.innovation) == [1, 2, 3, 4, 5, 6, 7, 8, 11, 12] and not g2.enabled[5]
    g1.weight[0], g2.weight[0] = 0.5, 0.0
    g2.weight[2] = 1.2          # disabled in g1: counts as 0
    g1.weight[5] = -0.7         # disabled in g2
    g1.weight[8:] = g2.weight[8:] = 0.0
    return g1, g2


def genes(innovations, weights=None, enabled=None):
    """A genome for δ from innovation numbers (src/dst are unused placeholders)."""
    n = len(innovations)
    weights = np.zeros(n) if weights is None else np.asarray(weights, dtype=np.float64)
    enabled = np.ones(n, dtype=bool) if enabled is None else enabled
    zeros = np.zeros(n, dtype=np.int32)
    return Genome(innovations, zeros, zeros, weights, enabled)


# --- distance_pairs -----------------------------------------------------------------------
class TestDistancePairs:
    def test_worked_example_is_4_12(self, impl):
        """docs/algorithm.md 10: E = 2, D = 2, W̄ = 0.3, N = 1, so δ = 4.12 in both orders."""
        g1, g2 = worked_example()
        out = pair_distances(impl, [g1, g2], [g1, g2], [0, 1, 0, 1], [1, 0, 0, 1], 8)
        assert out[0] == pytest.approx(4.12, abs=1e-12)
        assert out[0] == out[1] == distance(g1, g2, 4, 2)
        assert list(out[2:]) == [0.0, 0.0]

    @pytest.mark.parametrize("seed", range(8))
    @pytest.mark.parametrize("n_in, n_out", [(3, 2), (2, 1), (4, 2)])
    def test_equals_operators_distance_bit_for_bit(self, impl, seed, n_in, n_out):
        rng = np.random.default_rng(seed)
        reg = InnovationRegistry(n_in, n_out)
        genomes = [grown_genome(rng, reg, int(rng.integers(0, 60))) for _ in range(24)]
        counts = [len(g) for g in genomes]
        assert min(counts) < 20 + n_in * n_out <= max(counts)   # both N rules occur
        ia, ib = all_pairs(len(genomes), len(genomes))
        out = pair_distances(impl, genomes, genomes, ia, ib, n_in * n_out)
        expected = reference(genomes, genomes, ia, ib, n_in, n_out)
        assert out.tobytes() == expected.tobytes()

    @pytest.mark.parametrize("seed", range(4))
    def test_pairs_across_two_tables_in_any_order_with_repeats(self, impl, seed):
        rng = np.random.default_rng(seed)
        reg = InnovationRegistry(3, 2)
        a = [grown_genome(rng, reg, int(rng.integers(0, 40))) for _ in range(9)]
        b = [grown_genome(rng, reg, int(rng.integers(0, 40))) for _ in range(5)]
        ia, ib = rng.integers(0, 9, 200), rng.integers(0, 5, 200)
        out = pair_distances(impl, a, b, ia, ib, 6)
        assert out.tobytes() == reference(a, b, ia, ib, 3, 2).tobytes()

    @pytest.mark.parametrize("seed", range(6))
    def test_symmetric_and_zero_on_self(self, impl, seed):
        rng = np.random.default_rng(seed)
        reg = InnovationRegistry(3, 2)
        genomes = [grown_genome(rng, reg, int(rng.integers(0, 50))) for _ in range(12)]
        ia, ib = all_pairs(12, 12)
        d = pair_distances(impl, genomes, genomes, ia, ib, 6).reshape(12, 12)
        np.testing.assert_array_equal(d, d.T)
        np.testing.assert_array_equal(np.diag(d), np.zeros(12))
        assert np.all(d[~np.eye(12, dtype=bool)] > 0)

    def test_empty_genomes(self, impl):
        """δ(∅, ∅) = 0; against a genome g every gene of g is excess (M = 0 for ∅)."""
        empty = genes([])
        small = genes([1, 2, 5], [1.0, 2.0, 3.0])
        big = genes(list(range(1, 31)), np.linspace(-1, 1, 30))
        gs = [empty, small, big]
        ia, ib = [0, 0, 1, 0, 2], [0, 1, 0, 2, 0]
        out = pair_distances(impl, gs, gs, ia, ib, 4)
        assert list(out) == [0.0, 3.0, 3.0, 1.0, 1.0]        # N = 1, then N = 30
        assert out.tobytes() == reference(gs, gs, ia, ib, 2, 2).tobytes()

    def test_counts_excess_and_disjoint_of_both_genomes(self, impl):
        """g1 = {1, 2, 4, 9}, g2 = {1, 3, 4, 5}: g1's 2 is disjoint, 9 excess; g2's 3 and 5
        are disjoint.  W̄ over 1 and 4: (|1 - 0| + |2.5 - 0|)/2, gene 4 disabled in g2."""
        g1 = genes([1, 2, 4, 9], [1.0, 7.0, 2.5, 3.0])
        g2 = genes([1, 3, 4, 5], [0.0, 1.0, 9.0, 1.0], [True, True, False, True])
        out = pair_distances(impl, [g1], [g2], [0], [0], 100)
        assert out[0] == 1 / 1 + 3 / 1 + 0.4 * 1.75 == distance(g1, g2, 10, 10)

    def test_large_genomes_divide_by_the_larger_gene_count(self, impl):
        g1 = genes(list(range(1, 27)), np.ones(26))      # 26 >= 20 + 6: N = 26
        g2 = genes(list(range(1, 23)) + [40], np.ones(23))
        out = pair_distances(impl, [g1], [g2], [0], [0], 6)
        assert out[0] == 1 / 26.0 + 4 / 26.0 + 0.0        # 40 excess, 23..26 disjoint
        assert pair_distances(impl, [g1], [g2], [0], [0], 7)[0] == 5.0   # 26 < 27: N = 1

    def test_gene_weights_of_disabled_genes_count_as_zero(self, impl):
        g1 = genes([1, 2], [3.0, -4.0], [False, True])
        g2 = genes([1, 2], [3.0, 4.0], [True, False])
        out = pair_distances(impl, [g1], [g2], [0], [0], 2)
        assert out[0] == 0.4 * ((3.0 + 4.0) / 2)

    def test_accepts_uint8_enabled_and_read_only_columns(self, impl):
        rng = np.random.default_rng(5)
        reg = InnovationRegistry(3, 2)
        genomes = [grown_genome(rng, reg, 20) for _ in range(6)]
        off, inn, w, en = table(genomes)
        cols = (off, inn, w, en.view(np.uint8))
        for c in cols:
            c.flags.writeable = False
        ia, ib = all_pairs(6, 6)
        out = np.empty(36)
        impl.distance_pairs(*cols, *cols, ia, ib, 6, out)
        assert out.tobytes() == reference(genomes, genomes, ia, ib, 3, 2).tobytes()

    def test_no_pairs_writes_nothing(self, impl):
        out = np.empty(0)
        g = genes([1])
        assert impl.distance_pairs(*table([g]), *table([g]), np.empty(0, np.int64),
                                   np.empty(0, np.int64), 2, out) is None

    def test_pairs_before_a_bad_index_are_written(self, impl):
        g1, g2 = worked_example()
        out = np.full(3, np.nan)
        with pytest.raises(ValueError, match=r"ib\[2\] = 5 is not a genome index of table B"):
            impl.distance_pairs(*table([g1, g2]), *table([g1, g2]),
                                np.array([0, 1, 0], np.int64), np.array([1, 1, 5], np.int64),
                                8, out)
        assert out[0] == distance(g1, g2, 4, 2) and out[1] == 0.0 and np.isnan(out[2])


def _pairs_args(**change):
    """Valid distance_pairs arguments (2 genomes x 2 genomes, 3 pairs) with some replaced."""
    g1, g2 = worked_example()
    off, inn, w, en = table([g1, g2])
    args = dict(a_off=off, a_innovation=inn, a_weight=w, a_enabled=en, b_off=off.copy(),
                b_innovation=inn.copy(), b_weight=w.copy(), b_enabled=en.copy(),
                ia=np.array([0, 1, 1], np.int64), ib=np.array([1, 0, 1], np.int64), n_io=8,
                out=np.empty(3))
    args.update(change)
    return args


PAIRS_ERRORS = {
    "a_off empty": (dict(a_off=np.empty(0, np.int64)), r"a_off needs P \+ 1 >= 1"),
    "a_off not from 0": (dict(a_off=np.array([1, 10, 20], np.int64)), r"a_off\[0\] = 1"),
    "a_off decreasing": (dict(a_off=np.array([0, 12, 10, 20], np.int64)),
                         r"a_off decreases at 2"),
    "a_off short of the genes": (dict(a_off=np.array([0, 10, 19], np.int64)),
                                 r"a_off\[-1\] = 19 but the table has 20 genes"),
    "b_weight short": (dict(b_weight=np.zeros(19)), r"b_innovation, b_weight and b_enabled"),
    "a_enabled long": (dict(a_enabled=np.ones(21, bool)), r"a_innovation, a_weight"),
    "ib short": (dict(ib=np.array([0, 1], np.int64)), r"ia, ib and out have 3, 2 and 3"),
    "out long": (dict(out=np.empty(4)), r"ia, ib and out have 3, 3 and 4"),
    "ia negative": (dict(ia=np.array([0, -1, 0], np.int64)),
                    r"ia\[1\] = -1 is not a genome index of table A \(it has 2 genomes\)"),
    "ib too large": (dict(ib=np.array([0, 2, 0], np.int64)),
                     r"ib\[1\] = 2 is not a genome index of table B \(it has 2 genomes\)"),
    "ia before ib": (dict(ia=np.array([0, 9, 0], np.int64), ib=np.array([0, 9, 0], np.int64)),
                     r"ia\[1\] = 9"),
    "off of the wrong dtype": (dict(b_off=np.array([0, 10, 20], np.int32)), r"."),
    "weight of the wrong dtype": (dict(a_weight=np.zeros(20, np.float32)), r"."),
    "enabled of the wrong dtype": (dict(a_enabled=np.ones(20, np.int8)), r"."),
    "out not contiguous": (dict(out=np.empty(6)[::2]), r"."),
}


class TestDistancePairsErrors:
    def test_error_table_is_not_empty(self):
        assert len(PAIRS_ERRORS) >= 10

    @pytest.mark.parametrize("case", list(PAIRS_ERRORS))
    def test_bad_arguments_raise_value_error(self, impl, case):
        change, message = PAIRS_ERRORS[case]
        with pytest.raises(ValueError, match=message):
            impl.distance_pairs(**_pairs_args(**change))

    def test_valid_arguments_pass(self, impl):
        args = _pairs_args()
        impl.distance_pairs(**args)
        assert args["out"][2] == 0.0 and args["out"][0] == pytest.approx(4.12, abs=1e-12)


PARAMS = {
    "distance_pairs": ["a_off", "a_innovation", "a_weight", "a_enabled", "b_off",
                       "b_innovation", "b_weight", "b_enabled", "ia", "ib", "n_io", "out"],
    "speciate": ["p_off", "p_innovation", "p_weight", "p_enabled", "r_off", "r_innovation",
                 "r_weight", "r_enabled", "threshold", "n_io", "species", "dist", "founders"],
}


class TestSignatures:
    @pytest.mark.parametrize("name", list(PARAMS))
    def test_both_implementations_take_the_documented_parameters(self, impl, name):
        assert impl.__all__ == list(PARAMS)
        assert list(inspect.signature(getattr(impl, name)).parameters) == PARAMS[name]


# --- speciate -----------------------------------------------------------------------------
class TestSpeciate:
    @pytest.mark.parametrize("seed", range(8))
    def test_equals_naive_first_fit(self, impl, seed):
        reps, pop = grown_family(seed)
        n_new, species, dist, founders = run_speciate(impl, pop, reps, 3.0, 6)
        exp_species, exp_dist, exp_founders = naive_speciate(pop, reps, 3.0, 3, 2)
        assert len(exp_founders) >= 2                    # new species are founded, and
        assert len(set(exp_species) & set(range(len(reps)))) >= 2   # old ones joined
        assert n_new == len(exp_founders)
        assert list(species) == exp_species
        assert dist.tobytes() == np.array(exp_dist).tobytes()
        assert list(founders[:n_new]) == exp_founders
        assert np.all(founders[n_new:] == -7)            # the tail is left as it was

    def test_founders_are_tried_after_existing_species_in_founding_order(self, impl):
        """N = 1 (n_io = 100), threshold 1: δ = 0.4·W̄ between genomes on genes {1, 2}."""
        rep = genes([1, 2], [10.0, 10.0])
        weights = [0.0, 3.0, 2.0, 9.5, 20.0]
        pop = [genes([1, 2], [w, w]) for w in weights]
        n_new, species, dist, founders = run_speciate(impl, pop, [rep], 1.0, 100)
        # 0.0: 4.0 from the representative, founds species 1.  3.0: 2.8 and 1.2, founds 2.
        # 2.0: 0.8 from species 1 (0.4 from species 2, but species 1 comes first).
        # 9.5: 0.2 from the representative of species 0.  20.0: founds species 3.
        assert n_new == 3
        assert list(species) == [1, 2, 1, 0, 3]
        assert list(dist) == [0.0, 0.0, 0.4 * 2.0, 0.4 * 0.5, 0.0]
        assert list(founders[:3]) == [0, 1, 4]

    def test_threshold_zero_makes_every_genome_found_a_species(self, impl):
        """Nothing is < 0, not even δ(g, g) = 0."""
        reps, pop = grown_family(1)
        pop = pop + [pop[0].copy()]
        n_new, species, dist, founders = run_speciate(impl, pop, reps, 0.0, 6)
        assert n_new == len(pop)
        np.testing.assert_array_equal(species, len(reps) + np.arange(len(pop)))
        np.testing.assert_array_equal(founders, np.arange(len(pop)))
        np.testing.assert_array_equal(dist, np.zeros(len(pop)))

    def test_nan_threshold_makes_every_genome_found_a_species(self, impl):
        reps, pop = grown_family(2, n_pop=10)
        n_new, species, _, founders = run_speciate(impl, pop, reps, float("nan"), 6)
        assert n_new == 10
        np.testing.assert_array_equal(species, len(reps) + np.arange(10))

    def test_huge_threshold_puts_every_genome_in_species_zero(self, impl):
        reps, pop = grown_family(3)
        n_new, species, dist, _ = run_speciate(impl, pop, reps, 1e300, 6)
        assert n_new == 0
        np.testing.assert_array_equal(species, np.zeros(len(pop)))
        expected = np.array([distance(g, reps[0], 3, 2) for g in pop])
        assert dist.tobytes() == expected.tobytes()

    def test_huge_threshold_without_representatives_joins_the_first_founder(self, impl):
        _, pop = grown_family(4)
        n_new, species, dist, founders = run_speciate(impl, pop, [], 1e300, 6)
        assert n_new == 1 and founders[0] == 0
        np.testing.assert_array_equal(species, np.zeros(len(pop)))
        expected = np.array([0.0] + [distance(g, pop[0], 3, 2) for g in pop[1:]])
        assert dist.tobytes() == expected.tobytes()

    def test_empty_population_founds_nothing(self, impl):
        reps, _ = grown_family(5)
        assert run_speciate(impl, [], reps, 3.0, 6)[0] == 0

    def test_empty_genomes_share_a_species(self, impl):
        pop = [genes([]), genes([1, 2]), genes([])]
        n_new, species, dist, founders = run_speciate(impl, pop, [], 0.5, 4)
        assert n_new == 2 and list(species) == [0, 1, 0] and list(founders[:2]) == [0, 1]
        assert list(dist) == [0.0, 0.0, 0.0]


def _speciate_args(**change):
    """Valid speciate arguments (3 genomes, 2 representatives) with some replaced."""
    g1, g2 = worked_example()
    p = table([g1, g2, g1])
    r = table([g2, g2])
    args = dict(p_off=p[0], p_innovation=p[1], p_weight=p[2], p_enabled=p[3], r_off=r[0],
                r_innovation=r[1], r_weight=r[2], r_enabled=r[3], threshold=3.0, n_io=8,
                species=np.empty(3, np.int64), dist=np.empty(3),
                founders=np.empty(3, np.int64))
    args.update(change)
    return args


SPECIATE_ERRORS = {
    "p_off not from 0": (dict(p_off=np.array([2, 10, 20, 30], np.int64)), r"p_off\[0\] = 2"),
    "r_off decreasing": (dict(r_off=np.array([0, 12, 10], np.int64)),
                         r"r_off decreases at 2: 12 > 10"),
    "r_off past the genes": (dict(r_off=np.array([0, 10, 21], np.int64)),
                             r"r_off\[-1\] = 21 but the table has 20 genes"),
    "p_innovation short": (dict(p_innovation=np.arange(29, dtype=np.int32)),
                           r"p_innovation, p_weight and p_enabled have 29, 30 and 30"),
    "species short": (dict(species=np.empty(2, np.int64)),
                      r"species, dist and founders have 2, 3 and 3 entries, expected 3"),
    "dist long": (dict(dist=np.empty(4)), r"have 3, 4 and 3 entries"),
    "founders short": (dict(founders=np.empty(0, np.int64)), r"have 3, 3 and 0 entries"),
    "species of the wrong dtype": (dict(species=np.empty(3, np.int32)), r"."),
    "r_enabled of the wrong dtype": (dict(r_enabled=np.ones(20, np.float64)), r"."),
}


class TestSpeciateErrors:
    def test_error_table_is_not_empty(self):
        assert len(SPECIATE_ERRORS) >= 5

    @pytest.mark.parametrize("case", list(SPECIATE_ERRORS))
    def test_bad_arguments_raise_value_error(self, impl, case):
        change, message = SPECIATE_ERRORS[case]
        with pytest.raises(ValueError, match=message):
            impl.speciate(**_speciate_args(**change))

    def test_valid_arguments_pass(self, impl):
        args = _speciate_args()
        assert impl.speciate(**args) == 1   # g1 is 4.12 from both: it founds species 2
        assert list(args["species"]) == [2, 0, 2]


# --- both implementations ---------------------------------------------------------------
class TestCompiledAndTwinAgree:
    @pytest.mark.parametrize("seed", range(3))
    def test_distance_pairs_agree_exactly(self, seed):
        c, t = both()
        rng = np.random.default_rng(100 + seed)
        reg = InnovationRegistry(4, 3)
        genomes = [grown_genome(rng, reg, int(rng.integers(0, 80))) for _ in range(40)]
        ia, ib = rng.integers(0, 40, 3000), rng.integers(0, 40, 3000)
        d_c = pair_distances(c, genomes, genomes, ia, ib, 12)
        d_t = pair_distances(t, genomes, genomes, ia, ib, 12)
        assert d_c.tobytes() == d_t.tobytes()

    @pytest.mark.parametrize("seed", range(3))
    def test_speciate_agrees_exactly(self, seed):
        c, t = both()
        reps, pop = grown_family(200 + seed, n_reps=12, n_pop=300)
        for threshold in (0.0, 1.0, 3.0, 6.0):
            out_c = run_speciate(c, pop, reps, threshold, 6)
            out_t = run_speciate(t, pop, reps, threshold, 6)
            assert out_c[0] == out_t[0]
            for x, y in zip(out_c[1:], out_t[1:]):
                assert x.tobytes() == y.tobytes()


# --- properties ---------------------------------------------------------------------------
class TestProperties:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(g1=distance_genomes(), g2=distance_genomes(), n_in=st.integers(0, 3),
           n_out=st.integers(1, 3))
    def test_distance_equals_operators_distance(self, g1, g2, n_in, n_out):
        n_io = n_in * n_out
        expected = np.array([distance(g1, g2, n_in, n_out), distance(g2, g1, n_in, n_out),
                             0.0, 0.0])
        for module in (twin,) + ((compiled,) if compiled is not None else ()):
            out = pair_distances(module, [g1, g2], [g1, g2], [0, 1, 0, 1], [1, 0, 0, 1], n_io)
            assert out.tobytes() == expected.tobytes(), module.__name__
        assert expected[0] == expected[1]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(pop=st.lists(distance_genomes(max_genes=12, max_innovation=16), max_size=12),
           reps=st.lists(distance_genomes(max_genes=12, max_innovation=16), max_size=4),
           threshold=st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0, 1e300]))
    def test_speciate_equals_naive_first_fit(self, pop, reps, threshold):
        exp_species, exp_dist, exp_founders = naive_speciate(pop, reps, threshold, 1, 1)
        for module in (twin,) + ((compiled,) if compiled is not None else ()):
            n_new, species, dist, founders = run_speciate(module, pop, reps, threshold, 1)
            assert n_new == len(exp_founders), module.__name__
            assert list(species) == exp_species, module.__name__
            assert dist.tobytes() == np.array(exp_dist, dtype=np.float64).tobytes()
            assert list(founders[:n_new]) == exp_founders
