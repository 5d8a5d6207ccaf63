"""Genetic operators on single genomes (engine-spec 5.2, 5.4, 5.5).

Every operator is a pure function of its arguments: the random numbers it needs are drawn
upstream from the run's evolution stream and passed in, in the fixed layout below, so that
the position in the stream never depends on what an operator decided.

Draw layout of one mutated offspring whose parent has n genes
    ``gene_u``   float64[n, 4]  per gene: enable test, weight test, replace test, U(-5, 5) source
    ``gene_z``   float64[n]     per gene: the N(0, 1) weight perturbation
    ``child_u``  float64[6]     structural test 1, structural test 2, pick for the structural
                                operation, U(-2, 2) source of a new connection's weight,
                                add-node test, add-node pick
"""
from __future__ import annotations

import numpy as np

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry

__all__ = [
    "CHILD_DRAWS", "GENE_DRAWS", "distance", "crossover", "mutate", "weight_pass",
    "add_connection", "remove_connection", "add_node", "is_acyclic", "seqsum",
]

GENE_DRAWS = 4   # uniforms per gene of the parent
CHILD_DRAWS = 6  # uniforms per child


def seqsum(values) -> float:
    """Sum starting at 0.0, adding in array order (the spec's summation rule, 1.2)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 0:
        return 0.0
    return float(np.cumsum(values)[-1])


# --- distance ---------------------------------------------------------------------------
def distance(g1: Genome, g2: Genome, n_inputs: int, n_outputs: int) -> float:
    """Compatibility distance δ(g1, g2) of spec 5.2 (symmetric; δ(g, g) = 0)."""
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
    """Child of x and y (spec 5.5).  ``gene_u`` has one uniform per gene of the fitter
    parent (x if fx >= fy, else y): a matching gene comes from the fitter parent when its
    draw is < 0.5, else from the other parent."""
    p, q = (x, y) if fx >= fy else (y, x)
    if gene_u.shape[0] != len(p):
        raise ValueError("crossover needs one draw per gene of the fitter parent")
    child = p.copy()
    _, ip, iq = np.intersect1d(p.innovation, q.innovation, assume_unique=True,
                               return_indices=True)
    from_q = gene_u[ip] >= 0.5
    take_p, take_q = ip[from_q], iq[from_q]
    child.weight[take_p] = q.weight[take_q]
    child.enabled[take_p] = q.enabled[take_q]
    return child


# --- mutation ---------------------------------------------------------------------------
def weight_pass(weight: np.ndarray, u_test: np.ndarray, u_replace: np.ndarray,
                u_value: np.ndarray, z: np.ndarray, rate: float, rho: float) -> np.ndarray:
    """Spec 5.4 b: each gene mutates with probability ``rate``; a mutating gene gets
    U(-5, 5) with probability ``rho``, else w + N(0, 1).  Returns a new array."""
    mutate_ = u_test < rate
    replace = u_replace < rho
    new = np.where(replace, -5.0 + 10.0 * u_value, weight + z)
    return np.where(mutate_, new, weight)


def _topological_order(genome: Genome) -> tuple[list[int], dict[int, list[int]]]:
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


def _descendants(genome: Genome) -> dict[int, int]:
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


def add_connection_candidates(genome: Genome, n_inputs: int, n_outputs: int) -> list[tuple[int, int]]:
    """Pairs (a, b) that add-connection may choose (spec 5.4), ordered by (a, b)."""
    hidden = genome.hidden_nodes(n_inputs, n_outputs).tolist()
    sources = list(range(1, n_inputs + 1)) + hidden
    targets = list(range(n_inputs + 1, n_inputs + n_outputs + 1)) + hidden
    enabled_pairs = set(zip(genome.src[genome.enabled].tolist(),
                            genome.dst[genome.enabled].tolist()))
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


def _insert_gene(genome: Genome, innovation: int, src: int, dst: int, weight: float,
                 enabled: bool) -> Genome:
    pos = int(np.searchsorted(genome.innovation, innovation))
    return Genome(np.insert(genome.innovation, pos, innovation),
                  np.insert(genome.src, pos, src), np.insert(genome.dst, pos, dst),
                  np.insert(genome.weight, pos, weight), np.insert(genome.enabled, pos, enabled))


def add_connection(genome: Genome, u_pick: float, u_weight: float,
                   registry: InnovationRegistry) -> Genome:
    """Spec 5.4 add-connection: pick a valid pair uniformly; enable its disabled gene if
    the genome has one, else add a new gene with weight U(-2, 2)."""
    cands = add_connection_candidates(genome, registry.n_inputs, registry.n_outputs)
    if not cands:
        return genome
    a, b = cands[min(int(u_pick * len(cands)), len(cands) - 1)]
    hit = np.flatnonzero((genome.src == a) & (genome.dst == b))
    if hit.shape[0]:
        genome.enabled[hit[0]] = True
        return genome
    return _insert_gene(genome, registry.pair(a, b), a, b, -2.0 + 4.0 * u_weight, True)


def remove_connection(genome: Genome, u_pick: float) -> Genome:
    """Spec 5.4 remove-connection: disable one enabled gene, picked uniformly."""
    live = np.flatnonzero(genome.enabled)
    if live.shape[0]:
        genome.enabled[live[min(int(u_pick * live.shape[0]), live.shape[0] - 1)]] = False
    return genome


def add_node(genome: Genome, u_pick: float, registry: InnovationRegistry) -> Genome:
    """Spec 5.4 add-node: split an enabled gene whose split node is not in the genome."""
    nodes = set(genome.src.tolist()) | set(genome.dst.tolist())
    cands = []
    for idx in np.flatnonzero(genome.enabled).tolist():
        node = registry.split_node(int(genome.innovation[idx]))
        if node is None or node not in nodes:
            cands.append(idx)
    if not cands:
        return genome
    idx = cands[min(int(u_pick * len(cands)), len(cands) - 1)]
    a, b = int(genome.src[idx]), int(genome.dst[idx])
    w = float(genome.weight[idx])
    node, first, second = registry.split(int(genome.innovation[idx]), a, b)
    genome.enabled[idx] = False
    genome = _insert_gene(genome, first, a, node, 1.0, True)
    return _insert_gene(genome, second, node, b, w, True)


def mutate(parent: Genome, gene_u: np.ndarray, gene_z: np.ndarray, child_u: np.ndarray, *,
           activate_rate: float, weight_rate: float, rho: float, p_add: float, p_rem: float,
           add_node_rate: float, simplify: bool, registry: InnovationRegistry) -> Genome:
    """One mutated offspring of ``parent`` (spec 5.4 a to d), with the draw layout of the
    module docstring.  The parent is not modified."""
    n = len(parent)
    if gene_u.shape != (n, GENE_DRAWS) or gene_z.shape != (n,) or child_u.shape != (CHILD_DRAWS,):
        raise ValueError("mutation draws do not match the parent's gene count")
    enabled = parent.enabled | (gene_u[:, 0] < activate_rate)          # a. enable
    weight = weight_pass(parent.weight, gene_u[:, 1], gene_u[:, 2],     # b. weights
                         gene_u[:, 3], gene_z, weight_rate, rho)
    child = Genome(parent.innovation.copy(), parent.src.copy(), parent.dst.copy(),
                   weight, enabled)
    # c. structure: normal mode adds with p_add, else removes with p_rem; simplification
    # mode keeps the two tests and swaps the operations
    if child_u[0] < p_add:
        do_add = not simplify
    elif child_u[1] < p_rem:
        do_add = simplify
    else:
        do_add = None
    if do_add is True:
        child = add_connection(child, child_u[2], child_u[3], registry)
    elif do_add is False:
        child = remove_connection(child, child_u[2])
    if child_u[4] < add_node_rate:                                       # d. node
        child = add_node(child, child_u[5], registry)
    return child


def is_acyclic(genome: Genome) -> bool:
    """True when the graph of all genes (enabled and disabled) has no cycle."""
    try:
        _topological_order(genome)
    except ValueError:
        return False
    return True
