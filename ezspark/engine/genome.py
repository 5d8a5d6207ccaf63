"""One genome as five parallel arrays (engine-spec section 3).

A genome is its connection genes, sorted by innovation number.  Node ids follow the spec:
inputs 1 … I, outputs I+1 … I+O, hidden nodes above I+O in run-wide order of creation.
Nodes carry no parameters; a genome's hidden nodes are those its genes mention.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Genome", "GENE_DTYPES"]

GENE_DTYPES = {
    "innovation": np.int32,
    "src": np.int32,
    "dst": np.int32,
    "weight": np.float64,
    "enabled": np.bool_,
}


class Genome:
    """Connection genes of one genome, as parallel arrays sorted by innovation.

    ``innovation``, ``src``, ``dst`` are int32, ``weight`` float64, ``enabled`` bool, all of
    the same length.  Instances are treated as values: operators return new genomes and never
    modify the arrays of their arguments.
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
        ids = np.union1d(self.src, self.dst)
        return ids[ids > n_inputs + n_outputs].astype(np.int32)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Genome):
            return NotImplemented
        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in self.__slots__)

    __hash__ = None  # mutable arrays inside: not hashable

    def __repr__(self) -> str:
        return (f"Genome({len(self)} genes, {int(self.enabled.sum())} enabled, "
                f"max innovation {int(self.innovation.max()) if len(self) else 0})")
