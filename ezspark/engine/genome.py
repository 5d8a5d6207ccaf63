"""One genome as five parallel arrays (docs/algorithm.md 3).

A genome is its connection genes, sorted by innovation number.  Node ids follow docs/algorithm.md 3:
inputs 1 … I, outputs I+1 … I+O, hidden nodes above I+O in run-wide order of creation.
Nodes carry no parameters; a genome's hidden nodes are those its genes mention.  The
operators on genes (``ezspark._core._operators``) take a ``Genome`` as it is: they read the
five columns by name.
"""
from __future__ import annotations

import numpy as np

from ezspark._core._operators import hidden_nodes

__all__ = ["Genome"]


class Genome:
    """Connection genes of one genome, as parallel arrays sorted by innovation.

    ``innovation``, ``src``, ``dst`` are int32, ``weight`` float64, ``enabled`` bool, all of
    the same length.  Instances are treated as values: ``mutate`` and ``crossover`` return new
    genomes and leave their arguments alone (the single structural operators
    ``add_connection``, ``remove_connection`` and ``add_node`` flip enabled flags of their
    argument in place; copy first to keep it).
    """

    __slots__ = ("innovation", "src", "dst", "weight", "enabled")

    def __init__(self, innovation, src, dst, weight, enabled):
        self.innovation = np.ascontiguousarray(innovation, dtype=np.int32)
        self.src = np.ascontiguousarray(src, dtype=np.int32)
        self.dst = np.ascontiguousarray(dst, dtype=np.int32)
        self.weight = np.ascontiguousarray(weight, dtype=np.float64)
        self.enabled = np.ascontiguousarray(enabled, dtype=np.bool_)
        n = self.innovation.shape[0]
        if not (self.src.shape[0] == self.dst.shape[0] == self.weight.shape[0]
                == self.enabled.shape[0] == n):
            raise ValueError("genome arrays must all have the same length")

    def __len__(self) -> int:
        return int(self.innovation.shape[0])

    def copy(self) -> "Genome":
        return Genome(self.innovation.copy(), self.src.copy(), self.dst.copy(),
                      self.weight.copy(), self.enabled.copy())

    def hidden_nodes(self, n_inputs: int, n_outputs: int) -> np.ndarray:
        """Sorted ids of the hidden nodes this genome's genes mention."""
        return hidden_nodes(self, n_inputs, n_outputs)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Genome):
            return NotImplemented
        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in self.__slots__)

    __hash__ = None  # mutable arrays inside: not hashable

    def __repr__(self) -> str:
        return (f"Genome({len(self)} genes, {int(self.enabled.sum())} enabled, "
                f"max innovation {int(self.innovation.max()) if len(self) else 0})")
