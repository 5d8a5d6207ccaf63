"""Reproduction kernels: every mutated offspring of a generation in one ``nogil`` loop, and
crossover children.

The array layouts (gene tables, innovation registry, draws) are documented in
``_reproduce.pxd``.  Each child is exactly ``_operators.mutate`` (docs/algorithm.md 5.4, the
reference on gene arrays) of its parent with its slice of the draws, with innovation numbers
handed out in child order; the registry arrays are updated in place, as
``_registry.RegistryTables`` would.  ``_reproduce_py.py`` is the twin with the same
signatures.

Cost model.  Steps a and b are one pass over the parent's genes.  Add-connection needs the
parent's hidden nodes in id order and, per node, its ancestors in the graph of all genes: the
sorted hidden list and the local index of every gene end are cached per parent (children of one
parent share them); the ancestor bitsets come from one Kahn pass per add-connection child.  The
candidate pairs are never listed: per source a, the valid targets are the bitset
``targets & ~enabled_targets(a) & ~ancestors(a) & ~{a}``, so counting is popcounts, and the
picked pair is found by walking the per-source counts, then the bits of one source.
"""
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memset

from ezspark._core._typedefs cimport float64_t, int32_t, int64_t, intp_t, uint8_t

from ezspark._core._registry import TableFull

__all__ = ["reproduce", "crossover"]

cdef extern from "ez_reproduce.h" nogil:
    uint64_t EZ_HASH_MULTIPLIER
    int64_t EZ_INT32_MAX
    int ez_popcount64(uint64_t x) noexcept
    int ez_ctz64(uint64_t x) noexcept

cdef int64_t EMPTY = -1
cdef intp_t NEXT_NODE = 0, NEXT_INNOVATION = 1, N_PAIRS = 2, N_SPLITS = 3


# --- errors (raised with the GIL from nogil code) ------------------------------------------
cdef int _table_full() except -1 nogil:
    with gil:
        raise TableFull("innovation registry table is full: call "
                        "registry.ensure_capacity(...) before the kernel call")


cdef int _value_error(const char* message) except -1 nogil:
    with gil:
        raise ValueError(message.decode())


# --- innovation registry -------------------------------------------------------------------
cdef intp_t probe(const int64_t* keys, intp_t cap, int shift, int64_t key) noexcept nogil:
    cdef intp_t mask = cap - 1
    cdef intp_t i = <intp_t>((<uint64_t>key * EZ_HASH_MULTIPLIER) >> shift)
    while keys[i] != key and keys[i] != EMPTY:
        i = (i + 1) & mask
    return i


cdef inline void _store_pair(Registry* reg, int64_t key, int32_t innovation) noexcept nogil:
    # Insert or overwrite; room was checked by the caller.
    cdef intp_t slot = probe(reg.pair_keys, reg.pair_cap, reg.pair_shift, key)
    if reg.pair_keys[slot] == EMPTY:
        reg.pair_keys[slot] = key
        reg.counters[N_PAIRS] += 1
    reg.pair_values[slot] = innovation


cdef int pair_innovation(Registry* reg, int32_t src, int32_t dst,
                         int32_t* innovation) except -1 nogil:
    cdef int64_t key = (<int64_t>src << 32) | <int64_t>dst
    cdef intp_t slot = probe(reg.pair_keys, reg.pair_cap, reg.pair_shift, key)
    cdef int64_t new
    if reg.pair_keys[slot] == key:
        innovation[0] = reg.pair_values[slot]
        return 0
    if 2 * (reg.counters[N_PAIRS] + 1) > reg.pair_cap:
        _table_full()
    new = reg.counters[NEXT_INNOVATION]
    if new > EZ_INT32_MAX:
        _value_error(b"innovation numbers exhausted (int32)")
    reg.counters[NEXT_INNOVATION] = new + 1
    reg.pair_keys[slot] = key
    reg.pair_values[slot] = <int32_t>new
    reg.counters[N_PAIRS] += 1
    innovation[0] = <int32_t>new
    return 0


cdef int32_t split_node(const Registry* reg, int32_t innovation) noexcept nogil:
    cdef intp_t slot = probe(reg.split_keys, reg.split_cap, reg.split_shift, innovation)
    if reg.split_keys[slot] == EMPTY:
        return -1
    return reg.split_values[2 * slot]


cdef int split_gene(Registry* reg, int32_t innovation, int32_t src, int32_t dst,
                    int32_t* node, int32_t* first) except -1 nogil:
    cdef intp_t slot = probe(reg.split_keys, reg.split_cap, reg.split_shift, innovation)
    cdef int64_t new_node, new_first
    if reg.split_keys[slot] == innovation:
        node[0] = reg.split_values[2 * slot]
        first[0] = reg.split_values[2 * slot + 1]
        return 0
    # room for the worst case first, so that a refusal changes nothing (as in the registry)
    if (2 * (reg.counters[N_PAIRS] + 2) > reg.pair_cap
            or 2 * (reg.counters[N_SPLITS] + 1) > reg.split_cap):
        _table_full()
    new_node = reg.counters[NEXT_NODE]
    if new_node > EZ_INT32_MAX:
        _value_error(b"node ids exhausted (int32)")
    new_first = reg.counters[NEXT_INNOVATION]
    if new_first + 1 > EZ_INT32_MAX:
        _value_error(b"innovation numbers exhausted (int32)")
    reg.counters[NEXT_INNOVATION] = new_first + 2
    reg.counters[NEXT_NODE] = new_node + 1
    _store_pair(reg, (<int64_t>src << 32) | new_node, <int32_t>new_first)
    _store_pair(reg, (new_node << 32) | <int64_t>dst, <int32_t>(new_first + 1))
    reg.split_keys[slot] = innovation
    reg.split_values[2 * slot] = <int32_t>new_node
    reg.split_values[2 * slot + 1] = <int32_t>new_first
    reg.counters[N_SPLITS] += 1
    node[0] = <int32_t>new_node
    first[0] = <int32_t>new_first
    return 0


# --- small helpers -------------------------------------------------------------------------
cdef inline intp_t _pick(float64_t u, intp_t n) noexcept nogil:
    # min(floor(u * n), n - 1) for u in [0, 1), n >= 1 (the operators' pick rule)
    cdef intp_t k = <intp_t>(u * <float64_t>n)
    return k if k < n - 1 else n - 1


cdef int _cmp_int32(const void* a, const void* b) noexcept nogil:
    cdef int32_t x = (<const int32_t*>a)[0], y = (<const int32_t*>b)[0]
    return (x > y) - (x < y)


cdef void _sort_int32(int32_t* v, intp_t n) noexcept nogil:
    cdef intp_t i, j
    cdef int32_t x
    if n > 24:
        qsort(v, n, sizeof(int32_t), _cmp_int32)
        return
    for i in range(1, n):
        x = v[i]
        j = i
        while j > 0 and v[j - 1] > x:
            v[j] = v[j - 1]
            j -= 1
        v[j] = x


cdef inline intp_t _find_sorted(const int32_t* v, intp_t n, int32_t x) noexcept nogil:
    # index of x in the sorted v[0:n], or -1
    cdef intp_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if v[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < n and v[lo] == x else -1


cdef inline int32_t _local(int32_t v, intp_t n_io, const int32_t* hidden,
                           intp_t n_hidden) noexcept nogil:
    if v <= n_io:
        return v - 1
    return <int32_t>(n_io + _find_sorted(hidden, n_hidden, v))


cdef inline int32_t _node_of(intp_t local, intp_t n_io, const int32_t* hidden) noexcept nogil:
    if local < n_io:
        return <int32_t>(local + 1)
    return hidden[local - n_io]


cdef inline uint64_t _target_word(intp_t w, intp_t lo, intp_t hi) noexcept nogil:
    # bits of word w that lie in [lo, hi)
    cdef intp_t a = w * 64, b = a + 64
    cdef uint64_t m = ~(<uint64_t>0)
    if lo >= b or hi <= a:
        return 0
    if lo > a:
        m &= ~(<uint64_t>0) << (lo - a)
    if hi < b:
        m &= ~(<uint64_t>0) >> (b - hi)
    return m


cdef void _parent_cache(const GeneTable* par, intp_t p, intp_t n_io,
                        Scratch* s) noexcept nogil:
    # Sorted distinct hidden nodes of parent p and the local index of each gene end.
    cdef intp_t base = par.off[p], n = par.off[p + 1] - base, i, m = 0, h = 0
    cdef int32_t* hs = s.hidden + 2 * base
    if s.hidden_len[p] >= 0:
        return
    for i in range(n):
        if par.src[base + i] > n_io:
            hs[m] = par.src[base + i]
            m += 1
        if par.dst[base + i] > n_io:
            hs[m] = par.dst[base + i]
            m += 1
    _sort_int32(hs, m)
    for i in range(m):
        if h == 0 or hs[i] != hs[h - 1]:
            hs[h] = hs[i]
            h += 1
    s.hidden_len[p] = <int32_t>h
    for i in range(n):
        s.local_src[base + i] = _local(par.src[base + i], n_io, hs, h)
        s.local_dst[base + i] = _local(par.dst[base + i], n_io, hs, h)


cdef void _insert_gene(OutGenes* out, intp_t start, intp_t* n, int32_t innovation,
                       int32_t src, int32_t dst, float64_t weight) noexcept nogil:
    # Insert an enabled gene into out[start : start + n], keeping innovation order.
    cdef intp_t pos = start + n[0]
    while pos > start and out.innovation[pos - 1] > innovation:
        out.innovation[pos] = out.innovation[pos - 1]
        out.src[pos] = out.src[pos - 1]
        out.dst[pos] = out.dst[pos - 1]
        out.weight[pos] = out.weight[pos - 1]
        out.enabled[pos] = out.enabled[pos - 1]
        pos -= 1
    out.innovation[pos] = innovation
    out.src[pos] = src
    out.dst[pos] = dst
    out.weight[pos] = weight
    out.enabled[pos] = 1
    n[0] += 1


# --- structural operators ------------------------------------------------------------------
cdef int _ancestors(const int32_t* ls, const int32_t* ld, intp_t n, intp_t L, intp_t W,
                    Scratch* s) except -1 nogil:
    # s.anc: ancestor bitset (W words) of each of the L local nodes in the graph of the n
    # genes ls[i] -> ld[i] (all genes, enabled or not), by Kahn's order:
    # ancestors(v) = union over genes u->v of {u} | ancestors(u).  ValueError on a cycle.
    cdef intp_t i, v, u, e, w, head = 0, tail = 0
    cdef uint64_t* anc = s.anc
    # out-adjacency (CSR in deg / adj) and in-degrees
    memset(s.deg, 0, (L + 1) * sizeof(int32_t))
    memset(s.indeg, 0, L * sizeof(int32_t))
    for i in range(n):
        s.deg[ls[i] + 1] += 1
        s.indeg[ld[i]] += 1
    for v in range(L):
        s.deg[v + 1] += s.deg[v]
    for i in range(n):
        s.adj[s.deg[ls[i]]] = ld[i]
        s.deg[ls[i]] += 1
    for v in range(L, 0, -1):
        s.deg[v] = s.deg[v - 1]
    s.deg[0] = 0
    memset(anc, 0, L * W * sizeof(uint64_t))
    for v in range(L):
        if s.indeg[v] == 0:
            s.queue[tail] = <int32_t>v
            tail += 1
    while head < tail:
        u = s.queue[head]
        head += 1
        for e in range(s.deg[u], s.deg[u + 1]):
            v = s.adj[e]
            for w in range(W):
                anc[v * W + w] |= anc[u * W + w]
            anc[v * W + (u >> 6)] |= (<uint64_t>1) << (u & 63)
            s.indeg[v] -= 1
            if s.indeg[v] == 0:
                s.queue[tail] = <int32_t>v
                tail += 1
    if tail < L:
        _value_error(b"the genome's gene graph has a cycle")
    return 0


cdef inline uint64_t _valid_targets(const Scratch* s, intp_t la, intp_t w, intp_t n_in,
                                    intp_t L, intp_t W, bint recurrent) noexcept nogil:
    # Word w of the targets source la may get a new connection to: a non-input node, not la,
    # not already an enabled target of la, not an ancestor of la (no cycle).  Recurrent: la
    # itself is a target too (a self-loop), and s.anc is all zero (cycles are allowed).
    cdef uint64_t bits = _target_word(w, n_in, L) & ~s.eout[la * W + w] & ~s.anc[la * W + w]
    if w == (la >> 6) and not recurrent:
        bits &= ~((<uint64_t>1) << (la & 63))
    return bits


cdef intp_t _count_candidates(Scratch* s, intp_t n_in, intp_t n_io, intp_t L,
                              intp_t W, bint recurrent) noexcept nogil:
    # Candidate pairs per source (s.per_source, sources in id order: inputs, then hidden
    # nodes; outputs are sources only when recurrent) and their total.
    cdef intp_t la, w, cnt, total = 0
    for la in range(L):
        if n_in <= la < n_io and not recurrent:
            continue
        cnt = 0
        for w in range(W):
            cnt += ez_popcount64(_valid_targets(s, la, w, n_in, L, W, recurrent))
        s.per_source[la] = <int32_t>cnt
        total += cnt
    return total


cdef void _pick_pair(const Scratch* s, intp_t k, intp_t n_in, intp_t n_io, intp_t L,
                     intp_t W, bint recurrent, intp_t* la_out, intp_t* lb_out) noexcept nogil:
    # The k-th candidate pair (k < total) in (source, target) order: walk the per-source
    # counts to the source, then the bits of its valid targets.
    cdef intp_t la = 0, w, cnt
    cdef uint64_t bits
    while True:
        if recurrent or not (n_in <= la < n_io):
            if k < s.per_source[la]:
                break
            k -= s.per_source[la]
        la += 1
    la_out[0] = la
    for w in range(W):
        bits = _valid_targets(s, la, w, n_in, L, W, recurrent)
        cnt = ez_popcount64(bits)
        if k >= cnt:
            k -= cnt
            continue
        while k > 0:
            bits &= bits - 1
            k -= 1
        lb_out[0] = w * 64 + ez_ctz64(bits)
        return


cdef int _add_connection(const GeneTable* par, intp_t p, const Rates* r, float64_t u_pick,
                         float64_t u_weight, Registry* reg, Scratch* s, OutGenes* out,
                         intp_t start, intp_t* n_child, intp_t* n_enabled) except -1 nogil:
    # 5.4 add-connection on the child at out[start ...] (steps a and b done, so its genes are
    # the parent's, in the parent's order): pick a valid pair uniformly, then enable its
    # disabled gene or insert a new one.
    cdef intp_t base = par.off[p], n = par.off[p + 1] - base
    cdef intp_t n_in = r.n_inputs, n_io = r.n_inputs + r.n_outputs
    cdef intp_t L, W, i, total, la = 0, lb = -1
    cdef const int32_t* ls
    cdef const int32_t* ld
    cdef int32_t a, b, innovation = 0
    _parent_cache(par, p, n_io, s)
    ls = s.local_src + base
    ld = s.local_dst + base
    L = n_io + s.hidden_len[p]
    W = (L + 63) >> 6
    if r.recurrent:
        memset(s.anc, 0, L * W * sizeof(uint64_t))     # cycles allowed: no ancestor excluded
    else:
        _ancestors(ls, ld, n, L, W, s)
    # enabled targets of each node in the child (enable step a already applied)
    memset(s.eout, 0, L * W * sizeof(uint64_t))
    for i in range(n):
        if out.enabled[start + i]:
            s.eout[ls[i] * W + (ld[i] >> 6)] |= (<uint64_t>1) << (ld[i] & 63)
    total = _count_candidates(s, n_in, n_io, L, W, r.recurrent)
    if total == 0:
        return 0
    _pick_pair(s, _pick(u_pick, total), n_in, n_io, L, W, r.recurrent, &la, &lb)
    a = _node_of(la, n_io, s.hidden + 2 * base)
    b = _node_of(lb, n_io, s.hidden + 2 * base)
    # a disabled gene (a, b) is enabled again, keeping its weight; else a new gene
    for i in range(n_child[0]):
        if out.src[start + i] == a and out.dst[start + i] == b:
            out.enabled[start + i] = 1
            n_enabled[0] += 1
            return 0
    pair_innovation(reg, a, b, &innovation)
    _insert_gene(out, start, n_child, innovation, a, b, -2.0 + 4.0 * u_weight)
    n_enabled[0] += 1
    return 0


cdef void _remove_connection(float64_t u_pick, OutGenes* out, intp_t start, intp_t n_child,
                             intp_t* n_enabled) noexcept nogil:
    cdef intp_t i, k
    if n_enabled[0] == 0:
        return
    k = _pick(u_pick, n_enabled[0])
    for i in range(n_child):
        if out.enabled[start + i]:
            if k == 0:
                out.enabled[start + i] = 0
                n_enabled[0] -= 1
                return
            k -= 1


cdef int _add_node(const GeneTable* par, intp_t p, const Rates* r, float64_t u_pick,
                   Registry* reg, Scratch* s, OutGenes* out, intp_t start,
                   intp_t* n_child) except -1 nogil:
    cdef intp_t n_io = r.n_inputs + r.n_outputs, i, n_cand = 0, h
    cdef const int32_t* hs
    cdef int32_t sn, a, b, node = 0, first = 0
    cdef float64_t w
    # the child's hidden nodes are the parent's: add-connection adds no node
    _parent_cache(par, p, n_io, s)
    h = s.hidden_len[p]
    hs = s.hidden + 2 * par.off[p]
    for i in range(n_child[0]):
        if out.enabled[start + i]:
            sn = split_node(reg, out.innovation[start + i])
            if sn < 0 or _find_sorted(hs, h, sn) < 0:
                s.cand[n_cand] = <int32_t>i
                n_cand += 1
    if n_cand == 0:
        return 0
    i = start + s.cand[_pick(u_pick, n_cand)]
    a = out.src[i]
    b = out.dst[i]
    w = out.weight[i]
    split_gene(reg, out.innovation[i], a, b, &node, &first)
    out.enabled[i] = 0
    _insert_gene(out, start, n_child, first, a, node, 1.0)
    _insert_gene(out, start, n_child, first + 1, node, b, w)
    return 0


cdef int mutate_child(const GeneTable* par, intp_t p, const float64_t* gene_u,
                      const float64_t* gene_z, const float64_t* child_u, bint simplify,
                      float64_t p_add, const Rates* r, Registry* reg, Scratch* s,
                      OutGenes* out, intp_t start, intp_t* length) except -1 nogil:
    cdef intp_t base = par.off[p], n = par.off[p + 1] - base, i, j, n_enabled = 0
    cdef intp_t n_child = n
    cdef int do_add
    cdef uint8_t en
    cdef float64_t w
    # a. enable, b. weights
    for i in range(n):
        j = base + i
        out.innovation[start + i] = par.innovation[j]
        out.src[start + i] = par.src[j]
        out.dst[start + i] = par.dst[j]
        en = 1 if (par.enabled[j] != 0 or gene_u[4 * i] < r.activate_rate) else 0
        out.enabled[start + i] = en
        n_enabled += en
        w = par.weight[j]
        if gene_u[4 * i + 1] < r.weight_rate:
            if gene_u[4 * i + 2] < r.rho:
                w = -5.0 + 10.0 * gene_u[4 * i + 3]
            else:
                w = w + gene_z[i]
        out.weight[start + i] = w
    # c. structure (simplification mode swaps the operations, keeps the tests)
    if child_u[0] < p_add:
        do_add = 0 if simplify else 1
    elif child_u[1] < r.p_rem:
        do_add = 1 if simplify else 0
    else:
        do_add = -1
    if do_add == 1:
        _add_connection(par, p, r, child_u[2], child_u[3], reg, s, out, start, &n_child,
                        &n_enabled)
    elif do_add == 0:
        _remove_connection(child_u[2], out, start, n_child, &n_enabled)
    # d. node
    if child_u[4] < r.add_node_rate:
        _add_node(par, p, r, child_u[5], reg, s, out, start, &n_child)
    length[0] = n_child
    return 0


# --- Python entry points -------------------------------------------------------------------
cdef int _log2(intp_t cap, str name) except -1:
    cdef int b = 0
    if cap < 2 or (cap & (cap - 1)) != 0:
        raise ValueError(f"{name} has {cap} slots; registry tables need a power of two >= 2")
    while (<intp_t>1 << b) < cap:
        b += 1
    return b


cdef int _check_table(const int64_t[::1] off, const int32_t[::1] innovation,
                      const int32_t[::1] src, const int32_t[::1] dst,
                      const float64_t[::1] weight, const uint8_t[::1] enabled,
                      GeneTable* table) except -1:
    cdef intp_t g, n_genomes = off.shape[0] - 1, n
    if off.shape[0] < 1 or off[0] != 0:
        raise ValueError("p_off needs P + 1 >= 1 entries starting at 0")
    for g in range(n_genomes):
        if off[g + 1] < off[g]:
            raise ValueError(f"p_off decreases at genome {g}")
    n = <intp_t>off[n_genomes]
    if not (innovation.shape[0] == src.shape[0] == dst.shape[0] == weight.shape[0]
            == enabled.shape[0] == n):
        raise ValueError(f"parent gene columns must all have p_off[-1] = {n} rows")
    for g in range(n):
        if src[g] < 1 or dst[g] < 1:
            raise ValueError(f"parent gene {g} has a node id below 1")
    table.off = &off[0]
    table.innovation = &innovation[0] if n else NULL
    table.src = &src[0] if n else NULL
    table.dst = &dst[0] if n else NULL
    table.weight = &weight[0] if n else NULL
    table.enabled = &enabled[0] if n else NULL
    return 0


cdef int _check_out(intp_t n_rows, intp_t capacity, int64_t[::1] out_off,
                    int32_t[::1] out_innovation, int32_t[::1] out_src, int32_t[::1] out_dst,
                    float64_t[::1] out_weight, uint8_t[::1] out_enabled,
                    OutGenes* out) except -1:
    if out_off.shape[0] != n_rows + 1:
        raise ValueError(f"out_off has {out_off.shape[0]} entries, expected {n_rows + 1}")
    if (out_innovation.shape[0] < capacity or out_src.shape[0] < capacity
            or out_dst.shape[0] < capacity or out_weight.shape[0] < capacity
            or out_enabled.shape[0] < capacity):
        raise ValueError(f"output gene columns need at least {capacity} rows")
    out.innovation = &out_innovation[0] if capacity else NULL
    out.src = &out_src[0] if capacity else NULL
    out.dst = &out_dst[0] if capacity else NULL
    out.weight = &out_weight[0] if capacity else NULL
    out.enabled = &out_enabled[0] if capacity else NULL
    return 0


cdef intp_t _check_plan(const int64_t[::1] p_off, const int64_t[::1] child_parent,
                        const uint8_t[::1] child_simplify, const float64_t[::1] child_p_add,
                        const float64_t[:, ::1] gene_u, const float64_t[::1] gene_z,
                        const float64_t[:, ::1] child_u, intp_t n_inputs, intp_t n_outputs,
                        intp_t* n_max) except -1:
    # Check the plan, its draws and the network size; return G (parent genes over all
    # children, the rows of gene_u) and set n_max, the most genes of one child's parent.
    cdef intp_t c, p, n, n_children = child_parent.shape[0], n_parents = p_off.shape[0] - 1
    cdef intp_t total_genes = 0
    if child_simplify.shape[0] != n_children or child_p_add.shape[0] != n_children:
        raise ValueError("child_parent, child_simplify and child_p_add need one entry per child")
    for c in range(n_children):
        p = <intp_t>child_parent[c]
        if p < 0 or p >= n_parents:
            raise ValueError(f"child_parent[{c}] = {p} is not a parent index "
                             f"(there are {n_parents} parents)")
        n = <intp_t>(p_off[p + 1] - p_off[p])
        total_genes += n
        if n > n_max[0]:
            n_max[0] = n
    if gene_u.shape[0] != total_genes or gene_u.shape[1] != 4 or gene_z.shape[0] != total_genes:
        raise ValueError(f"gene_u must be ({total_genes}, 4) and gene_z ({total_genes},): "
                         f"one row per gene of each child's parent, in plan order")
    if child_u.shape[0] != n_children or child_u.shape[1] != 6:
        raise ValueError(f"child_u must be ({n_children}, 6)")
    if n_inputs < 0 or n_outputs < 0:
        raise ValueError("n_inputs and n_outputs must be >= 0")
    return total_genes


cdef int _check_registry(int64_t[::1] pair_keys, int32_t[::1] pair_values,
                         int64_t[::1] split_keys, int32_t[:, ::1] split_values,
                         int64_t[::1] counters, Registry* reg) except -1:
    # Check the five registry arrays and point reg at them.
    if pair_values.shape[0] != pair_keys.shape[0]:
        raise ValueError("pair_keys and pair_values differ in length")
    if split_values.shape[0] != split_keys.shape[0] or split_values.shape[1] != 2:
        raise ValueError("split_values must be (len(split_keys), 2)")
    if counters.shape[0] != 4:
        raise ValueError("counters must have 4 entries")
    reg.pair_keys = &pair_keys[0] if pair_keys.shape[0] else NULL
    reg.pair_values = &pair_values[0] if pair_keys.shape[0] else NULL
    reg.pair_cap = pair_keys.shape[0]
    reg.pair_shift = 64 - _log2(reg.pair_cap, "pair_keys")
    reg.split_keys = &split_keys[0] if split_keys.shape[0] else NULL
    reg.split_values = &split_values[0, 0] if split_keys.shape[0] else NULL
    reg.split_cap = split_keys.shape[0]
    reg.split_shift = 64 - _log2(reg.split_cap, "split_keys")
    reg.counters = &counters[0]
    if (2 * counters[N_PAIRS] > reg.pair_cap or 2 * counters[N_SPLITS] > reg.split_cap
            or counters[NEXT_NODE] < 1 or counters[NEXT_INNOVATION] < 1):
        raise ValueError("registry counters do not fit the tables")
    return 0


cdef int _alloc_scratch(Scratch* s, intp_t n_parents, intp_t parent_genes, intp_t n_io,
                        intp_t n_max) except -1:
    # Work space sized from the largest parent (layout in _reproduce.pxd); the caller frees it
    # with _free_scratch, also after an error (pointers start NULL).
    cdef intp_t p
    s.max_local = n_io + 2 * n_max
    s.words = (s.max_local + 63) >> 6
    s.hidden_len = <int32_t*>malloc(max(n_parents, 1) * sizeof(int32_t))
    s.hidden = <int32_t*>malloc(max(2 * parent_genes, 1) * sizeof(int32_t))
    s.local_src = <int32_t*>malloc(max(parent_genes, 1) * sizeof(int32_t))
    s.local_dst = <int32_t*>malloc(max(parent_genes, 1) * sizeof(int32_t))
    s.deg = <int32_t*>malloc((s.max_local + 1) * sizeof(int32_t))
    s.indeg = <int32_t*>malloc(max(s.max_local, 1) * sizeof(int32_t))
    s.adj = <int32_t*>malloc((n_max + 1) * sizeof(int32_t))
    s.queue = <int32_t*>malloc(max(s.max_local, 1) * sizeof(int32_t))
    s.per_source = <int32_t*>malloc(max(s.max_local, 1) * sizeof(int32_t))
    s.cand = <int32_t*>malloc((n_max + 3) * sizeof(int32_t))
    s.anc = <uint64_t*>malloc(max(s.max_local * s.words, 1) * sizeof(uint64_t))
    s.eout = <uint64_t*>malloc(max(s.max_local * s.words, 1) * sizeof(uint64_t))
    if (s.hidden_len == NULL or s.hidden == NULL or s.local_src == NULL
            or s.local_dst == NULL or s.deg == NULL or s.indeg == NULL or s.adj == NULL
            or s.queue == NULL or s.per_source == NULL or s.cand == NULL or s.anc == NULL
            or s.eout == NULL):
        raise MemoryError("no memory for the reproduction scratch buffers")
    for p in range(n_parents):
        s.hidden_len[p] = -1
    return 0


cdef void _free_scratch(Scratch* s) noexcept:
    free(s.hidden_len)
    free(s.hidden)
    free(s.local_src)
    free(s.local_dst)
    free(s.deg)
    free(s.indeg)
    free(s.adj)
    free(s.queue)
    free(s.per_source)
    free(s.cand)
    free(s.anc)
    free(s.eout)


cdef intp_t _mutate_children(const GeneTable* par, const int64_t[::1] p_off,
                             const int64_t[::1] child_parent, const uint8_t[::1] child_simplify,
                             const float64_t[::1] child_p_add, const float64_t[:, ::1] gene_u,
                             const float64_t[::1] gene_z, const float64_t[:, ::1] child_u,
                             const Rates* rates, Registry* reg, Scratch* s, OutGenes* out,
                             int64_t[::1] out_off) except -1:
    # Every child of the plan in one nogil loop (checked by the caller); returns the total
    # number of child genes.  Child c uses the next n_p rows of gene_u and gene_z.
    cdef intp_t c, p, n, row = 0, pos = 0, length = 0
    with nogil:
        for c in range(child_parent.shape[0]):
            p = <intp_t>child_parent[c]
            n = <intp_t>(p_off[p + 1] - p_off[p])
            mutate_child(par, p, &gene_u[row, 0] if n else NULL, &gene_z[row] if n else NULL,
                         &child_u[c, 0], child_simplify[c] != 0, child_p_add[c], rates, reg, s,
                         out, pos, &length)
            row += n
            pos += length
            out_off[c + 1] = pos
    return pos


def reproduce(const int64_t[::1] p_off not None, const int32_t[::1] p_innovation not None,
              const int32_t[::1] p_src not None, const int32_t[::1] p_dst not None,
              const float64_t[::1] p_weight not None, const uint8_t[::1] p_enabled not None,
              const int64_t[::1] child_parent not None, const uint8_t[::1] child_simplify not None,
              const float64_t[::1] child_p_add not None, const float64_t[:, ::1] gene_u not None,
              const float64_t[::1] gene_z not None, const float64_t[:, ::1] child_u not None,
              float64_t activate_rate, float64_t weight_rate, float64_t rho, float64_t p_rem,
              float64_t add_node_rate, intp_t n_inputs, intp_t n_outputs,
              int64_t[::1] pair_keys not None, int32_t[::1] pair_values not None,
              int64_t[::1] split_keys not None, int32_t[:, ::1] split_values not None,
              int64_t[::1] counters not None, int64_t[::1] out_off not None,
              int32_t[::1] out_innovation not None, int32_t[::1] out_src not None,
              int32_t[::1] out_dst not None, float64_t[::1] out_weight not None,
              uint8_t[::1] out_enabled not None, bint recurrent=False):
    """Mutated offspring of every child of the plan (docs/algorithm.md 5.4), in one ``nogil``
    loop.

    Parents: CSR gene table ``p_off`` int64[P+1], ``p_innovation``/``p_src``/``p_dst`` int32,
    ``p_weight`` float64, ``p_enabled`` bool or uint8 (sorted by innovation per genome).
    Plan: ``child_parent`` int64[Q] (parent index), ``child_simplify`` bool/uint8[Q]
    (simplification mode), ``child_p_add`` float64[Q] (the child's add-connection rate).
    Draws: ``gene_u`` float64[G, 4], ``gene_z`` float64[G] with G = sum of the parents' gene
    counts in plan order (child c uses the next n_parent rows), ``child_u`` float64[Q, 6].
    Rates: ``activate_rate``, ``weight_rate``, ``rho``, ``p_rem``, ``add_node_rate``.
    Registry: the five arrays of an innovation registry (layout in ``_reproduce.pxd``),
    updated in place; innovation numbers are handed out in child order.
    ``recurrent`` (the extension key, docs/algorithm.md 3.3): add-connection takes outputs as
    sources as well, allows self-loops and cycles; the draws are the same.
    Outputs: ``out_off`` int64[Q+1] and gene columns with at least G + 3Q rows; child c is
    rows ``out_off[c]:out_off[c+1]``, sorted by innovation.

    Returns the total number of child genes (``out_off[Q]``).  Raises ValueError for
    mismatched shapes, a parent whose gene graph has a cycle (when add-connection looks at it
    without ``recurrent``)
    or exhausted int32 numbers, and ``TableFull`` (a ValueError) when a registry table would
    pass half full: call ``registry.ensure_capacity(3 * Q, Q)`` first (a child adds at most 3
    pairs and 1 split).  After an error the outputs and the registry are partly written.
    """
    cdef GeneTable par
    cdef OutGenes out
    cdef Registry reg
    cdef Scratch s
    cdef intp_t n_children = child_parent.shape[0], n_max = 0, total_genes, pos = 0
    cdef Rates rates = Rates(activate_rate, weight_rate, rho, p_rem, add_node_rate, n_inputs,
                             n_outputs, recurrent)
    _check_table(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled, &par)
    total_genes = _check_plan(p_off, child_parent, child_simplify, child_p_add, gene_u, gene_z,
                              child_u, n_inputs, n_outputs, &n_max)
    _check_out(n_children, total_genes + 3 * n_children, out_off, out_innovation, out_src,
               out_dst, out_weight, out_enabled, &out)
    _check_registry(pair_keys, pair_values, split_keys, split_values, counters, &reg)
    out_off[0] = 0
    if n_children == 0:
        return 0
    memset(&s, 0, sizeof(Scratch))
    try:
        _alloc_scratch(&s, p_off.shape[0] - 1, <intp_t>p_off[p_off.shape[0] - 1],
                       n_inputs + n_outputs, n_max)
        pos = _mutate_children(&par, p_off, child_parent, child_simplify, child_p_add, gene_u,
                               gene_z, child_u, &rates, &reg, &s, &out, out_off)
    finally:
        _free_scratch(&s)
    return pos


def crossover(const int64_t[::1] p_off not None, const int32_t[::1] p_innovation not None,
              const int32_t[::1] p_src not None, const int32_t[::1] p_dst not None,
              const float64_t[::1] p_weight not None, const uint8_t[::1] p_enabled not None,
              const int64_t[:, ::1] pairs not None, const float64_t[::1] gene_u not None,
              int64_t[::1] out_off not None, int32_t[::1] out_innovation not None,
              int32_t[::1] out_src not None, int32_t[::1] out_dst not None,
              float64_t[::1] out_weight not None, uint8_t[::1] out_enabled not None):
    """Crossover children (docs/algorithm.md 5.5), one per row of ``pairs``, in one ``nogil`` loop.

    Parents: CSR gene table as in ``reproduce``.  ``pairs`` int64[X, 2]: row x holds the
    index of the fitter parent (the caller applies docs/algorithm.md 5.5: x if f_x >= f_y,
    else y) and of the other.  ``gene_u`` float64[G']: one uniform per gene of each fitter parent,
    concatenated in pair order.  Outputs: ``out_off`` int64[X+1], gene columns with at least
    G' rows.  Child x has the fitter parent's genes; a matching gene takes weight and enabled
    flag from the other parent when its draw is >= 0.5.  Returns G' (``out_off[X]``).
    """
    cdef GeneTable par
    cdef OutGenes out
    cdef intp_t n_pairs = pairs.shape[0], n_parents = p_off.shape[0] - 1
    cdef intp_t x, fp, fq, i, j, j_end, base, n, total = 0, pos = 0
    _check_table(p_off, p_innovation, p_src, p_dst, p_weight, p_enabled, &par)
    if pairs.shape[1] != 2:
        raise ValueError("pairs must have two columns (fitter parent, other parent)")
    for x in range(n_pairs):
        for i in range(2):
            if pairs[x, i] < 0 or pairs[x, i] >= n_parents:
                raise ValueError(f"pairs[{x}, {i}] = {pairs[x, i]} is not a parent index "
                                 f"(there are {n_parents} parents)")
        total += <intp_t>(p_off[pairs[x, 0] + 1] - p_off[pairs[x, 0]])
    if gene_u.shape[0] != total:
        raise ValueError(f"gene_u has {gene_u.shape[0]} draws, expected {total}: one per gene "
                         f"of each fitter parent")
    _check_out(n_pairs, total, out_off, out_innovation, out_src, out_dst, out_weight,
               out_enabled, &out)
    out_off[0] = 0
    with nogil:
        for x in range(n_pairs):
            fp = <intp_t>pairs[x, 0]
            fq = <intp_t>pairs[x, 1]
            base = <intp_t>p_off[fp]
            n = <intp_t>p_off[fp + 1] - base
            j = <intp_t>p_off[fq]
            j_end = <intp_t>p_off[fq + 1]
            for i in range(n):
                out.innovation[pos + i] = par.innovation[base + i]
                out.src[pos + i] = par.src[base + i]
                out.dst[pos + i] = par.dst[base + i]
                while j < j_end and par.innovation[j] < par.innovation[base + i]:
                    j += 1
                if j < j_end and par.innovation[j] == par.innovation[base + i] \
                        and gene_u[pos + i] >= 0.5:
                    out.weight[pos + i] = par.weight[j]
                    out.enabled[pos + i] = 1 if par.enabled[j] else 0
                else:
                    out.weight[pos + i] = par.weight[base + i]
                    out.enabled[pos + i] = 1 if par.enabled[base + i] else 0
            pos += n
            out_off[x + 1] = pos
    return pos
