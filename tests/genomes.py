"""Helpers that build genomes for tests: initial genomes and random grown genomes."""
from __future__ import annotations

import numpy as np

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import add_connection, add_node


def initial_genome(n_in: int, n_out: int, weights=None) -> Genome:
    src = np.repeat(np.arange(1, n_in + 1), n_out)
    dst = np.tile(np.arange(n_in + 1, n_in + n_out + 1), n_in)
    innovation = np.arange(1, n_in * n_out + 1)
    w = np.zeros(n_in * n_out) if weights is None else np.asarray(weights, dtype=float)
    return Genome(innovation, src, dst, w, np.ones(n_in * n_out, dtype=bool))


def grown_genome(rng: np.random.Generator, registry: InnovationRegistry, steps: int = 20,
                 base: Genome | None = None, recurrent: bool = False) -> Genome:
    """A genome grown by random add-node / add-connection / disable operations
    (``recurrent``: add-connection may close cycles and make self-loops)."""
    n_in, n_out = registry.n_inputs, registry.n_outputs
    g = base.copy() if base is not None else initial_genome(n_in, n_out,
                                                              rng.uniform(-2, 2, n_in * n_out))
    for _ in range(steps):
        op = rng.random()
        if op < 0.35:
            g = add_node(g, rng.random(), registry)
        elif op < 0.85:
            g = add_connection(g, rng.random(), rng.random(), registry, recurrent=recurrent)
        elif len(g):
            g.enabled[rng.integers(len(g))] = False
        g.weight[:] = g.weight + rng.normal(0, 0.5, len(g))
    return g
