"""Genetic operators on single genomes (docs/algorithm.md 5.2, 5.4, 5.5).

Mutation and crossover are defined once, on gene arrays, in the bottom layer
(``ezspark._core._operators``, the reference that the reproduction kernel and its twin
follow); the functions here take and return ``Genome`` values.  ``distance`` is the
reference of the speciation kernel (``ezspark._core._distance``).

Every operator is a pure function of its arguments: the random numbers it needs are drawn
upstream from the run's evolution stream and passed in, in the fixed layout of
``ezspark._core._operators`` (``GENE_DRAWS`` uniforms and one normal per parent gene,
``CHILD_DRAWS`` uniforms per child), so that the position in the stream never depends on
what an operator decided.
"""
from __future__ import annotations

import numpy as np

from ezspark._core import _operators as _genes
from ezspark._core._operators import (CHILD_DRAWS, GENE_DRAWS, add_connection_candidates,
                                      is_acyclic, weight_pass)
from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry

__all__ = [
    "CHILD_DRAWS", "GENE_DRAWS", "distance", "crossover", "mutate", "weight_pass",
    "add_connection", "add_connection_candidates", "remove_connection", "add_node",
    "is_acyclic", "seqsum",
]


def seqsum(values) -> float:
    """Sum starting at 0.0, adding in array order (the summation rule, docs/algorithm.md 1.2)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 0:
        return 0.0
    return float(np.cumsum(values)[-1])


# --- distance ---------------------------------------------------------------------------
def distance(g1: Genome, g2: Genome, n_inputs: int, n_outputs: int) -> float:
    """Compatibility distance δ(g1, g2) of docs/algorithm.md 5.2 (symmetric; δ(g, g) = 0)."""
    n1, n2 = len(g1), len(g2)
    if n1 == 0 and n2 == 0:
        return 0.0
    _, i1, i2 = np.intersect1d(g1.innovation, g2.innovation, assume_unique=True,
                               return_indices=True)
    matching = i1.shape[0]
    m1 = int(g1.innovation[-1]) if n1 else 0
    m2 = int(g2.innovation[-1]) if n2 else 0
    only1 = np.delete(g1.innovation, i1)
    only2 = np.delete(g2.innovation, i2)
    excess = int((only1 > m2).sum()) + int((only2 > m1).sum())
    disjoint = (only1.shape[0] + only2.shape[0]) - excess
    if matching:
        w1 = np.where(g1.enabled[i1], g1.weight[i1], 0.0)
        w2 = np.where(g2.enabled[i2], g2.weight[i2], 0.0)
        wbar = seqsum(np.abs(w1 - w2)) / matching
    else:
        wbar = 0.0
    big = max(n1, n2)
    norm = float(big) if big >= 20 + n_inputs * n_outputs else 1.0
    return excess / norm + disjoint / norm + 0.4 * wbar


# --- crossover --------------------------------------------------------------------------
def crossover(x: Genome, fx: float, y: Genome, fy: float, gene_u: np.ndarray) -> Genome:
    """Child of x and y (5.5).  ``gene_u`` has one uniform per gene of the fitter parent
    (x if fx >= fy, else y): a matching gene comes from the fitter parent when its draw is
    < 0.5, else from the other parent."""
    fitter, other = (x, y) if fx >= fy else (y, x)
    return Genome(*_genes.crossover(fitter, other, gene_u))


# --- mutation ---------------------------------------------------------------------------
def add_connection(genome: Genome, u_pick: float, u_weight: float,
                   registry: InnovationRegistry, *, recurrent: bool = False) -> Genome:
    """5.4 add-connection: pick a valid pair uniformly; enable its disabled gene if the
    genome has one, else add a new gene with weight U(-2, 2).  ``recurrent``: cycles and
    self-loops may be created (the extension key, docs/algorithm.md 3.3)."""
    return Genome(*_genes.add_connection(genome, u_pick, u_weight, registry,
                                         recurrent=recurrent))


def remove_connection(genome: Genome, u_pick: float) -> Genome:
    """5.4 remove-connection: disable one enabled gene, picked uniformly."""
    return Genome(*_genes.remove_connection(genome, u_pick))


def add_node(genome: Genome, u_pick: float, registry: InnovationRegistry) -> Genome:
    """5.4 add-node: split an enabled gene whose split node is not in the genome."""
    return Genome(*_genes.add_node(genome, u_pick, registry))


def mutate(parent: Genome, gene_u: np.ndarray, gene_z: np.ndarray, child_u: np.ndarray, *,
           activate_rate: float, weight_rate: float, rho: float, p_add: float, p_rem: float,
           add_node_rate: float, simplify: bool, registry: InnovationRegistry,
           recurrent: bool = False) -> Genome:
    """One mutated offspring of ``parent`` (5.4 a to d), with the draw layout of
    ``ezspark._core._operators``.  The parent is not modified."""
    return Genome(*_genes.mutate(parent, gene_u, gene_z, child_u, activate_rate=activate_rate,
                                 weight_rate=weight_rate, rho=rho, p_add=p_add, p_rem=p_rem,
                                 add_node_rate=add_node_rate, simplify=simplify,
                                 registry=registry, recurrent=recurrent))
