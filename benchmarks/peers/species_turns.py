"""Which genome a generation puts through the double pole's solved test without velocities,
chosen as NEAT's own benchmark code chooses it (``pole2_epoch``, the non-Markov case, in
Stanley's NEAT C++ release, which measured NEAT's published evaluations on this task).

That code does not always test the population's best genome.  It keeps a "checked" mark per
species.  Each generation:

1. a species whose best fitness now exceeds the best of its earlier generations (every new
   species, too) loses its mark;
2. the species are ordered by their best fitness, highest first;
3. the first species without a mark is chosen, or the first species when all have one;
4. the chosen species' best genome is tested, and the species is marked.

So when the leading species stops improving, the next generations test the leaders of the
other species in turn instead of the same network again.  Both systems of ``bench_poles.py``
use this one implementation, fed with their own species.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

__all__ = ["SpeciesTurns"]


class SpeciesTurns:
    """The per-species memory of the rule above (one per run)."""

    def __init__(self) -> None:
        self.best_ever: dict[Hashable, float] = {}
        self.checked: set[Hashable] = set()

    def pick(self, fitness: Sequence[float], species: Sequence[Hashable]) -> int:
        """The index (population order) of the genome to test this generation, from every
        genome's fitness and species; a species' best genome is its first of highest fitness,
        and species of equal best fitness are ordered by id (NEAT's sort leaves them in any
        order)."""
        if len(fitness) == 0 or len(fitness) != len(species):
            raise ValueError(f"need one species per genome and at least one genome "
                             f"({len(fitness)} fitness values, {len(species)} species)")
        leader: dict[Hashable, tuple[float, int]] = {}
        for i, (f, s) in enumerate(zip(fitness, species)):
            if s not in leader or f > leader[s][0]:
                leader[s] = (float(f), i)
        for s, (f, _) in leader.items():
            if f > self.best_ever.get(s, -math.inf):
                self.checked.discard(s)
        order = sorted(leader, key=lambda s: (-leader[s][0], s))
        chosen = next((s for s in order if s not in self.checked), order[0])
        self.checked.add(chosen)
        for s, (f, _) in leader.items():
            self.best_ever[s] = max(self.best_ever.get(s, -math.inf), f)
        return leader[chosen][1]
