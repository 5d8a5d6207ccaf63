"""Genetic operators against the rules and worked examples of docs/algorithm.md 5.2, 5.4, 5.5."""
import numpy as np
import pytest

from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import (CHILD_DRAWS, GENE_DRAWS, add_connection,
                                      add_connection_candidates, add_node, crossover, distance,
                                      is_acyclic, mutate, remove_connection, weight_pass)

from .genomes import grown_genome, initial_genome


def naive_distance(g1, g2, n_in, n_out):
    """The formula of docs/algorithm.md 5.2 written out gene by gene."""
    a = {int(i): (w if e else 0.0) for i, w, e in zip(g1.innovation, g1.weight, g1.enabled)}
    b = {int(i): (w if e else 0.0) for i, w, e in zip(g2.innovation, g2.weight, g2.enabled)}
    m1, m2 = max(a, default=0), max(b, default=0)
    excess = (sum(1 for i in a if i not in b and i > m2)
              + sum(1 for i in b if i not in a and i > m1))
    disjoint = (sum(1 for i in a if i not in b and i <= m2)
                + sum(1 for i in b if i not in a and i <= m1))
    common = sorted(set(a) & set(b))
    total = 0.0
    for i in common:
        total += abs(a[i] - b[i])
    wbar = total / len(common) if common else 0.0
    big = max(len(a), len(b))
    n = big if big >= 20 + n_in * n_out else 1
    return excess / n + disjoint / n + 0.4 * wbar


def _mutate(parent, rng, registry, **rates):
    kw = dict(activate_rate=0.25, weight_rate=0.8, rho=0.1, p_add=0.3, p_rem=0.01,
              add_node_rate=0.05, simplify=False)
    kw.update(rates)
    n = len(parent)
    return mutate(parent, rng.random((n, GENE_DRAWS)), rng.standard_normal(n),
                  rng.random(CHILD_DRAWS), registry=registry, **kw)


class TestDistance:
    def test_worked_example_n1(self):
        """docs/algorithm.md 10: δ = 2 + 2 + 0.12 = 4.12 (the original got 2.12)."""
        reg = InnovationRegistry(4, 2)
        base = initial_genome(4, 2, np.zeros(8))
        g1 = add_node(base.copy(), 2 / 8 + 1e-9, reg)       # splits gene 3 (index 2)
        g2 = add_node(base.copy(), 5 / 7 + 1e-9, reg)       # candidates exclude none: gene 6
        assert list(g1.innovation) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] and not g1.enabled[2]
        assert list(g2.innovation) == [1, 2, 3, 4, 5, 6, 7, 8, 11, 12] and not g2.enabled[5]
        g1.weight[0], g2.weight[0] = 0.5, 0.0
        g2.weight[2] = 1.2          # disabled in g1: counts as 0
        g1.weight[5] = -0.7         # disabled in g2
        g1.weight[8:] = g2.weight[8:] = 0.0
        assert distance(g1, g2, 4, 2) == pytest.approx(4.12, abs=1e-12)
        assert distance(g2, g1, 4, 2) == distance(g1, g2, 4, 2)

    def test_large_genomes_divide_by_gene_count(self):
        reg = InnovationRegistry(2, 1)
        rng = np.random.default_rng(1)
        g1 = grown_genome(rng, reg, 60)
        g2 = grown_genome(rng, reg, 60)
        assert max(len(g1), len(g2)) >= 22
        assert distance(g1, g2, 2, 1) == pytest.approx(naive_distance(g1, g2, 2, 1), rel=1e-12)

    @pytest.mark.parametrize("seed", range(20))
    def test_symmetric_zero_on_self_and_equal_to_naive(self, seed):
        rng = np.random.default_rng(seed)
        reg = InnovationRegistry(3, 2)
        g1, g2 = grown_genome(rng, reg, 15), grown_genome(rng, reg, 25)
        d = distance(g1, g2, 3, 2)
        assert d == distance(g2, g1, 3, 2)
        assert distance(g1, g1, 3, 2) == 0.0
        assert d == pytest.approx(naive_distance(g1, g2, 3, 2), rel=1e-12, abs=1e-15)


class TestCrossover:
    def test_crossover_with_itself_is_itself(self):
        rng = np.random.default_rng(0)
        g = grown_genome(rng, InnovationRegistry(3, 2), 20)
        assert crossover(g, 1.0, g.copy(), 1.0, rng.random(len(g))) == g

    def test_child_has_exactly_the_fitter_parents_genes(self):
        rng = np.random.default_rng(3)
        reg = InnovationRegistry(3, 2)
        x, y = grown_genome(rng, reg, 20), grown_genome(rng, reg, 20)
        child = crossover(x, 1.0, y, 2.0, rng.random(len(y)))   # y is fitter
        assert np.array_equal(child.innovation, y.innovation)
        assert np.array_equal(child.src, y.src) and np.array_equal(child.dst, y.dst)
        assert is_acyclic(child)

    def test_matching_genes_follow_the_draws(self):
        x = initial_genome(2, 1, [1.0, 2.0])
        y = initial_genome(2, 1, [10.0, 20.0])
        y.enabled[1] = False
        child = crossover(x, 5.0, y, 5.0, np.array([0.1, 0.9]))   # tie: x is fitter
        assert list(child.weight) == [1.0, 20.0]
        assert list(child.enabled) == [True, False]

    def test_parents_are_not_modified(self):
        x = initial_genome(2, 1, [1.0, 2.0])
        y = initial_genome(2, 1, [10.0, 20.0])
        crossover(x, 1.0, y, 0.0, np.array([0.9, 0.9]))
        assert list(x.weight) == [1.0, 2.0] and list(y.weight) == [10.0, 20.0]


class TestAddConnection:
    def test_candidates_exclude_cycles_existing_and_inputs_as_targets(self):
        reg = InnovationRegistry(2, 1)
        g = add_node(initial_genome(2, 1, [1.0, 1.0]), 0.0, reg)   # split 1->3 with node 4
        cands = add_connection_candidates(g, 2, 1)
        # sources {1, 2, 4}, targets {3, 4}; enabled (1,4), (2,3), (4,3) excluded;
        # (1,3) is disabled so it is a candidate; (4,4) is a self loop
        assert cands == [(1, 3), (2, 4)]

    def test_enabling_a_disabled_gene_keeps_its_weight(self):
        reg = InnovationRegistry(2, 1)
        g = add_node(initial_genome(2, 1, [0.7, 1.0]), 0.0, reg)
        n = len(g)
        g = add_connection(g, 0.0, 0.99, reg)   # picks (1, 3): disabled gene 1
        assert len(g) == n and g.enabled[0] and g.weight[0] == 0.7

    def test_new_gene_uses_pair_table_and_weight_range(self):
        reg = InnovationRegistry(2, 1)
        g = add_node(initial_genome(2, 1, [0.7, 1.0]), 0.0, reg)
        g = add_connection(g, 0.99, 0.75, reg)  # picks (2, 4)
        k = int(np.flatnonzero((g.src == 2) & (g.dst == 4))[0])
        assert g.innovation[k] == reg.pair(2, 4) and g.weight[k] == pytest.approx(1.0)
        assert list(g.innovation) == sorted(g.innovation)

    def test_pick_is_uniform_over_candidates(self):
        reg = InnovationRegistry(2, 2)
        g = add_node(initial_genome(2, 2, np.ones(4)), 0.0, reg)
        cands = add_connection_candidates(g, 2, 2)
        chosen = []
        for q in range(len(cands)):
            child = add_connection(g.copy(), (q + 0.5) / len(cands), 0.5, reg)
            before = {(a2, b2) for a2, b2, e2 in zip(g.src, g.dst, g.enabled) if e2}
            diff = [(a, b) for a, b, e in zip(child.src, child.dst, child.enabled)
                    if e and (a, b) not in before]
            chosen.append(tuple(map(int, diff[0])))
        assert chosen == cands

    def test_full_genome_is_left_unchanged(self):
        reg = InnovationRegistry(2, 1)
        g = initial_genome(2, 1, [1.0, 1.0])
        assert add_connection_candidates(g, 2, 1) == []
        assert add_connection(g.copy(), 0.5, 0.5, reg) == g


class TestAddNodeAndRemove:
    def test_split_reuses_registry_numbers_across_genomes(self):
        reg = InnovationRegistry(2, 1)
        a = add_node(initial_genome(2, 1, [0.3, 1.0]), 0.0, reg)
        b = add_node(initial_genome(2, 1, [0.9, 1.0]), 0.0, reg)
        assert np.array_equal(a.innovation, b.innovation) and list(a.innovation) == [1, 2, 3, 4]
        # the new genes: a -> n weight 1, n -> b the old weight
        assert a.weight[2] == 1.0 and a.weight[3] == 0.3 and not a.enabled[0]

    def test_gene_whose_split_node_is_present_is_not_a_candidate(self):
        reg = InnovationRegistry(2, 1)
        g = add_node(initial_genome(2, 1, [0.3, 1.0]), 0.0, reg)   # node 4 from gene 1
        g.enabled[0] = True                                        # re-enable gene 1
        before = len(g)
        g2 = add_node(g.copy(), 0.0, reg)                          # gene 1 is excluded
        assert len(g2) == before + 2 and not g2.enabled[1]          # gene 2 was split

    def test_remove_disables_one_enabled_gene(self):
        g = initial_genome(3, 1, [1.0, 2.0, 3.0])
        out = remove_connection(g.copy(), 0.5)
        assert list(out.enabled) == [True, False, True] and len(out) == 3


class TestMutate:
    @pytest.mark.parametrize("seed", range(10))
    def test_mutations_keep_graphs_acyclic_and_sorted(self, seed):
        rng = np.random.default_rng(seed)
        reg = InnovationRegistry(3, 2)
        g = initial_genome(3, 2, rng.uniform(-2, 2, 6))
        for _ in range(60):
            g = _mutate(g, rng, reg, p_add=0.5, add_node_rate=0.3, p_rem=0.3)
            assert is_acyclic(g)
            assert np.all(np.diff(g.innovation) > 0)
            pairs = list(zip(g.src.tolist(), g.dst.tolist()))
            assert len(pairs) == len(set(pairs))

    def test_zero_rates_change_nothing(self):
        rng = np.random.default_rng(5)
        reg = InnovationRegistry(3, 2)
        g = grown_genome(rng, reg, 20)
        child = _mutate(g, rng, reg, activate_rate=0.0, weight_rate=0.0, p_add=0.0,
                        p_rem=0.0, add_node_rate=0.0)
        assert child == g

    def test_parent_is_not_modified(self):
        rng = np.random.default_rng(6)
        reg = InnovationRegistry(3, 2)
        g = grown_genome(rng, reg, 20)
        frozen = g.copy()
        for _ in range(20):
            _mutate(g, rng, reg, activate_rate=1.0, p_add=1.0, add_node_rate=1.0)
        assert g == frozen

    def test_simplification_mode_swaps_add_and_remove(self):
        reg = InnovationRegistry(2, 1)
        g = add_node(initial_genome(2, 1, [1.0, 1.0]), 0.0, reg)
        n = len(g)
        draws = dict(gene_u=np.ones((n, GENE_DRAWS)), gene_z=np.zeros(n))
        first_passes = np.array([0.0, 0.99, 0.0, 0.5, 0.99, 0.0])
        kw = dict(activate_rate=0.0, weight_rate=0.0, rho=0.0, p_add=0.5, p_rem=0.0,
                  add_node_rate=0.0, registry=reg)
        normal = mutate(g, child_u=first_passes, simplify=False, **draws, **kw)
        simple = mutate(g, child_u=first_passes, simplify=True, **draws, **kw)
        assert normal.enabled.sum() == g.enabled.sum() + 1      # a connection was added
        assert simple.enabled.sum() == g.enabled.sum() - 1      # one was removed

    def test_weight_pass_replaces_or_perturbs(self):
        w = np.array([1.0, 1.0, 1.0])
        out = weight_pass(w, np.array([0.0, 0.0, 0.9]), np.array([0.0, 0.9, 0.0]),
                          np.array([0.25, 0.0, 0.0]), np.array([0.0, 0.5, 0.0]), 0.5, 0.5)
        assert list(out) == [-2.5, 1.5, 1.0]

    def test_wrong_draw_shapes_are_rejected(self):
        reg = InnovationRegistry(2, 1)
        g = initial_genome(2, 1)
        with pytest.raises(ValueError):
            mutate(g, np.zeros((3, GENE_DRAWS)), np.zeros(3), np.zeros(CHILD_DRAWS),
                   activate_rate=0, weight_rate=0, rho=0, p_add=0, p_rem=0, add_node_rate=0,
                   simplify=False, registry=reg)


class TestActivateConnectionRate:
    def test_rate_one_enables_every_disabled_gene_and_zero_none(self):
        rng = np.random.default_rng(8)
        reg = InnovationRegistry(3, 2)
        g = grown_genome(rng, reg, 30)
        g.enabled[::2] = False
        on = _mutate(g, rng, reg, activate_rate=1.0, p_add=0.0, p_rem=0.0, add_node_rate=0.0)
        off = _mutate(g, rng, reg, activate_rate=0.0, p_add=0.0, p_rem=0.0, add_node_rate=0.0)
        assert on.enabled.all()
        assert np.array_equal(off.enabled, g.enabled)
