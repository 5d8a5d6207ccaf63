"""Hypothesis strategies for genomes and gene tables."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ezspark.engine.genome import Genome

# Finite weights, exact zeros of both signs included: δ is exact only for finite weights.
finite_weights = st.one_of(
    st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False),
    st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0]),
)


@st.composite
def distance_genomes(draw, max_genes: int = 30, max_innovation: int = 40) -> Genome:
    """A genome as the distance kernels see it: strictly increasing innovations in
    1 ... ``max_innovation``, finite weights, any enabled flags.

    ``src`` and ``dst`` are placeholders (all 0): δ never reads them, so these genomes are not
    networks.  Small innovation ranges make matching, disjoint and excess genes all common;
    ``max_genes`` >= 20 + I*O reaches the N = max(n1, n2) branch of docs/algorithm.md 5.2.
    """
    innovation = sorted(draw(st.sets(st.integers(1, max_innovation), max_size=max_genes)))
    n = len(innovation)
    weight = draw(st.lists(finite_weights, min_size=n, max_size=n))
    enabled = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    zeros = np.zeros(n, dtype=np.int32)
    return Genome(innovation, zeros, zeros, np.array(weight, dtype=np.float64), enabled)
