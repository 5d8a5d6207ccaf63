"""The reproduction kernels (``_core/_reproduce.pyx`` and its twin ``_reproduce_py.py``).

Reference: ``ezspark.engine.operators.mutate`` / ``crossover`` (the reference operators of
``ezspark._core._operators``) applied child by child, with ``DictRegistry`` (the original
dict-based innovation registry) as the registry, so the array registry and the kernels are
checked against independent code.
"""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry, TableFull
from ezspark.engine.operators import (CHILD_DRAWS, GENE_DRAWS, crossover as reference_crossover,
                                add_node, is_acyclic, mutate)
from ezspark.engine.population import Population
from tests.genomes import grown_genome, initial_genome

MODULES = {"compiled": "ezspark._core._reproduce", "pure-python": "ezspark._core._reproduce_py"}
RATE_NAMES = ("activate_rate", "weight_rate", "rho", "p_rem", "add_node_rate")


def _load(name):
    return importlib.import_module(MODULES[name])


def _compiled_or_none():
    try:
        return _load("compiled")
    except ImportError:
        return None


@pytest.fixture(params=["compiled", "pure-python"])
def impl(request):
    """The kernel module of one implementation (compiled is skipped when not built, unless
    EZSPARK_REQUIRE_COMPILED=1)."""
    if request.param == "compiled":
        module = _compiled_or_none()
        if module is None:
            if os.environ.get("EZSPARK_REQUIRE_COMPILED") == "1":
                pytest.fail("EZSPARK_REQUIRE_COMPILED=1 but _reproduce is not built")
            pytest.skip("compiled kernels are not built")
    else:
        module = _load("pure-python")
    assert module.__name__ == MODULES[request.param]
    assert module.__all__ == ["reproduce", "crossover"]
    assert module.reproduce.__module__ == MODULES[request.param]
    return module


# --- naive reference registry ---------------------------------------------------------------
class DictRegistry:
    """The original registry: dicts for the pair and split tables."""

    def __init__(self, registry: InnovationRegistry):
        self.n_inputs, self.n_outputs = registry.n_inputs, registry.n_outputs
        self.pairs = {(a, b): i for a, b, i in registry.pair_table().tolist()}
        self.splits = {c: (n, f, s) for c, n, f, s in registry.split_table().tolist()}
        self.next_node, self.next_innovation = registry.next_node, registry.next_innovation

    def pair(self, src, dst):
        key = (int(src), int(dst))
        if key not in self.pairs:
            self.pairs[key] = self.next_innovation
            self.next_innovation += 1
        return self.pairs[key]

    def split_node(self, innovation):
        entry = self.splits.get(int(innovation))
        return None if entry is None else entry[0]

    def split(self, innovation, src, dst):
        innovation = int(innovation)
        if innovation not in self.splits:
            node, first = self.next_node, self.next_innovation
            self.next_node += 1
            self.next_innovation += 2
            self.pairs[(int(src), node)] = first
            self.pairs[(node, int(dst))] = first + 1
            self.splits[innovation] = (node, first, first + 1)
        return self.splits[innovation]

    def assert_same_as(self, registry: InnovationRegistry):
        assert registry.next_node == self.next_node
        assert registry.next_innovation == self.next_innovation
        assert len(registry) == len(self.pairs) and registry.n_splits == len(self.splits)
        assert {(a, b): i for a, b, i in registry.pair_table().tolist()} == self.pairs
        assert {c: (n, f, s) for c, n, f, s in registry.split_table().tolist()} == self.splits


# --- cases ------------------------------------------------------------------------------------
def make_case(seed: int, *, n_children=None, rates=None, p_add=None, simplify=None,
              ensure=True, io=None, steps=(0, 35)):
    """Random parents grown from one registry (some from others, so splits are shared), a
    random plan and its draws.  Keyword arguments pin parts of the case; ``ensure``
    makes room for the plan's worst case (``ensure_capacity(3 Q, Q)``)."""
    rng = np.random.default_rng(seed)
    n_in, n_out = (int(rng.integers(1, 5)), int(rng.integers(1, 4))) if io is None else io
    registry = InnovationRegistry(n_in, n_out)
    genomes = []
    for _ in range(int(rng.integers(1, 7))):
        base = genomes[int(rng.integers(len(genomes)))] if genomes and rng.random() < 0.5 else None
        genomes.append(grown_genome(rng, registry, int(rng.integers(*steps)), base=base))
    q = int(rng.integers(1, 25)) if n_children is None else n_children
    plan = {
        "child_parent": rng.integers(0, len(genomes), q).astype(np.int64),
        "child_simplify": (rng.random(q) < 0.3 if simplify is None
                           else np.full(q, simplify)).astype(np.uint8),
        "child_p_add": (rng.choice([0.0, 0.03, 0.3, 1.0], q) if p_add is None
                        else np.full(q, float(p_add))),
    }
    g = int(sum(len(genomes[p]) for p in plan["child_parent"]))
    draws = {"gene_u": rng.random((g, GENE_DRAWS)), "gene_z": rng.standard_normal(g),
             "child_u": rng.random((q, CHILD_DRAWS))}
    if rates is None:
        rates = dict(zip(RATE_NAMES, rng.choice([0.0, 0.05, 0.25, 0.8, 1.0], 5).tolist()))
    if ensure:
        registry.ensure_capacity(3 * q, q)
    return genomes, registry, plan, draws, rates


def run_kernel(module, genomes, registry, plan, draws, rates):
    """Call ``module.reproduce``; the children as a Population (the registry is updated)."""
    pop = Population.from_genomes(genomes)
    q = plan["child_parent"].shape[0]
    cap = draws["gene_u"].shape[0] + 3 * q
    out = [np.full(q + 1, -9, np.int64), np.full(cap, -9, np.int32), np.full(cap, -9, np.int32),
           np.full(cap, -9, np.int32), np.full(cap, np.nan), np.zeros(cap, np.bool_)]
    total = module.reproduce(
        pop.off, pop.innovation, pop.src, pop.dst, pop.weight, pop.enabled,
        plan["child_parent"], plan["child_simplify"], plan["child_p_add"],
        draws["gene_u"], draws["gene_z"], draws["child_u"],
        *(rates[name] for name in RATE_NAMES), registry.n_inputs, registry.n_outputs,
        registry.pair_keys, registry.pair_values, registry.split_keys, registry.split_values,
        registry.counters, *out)
    assert total == out[0][-1]
    return Population(out[0], *(column[:total] for column in out[1:]))


def run_reference(genomes, registry, plan, draws, rates):
    """``_operators.mutate`` child by child on a DictRegistry copy; (children, registry)."""
    ref = DictRegistry(registry)
    children, row = [], 0
    for c, p in enumerate(plan["child_parent"].tolist()):
        n = len(genomes[p])
        children.append(mutate(
            genomes[p], draws["gene_u"][row:row + n], draws["gene_z"][row:row + n],
            draws["child_u"][c], activate_rate=rates["activate_rate"],
            weight_rate=rates["weight_rate"], rho=rates["rho"],
            p_add=float(plan["child_p_add"][c]), p_rem=rates["p_rem"],
            add_node_rate=rates["add_node_rate"], simplify=bool(plan["child_simplify"][c]),
            registry=ref))
        row += n
    return children, ref


def assert_valid_children(children: Population):
    for child in children:
        assert np.all(np.diff(child.innovation) > 0)        # sorted, one gene per number
        assert len(set(zip(child.src.tolist(), child.dst.tolist()))) == len(child)
        assert is_acyclic(child)


def registry_arrays(registry):
    return [registry.pair_keys, registry.pair_values, registry.split_keys,
            registry.split_values, registry.counters]


SEEDS = range(60)


# --- reproduce ------------------------------------------------------------------------------
class TestReproduce:
    @pytest.mark.parametrize("seed", SEEDS)
    def test_equals_reference_mutation_child_by_child(self, impl, seed):
        genomes, registry, plan, draws, rates = make_case(seed)
        children = run_kernel(impl, genomes, registry, plan, draws, rates)
        ref_children, ref_registry = run_reference(genomes, registry.copy(), plan, draws, rates)
        assert children == Population.from_genomes(ref_children)
        ref_registry.assert_same_as(registry)
        assert_valid_children(children)

    @pytest.mark.parametrize("pinned", [
        dict(p_add=1.0, simplify=False),                       # add-connection every child
        dict(p_add=1.0, simplify=True),                        # simplify: p_add removes
        dict(p_add=0.0, simplify=True, rates=dict(zip(RATE_NAMES, [0.0, 0.0, 0.0, 1.0, 0.0]))),
        dict(rates=dict(zip(RATE_NAMES, [0.0, 0.0, 0.0, 0.0, 1.0]))),   # add-node only
        dict(rates=dict(zip(RATE_NAMES, [1.0, 1.0, 1.0, 1.0, 1.0])), p_add=1.0),
        dict(rates=dict(zip(RATE_NAMES, [0.0, 0.0, 0.0, 0.0, 0.0])), p_add=0.0),
    ], ids=["add", "simplify-remove", "simplify-add", "add-node", "all-one", "all-zero"])
    @pytest.mark.parametrize("seed", range(8))
    def test_equals_reference_with_pinned_rates(self, impl, seed, pinned):
        genomes, registry, plan, draws, rates = make_case(1000 + seed, **pinned)
        children = run_kernel(impl, genomes, registry, plan, draws, rates)
        ref_children, ref_registry = run_reference(genomes, registry.copy(), plan, draws, rates)
        assert children == Population.from_genomes(ref_children)
        ref_registry.assert_same_as(registry)
        assert_valid_children(children)

    @pytest.mark.parametrize("seed", range(3))
    @pytest.mark.parametrize("shape", ["wide", "deep"])
    def test_equals_reference_beyond_one_bitset_word(self, impl, seed, shape):
        """More than 64 nodes (60 inputs, or 70 splits): several words per reachability
        bitset."""
        if shape == "wide":
            genomes, registry, plan, draws, rates = make_case(
                5000 + seed, io=(60, 2), steps=(20, 40), n_children=8, p_add=1.0)
        else:
            rng = np.random.default_rng(5000 + seed)
            registry = InnovationRegistry(3, 1)
            deep = grown_genome(rng, registry, 6)
            for _ in range(70):                          # add-node alone is cheap to grow
                deep = add_node(deep, rng.random(), registry)
            genomes = [deep, grown_genome(rng, registry, 6, base=deep)]
            _, _, plan, draws, rates = make_case(seed, n_children=8, p_add=1.0)
            plan["child_parent"] = rng.integers(0, 2, 8).astype(np.int64)
            g = int(sum(len(genomes[p]) for p in plan["child_parent"]))
            draws["gene_u"], draws["gene_z"] = rng.random((g, 4)), rng.standard_normal(g)
            registry.ensure_capacity(24, 8)
        rates["add_node_rate"] = 0.5
        widest = max(len(g.hidden_nodes(registry.n_inputs, registry.n_outputs))
                     for g in genomes)
        assert registry.n_inputs + registry.n_outputs + widest > 64
        children = run_kernel(impl, genomes, registry, plan, draws, rates)
        ref_children, ref_registry = run_reference(genomes, registry.copy(), plan, draws, rates)
        assert children == Population.from_genomes(ref_children)
        ref_registry.assert_same_as(registry)
        assert_valid_children(children)

    def test_zero_rates_copy_the_parents(self, impl):
        genomes, registry, plan, draws, _ = make_case(7, p_add=0.0)
        rates = dict.fromkeys(RATE_NAMES, 0.0)
        before = registry.copy()
        children = run_kernel(impl, genomes, registry, plan, draws, rates)
        assert children == Population.from_genomes([genomes[p] for p in plan["child_parent"]])
        assert all(np.array_equal(a, b) for a, b in zip(registry_arrays(registry),
                                                        registry_arrays(before)))

    @pytest.mark.parametrize("seed", range(12))
    def test_compiled_and_twin_leave_identical_registry_arrays(self, seed):
        """With tables grown only as far as this plan needs, probe sequences collide, so
        the order of insertions shows in the layout."""
        compiled = _compiled_or_none()
        if compiled is None:
            pytest.skip("compiled kernels are not built")
        genomes, registry, plan, draws, rates = make_case(2000 + seed, p_add=1.0, ensure=False)
        rates["add_node_rate"] = 0.8
        _, ref = run_reference(genomes, registry.copy(), plan, draws, rates)
        registry.ensure_capacity(len(ref.pairs) - len(registry),
                                 len(ref.splits) - registry.n_splits)
        twin_registry = registry.copy()
        a = run_kernel(compiled, genomes, registry, plan, draws, rates)
        b = run_kernel(_load("pure-python"), genomes, twin_registry, plan, draws, rates)
        assert a == b
        ref.assert_same_as(registry)
        assert 4 * len(registry) > registry.pair_keys.shape[0]          # over a quarter full
        for x, y in zip(registry_arrays(registry), registry_arrays(twin_registry)):
            assert x.dtype == y.dtype and np.array_equal(x, y)

    def test_random_cases_exercise_every_structural_branch(self, impl):
        """Half the seeds above grow genes by connections, by splits (new and reused) and
        shrink enabled counts by removals, so the equality tests are not vacuous."""
        seen = {"connection": 0, "new split": 0, "reused split": 0, "removal": 0}
        for seed in SEEDS[:30]:
            genomes, registry, plan, draws, rates = make_case(seed)
            splits_before = registry.n_splits
            children = run_kernel(impl, genomes, registry, plan, draws, rates)
            for c, p in enumerate(plan["child_parent"].tolist()):
                extra = len(children[c]) - len(genomes[p])
                seen["connection"] += extra in (1, 3)
                seen["reused split"] += extra in (2, 3)
                if extra == 0 and children[c].enabled.sum() < genomes[p].enabled.sum():
                    seen["removal"] += 1
            seen["new split"] += registry.n_splits - splits_before
        seen["reused split"] -= seen["new split"]
        assert all(count > 0 for count in seen.values()), seen

    def test_readding_a_disabled_pair_enables_it_and_keeps_its_weight(self, impl):
        registry = InnovationRegistry(1, 1)
        parent = Genome([1], [1], [2], [0.75], [False])     # the only candidate is (1, 2)
        plan = {"child_parent": np.zeros(1, np.int64), "child_simplify": np.zeros(1, np.uint8),
                "child_p_add": np.ones(1)}
        draws = {"gene_u": np.full((1, 4), 0.9), "gene_z": np.zeros(1),
                 "child_u": np.array([[0.0, 0.9, 0.5, 0.3, 0.9, 0.9]])}
        rates = dict(zip(RATE_NAMES, [0.0, 0.0, 0.0, 0.0, 0.0]))
        children = run_kernel(impl, [parent], registry, plan, draws, rates)
        assert children[0] == Genome([1], [1], [2], [0.75], [True])
        assert registry.next_innovation == 2

    def test_new_numbers_are_handed_out_in_child_order(self, impl):
        """Two children of one parent split different genes: the first child's split gets
        the lower node id and numbers; a third child reuses the first split."""
        registry = InnovationRegistry(2, 1)                 # genes 1: 1->3, 2: 2->3
        parent = initial_genome(2, 1, [0.5, -0.5])
        plan = {"child_parent": np.zeros(3, np.int64), "child_simplify": np.zeros(3, np.uint8),
                "child_p_add": np.zeros(3)}
        draws = {"gene_u": np.full((6, 4), 0.9), "gene_z": np.zeros(6),
                 "child_u": np.array([[0.9, 0.9, 0, 0, 0.0, 0.9],     # splits gene 2
                                      [0.9, 0.9, 0, 0, 0.0, 0.1],     # splits gene 1
                                      [0.9, 0.9, 0, 0, 0.0, 0.8]])}   # gene 2 again
        rates = dict(zip(RATE_NAMES, [0.0, 0.0, 0.0, 0.0, 1.0]))
        children = run_kernel(impl, [parent], registry, plan, draws, rates)
        assert children[0] == Genome([1, 2, 3, 4], [1, 2, 2, 4], [3, 3, 4, 3],
                                     [0.5, -0.5, 1.0, -0.5], [True, False, True, True])
        assert children[1] == Genome([1, 2, 5, 6], [1, 2, 1, 5], [3, 3, 5, 3],
                                     [0.5, -0.5, 1.0, 0.5], [False, True, True, True])
        assert children[2] == children[0]
        assert registry.split_table().tolist() == [[1, 5, 5, 6], [2, 4, 3, 4]]
        assert (registry.next_node, registry.next_innovation) == (6, 7)

    def test_a_parent_without_genes_gets_a_connection(self, impl):
        registry = InnovationRegistry(2, 2)
        parent = Genome([], [], [], [], [])
        plan = {"child_parent": np.zeros(1, np.int64), "child_simplify": np.zeros(1, np.uint8),
                "child_p_add": np.ones(1)}
        draws = {"gene_u": np.zeros((0, 4)), "gene_z": np.zeros(0),
                 "child_u": np.array([[0.0, 0.0, 0.6, 0.25, 0.0, 0.0]])}
        rates = dict.fromkeys(RATE_NAMES, 1.0)
        children = run_kernel(impl, [parent], registry, plan, draws, rates)
        ref_children, ref_registry = run_reference([parent], registry.copy(), plan, draws, rates)
        # candidates (1,3) (1,4) (2,3) (2,4): pick 2 -> (2, 3) = innovation 3, then split it
        assert children[0] == ref_children[0]
        assert children[0].innovation.tolist() == [3, 5, 6]
        ref_registry.assert_same_as(registry)

    def test_empty_plan_writes_nothing(self, impl):
        genomes, registry, _, _, rates = make_case(3)
        plan = {"child_parent": np.zeros(0, np.int64), "child_simplify": np.zeros(0, np.uint8),
                "child_p_add": np.zeros(0)}
        draws = {"gene_u": np.zeros((0, 4)), "gene_z": np.zeros(0), "child_u": np.zeros((0, 6))}
        children = run_kernel(impl, genomes, registry, plan, draws, rates)
        assert len(children) == 0

    def test_full_table_raises_table_full(self, impl):
        """Without ensure_capacity, a second new split passes half of the 16-slot pair
        table (6 initial pairs + 4 > 8)."""
        registry = InnovationRegistry(3, 2)
        assert registry.pair_keys.shape == (16,)
        parent = initial_genome(3, 2, np.linspace(-1, 1, 6))
        plan = {"child_parent": np.zeros(2, np.int64), "child_simplify": np.zeros(2, np.uint8),
                "child_p_add": np.zeros(2)}
        draws = {"gene_u": np.full((12, 4), 0.9), "gene_z": np.zeros(12),
                 "child_u": np.array([[0.9, 0.9, 0, 0, 0.0, 0.1], [0.9, 0.9, 0, 0, 0.0, 0.9]])}
        rates = dict(zip(RATE_NAMES, [0.0, 0.0, 0.0, 0.0, 1.0]))
        with pytest.raises(TableFull, match="ensure_capacity"):
            run_kernel(impl, [parent], registry.copy(), plan, draws, rates)
        registry.ensure_capacity(3 * 2, 2)
        children = run_kernel(impl, [parent], registry, plan, draws, rates)
        assert [len(c) for c in children] == [8, 8] and registry.n_splits == 2

    @pytest.mark.parametrize("broken, message", [
        ("gene_u", "gene_u must be"),
        ("child_u", "child_u must be"),
        ("child_parent", "is not a parent index"),
        ("out", "need at least"),
        ("table", "power of two"),
    ])
    def test_bad_arguments_raise_value_error(self, impl, broken, message):
        genomes, registry, plan, draws, rates = make_case(5)
        if broken == "gene_u":
            draws["gene_u"] = draws["gene_u"][1:]
        elif broken == "child_u":
            draws["child_u"] = draws["child_u"][:, :5].copy()
        elif broken == "child_parent":
            plan["child_parent"] = plan["child_parent"].copy()
            plan["child_parent"][-1] = len(genomes)
        elif broken == "table":
            registry.pair_keys = registry.pair_keys[:-1].copy()
            registry.pair_values = registry.pair_values[:-1].copy()
        if broken == "out":
            pop = Population.from_genomes(genomes)
            q = plan["child_parent"].shape[0]
            small = draws["gene_u"].shape[0] + 3 * q - 1
            with pytest.raises(ValueError, match=message):
                impl.reproduce(
                    pop.off, pop.innovation, pop.src, pop.dst, pop.weight, pop.enabled,
                    plan["child_parent"], plan["child_simplify"], plan["child_p_add"],
                    draws["gene_u"], draws["gene_z"], draws["child_u"],
                    *rates.values(), registry.n_inputs, registry.n_outputs,
                    *registry_arrays(registry), np.zeros(q + 1, np.int64),
                    np.zeros(small, np.int32), np.zeros(small, np.int32),
                    np.zeros(small, np.int32), np.zeros(small), np.zeros(small, np.bool_))
            return
        with pytest.raises(ValueError, match=message):
            run_kernel(impl, genomes, registry, plan, draws, rates)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(seed=st.integers(0, 2**32 - 1),
           n_children=st.integers(0, 12),
           rates=st.fixed_dictionaries({name: st.sampled_from([0.0, 0.1, 0.5, 1.0])
                                        for name in RATE_NAMES}),
           p_add=st.sampled_from([None, 0.0, 0.5, 1.0]),
           simplify=st.sampled_from([None, False, True]))
    def test_random_plans_match_reference(self, seed, n_children, rates, p_add, simplify):
        genomes, registry, plan, draws, rates = make_case(
            seed, n_children=n_children, rates=rates, p_add=p_add, simplify=simplify)
        ref_children, ref_registry = run_reference(genomes, registry.copy(), plan, draws, rates)
        expected = Population.from_genomes(ref_children)
        results = []
        for name in MODULES:
            module = _compiled_or_none() if name == "compiled" else _load(name)
            if module is None:
                continue
            reg = registry.copy()
            children = run_kernel(module, genomes, reg, plan, draws, rates)
            assert children == expected
            ref_registry.assert_same_as(reg)
            results.append(registry_arrays(reg))
        assert results
        for arrays in results[1:]:
            assert all(np.array_equal(a, b) for a, b in zip(arrays, results[0]))
        assert_valid_children(expected)


# --- crossover ------------------------------------------------------------------------------
def run_crossover(module, genomes, pairs, gene_u):
    pop = Population.from_genomes(genomes)
    cap = gene_u.shape[0]
    out = [np.full(pairs.shape[0] + 1, -9, np.int64), np.full(cap, -9, np.int32),
           np.full(cap, -9, np.int32), np.full(cap, -9, np.int32), np.full(cap, np.nan),
           np.zeros(cap, np.bool_)]
    total = module.crossover(pop.off, pop.innovation, pop.src, pop.dst, pop.weight,
                             pop.enabled, pairs, gene_u, *out)
    assert total == cap == out[0][-1]
    return Population(*out)


class TestCrossover:
    @pytest.mark.parametrize("seed", range(15))
    def test_equals_reference_crossover(self, impl, seed):
        rng = np.random.default_rng(seed)
        genomes, _, _, _, _ = make_case(3000 + seed)
        fitness = rng.choice([0.0, 1.0, 2.0], len(genomes))     # ties happen
        rows, expected, draws = [], [], []
        for _ in range(int(rng.integers(0, 12))):
            x, y = (int(i) for i in rng.integers(0, len(genomes), 2))
            fitter, other = (x, y) if fitness[x] >= fitness[y] else (y, x)
            u = rng.random(len(genomes[fitter]))
            rows.append((fitter, other))
            draws.append(u)
            expected.append(reference_crossover(genomes[x], float(fitness[x]), genomes[y],
                                                float(fitness[y]), u))
        pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
        gene_u = np.concatenate(draws) if draws else np.zeros(0)
        assert run_crossover(impl, genomes, pairs, gene_u) == Population.from_genomes(expected)

    @pytest.mark.parametrize("seed", range(5))
    def test_crossover_of_a_genome_with_itself_is_the_genome(self, impl, seed):
        genomes, _, _, _, _ = make_case(4000 + seed)
        rng = np.random.default_rng(seed)
        pairs = np.array([(i, i) for i in range(len(genomes))], dtype=np.int64)
        gene_u = rng.random(sum(len(g) for g in genomes))
        assert run_crossover(impl, genomes, pairs, gene_u) == Population.from_genomes(genomes)

    def test_matching_genes_come_whole_from_the_other_parent_when_u_is_high(self, impl):
        p = Genome([1, 2, 4], [1, 1, 2], [3, 4, 3], [1.0, 2.0, 3.0], [True, True, False])
        q = Genome([1, 3, 4], [1, 2, 2], [3, 3, 3], [-1.0, -2.0, -3.0], [False, True, True])
        pairs = np.array([[0, 1]], dtype=np.int64)
        child = run_crossover(impl, [p, q], pairs, np.array([0.5, 0.9, 0.49]))[0]
        assert child == Genome([1, 2, 4], [1, 1, 2], [3, 4, 3], [-1.0, 2.0, 3.0],
                               [False, True, False])

    def test_bad_parent_index_raises_value_error(self, impl):
        genomes, _, _, _, _ = make_case(1)
        pairs = np.array([[0, len(genomes)]], dtype=np.int64)
        with pytest.raises(ValueError, match="not a parent index"):
            run_crossover(impl, genomes, pairs, np.zeros(len(genomes[0])))


# --- registry capacity ----------------------------------------------------------------------
class TestRegistryCapacity:
    def test_ensure_capacity_keeps_answers_through_many_insertions(self):
        rng = np.random.default_rng(0)
        registry = InnovationRegistry(3, 2)
        reference = DictRegistry(registry)
        for round_ in range(6):
            registry.ensure_capacity(40 * round_, 10 * round_)
            for _ in range(150):
                a, b = (int(x) for x in rng.integers(1, 60, 2))
                if rng.random() < 0.3:
                    innovation = int(rng.integers(1, registry.next_innovation))
                    assert registry.split(innovation, a, b) == reference.split(innovation, a, b)
                else:
                    assert registry.pair(a, b) == reference.pair(a, b)
            for (a, b), i in reference.pairs.items():
                assert registry.pair(a, b) == i
            for c, entry in reference.splits.items():
                assert registry.split_node(c) == entry[0]
                assert registry.split(c, 0, 0) == entry
            reference.assert_same_as(registry)
            assert 2 * len(registry) <= registry.pair_keys.shape[0]
            assert 2 * registry.n_splits <= registry.split_keys.shape[0]
        assert registry.pair_keys.shape[0] >= 1024     # it grew several times

    def test_ensure_capacity_leaves_room_for_that_many_insertions(self):
        registry = InnovationRegistry(2, 2)
        registry.ensure_capacity(100, 30)
        cap_pairs, cap_splits = registry.pair_keys.shape[0], registry.split_keys.shape[0]
        assert 2 * (len(registry) + 100) <= cap_pairs < 4 * (len(registry) + 100)
        assert 2 * 30 <= cap_splits < 4 * 30
        keys = registry.pair_keys
        registry.ensure_capacity(100, 30)                  # room already: nothing changes
        assert registry.pair_keys is keys

    def test_fixed_registry_refuses_to_pass_half_full(self):
        registry = InnovationRegistry(2, 1)                 # 2 pairs in 16 slots
        fixed = InnovationRegistry.wrap(2, 1, *registry_arrays(registry))
        for b in range(3, 9):
            fixed.pair(1, b + 10)                          # 8 pairs: exactly half full
        with pytest.raises(TableFull):
            fixed.pair(2, 20)
        assert len(registry) == 8 and registry.next_innovation == 9   # same arrays

    def test_round_trip_restores_the_same_slots(self):
        genomes, registry, _, _, _ = make_case(11)
        back = InnovationRegistry.from_arrays(**registry.to_arrays())
        assert back == registry
        assert all(np.array_equal(a, b)
                   for a, b in zip(registry_arrays(back), registry_arrays(registry)))
        assert back.pair(999, 4) == registry.pair(999, 4)
        assert back == registry

    def test_from_arrays_rejects_a_key_in_the_wrong_slot(self):
        arrays = InnovationRegistry(2, 2).to_arrays()
        used = np.flatnonzero(arrays["pair_keys"] != -1)
        free = np.flatnonzero(arrays["pair_keys"] == -1)
        keys = arrays["pair_keys"]
        keys[free[0]], keys[used[0]] = keys[used[0]], -1
        with pytest.raises(ValueError, match="probing"):
            InnovationRegistry.from_arrays(**arrays)
