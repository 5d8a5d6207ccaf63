"""Recurrent networks: the ``recurrent`` extension key (issue 16 item 2).

docs/algorithm.md 3.3 (the add-connection rule with ``recurrent``) and 3.4 (activation with
state: forward genes read this step's values, delayed genes the previous step's), and
docs/decisions.md ("Recurrent networks").  The kernels are checked against their numpy twins
and against a plain-Python reference of the documented semantics.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from ezspark import _core
from ezspark._core import _operators as ops
from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import add_connection_candidates, is_acyclic
from ezspark.engine.population import Population
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
