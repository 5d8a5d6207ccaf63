"""The run-wide innovation registry (docs/algorithm.md 3.2), stored as two hash tables in arrays.

Every (source, target) pair ever created has one innovation number for the whole run, and
every split of a gene reuses the node id and the two innovation numbers of its first split.

The canonical state is five numpy arrays that the reproduction kernel
(``ezspark._core._reproduce``) reads and updates in place, without the GIL.  Their layout,
the probe sequence and the fixed-capacity updates live in the bottom layer,
``ezspark._core._registry`` (``RegistryTables``, shared with the kernel's twin); this module
adds what a run needs on top: the initial pairs, growth by rehashing (``ensure_capacity``),
contents as tables, and the arrays for checkpoints.

Both capacities are powers of two (at least ``MIN_CAPACITY``).  A registry made by
``InnovationRegistry(...)`` or ``from_arrays`` grows (rehashes) when an insertion would leave a
table more than half full; one made by ``wrap`` raises ``TableFull`` instead, exactly as the
kernel does.
"""
from __future__ import annotations

import numpy as np

from ezspark._core._registry import (EMPTY, HASH_MULTIPLIER, N_PAIRS, N_SPLITS, RegistryTables,
                                     TableFull, pair_key, probe)

__all__ = ["InnovationRegistry", "EMPTY", "HASH_MULTIPLIER", "MIN_CAPACITY", "pair_key",
           "probe", "TableFull"]

MIN_CAPACITY = 16                       # slots; tables never shrink below this


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


class InnovationRegistry(RegistryTables):
    """Pair table and split table of one run (layout in ``ezspark._core._registry``), grown
    by rehashing when an insertion needs room.

    Initial pairs (input a, output I+j) have innovation (a-1)·O + j; new numbers start at
    I·O + 1 and new hidden nodes at I + O + 1.
    """

    __slots__ = ("_growable",)

    def __init__(self, n_inputs: int, n_outputs: int):
        n_inputs, n_outputs = int(n_inputs), int(n_outputs)
        n_initial = n_inputs * n_outputs
        cap = _capacity_for(n_initial)
        super().__init__(n_inputs, n_outputs,
                         np.full(cap, EMPTY, dtype=np.int64), np.zeros(cap, dtype=np.int32),
                         np.full(MIN_CAPACITY, EMPTY, dtype=np.int64),
                         np.zeros((MIN_CAPACITY, 2), dtype=np.int32),
                         np.array([n_inputs + n_outputs + 1, n_initial + 1, 0, 0],
                                  dtype=np.int64))
        self._growable = True
        for a in range(1, n_inputs + 1):
            for j in range(1, n_outputs + 1):
                self._store_pair(pair_key(a, n_inputs + j), (a - 1) * n_outputs + j)

    @classmethod
    def wrap(cls, n_inputs: int, n_outputs: int, pair_keys: np.ndarray, pair_values: np.ndarray,
             split_keys: np.ndarray, split_values: np.ndarray,
             counters: np.ndarray) -> "InnovationRegistry":
        """A registry that works on the given arrays in place and never grows: an insertion
        that would leave a table more than half full raises ``TableFull`` (as the kernel
        does).  The arrays are not checked or copied."""
        reg = cls.__new__(cls)
        RegistryTables.__init__(reg, n_inputs, n_outputs, pair_keys, pair_values, split_keys,
                                split_values, counters)
        reg._growable = False
        return reg

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
        """Make room for ``pairs`` new pairs and ``splits`` new splits (grow), or raise
        TableFull when this registry wraps fixed arrays."""
        if self._growable and not self._has_room(pairs, splits):
            self.ensure_capacity(pairs, splits)
        super()._room(pairs, splits)

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
        """Copies of the five arrays (``ezspark._core._registry``) plus ``io`` int64[2] = (I, O).

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
