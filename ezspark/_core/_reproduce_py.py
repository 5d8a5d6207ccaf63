"""Pure-Python twin of ``_reproduce.pyx``: the same functions, signatures and checks.

Self-contained in ``_core`` (the bottom layer imports nothing above it): each child is made by
the reference operators on gene arrays (``_operators.mutate`` and ``crossover``), working on
the registry arrays in place through ``_registry.RegistryTables``, which hashes and probes
exactly as the kernel does and refuses, as it does, to pass half full; so twin and kernel
leave identical children and identical registry arrays.  Layouts: ``_reproduce.pxd``.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array as _array
from ._operators import CHILD_DRAWS, GENE_DRAWS, Genes, crossover as _crossover, mutate
from ._registry import RegistryTables

__all__ = ["reproduce", "crossover"]


def _check_table(off, innovation, src, dst, weight, enabled) -> int:
    """Check a parent CSR table as the compiled ``_check_table`` does; return P."""
    _array(off, "i", 8, 1, "p_off")
    _array(innovation, "i", 4, 1, "p_innovation")
    _array(src, "i", 4, 1, "p_src")
    _array(dst, "i", 4, 1, "p_dst")
    _array(weight, "f", 8, 1, "p_weight")
    _array(enabled, "bu", 1, 1, "p_enabled")
    if off.shape[0] < 1 or off[0] != 0:
        raise ValueError("p_off needs P + 1 >= 1 entries starting at 0")
    steps = np.diff(off)
    if np.any(steps < 0):
        raise ValueError(f"p_off decreases at genome {int(np.flatnonzero(steps < 0)[0])}")
    n = int(off[-1])
    if not (innovation.shape[0] == src.shape[0] == dst.shape[0] == weight.shape[0]
            == enabled.shape[0] == n):
        raise ValueError(f"parent gene columns must all have p_off[-1] = {n} rows")
    bad = np.flatnonzero((src < 1) | (dst < 1))
    if bad.shape[0]:
        raise ValueError(f"parent gene {int(bad[0])} has a node id below 1")
    return off.shape[0] - 1


def _check_out(n_rows, capacity, out_off, out_innovation, out_src, out_dst, out_weight,
               out_enabled) -> None:
    _array(out_off, "i", 8, 1, "out_off", writeable=True)
    _array(out_innovation, "i", 4, 1, "out_innovation", writeable=True)
    _array(out_src, "i", 4, 1, "out_src", writeable=True)
    _array(out_dst, "i", 4, 1, "out_dst", writeable=True)
    _array(out_weight, "f", 8, 1, "out_weight", writeable=True)
    _array(out_enabled, "bu", 1, 1, "out_enabled", writeable=True)
    if out_off.shape[0] != n_rows + 1:
        raise ValueError(f"out_off has {out_off.shape[0]} entries, expected {n_rows + 1}")
    if min(a.shape[0] for a in (out_innovation, out_src, out_dst, out_weight,
                                out_enabled)) < capacity:
        raise ValueError(f"output gene columns need at least {capacity} rows")


def _parent(off, innovation, src, dst, weight, enabled, p: int) -> Genes:
    lo, hi = int(off[p]), int(off[p + 1])
    return Genes(innovation[lo:hi], src[lo:hi], dst[lo:hi], weight[lo:hi],
                 enabled[lo:hi].astype(np.bool_))


def _write(child: Genes, pos: int, out_innovation, out_src, out_dst, out_weight,
           out_enabled) -> int:
    end = pos + child.innovation.shape[0]
    out_innovation[pos:end] = child.innovation
    out_src[pos:end] = child.src
    out_dst[pos:end] = child.dst
    out_weight[pos:end] = child.weight
    out_enabled[pos:end] = child.enabled
    return end


def _log2(cap: int, name: str) -> int:
    if cap < 2 or cap & (cap - 1):
        raise ValueError(f"{name} has {cap} slots; registry tables need a power of two >= 2")
    return cap.bit_length() - 1


def _check_plan(n_parents: int, p_off, child_parent, child_simplify, child_p_add, gene_u,
                gene_z, child_u, n_inputs, n_outputs) -> int:
    """Check the plan, its draws and the network size as the compiled kernel does; return G,
    the number of parent genes over all children (rows of ``gene_u``)."""
    _array(child_parent, "i", 8, 1, "child_parent")
    _array(child_simplify, "bu", 1, 1, "child_simplify")
    _array(child_p_add, "f", 8, 1, "child_p_add")
    _array(gene_u, "f", 8, 2, "gene_u")
    _array(gene_z, "f", 8, 1, "gene_z")
    _array(child_u, "f", 8, 2, "child_u")
    n_children = child_parent.shape[0]
    if child_simplify.shape[0] != n_children or child_p_add.shape[0] != n_children:
        raise ValueError("child_parent, child_simplify and child_p_add need one entry per child")
    for c, p in enumerate(child_parent.tolist()):
        if not 0 <= p < n_parents:
            raise ValueError(f"child_parent[{c}] = {p} is not a parent index "
                             f"(there are {n_parents} parents)")
    total_genes = int((p_off[child_parent + 1] - p_off[child_parent]).sum())
    if gene_u.shape != (total_genes, GENE_DRAWS) or gene_z.shape[0] != total_genes:
        raise ValueError(f"gene_u must be ({total_genes}, 4) and gene_z ({total_genes},): "
                         f"one row per gene of each child's parent, in plan order")
    if child_u.shape != (n_children, CHILD_DRAWS):
        raise ValueError(f"child_u must be ({n_children}, 6)")
    if n_inputs < 0 or n_outputs < 0:
        raise ValueError("n_inputs and n_outputs must be >= 0")
    return total_genes


def _check_registry(pair_keys, pair_values, split_keys, split_values, counters) -> None:
    """Check the five registry arrays as the compiled kernel does."""
    _array(pair_keys, "i", 8, 1, "pair_keys", writeable=True)
    _array(pair_values, "i", 4, 1, "pair_values", writeable=True)
    _array(split_keys, "i", 8, 1, "split_keys", writeable=True)
    _array(split_values, "i", 4, 2, "split_values", writeable=True)
    _array(counters, "i", 8, 1, "counters", writeable=True)
    if pair_values.shape[0] != pair_keys.shape[0]:
        raise ValueError("pair_keys and pair_values differ in length")
    if split_values.shape[0] != split_keys.shape[0] or split_values.shape[1] != 2:
        raise ValueError("split_values must be (len(split_keys), 2)")
    if counters.shape[0] != 4:
        raise ValueError("counters must have 4 entries")
    _log2(pair_keys.shape[0], "pair_keys")
    _log2(split_keys.shape[0], "split_keys")
    if (2 * counters[2] > pair_keys.shape[0] or 2 * counters[3] > split_keys.shape[0]
            or counters[0] < 1 or counters[1] < 1):
        raise ValueError("registry counters do not fit the tables")


def reproduce(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled,
              child_parent, child_simplify, child_p_add, gene_u, gene_z, child_u,
              activate_rate, weight_rate, rho, p_rem, add_node_rate, n_inputs, n_outputs,
              pair_keys, pair_values, split_keys, split_values, counters,
              out_off, out_innovation, out_src, out_dst, out_weight, out_enabled,
              recurrent=False) -> int:
    """Mutated offspring of every child of the plan (docs/algorithm.md 5.4); see
    ``_reproduce.pyx`` (``recurrent``: the extension key's add-connection rule).

    Returns the total number of child genes; raises as the compiled kernel does.
    """
    n_parents = _check_table(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled)
    total_genes = _check_plan(n_parents, p_off, child_parent, child_simplify, child_p_add,
                              gene_u, gene_z, child_u, n_inputs, n_outputs)
    n_children = child_parent.shape[0]
    _check_out(n_children, total_genes + 3 * n_children, out_off, out_innovation, out_src,
               out_dst, out_weight, out_enabled)
    _check_registry(pair_keys, pair_values, split_keys, split_values, counters)
    registry = RegistryTables(n_inputs, n_outputs, pair_keys, pair_values, split_keys,
                              split_values, counters)
    out_off[0] = 0
    row = pos = 0
    for c in range(n_children):
        parent = _parent(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled,
                         int(child_parent[c]))
        n = parent.innovation.shape[0]
        child = mutate(parent, gene_u[row:row + n], gene_z[row:row + n], child_u[c],
                       activate_rate=activate_rate, weight_rate=weight_rate, rho=rho,
                       p_add=float(child_p_add[c]), p_rem=p_rem, add_node_rate=add_node_rate,
                       simplify=bool(child_simplify[c]), registry=registry,
                       recurrent=bool(recurrent))
        pos = _write(child, pos, out_innovation, out_src, out_dst, out_weight, out_enabled)
        row += n
        out_off[c + 1] = pos
    return pos


def crossover(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled, pairs, gene_u,
              out_off, out_innovation, out_src, out_dst, out_weight, out_enabled) -> int:
    """Crossover children (docs/algorithm.md 5.5), one per row of ``pairs`` (fitter parent,
    other parent); see ``_reproduce.pyx``.  Returns the total number of child genes."""
    n_parents = _check_table(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled)
    _array(pairs, "i", 8, 2, "pairs")
    _array(gene_u, "f", 8, 1, "gene_u")
    if pairs.shape[1] != 2:
        raise ValueError("pairs must have two columns (fitter parent, other parent)")
    for x, row in enumerate(pairs.tolist()):
        for i in range(2):
            if not 0 <= row[i] < n_parents:
                raise ValueError(f"pairs[{x}, {i}] = {row[i]} is not a parent index "
                                 f"(there are {n_parents} parents)")
    fitter = pairs[:, 0]
    total = int((p_off[fitter + 1] - p_off[fitter]).sum())
    if gene_u.shape[0] != total:
        raise ValueError(f"gene_u has {gene_u.shape[0]} draws, expected {total}: one per gene "
                         f"of each fitter parent")
    _check_out(pairs.shape[0], total, out_off, out_innovation, out_src, out_dst, out_weight,
               out_enabled)
    out_off[0] = 0
    pos = 0
    for x, (fp, fq) in enumerate(pairs.tolist()):
        p = _parent(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled, fp)
        q = _parent(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled, fq)
        child = _crossover(p, q, gene_u[pos:pos + p.innovation.shape[0]])
        pos = _write(child, pos, out_innovation, out_src, out_dst, out_weight, out_enabled)
        out_off[x + 1] = pos
    return pos
