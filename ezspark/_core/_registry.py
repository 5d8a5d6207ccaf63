"""The innovation registry's hash tables at array level (docs/algorithm.md 3.2).

``_core`` is the bottom layer: nothing here imports from outside ``_core``.  This module is
the part of the registry that the reproduction kernel's twin (``_reproduce_py.py``) needs:
the table layout, the probe sequence and the fixed-capacity updates that the compiled kernel
(``_reproduce.pyx``) performs on the same arrays.  ``ezspark.engine.innovation`` builds the
run-wide ``InnovationRegistry`` on top (initial pairs, growth by rehashing, checkpoints) and
re-exports ``TableFull``, ``EMPTY``, ``HASH_MULTIPLIER``, ``pair_key`` and ``probe``.

The five arrays (also documented for the kernel side in ``_reproduce.pxd``):

==================  ===============  ==============================================================
``pair_keys``       int64[Cp]        pair table keys ``(src << 32) | dst``; ``EMPTY`` (-1) = free
``pair_values``     int32[Cp]        innovation number of the pair in the same slot
``split_keys``      int64[Cs]        split table keys: innovation of the split gene; -1 = free
``split_values``    int32[Cs, 2]     (node id, first innovation); the second number is first + 1
``counters``        int64[4]         next_node, next_innovation, pairs stored, splits stored
==================  ===============  ==============================================================

Both capacities are powers of two.  A key lives in the first free or matching slot of the
probe sequence ``s, s+1, s+2, ...`` (mod capacity), starting at the Fibonacci
(multiplicative) hash ``s = ((key * HASH_MULTIPLIER) mod 2**64) >> (64 - log2(C))``; the
compiled kernel uses the same multiplier (``ez_reproduce.h``).  Nothing is ever deleted.  An
insertion is refused unless the table stays at most half full (``2 * (count + 1) <= C``):
``RegistryTables`` raises ``TableFull`` then, exactly as the kernel does.
"""
from __future__ import annotations

import numpy as np

__all__ = ["TableFull", "RegistryTables", "EMPTY", "HASH_MULTIPLIER", "INT32_MAX", "pair_key",
           "probe", "NEXT_NODE", "NEXT_INNOVATION", "N_PAIRS", "N_SPLITS"]

EMPTY = -1                              # key of a free slot
HASH_MULTIPLIER = 0x9E3779B97F4A7C15    # 2**64 / golden ratio, odd (Fibonacci hashing)
INT32_MAX = 2**31 - 1
_MASK64 = (1 << 64) - 1

# counters[...] indices
NEXT_NODE, NEXT_INNOVATION, N_PAIRS, N_SPLITS = range(4)


class TableFull(ValueError):
    """A fixed-capacity registry table would pass half full; call
    ``InnovationRegistry.ensure_capacity`` before the kernel call."""


def pair_key(src: int, dst: int) -> int:
    """Pair table key of the pair (src, dst): ``(src << 32) | dst``; both in 0 ... 2**31-1."""
    if not (0 <= src <= INT32_MAX and 0 <= dst <= INT32_MAX):
        raise ValueError(f"node ids must be in 0 ... 2**31-1, got ({src}, {dst})")
    return (src << 32) | dst


def probe(keys: np.ndarray, key: int) -> int:
    """Slot of ``key`` in the table ``keys``, or of the free slot where it would go.

    ``keys`` int64[C], C a power of two >= 2 with at least one free slot.
    """
    cap = keys.shape[0]
    mask = cap - 1
    i = ((key * HASH_MULTIPLIER) & _MASK64) >> (65 - cap.bit_length())
    while True:
        k = keys[i]
        if k == key or k == EMPTY:
            return int(i)
        i = (i + 1) & mask


class RegistryTables:
    """Pair and split tables of a run on caller-owned arrays, updated in place, never grown.

    ``pair``, ``split_node`` and ``split`` do what the compiled kernel does on the same
    arrays: an insertion that would leave a table more than half full raises ``TableFull``
    and changes nothing.  The arrays are neither checked nor copied.  Subclasses may make
    room instead by overriding ``_room`` (``ezspark.engine.innovation.InnovationRegistry``).
    """

    __slots__ = ("n_inputs", "n_outputs", "pair_keys", "pair_values", "split_keys",
                 "split_values", "counters")

    def __init__(self, n_inputs: int, n_outputs: int, pair_keys: np.ndarray,
                 pair_values: np.ndarray, split_keys: np.ndarray, split_values: np.ndarray,
                 counters: np.ndarray):
        self.n_inputs, self.n_outputs = int(n_inputs), int(n_outputs)
        self.pair_keys, self.pair_values = pair_keys, pair_values
        self.split_keys, self.split_values = split_keys, split_values
        self.counters = counters

    # -- counters ------------------------------------------------------------------------
    @property
    def next_node(self) -> int:
        return int(self.counters[NEXT_NODE])

    @property
    def next_innovation(self) -> int:
        return int(self.counters[NEXT_INNOVATION])

    def __len__(self) -> int:
        """Number of pairs in the pair table."""
        return int(self.counters[N_PAIRS])

    @property
    def n_splits(self) -> int:
        return int(self.counters[N_SPLITS])

    # -- room ----------------------------------------------------------------------------
    def _has_room(self, pairs: int, splits: int) -> bool:
        return (2 * (int(self.counters[N_PAIRS]) + pairs) <= self.pair_keys.shape[0]
                and 2 * (int(self.counters[N_SPLITS]) + splits) <= self.split_keys.shape[0])

    def _room(self, pairs: int, splits: int) -> None:
        """Room for ``pairs`` new pairs and ``splits`` new splits, or TableFull."""
        if not self._has_room(pairs, splits):
            raise TableFull("innovation registry table is full: call "
                            "registry.ensure_capacity(...) before the kernel call")

    def _store_pair(self, key: int, innovation: int) -> None:
        """Put key -> innovation in the pair table (overwrite if present)."""
        slot = probe(self.pair_keys, key)
        if self.pair_keys[slot] == EMPTY:
            self._room(1, 0)
            slot = probe(self.pair_keys, key)     # _room may have rehashed the table
            self.pair_keys[slot] = key
            self.counters[N_PAIRS] += 1
        self.pair_values[slot] = innovation

    def _take_innovations(self, count: int) -> int:
        first = int(self.counters[NEXT_INNOVATION])
        if first + count - 1 > INT32_MAX:
            raise ValueError("innovation numbers exhausted (int32)")
        self.counters[NEXT_INNOVATION] = first + count
        return first

    # -- queries and updates -------------------------------------------------------------
    def pair(self, src: int, dst: int) -> int:
        """Innovation number of the pair (src, dst), created if the pair is new."""
        key = pair_key(int(src), int(dst))
        slot = probe(self.pair_keys, key)
        if self.pair_keys[slot] == key:
            return int(self.pair_values[slot])
        self._room(1, 0)
        innovation = self._take_innovations(1)
        slot = probe(self.pair_keys, key)
        self.pair_keys[slot] = key
        self.pair_values[slot] = innovation
        self.counters[N_PAIRS] += 1
        return innovation

    def split_node(self, innovation: int) -> int | None:
        """The node id created by the first split of gene ``innovation``, or None."""
        slot = probe(self.split_keys, int(innovation))
        if self.split_keys[slot] == EMPTY:
            return None
        return int(self.split_values[slot, 0])

    def split(self, innovation: int, src: int, dst: int) -> tuple[int, int, int]:
        """(node, innovation of src->node, innovation of node->dst) for splitting a gene.

        The first split of a gene creates the node and the two numbers (and enters both
        pairs in the pair table); later splits of the same gene, in any genome and
        generation, get the same three numbers.
        """
        innovation = int(innovation)
        slot = probe(self.split_keys, innovation)
        if self.split_keys[slot] == innovation:
            node, first = (int(x) for x in self.split_values[slot])
            return node, first, first + 1
        # room for the worst case first, so that a refusal changes nothing
        self._room(2, 1)
        node = int(self.counters[NEXT_NODE])
        if node > INT32_MAX:
            raise ValueError("node ids exhausted (int32)")
        first = self._take_innovations(2)
        self.counters[NEXT_NODE] = node + 1
        self._store_pair(pair_key(int(src), node), first)
        self._store_pair(pair_key(node, int(dst)), first + 1)
        slot = probe(self.split_keys, innovation)
        self.split_keys[slot] = innovation
        self.split_values[slot] = (node, first)
        self.counters[N_SPLITS] += 1
        return node, first, first + 1
