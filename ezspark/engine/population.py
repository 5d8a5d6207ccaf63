"""All genomes of a generation as CSR columns (one row per connection gene).

Genome g is rows ``off[g]:off[g+1]`` of every column, sorted by innovation.  The same
columns are the kernels' inputs, the checkpoint datasets and the payloads sent to
workers, under the same names.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ezspark.engine.genome import Genome

__all__ = ["Population", "COLUMNS"]

COLUMNS = ("innovation", "src", "dst", "weight", "enabled")
_DTYPES = {"innovation": np.int32, "src": np.int32, "dst": np.int32, "weight": np.float64,
           "enabled": np.bool_}


class Population:
    """CSR table of P genomes: ``off`` int64[P+1] and five gene columns of length C."""

    __slots__ = ("off",) + COLUMNS

    def __init__(self, off, innovation, src, dst, weight, enabled):
        self.off = np.ascontiguousarray(off, dtype=np.int64)
        self.innovation = np.ascontiguousarray(innovation, dtype=np.int32)
        self.src = np.ascontiguousarray(src, dtype=np.int32)
        self.dst = np.ascontiguousarray(dst, dtype=np.int32)
        self.weight = np.ascontiguousarray(weight, dtype=np.float64)
        self.enabled = np.ascontiguousarray(enabled, dtype=np.bool_)
        n = int(self.off[-1]) if self.off.shape[0] else 0
        if self.off.shape[0] < 1 or self.off[0] != 0 or np.any(np.diff(self.off) < 0):
            raise ValueError("off must start at 0 and never decrease")
        for name in COLUMNS:
            if getattr(self, name).shape != (n,):
                raise ValueError(f"column {name} must have off[-1] = {n} rows")

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def empty(cls) -> "Population":
        return cls(np.zeros(1, np.int64), *(np.zeros(0, _DTYPES[c]) for c in COLUMNS))

    @classmethod
    def from_genomes(cls, genomes: Iterable[Genome]) -> "Population":
        genomes = list(genomes)
        if not genomes:
            return cls.empty()
        counts = np.fromiter((len(g) for g in genomes), dtype=np.int64, count=len(genomes))
        off = np.zeros(len(genomes) + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        cols = [np.concatenate([getattr(g, c) for g in genomes]) for c in COLUMNS]
        return cls(off, *cols)

    @classmethod
    def concat(cls, parts: Sequence["Population"]) -> "Population":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        counts = np.concatenate([np.diff(p.off) for p in parts])
        off = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        cols = [np.concatenate([getattr(p, c) for p in parts]) for c in COLUMNS]
        return cls(off, *cols)

    # -- access ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.off.shape[0] - 1)

    @property
    def gene_counts(self) -> np.ndarray:
        return np.diff(self.off)

    def __getitem__(self, i):
        """Genome i as a copy (genomes are values); a slice gives a Population."""
        n = len(self)
        if isinstance(i, slice):
            return self.take(np.arange(n)[i])
        if not -n <= i < n:
            raise IndexError(f"genome {i} of {n}")
        i %= n
        lo, hi = int(self.off[i]), int(self.off[i + 1])
        return Genome(*(getattr(self, c)[lo:hi].copy() for c in COLUMNS))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def genomes(self) -> list[Genome]:
        return list(self)

    def take(self, indices) -> "Population":
        """The genomes at ``indices`` (any order, repeats allowed), as a new table."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        counts = self.off[idx + 1] - self.off[idx]
        off = np.zeros(idx.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        total = int(off[-1])
        # row r of the result comes from row off[idx[g]] + (r - off[g]) of self
        owner = np.repeat(np.arange(idx.shape[0]), counts)
        rows = self.off[idx][owner] + (np.arange(total) - off[:-1][owner])
        return Population(off, *(getattr(self, c)[rows] for c in COLUMNS))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Population):
            return NotImplemented
        return np.array_equal(self.off, other.off) and all(
            np.array_equal(getattr(self, c), getattr(other, c)) for c in COLUMNS)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Population({len(self)} genomes, {int(self.off[-1])} genes)"

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns by name (``off`` included), e.g. for HDF5 or a worker payload."""
        return {"off": self.off, **{c: getattr(self, c) for c in COLUMNS}}
