"""Recurrent networks: the ``recurrent`` extension key (issue 16 item 2).

docs/algorithm.md 3.3 (the add-connection rule with ``recurrent``) and 3.4 (activation with
state: forward genes read this step's values, delayed genes the previous step's), and
docs/decisions.md ("Recurrent networks").  The kernels are checked against their numpy twins
and against a plain-Python reference of the documented semantics.
"""
from __future__ import annotations


import numpy as np
import pytest

from ezspark import _core
from ezspark._core import _operators as ops
from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import add_connection_candidates, is_acyclic
from ezspark.engine.population import Population
from ezspark.network.programs import compile_programs
from tests.core.test_reproduce import DictRegistry, RATE_NAMES, make_case
from tests.genomes import grown_genome, initial_genome


def _kernel_sets():
    sets = [_core.load(pure=True)]
    if _core.COMPILED:
        sets.append(_core.load(pure=False))
    return sets


KERNELS = _kernel_sets()
KERNEL_IDS = [k.name for k in KERNELS]


# --- add-connection ------------------------------------------------------------------------

def test_recurrent_candidates_add_outputs_as_sources_self_loops_and_cycles():
    """2 inputs, 1 output, hidden node 4 on 1 -> 4 -> 3: the acyclic rule forbids 3 -> 4,
    4 -> 4 and every pair from the output; the recurrent rule allows them.  Inputs are never
    targets, and an enabled pair is never a candidate."""
    g = Genome([1, 2, 3, 4], [1, 2, 1, 4], [3, 3, 4, 3], [1.0, 1.0, 1.0, 1.0],
               [False, True, True, True])
    assert add_connection_candidates(g, 2, 1) == [(1, 3), (2, 4)]
    assert add_connection_candidates(g, 2, 1, recurrent=True) == [
        (1, 3), (2, 4), (3, 3), (3, 4), (4, 4)]


@pytest.mark.parametrize("kernels", KERNELS, ids=KERNEL_IDS)
@pytest.mark.parametrize("seed", range(40))
def test_recurrent_reproduce_equals_the_reference_operators(kernels, seed):
    """Kernel and twin equal ``_operators.mutate(recurrent=True)`` child by child (with a
    dict registry), on recurrent parents that hold cycles and self-loops."""
    genomes, registry, plan, draws, rates = make_case(seed)
    rng = np.random.default_rng(seed)
    genomes = [grown_genome(rng, registry, int(rng.integers(0, 30)), recurrent=True)
               for _ in range(4)]
    q = int(rng.integers(1, 20))
    plan = {"child_parent": rng.integers(0, 4, q).astype(np.int64),
            "child_simplify": (rng.random(q) < 0.3).astype(np.uint8),
            "child_p_add": rng.choice([0.0, 0.3, 1.0], q)}
    g = int(sum(len(genomes[p]) for p in plan["child_parent"]))
    draws = {"gene_u": rng.random((g, ops.GENE_DRAWS)), "gene_z": rng.standard_normal(g),
             "child_u": rng.random((q, ops.CHILD_DRAWS))}
    registry.ensure_capacity(3 * q, q)
    ref = DictRegistry(registry)
    children = _run_reproduce(kernels, genomes, registry, plan, draws, rates)
    expected, row = [], 0
    for c, p in enumerate(plan["child_parent"].tolist()):
        n = len(genomes[p])
        expected.append(ops.mutate(
            genomes[p], draws["gene_u"][row:row + n], draws["gene_z"][row:row + n],
            draws["child_u"][c], p_add=float(plan["child_p_add"][c]),
            simplify=bool(plan["child_simplify"][c]), registry=ref, recurrent=True,
            **rates))
        row += n
    assert children == Population.from_genomes([Genome(*e) for e in expected])
    ref.assert_same_as(registry)


def _run_reproduce(kernels, genomes, registry, plan, draws, rates, recurrent=True):
    pop = Population.from_genomes(genomes)
    q = plan["child_parent"].shape[0]
    cap = draws["gene_u"].shape[0] + 3 * q
    out = [np.zeros(q + 1, np.int64), np.zeros(cap, np.int32), np.zeros(cap, np.int32),
           np.zeros(cap, np.int32), np.zeros(cap), np.zeros(cap, np.bool_)]
    total = kernels.reproduce(
        pop.off, pop.innovation, pop.src, pop.dst, pop.weight, pop.enabled,
        plan["child_parent"], plan["child_simplify"], plan["child_p_add"],
        draws["gene_u"], draws["gene_z"], draws["child_u"],
        *(rates[name] for name in RATE_NAMES), registry.n_inputs, registry.n_outputs,
        registry.pair_keys, registry.pair_values, registry.split_keys, registry.split_values,
        registry.counters, *out, recurrent=recurrent)
    return Population(out[0], *(column[:total] for column in out[1:]))


def test_recurrent_add_connection_makes_cycles_self_loops_and_output_sources():
    """Over many random add-connections, every kind of new pair appears."""
    rng = np.random.default_rng(0)
    registry = InnovationRegistry(2, 2)
    seen = set()
    for _ in range(30):
        g = grown_genome(rng, registry, 25, recurrent=True)
        pairs = list(zip(g.src.tolist(), g.dst.tolist()))
        assert len(set(pairs)) == len(pairs)
        assert min(g.dst.tolist()) > 2                       # inputs are never targets
        if any(a == b for a, b in pairs):
            seen.add("self-loop")
        if any(3 <= a <= 4 for a, _ in pairs):
            seen.add("output source")
        if not is_acyclic(g):
            seen.add("cycle")
    assert seen == {"self-loop", "output source", "cycle"}


# --- activation ----------------------------------------------------------------------------

def reference_steps(genome: Genome, n_in: int, n_out: int, xs) -> list[list[float]]:
    """docs/algorithm.md 3.4 with state, in plain Python: per step, node n sums w * v over its
    enabled genes in innovation order, v = the source's value of this step for a forward gene
    and of the previous step (0 before the first) for a delayed one; a gene is delayed when it
    closes a cycle among the enabled genes accepted before it in innovation order."""
    sig = _core.load(pure=True).sigmoid
    genes = [(int(a), int(b), float(w)) for a, b, w, e in zip(
        genome.src, genome.dst, genome.weight, genome.enabled) if e]
    after: dict[int, set] = {}
    delayed = []
    for a, b, _ in genes:
        seen, todo, hit = set(), [b], a == b
        while todo and not hit:
            v = todo.pop()
            hit = v == a
            todo.extend(x for x in after.get(v, ()) if x not in seen)
            seen.update(after.get(v, ()))
        delayed.append(hit)
        if not hit:
            after.setdefault(a, set()).add(b)
    prev: dict[int, float] = {}
    out = []
    for x in xs:
        now: dict[int, float] = {i + 1: float(x[i]) for i in range(n_in)}

        def value(n):
            if n not in now:
                s = 0.0
                for (a, b, w), d in zip(genes, delayed):
                    if b == n:
                        s = s + w * (prev.get(a, 0.0) if d else value(a))
                bias = 1.0 if n <= n_in + n_out else 0.0
                now[n] = sig(4.9 * (bias + s))
            return now[n]
        out.append([value(n_in + 1 + j) for j in range(n_out)])
        nodes = {n for a, b, _ in genes for n in (a, b)} | set(range(n_in + 1, n_in + n_out + 1))
        for n in sorted(nodes):
            value(n)
        prev = now
    return out


def random_recurrent(rng, registry, n):
    return [grown_genome(rng, registry, int(rng.integers(0, 25)), recurrent=True)
            for _ in range(n)]


@pytest.mark.parametrize("seed", range(12))
def test_compiled_recurrent_programs_follow_the_reference_semantics(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    registry = InnovationRegistry(n_in, n_out)
    genomes = random_recurrent(rng, registry, 5)
    programs = compile_programs(genomes, n_in, n_out, recurrent=True)
    xs = rng.normal(size=(6, n_in))
    assert seed > 3 or any(not is_acyclic(g) for g in genomes)
    for g, genome in enumerate(genomes):
        rows = programs.with_state(1)
        got = [rows.activate_rows(np.array([g]), x[None])[0].tolist() for x in xs]
        assert got == reference_steps(genome, n_in, n_out, xs)


@pytest.mark.parametrize("seed", range(10))
def test_kernel_and_twin_agree_bit_for_bit_over_many_steps(seed):
    """Random recurrent programs, rows that switch programs and reset at random: the compiled
    kernel and the numpy twin keep the same state and outputs at every step."""
    if not _core.COMPILED:
        pytest.skip("compiled kernels are not built")
    rng = np.random.default_rng(100 + seed)
    n_in, n_out = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    registry = InnovationRegistry(n_in, n_out)
    programs = compile_programs(random_recurrent(rng, registry, 8), n_in, n_out, recurrent=True)
    assert programs.recurrent
    rows = 7
    states = {k.name: programs.with_state(rows) for k in KERNELS}
    row_genome = rng.integers(0, len(programs), rows)
    for step in range(40):
        X = rng.normal(scale=2.0, size=(rows, n_in))
        live = int(rng.integers(1, rows + 1))
        outs = {}
        for k in KERNELS:
            st = states[k.name]
            out = np.empty((live, n_out))
            act = np.empty(live, dtype=np.int64)
            k.activate_state(*programs._state_args, row_genome[:live], X[:live],
                             st.state[:live], out, act)
            outs[k.name] = (out, act)
        (o1, a1), (o2, a2) = outs.values()
        assert o1.tobytes() == o2.tobytes() and np.array_equal(a1, a2)
        s1, s2 = (states[k.name].state for k in KERNELS)
        assert s1.tobytes() == s2.tobytes()
        r = int(rng.integers(rows))
        if rng.random() < 0.3:
            row_genome[r] = rng.integers(len(programs))
            for st in states.values():
                st.reset(r)


def test_a_self_loop_accumulates_as_documented():
    """Input 1 -> hidden 3 (w 1), 3 -> 3 (w 0.5, delayed), 3 -> output 2 (w 2):
    h_t = σ(x_t + 0.5 h_{t-1}), h_0 = 0 before the first step, o_t = σ(2 h_t + 1),
    σ(z) = 1 / (1 + exp(-4.9 z))."""
    genome = Genome([1, 2, 3, 4], [1, 1, 3, 3], [2, 3, 3, 2], [0.0, 1.0, 0.5, 2.0],
                    [False, True, True, True])
    programs = compile_programs([genome], 1, 1, recurrent=True)
    assert programs.in_delay.tolist().count(1) == 1
    rows = programs.with_state(1)
    sig = _core.load(pure=True).sigmoid
    h, expected, got = 0.0, [], []
    for x in (1.0, -0.5, 0.25):
        h = sig(4.9 * (0.0 + (0.0 + 1.0 * x + 0.5 * h)))
        expected.append(sig(4.9 * (1.0 + (0.0 + 2.0 * h))))
        got.append(float(rows.activate_rows(np.zeros(1, np.int64), [[x]])[0, 0]))
    assert got == expected
    assert len(set(got)) == 3           # the state changed what the same weights compute


def test_reset_clears_the_state():
    rng = np.random.default_rng(3)
    registry = InnovationRegistry(2, 2)
    genomes = [g for g in random_recurrent(rng, registry, 20) if not is_acyclic(g)][:3]
    programs = compile_programs(genomes, 2, 2, recurrent=True)
    rows = programs.with_state(3)
    X = rng.normal(size=(3, 2))
    first = rows.activate_rows(np.arange(3), X).copy()
    second = rows.activate_rows(np.arange(3), X)
    assert not np.array_equal(first, second)
    rows.reset([0, 2])
    third = rows.activate_rows(np.arange(3), X)
    assert np.array_equal(third[[0, 2]], first[[0, 2]])
    rows.reset()
    assert not rows.state.any()
    np.testing.assert_array_equal(rows.activate_rows(np.arange(3), X), first)
    assert np.array_equal(programs.activate_rows(np.arange(3), X), first)   # stateless


def test_swap_moves_a_rows_state_with_it():
    rng = np.random.default_rng(4)
    registry = InnovationRegistry(2, 1)
    genomes = [g for g in random_recurrent(rng, registry, 20) if not is_acyclic(g)][:2]
    programs = compile_programs(genomes, 2, 1, recurrent=True)
    a, b = programs.with_state(2), programs.with_state(2)
    X = rng.normal(size=(2, 2))
    a.activate_rows([0, 1], X)
    b.activate_rows([0, 1], X)
    b.swap(0, 1)
    np.testing.assert_array_equal(b.activate_rows([1, 0], X[::-1])[::-1],
                                  a.activate_rows([0, 1], X))


@pytest.mark.parametrize("seed", range(6))
def test_a_recurrent_genome_without_cycles_computes_the_feed_forward_outputs(seed):
    rng = np.random.default_rng(seed)
    registry = InnovationRegistry(3, 2)
    genomes = [grown_genome(rng, registry, 20) for _ in range(6)]      # acyclic
    ff = compile_programs(genomes, 3, 2)
    rec = compile_programs(genomes, 3, 2, recurrent=True)
    assert rec == ff and not rec.recurrent
    rows = rec.with_state(6)
    for _ in range(3):
        X = rng.normal(size=(6, 3))
        np.testing.assert_array_equal(rows.activate_rows(np.arange(6), X),
                                      ff.activate_rows(np.arange(6), X))
    # the stateful kernel itself, on the same (acyclic) programs, gives the same bits
    state = np.zeros((6, int(ff.n_nodes.max())))
    out = np.empty((6, 2))
    _core.activate_state(*ff._state_args, np.arange(6), X, state, out, None)
    assert out.tobytes() == ff.activate_rows(np.arange(6), X).tobytes()


def test_feed_forward_compilation_still_refuses_cycles():
    genome = Genome([1, 2], [1, 2], [2, 2], [1.0, 0.5], [True, True])
    with pytest.raises(ValueError, match="cycle"):
        compile_programs([genome], 1, 1)
    assert compile_programs([genome], 1, 1, recurrent=True).recurrent
