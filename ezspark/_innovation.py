"""The run-wide innovation registry (engine-spec 3.2).

Every (source, target) pair ever created has one innovation number for the whole run, and
every split of a gene reuses the node id and the two innovation numbers of its first split.
"""
from __future__ import annotations

import numpy as np

__all__ = ["InnovationRegistry"]


class InnovationRegistry:
    """Pair table and split table of one run.

    Initial pairs (input a, output I+j) have innovation (a-1)·O + j; new numbers start at
    I·O + 1 and new hidden nodes at I + O + 1.
    """

    __slots__ = ("n_inputs", "n_outputs", "_pairs", "_splits", "next_node", "next_innovation")

    def __init__(self, n_inputs: int, n_outputs: int):
        self.n_inputs = int(n_inputs)
        self.n_outputs = int(n_outputs)
        self._pairs: dict[tuple[int, int], int] = {}
        self._splits: dict[int, tuple[int, int, int]] = {}
        for a in range(1, self.n_inputs + 1):
            for j in range(1, self.n_outputs + 1):
                self._pairs[(a, self.n_inputs + j)] = (a - 1) * self.n_outputs + j
        self.next_node = self.n_inputs + self.n_outputs + 1
        self.next_innovation = self.n_inputs * self.n_outputs + 1

    # -- queries and updates -------------------------------------------------------------
    def pair(self, src: int, dst: int) -> int:
        """Innovation number of the pair (src, dst), created if the pair is new."""
        key = (src, dst)
        innovation = self._pairs.get(key)
        if innovation is None:
            innovation = self.next_innovation
            self.next_innovation += 1
            self._pairs[key] = innovation
        return innovation

    def split_node(self, innovation: int) -> int | None:
        """The node id created by the first split of gene ``innovation``, or None."""
        entry = self._splits.get(innovation)
        return None if entry is None else entry[0]

    def split(self, innovation: int, src: int, dst: int) -> tuple[int, int, int]:
        """(node, innovation of src->node, innovation of node->dst) for splitting a gene.

        The first split of a gene creates the node and the two numbers; later splits of the
        same gene, in any genome and generation, get the same three numbers.
        """
        entry = self._splits.get(innovation)
        if entry is None:
            node = self.next_node
            self.next_node += 1
            first = self.next_innovation
            self.next_innovation += 2
            self._pairs[(src, node)] = first
            self._pairs[(node, dst)] = first + 1
            entry = (node, first, first + 1)
            self._splits[innovation] = entry
        return entry

    def __len__(self) -> int:
        return len(self._pairs)

    # -- state for checkpoints -----------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Both tables as int64 arrays (pair table rows: src, dst, innovation; split table
        rows: innovation, node, first, second), plus the two counters."""
        pairs = np.array([(a, b, i) for (a, b), i in self._pairs.items()], dtype=np.int64)
        splits = np.array([(c, *v) for c, v in self._splits.items()], dtype=np.int64)
        return {
            "pairs": pairs.reshape(-1, 3),
            "splits": splits.reshape(-1, 4),
            "counters": np.array([self.n_inputs, self.n_outputs, self.next_node,
                                  self.next_innovation], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, pairs, splits, counters) -> "InnovationRegistry":
        n_inputs, n_outputs, next_node, next_innovation = (int(x) for x in counters)
        reg = cls(n_inputs, n_outputs)
        reg._pairs = {(int(a), int(b)): int(i) for a, b, i in np.asarray(pairs).reshape(-1, 3)}
        reg._splits = {int(c): (int(n), int(f), int(s))
                       for c, n, f, s in np.asarray(splits).reshape(-1, 4)}
        reg.next_node = next_node
        reg.next_innovation = next_innovation
        return reg

    def __eq__(self, other) -> bool:
        if not isinstance(other, InnovationRegistry):
            return NotImplemented
        return (self._pairs == other._pairs and self._splits == other._splits
                and self.next_node == other.next_node
                and self.next_innovation == other.next_innovation)

    __hash__ = None
