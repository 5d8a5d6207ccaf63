"""The run-wide innovation registry (engine-spec 3.2), stored as two hash tables in arrays.

Every (source, target) pair ever created has one innovation number for the whole run, and
every split of a gene reuses the node id and the two innovation numbers of its first split.

The canonical state is five numpy arrays that the reproduction kernel
(``ezspark._core._reproduce``) reads and updates in place, without the GIL:

==================  ===============  ==============================================================
``pair_keys``       int64[Cp]        pair table keys ``(src << 32) | dst``; ``EMPTY`` (-1) = free
``pair_values``     int32[Cp]        innovation number of the pair in the same slot
``split_keys``      int64[Cs]        split table keys: innovation of the split gene; -1 = free
``split_values``    int32[Cs, 2]     (node id, first innovation); the second number is first + 1
``counters``        int64[4]         next_node, next_innovation, pairs stored, splits stored
==================  ===============  ==============================================================

Both capacities are powers of two (at least ``MIN_CAPACITY``).  A key lives in the first free
or matching slot of the probe sequence ``s, s+1, s+2, ...`` (mod capacity), starting at the
Fibonacci (multiplicative) hash ``s = ((key * HASH_MULTIPLIER) mod 2**64) >> (64 - log2(C))``.
Nothing is ever deleted.  An insertion is refused unless the table stays at most half full
(``2 * (count + 1) <= C``); a registry made by ``InnovationRegistry(...)`` or ``from_arrays``
grows (rehashes) instead, while one made by ``wrap`` (the kernel twin's adapter) raises, exactly
as the kernel does.  The Python methods below and ``_reproduce.pyx`` probe the same way, so both
leave identical arrays.  ``_reproduce.pxd`` documents the same layout for the kernel side.
"""
from __future__ import annotations

import numpy as np

__all__ = ["InnovationRegistry", "EMPTY", "HASH_MULTIPLIER", "MIN_CAPACITY", "pair_key",
           "probe", "TableFull"]

EMPTY = -1                              # key of a free slot
HASH_MULTIPLIER = 0x9E3779B97F4A7C15    # 2**64 / golden ratio, odd (Fibonacci hashing)
MIN_CAPACITY = 16                       # slots; tables never shrink below this
_MASK64 = (1 << 64) - 1
_INT32_MAX = 2**31 - 1

# counters[...] indices
NEXT_NODE, NEXT_INNOVATION, N_PAIRS, N_SPLITS = range(4)


class TableFull(ValueError):
    """A fixed-capacity registry (``wrap``) would pass half full; call ``ensure_capacity``
    on the registry before the kernel call."""


def pair_key(src: int, dst: int) -> int:
    """Pair table key of the pair (src, dst): ``(src << 32) | dst``; both in 0 ... 2**31-1."""
    if not (0 <= src <= _INT32_MAX and 0 <= dst <= _INT32_MAX):
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


def _capacity_for(count: int) -> int:
    """Smallest power of two >= MIN_CAPACITY that holds ``count`` keys at most half full."""
    cap = MIN_CAPACITY
    while 2 * count > cap:
        cap *= 2
    return cap


def _rehash(keys: np.ndarray, values: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """The same entries in a table of ``cap`` slots, inserted in old slot order."""
    new_keys = np.full(cap, EMPTY, dtype=np.int64)
    new_values = np.zeros((cap,) + values.shape[1:], dtype=values.dtype)
    for old in np.flatnonzero(keys != EMPTY).tolist():
        key = int(keys[old])
        slot = probe(new_keys, key)
        new_keys[slot] = key
        new_values[slot] = values[old]
    return new_keys, new_values


class InnovationRegistry:
    """Pair table and split table of one run (layout in the module docstring).

    Initial pairs (input a, output I+j) have innovation (a-1)·O + j; new numbers start at
    I·O + 1 and new hidden nodes at I + O + 1.
    """

    __slots__ = ("n_inputs", "n_outputs", "pair_keys", "pair_values", "split_keys",
                 "split_values", "counters", "_growable")

    def __init__(self, n_inputs: int, n_outputs: int):
        self.n_inputs = int(n_inputs)
        self.n_outputs = int(n_outputs)
        n_initial = self.n_inputs * self.n_outputs
        cap = _capacity_for(n_initial)
        self.pair_keys = np.full(cap, EMPTY, dtype=np.int64)
        self.pair_values = np.zeros(cap, dtype=np.int32)
        self.split_keys = np.full(MIN_CAPACITY, EMPTY, dtype=np.int64)
        self.split_values = np.zeros((MIN_CAPACITY, 2), dtype=np.int32)
        self.counters = np.array([self.n_inputs + self.n_outputs + 1, n_initial + 1, 0, 0],
                                 dtype=np.int64)
        self._growable = True
        for a in range(1, self.n_inputs + 1):
            for j in range(1, self.n_outputs + 1):
                self._store_pair(pair_key(a, self.n_inputs + j), (a - 1) * self.n_outputs + j)

    @classmethod
    def wrap(cls, n_inputs: int, n_outputs: int, pair_keys: np.ndarray, pair_values: np.ndarray,
             split_keys: np.ndarray, split_values: np.ndarray,
             counters: np.ndarray) -> "InnovationRegistry":
        """A registry that works on the given arrays in place and never grows: an insertion
        that would leave a table more than half full raises ``TableFull`` (as the kernel
        does).  Used by the kernel twin; the arrays are not checked or copied."""
        reg = cls.__new__(cls)
        reg.n_inputs, reg.n_outputs = int(n_inputs), int(n_outputs)
        reg.pair_keys, reg.pair_values = pair_keys, pair_values
        reg.split_keys, reg.split_values = split_keys, split_values
        reg.counters = counters
        reg._growable = False
        return reg

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

    # -- capacity ------------------------------------------------------------------------
    def ensure_capacity(self, extra_pairs: int, extra_splits: int) -> None:
        """Grow (rehash) the tables so that ``extra_pairs`` more pairs and ``extra_splits``
        more splits still leave each at most half full.  A table that already has room is
        left untouched (same arrays, same layout)."""
        if extra_pairs < 0 or extra_splits < 0:
            raise ValueError("ensure_capacity needs non-negative counts")
        need = int(self.counters[N_PAIRS]) + int(extra_pairs)
        if 2 * need > self.pair_keys.shape[0]:
            self.pair_keys, self.pair_values = _rehash(self.pair_keys, self.pair_values,
                                                       _capacity_for(need))
        need = int(self.counters[N_SPLITS]) + int(extra_splits)
        if 2 * need > self.split_keys.shape[0]:
            self.split_keys, self.split_values = _rehash(self.split_keys, self.split_values,
                                                         _capacity_for(need))

    def _room(self, pairs: int, splits: int) -> None:
        """Make room for ``pairs`` new pairs and ``splits`` new splits, or raise TableFull."""
        if (2 * (int(self.counters[N_PAIRS]) + pairs) <= self.pair_keys.shape[0]
                and 2 * (int(self.counters[N_SPLITS]) + splits) <= self.split_keys.shape[0]):
            return
        if not self._growable:
            raise TableFull("innovation registry table is full: call "
                            "registry.ensure_capacity(...) before the kernel call")
        self.ensure_capacity(pairs, splits)

    def _store_pair(self, key: int, innovation: int) -> None:
        """Put key -> innovation in the pair table (overwrite if present); room is ensured."""
        slot = probe(self.pair_keys, key)
        if self.pair_keys[slot] == EMPTY:
            self._room(1, 0)
            if self._growable:               # the table may have been rehashed
                slot = probe(self.pair_keys, key)
            self.pair_keys[slot] = key
            self.counters[N_PAIRS] += 1
        self.pair_values[slot] = innovation

    def _take_innovations(self, count: int) -> int:
        first = int(self.counters[NEXT_INNOVATION])
        if first + count - 1 > _INT32_MAX:
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
        if node > _INT32_MAX:
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

    # -- contents --------------------------------------------------------------------------
    def pair_table(self) -> np.ndarray:
        """All pairs as int64 rows (src, dst, innovation), sorted by innovation."""
        used = self.pair_keys != EMPTY
        keys = self.pair_keys[used]
        rows = np.stack([keys >> 32, keys & 0xFFFFFFFF,
                         self.pair_values[used].astype(np.int64)], axis=1)
        return rows[np.argsort(rows[:, 2], kind="stable")]

    def split_table(self) -> np.ndarray:
        """All splits as int64 rows (split gene innovation, node, first, second), sorted by
        the split gene's innovation."""
        used = self.split_keys != EMPTY
        values = self.split_values[used].astype(np.int64)
        rows = np.stack([self.split_keys[used], values[:, 0], values[:, 1], values[:, 1] + 1],
                        axis=1)
        return rows[np.argsort(rows[:, 0], kind="stable")]

    def copy(self) -> "InnovationRegistry":
        """An independent, growable registry with the same arrays (same layout)."""
        return InnovationRegistry.from_arrays(**self.to_arrays())

    # -- state for checkpoints -----------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Copies of the five arrays (module docstring) plus ``io`` int64[2] = (I, O).

        ``from_arrays(**to_arrays())`` rebuilds the same tables slot for slot."""
        return {
            "pair_keys": self.pair_keys.copy(),
            "pair_values": self.pair_values.copy(),
            "split_keys": self.split_keys.copy(),
            "split_values": self.split_values.copy(),
            "counters": self.counters.copy(),
            "io": np.array([self.n_inputs, self.n_outputs], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, pair_keys, pair_values, split_keys, split_values, counters,
                    io) -> "InnovationRegistry":
        """The registry stored by ``to_arrays`` (arrays copied and checked)."""
        n_inputs, n_outputs = (int(x) for x in np.asarray(io).reshape(2))
        reg = cls.wrap(n_inputs, n_outputs,
                       np.array(pair_keys, dtype=np.int64).reshape(-1),
                       np.array(pair_values, dtype=np.int32).reshape(-1),
                       np.array(split_keys, dtype=np.int64).reshape(-1),
                       np.array(split_values, dtype=np.int32).reshape(-1, 2),
                       np.array(counters, dtype=np.int64).reshape(4))
        reg._growable = True
        reg._check()
        return reg

    def _check(self) -> None:
        """Raise ValueError unless the arrays form valid tables (checkpoint loading)."""
        for name, keys, values in (("pair", self.pair_keys, self.pair_values),
                                   ("split", self.split_keys, self.split_values)):
            cap = keys.shape[0]
            if cap < 2 or cap & (cap - 1) or values.shape[0] != cap:
                raise ValueError(f"{name} table: capacity {cap} is not a power of two >= 2 "
                                 f"or keys and values differ in length")
            used = np.flatnonzero(keys != EMPTY)
            count = int(self.counters[N_PAIRS if name == "pair" else N_SPLITS])
            if used.shape[0] != count or 2 * count > cap:
                raise ValueError(f"{name} table: {used.shape[0]} keys stored, counter says "
                                 f"{count}, capacity {cap}")
            for slot in used.tolist():
                if probe(keys, int(keys[slot])) != slot:
                    raise ValueError(f"{name} table: key in slot {slot} is not where probing "
                                     f"finds it")

    def __eq__(self, other) -> bool:
        """Same run state: same sizes, counters and table contents (layouts may differ)."""
        if not isinstance(other, InnovationRegistry):
            return NotImplemented
        return (self.n_inputs == other.n_inputs and self.n_outputs == other.n_outputs
                and np.array_equal(self.counters, other.counters)
                and np.array_equal(self.pair_table(), other.pair_table())
                and np.array_equal(self.split_table(), other.split_table()))

    __hash__ = None

    def __repr__(self) -> str:
        return (f"InnovationRegistry({self.n_inputs} inputs, {self.n_outputs} outputs, "
                f"{len(self)} pairs, {self.n_splits} splits, next node {self.next_node}, "
                f"next innovation {self.next_innovation})")
