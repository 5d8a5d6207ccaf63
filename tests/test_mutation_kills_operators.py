"""Tests written for mutants of the operators (``ezspark/engine/operators.py``,
``ezspark/_core/_operators.py``) that survived mutation testing (docs/testing.md,
"Mutation testing").  Each names the rule it pins."""
from __future__ import annotations

import numpy as np
import pytest

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import add_node, seqsum


def test_seqsum_adds_in_doubles_whatever_the_input_dtype():
    """algorithm.md 1.2: sums are IEEE-754 doubles.  In float32, 1e8 + 1 rounds back to 1e8."""
    values = np.array([1e8, 1.0, -1e8], dtype=np.float32)
    assert seqsum(values) == 1.0
    assert seqsum(values.tolist()) == 1.0


def _split_genome(only_as):
    """One input, one output; gene 1 (1 -> 2) has been split somewhere in the run (node 3,
    genes 2: 1 -> 3 and 3: 3 -> 2), and this genome holds gene 1 and only one of the two
    split genes, so its genes mention node 3 only as a source or only as a target."""
    registry = InnovationRegistry(1, 1)
    assert registry.split(1, 1, 2) == (3, 2, 3)
    if only_as == "source":
        genome = Genome([1, 3], [1, 3], [2, 2], [0.5, -0.5], [True, True])
    else:
        genome = Genome([1, 2], [1, 1], [2, 3], [0.5, -0.5], [True, True])
    return genome, registry


@pytest.mark.parametrize("only_as", ["source", "target"])
def test_add_node_skips_a_gene_whose_split_node_the_genes_mention_once(only_as):
    """algorithm.md 3.1 and 5.4: a genome's hidden nodes are the ones its genes mention, and
    add-node only splits a gene whose split node is not among them.  Gene 1's node 3 is
    mentioned, so the only candidate is the other gene, whatever the pick draw."""
    genome, registry = _split_genome(only_as)
    child = add_node(genome.copy(), 0.0, registry)
    assert child.enabled[0]                                # gene 1 is not split again
    assert not child.enabled[1]                            # the other gene is split
    assert child.innovation.tolist() == genome.innovation.tolist() + [4, 5]   # node 4's genes
    pairs = list(zip(child.src.tolist(), child.dst.tolist()))
    assert len(set(pairs)) == len(pairs)                   # at most one gene per pair (3.1)
