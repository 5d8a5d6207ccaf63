"""Reference mutation and crossover on gene arrays (docs/algorithm.md 5.4 and 5.5).

``_core`` is the bottom layer: nothing here imports from outside ``_core``.  These are the
operators that define what the reproduction kernel computes; the kernel's twin
(``_reproduce_py.py``) applies them child by child, and ``ezspark.engine.operators`` wraps
them for ``Genome`` values.  A genome is anything with the five gene columns as attributes
``innovation``, ``src``, ``dst`` (int32), ``weight`` (float64), ``enabled`` (bool), sorted by
innovation (a ``Genes`` tuple or an engine ``Genome``); results are ``Genes``.  A registry is
anything with ``n_inputs``, ``n_outputs``, ``pair``, ``split_node`` and ``split``
(``_registry.RegistryTables`` or the engine's ``InnovationRegistry``).

Every operator is a pure function of its arguments: the random numbers it needs are drawn
upstream from the run's evolution stream and passed in, in the fixed layout below, so that
the position in the stream never depends on what an operator decided.

Draw layout of one mutated offspring whose parent has n genes
    ``gene_u``   float64[n, 4]  per gene: enable test, weight test, replace test, U(-5, 5) source
    ``gene_z``   float64[n]     per gene: the N(0, 1) weight perturbation
    ``child_u``  float64[6]     structural test 1, structural test 2, pick for the structural
                                operation, U(-2, 2) source of a new connection's weight,
                                add-node test, add-node pick
"Pick one of n" is ``min(floor(u * n), n - 1)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["CHILD_DRAWS", "GENE_DRAWS", "Genes", "as_genes", "hidden_nodes", "weight_pass",
           "add_connection_candidates", "add_connection", "remove_connection", "add_node",
           "mutate", "crossover", "is_acyclic"]

GENE_DRAWS = 4   # uniforms per gene of the parent
CHILD_DRAWS = 6  # uniforms per child


class Genes(NamedTuple):
    """The gene columns of one genome, in the order of the ``Genome`` constructor."""

    innovation: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    enabled: np.ndarray


def as_genes(genome) -> Genes:
    """The columns of ``genome`` (the same arrays, not copies)."""
    return Genes(genome.innovation, genome.src, genome.dst, genome.weight, genome.enabled)


def _pick(u: float, n: int) -> int:
    return min(int(u * n), n - 1)


def hidden_nodes(genome, n_inputs: int, n_outputs: int) -> np.ndarray:
    """Sorted ids of the hidden nodes the genome's genes mention."""
    ids = np.union1d(genome.src, genome.dst)
    return ids[ids > n_inputs + n_outputs].astype(np.int32)


def weight_pass(weight: np.ndarray, u_test: np.ndarray, u_replace: np.ndarray,
                u_value: np.ndarray, z: np.ndarray, rate: float, rho: float) -> np.ndarray:
    """5.4 b: each gene mutates with probability ``rate``; a mutating gene gets U(-5, 5)
    with probability ``rho``, else w + N(0, 1).  Returns a new array."""
    mutate_ = u_test < rate
    replace = u_replace < rho
    new = np.where(replace, -5.0 + 10.0 * u_value, weight + z)
    return np.where(mutate_, new, weight)


def _topological_order(genome) -> tuple[list[int], dict[int, list[int]]]:
    """Kahn's order of the nodes of the gene graph (all genes), and the child lists.
    Raises ValueError if the graph has a cycle."""
    children: dict[int, list[int]] = {}
    indeg: dict[int, int] = {}
    for a, b in zip(genome.src.tolist(), genome.dst.tolist()):
        children.setdefault(a, []).append(b)
        indeg[b] = indeg.get(b, 0) + 1
        indeg.setdefault(a, 0)
    ready = [node for node, d in indeg.items() if d == 0]
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in children.get(node, ()):
            indeg[child] -= 1
            if indeg[child] == 0:
                ready.append(child)
    if len(order) != len(indeg):
        raise ValueError("the genome's gene graph has a cycle")
    return order, children


def _descendants(genome) -> dict[int, int]:
    """For every node of the genome's gene graph, a bitmask (bit = node id) of the nodes
    reachable from it along genes, enabled or disabled."""
    order, children = _topological_order(genome)
    memo: dict[int, int] = {}
    for node in reversed(order):
        mask = 0
        for child in children.get(node, ()):
            mask |= (1 << child) | memo[child]
        memo[node] = mask
    return memo


def is_acyclic(genome) -> bool:
    """True when the graph of all genes (enabled and disabled) has no cycle."""
    try:
        _topological_order(genome)
    except ValueError:
        return False
    return True


def add_connection_candidates(genome, n_inputs: int, n_outputs: int, *,
                              recurrent: bool = False) -> list[tuple[int, int]]:
    """Pairs (a, b) that add-connection may choose (5.4), ordered by (a, b).

    Acyclic rule: a an input or hidden node, b an output or hidden node, a != b, no enabled
    gene (a, b), and no path b -> a among all genes.  With ``recurrent`` (the extension key,
    docs/algorithm.md 3.3): a may also be an output, a == b is allowed (a self-loop) and
    cycles are allowed; the other conditions stay.
    """
    hidden = hidden_nodes(genome, n_inputs, n_outputs).tolist()
    outputs = list(range(n_inputs + 1, n_inputs + n_outputs + 1))
    sources = list(range(1, n_inputs + 1)) + (outputs if recurrent else []) + hidden
    targets = outputs + hidden
    enabled_pairs = set(zip(genome.src[genome.enabled].tolist(),
                            genome.dst[genome.enabled].tolist()))
    if recurrent:
        return [(a, b) for a in sources for b in targets if (a, b) not in enabled_pairs]
    reach = _descendants(genome)
    out = []
    for a in sources:
        bit_a = 1 << a
        for b in targets:
            if a == b or (a, b) in enabled_pairs:
                continue
            if reach.get(b, 0) & bit_a:  # a path b -> a exists: a -> b would close a cycle
                continue
            out.append((a, b))
    return out


def _insert_gene(genes: Genes, innovation: int, src: int, dst: int, weight: float,
                 enabled: bool) -> Genes:
    pos = int(np.searchsorted(genes.innovation, innovation))
    return Genes(np.insert(genes.innovation, pos, innovation), np.insert(genes.src, pos, src),
                 np.insert(genes.dst, pos, dst), np.insert(genes.weight, pos, weight),
                 np.insert(genes.enabled, pos, enabled))


def add_connection(genome, u_pick: float, u_weight: float, registry, *,
                   recurrent: bool = False) -> Genes:
    """5.4 add-connection: pick a valid pair uniformly; enable its disabled gene if the
    genome has one (in place), else add a new gene with weight U(-2, 2).  ``recurrent``:
    the candidate rule of the extension key (``add_connection_candidates``)."""
    genes = as_genes(genome)
    cands = add_connection_candidates(genes, registry.n_inputs, registry.n_outputs,
                                      recurrent=recurrent)
    if not cands:
        return genes
    a, b = cands[_pick(u_pick, len(cands))]
    hit = np.flatnonzero((genes.src == a) & (genes.dst == b))
    if hit.shape[0]:
        genes.enabled[hit[0]] = True
        return genes
    return _insert_gene(genes, registry.pair(a, b), a, b, -2.0 + 4.0 * u_weight, True)


def remove_connection(genome, u_pick: float) -> Genes:
    """5.4 remove-connection: disable one enabled gene, picked uniformly (in place)."""
    genes = as_genes(genome)
    live = np.flatnonzero(genes.enabled)
    if live.shape[0]:
        genes.enabled[live[_pick(u_pick, live.shape[0])]] = False
    return genes


def add_node(genome, u_pick: float, registry) -> Genes:
    """5.4 add-node: split an enabled gene whose split node is not in the genome (the split
    gene is disabled in place; the two new genes make new arrays)."""
    genes = as_genes(genome)
    nodes = set(genes.src.tolist()) | set(genes.dst.tolist())
    cands = []
    for idx in np.flatnonzero(genes.enabled).tolist():
        node = registry.split_node(int(genes.innovation[idx]))
        if node is None or node not in nodes:
            cands.append(idx)
    if not cands:
        return genes
    idx = cands[_pick(u_pick, len(cands))]
    a, b = int(genes.src[idx]), int(genes.dst[idx])
    w = float(genes.weight[idx])
    node, first, second = registry.split(int(genes.innovation[idx]), a, b)
    genes.enabled[idx] = False
    genes = _insert_gene(genes, first, a, node, 1.0, True)
    return _insert_gene(genes, second, node, b, w, True)


def mutate(parent, gene_u: np.ndarray, gene_z: np.ndarray, child_u: np.ndarray, *,
           activate_rate: float, weight_rate: float, rho: float, p_add: float, p_rem: float,
           add_node_rate: float, simplify: bool, registry, recurrent: bool = False) -> Genes:
    """One mutated offspring of ``parent`` (5.4 a to d), with the draw layout of the module
    docstring.  The parent is not modified.  ``recurrent``: add-connection may close cycles
    (the extension key; the draws are the same)."""
    n = parent.innovation.shape[0]
    if gene_u.shape != (n, GENE_DRAWS) or gene_z.shape != (n,) or child_u.shape != (CHILD_DRAWS,):
        raise ValueError("mutation draws do not match the parent's gene count")
    enabled = parent.enabled | (gene_u[:, 0] < activate_rate)          # a. enable
    weight = weight_pass(parent.weight, gene_u[:, 1], gene_u[:, 2],     # b. weights
                         gene_u[:, 3], gene_z, weight_rate, rho)
    child = Genes(parent.innovation.copy(), parent.src.copy(), parent.dst.copy(), weight,
                  enabled)
    # c. structure: normal mode adds with p_add, else removes with p_rem; simplification
    # mode keeps the two tests and swaps the operations
    if child_u[0] < p_add:
        do_add = not simplify
    elif child_u[1] < p_rem:
        do_add = simplify
    else:
        do_add = None
    if do_add is True:
        child = add_connection(child, child_u[2], child_u[3], registry, recurrent=recurrent)
    elif do_add is False:
        child = remove_connection(child, child_u[2])
    if child_u[4] < add_node_rate:                                       # d. node
        child = add_node(child, child_u[5], registry)
    return child


def crossover(fitter, other, gene_u: np.ndarray) -> Genes:
    """Child of the fitter parent and the other one (5.5).  ``gene_u`` has one uniform per
    gene of the fitter parent: a matching gene comes from the fitter parent when its draw is
    < 0.5, else (weight and enabled flag) from the other parent."""
    if gene_u.shape[0] != fitter.innovation.shape[0]:
        raise ValueError("crossover needs one draw per gene of the fitter parent")
    child = Genes(*(column.copy() for column in as_genes(fitter)))
    _, ip, iq = np.intersect1d(fitter.innovation, other.innovation, assume_unique=True,
                               return_indices=True)
    from_other = gene_u[ip] >= 0.5
    take_p, take_q = ip[from_other], iq[from_other]
    child.weight[take_p] = other.weight[take_q]
    child.enabled[take_p] = other.enabled[take_q]
    return child
